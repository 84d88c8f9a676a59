//! Rhubarb Lip Sync output: mouth shapes A-H and X, merged into timed cues, with JSON/TSV/XML writers
//! and a 100 Hz `frames` JSON track.
//!
//! Viseme -> shape: sil X; PP A; FF G; TH DD kk CH SS RR I B; nn (L) H; aa D; E C; O E; U F.
//! Open/wide vowels follow the jaw only at the extremes: an `E` frame opened wider than 0.9 becomes D,
//! an `aa` frame opened less than 0.3 becomes C (thresholds checked on generated validation speech).

use facecast_core::{Viseme, VisemeFrame, VISEME_NAMES};
use serde::Serialize;
use std::fmt::Write as _;

/// Rhubarb mouth shape.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Shape {
    /// Closed (M B P).
    A,
    /// Slightly open, clenched teeth.
    B,
    /// Open.
    C,
    /// Wide open.
    D,
    /// Slightly rounded.
    E,
    /// Puckered.
    F,
    /// Upper teeth on lower lip (F V).
    G,
    /// Tongue raised (L).
    H,
    /// Idle / rest.
    X,
}

impl Shape {
    /// The letter.
    pub fn letter(self) -> &'static str {
        match self {
            Shape::A => "A",
            Shape::B => "B",
            Shape::C => "C",
            Shape::D => "D",
            Shape::E => "E",
            Shape::F => "F",
            Shape::G => "G",
            Shape::H => "H",
            Shape::X => "X",
        }
    }
}

/// One cue: `value` from `start` to `end` seconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cue {
    /// Start, s.
    pub start: f64,
    /// End, s.
    pub end: f64,
    /// Shape.
    pub value: Shape,
}

/// The shape for one frame.
pub fn frame_shape(f: &VisemeFrame) -> Shape {
    match f.dominant() {
        Viseme::Sil => Shape::X,
        Viseme::PP => Shape::A,
        Viseme::FF => Shape::G,
        Viseme::Nn => Shape::H,
        Viseme::Aa => {
            if f.jaw_open < 0.3 {
                Shape::C
            } else {
                Shape::D
            }
        }
        Viseme::E => {
            if f.jaw_open > 0.9 {
                Shape::D
            } else {
                Shape::C
            }
        }
        Viseme::O => Shape::E,
        Viseme::U => Shape::F,
        _ => Shape::B,
    }
}

/// Merge 100 Hz frames into cues. Frame `i` covers `[t - 5 ms, t + 5 ms)`; the first cue starts at 0.
pub fn to_cues(frames: &[VisemeFrame]) -> Vec<Cue> {
    let mut cues: Vec<Cue> = Vec::new();
    for f in frames {
        let s = frame_shape(f);
        let (a, b) = ((f.t - 0.005).max(0.0), f.t + 0.005);
        match cues.last_mut() {
            Some(c) if c.value == s => c.end = b,
            Some(c) => {
                c.end = a;
                cues.push(Cue {
                    start: a,
                    end: b,
                    value: s,
                })
            }
            None => cues.push(Cue {
                start: 0.0,
                end: b,
                value: s,
            }),
        }
    }
    cues
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Rhubarb JSON: `{"metadata": {"soundFile", "duration"}, "mouthCues": [{"start", "end", "value"}]}`.
pub fn write_json(cues: &[Cue], sound_file: &str, duration: f64) -> String {
    serde_json::to_string_pretty(&json_value(cues, sound_file, duration)).unwrap_or_default()
}

fn json_value(cues: &[Cue], sound_file: &str, duration: f64) -> serde_json::Value {
    let mc: Vec<serde_json::Value> = cues
        .iter()
        .map(|c| serde_json::json!({"start": r3(c.start), "end": r3(c.end), "value": c.value.letter()}))
        .collect();
    serde_json::json!({"metadata": {"soundFile": sound_file, "duration": r3(duration)}, "mouthCues": mc})
}

/// Rhubarb TSV: `start\tvalue` per cue, then a final `end\tX` line.
pub fn write_tsv(cues: &[Cue]) -> String {
    let mut s = String::new();
    for c in cues {
        let _ = writeln!(s, "{:.2}\t{}", c.start, c.value.letter());
    }
    if let Some(c) = cues.last() {
        let _ = writeln!(s, "{:.2}\tX", c.end);
    }
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Rhubarb XML: `<rhubarbResult><metadata>...</metadata><mouthCues><mouthCue start end>A</mouthCue>...`.
pub fn write_xml(cues: &[Cue], sound_file: &str, duration: f64) -> String {
    let mut s =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rhubarbResult>\n  <metadata>\n");
    let _ = writeln!(s, "    <soundFile>{}</soundFile>", xml_escape(sound_file));
    let _ = writeln!(s, "    <duration>{:.2}</duration>", duration);
    s.push_str("  </metadata>\n  <mouthCues>\n");
    for c in cues {
        let _ = writeln!(
            s,
            "    <mouthCue start=\"{:.2}\" end=\"{:.2}\">{}</mouthCue>",
            c.start,
            c.end,
            c.value.letter()
        );
    }
    s.push_str("  </mouthCues>\n</rhubarbResult>\n");
    s
}

fn frames_value(frames: &[VisemeFrame]) -> serde_json::Value {
    let fr: Vec<serde_json::Value> = frames
        .iter()
        .map(|f| {
            let mut vis = serde_json::Map::new();
            for (n, w) in VISEME_NAMES.iter().zip(f.weights.iter()) {
                vis.insert(
                    (*n).to_string(),
                    serde_json::json!((*w as f64 * 1000.0).round() / 1000.0),
                );
            }
            serde_json::json!({"t": (f.t * 10000.0).round() / 10000.0,
                "jaw_open": (f.jaw_open as f64 * 1000.0).round() / 1000.0, "visemes": vis})
        })
        .collect();
    serde_json::json!({ "frames": fr })
}

/// `{"frames": [{"t", "jaw_open", "visemes": {"sil": w, ...}}]}` at 100 Hz.
pub fn frames_json(frames: &[VisemeFrame]) -> String {
    serde_json::to_string(&frames_value(frames)).unwrap_or_default()
}

/// One JSON document holding Rhubarb metadata + `mouthCues` and the `frames` track (the scorer reads both).
pub fn combined_json(frames: &[VisemeFrame], sound_file: &str, duration: f64) -> String {
    let mut v = json_value(&to_cues(frames), sound_file, duration);
    if let (Some(o), serde_json::Value::Object(f)) = (v.as_object_mut(), frames_value(frames)) {
        o.extend(f);
    }
    serde_json::to_string(&v).unwrap_or_default()
}
