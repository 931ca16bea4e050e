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

# `--more`: 91 packages more (about 42 MB to download, 716 usable faces in all against
# 188): the set the shipped crnn_words was trained on from its third stage (issue 33;
# docs/recipe.md), for renders with more variety than the default set-up needs.
MORE_PACKAGES=(
  fonts-adf-accanthis fonts-adf-baskervald fonts-adf-berenis fonts-adf-gillius
  fonts-adf-ikarius fonts-adf-irianis fonts-adf-libris fonts-adf-mekanus fonts-adf-oldania
  fonts-adf-romande fonts-adf-solothurn fonts-adf-switzera fonts-adf-tribun
  fonts-adf-universalis fonts-adf-verana fonts-texgyre fonts-averia-gwf
  fonts-averia-sans-gwf fonts-averia-serif-gwf fonts-bebas-neue fonts-cabinsketch
  fonts-comfortaa fonts-courier-prime fonts-dosis fonts-go fonts-inter fonts-jura
  fonts-karla fonts-kaushanscript fonts-lemonada fonts-manrope fonts-oldstandard
  fonts-paratype fonts-play fonts-quattrocento fonts-quicksand fonts-roboto-slab
  fonts-sil-gentium fonts-sil-andika fonts-sil-charis fonts-stix fonts-ocr-a fonts-b612
  fonts-clear-sans fonts-anonymous-pro fonts-inconsolata fonts-firacode
  fonts-jetbrains-mono fonts-mononoki fonts-cardo fonts-fanwood fonts-goudybookletter
  fonts-kristi fonts-leckerli-one fonts-lobstertwo fonts-tiresias fonts-national-park
  fonts-roadgeek fonts-opendin fonts-sora fonts-routed-gothic fonts-isabella
  fonts-humor-sans fonts-dkg-handwriting fonts-beteckna fonts-blankenburg fonts-breip
  fonts-f500 fonts-femkeklaver fonts-staypuft fonts-rufscript fonts-yanone-kaffeesatz
  fonts-vollkorn fonts-tuffy fonts-yrsa-rasa fonts-oxygen fonts-ubuntu-title fonts-croscore
  fonts-prociono fonts-gotico-antiqua fonts-century-catalogue fonts-karmilla
  fonts-le-murmure fonts-lindenhill fonts-engadget fonts-eurofurence fonts-cherrybomb
  fonts-creep2 fonts-gfs-didot fonts-gfs-bodoni-classic fonts-gfs-baskerville
)
if [ "${1:-}" = "--more" ]; then
  PACKAGES+=("${MORE_PACKAGES[@]}")
fi

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
