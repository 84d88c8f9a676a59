use facecast_text::{
    align, align_energy, energy_features, g2p, AlignConfig, ClassMap, Phone, PhoneKind, PhoneSeq,
    Posteriors, TimedPhone,
};

/// Deterministic pseudo-random numbers.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as f32) / (1u64 << 31) as f32
    }
}

/// A "true" timing for `seq`: each phone 3..14 frames, pauses where `pause_frames` says.
fn truth(seq: &PhoneSeq, pauses: &[(usize, usize)], rng: &mut Lcg) -> Vec<(Phone, usize, usize)> {
    let mut out = Vec::new();
    let mut t = 0;
    for (i, &p) in seq.phones.iter().enumerate() {
        if let Some(&(_, n)) = pauses.iter().find(|(g, _)| *g == i) {
            out.push((Phone::Sil, t, t + n));
            t += n;
        }
        let d = 3 + (rng.next() * 12.0) as usize;
        out.push((p, t, t + d));
        t += d;
    }
    if let Some(&(_, n)) = pauses.iter().find(|(g, _)| *g == seq.phones.len()) {
        out.push((Phone::Sil, t, t + n));
    }
    out
}

fn posteriors(
    tr: &[(Phone, usize, usize)],
    map: &ClassMap,
    correct: f32,
    rng: &mut Lcg,
) -> Vec<f32> {
    let k = map.classes;
    let n = tr.last().unwrap().2;
    let mut post = vec![0f32; n * k];
    for (i, &(p, s, e)) in tr.iter().enumerate() {
        let next = tr.get(i + 1).map(|x| x.0);
        let c = map.class(p, next);
        for t in s..e {
            let row = &mut post[t * k..t * k + k];
            let mut sum = 0.0;
            for x in row.iter_mut() {
                *x = rng.next();
                sum += *x;
            }
            for x in row.iter_mut() {
                *x *= (1.0 - correct) / sum;
            }
            row[c] += correct;
        }
    }
    post
}

fn max_boundary_error(got: &[TimedPhone], tr: &[(Phone, usize, usize)]) -> f64 {
    let want: Vec<_> = tr.iter().filter(|x| x.0 != Phone::Sil).collect();
    let got: Vec<_> = got.iter().filter(|x| x.phone != Phone::Sil).collect();
    assert_eq!(got.len(), want.len());
    let mut worst = 0.0f64;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.phone, w.0);
        // a boundary between two identical phones ("Bob bought") is not observable
        if i == 0 || want[i - 1].0 != w.0 {
            worst = worst.max((g.start * 100.0 - w.1 as f64).abs());
        }
        if want.get(i + 1).is_none_or(|n| n.0 != w.0) {
            worst = worst.max((g.end * 100.0 - w.2 as f64).abs());
        }
    }
    worst
}

#[test]
fn recovers_boundaries_from_phone_posteriors() {
    let words = g2p("Bob bought a big blue balloon, for the baby.");
    let seq = PhoneSeq::from_words(&words);
    let mut rng = Lcg(7);
    // pauses at the start, at the comma (before "for") and at the end
    let comma = words.iter().take(6).map(|w| w.phones.len()).sum::<usize>();
    let tr = truth(
        &seq,
        &[(0, 25), (comma, 40), (seq.phones.len(), 30)],
        &mut rng,
    );
    let map = ClassMap::phones();
    let post = posteriors(&tr, &map, 0.55, &mut rng);
    let got = align(
        &seq,
        &Posteriors {
            data: &post,
            classes: map.classes,
            frame_rate: 100.0,
            log: false,
        },
        &map,
        &AlignConfig::default(),
    )
    .unwrap();
    assert!(max_boundary_error(&got, &tr) <= 1.0, "{got:?}");
    // pauses found where they are, and contiguous cover of the whole input
    let sils: Vec<_> = got.iter().filter(|p| p.phone == Phone::Sil).collect();
    assert_eq!(sils.len(), 3, "{sils:?}");
    assert!((sils[1].end - sils[1].start - 0.40).abs() < 0.015);
    assert_eq!(got[0].start, 0.0);
    assert!((got.last().unwrap().end - tr.last().unwrap().2 as f64 / 100.0).abs() < 1e-9);
    for w in got.windows(2) {
        assert!((w[0].end - w[1].start).abs() < 1e-9);
    }
}

