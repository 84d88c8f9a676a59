use facecast_core::{AudioChunk, Viseme, VisemeFrame};
use facecast_lipsync::{analyze, rhubarb, Analyzer};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn speech() -> AudioChunk {
    facecast_audio::decode_file(std::path::Path::new(&format!(
        "{SHARED}/assets/audio/cmu_goforward.wav"
    )))
    .expect("shared test audio")
}

fn stream(audio: &AudioChunk, sizes: &mut dyn FnMut() -> usize) -> Vec<VisemeFrame> {
    let mut a = Analyzer::new();
    let mut out = Vec::new();
    let ch = audio.channels as usize;
    let mut pos = 0;
    while pos < audio.frames() {
        let end = (pos + sizes()).min(audio.frames());
        a.push(&AudioChunk {
            rate: audio.rate,
            channels: audio.channels,
            samples: audio.samples[pos * ch..end * ch].to_vec(),
        });
        while let Some(f) = a.pull() {
            out.push(f);
        }
        pos = end;
    }
    a.flush();
    while let Some(f) = a.pull() {
        out.push(f);
    }
    out
}

#[test]
fn streaming_equals_batch_bit_exact() {
    let audio = speech();
    let batch = analyze(&audio);
    assert_eq!(batch.len(), (audio.duration_secs() * 100.0) as usize);
    let mut seed = 12345u64;
    for _ in 0..3 {
        let got = stream(&audio, &mut || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            1 + (seed >> 33) as usize % 2500
        });
        assert_eq!(got, batch);
    }
    // 44.1 kHz stereo input, odd chunk sizes
    let mono = facecast_audio::to_mono(&audio);
    let up = facecast_audio::resample(&mono, 16000, 44100).unwrap();
    let stereo = AudioChunk {
        rate: 44100,
        channels: 2,
        samples: up.iter().flat_map(|&v| [v, v]).collect(),
    };
    let b2 = analyze(&stereo);
    let mut n = 0usize;
    let s2 = stream(&stereo, &mut || {
        n += 1;
        (n * 977) % 1500 + 1
    });
    assert_eq!(s2, b2);
}

#[test]
fn frame_times_are_centres() {
    let f = analyze(&AudioChunk::mono(16000, vec![0.0; 16000]));
    assert_eq!(f.len(), 100);
    for (i, fr) in f.iter().enumerate() {
        assert!((fr.t - (i as f64 + 0.5) / 100.0).abs() < 1e-9);
    }
}

#[test]
fn silence_is_sil_with_closed_jaw() {
    for x in [
        vec![0.0f32; 24000],
        (0..24000)
            .map(|i| 1e-4 * ((i * 7919 % 101) as f32 / 50.0 - 1.0))
            .collect(),
    ] {
        let f = analyze(&AudioChunk::mono(24000, x));
        assert_eq!(f.len(), 100);
        for fr in &f {
            assert_eq!(fr.dominant(), Viseme::Sil, "t={}", fr.t);
            assert_eq!(fr.jaw_open, 0.0);
        }
    }
}

/// A vowel-like harmonic tone, a 90 ms closure (silence), a short burst, then the vowel again: the mouth
/// must close (PP or sil, jaw 0) inside the closure.
#[test]
fn closure_reaches_closed_mouth() {
    let rate = 16000;
    let vowel = |n: usize, ph: &mut f32| -> Vec<f32> {
        (0..n)
            .map(|_| {
                *ph += 2.0 * std::f32::consts::PI * 120.0 / rate as f32;
                let mut s = 0.0;
                for (k, a) in [(1, 0.3), (6, 0.5), (9, 0.35), (20, 0.1)] {
                    s += a * (*ph * k as f32).sin();
                }
                s * 0.4
            })
            .collect()
    };
    let mut ph = 0.0;
    let mut x = vec![0.0; 3200];
    x.extend(vowel(4000, &mut ph));
    x.extend(vec![0.0; 1440]);
    let mut seed = 7u32;
    x.extend((0..160).map(|i| {
        seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
        ((seed >> 16) as f32 / 32768.0 - 1.0) * 0.3 * (1.0 - i as f32 / 160.0)
    }));
    x.extend(vowel(4000, &mut ph));
    x.extend(vec![0.0; 3200]);
    let f = analyze(&AudioChunk::mono(rate, x));
    let closure: Vec<&VisemeFrame> = f.iter().filter(|fr| fr.t > 0.465 && fr.t < 0.53).collect();
    assert!(!closure.is_empty());
    assert!(
        closure
            .iter()
            .any(|fr| matches!(fr.dominant(), Viseme::PP | Viseme::Sil) && fr.jaw_open == 0.0),
        "no closed frame in the closure: {:?}",
        closure.iter().map(|f| f.dominant()).collect::<Vec<_>>()
    );
    // and the vowel itself opens the mouth
    let open = f
        .iter()
        .filter(|fr| fr.t > 0.3 && fr.t < 0.4)
        .filter(|fr| fr.jaw_open > 0.15)
        .count();
    assert!(open >= 5, "vowel frames with an open jaw: {open}");
}

