use super::*;

fn rig() -> FaceRig {
    FaceRig::default()
}

fn anim(seed: u64, head_motion: f32) -> Animator {
    Animator::new(
        &rig(),
        AnimConfig {
            seed,
            head_motion,
            ..AnimConfig::default()
        },
    )
}

/// 100 Hz frames of one viseme from t0 to t1 (s).
fn frames(v: Viseme, t0: f64, t1: f64, jaw: f32) -> Vec<VisemeFrame> {
    let n = ((t1 - t0) / 0.01).round() as usize;
    (0..n)
        .map(|i| {
            let mut w = [0.0; VISEME_COUNT];
            w[v.index()] = 1.0;
            VisemeFrame {
                t: t0 + 0.005 + i as f64 * 0.01,
                weights: w,
                jaw_open: jaw,
            }
        })
        .collect()
}

fn run(
    a: &mut Animator,
    t0: f64,
    t1: f64,
    step: f64,
    mut f: impl FnMut(f64, &FaceWeights, &HeadPose),
) {
    let (mut fw, mut hp) = (FaceWeights::default(), HeadPose::default());
    let n = ((t1 - t0) / step).round() as usize;
    for i in 0..=n {
        let t = t0 + i as f64 * step;
        a.sample(t, &mut fw, &mut hp);
        f(t, &fw, &hp);
    }
}

const MOUTH_OPENING: [A; 5] = [
    A::JawOpen,
    A::MouthLowerDownLeft,
    A::MouthLowerDownRight,
    A::MouthUpperUpLeft,
    A::MouthFunnel,
];

#[test]
fn silence_keeps_the_mouth_at_rest() {
    let mut a = anim(7, 1.0);
    // No frames at all, then explicit silent frames.
    let mut sil = Vec::new();
    for i in 0..300 {
        sil.push(VisemeFrame::silent(5.005 + i as f64 * 0.01));
    }
    a.push_visemes(&sil);
    run(&mut a, 0.0, 8.0, 0.04, |t, f, _| {
        for s in MOUTH_OPENING {
            assert!(f.get(s) < 0.01, "{} = {} at {t}", s.name(), f.get(s));
        }
        assert!(f.visemes.iter().all(|&v| v == 0.0));
    });
}

#[test]
fn speech_opens_the_jaw() {
    let mut a = anim(1, 1.0);
    a.push_visemes(&frames(Viseme::Aa, 1.0, 1.5, 0.8));
    let mut max_jaw = 0.0f32;
    run(&mut a, 0.0, 2.0, 0.01, |t, f, _| {
        if (1.1..1.4).contains(&t) {
            max_jaw = max_jaw.max(f.get(A::JawOpen));
        }
        if t > 1.6 {
            assert!(f.get(A::JawOpen) < 0.01, "jaw {} at {t}", f.get(A::JawOpen));
        }
    });
    assert!(max_jaw > 0.4, "aa opens the jaw: {max_jaw}");
}

#[test]
fn pp_closes_the_lips_even_when_smiling() {
    let mut a = anim(3, 1.0);
    a.set_emotion(0.0, Emotion::Happy, 1.0);
    let mut fr = frames(Viseme::Aa, 1.0, 1.3, 0.9);
    fr.extend(frames(Viseme::PP, 1.3, 1.4, 0.3));
    fr.extend(frames(Viseme::Aa, 1.4, 1.7, 0.9));
    a.push_visemes(&fr);
    let mut checked = 0;
    run(&mut a, 0.0, 2.0, 0.005, |t, f, _| {
        if (1.33..1.37).contains(&t) {
            checked += 1;
            assert!(f.get(A::JawOpen) < 0.02, "jaw {} at {t}", f.get(A::JawOpen));
            for s in MOUTH_OPENING {
                assert!(f.get(s) < 0.02, "{} = {} at {t}", s.name(), f.get(s));
            }
            assert!(
                f.get(A::MouthPressLeft) > 0.4,
                "press {}",
                f.get(A::MouthPressLeft)
            );
            assert!(f.get(A::MouthRollLower) > 0.3);
            // The smile is still there, attenuated.
            assert!(f.get(A::MouthSmileLeft) > 0.1);
        }
        if (1.15..1.2).contains(&t) {
            assert!(
                f.get(A::JawOpen) > 0.3,
                "open before the closure: {}",
                f.get(A::JawOpen)
            );
            assert!(f.get(A::MouthSmileLeft) > 0.5);
        }
    });
    assert!(checked >= 6);
}

#[test]
fn ff_tucks_the_lower_lip() {
    let mut a = anim(3, 1.0);
    let mut fr = frames(Viseme::Aa, 1.0, 1.2, 0.9);
    fr.extend(frames(Viseme::FF, 1.2, 1.32, 0.4));
    a.push_visemes(&fr);
    let (mut fw, mut hp) = (FaceWeights::default(), HeadPose::default());
    a.sample(1.26, &mut fw, &mut hp);
    assert!(
        fw.get(A::MouthRollLower) > 0.5,
        "{}",
        fw.get(A::MouthRollLower)
    );
    assert!(fw.get(A::JawOpen) < 0.12, "{}", fw.get(A::JawOpen));
}

