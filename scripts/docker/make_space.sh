#!/usr/bin/env bash
# Prepares a Hugging Face *Docker* Space from this repository (the Gradio-SDK Space needs none of this):
#   bash scripts/docker/make_space.sh DEST        then push DEST to a Space created with the Docker SDK
# Copies the files git tracks or would track (as they are in the work tree) into DEST, a new or empty folder,
# and rewrites the front matter of DEST/README.md for the Docker SDK: `sdk: docker` and `app_port: 7860`
# instead of the Gradio SDK's sdk/sdk_version/python_version/app_file; the other keys (title, hf_oauth, ...)
# stay. The Dockerfile needs no change: Spaces builds it from the default base image and runs it as uid 1000,
# which may write to /data (the persistent storage mount, when the Space has one), to its home and to /tmp.
set -euo pipefail
[ $# = 1 ] || { echo "usage: bash scripts/docker/make_space.sh DEST" >&2; exit 2; }
dest="$1"
if [ -e "$dest" ] && [ -n "$(ls -A "$dest")" ]; then
  echo "make_space.sh: $dest is not empty; give a new or empty folder." >&2
  exit 2
fi
mkdir -p "$dest"
cd "$(dirname "$0")/../.."
# the files git tracks or would track (not ignored), as they are in the work tree
git ls-files -z --cached --others --exclude-standard \
  | python3 -c 'import os, sys; sys.stdout.write("".join(f + "\0" for f in sys.stdin.read().split("\0") if f and os.path.isfile(f)))' \
  | tar --null -T - -cf - | tar -C "$dest" -xf -

python3 - "$dest/README.md" <<'PY'
import re, sys
from pathlib import Path

readme = Path(sys.argv[1])
text = readme.read_text(encoding="utf-8")
match = re.match(r"---\n(.*?)\n---\n", text, re.S)
if not match:
    sys.exit("make_space.sh: README.md has no front matter (--- ... ---) at its top")
keep = [line for line in match.group(1).splitlines()
        if not re.match(r"(sdk|sdk_version|python_version|app_file|app_port):", line)]
front = "\n".join(keep + ["sdk: docker", "app_port: 7860"])
readme.write_text(f"---\n{front}\n---\n" + text[match.end():], encoding="utf-8")
PY
echo "Docker Space files in $dest (README.md front matter: sdk: docker, app_port: 7860)"
