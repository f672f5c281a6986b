#!/usr/bin/env bash
# Makes a stand-in for the Dockerfile's default base image (python:3.11-slim-bookworm) from Debian's own
# packages, for machines that reach Debian's mirrors but no container registry:
#   bash scripts/docker/make_base.sh [TAG]        (default tag: harmonylab-base:bookworm-python3.11)
# It is a minimal Debian bookworm root (debootstrap --variant=minbase) with bookworm's Python 3.11, its venv
# module (pip and setuptools wheels) and the CA certificates, imported with `docker import`. The Dockerfile
# uses it through its build argument: docker build --build-arg BASE_IMAGE=harmonylab-base:bookworm-python3.11 .
# Needs root (debootstrap), Debian's debootstrap package and a running Docker engine. The root folder is made
# under /var/tmp and removed on exit, whatever happens.
set -euo pipefail

tag="${1:-harmonylab-base:bookworm-python3.11}"
mirror="${HARMONYLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${HARMONYLAB_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
docker_cli="${DOCKER:-docker}"

if [ "$(id -u)" != 0 ]; then
  echo "make_base.sh: debootstrap needs root; run it as root (or with sudo)." >&2
  exit 1
fi
command -v debootstrap >/dev/null || { echo "make_base.sh: debootstrap is missing; apt-get install debootstrap." >&2; exit 1; }

root="$(mktemp -d /var/tmp/harmonylab-base.XXXXXX)"
cleanup() {
  # debootstrap unmounts what it mounted; make sure nothing is left before removing the tree
  for mnt in proc sys dev/pts dev; do
    mountpoint -q "$root/$mnt" 2>/dev/null && umount -l "$root/$mnt" || true
  done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT

echo "[base] debootstrap bookworm (minbase + python3, python3-venv, ca-certificates) into $root"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" "$mirror" \
  >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; rm -f "$root.log"; echo "make_base.sh: debootstrap failed" >&2; exit 1; }
rm -f "$root.log"

# The same apt sources as the official Debian images (updates and security included).
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# Trust what this machine trusts: certificate authorities added locally (/usr/local/share/ca-certificates,
# e.g. a TLS-inspecting proxy in front of the package registries) are added to the image's store too, so pip
# and apt inside `docker build --network host` reach the registries as the host does. CA certificates are
# public; nothing else of the host is copied. HARMONYLAB_BASE_EXTRA_CA=0 leaves them out.
extra_ca=()
if [ "${HARMONYLAB_BASE_EXTRA_CA:-1}" != 0 ]; then
  shopt -s nullglob; extra_ca=(/usr/local/share/ca-certificates/*.crt); shopt -u nullglob
fi
if [ ${#extra_ca[@]} -gt 0 ]; then
  echo "[base] adding the host's local CA certificates: ${extra_ca[*]##*/}"
  cp "${extra_ca[@]}" "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null 2>&1 || { echo "make_base.sh: update-ca-certificates failed" >&2; exit 1; }
fi
# Lean like the slim images: no package lists, caches, logs or docs.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/var/log/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
       "$root"/tmp/* "$root"/var/tmp/*
chroot "$root" python3 -c 'import sys, venv, ensurepip, ssl; assert sys.version_info[:2] == (3, 11), sys.version'

echo "[base] docker import -> $tag"
tar --numeric-owner -C "$root" -c . | "$docker_cli" import \
  -c 'ENV LANG=C.UTF-8' \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'CMD ["python3"]' \
  -m "Debian bookworm minbase + python3 (3.11), python3-venv, ca-certificates (scripts/docker/make_base.sh)" \
  - "$tag" >/dev/null
echo "[base] $tag: $("$docker_cli" image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}')"
