#!/usr/bin/env python3
"""Train the facecast lip-sync MLP (numpy only) and export crates/lipsync/model/lipsync.bin.

Pipeline (see README.md in this folder):
  1. gen_data.py DATA            -> DATA/wav/*.wav + *.json phone timings
  2. cargo run --release -p facecast-lipsync --example featdump -- LIST DATA/feat
                                  (the SAME Rust feature code the analyzer uses)
  3. train.py DATA OUT.bin        -> model weights

Model: per-frame features (FEAT_DIM) at 100 Hz, stacked at frame offsets OFFSETS (past context plus
at most 2 future frames = 20 ms), normalised, -> ReLU MLP -> heads: 15 visemes (softmax), 40 phones
(softmax, used by text alignment), jaw opening (sigmoid regression).
"""
import argparse, glob, json, os, struct, subprocess, sys, time, zlib

import numpy as np

OFFSETS = [-14, -10, -7, -5, -3, -2, -1, 0, 1, 2]
PROJ = 32  # per-frame projection (shared across offsets), computed once per frame
HIDDEN = [160, 80]
PHONES = "SIL AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH".split()
PIDX = {p: i for i, p in enumerate(PHONES)}
VISEMES = ["sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U"]
P2V = {}
for v, ps in [("sil", "SIL"), ("PP", "P B M"), ("FF", "F V"), ("TH", "TH DH"), ("DD", "T D N"), ("kk", "K G NG HH"),
              ("CH", "CH JH SH ZH"), ("SS", "S Z"), ("nn", "L"), ("RR", "R"), ("aa", "AA AY AW"),
              ("E", "AE EH EY AH"), ("I", "IH IY Y"), ("O", "AO OY UH ER"), ("U", "UW OW W")]:
    for p in ps.split():
        P2V[p] = VISEMES.index(v)
VOWELS = set("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
# jaw opening per phone, 0 closed .. 1 widest (same ordering convention as the scorer)
OPEN = {"SIL": 0, "P": 0, "B": 0, "M": 0, "F": .1, "V": .1, "W": .15, "UW": .2, "IY": .2, "Y": .2, "R": .3,
        "L": .35, "IH": .35, "UH": .35, "ER": .4, "OW": .45, "EY": .5, "EH": .55, "AH": .6, "OY": .6, "AO": .7,
        "AE": .75, "AY": .8, "AW": .8, "AA": .9}
for p in "T D K G N NG S Z SH ZH CH JH TH DH HH".split():
    OPEN[p] = .2
FEAT_DIM = 35
FPS = 100


def labels(segs, n):
    t = (np.arange(n) + 0.5) / FPS
    vis = np.zeros(n, np.int64); ph = np.zeros(n, np.int64); op = np.zeros(n, np.float32)
    starts = np.array([s["start"] for s in segs])
    idx = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(segs) - 1)
    segv, segp, sego = [], [], []
    for k, s in enumerate(segs):
        p = s["phone"]
        nxt = segs[k + 1]["phone"] if k + 1 < len(segs) else "SIL"
        q = nxt if (p == "HH" and nxt in VOWELS) else p
        segv.append(P2V[q]); segp.append(PIDX[p]); sego.append(OPEN[q])
    vis[:] = np.array(segv)[idx]; ph[:] = np.array(segp)[idx]; op[:] = np.array(sego)[idx]
    past = t >= segs[-1]["end"]
    vis[past] = 0; ph[past] = 0; op[past] = 0
    w = np.hanning(9)[1:-1]; w /= w.sum()
    op = np.convolve(np.pad(op, 3, mode="edge"), w, "valid").astype(np.float32)
    return vis, ph, op


def load(data, names):
    X, V, P, O, centres = [], [], [], [], []
    pre, post = -min(OFFSETS), max(OFFSETS)
    off = 0
    for nm in names:
        fn, nm = nm if isinstance(nm, tuple) else (nm, nm)
        f = np.fromfile(f"{data}/feat/{fn}.f32", dtype="<f4").reshape(-1, FEAT_DIM)
        n = len(f)
        if n < 5:
            continue
        segs = json.load(open(f"{data}/wav/{nm}.json"))
        v, p, o = labels(segs, n)
        fp = np.concatenate([np.repeat(f[:1], pre, 0), f, np.repeat(f[-1:], post, 0)])
        X.append(fp); centres.append(off + pre + np.arange(n)); off += len(fp)
        V.append(v); P.append(p); O.append(o)
    return (np.concatenate(X).astype(np.float32), np.concatenate(centres), np.concatenate(V), np.concatenate(P),
            np.concatenate(O))


