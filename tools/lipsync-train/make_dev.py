#!/usr/bin/env python3
"""Link the validation part of the generated data (crc32(name) % 20 == 7, never trained on) into a
scorer-compatible folder: OUT/<voice>/<id>.{wav,json,txt}.  usage: make_dev.py DATA OUT [MAX_PER_VOICE]"""
import glob, os, sys, zlib
data, out = sys.argv[1], sys.argv[2]
mx = int(sys.argv[3]) if len(sys.argv) > 3 else 30
cnt = {}
for js in sorted(glob.glob(f"{data}/wav/*.json")):
    n = os.path.basename(js)[:-5]
    if zlib.crc32(n.encode()) % 20 != 7:
        continue
    voice, uid = n.rsplit("_", 1)
    if cnt.get(voice, 0) >= mx:
        continue
    cnt[voice] = cnt.get(voice, 0) + 1
    os.makedirs(f"{out}/{voice}", exist_ok=True)
    for ext in ("wav", "json", "txt"):
        d = f"{out}/{voice}/{uid}.{ext}"
        if not os.path.exists(d):
            os.symlink(os.path.abspath(f"{data}/wav/{n}.{ext}"), d)
print(cnt)
