//! RIFF/WAVE decoding: integer PCM 8/16/24/32-bit, IEEE float 32/64-bit, `WAVE_FORMAT_EXTENSIBLE`,
//! odd-sized (padded) chunks and unknown chunks in any order.

use crate::AudioError;
use facecast_core::AudioChunk;

const FMT_PCM: u16 = 1;
const FMT_FLOAT: u16 = 3;
const FMT_EXTENSIBLE: u16 = 0xFFFE;

fn u16le(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

struct Fmt {
    tag: u16,
    channels: u16,
    rate: u32,
    block_align: u16,
    bits: u16,
}

/// True when `bytes` starts like a RIFF/WAVE file.
pub fn is_wav(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE"
}

/// Decode a complete RIFF/WAVE file held in memory.
pub fn decode_wav(bytes: &[u8]) -> Result<AudioChunk, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    if bytes.len() < 12 {
        return Err(AudioError::Truncated {
            what: "RIFF header",
            needed: 12,
            available: bytes.len(),
        });
    }
    if !is_wav(bytes) {
        return Err(AudioError::NotAudio(crate::magic_str(bytes)));
    }
    let mut pos = 12usize;
    let mut fmt: Option<Fmt> = None;
    let mut data: Option<&[u8]> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32le(bytes, pos + 4) as usize;
        let body = pos + 8;
        let avail = bytes.len() - body;
        if id == b"fmt " {
            if size < 16 || avail < 16 {
                return Err(AudioError::Truncated {
                    what: "fmt chunk",
                    needed: 16,
                    available: avail.min(size),
                });
            }
            let b = &bytes[body..];
            let mut tag = u16le(b, 0);
            let channels = u16le(b, 2);
            let rate = u32le(b, 4);
            let block_align = u16le(b, 12);
            let bits = u16le(b, 14);
            if tag == FMT_EXTENSIBLE {
                if size < 40 || avail < 40 {
                    return Err(AudioError::Truncated {
                        what: "WAVE_FORMAT_EXTENSIBLE fmt chunk",
                        needed: 40,
                        available: avail.min(size),
                    });
                }
                // SubFormat GUID: the first two bytes are the format tag.
                tag = u16le(b, 24);
            }
            fmt = Some(Fmt {
                tag,
                channels,
                rate,
                block_align,
                bits,
            });
        } else if id == b"data" {
            if fmt.is_none() {
                return Err(AudioError::Invalid("data chunk before fmt chunk".into()));
            }
            let len = if size == 0xFFFF_FFFF || size >= 0x7FFF_0000 || size == 0 && avail > 0 {
                // Streamed WAV with unknown length (a placeholder size: 0, 0xFFFFFFFF, or
                // 0x7FFFF000 as espeak-ng and sox write to a pipe).
                avail
            } else if size > avail {
                return Err(AudioError::Truncated {
                    what: "data chunk",
                    needed: size,
                    available: avail,
                });
            } else {
                size
            };
            data = Some(&bytes[body..body + len]);
            break;
        }
        // chunks are padded to an even size
        let next = body.saturating_add(size).saturating_add(size & 1);
        if next > bytes.len() {
            break;
        }
        pos = next;
    }
    let fmt = fmt.ok_or_else(|| {
        if pos + 8 > bytes.len() && bytes.len() < 44 {
            AudioError::Truncated {
                what: "WAVE header",
                needed: 44,
                available: bytes.len(),
            }
        } else {
            AudioError::Invalid("no fmt chunk".into())
        }
    })?;
    let data = data.ok_or_else(|| AudioError::Invalid("no data chunk".into()))?;
    if fmt.channels == 0 || fmt.rate == 0 {
        return Err(AudioError::BadParams {
            rate: fmt.rate,
            channels: fmt.channels,
        });
    }
    let bps = (fmt.bits as usize).div_ceil(8);
    let frame = bps * fmt.channels as usize;
    let stride = (fmt.block_align as usize).max(frame);
    if bps == 0 {
        return Err(AudioError::Unsupported(format!(
            "{} bits per sample",
            fmt.bits
        )));
    }
    let nframes = data.len() / stride;
    let mut out = Vec::with_capacity(nframes * fmt.channels as usize);
    let ch = fmt.channels as usize;
    match (fmt.tag, bps) {
        (FMT_PCM, 1) => {
            for f in 0..nframes {
                for c in 0..ch {
                    out.push((data[f * stride + c] as f32 - 128.0) / 128.0);
                }
            }
        }
        (FMT_PCM, 2) => {
            for f in 0..nframes {
                for c in 0..ch {
                    let o = f * stride + c * 2;
                    out.push(i16::from_le_bytes([data[o], data[o + 1]]) as f32 / 32768.0);
                }
            }
        }
        (FMT_PCM, 3) => {
            for f in 0..nframes {
                for c in 0..ch {
                    let o = f * stride + c * 3;
                    let v = i32::from_le_bytes([0, data[o], data[o + 1], data[o + 2]]) >> 8;
                    out.push(v as f32 / 8_388_608.0);
                }
            }
        }
        (FMT_PCM, 4) => {
            for f in 0..nframes {
                for c in 0..ch {
                    let o = f * stride + c * 4;
                    let v = i32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
                    out.push((v as f64 / 2_147_483_648.0) as f32);
                }
            }
        }
        (FMT_FLOAT, 4) => {
            for f in 0..nframes {
                for c in 0..ch {
                    let o = f * stride + c * 4;
                    out.push(f32::from_le_bytes([
                        data[o],
                        data[o + 1],
                        data[o + 2],
                        data[o + 3],
                    ]));
                }
            }
        }
        (FMT_FLOAT, 8) => {
            for f in 0..nframes {
                for c in 0..ch {
                    let o = f * stride + c * 8;
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&data[o..o + 8]);
                    out.push(f64::from_le_bytes(b) as f32);
                }
            }
        }
        (FMT_PCM, _) | (FMT_FLOAT, _) => {
            return Err(AudioError::Unsupported(format!(
                "WAV {} with {} bits per sample",
                if fmt.tag == FMT_PCM {
                    "integer PCM"
                } else {
                    "float"
                },
                fmt.bits
            )))
        }
        (tag, _) => {
            let name = match tag {
                2 => "MS ADPCM",
                6 => "A-law",
                7 => "mu-law",
                0x11 => "IMA ADPCM",
                0x55 => "MP3-in-WAV",
                _ => "unknown",
            };
            return Err(AudioError::Unsupported(format!(
                "WAV format tag 0x{tag:04X} ({name})"
            )));
        }
    }
    for s in out.iter_mut() {
        if !s.is_finite() {
            *s = 0.0;
        }
    }
    Ok(AudioChunk {
        rate: fmt.rate,
        channels: fmt.channels,
        samples: out,
    })
}

/// Encode mono or interleaved `f32` samples as a 16-bit PCM WAV file (for tests and tools).
pub fn encode_wav_i16(chunk: &AudioChunk) -> Vec<u8> {
    let n = chunk.samples.len();
    let mut b = Vec::with_capacity(44 + n * 2);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&((36 + n * 2) as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&chunk.channels.to_le_bytes());
    b.extend_from_slice(&chunk.rate.to_le_bytes());
    b.extend_from_slice(&(chunk.rate * chunk.channels as u32 * 2).to_le_bytes());
    b.extend_from_slice(&(chunk.channels * 2).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&((n * 2) as u32).to_le_bytes());
    for &s in &chunk.samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        b.extend_from_slice(&v.to_le_bytes());
    }
    b
}
