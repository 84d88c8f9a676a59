#!/usr/bin/env bash
# The built-in avatar through glTF-Transform's `palette` (materials merged; roughness moved into
# a metallic-roughness palette texture) and `meshopt` (EXT_meshopt_compression), as
# `gltf-transform optimize` does. Run by hand: npm ci && bash make.sh
set -euo pipefail
cd "$(dirname "$0")"
repo=../..
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npx gltf-transform palette "$repo/crates/avatar/assets/facecast_default.glb" "$tmp/palette.glb"
npx gltf-transform meshopt "$tmp/palette.glb" \
    "$repo/crates/avatar/tests/fixtures/builtin_gltf_transform_palette.glb"