#[test]
fn rounded_vowels_pucker() {
    let mut a = anim(3, 1.0);
    a.push_visemes(&frames(Viseme::U, 1.0, 1.3, 0.3));
    let (mut fw, mut hp) = (FaceWeights::default(), HeadPose::default());
    a.sample(1.15, &mut fw, &mut hp);
    assert!(fw.get(A::MouthPucker) > 0.6);
    assert!(fw.get(A::MouthFunnel) > 0.2);
}

#[test]
fn blink_rate_is_natural() {
    for seed in [1u64, 2, 3, 99, 12345] {
        let mut a = anim(seed, 1.0);
        let mut blinks = 0;
        let mut closed = false;
        let mut min_gap = f64::MAX;
        let mut last = f64::NEG_INFINITY;
        run(&mut a, 0.0, 60.0, 0.01, |t, f, _| {
            let c = f.get(A::EyeBlinkLeft) > 0.5;
            if c && !closed {
                blinks += 1;
                min_gap = min_gap.min(t - last);
                last = t;
            }
            closed = c;
        });
        assert!(
            (8..=30).contains(&blinks),
            "seed {seed}: {blinks} blinks/min"
        );
        assert!(min_gap > 0.15, "blinks are separate: {min_gap}");
    }
}

#[test]
fn blink_is_short() {
    let mut a = anim(5, 1.0);
    let mut closed_samples = 0;
    let mut run_len = 0;
    let mut longest = 0;
    run(&mut a, 0.0, 30.0, 0.005, |_, f, _| {
        if f.get(A::EyeBlinkLeft) > 0.2 {
            closed_samples += 1;
            run_len += 1;
            longest = longest.max(run_len);
        } else {
            run_len = 0;
        }
    });
    assert!(closed_samples > 0);
    // ~160 ms blink; above 0.2 for well under 200 ms.
    assert!(longest * 5 <= 200, "longest closed run {} ms", longest * 5);
}

#[test]
fn head_moves_only_when_allowed() {
    let mut a = anim(11, 1.0);
    let mut min = [f32::MAX; 3];
    let mut max = [f32::MIN; 3];
    run(&mut a, 0.0, 20.0, 0.04, |_, _, p| {
        for i in 0..3 {
            min[i] = min[i].min(p.head[i]);
            max[i] = max[i].max(p.head[i]);
        }
        assert!(p.head.iter().all(|v| v.abs() < 0.3), "subtle: {:?}", p.head);
    });
    for i in 0..3 {
        assert!(
            max[i] - min[i] > 0.005,
            "axis {i} moves: {} .. {}",
            min[i],
            max[i]
        );
    }

    let mut a = anim(11, 0.0);
    a.set_emotion(1.0, Emotion::Concerned, 1.0);
    a.push_visemes(&frames(Viseme::Aa, 2.0, 4.0, 0.9));
    let mut eyes_move = false;
    run(&mut a, 0.0, 20.0, 0.04, |_, _, p| {
        assert_eq!(p.head, [0.0; 3]);
        eyes_move |= p.eyes != [0.0; 2];
    });
    assert!(eyes_move, "eyes still move with a fixed head");
}

#[test]
fn speech_nods_the_head() {
    // Same seed with and without speech: speech adds motion on top of the idle sway.
    let collect = |speak: bool| {
        let mut a = anim(21, 1.0);
        if speak {
            for k in 0..5 {
                let t0 = 1.0 + k as f64 * 1.2;
                a.push_visemes(&frames(Viseme::Aa, t0, t0 + 0.7, 0.9));
            }
        }
        let mut pitch = Vec::new();
        run(&mut a, 0.0, 8.0, 0.02, |_, _, p| pitch.push(p.head[1]));
        pitch
    };
    let (quiet, talk) = (collect(false), collect(true));
    let diff = quiet
        .iter()
        .zip(&talk)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff > 0.02, "speech adds nods: {diff}");
}

fn trace(a: &mut Animator) -> Vec<f32> {
    let mut out = Vec::new();
    run(a, 0.0, 15.0, 0.04, |_, f, p| {
        out.extend_from_slice(&f.arkit);
        out.extend_from_slice(&p.head);
        out.extend_from_slice(&p.eyes);
    });
    out
}

#[test]
fn deterministic_per_seed() {
    let mk = |seed| {
        let mut a = anim(seed, 1.0);
        a.push_visemes(&frames(Viseme::E, 2.0, 3.0, 0.5));
        a.set_emotion(4.0, Emotion::Sad, 0.7);
        trace(&mut a)
    };
    assert_eq!(mk(42), mk(42));
    assert_ne!(mk(42), mk(43));
}

