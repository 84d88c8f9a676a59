//! Transcript- and timing-driven viseme frames (text mode), built on facecast-text.
//!
//! * [`analyze_with_text`]: G2P the transcript (facecast-text), then force-align the phones to this
//!   crate's per-frame phone posteriors with facecast-text's Viterbi aligner, then render frames.
//! * [`analyze_with_words`]: word timestamps (e.g. from a TTS service) -> phones aligned inside each
//!   word's span with the same posteriors.
//! * [`frames_from_phones`] / [`frames_from_timed`]: phone timestamps -> frames directly.
//! * [`frames_from_timing_file`]: any timing file facecast-text's importers understand.

use crate::analyzer::analyze_detailed;
use crate::LipsyncError;
use facecast_core::{AudioChunk, VisemeFrame, VISEME_COUNT};
use facecast_text::{import, AlignConfig, ClassMap, Phone, PhoneSeq, Posteriors, TimedPhone};

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

const VOWELS: [&str; 15] = [
    "AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW",
];

/// Viseme index and jaw opening of an ARPAbet phone (stress digits ignored); `None` if unknown.
pub fn phone_viseme(phone: &str) -> Option<(usize, f32)> {
    let p = phone
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .to_ascii_uppercase();
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
pub fn frames_from_phones(
    spans: &[PhoneSpan],
    duration: f64,
) -> Result<Vec<VisemeFrame>, LipsyncError> {
    for s in spans {
        if !(s.start.is_finite() && s.end.is_finite()) || s.end < s.start {
            return Err(LipsyncError::Timings(format!(
                "bad span {:?} {}..{}",
                s.phone, s.start, s.end
            )));
        }
    }
    let mut seg: Vec<(f64, f64, usize, f32)> = Vec::with_capacity(spans.len());
    for (k, s) in spans.iter().enumerate() {
        let mut p = s.phone.as_str();
        let up = p
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .to_ascii_uppercase();
        if up == "HH" {
            if let Some(n) = spans.get(k + 1) {
                let nu = n
                    .phone
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .to_ascii_uppercase();
                if VOWELS.contains(&nu.as_str()) {
                    p = n.phone.as_str();
                }
            }
        }
        let (v, o) = phone_viseme(p).ok_or_else(|| {
            LipsyncError::Timings(format!("unknown phone {:?} at {:.3}s", s.phone, s.start))
        })?;
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
        out.push(VisemeFrame {
            t: (i as f64 + 0.5) / 100.0,
            weights,
            jaw_open: jaw,
        });
    }
    Ok(out)
}

/// Frames from facecast-text [`TimedPhone`]s.
pub fn frames_from_timed(
    phones: &[TimedPhone],
    duration: f64,
) -> Result<Vec<VisemeFrame>, LipsyncError> {
    let spans: Vec<PhoneSpan> = phones
        .iter()
        .map(|p| PhoneSpan {
            start: p.start,
            end: p.end,
            phone: p.phone.name().to_string(),
        })
        .collect();
    frames_from_phones(&spans, duration)
}

/// Emission weight used with facecast-text's aligner.
const ALIGN_EMISSION_WEIGHT: f64 = 0.5;

fn text_err(e: impl std::fmt::Display) -> LipsyncError {
    LipsyncError::Text(e.to_string())
}

/// Align a phone sequence to the model's phone posteriors over `[f0, f1)` frames; times offset by f0.
fn align_range(
    seq: &PhoneSeq,
    post: &[f32],
    f0: usize,
    f1: usize,
) -> Result<Vec<TimedPhone>, LipsyncError> {
    let k = crate::model::PHONES.len();
    let p = Posteriors {
        data: &post[f0 * k..f1 * k],
        classes: k,
        frame_rate: 100.0,
        log: false,
    };
    // The posteriors come from a model trained on synthetic speech and are over-confident on other
    // voices; halving the emission weight (chosen on generated validation speech) lets the duration
    // prior keep the alignment sane.
    let cfg = AlignConfig {
        emission_weight: ALIGN_EMISSION_WEIGHT,
        ..AlignConfig::default()
    };
    let mut out = facecast_text::align(seq, &p, &ClassMap::phones(), &cfg).map_err(text_err)?;
    let off = f0 as f64 / 100.0;
    for t in out.iter_mut() {
        t.start += off;
        t.end += off;
    }
    Ok(out)
}

fn posteriors(audio: &AudioChunk) -> (usize, Vec<f32>) {
    let (_, outs) = analyze_detailed(audio);
    let mut post = Vec::with_capacity(outs.len() * 40);
    for o in &outs {
        post.extend_from_slice(&o.phones);
    }
    (outs.len(), post)
}

/// Viseme frames for `audio` guided by its transcript `text` (any English text: numbers and
/// abbreviations are expanded by facecast-text). Same frame grid as [`crate::analyze`].
pub fn analyze_with_text(audio: &AudioChunk, text: &str) -> Result<Vec<VisemeFrame>, LipsyncError> {
    let words = facecast_text::g2p(text);
    let (n, post) = posteriors(audio);
    if n == 0 {
        return Ok(Vec::new());
    }
    let seq = PhoneSeq::from_words(&words);
    if seq.phones.is_empty() {
        return Ok(crate::analyze(audio));
    }
    let timed = align_range(&seq, &post, 0, n)?;
    frames_from_timed(&timed, n as f64 / 100.0)
}

/// Viseme frames from word timestamps: each word is converted to phones (facecast-text G2P) and
/// aligned inside its own time span with the model's phone posteriors; gaps are silence.
pub fn analyze_with_words(
    audio: &AudioChunk,
    words: &[import::WordTiming],
) -> Result<Vec<VisemeFrame>, LipsyncError> {
    let (n, post) = posteriors(audio);
    let mut all: Vec<TimedPhone> = Vec::new();
    let mut t = 0.0;
    let mut ws: Vec<&import::WordTiming> = words.iter().collect();
    ws.sort_by(|a, b| a.start.total_cmp(&b.start));
    for w in ws {
        if !(w.start.is_finite() && w.end.is_finite()) || w.end < w.start {
            return Err(LipsyncError::Timings(format!(
                "word {:?} has bad span {}..{}",
                w.word, w.start, w.end
            )));
        }
        let f0 = ((w.start * 100.0).round().max(t * 100.0) as usize).min(n);
        let f1 = ((w.end * 100.0).round() as usize).min(n);
        let g = facecast_text::g2p(&w.word);
        let mut seq = PhoneSeq::from_words(&g);
        if seq.phones.is_empty() || f1 <= f0 {
            continue;
        }
        // no pauses inside a timed word
        for gap in seq.gaps.iter_mut() {
            *gap = None;
        }
        if f1 - f0 < 2 * seq.phones.len() {
            // too short to align: spread the phones evenly
            let d = (f1 - f0) as f64 / 100.0 / seq.phones.len() as f64;
            for (i, &p) in seq.phones.iter().enumerate() {
                let a = f0 as f64 / 100.0 + i as f64 * d;
                all.push(TimedPhone::new(p, a, a + d));
            }
        } else {
            all.extend(align_range(&seq, &post, f0, f1)?);
        }
        t = f1 as f64 / 100.0;
    }
    let dur = audio.duration_secs().max(n as f64 / 100.0);
    let filled = fill_sil(&all, dur);
    frames_from_timed(&filled, n as f64 / 100.0)
}

fn fill_sil(phones: &[TimedPhone], dur: f64) -> Vec<TimedPhone> {
    let mut out = Vec::with_capacity(phones.len() * 2 + 1);
    let mut t = 0.0;
    for p in phones {
        if p.start > t + 1e-6 {
            out.push(TimedPhone::new(Phone::Sil, t, p.start));
        }
        out.push(*p);
        t = t.max(p.end);
    }
    if dur > t + 1e-6 {
        out.push(TimedPhone::new(Phone::Sil, t, dur));
    }
    out
}

/// Frames from a timing file understood by facecast-text's importers: word timings (generic JSON,
/// Whisper, pocketsphinx, ElevenLabs, Google), phone timings (corpus / pocketsphinx phones), Azure
/// or Polly viseme events. Word timings are refined against `audio` when given.
pub fn frames_from_timing_file(
    json: &str,
    audio: Option<&AudioChunk>,
    duration: f64,
) -> Result<Vec<VisemeFrame>, LipsyncError> {
    if let Ok(ph) = import::phones_json(json) {
        if !ph.is_empty() {
            return frames_from_timed(&fill_sil(&ph, duration), duration);
        }
    }
    let words = import::words_json(json)
        .or_else(|_| import::elevenlabs(json))
        .or_else(|_| import::google(json));
    match words {
        Ok(w) => match audio {
            Some(a) => analyze_with_words(a, &w),
            None => {
                // no audio: spread each word's phones evenly over its span
                let mut all = Vec::new();
                for wt in &w {
                    let seq = PhoneSeq::from_words(&facecast_text::g2p(&wt.word));
                    let n = seq.phones.len().max(1) as f64;
                    let d = (wt.end - wt.start).max(0.0) / n;
                    for (i, &p) in seq.phones.iter().enumerate() {
                        let a = wt.start + i as f64 * d;
                        all.push(TimedPhone::new(p, a, a + d));
                    }
                }
                frames_from_timed(&fill_sil(&all, duration), duration)
            }
        },
        Err(e) => match import::azure(json).or_else(|_| import::polly(json)) {
            Ok(import::Imported::Phones(ph)) => {
                frames_from_timed(&fill_sil(&ph, duration), duration)
            }
            _ => Err(LipsyncError::Timings(e.to_string())),
        },
    }
}
