//! Transcript- and timing-driven viseme frames.

use crate::LipsyncError;
use facecast_core::{AudioChunk, VisemeFrame, VISEME_COUNT};

/// A timed ARPAbet phone (`"SIL"` for pauses; stress digits allowed).
#[derive(Clone, Debug, PartialEq)]
pub struct PhoneSpan {
    /// Start, s.
    pub start: f64,
    /// End, s.
    pub end: f64,
    /// ARPAbet phone.
    pub phone: String,
}

const VOWELS: [&str; 15] = ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"];

/// Viseme index and jaw opening of an ARPAbet phone (stress digits ignored); `None` if unknown.
pub fn phone_viseme(phone: &str) -> Option<(usize, f32)> {
    let p = phone.trim_end_matches(|c: char| c.is_ascii_digit()).to_ascii_uppercase();
    Some(match p.as_str() {
        "SIL" | "SP" | "SPN" | "" | "PAU" | "<SIL>" => (0, 0.0),
        "P" | "B" | "M" => (1, 0.0),
        "F" | "V" => (2, 0.1),
        "TH" | "DH" => (3, 0.2),
        "T" | "D" | "N" => (4, 0.2),
        "K" | "G" | "NG" | "HH" => (5, 0.2),
        "CH" | "JH" | "SH" | "ZH" => (6, 0.2),
        "S" | "Z" => (7, 0.2),
        "L" => (8, 0.35),
        "R" => (9, 0.3),
        "AA" => (10, 0.9),
        "AY" | "AW" => (10, 0.8),
        "AE" => (11, 0.75),
        "EH" => (11, 0.55),
        "EY" => (11, 0.5),
        "AH" => (11, 0.6),
        "IH" => (12, 0.35),
        "IY" | "Y" => (12, 0.2),
        "AO" => (13, 0.7),
        "OY" => (13, 0.6),
        "UH" => (13, 0.35),
        "ER" => (13, 0.4),
        "UW" => (14, 0.2),
        "OW" => (14, 0.45),
        "W" => (14, 0.15),
        _ => return None,
    })
}

/// 100 Hz viseme frames from timed phones, covering `[0, duration)` (`floor(duration * 100)` frames).
/// `HH` before a vowel takes the vowel's shape; jaw opening is smoothed over ~60 ms, closures stay at 0.
pub fn frames_from_phones(spans: &[PhoneSpan], duration: f64) -> Result<Vec<VisemeFrame>, LipsyncError> {
    for s in spans {
        if !(s.start.is_finite() && s.end.is_finite()) || s.end < s.start {
            return Err(LipsyncError::Timings(format!("bad span {:?} {}..{}", s.phone, s.start, s.end)));
        }
    }
    let mut seg: Vec<(f64, f64, usize, f32)> = Vec::with_capacity(spans.len());
    for (k, s) in spans.iter().enumerate() {
        let mut p = s.phone.as_str();
        let up = p.trim_end_matches(|c: char| c.is_ascii_digit()).to_ascii_uppercase();
        if up == "HH" {
            if let Some(n) = spans.get(k + 1) {
                let nu = n.phone.trim_end_matches(|c: char| c.is_ascii_digit()).to_ascii_uppercase();
                if VOWELS.contains(&nu.as_str()) {
                    p = n.phone.as_str();
                }
            }
        }
        let (v, o) = phone_viseme(p)
            .ok_or_else(|| LipsyncError::Timings(format!("unknown phone {:?} at {:.3}s", s.phone, s.start)))?;
        seg.push((s.start, s.end, v, o));
    }
    seg.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = (duration * 100.0).floor().max(0.0) as usize;
    let mut vis = vec![0usize; n];
    let mut open = vec![0f32; n];
    let mut k = 0;
    for i in 0..n {
        let t = (i as f64 + 0.5) / 100.0;
        while k + 1 < seg.len() && seg[k + 1].0 <= t {
            k += 1;
        }
        if let Some(&(a, b, v, o)) = seg.get(k) {
            if t >= a && t < b {
                vis[i] = v;
                open[i] = o;
            }
        }
    }
    // ~60 ms Hann smoothing of the jaw
    let w = [0.0495f32, 0.1470, 0.2192, 0.2686, 0.2192, 0.1470, 0.0495];
    let ws: f32 = w.iter().sum();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut j = 0.0;
        for (d, wv) in w.iter().enumerate() {
            let idx = (i as i64 + d as i64 - 3).clamp(0, n as i64 - 1) as usize;
            j += wv * open[idx];
        }
        let mut weights = [0.0; VISEME_COUNT];
        weights[vis[i]] = 1.0;
        let jaw = if vis[i] <= 1 { 0.0 } else { j / ws };
        out.push(VisemeFrame { t: (i as f64 + 0.5) / 100.0, weights, jaw_open: jaw });
    }
    Ok(out)
}

/// Viseme frames for `audio` guided by its transcript `text`.
pub fn analyze_with_text(audio: &AudioChunk, text: &str) -> Result<Vec<VisemeFrame>, LipsyncError> {
    let _ = (audio, text);
    Err(LipsyncError::Text("text alignment is not available yet".into()))
}
