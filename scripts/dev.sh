#!/usr/bin/env bash
# HarmonyLab set-up and entry point for a fresh machine (Debian, Python 3.11).
#   bash scripts/dev.sh app   -> set up the runtime environment and serve the app on http://127.0.0.1:7860
#   bash scripts/dev.sh test  -> set up the development environment and run the whole test suite
# Set-up is idempotent and quick when everything is already there: Debian packages are installed only when
# missing, the virtual environment (.venv/) is created once, and pip runs only when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"; shift || true
case "$mode" in app|test|setup) ;; *) echo "usage: bash scripts/dev.sh app|test|setup [args...]" >&2; exit 2;; esac

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_packages=()
if [ "$mode" != app ]; then
  # The browser tests drive Debian's Chromium (never a browser downloaded by Playwright).
  command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${apt_packages[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

python_bin="${HARMONYLAB_PYTHON:-python3.11}"
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi
req=requirements.txt; [ "$mode" = app ] || req=requirements-dev.txt
stamp=".venv/.stamp-$(basename "$req" .txt)"
want="$(cat requirements.txt "$req" | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing Python packages from $req (first run takes a few minutes)"
  log="$(mktemp)"
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req" >"$log" 2>&1; then
    grep -v "is ignored: it is neither" "$log" >&2 || true
    echo "[setup] pip install failed; see the messages above" >&2
    exit 1
  fi
  grep -v "is ignored: it is neither" "$log" || true
  rm -f "$log"
  .venv/bin/python -c "import torch, torchvision, gradio, pyiqa" # fail loudly if the install is broken
  echo "$want" > "$stamp"
fi

case "$mode" in
  setup) echo "[setup] done";;
  app) exec .venv/bin/python app.py "$@";;
  test) exec .venv/bin/python -m pytest "$@";;
esac
