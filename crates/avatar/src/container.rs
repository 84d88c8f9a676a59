//! File container: GLB / JSON sniffing, buffers (GLB BIN chunk, data URIs, external files).

use crate::error::{invalid, Problem, Res};
use crate::gltf::Root;
use base64::Engine;
use std::borrow::Cow;
use std::path::Path;

const GLB_MAGIC: u32 = 0x4654_6C67; // "glTF"
const CHUNK_JSON: u32 = 0x4E4F_534A;
const CHUNK_BIN: u32 = 0x004E_4942;

/// The JSON text and, for GLB, the BIN chunk.
pub(crate) struct Container<'a> {
    pub json: &'a [u8],
    pub bin: Option<&'a [u8]>,
    pub is_glb: bool,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A GLB file from a glTF JSON document and its binary chunk (`bin` may be empty: then no BIN
/// chunk is written). The JSON is padded with spaces and the BIN chunk with zeros to four bytes,
/// as the GLB format requires.
pub fn write_glb(json: &[u8], bin: &[u8]) -> Vec<u8> {
    let pad = |n: usize| n.next_multiple_of(4);
    let (jl, bl) = (pad(json.len()), pad(bin.len()));
    let total = 12 + 8 + jl + if bin.is_empty() { 0 } else { 8 + bl };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&GLB_MAGIC.to_le_bytes());
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(jl as u32).to_le_bytes());
    out.extend_from_slice(&CHUNK_JSON.to_le_bytes());
    out.extend_from_slice(json);
    out.resize(20 + jl, b' ');
    if !bin.is_empty() {
        out.extend_from_slice(&(bl as u32).to_le_bytes());
        out.extend_from_slice(&CHUNK_BIN.to_le_bytes());
        out.extend_from_slice(bin);
        out.resize(total, 0);
    }
    out
}

/// Split a file into JSON and BIN by sniffing its first bytes.
pub(crate) fn split(bytes: &[u8]) -> Res<Container<'_>> {
    if u32_at(bytes, 0) == Some(GLB_MAGIC) {
        return split_glb(bytes);
    }
    let mut body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    while let Some((first, rest)) = body.split_first() {
        if first.is_ascii_whitespace() {
            body = rest;
        } else {
            break;
        }
    }
    if body.first() == Some(&b'{') {
        return Ok(Container {
            json: bytes,
            bin: None,
            is_glb: false,
        });
    }
    let mut magic = [0u8; 4];
    for (m, b) in magic.iter_mut().zip(bytes) {
        *m = *b;
    }
    Err(Problem::NotGltf(u32::from_be_bytes(magic)))
}

fn split_glb(bytes: &[u8]) -> Res<Container<'_>> {
    let version =
        u32_at(bytes, 4).ok_or_else(|| invalid!("truncated GLB header ({} bytes)", bytes.len()))?;
    if version != 2 {
        return Err(Problem::Version(version.to_string()));
    }
    let length = u32_at(bytes, 8)
        .ok_or_else(|| invalid!("truncated GLB header ({} bytes)", bytes.len()))?
        as usize;
    if length > bytes.len() {
        return Err(invalid!(
            "truncated GLB: header declares {length} bytes but the file has {}",
            bytes.len()
        ));
    }
    if length < 20 {
        return Err(invalid!(
            "GLB declares a length of {length} bytes, too short for a JSON chunk"
        ));
    }
    let bytes = &bytes[..length];
    let mut pos = 12usize;
    let mut json = None;
    let mut bin = None;
    let mut index = 0usize;
    while pos < length {
        let (Some(chunk_len), Some(chunk_type)) = (u32_at(bytes, pos), u32_at(bytes, pos + 4))
        else {
            return Err(invalid!("truncated GLB chunk header at byte {pos}"));
        };
        let start = pos + 8;
        let end = start
            .checked_add(chunk_len as usize)
            .filter(|&e| e <= length)
            .ok_or_else(|| invalid!("GLB chunk {index} at byte {pos} runs past the end of the file ({start} + {chunk_len} > {length})"))?;
        let data = &bytes[start..end];
        match (index, chunk_type) {
            (0, CHUNK_JSON) => json = Some(data),
            (0, other) => {
                return Err(invalid!(
                    "first GLB chunk must be JSON, found type 0x{other:08x}"
                ))
            }
            (1, CHUNK_BIN) => bin = Some(data),
            _ => {} // unknown chunks are ignored per spec
        }
        index += 1;
        // chunks are 4-byte aligned; tolerate a missing final pad
        pos = end.saturating_add(3) & !3;
    }
    let json = json.ok_or_else(|| invalid!("GLB has no JSON chunk"))?;
    Ok(Container {
        json,
        bin,
        is_glb: true,
    })
}

