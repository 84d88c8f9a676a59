#!/usr/bin/env python3
"""Generate phone-labelled synthetic speech for training the facecast lip-sync model.

Uses only Debian synthesizers (festival, flite, libespeak-ng through ctypes), sox and numpy.
Sentences come from a random template/word-list generator below (never from the evaluation corpus).
Each utterance is written as OUT/wav/<voice>_<n>.wav (16 kHz mono s16) and OUT/wav/<voice>_<n>.json
holding contiguous ARPAbet phone segments [{"start", "end", "phone", "raw"}] (same schema as the
shared corpus), after random augmentation (gain, noise, reverb, band limits, silences, rate/pitch).

usage: gen_data.py OUT_DIR [--scale 1.0] [--jobs 2] [--seed 1]
"""
import argparse, ctypes, json, os, random, subprocess, sys, tempfile, wave
from multiprocessing import Pool

import numpy as np

# ---------------------------------------------------------------- sentence generator
NOUNS = """baby ball balloon bank band bath beach bean bear bed bee beef bell belt bench bike bird boat bone book
boot bottle bow box boy bread bridge brother bubble bucket bus butter button cab cake camera cap car cat chair
cheese chicken child church city cloud coat coffee cook cup dad dog doll door dream dress drum duck egg face farm
father feather fence field film finger fire fish flag floor flower fog food foot fork fox friend frog fruit game
garden gate girl glass glove goat gold grape grass hand hat heart hill home horse house jam jar jeep judge juice
key king kitchen kite knife lamb lamp leaf leg lemon letter light lion lip map market mask meal milk mirror money
monkey moon morning mother mouse mouth mud music nail name neck nest night nose note oven owl paper park party pea
peach pear pen pencil people phone piano picture pie pig pillow pipe plane plate pocket pony pool potato puppy
queen rabbit rain river road robot rock roof room rope rose ruler sand shape sheep shell ship shoe shop show
sister sky smile snake snow soap sock sofa song soup spoon star stone storm street sugar summer sun table tail
teacher teeth thumb tiger toast tooth town toy train tree truck valley van vase vest video village violin voice
volcano wagon wall watch water wave whale wheel window wing winter wolf wood world yard zebra zoo thing theatre
thunder birthday mother weather feather bathroom author path month youth mouth north south""".split()
ADJS = """big bad bright blue brown busy cheap cold cool damp dark deep dirty dry early easy empty fast fat few fine
first flat fresh full funny good great green happy hard heavy high hot huge kind large late lazy long loud low
lucky mad many mean merry new nice noisy odd old open pale pink plain poor pretty proud purple quick quiet rare
red rich rough round sad safe sharp short shy silly slow small smooth soft sour strong sweet tall thick thin tiny
tough ugly vast warm wet white whole wide wild wise young yellow famous favourite smooth wooden woollen""".split()
VERBS_PAST = """bought brought built caught changed chose cleaned closed cooked covered cut dropped fed fetched
filled fixed found gave grabbed had held helped hid hit hugged jumped kept kicked kissed knew left lifted liked
lost loved made moved needed opened packed painted passed picked placed played pulled pushed put reached read
sold saw sent shook showed shut smelled stole studied taught threw took touched tried used visited wanted washed
watched wore wrapped wrote judged fooled soothed viewed moved proved""".split()
VERBS = """bring buy build catch change choose clean close cook cover cut drop feed fetch fill fix find give grab hold
help hide hug jump keep kick kiss leave lift like lose love make move need open pack paint pass pick place play
pull push reach sell see send shake show smell study teach throw take touch try use visit want wash watch wear
wrap write judge soothe view prove breathe""".split()
NAMES = """Bob Mary Paul Peter Bill Maggie Tom Sam Beth Fiona Victor Zoe Judy Charlie Sheila George Ruth Luke Ann
Owen Ivy Oscar Uma Ethan Martha Philip Vivian Matthew Thelma""".split()
PLACES = """the park the beach the museum the village the valley the office the market the forest the harbour
the mountain the zoo the school the station the bakery the library the farm the bathroom the theatre""".split("\n")
PLACES = [p.strip() for line in PLACES for p in line.split(" the ") if p.strip()]
PLACES = ["the " + p.replace("the ", "") for p in PLACES]
ADVS = """quickly slowly quietly loudly happily sadly carefully badly early often never always really very maybe
perhaps soon today tomorrow yesterday outside upstairs""".split()
PREPS = "in on under behind beside near above below with without from for about through over".split()
DETS = "the a my your his her our their this that every some one two three four five".split()
INTERJ = "Oh, | Well, | Hmm, | Yes, | No, | Wow, | Okay, | Look, | Please, | Hey, | Right, | So,".split(" | ")
QW = "What | Where | Why | How | When | Who".split(" | ")
EXTRA = """huge juice shoe measure vision beige usually pleasure church judge thought though three through father
mother brother bath both smooth the this those these with worth fifth sixth month anything everything nothing
oil boy toy voice noise coin join point mouth out loud how now cow brown round sound found about year yes young
you use few cute view ring sing long thing king going morning nothing""".split()


