//! Timed phones -> viseme frames (with coarticulation) and Rhubarb cues.

use crate::phone::{effective, Phone};
use facecast_core::{Viseme, VisemeFrame, VISEME_COUNT};
use serde::{Deserialize, Serialize};

/// A phone with its time span in seconds (`start < end` for real segments).
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimedPhone {
    /// The phone ([`Phone::Sil`] for pauses).
    pub phone: Phone,
    /// Start time, s.
    pub start: f64,
    /// End time, s.
    pub end: f64,
}

impl TimedPhone {
    /// Construct.
    pub fn new(phone: Phone, start: f64, end: f64) -> Self {
        TimedPhone { phone, start, end }
    }
}

/// Rhubarb mouth cues `(start, end, shape)` for timed phones, following the corpus scorer's
/// `PHONE2SHAPE` exactly (HH before a vowel takes the vowel's shape; gaps are `X`). Adjacent equal
/// shapes are merged; cues are contiguous from the first phone's start to the last phone's end.
pub fn phones_to_rhubarb(phones: &[TimedPhone]) -> Vec<(f64, f64, char)> {
    let seq: Vec<Phone> = phones.iter().map(|p| p.phone).collect();
    let mut out: Vec<(f64, f64, char)> = Vec::with_capacity(phones.len());
    for (i, tp) in phones.iter().enumerate() {
        if tp.end <= tp.start {
            continue;
        }
        let shape = effective(&seq, i).rhubarb();
        if let Some(&(_, last_end, _)) = out.last() {
            if tp.start > last_end + 1e-9 {
                out.push((last_end, tp.start, 'X'));
            }
        }
        match out.last_mut() {
            Some(last) if last.2 == shape => last.1 = tp.end,
            _ => out.push((tp.start, tp.end, shape)),
        }
    }
    // merge X gaps with X neighbours
    let mut merged: Vec<(f64, f64, char)> = Vec::with_capacity(out.len());
    for c in out {
        match merged.last_mut() {
            Some(last) if last.2 == c.2 => last.1 = c.1,
            _ => merged.push(c),
        }
    }
    merged
}

/// Rhubarb cues as the JSON Rhubarb exports (and the corpus scorer reads):
/// `{"mouthCues":[{"start":..,"end":..,"value":"A"},...]}`.
pub fn phones_to_cues(phones: &[TimedPhone]) -> serde_json::Value {
    let cues: Vec<serde_json::Value> = phones_to_rhubarb(phones)
        .into_iter()
        .map(|(s, e, v)| serde_json::json!({"start": s, "end": e, "value": v.to_string()}))
        .collect();
    serde_json::json!({ "mouthCues": cues })
}

/// The phone at time `t` (s), `Sil` outside all segments. Useful as a per-frame hint, e.g. to tell
/// `L` (Rhubarb H) from `N` (both viseme `nn`).
pub fn phone_at(phones: &[TimedPhone], t: f64) -> Phone {
    let k = phones.partition_point(|p| p.start <= t);
    if k > 0 && t < phones[k - 1].end {
        phones[k - 1].phone
    } else {
        Phone::Sil
    }
}

/// Half width of the crossfade between neighbouring phones, s.
const BLEND_S: f64 = 0.03;
/// How far ahead lip rounding of a rounded vowel (O, U, W) reaches over consonants, s.
const ROUND_ANTICIPATION_S: f64 = 0.15;
/// Weight of other visemes during a closure (P B M) or lip-teeth contact (F V).
const DOMINATED: f32 = 0.3;

fn ramp(t: f64, start: f64, end: f64) -> f32 {
    // 1 inside, linear 0..1 over [start - h, start + h] and 1..0 over [end - h, end + h],
    // where h shrinks for segments shorter than 2 * BLEND_S.
    let h = BLEND_S.min((end - start) * 0.5).max(1e-4);
    let a = ((t - (start - h)) / (2.0 * h)).clamp(0.0, 1.0);
    let b = (((end + h) - t) / (2.0 * h)).clamp(0.0, 1.0);
    a.min(b) as f32
}

