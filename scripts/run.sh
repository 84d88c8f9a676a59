#!/usr/bin/env bash
# Build facecast (release) and run it. With no arguments: serve the web demo with the built-in
# avatar on http://127.0.0.1:8080. Any arguments are passed to the `facecast` binary instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p facecast-cli >&2
if [ $# -eq 0 ]; then
  echo "facecast: open http://127.0.0.1:8080 in a browser (Ctrl-C to stop)" >&2
  exec target/release/facecast serve --addr 127.0.0.1:8080
fi
exec target/release/facecast "$@"