def noun_phrase(r):
    s = r.choice(DETS)
    if r.random() < 0.6:
        s += " " + r.choice(ADJS)
    n = r.choice(NOUNS)
    if s.split()[0] in ("two", "three", "four", "five") and not n.endswith("s"):
        n += "s"
    return s + " " + n


def sentence(r):
    k = r.random()
    if k < 0.25:
        s = f"{r.choice(NAMES)} {r.choice(VERBS_PAST)} {noun_phrase(r)}"
        if r.random() < 0.5:
            s += f" {r.choice(PREPS)} {r.choice(PLACES)}"
        s += "."
    elif k < 0.4:
        s = f"{r.choice(QW)} did {r.choice(NAMES)} {r.choice(VERBS)} {noun_phrase(r)}?"
    elif k < 0.5:
        s = f"Can you {r.choice(VERBS)} {noun_phrase(r)} {r.choice(ADVS)}?"
    elif k < 0.62:
        s = f"{noun_phrase(r).capitalize()} is {r.choice(['very', 'quite', 'so', 'too', 'not'])} {r.choice(ADJS)}."
    elif k < 0.72:
        s = f"{r.choice(INTERJ)} {r.choice(['I', 'we', 'they', 'you'])} {r.choice(VERBS_PAST)} {noun_phrase(r)} {r.choice(ADVS)}."
    elif k < 0.82:
        ws = [r.choice(EXTRA + NOUNS + ADJS) for _ in range(r.randint(3, 8))]
        s = " ".join(ws).capitalize() + r.choice([".", "!", "?", "."])
    elif k < 0.9:
        s = f"Please {r.choice(VERBS)} {noun_phrase(r)}, {r.choice(['but', 'and', 'or', 'then'])} {r.choice(VERBS)} {noun_phrase(r)}."
    else:
        s = f"{r.choice(NAMES)} and {r.choice(NAMES)} {r.choice(VERBS_PAST)} {r.randint(2, 99)} {r.choice(NOUNS)}s {r.choice(PREPS)} {r.choice(PLACES)}."
    return s[0].upper() + s[1:]


def text_parts(r):
    """One or more parts; parts are joined by inserted pauses."""
    n = 1 if r.random() < 0.7 else 2
    parts = []
    for _ in range(n):
        s = sentence(r)
        if r.random() < 0.3:
            s += " " + sentence(r)
        parts.append(s)
    return parts


# ---------------------------------------------------------------- phone maps
RADIO = {"ax": "AH", "axr": "ER", "dx": "D", "el": "L", "em": "M", "en": "N", "nx": "N", "hv": "HH", "pau": "SIL",
         "h#": "SIL", "brth": "SIL"}
ARPA = set("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH SIL".split())


def radio2arpa(p):
    p = p.strip()
    if p in RADIO:
        return RADIO[p]
    u = p.upper()
    return u if u in ARPA else None


ESPK = {}
for k, v in [("@ @2 @5 a# V", "AH"), ("3 3:", "ER"), ("a aa", "AE"), ("0 A: A@", "AA"), ("O O: O2 O@ o@", "AO"),
             ("oU", "OW"), ("OI", "OY"), ("aI aI@", "AY"), ("aU aU@", "AW"), ("eI", "EY"), ("E e@", "EH"),
             ("I I# I2 i@3", "IH"), ("i i: i@", "IY"), ("U U@", "UH"), ("u:", "UW"), ("t# t2", "T"), ("T", "TH"),
             ("D", "DH"), ("S", "SH"), ("Z", "ZH"), ("h", "HH"), ("tS", "CH"), ("dZ", "JH"), ("N", "NG"), ("n-", "N"),
             ("@L", "L"), ("r-", "R"), ("j ;", "Y"), ("aI3", "AY"), ("aU3", "AW"), ("e", "EH"), ("o", "OW"),
             ("u", "UW"), ("i@", "IY"), ("I@", "IH"), ("eI@", "EY"), ("3:r", "ER"), ("A:r", "AA"), ("O@r", "AO"),
             ("l/", "L"), ("l/2", "L"), ("d#", "D"), ("z#", "Z"), ("x", "HH"), ("?", "SIL"), ("w#", "W"), ("r/", "R"),
             ("@/", "AH"), ("e#", "EH"), ("E2", "EH"), ("E#", "EH"), ("Q", "AA"), ("A", "AA"), ("ae", "AE"), ("a2", "AH"),
             ("aI2", "AY"), ("O#", "AO"), ("oU#", "OW"), ("u:#", "UW"), ("U#", "UH"), ("V#", "AH"), ("3#", "ER"), ("t[", "T"), ("@-", "AH"), ("d[", "D"), ("n[", "N"), ("l[", "L")]:
    for s in k.split():
        ESPK[s] = v
