//! The session WebSocket protocol (see `docs/PROTOCOL.md`): binary audio frames and JSON
//! control messages. Pure parsing/encoding, no I/O.
//!
//! Binary frame, all integers little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `b"FCAU"` |
//! | 4 | 1 | version, 1 |
//! | 5 | 1 | type: 1 = audio (PCM s16le), 2 = end of segment (empty payload) |
//! | 6 | 4 | sequence number (u32, +1 per frame) |
//! | 10 | 8 | timestamp (u64): first sample's index in the stream, in samples at `sample_rate` |
//! | 18 | 4 | sample_rate (u32, 8000..=192000) |
//! | 22 | 2 | channels (u16, 1..=8) |
//! | 24 | 4 | payload_length in bytes (u32) |
//! | 28 | n | payload: interleaved signed 16-bit PCM |
//! | 28+n | 4 | CRC-32 (IEEE, as `crc32fast`) of bytes `0..28+n` |

use base64::Engine as _;
use facecast_core::AudioChunk;
use serde::{Deserialize, Serialize};

/// Frame magic.
pub const MAGIC: [u8; 4] = *b"FCAU";
/// Protocol version.
pub const VERSION: u8 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 28;
/// Trailer (CRC32) length.
pub const TRAILER_LEN: usize = 4;
/// Largest payload accepted in one frame (1 s of 48 kHz stereo s16 = 192 000 bytes; allow 256 KiB).
pub const MAX_PAYLOAD: usize = 256 * 1024;
/// Frame type: audio.
pub const TYPE_AUDIO: u8 = 1;
/// Frame type: end of segment.
pub const TYPE_END: u8 = 2;

/// A parsed binary frame.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioFrame {
    /// Frame type ([`TYPE_AUDIO`] or [`TYPE_END`]).
    pub kind: u8,
    /// Sequence number.
    pub sequence: u32,
    /// Timestamp, samples at `sample_rate`.
    pub timestamp: u64,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u16,
    /// PCM samples, interleaved.
    pub pcm: Vec<i16>,
}

impl AudioFrame {
    /// The payload as an [`AudioChunk`].
    pub fn to_chunk(&self) -> AudioChunk {
        AudioChunk::from_i16(self.sample_rate, self.channels, &self.pcm)
    }
}

/// Why a binary frame was rejected; `code()` is the `code` of the JSON error sent back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Shorter than header + trailer.
    #[error("frame of {len} bytes is shorter than the {min}-byte header and CRC")]
    Short {
        /// Frame length.
        len: usize,
        /// Minimum.
        min: usize,
    },
    /// Wrong magic.
    #[error("bad magic {got:02x?}, expected \"FCAU\"")]
    BadMagic {
        /// The first 4 bytes.
        got: [u8; 4],
    },
    /// Unsupported version.
    #[error("unsupported protocol version {got}, this server speaks version {VERSION}")]
    BadVersion {
        /// Version byte.
        got: u8,
    },
    /// Unknown frame type.
    #[error("unknown frame type {got} (1 = audio, 2 = end of segment)")]
    BadType {
        /// Type byte.
        got: u8,
    },
    /// payload_length disagrees with the frame size.
    #[error("payload_length {declared} but the frame carries {actual} payload bytes")]
    LengthMismatch {
        /// From the header.
        declared: u32,
        /// From the frame size.
        actual: usize,
    },
    /// Payload too large.
    #[error("payload of {len} bytes exceeds the {MAX_PAYLOAD}-byte limit per frame")]
    TooLarge {
        /// Payload length.
        len: usize,
    },
    /// CRC mismatch.
    #[error("CRC32 mismatch: frame says {declared:08x}, computed {computed:08x}")]
    BadCrc {
        /// Trailer value.
        declared: u32,
        /// Computed.
        computed: u32,
    },
    /// Sample rate out of range.
    #[error("sample_rate {got} Hz is outside 8000..=192000")]
    BadRate {
        /// Rate.
        got: u32,
    },
    /// Channel count out of range.
    #[error("channels {got} is outside 1..=8")]
    BadChannels {
        /// Channels.
        got: u16,
    },
    /// Payload not a whole number of sample frames.
    #[error("payload of {len} bytes is not a whole number of {channels}-channel 16-bit samples")]
    Misaligned {
        /// Payload length.
        len: usize,
        /// Channels.
        channels: u16,
    },
}