def stack(Xn, c):
    return np.concatenate([Xn[c + o] for o in OFFSETS], axis=1)


def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


class MLP:
    def __init__(self, sizes, nout, rng):
        self.W, self.b = [], []
        K = len(OFFSETS)
        self.P = (rng.standard_normal((FEAT_DIM, PROJ)) * np.sqrt(2.0 / FEAT_DIM)).astype(np.float32)
        self.pb = np.zeros(PROJ, np.float32)
        dims = [K * PROJ] + sizes[1:] + [nout]
        for a, b in zip(dims[:-1], dims[1:]):
            self.W.append((rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32))
            self.b.append(np.zeros(b, np.float32))
        self.m = [np.zeros_like(p) for p in self.W + self.b + [self.P, self.pb]]
        self.v = [np.zeros_like(p) for p in self.W + self.b + [self.P, self.pb]]
        self.t = 0

    def forward(self, x):
        B = len(x)
        self.x3 = x.reshape(B * len(OFFSETS), FEAT_DIM)
        self.z0 = self.x3 @ self.P + self.pb
        hs = [np.maximum(self.z0, 0).reshape(B, -1)]
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            z = hs[-1] @ W + b
            hs.append(np.maximum(z, 0) if i < len(self.W) - 1 else z)
        return hs

    def step(self, x, gout, hs, lr, wd=1e-5):
        grads_W, grads_b = [None] * len(self.W), [None] * len(self.W)
        g = gout
        for i in range(len(self.W) - 1, -1, -1):
            grads_W[i] = hs[i].T @ g + wd * self.W[i]
            grads_b[i] = g.sum(0)
            g = (g @ self.W[i].T) * (hs[i] > 0)
        g = g.reshape(-1, PROJ)
        gP = self.x3.T @ g + wd * self.P
        gpb = g.sum(0)
        self.t += 1
        b1, b2 = 0.9, 0.999
        for k, (p, gr) in enumerate(zip(self.W + self.b + [self.P, self.pb], grads_W + grads_b + [gP, gpb])):
            self.m[k] = b1 * self.m[k] + (1 - b1) * gr
            self.v[k] = b2 * self.v[k] + (1 - b2) * gr * gr
            mh = self.m[k] / (1 - b1 ** self.t); vh = self.v[k] / (1 - b2 ** self.t)
            p -= lr * mh / (np.sqrt(vh) + 1e-8)


