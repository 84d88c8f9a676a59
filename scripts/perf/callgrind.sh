#!/usr/bin/env bash
# Instructions per function of the render example's frames only (loading and level of detail
# excluded), every tile drawn.
# usage: [SIZE=512|1280] scripts/perf/callgrind.sh BENCH_BINARY FILTER OUT [FRAMES]
#   BENCH_BINARY: target/release/examples/bench (cargo build --release -p facecast-render --example bench)
#   FILTER: builtin, facecap or VALID; OUT: the callgrind file (then scripts/perf/cgline.py OUT ...)
set -euo pipefail
bin=$1 filter=$2 out=$3 frames=${4:-6}
BENCH_NO_REUSE=1 BENCH_SIZE=${SIZE:-512} valgrind --tool=callgrind --dump-instr=yes \
  --toggle-collect='*Renderer*render_rgba*' --callgrind-out-file="$out" "$bin" "$frames" "$filter" >/dev/null 2>&1
callgrind_annotate --inclusive=yes "$out" 2>/dev/null \
  | grep -E '^ *[0-9,]+ \([ 0-9.%]+\) +(/[^ ]*/)?crates/[a-z0-9_-]+/(src|examples)/' \
  | sed -E 's/ \[.*//; s#(/[^ ]*/)?crates/##' | awk '!seen[$NF]++' | head -"${TOP:-25}"