/// Decode an RFC 2397 `data:` URI (base64 only).
pub(crate) fn decode_data_uri(uri: &str) -> Option<Result<Vec<u8>, String>> {
    let rest = uri.strip_prefix("data:")?;
    let Some((meta, payload)) = rest.split_once(',') else {
        return Some(Err("data URI without a ',' separator".into()));
    };
    if !meta.ends_with(";base64") {
        return Some(Err(format!("data URI '{}' is not base64-encoded", meta)));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let cleaned: Cow<'_, str> = if payload.bytes().any(|b| b.is_ascii_whitespace()) {
        Cow::Owned(
            payload
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect(),
        )
    } else {
        Cow::Borrowed(payload)
    };
    Some(
        engine
            .decode(cleaned.as_bytes())
            .map_err(|e| format!("bad base64 in data URI: {e}")),
    )
}

/// The media type of a data URI (`image/png`), if any.
pub(crate) fn data_uri_mime(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("data:")?;
    let meta = rest.split(',').next()?;
    let mime = meta.split(';').next()?;
    (!mime.is_empty()).then_some(mime)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolve a URI (data URI or relative file path) to bytes. `what` names the referrer in errors.
pub(crate) fn read_uri(uri: &str, base_dir: Option<&Path>, what: &str) -> Result<Vec<u8>, String> {
    if let Some(r) = decode_data_uri(uri) {
        return r.map_err(|e| format!("{what}: {e}"));
    }
    if uri.contains("://") {
        return Err(format!("{what}: URI '{uri}' is not a local file (only relative paths and data: URIs are supported)"));
    }
    let Some(dir) = base_dir else {
        return Err(format!(
            "{what} refers to external file '{uri}' but no base directory is known"
        ));
    };
    let rel = percent_decode(uri);
    let path = dir.join(&rel);
    std::fs::read(&path).map_err(|e| {
        format!(
            "{what}: cannot read external file '{}': {e}",
            path.display()
        )
    })
}

/// One glTF buffer's bytes.
pub(crate) enum BufData<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
    /// `EXT_meshopt_compression` fallback buffer: no data, only decompressed views refer to it.
    Fallback,
}

impl BufData<'_> {
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            BufData::Borrowed(b) => Some(b),
            BufData::Owned(v) => Some(v),
            BufData::Fallback => None,
        }
    }
}

/// Load every buffer. Returns the buffers and the total number of bytes they hold.
pub(crate) fn load_buffers<'a>(
    root: &Root,
    c: &Container<'a>,
    base_dir: Option<&Path>,
) -> Res<Vec<BufData<'a>>> {
    let mut out = Vec::with_capacity(root.buffers.len());
    for (i, b) in root.buffers.iter().enumerate() {
        let data = match &b.uri {
            _ if b.is_meshopt_fallback() => BufData::Fallback,
            None if i == 0 && c.is_glb && c.bin.is_some() => {
                BufData::Borrowed(c.bin.unwrap_or_default())
            }
            None => BufData::Fallback,
            Some(uri) => {
                let bytes =
                    read_uri(uri, base_dir, &format!("buffer {i}")).map_err(Problem::Invalid)?;
                BufData::Owned(bytes)
            }
        };
        let data = match data {
            BufData::Borrowed(s) => {
                if s.len() < b.byte_length {
                    return Err(invalid!(
                        "buffer {i} holds {} bytes but byteLength says {}",
                        s.len(),
                        b.byte_length
                    ));
                }
                BufData::Borrowed(&s[..b.byte_length])
            }
            BufData::Owned(mut v) => {
                if v.len() < b.byte_length {
                    return Err(invalid!(
                        "buffer {i} holds {} bytes but byteLength says {}",
                        v.len(),
                        b.byte_length
                    ));
                }
                v.truncate(b.byte_length);
                BufData::Owned(v)
            }
            BufData::Fallback => BufData::Fallback,
        };
        out.push(data);
    }
    Ok(out)
}