#[test]
fn sample_rates_agree() {
    let audio = speech();
    let mono = facecast_audio::to_mono(&audio);
    let base: Vec<&str> = analyze(&audio)
        .iter()
        .map(|f| rhubarb::frame_shape(f).letter())
        .collect();
    for (rate, min_agree) in [
        (8000u32, 0.6),
        (22050, 0.85),
        (24000, 0.85),
        (44100, 0.85),
        (48000, 0.85),
    ] {
        let x = facecast_audio::resample(&mono, 16000, rate).unwrap();
        let got: Vec<&str> = analyze(&AudioChunk::mono(rate, x))
            .iter()
            .map(|f| rhubarb::frame_shape(f).letter())
            .collect();
        assert!(
            got.len().abs_diff(base.len()) <= 1,
            "rate {rate}: {} vs {} frames",
            got.len(),
            base.len()
        );
        let agree =
            base.iter().zip(&got).filter(|(a, b)| a == b).count() as f64 / base.len() as f64;
        assert!(
            agree >= min_agree,
            "rate {rate}: shape agreement {agree:.2}"
        );
    }
}

#[test]
fn lookahead_is_bounded() {
    let l = Analyzer::lookahead_ms();
    assert!(l > 10.0 && l <= 40.0, "{l}");
}

#[test]
fn rhubarb_writers() {
    let mut frames = Vec::new();
    for i in 0..30 {
        let mut f = VisemeFrame::silent((i as f64 + 0.5) / 100.0);
        if (10..20).contains(&i) {
            f.weights = [0.0; 15];
            f.weights[Viseme::PP.index()] = 1.0;
        } else if i >= 20 {
            f.weights = [0.0; 15];
            f.weights[Viseme::Aa.index()] = 1.0;
            f.jaw_open = 0.9;
        }
        frames.push(f);
    }
    let cues = rhubarb::to_cues(&frames);
    let vals: Vec<&str> = cues.iter().map(|c| c.value.letter()).collect();
    assert_eq!(vals, ["X", "A", "D"]);
    assert!((cues[1].start - 0.1).abs() < 1e-9 && (cues[2].end - 0.3).abs() < 1e-9);
    let js: serde_json::Value =
        serde_json::from_str(&rhubarb::write_json(&cues, "a.wav", 0.3)).unwrap();
    assert_eq!(js["metadata"]["soundFile"], "a.wav");
    assert_eq!(js["mouthCues"][1]["value"], "A");
    assert_eq!(js["mouthCues"][1]["start"], 0.1);
    let tsv = rhubarb::write_tsv(&cues);
    assert_eq!(tsv, "0.00\tX\n0.10\tA\n0.20\tD\n0.30\tX\n");
    let xml = rhubarb::write_xml(&cues, "a&b.wav", 0.3);
    assert!(xml.contains("<rhubarbResult>") && xml.contains("<soundFile>a&amp;b.wav</soundFile>"));
    assert!(xml.contains("<mouthCue start=\"0.10\" end=\"0.20\">A</mouthCue>"));
    let fj: serde_json::Value = serde_json::from_str(&rhubarb::frames_json(&frames)).unwrap();
    assert_eq!(fj["frames"].as_array().unwrap().len(), 30);
    assert_eq!(fj["frames"][25]["visemes"]["aa"], 1.0);
    let both: serde_json::Value =
        serde_json::from_str(&rhubarb::combined_json(&frames, "a.wav", 0.3)).unwrap();
    assert!(both["mouthCues"].is_array() && both["frames"].is_array());
}

