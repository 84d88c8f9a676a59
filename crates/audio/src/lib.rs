//! facecast-audio: audio decoding, mono mixing, streaming resampling and frame features.
//!
//! * [`decode_file`] / [`decode_bytes`]: RIFF/WAVE (integer 8/16/24/32-bit, float 32/64-bit,
//!   `WAVE_FORMAT_EXTENSIBLE`, odd-sized chunks) natively; MP3, FLAC and Ogg Vorbis through symphonia.
//!   Ogg Opus is detected and rejected with a clear error: symphonia has no Opus decoder.
//! * [`to_mono`] / [`mix_into`]: channel mix-down.
//! * [`Resampler`]: streaming windowed-sinc polyphase resampler, any rate to any rate, chunking-invariant.
//! * [`features`]: RMS, zero-crossing rate, power spectrum, log-mel filterbank and MFCC.
//!
//! Every error is an [`AudioError`] whose message is one line naming the problem.

mod decode;
mod error;
pub mod features;
pub mod resample;
pub mod wav;

pub(crate) use decode::magic_str;
pub use decode::{decode_bytes, decode_file, mix_into, to_mono};
pub use error::AudioError;
pub use resample::{resample, Resampler};
