#!/usr/bin/env python3
"""Make a small development set (NOT the measuring corpus) for the energy-only aligner:
flite voices slt, rms, kal16 on sentences that are not in /work/shared/corpus.
usage: make_devset.py OUT_DIR   (needs Debian's flite)
Writes OUT_DIR/<voice>/<id>.{wav,txt,json} in the corpus layout."""
import json, os, subprocess, sys, wave

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "My mother made marmalade in the morning.",
    "We will visit the museum on Monday, if it is open.",
    "Peter picked a peck of pickled peppers.",
    "How much wood would a woodchuck chuck?",
    "The weather was warm and the water was wonderful.",
    "Please bring me five bottles of milk. Thank you.",
    "Old oak trees grow slowly over hundreds of years.",
    "Give the violin to the veteran, he plays very well.",
    "Nobody knew where the new road would lead.",
    "Sixty seven people attended the meeting yesterday.",
    "A small boat floated past the bridge at noon.",
    "Why would anyone want to move to the moon?",
    "The children laughed and played in the park.",
    "Fresh fish is served every Friday.",
    "I think the thunder frightened the horses.",
    "Maybe we should call the doctor, just in case.",
    "Large blue balloons drifted above the crowd.",
    "Judge the value of the offer before you answer.",
]
MAP = {"ax": "AH", "axr": "ER", "dx": "D", "el": "L", "em": "M", "en": "N", "nx": "N", "hv": "HH", "pau": "SIL"}
out = sys.argv[1]


def festival_kal(out):
    """Festival kal_diphone on the same sentences (a held-aside check voice, not used for fitting)."""
    os.makedirs(f"{out}/fest_kal_dev", exist_ok=True)
    for i, s in enumerate(SENTENCES):
        base = f"{out}/fest_kal_dev/d{i:02d}"
        scm = base + ".scm"
        open(scm, "w").write(f'(voice_kal_diphone)\n(set! u (utt.synth (Utterance Text "{s}")))\n'
                             f'(utt.save.wave u "{base}.wav" \'riff)\n(utt.save.segs u "{base}.segs")\n')
        subprocess.run(["festival", "-b", scm], check=True, capture_output=True)
        with wave.open(base + ".wav") as w:
            assert w.getframerate() == 16000
            dur = w.getnframes() / 16000
        segs, t = [], 0.0
        for line in open(base + ".segs"):
            f = line.split()
            if len(f) != 3:
                continue
            end, p = min(float(f[0]), dur), MAP.get(f[2], f[2].upper())
            if end <= t:
                continue
            if segs and p == "SIL" and segs[-1]["phone"] == "SIL":
                segs[-1]["end"] = round(end, 4)
            else:
                segs.append({"start": round(t, 4), "end": round(end, 4), "phone": p})
            t = end
        if t < dur:
            segs.append({"start": round(t, 4), "end": round(dur, 4), "phone": "SIL"})
        json.dump(segs, open(base + ".json", "w"))
        open(base + ".txt", "w").write(s + "\n")
        os.remove(scm); os.remove(base + ".segs")


festival_kal(out)
for voice in ["slt", "rms", "kal16"]:
    os.makedirs(f"{out}/{voice}", exist_ok=True)
    for i, s in enumerate(SENTENCES):
        sid = f"d{i:02d}"
        wav = f"{out}/{voice}/{sid}.wav"
        r = subprocess.run(["flite", "-voice", voice, "-psdur", "-t", s, "-o", wav], capture_output=True, text=True, check=True)
        with wave.open(wav) as w:
            assert w.getframerate() == 16000 and w.getnchannels() == 1
            dur = w.getnframes() / 16000
        segs, t = [], 0.0
        for tok in r.stdout.split():
            ph, end = tok.rsplit(":", 1)
            end = min(float(end), dur)
            p = MAP.get(ph, ph.upper())
            if end <= t:
                continue
            if segs and p == "SIL" and segs[-1]["phone"] == "SIL":
                segs[-1]["end"] = round(end, 4)
            else:
                segs.append({"start": round(t, 4), "end": round(end, 4), "phone": p})
            t = end
        if t < dur:
            if segs[-1]["phone"] == "SIL":
                segs[-1]["end"] = round(dur, 4)
            else:
                segs.append({"start": round(t, 4), "end": round(dur, 4), "phone": "SIL"})
        json.dump(segs, open(f"{out}/{voice}/{sid}.json", "w"))
        open(f"{out}/{voice}/{sid}.txt", "w").write(s + "\n")
