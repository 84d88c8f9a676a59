//! facecast-text: the text side of facecast lip sync.
//!
//! * [`g2p`]: English text -> words -> ARPAbet [`Phone`]s (CMUdict, BSD licence in
//!   `data/LICENSE-cmudict`, plus a trained letter-to-sound fallback for unknown words, and number /
//!   abbreviation normalisation). Punctuation becomes pause hints ([`Break`]).
//! * [`phones_to_frames`]: timed phones -> 100 Hz [`VisemeFrame`]s with coarticulation, and
//!   [`phones_to_rhubarb`]: timed phones -> Rhubarb mouth cues (the corpus scorer's mapping).
//! * [`align`] / [`align_energy`] / [`align_hybrid`]: forced alignment (explicit-duration Viterbi
//!   with beam pruning) of a phone sequence to per-frame class posteriors from an acoustic model
//!   (the phone -> class mapping is a [`ClassMap`]), or (fallback) to an energy / spectral-tilt
//!   track of the audio, or both. [`align_text_audio`] is the one-call text + audio fallback.
//! * [`import`]: word/phone/viseme timings from TTS services (ElevenLabs, Azure, Polly, Google,
//!   generic JSON, pocketsphinx) and Rhubarb cue files, into [`TimedPhone`]s.
//!
//! ```
//! use facecast_text::{g2p, align_energy, energy_features, phones_to_rhubarb, AlignConfig, PhoneSeq, Phone};
//!
//! let words = g2p("Bob bought 42 balloons.");
//! assert_eq!(words[0].phones, vec![Phone::B, Phone::AA, Phone::B]);
//! assert_eq!(words[2].text, "forty");
//!
//! // Align to audio with no acoustic model (energy-only fallback): 1 s of 16 kHz audio.
//! let audio: Vec<f32> = (0..16000).map(|i| if (3000..13000).contains(&i) { (i as f32 * 0.3).sin() * 0.3 } else { 0.0 }).collect();
//! let feats = energy_features(&audio, 16000, 100.0);
//! let seq = PhoneSeq::from_words(&words);
//! let timed = align_energy(&seq, &feats, &AlignConfig::default()).unwrap();
//! assert_eq!(timed.first().unwrap().start, 0.0);
//! let cues = phones_to_rhubarb(&timed); // [(start, end, 'A'..'H' | 'X')]
//! assert!(cues.iter().any(|c| c.2 == 'A'));
//! let frames = facecast_text::phones_to_frames(&timed, 1.0, 100.0); // 100 VisemeFrames
//! assert_eq!(frames.len(), 100);
//! ```
//!
//! With an acoustic model producing per-10 ms class posteriors (`k` classes, row-major):
//!
//! ```
//! use facecast_text::{align, g2p, AlignConfig, ClassMap, PhoneSeq, Posteriors};
//! let seq = PhoneSeq::from_words(&g2p("Hello world."));
//! let map = ClassMap::visemes(); // 15 Oculus viseme classes, sil = 0; or ClassMap::from_fn(k, |p| ..)
//! let post = vec![1.0 / 15.0; 120 * 15]; // 1.2 s of (uninformative) posteriors
//! let p = Posteriors { data: &post, classes: 15, frame_rate: 100.0, log: false };
//! let timed = align(&seq, &p, &map, &AlignConfig::default()).unwrap();
//! assert_eq!(timed.last().unwrap().end, 1.2);
//! ```
#![warn(missing_docs)]

mod align;
mod error;
mod frames;
mod g2p;
pub mod import;
mod phone;

pub use align::{
    align, align_energy, align_hybrid, align_text_audio, energy_features, AlignConfig, ClassMap,
    EnergyFrame, PhoneSeq, Posteriors,
};
pub use error::TextError;
pub use frames::{phone_at, phones_to_cues, phones_to_frames, phones_to_rhubarb, TimedPhone};
pub use g2p::{
    dictionary_len, g2p, letter_to_sound, lookup, normalize, number_words, text_phones, Break,
    Source, Word,
};
pub use phone::{effective, rhubarb_of, visemes_of, Phone, PhoneKind, PHONE_COUNT, PHONE_NAMES};

pub use facecast_core::{Viseme, VisemeFrame};
