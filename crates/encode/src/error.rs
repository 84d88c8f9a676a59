//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while encoding or writing media.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// Width or height is zero, odd, or too large for the codec.
    #[error("invalid video size {width}x{height}: {reason}")]
    InvalidSize {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// Frame rate is zero or unreasonably high.
    #[error("invalid frame rate {fps} fps: must be between 1 and 240")]
    InvalidFps {
        /// Requested frame rate.
        fps: u32,
    },
    /// Bitrate is zero or out of the codec's range.
    #[error("invalid bitrate {bps} bit/s: {reason}")]
    InvalidBitrate {
        /// Requested bitrate.
        bps: u32,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A frame does not have the size the encoder was configured with, or its planes are short.
    #[error("frame is {got_w}x{got_h} (planes y={y} u={u} v={v} bytes) but the encoder expects {want_w}x{want_h}")]
    FrameMismatch {
        /// Frame width.
        got_w: u32,
        /// Frame height.
        got_h: u32,
        /// Luma plane length.
        y: usize,
        /// Cb plane length.
        u: usize,
        /// Cr plane length.
        v: usize,
        /// Configured width.
        want_w: u32,
        /// Configured height.
        want_h: u32,
    },
    /// Opus input was not exactly one 20 ms mono frame.
    #[error("opus frame has {got} samples, expected {expected} (20 ms mono at 48 kHz)")]
    OpusFrameSize {
        /// Samples given.
        got: usize,
        /// Samples expected.
        expected: usize,
    },
    /// The H.264 encoder (OpenH264) failed.
    #[error("H.264 encoder: {0}")]
    H264(String),
    /// The VP8 encoder (libvpx) failed.
    #[error("VP8 encoder (libvpx): {0}")]
    Vp8(String),
    /// The Opus encoder (libopus) failed.
    #[error("Opus encoder: {0}")]
    Opus(String),
    /// The output file extension does not name a supported container.
    #[error(
        "unsupported output container for {path}: use .mp4 (H.264 + Opus) or .webm (VP8 + Opus)"
    )]
    UnsupportedContainer {
        /// The path given.
        path: PathBuf,
    },
    /// A packet handed to a muxer does not fit the track (codec or timestamp order).
    #[error("muxer: {0}")]
    Mux(String),
    /// Writing the output failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl EncodeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EncodeError::Io {
            path: path.into(),
            source,
        }
    }
}
