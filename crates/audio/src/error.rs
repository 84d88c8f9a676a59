use thiserror::Error;

/// Errors from decoding, resampling or feature extraction. `Display` is one line naming the problem.
#[derive(Debug, Error)]
pub enum AudioError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Path that failed.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Zero bytes of input.
    #[error("empty input: no bytes to decode")]
    Empty,
    /// The bytes are not a recognised audio container.
    #[error("not an audio file: unrecognised header {0:?} (expected RIFF/WAVE, MP3, FLAC or Ogg Vorbis)")]
    NotAudio(String),
    /// The file ends inside a header or chunk.
    #[error("truncated {what}: needs {needed} bytes, only {available} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// A format the decoder does not support.
    #[error("unsupported audio format: {0}")]
    Unsupported(String),
    /// A malformed header field.
    #[error("invalid audio data: {0}")]
    Invalid(String),
    /// An error from the compressed-format decoder.
    #[error("decode error ({format}): {message}")]
    Codec {
        /// Container/codec hint.
        format: String,
        /// Decoder message.
        message: String,
    },
    /// A bad sample rate or channel count.
    #[error("invalid stream parameters: rate {rate} Hz, {channels} channels")]
    BadParams {
        /// Sample rate.
        rate: u32,
        /// Channels.
        channels: u16,
    },
}
