#!/usr/bin/env bash
# Browser test: headless Chromium against the real `facecast serve`, once with H.264 and once
# with VP8. Prints frame rate, mouth/audio checks and end-to-end latency (p50/p95).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p facecast-cli >&2
cd tests/browser
npm ci --no-audit --no-fund --loglevel=error >&2
for codec in h264 vp8; do
  echo "== browser test, $codec" >&2
  FACECAST_CODEC=$codec node run.mjs
done