for c in "p b t d k g f v s z m n l r w".split():
    ESPK[c] = c.upper()
UNKNOWN = {}


def espk2arpa(p):
    if p.startswith("_") or p == "":
        return "SIL"
    if p in ESPK:
        return ESPK[p]
    q = p.rstrip("#0123456789/[-")
    if q in ESPK:
        return ESPK[q]
    UNKNOWN[p] = UNKNOWN.get(p, 0) + 1
    return None


# ---------------------------------------------------------------- synthesizers
def read_wav(path):
    with wave.open(path) as w:
        n, sr, ch, sw = w.getnframes(), w.getframerate(), w.getnchannels(), w.getsampwidth()
        x = np.frombuffer(w.readframes(n), dtype=np.int16).astype(np.float32) / 32768.0
    if ch > 1:
        x = x.reshape(-1, ch).mean(1)
    return x, sr


def sox_resample(x, sr, out_sr, tmp):
    if sr == out_sr:
        return x
    a, b = os.path.join(tmp, "rs_in.wav"), os.path.join(tmp, "rs_out.wav")
    write_wav(a, x * 0.8, sr)
    subprocess.run(["sox", "-D", a, "-r", str(out_sr), "-c", "1", "-b", "16", b], check=True)
    return read_wav(b)[0] / 0.8


def write_wav(path, x, sr):
    y = np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(sr); w.writeframes(y.tobytes())


def segs_from_ends(ends, dur):
    """[(end_time, arpa, raw)] -> contiguous segments clipped to dur, SILs merged."""
    segs, t0 = [], 0.0
    for e, p, raw in ends:
        e = min(e, dur)
        if p is None:  # unknown symbol: extend previous
            if segs:
                segs[-1][1] = max(segs[-1][1], e)
                t0 = segs[-1][1]
            continue
        if e <= t0 + 1e-6:
            continue
        segs.append([t0, e, p, raw])
        t0 = e
    if t0 < dur:
        if segs and segs[-1][2] == "SIL":
            segs[-1][1] = dur
        else:
            segs.append([t0, dur, "SIL", ""])
    return segs


def festival_synth(voice, parts, stretch, tmp):
    scm = [f"(voice_{voice})", f"(Parameter.set 'Duration_Stretch {stretch:.3f})"]
    for i, t in enumerate(parts):
        t = t.replace('"', "").replace("\\", "")
        scm.append(f'(set! u (utt.synth (Utterance Text "{t}")))')
        scm.append(f'(utt.save.wave u "{tmp}/p{i}.wav" \'riff)')
        scm.append(f'(utt.save.segs u "{tmp}/p{i}.segs")')
    with open(f"{tmp}/s.scm", "w") as f:
        f.write("\n".join(scm) + "\n")
    subprocess.run(["festival", "-b", f"{tmp}/s.scm"], check=True, capture_output=True, timeout=300)
    out = []
    for i in range(len(parts)):
        x, sr = read_wav(f"{tmp}/p{i}.wav")
        ends = []
        for line in open(f"{tmp}/p{i}.segs"):
            f_ = line.split()
            if len(f_) == 3 and f_[0] != "#":
                ends.append((float(f_[0]), radio2arpa(f_[2]), f_[2]))
        out.append((x, sr, ends))
    return out