#[test]
fn phone_timings_to_frames() {
    use facecast_lipsync::{frames_from_phones, PhoneSpan};
    let sp = |a: f64, b: f64, p: &str| PhoneSpan {
        start: a,
        end: b,
        phone: p.into(),
    };
    let f = frames_from_phones(
        &[
            sp(0.0, 0.1, "SIL"),
            sp(0.1, 0.2, "M"),
            sp(0.2, 0.4, "AA1"),
            sp(0.4, 0.5, "SIL"),
        ],
        0.5,
    )
    .unwrap();
    assert_eq!(f.len(), 50);
    assert_eq!(f[15].dominant(), Viseme::PP);
    assert_eq!(f[15].jaw_open, 0.0);
    assert_eq!(f[30].dominant(), Viseme::Aa);
    assert!(f[30].jaw_open > 0.8);
    assert!(frames_from_phones(&[sp(0.0, 0.1, "QQ")], 0.1).is_err());
}

#[test]
fn decoder_keeps_one_frame_closures_and_damps_jitter() {
    use facecast_lipsync::decode::Decoder;
    let mut d = Decoder::new();
    let mut p = [0.0f32; 15];
    let set = |p: &mut [f32; 15], a: usize, pa: f32, b: usize, pb: f32| {
        *p = [0.0; 15];
        p[a] = pa;
        p[b] = pb;
    };
    set(&mut p, Viseme::Aa.index(), 0.9, Viseme::E.index(), 0.1);
    assert_eq!(d.step(0.005, &p, 0.8).dominant(), Viseme::Aa);
    // a marginal flip to E does not switch
    set(&mut p, Viseme::Aa.index(), 0.48, Viseme::E.index(), 0.52);
    assert_eq!(d.step(0.015, &p, 0.7).dominant(), Viseme::Aa);
    // a single PP frame closes the mouth at once
    set(&mut p, Viseme::PP.index(), 0.5, Viseme::Aa.index(), 0.45);
    let f = d.step(0.025, &p, 0.3);
    assert_eq!(f.dominant(), Viseme::PP);
    assert_eq!(f.jaw_open, 0.0);
    assert_eq!(f.weights[Viseme::PP.index()], 1.0);
}

#[test]
fn word_and_phone_timing_files() {
    let base = format!("{SHARED}/assets/audio/librivox_sense_sensibility_0880");
    let audio = facecast_audio::decode_file(std::path::Path::new(&format!("{base}.wav"))).unwrap();
    let dur = audio.duration_secs();
    let n = (dur * 100.0) as usize;
    let closed_in = |f: &[VisemeFrame], a: f64, b: f64| {
        f.iter()
            .filter(|x| x.t >= a && x.t < b)
            .any(|x| x.dominant() == Viseme::PP)
    };
    // word timings (pocketsphinx), refined against the audio: "disposed" (P, 1.67-1.75 s) and "man" (M, 2.33-2.43 s)
    let words = std::fs::read_to_string(format!("{base}.words.json")).unwrap();
    let f = facecast_lipsync::frames_from_timing_file(&words, Some(&audio), dur).unwrap();
    assert_eq!(f.len(), n);
    assert!(closed_in(&f, 1.60, 1.80) && closed_in(&f, 2.28, 2.48));
    // phone timings: used directly
    let phones = std::fs::read_to_string(format!("{base}.phones.json")).unwrap();
    let f = facecast_lipsync::frames_from_timing_file(&phones, None, dur).unwrap();
    assert_eq!(f.len(), n);
    assert!(closed_in(&f, 1.67, 1.75) && closed_in(&f, 2.33, 2.43));
    // transcript mode
    let f = facecast_lipsync::analyze_with_text(&audio, "he was not an ill disposed young man")
        .unwrap();
    assert_eq!(f.len(), n);
    assert!(closed_in(&f, 1.60, 1.80) && closed_in(&f, 2.28, 2.48));
    assert!(facecast_lipsync::frames_from_timing_file("not json", None, 1.0).is_err());
}