#[test]
fn viseme_posteriors_and_log_input() {
    let words = g2p("Five very vivid violins filled the valley");
    let seq = PhoneSeq::from_words(&words);
    let mut rng = Lcg(11);
    let tr = truth(&seq, &[(0, 20), (seq.phones.len(), 20)], &mut rng);
    let map = ClassMap::visemes();
    let post = posteriors(&tr, &map, 0.5, &mut rng);
    let logp: Vec<f32> = post.iter().map(|x| x.ln()).collect();
    let got = align(
        &seq,
        &Posteriors {
            data: &logp,
            classes: 15,
            frame_rate: 100.0,
            log: true,
        },
        &map,
        &AlignConfig::default(),
    )
    .unwrap();
    // Boundaries between phones of different visemes are observable: check them.
    let want: Vec<_> = tr.iter().filter(|x| x.0 != Phone::Sil).collect();
    let got_p: Vec<_> = got.iter().filter(|x| x.phone != Phone::Sil).collect();
    assert_eq!(got_p.len(), want.len());
    for i in 1..want.len() {
        if map.class(want[i - 1].0, Some(want[i].0))
            != map.class(want[i].0, want.get(i + 1).map(|x| x.0))
        {
            let err = (got_p[i].start * 100.0 - want[i].1 as f64).abs();
            assert!(
                err <= 2.0,
                "boundary before {} off by {err} frames",
                want[i].0
            );
        }
    }
}

#[test]
fn no_pause_when_none_in_audio() {
    let words = g2p("Who knew, the blue moon.");
    let seq = PhoneSeq::from_words(&words);
    let mut rng = Lcg(3);
    let tr = truth(&seq, &[], &mut rng);
    let map = ClassMap::phones();
    let post = posteriors(&tr, &map, 0.6, &mut rng);
    let got = align(
        &seq,
        &Posteriors {
            data: &post,
            classes: 40,
            frame_rate: 100.0,
            log: false,
        },
        &map,
        &AlignConfig::default(),
    )
    .unwrap();
    assert!(got.iter().all(|p| p.phone != Phone::Sil), "{got:?}");
    assert!(max_boundary_error(&got, &tr) <= 1.0);
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let seq = PhoneSeq::from_phones(&[Phone::B, Phone::AA]);
    let map = ClassMap::visemes();
    let e = align(
        &seq,
        &Posteriors {
            data: &[0.5; 31],
            classes: 15,
            frame_rate: 100.0,
            log: false,
        },
        &map,
        &AlignConfig::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("31"), "{e}");
    let e = align(
        &seq,
        &Posteriors {
            data: &[0.5; 40],
            classes: 40,
            frame_rate: 100.0,
            log: false,
        },
        &map,
        &AlignConfig::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("15"), "{e}");
    assert!(ClassMap::from_fn(3, |p| p.index()).is_err());
    // fewer frames than phones: phones are squeezed, not an error
    let got = align(
        &seq,
        &Posteriors {
            data: &[1.0 / 15.0; 15],
            classes: 15,
            frame_rate: 100.0,
            log: false,
        },
        &map,
        &AlignConfig::default(),
    )
    .unwrap();
    assert_eq!(got.len(), 2);
    // no frames at all
    assert!(align(
        &seq,
        &Posteriors {
            data: &[],
            classes: 15,
            frame_rate: 100.0,
            log: false
        },
        &map,
        &AlignConfig::default()
    )
    .is_ok());
}

/// Crude synthetic speech: vowels are loud harmonic tones, nasals/approximants quieter tones,
/// fricatives noise, stops a silent closure plus a burst, pauses digital silence.
#[allow(clippy::needless_range_loop)]
fn synth(tr: &[(Phone, usize, usize)], rng: &mut Lcg) -> Vec<f32> {
    let sr = 16000usize;
    let mut out = vec![0f32; tr.last().unwrap().2 * sr / 100];
    for &(p, s, e) in tr {
        let (a, b) = (s * sr / 100, e * sr / 100);
        for i in a..b {
            let t = i as f32 / sr as f32;
            let tone = (2.0 * std::f32::consts::PI * 120.0 * t).sin()
                + 0.5 * (2.0 * std::f32::consts::PI * 600.0 * t).sin()
                + 0.3 * (2.0 * std::f32::consts::PI * 1300.0 * t).sin();
            let noise = rng.next() * 2.0 - 1.0;
            out[i] = match p.kind() {
                PhoneKind::Silence => 0.0,
                PhoneKind::Vowel | PhoneKind::Diphthong => 0.3 * tone,
                PhoneKind::Approximant => 0.15 * tone,
                PhoneKind::Nasal => 0.08 * (2.0 * std::f32::consts::PI * 120.0 * t).sin(),
                PhoneKind::VoicelessFricative | PhoneKind::Aspirate => 0.05 * noise,
                PhoneKind::VoicedFricative => 0.04 * noise + 0.03 * tone,
                PhoneKind::VoicelessStop | PhoneKind::VoicedStop => {
                    if i + 200 > b {
                        0.1 * noise
                    } else {
                        0.001 * noise
                    }
                }
            };
        }
    }
    out
}