impl FrameError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::Short { .. } => "short_frame",
            FrameError::BadMagic { .. } => "bad_magic",
            FrameError::BadVersion { .. } => "bad_version",
            FrameError::BadType { .. } => "bad_type",
            FrameError::LengthMismatch { .. } => "length_mismatch",
            FrameError::TooLarge { .. } => "frame_too_large",
            FrameError::BadCrc { .. } => "bad_crc",
            FrameError::BadRate { .. } => "bad_rate",
            FrameError::BadChannels { .. } => "bad_channels",
            FrameError::Misaligned { .. } => "misaligned_payload",
        }
    }
}

/// Whether `len` bytes are whole 16-bit sample frames of `channels` channels.
fn whole_samples(len: usize, channels: u16) -> bool {
    let frame = 2 * channels.max(1) as usize;
    len / frame * frame == len
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parse and validate one binary frame. Never panics on any input.
pub fn parse_frame(b: &[u8]) -> Result<AudioFrame, FrameError> {
    let min = HEADER_LEN + TRAILER_LEN;
    if b.len() < min {
        // Still report a wrong magic first when we have one: it is the likelier mistake.
        if b.len() >= 4 && b[..4] != MAGIC {
            return Err(FrameError::BadMagic {
                got: [b[0], b[1], b[2], b[3]],
            });
        }
        return Err(FrameError::Short { len: b.len(), min });
    }
    if b[..4] != MAGIC {
        return Err(FrameError::BadMagic {
            got: [b[0], b[1], b[2], b[3]],
        });
    }
    if b[4] != VERSION {
        return Err(FrameError::BadVersion { got: b[4] });
    }
    let kind = b[5];
    if kind != TYPE_AUDIO && kind != TYPE_END {
        return Err(FrameError::BadType { got: kind });
    }
    let sequence = u32_at(b, 6);
    let timestamp = u64::from_le_bytes(b[10..18].try_into().unwrap_or([0; 8]));
    let sample_rate = u32_at(b, 18);
    let channels = u16::from_le_bytes([b[22], b[23]]);
    let declared = u32_at(b, 24);
    let actual = b.len() - min;
    if declared as usize != actual {
        return Err(FrameError::LengthMismatch { declared, actual });
    }
    if actual > MAX_PAYLOAD {
        return Err(FrameError::TooLarge { len: actual });
    }
    let body_end = HEADER_LEN + actual;
    let declared_crc = u32_at(b, body_end);
    let computed = crc32fast::hash(&b[..body_end]);
    if declared_crc != computed {
        return Err(FrameError::BadCrc {
            declared: declared_crc,
            computed,
        });
    }
    if kind == TYPE_AUDIO {
        if !(8000..=192_000).contains(&sample_rate) {
            return Err(FrameError::BadRate { got: sample_rate });
        }
        if !(1..=8).contains(&channels) {
            return Err(FrameError::BadChannels { got: channels });
        }
        if !whole_samples(actual, channels) {
            return Err(FrameError::Misaligned {
                len: actual,
                channels,
            });
        }
    }
    let pcm = b[HEADER_LEN..body_end]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok(AudioFrame {
        kind,
        sequence,
        timestamp,
        sample_rate,
        channels,
        pcm,
    })
}

/// Build a binary frame (clients and tests).
pub fn encode_frame(
    kind: u8,
    sequence: u32,
    timestamp: u64,
    sample_rate: u32,
    channels: u16,
    pcm: &[i16],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEADER_LEN + pcm.len() * 2 + TRAILER_LEN);
    b.extend_from_slice(&MAGIC);
    b.push(VERSION);
    b.push(kind);
    b.extend_from_slice(&sequence.to_le_bytes());
    b.extend_from_slice(&timestamp.to_le_bytes());
    b.extend_from_slice(&sample_rate.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&((pcm.len() * 2) as u32).to_le_bytes());
    for s in pcm {
        b.extend_from_slice(&s.to_le_bytes());
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// JSON control messages a client sends.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Open a speech segment; following audio belongs to it until `segment_end`.
    SpeakStart,
    /// Close the open segment (it plays to its end).
    SegmentEnd,
    /// Change emotion.
    Emotion {
        /// Emotion name.
        emotion: String,
        /// 0..1, default 1.
        #[serde(default = "one")]
        intensity: f32,
    },
    /// Stop speaking now.
    Interrupt,
    /// Debug mode: audio as base64 of s16le PCM.
    Audio {
        /// Sample rate.
        sample_rate: u32,
        /// Channels (default 1).
        #[serde(default = "one_u16")]
        channels: u16,
        /// base64 of interleaved s16le samples.
        pcm: String,
        /// Optional sequence number.
        #[serde(default)]
        sequence: Option<u32>,
    },
    /// Liveness check; answered with `pong`.
    Ping {
        /// Echoed back.
        #[serde(default)]
        id: Option<serde_json::Value>,
    },
}

fn one() -> f32 {
    1.0
}
fn one_u16() -> u16 {
    1
}

/// Why a JSON message was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageError {
    /// Error code.
    pub code: &'static str,
    /// Human message.
    pub message: String,
}

