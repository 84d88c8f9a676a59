#!/usr/bin/env bash
# Installs everything facecast needs to build and test on a fresh Debian machine.
# Idempotent: packages already present are skipped. Runs as root (or with sudo available).
set -euo pipefail

# Build: nasm (openh264's assembly), libvpx (VP8), libopus (Opus), pkg-config, clang (bindgen).
# Tests: ffmpeg/ffprobe (decode what we produce), chromium (browser test), python3-numpy (lip-sync scorer).
# Run: espeak-ng (the default speech engine for text speak requests, `facecast serve --tts`).
PKGS=(nasm pkg-config cmake clang libclang-dev libvpx-dev libopus-dev libssl-dev
      ffmpeg chromium python3-numpy nodejs npm espeak-ng)
if [ "${FACECAST_SETUP_EXTRA:-}" = "train" ]; then
  # Only for regenerating the lip-sync model (tools/lipsync-train).
  PKGS+=(festival flite libespeak-ng-dev festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts sox)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from elsewhere (e.g. nvm); only install Debian's when absent.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  tmp=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 1; }