#[test]
fn energy_fallback_finds_words_and_pauses() {
    let words = g2p("Please pass the butter, but be careful. It is very hot.");
    let seq = PhoneSeq::from_words(&words);
    let mut rng = Lcg(5);
    let careful = words.iter().take(7).map(|w| w.phones.len()).sum::<usize>();
    let tr = truth(
        &seq,
        &[(0, 30), (careful, 60), (seq.phones.len(), 30)],
        &mut rng,
    );
    let audio = synth(&tr, &mut rng);
    let feats = energy_features(&audio, 16000, 100.0);
    assert_eq!(feats.len(), tr.last().unwrap().2);
    let got = align_energy(&seq, &feats, &AlignConfig::default()).unwrap();
    let sils: Vec<_> = got
        .iter()
        .filter(|p| p.phone == Phone::Sil && p.end - p.start > 0.1)
        .collect();
    assert_eq!(sils.len(), 3, "{got:?}");
    // the long pause is found within 30 ms at both edges
    let want = tr
        .iter()
        .find(|x| x.0 == Phone::Sil && x.2 - x.1 == 60)
        .unwrap();
    assert!(
        (sils[1].start * 100.0 - want.1 as f64).abs() <= 3.0,
        "{:?} vs {want:?}",
        sils[1]
    );
    assert!(
        (sils[1].end * 100.0 - want.2 as f64).abs() <= 3.0,
        "{:?} vs {want:?}",
        sils[1]
    );
    // most frames carry the right phone
    let mut ok = 0;
    let n = tr.last().unwrap().2;
    for t in 0..n {
        let tt = (t as f64 + 0.5) / 100.0;
        let g = facecast_text::phone_at(&got, tt);
        let w = tr.iter().find(|x| x.1 <= t && t < x.2).unwrap().0;
        ok += usize::from(g == w);
    }
    assert!(
        ok as f64 / n as f64 > 0.7,
        "frame accuracy {}",
        ok as f64 / n as f64
    );
}

#[test]
fn hybrid_and_text_audio_conveniences() {
    let words = g2p("Mom baked a pie, and Bob ate it.");
    let seq = PhoneSeq::from_words(&words);
    let mut rng = Lcg(9);
    let comma = words.iter().take(4).map(|w| w.phones.len()).sum::<usize>();
    let tr = truth(
        &seq,
        &[(0, 20), (comma, 40), (seq.phones.len(), 20)],
        &mut rng,
    );
    let audio = synth(&tr, &mut rng);
    let feats = energy_features(&audio, 16000, 100.0);
    let map = ClassMap::visemes();
    let post = posteriors(&tr, &map, 0.5, &mut rng);
    let p = Posteriors {
        data: &post,
        classes: 15,
        frame_rate: 100.0,
        log: false,
    };
    let got =
        facecast_text::align_hybrid(&seq, &p, &map, &feats, 0.5, &AlignConfig::default()).unwrap();
    let plain = align(&seq, &p, &map, &AlignConfig::default()).unwrap();
    let close = got
        .iter()
        .zip(&plain)
        .filter(|(a, b)| a.phone == b.phone && (a.start - b.start).abs() <= 0.02)
        .count();
    assert!(
        close as f64 >= 0.9 * plain.len() as f64,
        "{close} of {}",
        plain.len()
    );
    // one-call energy alignment covers the whole audio and finds the comma pause
    let t =
        facecast_text::align_text_audio("Mom baked a pie, and Bob ate it.", &audio, 16000).unwrap();
    assert!((t.last().unwrap().end - audio.len() as f64 / 16000.0).abs() < 1e-9);
    assert!(
        t.iter()
            .filter(|p| p.phone == Phone::Sil && p.end - p.start > 0.25)
            .count()
            >= 1,
        "{t:?}"
    );
    assert!(facecast_text::align_text_audio("hi", &[], 0).is_err());
}