#[test]
fn emotion_transitions_are_continuous() {
    let mut a = anim(8, 1.0);
    a.set_emotion(1.0, Emotion::Happy, 1.0);
    a.set_emotion(1.2, Emotion::Angry, 1.0); // mid-transition change
    a.set_emotion(3.0, Emotion::Surprised, 0.8);
    let eye = |i: usize| ARKIT_NAMES_EYE.contains(&i);
    let mut prev: Option<FaceWeights> = None;
    let mut last = FaceWeights::default();
    run(&mut a, 0.0, 5.0, 0.01, |t, f, _| {
        if let Some(p) = prev {
            for i in 0..ARKIT_COUNT {
                if !eye(i) {
                    let d = (f.arkit[i] - p.arkit[i]).abs();
                    assert!(
                        d < 0.06,
                        "{} jumps by {d} at {t}",
                        facecast_core::ARKIT_NAMES[i]
                    );
                }
            }
        }
        prev = Some(*f);
        last = *f;
    });
    // Settled on the last preset.
    assert!((last.get(A::BrowOuterUpLeft) - 0.75 * 0.8).abs() < 0.01);
    assert!(last.get(A::BrowDownLeft) < 0.01);
}

/// Eye shapes (blinks and saccades jump by design).
const ARKIT_NAMES_EYE: [usize; 14] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];

#[test]
fn clear_speech_returns_to_rest() {
    let mut a = anim(4, 1.0);
    a.push_visemes(&frames(Viseme::Aa, 1.0, 3.0, 0.9));
    let (mut fw, mut hp) = (FaceWeights::default(), HeadPose::default());
    run(&mut a, 0.0, 1.5, 0.04, |_, _, _| {});
    a.sample(1.52, &mut fw, &mut hp);
    assert!(fw.get(A::JawOpen) > 0.3);
    a.clear_speech(1.52);
    a.sample(1.6, &mut fw, &mut hp);
    assert!(
        fw.get(A::JawOpen) < 0.02,
        "at rest 80 ms after the interrupt: {}",
        fw.get(A::JawOpen)
    );
    a.sample(2.5, &mut fw, &mut hp);
    assert!(fw.get(A::JawOpen) < 0.001);
}

#[test]
fn direct_viseme_rig_is_not_double_driven() {
    let mut rig = FaceRig::default();
    for v in 1..VISEME_COUNT {
        rig.visemes[v] = vec![(v as u32, 1.0)];
    }
    let mut a = Animator::new(&rig, AnimConfig::default());
    a.push_visemes(&frames(Viseme::Aa, 1.0, 1.5, 0.9));
    let (mut fw, mut hp) = (FaceWeights::default(), HeadPose::default());
    a.sample(1.25, &mut fw, &mut hp);
    assert!(fw.visemes[Viseme::Aa.index()] > 0.8);
    assert_eq!(fw.get(A::JawOpen), 0.0);
    assert_eq!(fw.get(A::MouthLowerDownLeft), 0.0);
}

/// An emotion the avatar shows with its own expression (a VRM `happy`) arrives as that
/// emotion's weight, eased like the recipes, and not also as the ARKit recipe; the others keep
/// their recipes.
#[test]
fn emotions_with_an_expression_drive_it_instead_of_the_recipe() {
    let mut rig = FaceRig::default();
    rig.emotion_exprs[Emotion::Happy.index()] = Some(0);
    let mut a = Animator::new(&rig, AnimConfig::default());
    let (mut fw, mut hp) = (FaceWeights::default(), HeadPose::default());
    a.set_emotion(1.0, Emotion::Happy, 0.8);
    a.sample(1.1, &mut fw, &mut hp);
    let early = fw.emotions[Emotion::Happy.index()];
    assert!(early > 0.0 && early < 0.8, "eased: {early}");
    a.sample(2.0, &mut fw, &mut hp);
    assert!((fw.emotions[Emotion::Happy.index()] - 0.8).abs() < 1e-6);
    assert_eq!(fw.get(A::MouthSmileLeft), 0.0);
    // Sad has no expression here: its recipe, and the happy expression eases out.
    a.set_emotion(2.0, Emotion::Sad, 1.0);
    a.sample(3.0, &mut fw, &mut hp);
    assert_eq!(fw.emotions, [0.0; EMOTION_COUNT]);
    assert!(fw.get(A::MouthFrownLeft) > 0.2);
    // Without the expression, happy is the recipe.
    let mut b = anim(0, 1.0);
    b.set_emotion(1.0, Emotion::Happy, 0.8);
    b.sample(2.0, &mut fw, &mut hp);
    assert!(fw.get(A::MouthSmileLeft) > 0.2);
    assert_eq!(fw.emotions, [0.0; EMOTION_COUNT]);
}

#[test]
fn bad_input_is_sanitized() {
    let mut a = anim(0, f32::NAN);
    let mut f = frames(Viseme::Aa, 1.0, 1.2, f32::NAN);
    f[3].weights[2] = f32::INFINITY;
    f[4].t = f64::NAN;
    a.push_visemes(&f);
    a.set_emotion(f64::NAN, Emotion::Happy, f32::NAN);
    run(&mut a, 0.0, 2.0, 0.01, |_, fw, p| {
        assert!(fw
            .arkit
            .iter()
            .chain(fw.visemes.iter())
            .all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
        assert!(p.head.iter().chain(p.eyes.iter()).all(|v| v.is_finite()));
    });
}
