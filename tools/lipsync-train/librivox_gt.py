#!/usr/bin/env python3
"""Make a scorer-compatible ground-truth dir from the pocketsphinx LibriVox alignments.

usage: librivox_gt.py /work/shared/assets/audio OUT_DIR
Writes OUT_DIR/librivox/<name>.json (corpus phone schema) + <name>.wav (symlink) + <name>.txt.
"""
import glob, json, os, sys, wave

src, out = sys.argv[1], sys.argv[2]
os.makedirs(f"{out}/librivox", exist_ok=True)
for pj in sorted(glob.glob(f"{src}/librivox_*.phones.json")):
    name = os.path.basename(pj)[: -len(".phones.json")]
    wavp = f"{src}/{name}.wav"
    with wave.open(wavp) as w:
        dur = w.getnframes() / w.getframerate()
    root = json.load(open(pj))
    phones = []
    for word in root["w"]:
        for ph in word.get("w", []):
            p = ph["t"].upper()
            p = "SIL" if p in ("SIL", "<SIL>", "+NSN+", "+SPN+") else "".join(c for c in p if not c.isdigit())
            phones.append([ph["b"], ph["b"] + ph["d"], p])
    segs, t = [], 0.0
    for a, b, p in phones:
        a = max(a, t)
        if a > t + 1e-6:
            segs.append([t, a, "SIL"])
        if b > a:
            segs.append([a, b, p])
            t = b
    if t < dur:
        segs.append([t, dur, "SIL"])
    segs[-1][1] = dur
    merged = []
    for s in segs:
        if merged and s[2] == "SIL" and merged[-1][2] == "SIL":
            merged[-1][1] = s[1]
        else:
            merged.append(s)
    json.dump([{"start": round(a, 4), "end": round(b, 4), "phone": p} for a, b, p in merged],
              open(f"{out}/librivox/{name}.json", "w"))
    dst = f"{out}/librivox/{name}.wav"
    if not os.path.exists(dst):
        os.symlink(os.path.abspath(wavp), dst)
    open(f"{out}/librivox/{name}.txt", "w").write(open(f"{src}/{name}.txt").read())
print("ok")
