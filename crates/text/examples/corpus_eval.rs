//! Write scorer predictions for the lip-sync corpus from text + audio (no acoustic model).
//!
//! ```text
//! cargo run --release -p facecast-text --example corpus_eval -- MODE CORPUS_DIR OUT_DIR
//! python3 /work/shared/lipsync_eval.py --gt CORPUS_DIR --pred OUT_DIR
//! ```
//! MODE: `energy` (G2P of the .txt, aligned to the .wav by the energy-only aligner),
//! `gt` (the corpus phone JSON straight through `phones_to_rhubarb`: must score exact 1.0),
//! `uniform` (G2P phones spread evenly over the speech between the first and last loud frame).
use facecast_text::{
    align, align_energy, align_hybrid, energy_features, g2p, import, phone_at, phones_to_cues,
    phones_to_frames, AlignConfig, ClassMap, PhoneSeq, Posteriors, TimedPhone,
};
use std::path::Path;
use std::time::Instant;

fn read_wav(path: &Path) -> (Vec<f32>, u32) {
    let b = std::fs::read(path).expect("read wav");
    assert!(
        &b[0..4] == b"RIFF" && &b[8..12] == b"WAVE",
        "not a WAV: {}",
        path.display()
    );
    let mut p = 12;
    let (mut rate, mut ch, mut bits) = (0u32, 1u16, 16u16);
    while p + 8 <= b.len() {
        let id = &b[p..p + 4];
        let len = u32::from_le_bytes([b[p + 4], b[p + 5], b[p + 6], b[p + 7]]) as usize;
        let body = &b[p + 8..(p + 8 + len).min(b.len())];
        if id == b"fmt " {
            ch = u16::from_le_bytes([body[2], body[3]]);
            rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            bits = u16::from_le_bytes([body[14], body[15]]);
        } else if id == b"data" {
            assert_eq!(bits, 16, "only 16-bit PCM");
            let samples: Vec<f32> = body
                .chunks_exact(2 * ch as usize)
                .map(|f| i16::from_le_bytes([f[0], f[1]]) as f32 / 32768.0)
                .collect();
            return (samples, rate);
        }
        p += 8 + len + (len & 1);
    }
    panic!("no data chunk in {}", path.display());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, corpus, out) = (&args[1], Path::new(&args[2]), Path::new(&args[3]));
    let mut cfg = AlignConfig::default();
    // Development overrides (for sweeps on a development set, not the measuring corpus).
    for (k, f) in [
        ("EW", &mut cfg.emission_weight),
        ("DS", &mut cfg.duration_sigma),
        ("DW", &mut cfg.duration_weight),
    ] {
        if let Ok(v) = std::env::var(k) {
            *f = v.parse().unwrap();
        }
    }
    if let Ok(b) = std::env::var("BEAM") {
        cfg.beam = b.parse().unwrap();
    }
    let (mut audio_s, mut align_s) = (0.0, 0.0);
    let mut stats: std::collections::BTreeMap<String, [f64; 5]> = Default::default();
    let mut durs: std::collections::BTreeMap<String, [f64; 2]> = Default::default();
    for voice in std::fs::read_dir(corpus).unwrap().flatten() {
        if !voice.path().is_dir() {
            continue;
        }
        std::fs::create_dir_all(out.join(voice.file_name())).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(voice.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "wav"))
            .collect();
        files.sort();
        for wav in files {
            let (samples, rate) = read_wav(&wav);
            let dur = samples.len() as f64 / rate as f64;
            let phones: Vec<TimedPhone> = match mode.as_str() {
                "gt" => import::to_phones(
                    &std::fs::read_to_string(wav.with_extension("json")).unwrap(),
                    None,
                )
                .unwrap(),
                "energy" | "uniform" => {
                    let text = std::fs::read_to_string(wav.with_extension("txt")).unwrap();
                    let words = g2p(&text);
                    let t0 = Instant::now();
                    let feats = energy_features(&samples, rate, 100.0);
                    let seq = PhoneSeq::from_words(&words);
                    let r = if mode == "energy" {
                        align_energy(&seq, &feats, &cfg).unwrap()
                    } else {
                        let peak = feats.iter().map(|f| f.db).fold(f32::MIN, f32::max);
                        let loud: Vec<usize> = (0..feats.len())
                            .filter(|&i| feats[i].db > peak - 35.0)
                            .collect();
                        let (a, b) = (
                            *loud.first().unwrap() as f64 / 100.0,
                            (*loud.last().unwrap() + 1) as f64 / 100.0,
                        );
                        let wt = vec![import::WordTiming {
                            word: text.replace("||", " "),
                            start: a,
                            end: b,
                        }];
                        import::words_to_phones(&wt, Some(dur))
                    };
                    align_s += t0.elapsed().as_secs_f64();
                    audio_s += dur;
                    r
                }
                "noisy" | "noisy-hybrid" => {
                    // A simulated weak 15-viseme acoustic model: the true class gets 0.3-0.6, and in
                    // 30 % of 50 ms chunks a random wrong class gets 0.5 (seeded, deterministic).
                    let gt = import::to_phones(
                        &std::fs::read_to_string(wav.with_extension("json")).unwrap(),
                        None,
                    )
                    .unwrap();
                    let cmap = ClassMap::visemes();
                    let k = cmap.classes;
                    let n = (dur * 100.0) as usize;
                    let mut seed = 12345u64 ^ n as u64;
                    let mut rnd = move || {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ((seed >> 33) as f32) / (1u64 << 31) as f32
                    };
                    let mut post = vec![0f32; n * k];
                    let mut wrong = None;
                    let harsh = std::env::var("HARSH").is_ok();
                    for t in 0..n {
                        let tt = (t as f64 + 0.5) / 100.0;
                        let seg_start =
                            gt.iter().any(|p| ((p.start * 100.0).round() as usize) == t);
                        if t % 5 == 0 || (harsh && seg_start) {
                            let pw = if harsh { 0.4 } else { 0.3 };
                            if !harsh || seg_start {
                                wrong = if rnd() < pw {
                                    Some((rnd() * k as f32) as usize % k)
                                } else {
                                    None
                                };
                            }
                        }
                        let c = cmap.class(phone_at(&gt, tt), None);
                        for j in 0..k {
                            post[t * k + j] = 0.2 * rnd() / k as f32;
                        }
                        post[t * k + c] += 0.3 + 0.3 * rnd();
                        if let Some(w) = wrong {
                            post[t * k + w] += 0.5;
                        }
                    }
                    let text = std::fs::read_to_string(wav.with_extension("txt")).unwrap();
                    let seq = PhoneSeq::from_words(&g2p(&text));
                    let p = Posteriors {
                        data: &post,
                        classes: k,
                        frame_rate: 100.0,
                        log: false,
                    };
                    let t0 = Instant::now();
                    let r = if mode == "noisy" {
                        align(&seq, &p, &cmap, &cfg).unwrap()
                    } else {
                        let ew: f64 = std::env::var("HYB")
                            .ok()
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0.5);
                        align_hybrid(
                            &seq,
                            &p,
                            &cmap,
                            &energy_features(&samples, rate, 100.0),
                            ew,
                            &cfg,
                        )
                        .unwrap()
                    };
                    align_s += t0.elapsed().as_secs_f64();
                    audio_s += dur;
                    r
                }
                "oracle" | "oracle-visemes" => {
                    // Posteriors that are one-hot on the TRUE phone class (from the corpus JSON),
                    // softened to 0.9: the ceiling of text-assisted alignment with a perfect
                    // acoustic model, limited only by G2P disagreeing with the synthesizer.
                    let gt = import::to_phones(
                        &std::fs::read_to_string(wav.with_extension("json")).unwrap(),
                        None,
                    )
                    .unwrap();
                    let cmap = if mode == "oracle" {
                        ClassMap::phones()
                    } else {
                        ClassMap::visemes()
                    };
                    let k = cmap.classes;
                    let n = (dur * 100.0) as usize;
                    let mut post = vec![0.1 / (k - 1) as f32; n * k];
                    for t in 0..n {
                        let tt = (t as f64 + 0.5) / 100.0;
                        let c = cmap.class(phone_at(&gt, tt), None);
                        post[t * k + c] = 0.9;
                    }
                    let text = std::fs::read_to_string(wav.with_extension("txt")).unwrap();
                    let seq = PhoneSeq::from_words(&g2p(&text));
                    let t0 = Instant::now();
                    let r = align(
                        &seq,
                        &Posteriors {
                            data: &post,
                            classes: k,
                            frame_rate: 100.0,
                            log: false,
                        },
                        &cmap,
                        &cfg,
                    )
                    .unwrap();
                    align_s += t0.elapsed().as_secs_f64();
                    audio_s += dur;
                    r
                }
                "stats" => {
                    // Per phone-kind feature statistics under the reference labels (for choosing
                    // the energy model on a development set; never run it on the measuring corpus).
                    let gt = import::to_phones(
                        &std::fs::read_to_string(wav.with_extension("json")).unwrap(),
                        None,
                    )
                    .unwrap();
                    let feats = energy_features(&samples, rate, 100.0);
                    let mut sorted: Vec<f32> = feats.iter().map(|f| f.db).collect();
                    sorted.sort_by(|a, b| a.total_cmp(b));
                    let peak = sorted[(sorted.len() - 1) * 95 / 100];
                    for (t, f) in feats.iter().enumerate() {
                        let p = phone_at(&gt, (t as f64 + 0.5) / 100.0);
                        let e = stats.entry(format!("{:?}", p.kind())).or_insert([0f64; 5]);
                        let rel = (f.db - peak).max(-70.0) as f64;
                        e[0] += 1.0;
                        e[1] += rel;
                        e[2] += rel * rel;
                        e[3] += f.tilt as f64;
                        e[4] += (f.tilt * f.tilt) as f64;
                    }
                    for p in &gt {
                        let e = durs
                            .entry(format!("{:?}", p.phone.kind()))
                            .or_insert([0f64; 2]);
                        e[0] += 1.0;
                        e[1] += p.end - p.start;
                    }
                    continue;
                }
                m => panic!("unknown mode {m}"),
            };
            let mut v = phones_to_cues(&phones);
            let frames = phones_to_frames(&phones, dur, 100.0);
            v["frames"] = frames
                .iter()
                .map(|f| serde_json::json!({"t": f.t, "jaw_open": f.jaw_open}))
                .collect();
            if mode == "gt" {
                // cue-only file, so the scorer uses exactly the cues
                v.as_object_mut().unwrap().remove("frames");
            }
            let name = wav.file_stem().unwrap().to_string_lossy().to_string();
            std::fs::write(
                out.join(voice.file_name()).join(format!("{name}.json")),
                v.to_string(),
            )
            .unwrap();
        }
    }
    for (k, e) in &stats {
        let (n, m1, m2) = (e[0], e[1] / e[0], e[3] / e[0]);
        let d = durs.get(k).map_or(0.0, |d| d[1] / d[0]);
        println!(
            "{k:20} n={n:6} db {m1:6.1} sd {:5.1}  tilt {m2:6.1} sd {:5.1}  mean dur {d:.3}",
            (e[2] / n - m1 * m1).sqrt(),
            (e[4] / n - m2 * m2).sqrt()
        );
    }
    if audio_s > 0.0 {
        println!(
            "aligned {audio_s:.1} s of audio in {:.3} s: {:.0}x real time",
            align_s,
            audio_s / align_s
        );
    }
}
