//! Encoded media packets.

use crate::MediaTime;

/// Codecs facecast produces.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// H.264 constrained baseline, Annex B byte stream.
    H264,
    /// VP8.
    Vp8,
    /// Opus, 48 kHz.
    Opus,
    /// AAC-LC (raw access units).
    Aac,
}

/// One encoded access unit.
#[derive(Clone, Debug, PartialEq)]
pub struct EncodedPacket {
    /// Codec of the payload.
    pub codec: Codec,
    /// Presentation time on the media clock.
    pub pts: MediaTime,
    /// Duration on the media clock.
    pub duration: MediaTime,
    /// Whether a decoder can start here.
    pub keyframe: bool,
    /// The payload.
    pub data: Vec<u8>,
}