def flite_synth(voice, parts, stretch, f0, tmp):
    out = []
    for i, t in enumerate(parts):
        cmd = ["flite", "-voice", voice, "-psdur", "-t", t, "-o", f"{tmp}/p{i}.wav",
               "--setf", f"duration_stretch={stretch:.3f}"]
        if f0:
            cmd += ["--setf", f"int_f0_target_mean={f0:.0f}"]
        r = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)
        x, sr = read_wav(f"{tmp}/p{i}.wav")
        ends = []
        for tok in r.stdout.split():
            if ":" in tok:
                p, e = tok.rsplit(":", 1)
                ends.append((float(e), radio2arpa(p), p))
        out.append((x, sr, ends))
    return out


class Espeak:
    class EV(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("uid", ctypes.c_uint), ("text_position", ctypes.c_int),
                    ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                    ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]

    def __init__(self):
        self.lib = ctypes.CDLL("libespeak-ng.so.1")
        self.sr = self.lib.espeak_Initialize(2, 0, None, 1)
        CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(self.EV))
        self.cb = CB(self._cb)
        self.lib.espeak_SetSynthCallback(self.cb)

    def _cb(self, wav, n, ev):
        if wav and n > 0:
            self.audio.extend(wav[:n])
        i = 0
        while ev[i].type != 0:
            if ev[i].type == 7:
                self.evs.append((ev[i].sample, ev[i].id.split(b"\0")[0].decode("latin-1")))
            i += 1
        return 0

    def synth(self, voice, parts, rate, pitch, rng):
        self.lib.espeak_SetVoiceByName(voice.encode())
        self.lib.espeak_SetParameter(1, int(rate), 0)
        self.lib.espeak_SetParameter(3, int(pitch), 0)
        self.lib.espeak_SetParameter(4, int(rng), 0)
        out = []
        for t in parts:
            self.audio, self.evs = [], []
            b = t.encode()
            self.lib.espeak_Synth(b, len(b) + 1, 0, 1, 0, 0, None, None)
            self.lib.espeak_Synchronize()
            x = np.array(self.audio, dtype=np.float32) / 32768.0
            sr = self.sr
            # starts -> ends
            starts = [(0, "_", "SIL")] + [(s, raw, espk2arpa(raw)) for s, raw in self.evs]
            # voiceless stop closures: move the run of exact zeros before the stop into it
            st = [list(s) for s in starts]
            for k in range(1, len(st)):
                if st[k][2] in ("P", "T", "K", "CH"):
                    j = st[k][0]
                    lo = st[k - 1][0]
                    while j - 1 > lo and j - 1 < len(x) and x[j - 1] == 0.0:
                        j -= 1
                    if j < st[k][0] and st[k][0] - j > 8:
                        st[k][0] = j
            ends = []
            for k in range(len(st)):
                e = st[k + 1][0] if k + 1 < len(st) else len(x)
                ends.append((e / sr, st[k][2], st[k][1]))
            out.append((x, sr, ends))
        return out


# ---------------------------------------------------------------- augmentation
def augment(x, sr, r, nr):
    """x at 16 kHz. Returns augmented signal (same length)."""
    if r.random() < 0.3:  # reverb
        rt60 = r.uniform(0.08, 0.5)
        n = int(rt60 * sr)
        t = np.arange(n) / sr
        ir = nr.standard_normal(n) * np.exp(-6.9 * t / rt60)
        ir[0] = 0.0
        ir *= r.uniform(0.05, 0.4) / (np.sqrt((ir ** 2).sum()) + 1e-9)
        ir[0] = 1.0
        x = np.convolve(x, ir)[: len(x)]
    if r.random() < 0.3:  # spectral tilt / band limit
        a = r.uniform(-0.9, 0.9)
        y = x.copy()
        y[1:] = x[1:] + a * x[:-1]
        x = y / (1 + abs(a))
    if r.random() < 0.5:  # noise
        snr = r.uniform(12, 45)
        sp = np.mean(x ** 2) + 1e-12
        nz = nr.standard_normal(len(x))
        if r.random() < 0.5:  # pinkish
            nz = np.cumsum(nz)
            nz -= np.convolve(nz, np.ones(200) / 200, "same")
        nz *= np.sqrt(sp / (np.mean(nz ** 2) + 1e-12) / 10 ** (snr / 10))
        x = x + nz
    elif r.random() < 0.3:
        x = x + nr.standard_normal(len(x)) * 10 ** (r.uniform(-80, -60) / 20)
    g = 10 ** (r.uniform(-24, 4) / 20)
    peak = np.max(np.abs(x)) + 1e-9
    x = x / peak * min(0.99, 0.5 * g * 2)
    return x.astype(np.float32)


