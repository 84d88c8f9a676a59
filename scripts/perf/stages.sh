#!/usr/bin/env bash
# Fastest of ROUNDS runs, per stage, of the render example's CPU cycles per frame (every tile
# drawn). The time-stamp counter also counts while the thread waits for a core, so the minimum
# over rounds is the steady figure on a shared machine.
# usage: [SIZE=512|1280] scripts/perf/stages.sh ROUNDS FRAMES BENCH_BINARY [FILTER]
#   BENCH_BINARY: built with `cargo build --release -p facecast-render --example bench --features stage-cycles`
set -euo pipefail
rounds=$1 frames=$2 bin=$3 filter=${4:-}
for _ in $(seq "$rounds"); do
  BENCH_STAGES=1 BENCH_NO_REUSE=1 BENCH_SIZE=${SIZE:-512} "$bin" "$frames" $filter | grep '^STAGES'
done | python3 -c "
import collections, re, sys
mins = collections.OrderedDict()
for l in sys.stdin:
    if 'Mcycles/frame:' not in l:
        sys.exit('stages.sh: no stage cycles; build the example with --features stage-cycles')
    name = ' '.join(l.split()[1:3])
    d = mins.setdefault(name, {})
    for k, v in re.findall(r'(\w+) ([0-9.]+)', l.split('Mcycles/frame:')[1]):
        d[k] = min(d.get(k, 1e9), float(v))
for n, d in mins.items():
    print(n.split('/')[-1], ' '.join(f'{k} {v:.2f}' for k, v in d.items()))
"
