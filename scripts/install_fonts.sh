#!/usr/bin/env bash
# Installs the Debian font packages that the synthetic word renderer (tf_crnn/synth) draws
# from: serif, sans, mono, condensed, script and display faces, so rendered words vary in
# style the way real scene text does. Idempotent and quiet when everything is present.
# Without root (and without sudo) it only says what to install: the renderer then works
# with whatever fonts the machine already has.
set -euo pipefail

PACKAGES=(
  fonts-dejavu-core
  fonts-dejavu-extra
  fonts-urw-base35
  fonts-liberation2
  fonts-freefont-ttf
  fonts-crosextra-carlito
  fonts-crosextra-caladea
  fonts-linuxlibertine
  fonts-open-sans
  fonts-roboto
  fonts-lato
  fonts-ebgaramond
  fonts-comic-neue
  fonts-cabin
  fonts-league-spartan
  fonts-hack
  fonts-lobster
  fonts-dancingscript
  fonts-cantarell
)

missing_packages() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
      echo "$pkg"
    fi
  done
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install_fonts.sh: not a Debian system; install TrueType/OpenType fonts by hand (renderer uses what it finds)" >&2
  exit 0
fi

mapfile -t MISSING < <(missing_packages)
if [ "${#MISSING[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  AS_ROOT=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  AS_ROOT=(sudo -n)
else
  echo "install_fonts.sh: not root; please install: apt-get install --no-install-recommends ${MISSING[*]}" >&2
  exit 0
fi

echo "install_fonts.sh: installing ${MISSING[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${AS_ROOT[@]}" apt-get update -qq
"${AS_ROOT[@]}" apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >/dev/null
