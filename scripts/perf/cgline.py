#!/usr/bin/env python3
"""Instructions of one function charged to the innermost source line of this repo.

usage: scripts/perf/cgline.py CALLGRIND_OUT BINARY FUNCTION_SUBSTRING [TOP]

CALLGRIND_OUT must come from `valgrind --tool=callgrind --dump-instr=yes` (see callgrind.sh),
run on BINARY itself: another build's addresses map to unrelated lines.
Per-function totals hide costs spread over many inlined call sites (a field read inlined 35
times); this charges each instruction of the matching functions to the innermost frame that
`addr2line -i` places in this repository's `crates/`, so such costs add up on one line.
"""
import collections
import re
import subprocess
import sys

if len(sys.argv) < 4:
    sys.exit(__doc__.split('\n\n')[1])
out, binary, pattern = sys.argv[1], sys.argv[2], sys.argv[3]
top = int(sys.argv[4]) if len(sys.argv) > 4 else 40
cost = collections.Counter()
names = {}
cur = None
addr = line = 0
after_call = False


def position(tok, prev):
    """A callgrind position: absolute, relative (+n / -n) or the same as before (*)."""
    if tok == '*':
        return prev
    if tok[0] in '+-':
        return prev + int(tok, 0)
    return int(tok, 0)


for raw in open(out):
    raw = raw.rstrip('\n')
    m = re.match(r'(c?)fn=\((\d+)\)(?: (.*))?', raw)
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3)
        if not m.group(1):
            cur = m.group(2)
        continue
    if raw.startswith('calls='):
        after_call = True
        continue
    if not raw or not (raw[0].isdigit() or raw[0] in '+-*'):
        continue
    toks = raw.split()
    addr = position(toks[0], addr)
    if len(toks) > 1:
        line = position(toks[1], line)
    if after_call:  # the inclusive cost of a call, not this function's own
        after_call = False
        continue
    if pattern in names.get(cur, '') and len(toks) > 2:
        cost[addr] += int(toks[2])

addrs = sorted(cost)
total = sum(cost.values())
if not addrs:
    sys.exit(f"cgline.py: no instructions of a function matching '{pattern}' in {out}")
res = subprocess.run(['addr2line', '-a', '-i', '-e', binary] + [hex(a) for a in addrs],
                     capture_output=True, text=True)
if res.returncode != 0:
    sys.exit(f"cgline.py: addr2line cannot read {binary}: {res.stderr.strip()}")
res = res.stdout
by_line = collections.Counter()
here = None
picked = False
for l in res.splitlines():
    if l.startswith('0x'):
        here, picked = int(l, 16), False
    elif not picked and '/crates/' in l and 'stdarch' not in l and '.cargo' not in l:
        by_line[l.split('/crates/')[-1].split(' ')[0]] += cost[here]
        picked = True
print(f"total {total:,}")
for k, v in by_line.most_common(top):
    print(f"{v:>12,} {100 * v / max(total, 1):5.1f}%  {k}")
