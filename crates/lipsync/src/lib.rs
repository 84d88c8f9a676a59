//! facecast-lipsync: speech audio -> 100 Hz Oculus viseme frames (+ jaw opening), streaming.
//!
//! Pipeline: any-rate audio -> mono -> 16 kHz ([`facecast_audio::Resampler`]) -> 25 ms / 10 ms log-mel
//! features ([`features`]) -> a small MLP over 10 stacked frames (14 past, 2 future) trained on
//! phone-labelled synthetic speech ([`model`], weights embedded) -> causal hysteresis decoding
//! ([`decode`]) -> [`VisemeFrame`]s. Look-ahead is fixed ([`Analyzer::lookahead_ms`], <= 40 ms).
//!
//! * [`Analyzer`]: sans-IO streaming (push any rate/size, pull frames), [`analyze`]: batch (identical).
//! * [`analyze_with_text`]: transcript-guided alignment (phones from facecast-text, timed with the
//!   model's phone posteriors).
//! * [`rhubarb`]: Rhubarb mouth-shape cues and JSON/TSV/XML writers.

pub mod analyzer;
pub mod decode;
pub mod features;
pub mod model;
pub mod rhubarb;
pub mod text;

pub use analyzer::{analyze, analyze_detailed, Analyzer, FrameOutput, FPS};
pub use facecast_core::VisemeFrame;
pub use facecast_text::{import::WordTiming, TimedPhone};
pub use text::{
    analyze_with_text, analyze_with_words, frames_from_phones, frames_from_timed,
    frames_from_timing_file, phone_viseme, PhoneSpan,
};

/// Errors of this crate; `Display` is one line.
#[derive(Debug, thiserror::Error)]
pub enum LipsyncError {
    /// The embedded model is unusable.
    #[error("lip-sync model: {0}")]
    Model(String),
    /// Text could not be converted or aligned.
    #[error("text alignment: {0}")]
    Text(String),
    /// Bad timing input.
    #[error("invalid timings: {0}")]
    Timings(String),
}
