use facecast_text::{phone_at, phones_to_frames, phones_to_rhubarb, Phone, TimedPhone, Viseme};

fn seq(spec: &[(Phone, f64)]) -> Vec<TimedPhone> {
    let mut t = 0.0;
    spec.iter()
        .map(|&(p, d)| {
            let tp = TimedPhone::new(p, t, t + d);
            t += d;
            tp
        })
        .collect()
}

#[test]
fn closures_close_the_mouth_and_fv_shows_ff() {
    use Phone::*;
    // "a map of fur": very short closures too
    let ph = seq(&[
        (Sil, 0.1),
        (AH, 0.08),
        (M, 0.03),
        (AE, 0.12),
        (P, 0.04),
        (AH, 0.06),
        (V, 0.05),
        (F, 0.07),
        (ER, 0.15),
        (Sil, 0.1),
    ]);
    let dur = ph.last().unwrap().end;
    let frames = phones_to_frames(&ph, dur, 100.0);
    assert_eq!(frames.len(), (dur * 100.0) as usize);
    for f in &frames {
        let p = phone_at(&ph, f.t);
        match p {
            M | P | B => {
                assert_eq!(f.dominant(), Viseme::PP, "t={}", f.t);
                assert_eq!(f.weights[Viseme::PP.index()], 1.0);
                assert_eq!(f.jaw_open, 0.0);
            }
            F | V => {
                assert_eq!(f.dominant(), Viseme::FF, "t={}", f.t);
                assert_eq!(f.weights[Viseme::FF.index()], 1.0);
            }
            // pauses are closed away from the speech edges (the ~70 ms smoothing opens early)
            Sil if f.t < 0.06 || f.t > dur - 0.06 => {
                assert!(f.jaw_open < 0.05, "t={} jaw {}", f.t, f.jaw_open);
                assert_eq!(f.dominant(), Viseme::Sil);
            }
            _ => {}
        }
        assert!(f.weights.iter().all(|w| (0.0..=1.0).contains(w)));
    }
    // the jaw is open in the middle of AE and smooth (no jumps > 0.35 per 10 ms outside closures)
    let mid_ae = frames.iter().find(|f| (f.t - 0.27).abs() < 0.006).unwrap();
    assert!(mid_ae.jaw_open > 0.5, "{}", mid_ae.jaw_open);
    assert_eq!(mid_ae.dominant(), Viseme::Aa);
}

#[test]
fn rounding_is_anticipated_and_neighbours_blend() {
    use Phone::*;
    // "stew": S T UW, rounding starts during the consonants
    let ph = seq(&[(Sil, 0.1), (S, 0.1), (T, 0.06), (UW, 0.2), (Sil, 0.1)]);
    let frames = phones_to_frames(&ph, 0.56, 100.0);
    let in_t = frames.iter().find(|f| (f.t - 0.235).abs() < 0.006).unwrap();
    assert!(in_t.weights[Viseme::U.index()] > 0.2, "{:?}", in_t.weights);
    let early_s = frames.iter().find(|f| (f.t - 0.105).abs() < 0.006).unwrap();
    assert!(early_s.weights[Viseme::U.index()] < 0.05);
    // at the S/T boundary both visemes are partly on
    let b = frames.iter().find(|f| (f.t - 0.205).abs() < 0.006).unwrap();
    assert!(
        b.weights[Viseme::SS.index()] > 0.2 && b.weights[Viseme::DD.index()] > 0.2,
        "{:?}",
        b.weights
    );
    // HH takes the next vowel's viseme
    let ph = seq(&[(HH, 0.1), (AA, 0.1)]);
    let f = phones_to_frames(&ph, 0.2, 100.0);
    assert_eq!(f[3].dominant(), Viseme::Aa);
}

#[test]
fn rhubarb_cues_follow_phones() {
    use Phone::*;
    let ph = seq(&[
        (Sil, 0.1),
        (HH, 0.05),
        (AA, 0.1),
        (L, 0.1),
        (N, 0.05),
        (T, 0.05),
        (Sil, 0.1),
    ]);
    let cues = phones_to_rhubarb(&ph);
    let shapes: String = cues.iter().map(|c| c.2).collect();
    assert_eq!(shapes, "XDHBX"); // HH before AA takes D; L -> H; N T merge into B
    assert!((cues[1].0 - 0.1).abs() < 1e-9 && (cues[1].1 - 0.25).abs() < 1e-9);
    // a gap between phones becomes X
    let gap = vec![TimedPhone::new(M, 0.0, 0.1), TimedPhone::new(M, 0.3, 0.4)];
    let c: String = phones_to_rhubarb(&gap).iter().map(|c| c.2).collect();
    assert_eq!(c, "AXA");
    assert!(phones_to_frames(&[], 0.0, 100.0).is_empty());
}