/// Viseme frames at `fps` for timed phones, covering `0..duration_s`: frame `i` is centred at
/// `(i + 0.5) / fps` and there are `floor(duration_s * fps)` frames (the scorer's grid).
///
/// Coarticulation: neighbouring phones crossfade over ±30 ms; lip rounding of a rounded vowel
/// (O, U, W) is anticipated up to 150 ms ahead over consonants; closures (P B M -> PP) and lip-teeth
/// contacts (F V -> FF) reach full weight inside their segment and damp everything else to 0.3.
/// `jaw_open` follows the per-phone openness targets (the scorer's `PHONE_OPEN`, HH taking the next
/// vowel's) smoothed with a ~70 ms Hann window, and is pulled to 0 inside P/B/M.
pub fn phones_to_frames(phones: &[TimedPhone], duration_s: f64, fps: f64) -> Vec<VisemeFrame> {
    if fps.is_nan()
        || fps <= 0.0
        || duration_s.is_nan()
        || duration_s <= 0.0
        || !duration_s.is_finite()
    {
        return Vec::new();
    }
    let n = (duration_s * fps) as usize;
    let seq: Vec<Phone> = phones.iter().map(|p| p.phone).collect();
    let eff: Vec<Phone> = (0..seq.len()).map(|i| effective(&seq, i)).collect();
    let vis: Vec<Viseme> = crate::phone::visemes_of(&seq);
    let mut frames = Vec::with_capacity(n);
    let mut open = vec![0f32; n];
    let mut closure = vec![false; n];
    let mut k = 0usize;
    for (i, slot) in open.iter_mut().enumerate() {
        let t = (i as f64 + 0.5) / fps;
        while k < phones.len() && phones[k].end <= t {
            k += 1;
        }
        let mut w = [0f32; VISEME_COUNT];
        let lo = k.saturating_sub(1);
        let hi = (k + 2).min(phones.len());
        for j in lo..hi {
            let r = ramp(t, phones[j].start, phones[j].end);
            let v = vis[j].index();
            w[v] = w[v].max(r);
        }
        let inside = k < phones.len() && phones[k].start <= t;
        if inside {
            let p = phones[k].phone;
            *slot = eff[k].openness();
            // Rounding anticipation over consonants (not across pauses).
            if !p.is_vowel() && p != Phone::Sil {
                for j in k + 1..phones.len() {
                    let q = phones[j].phone;
                    if q == Phone::Sil || phones[j].start - t > ROUND_ANTICIPATION_S {
                        break;
                    }
                    if matches!(vis[j], Viseme::O | Viseme::U) {
                        let a = 0.6 * (1.0 - (phones[j].start - t) / ROUND_ANTICIPATION_S) as f32;
                        let v = vis[j].index();
                        w[v] = w[v].max(a);
                        break;
                    }
                    if q.is_vowel() {
                        break;
                    }
                }
            }
            if matches!(vis[k], Viseme::PP | Viseme::FF) {
                for x in w.iter_mut() {
                    *x *= DOMINATED;
                }
                w[vis[k].index()] = 1.0;
                closure[i] = vis[k] == Viseme::PP;
            }
        } else {
            w = [0.0; VISEME_COUNT];
            w[0] = 1.0;
        }
        if w.iter().all(|&x| x <= 0.0) {
            w[0] = 1.0;
        }
        frames.push(VisemeFrame {
            t,
            weights: w,
            jaw_open: 0.0,
        });
    }
    // Smooth openness with a Hann window of ~70 ms (the scorer's 7-tap window at 100 Hz).
    let taps = ((0.07 * fps).round() as usize).max(1) | 1;
    let half = taps / 2;
    let win: Vec<f32> = (0..taps)
        .map(|j| {
            let x = (j + 1) as f32 / (taps + 1) as f32;
            (std::f32::consts::PI * x).sin().powi(2)
        })
        .collect();
    let wsum: f32 = win.iter().sum();
    for i in 0..n {
        let mut acc = 0.0;
        for (j, &c) in win.iter().enumerate() {
            let idx = (i + j).saturating_sub(half).min(n - 1);
            acc += c * open[idx];
        }
        frames[i].jaw_open = if closure[i] {
            0.0
        } else {
            (acc / wsum).clamp(0.0, 1.0)
        };
    }
    frames
}