# ---------------------------------------------------------------- jobs
def build_jobs(scale):
    jobs = []
    def add(kind, voice, n, per):
        for b in range(0, max(1, int(n * scale)), per):
            jobs.append((kind, voice, b, min(per, int(n * scale) - b)))
    add("fest", "kal_diphone", 300, 15)
    add("fest", "ked_diphone", 300, 15)
    add("fest", "cmu_us_slt_arctic_hts", 300, 10)
    for v in ["kal", "kal16", "awb", "rms", "slt"]:
        add("flite", v, 220, 20)
    for v in ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
              "en-gb-x-gbcwmd"]:
        add("espeak", v, 160, 40)
    return jobs


ESP = None


def run_job(args):
    (kind, voice, b0, n), out, seed = args
    global ESP
    tag = f"{kind}_{voice.replace('-', '_').replace('cmu_us_', '').replace('_arctic_hts', '_hts').replace('_diphone', '')}"
    r = random.Random(f"{seed}-{kind}-{voice}-{b0}")
    nr = np.random.default_rng(r.randrange(1 << 30))
    done = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(n):
            name = f"{tag}_{b0 + k:05d}"
            if os.path.exists(f"{out}/{name}.json"):
                continue
            parts = text_parts(r)
            try:
                if kind == "fest":
                    res = festival_synth(voice, parts, r.uniform(0.75, 1.35), tmp)
                elif kind == "flite":
                    res = flite_synth(voice, parts, r.uniform(0.75, 1.35), r.choice([0, 0, r.uniform(85, 200)]), tmp)
                else:
                    if ESP is None:
                        ESP = Espeak()
                    v = voice + r.choice(["", "", "+m1", "+m2", "+m3", "+m4", "+f1", "+f2", "+f3", "+f4", "+klatt", "+croak"])
                    res = ESP.synth(v, parts, r.uniform(120, 260), r.uniform(20, 80), r.uniform(20, 80))
            except Exception as e:  # noqa
                print("synth failed", name, e, file=sys.stderr)
                continue
            sr_out = 16000
            sig, segs, t = [], [], 0.0
            lead = r.uniform(0.02, 0.5)
            sig.append(np.zeros(int(lead * sr_out), np.float32))
            segs.append([0.0, lead, "SIL", ""]); t = lead
            for pi, (x, sr, ends) in enumerate(res):
                if pi > 0:
                    gap = r.uniform(0.15, 0.8)
                    sig.append(np.zeros(int(gap * sr_out), np.float32))
                    segs.append([t, t + int(gap * sr_out) / sr_out, "SIL", "gap"]); t = segs[-1][1]
                y = sox_resample(x, sr, sr_out, tmp) if r.random() > 0.12 else \
                    sox_resample(sox_resample(x, sr, 8000, tmp), 8000, sr_out, tmp)
                dur = len(y) / sr_out
                for s in segs_from_ends(ends, dur):
                    segs.append([t + s[0], t + s[1], s[2], s[3]])
                sig.append(y); t += dur
            trail = r.uniform(0.05, 0.5)
            sig.append(np.zeros(int(trail * sr_out), np.float32))
            segs.append([t, t + int(trail * sr_out) / sr_out, "SIL", ""])
            x = np.concatenate(sig)
            dur = len(x) / sr_out
            # merge adjacent SIL, clip
            merged = []
            for s in segs:
                if merged and s[2] == "SIL" and merged[-1][2] == "SIL":
                    merged[-1][1] = s[1]
                elif s[1] > s[0]:
                    merged.append(list(s))
            merged[-1][1] = dur
            x = augment(x, sr_out, r, nr)
            write_wav(f"{out}/{name}.wav", x, sr_out)
            js = [{"start": round(a, 4), "end": round(b, 4), "phone": p, "raw": raw} for a, b, p, raw in merged]
            with open(f"{out}/{name}.txt", "w") as f:
                f.write(" || ".join(parts) + "\n")
            with open(f"{out}/{name}.json", "w") as f:
                json.dump(js, f)
            done += 1
    if UNKNOWN:
        print("unknown espeak symbols:", UNKNOWN, file=sys.stderr)
    return done


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    out = os.path.join(a.out, "wav")
    os.makedirs(out, exist_ok=True)
    jobs = build_jobs(a.scale)
    random.Random(a.seed).shuffle(jobs)
    with Pool(a.jobs) as p:
        tot = 0
        for d in p.imap_unordered(run_job, [(j, out, a.seed) for j in jobs]):
            tot += d
            print("utterances:", tot, flush=True)


if __name__ == "__main__":
    main()
