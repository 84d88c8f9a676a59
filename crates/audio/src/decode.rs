//! Decoding entry points: WAV natively, MP3/FLAC/Ogg Vorbis through symphonia.

use crate::{wav, AudioError};
use facecast_core::AudioChunk;
use std::path::Path;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// A printable summary of the first bytes of a file, for error messages.
pub(crate) fn magic_str(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(8)
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
        .collect()
}

fn looks_compressed(b: &[u8]) -> Option<&'static str> {
    if b.len() >= 4 && &b[0..4] == b"fLaC" {
        Some("flac")
    } else if b.len() >= 4 && &b[0..4] == b"OggS" {
        Some("ogg")
    } else if b.len() >= 3 && &b[0..3] == b"ID3"
        || b.len() >= 2 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0
    {
        Some("mp3")
    } else {
        None
    }
}

/// Decode a whole file. The format is sniffed from the content (the extension is only a hint).
pub fn decode_file(path: &Path) -> Result<AudioChunk, AudioError> {
    let bytes = std::fs::read(path).map_err(|e| AudioError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let hint = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|s| s.to_ascii_lowercase());
    decode_bytes(&bytes, hint.as_deref())
}

/// Decode an in-memory file. `hint` is an optional extension such as `"mp3"`.
///
/// Supported: RIFF/WAVE (8/16/24/32-bit integer, 32/64-bit float, extensible), MP3, FLAC, Ogg Vorbis.
/// Ogg Opus is recognised but not decodable (symphonia has no Opus decoder).
pub fn decode_bytes(bytes: &[u8], hint: Option<&str>) -> Result<AudioChunk, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    if wav::is_wav(bytes)
        || bytes.len() >= 4 && (&bytes[0..4] == b"RIFF" || &bytes[0..4] == b"RIFX")
    {
        if bytes.len() >= 4 && &bytes[0..4] == b"RIFX" {
            return Err(AudioError::Unsupported("big-endian RIFX WAV".into()));
        }
        return wav::decode_wav(bytes);
    }
    let kind = looks_compressed(bytes).or(match hint {
        Some("mp3") => Some("mp3"),
        _ => None,
    });
    let Some(kind) = kind else {
        return Err(AudioError::NotAudio(magic_str(bytes)));
    };
    if kind == "ogg" && bytes.windows(8).take(256).any(|w| w == b"OpusHead") {
        return Err(AudioError::Unsupported(
            "Ogg Opus (symphonia has no Opus decoder; convert to WAV, FLAC, MP3 or Vorbis)".into(),
        ));
    }
    decode_symphonia(bytes, kind)
}

fn codec_err(kind: &str, e: impl std::fmt::Display) -> AudioError {
    AudioError::Codec {
        format: kind.to_string(),
        message: e.to_string(),
    }
}

fn decode_symphonia(bytes: &[u8], kind: &str) -> Result<AudioChunk, AudioError> {
    let mss = MediaSourceStream::new(
        Box::new(std::io::Cursor::new(bytes.to_vec())),
        Default::default(),
    );
    let mut hint = Hint::new();
    hint.with_extension(kind);
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| codec_err(kind, e))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| AudioError::Invalid(format!("{kind}: no audio track")))?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| AudioError::Unsupported(format!("{kind} codec: {e}")))?;
    let mut rate = track.codec_params.sample_rate.unwrap_or(0);
    let mut channels = track
        .codec_params
        .channels
        .map(|c| c.count() as u16)
        .unwrap_or(0);
    let mut samples = Vec::new();
    let mut sbuf: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => return Err(codec_err(kind, e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let spec = *buf.spec();
                rate = spec.rate;
                channels = spec.channels.count() as u16;
                let need = buf.capacity() as u64;
                if sbuf
                    .as_ref()
                    .map(|s| s.capacity() < need as usize)
                    .unwrap_or(true)
                {
                    sbuf = Some(SampleBuffer::new(need, spec));
                }
                let sb = sbuf.as_mut().expect("sample buffer exists");
                sb.copy_interleaved_ref(buf);
                samples.extend_from_slice(sb.samples());
            }
            Err(SymError::DecodeError(_)) => continue,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(codec_err(kind, e)),
        }
    }
    if rate == 0 || channels == 0 {
        return Err(AudioError::BadParams { rate, channels });
    }
    if samples.is_empty() {
        return Err(AudioError::Invalid(format!(
            "{kind}: no decodable audio frames"
        )));
    }
    Ok(AudioChunk {
        rate,
        channels,
        samples,
    })
}

/// Mix interleaved channels down to mono (mean of channels).
pub fn to_mono(chunk: &AudioChunk) -> Vec<f32> {
    let mut out = Vec::with_capacity(chunk.frames());
    mix_into(chunk, &mut out);
    out
}

/// Append the mono mix of `chunk` to `out` (no allocation when `out` has capacity).
pub fn mix_into(chunk: &AudioChunk, out: &mut Vec<f32>) {
    let ch = chunk.channels.max(1) as usize;
    if ch == 1 {
        out.extend_from_slice(&chunk.samples);
    } else {
        let inv = 1.0 / ch as f32;
        out.extend(
            chunk
                .samples
                .chunks_exact(ch)
                .map(|f| f.iter().sum::<f32>() * inv),
        );
    }
}