/// Parse a JSON control message, with typed errors.
pub fn parse_message(text: &str) -> Result<ClientMessage, MessageError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| MessageError {
        code: "bad_json",
        message: format!("not valid JSON: {e}"),
    })?;
    let Some(t) = v.get("type").and_then(|t| t.as_str()).map(str::to_string) else {
        return Err(MessageError {
            code: "missing_type",
            message: "message has no string field \"type\"".into(),
        });
    };
    const KNOWN: [&str; 6] = [
        "speak_start",
        "segment_end",
        "emotion",
        "interrupt",
        "audio",
        "ping",
    ];
    if !KNOWN.contains(&t.as_str()) {
        return Err(MessageError {
            code: "unknown_type",
            message: format!(
                "unknown message type '{t}' (expected one of: {})",
                KNOWN.join(", ")
            ),
        });
    }
    serde_json::from_value(v).map_err(|e| MessageError {
        code: "bad_message",
        message: format!("bad '{t}' message: {e}"),
    })
}

/// Decode the debug-mode base64 PCM.
pub fn decode_base64_pcm(
    sample_rate: u32,
    channels: u16,
    pcm: &str,
) -> Result<AudioChunk, MessageError> {
    if !(8000..=192_000).contains(&sample_rate) {
        return Err(MessageError {
            code: "bad_rate",
            message: format!("sample_rate {sample_rate} Hz is outside 8000..=192000"),
        });
    }
    if !(1..=8).contains(&channels) {
        return Err(MessageError {
            code: "bad_channels",
            message: format!("channels {channels} is outside 1..=8"),
        });
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(pcm.trim())
        .map_err(|e| MessageError {
            code: "bad_base64",
            message: format!("pcm is not valid base64: {e}"),
        })?;
    if bytes.len() > MAX_PAYLOAD {
        return Err(MessageError {
            code: "frame_too_large",
            message: format!("pcm of {} bytes exceeds {MAX_PAYLOAD}", bytes.len()),
        });
    }
    if !whole_samples(bytes.len(), channels) {
        return Err(MessageError {
            code: "misaligned_payload",
            message: format!(
                "pcm of {} bytes is not a whole number of {channels}-channel 16-bit samples",
                bytes.len()
            ),
        });
    }
    let pcm: Vec<i16> = bytes
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok(AudioChunk::from_i16(sample_rate, channels, &pcm))
}

/// A JSON error message for the socket.
pub fn error_json(code: &str, message: &str, sequence: Option<u32>) -> String {
    let mut v = serde_json::json!({ "type": "error", "code": code, "message": message });
    if let Some(s) = sequence {
        v["sequence"] = s.into();
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Vec<u8> {
        encode_frame(
            TYPE_AUDIO,
            7,
            960,
            16_000,
            1,
            &[0, 1000, -1000, 32767, -32768, 5],
        )
    }

    #[test]
    fn round_trip() {
        let f = parse_frame(&good()).unwrap();
        assert_eq!(f.sequence, 7);
        assert_eq!(f.timestamp, 960);
        assert_eq!(f.sample_rate, 16_000);
        assert_eq!(f.pcm, vec![0, 1000, -1000, 32767, -32768, 5]);
        let c = f.to_chunk();
        assert_eq!((c.rate, c.channels, c.frames()), (16_000, 1, 6));
    }

    #[test]
    fn each_malformation_has_its_code() {
        let g = good();
        let code = |b: &[u8]| parse_frame(b).unwrap_err().code();
        assert_eq!(code(&g[..10]), "short_frame");
        assert_eq!(code(b"RIFF\0\0\0\0"), "bad_magic");
        let mut b = g.clone();
        b[0] = b'X';
        assert_eq!(code(&b), "bad_magic");
        let mut b = g.clone();
        b[4] = 9;
        assert_eq!(code(&b), "bad_version");
        let mut b = g.clone();
        b[5] = 77;
        assert_eq!(code(&b), "bad_type");
        let mut b = g.clone();
        b.insert(30, 0);
        assert_eq!(code(&b), "length_mismatch");
        let mut b = g.clone();
        b[HEADER_LEN] ^= 0xff;
        assert_eq!(code(&b), "bad_crc");
        assert_eq!(
            code(&encode_frame(TYPE_AUDIO, 0, 0, 100, 1, &[0; 4])),
            "bad_rate"
        );
        assert_eq!(
            code(&encode_frame(TYPE_AUDIO, 0, 0, 16_000, 0, &[0; 4])),
            "bad_channels"
        );
        assert_eq!(
            code(&encode_frame(TYPE_AUDIO, 0, 0, 16_000, 2, &[0; 3])),
            "misaligned_payload"
        );
        assert_eq!(
            code(&encode_frame(
                TYPE_AUDIO,
                0,
                0,
                16_000,
                1,
                &vec![0; MAX_PAYLOAD / 2 + 1]
            )),
            "frame_too_large"
        );
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let mut rng = fastrand::Rng::with_seed(4);
        let g = good();
        for i in 0..20_000 {
            let mut b = if i % 2 == 0 {
                g.clone()
            } else {
                (0..rng.usize(0..80)).map(|_| rng.u8(..)).collect()
            };
            for _ in 0..rng.usize(0..4) {
                if !b.is_empty() {
                    let k = rng.usize(..b.len());
                    b[k] = rng.u8(..);
                }
            }
            b.truncate(rng.usize(0..=b.len()));
            let _ = parse_frame(&b);
        }
    }

    #[test]
    fn json_messages() {
        assert_eq!(
            parse_message(r#"{"type":"speak_start"}"#).unwrap(),
            ClientMessage::SpeakStart
        );
        assert_eq!(
            parse_message(r#"{"type":"emotion","emotion":"happy"}"#).unwrap(),
            ClientMessage::Emotion {
                emotion: "happy".into(),
                intensity: 1.0
            }
        );
        assert_eq!(parse_message("{nope").unwrap_err().code, "bad_json");
        assert_eq!(
            parse_message(r#"{"kind":1}"#).unwrap_err().code,
            "missing_type"
        );
        assert_eq!(
            parse_message(r#"{"type":"dance"}"#).unwrap_err().code,
            "unknown_type"
        );
        assert_eq!(
            parse_message(r#"{"type":"audio","pcm":5}"#)
                .unwrap_err()
                .code,
            "bad_message"
        );
        let c = decode_base64_pcm(8000, 1, "AAAQAA==").unwrap();
        assert_eq!(c.frames(), 2);
        assert_eq!(
            decode_base64_pcm(8000, 1, "@@@").unwrap_err().code,
            "bad_base64"
        );
        assert_eq!(
            decode_base64_pcm(8000, 1, "AAAA").unwrap_err().code,
            "misaligned_payload"
        );
    }
}