def export(path, mlp, mean, std):
    with open(path, "wb") as f:
        f.write(b"FCLIPS02")
        f.write(struct.pack("<I", FEAT_DIM))
        f.write(struct.pack("<I", len(OFFSETS)))
        f.write(struct.pack(f"<{len(OFFSETS)}i", *OFFSETS))
        f.write(np.asarray(mean, "<f4").tobytes()); f.write(np.asarray(1.0 / std, "<f4").tobytes())
        f.write(struct.pack("<I", PROJ))
        f.write(np.ascontiguousarray(mlp.P.T, "<f4").tobytes()); f.write(np.asarray(mlp.pb, "<f4").tobytes())
        f.write(struct.pack("<I", len(mlp.W)))
        for W, b in zip(mlp.W, mlp.b):
            f.write(struct.pack("<II", W.shape[0], W.shape[1]))
            f.write(np.ascontiguousarray(W.T, "<f4").tobytes())  # out x in, row-major
            f.write(np.asarray(b, "<f4").tobytes())
        f.write(struct.pack("<III", len(VISEMES), len(PHONES), 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data"); ap.add_argument("out")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--holdout", default="", help="comma list of voice-name prefixes kept out of training")
    ap.add_argument("--featdump", default="")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warp", type=float, default=0.0,
                    help="also train on a copy of every utterance with the mel filterbank warped by a random factor in 1 +- WARP (VTLP)")
    ap.add_argument("--subsample", type=int, default=2, help="use 1/N of the frames per epoch (random)")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    names = sorted(os.path.basename(p)[:-5] for p in glob.glob(f"{a.data}/wav/*.json"))
    names = [n for n in names if os.path.exists(f"{a.data}/wav/{n}.wav")]
    os.makedirs(f"{a.data}/feat", exist_ok=True)
    todo = [n for n in names if not os.path.exists(f"{a.data}/feat/{n}.f32")]
    if todo:
        lst = f"{a.data}/todo.txt"
        open(lst, "w").write("\n".join(f"{a.data}/wav/{n}.wav" for n in todo) + "\n")
        cmd = [a.featdump, lst, f"{a.data}/feat"] if a.featdump else \
            ["cargo", "run", "--release", "-q", "-p", "facecast-lipsync", "--example", "featdump", "--", lst, f"{a.data}/feat"]
        subprocess.run(cmd, check=True)
    hold = [h for h in a.holdout.split(",") if h]
    val = [n for i, n in enumerate(names) if any(n.startswith(h) for h in hold) or (not hold and zlib.crc32(n.encode()) % 20 == 7)]
    tr = [n for n in names if n not in set(val)]
    if a.warp > 0:
        todo = [n for n in tr if not os.path.exists(f"{a.data}/feat/{n}_w.f32")]
        if todo:
            lst = f"{a.data}/todo_w.txt"
            open(lst, "w").write("".join(
                f"{a.data}/wav/{n}.wav {1 + a.warp * (2 * (zlib.crc32((n + 'w').encode()) % 1000) / 999 - 1):.4f}\n" for n in todo))
            cmd = [a.featdump, lst, f"{a.data}/feat"] if a.featdump else \
                ["cargo", "run", "--release", "-q", "-p", "facecast-lipsync", "--example", "featdump", "--", lst, f"{a.data}/feat"]
            subprocess.run(cmd, check=True)
        tr = tr + [(n + "_w", n) for n in tr]
    print(f"train {len(tr)} utts, val {len(val)} utts", flush=True)
    X, C, V, P, O = load(a.data, tr)
    Xv, Cv, Vv, Pv, Ov = load(a.data, val)
    mean = X.mean(0); std = X.std(0) + 1e-3
    Xn = (X - mean) / std; Xvn = (Xv - mean) / std
    nv, npn = len(VISEMES), len(PHONES)
    # class weights: mild re-balancing so rare visemes (FF, PP) are not swamped
    cnt = np.bincount(V, minlength=nv).astype(np.float64) + 1
    cw = (cnt.sum() / cnt / nv) ** 0.35; cw = (cw / (cw * cnt / cnt.sum()).sum()).astype(np.float32)
    print("viseme freq", np.round(cnt / cnt.sum(), 3), "weights", np.round(cw, 2))
    mlp = MLP([FEAT_DIM * len(OFFSETS)] + HIDDEN, nv + npn + 1, rng)
    bs, N = 512, len(C) // a.subsample
    steps = a.epochs * N // bs
    t0 = time.time()
    for ep in range(a.epochs):
        perm = rng.permutation(len(C))[:N]
        for s in range(N // bs):
            it = ep * (N // bs) + s
            lr = 2e-3 * 0.5 * (1 + np.cos(np.pi * it / steps)) + 2e-5
            ix = perm[s * bs:(s + 1) * bs]
            x = stack(Xn, C[ix])
            x += rng.standard_normal(x.shape).astype(np.float32) * 0.05
            hs = mlp.forward(x)
            out = hs[-1]
            pv = softmax(out[:, :nv]); pp = softmax(out[:, nv:nv + npn]); jo = 1 / (1 + np.exp(-out[:, -1]))
            g = np.zeros_like(out)
            yv, yp = V[ix], P[ix]
            w = cw[yv][:, None]
            gv = pv.copy(); gv[np.arange(bs), yv] -= 1; g[:, :nv] = gv * w / bs
            gp = pp.copy(); gp[np.arange(bs), yp] -= 1; g[:, nv:nv + npn] = 0.5 * gp / bs
            g[:, -1] = 4.0 * (jo - O[ix]) * jo * (1 - jo) / bs
            mlp.step(x, g, hs, lr)
        # validation
        accs = []
        for s in range(0, len(Cv), 4096):
            hs = mlp.forward(stack(Xvn, Cv[s:s + 4096]))
            accs.append((hs[-1][:, :nv].argmax(1) == Vv[s:s + 4096], hs[-1][:, nv:nv + npn].argmax(1) == Pv[s:s + 4096]))
        va = np.mean(np.concatenate([x for x, _ in accs])); pa = np.mean(np.concatenate([y for _, y in accs]))
        print(f"epoch {ep} val viseme acc {va:.3f} phone acc {pa:.3f}  ({time.time() - t0:.0f}s)", flush=True)
        export(a.out, mlp, mean, std)
    print("wrote", a.out, os.path.getsize(a.out), "bytes")


if __name__ == "__main__":
    main()
