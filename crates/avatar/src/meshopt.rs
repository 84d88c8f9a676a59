//! Pure-Rust decoder for `KHR_meshopt_compression` and `EXT_meshopt_compression` buffer views.
//!
//! Written from the bitstream description in the Khronos specifications (Appendix A: attributes
//! `0xa0` and, `KHR_meshopt_compression` only, version 1 `0xa1` with per-byte control modes and
//! 16-bit / XOR channel deltas; triangles `0xe1`; indices `0xd1`. Appendix B: the octahedral,
//! quaternion, exponential and colour filters). Every read is bounds-checked: corrupt input
//! yields an error, never a panic or an out-of-bounds access, and decoding time is linear in the
//! output.

use std::fmt;

/// Why a compressed stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeshoptError {
    /// The header byte does not match the mode (or is an unsupported version).
    Header { expected: u8, found: u8 },
    /// The stream ended before all elements were decoded.
    Truncated,
    /// Decoding finished but bytes were left over before the tail.
    TrailingData,
    /// Parameters the bitstream cannot represent.
    Invalid(&'static str),
}

impl fmt::Display for MeshoptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeshoptError::Header { expected, found } => {
                write!(
                    f,
                    "bad header byte 0x{found:02x} (expected 0x{expected:02x})"
                )
            }
            MeshoptError::Truncated => write!(f, "compressed stream is truncated"),
            MeshoptError::TrailingData => {
                write!(f, "compressed stream has unexpected trailing data")
            }
            MeshoptError::Invalid(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for MeshoptError {}

/// Compression mode of a buffer view.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Mode 0: vertex attributes.
    Attributes,
    /// Mode 1: triangle-list indices.
    Triangles,
    /// Mode 2: generic indices.
    Indices,
}

impl Mode {
    /// Parse the JSON `mode` string.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "ATTRIBUTES" => Some(Mode::Attributes),
            "TRIANGLES" => Some(Mode::Triangles),
            "INDICES" => Some(Mode::Indices),
            _ => None,
        }
    }
}

/// Post-decode filter (attributes mode only).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// No filter.
    None,
    /// Octahedral unit vectors.
    Octahedral,
    /// Max-component quaternions.
    Quaternion,
    /// Exponent/mantissa floats.
    Exponential,
    /// YCoCg colours with the precision kept in alpha's top bit (`KHR_meshopt_compression`).
    Color,
}

impl Filter {
    /// Parse the JSON `filter` string (absent means `NONE`).
    pub fn parse(s: Option<&str>) -> Option<Filter> {
        match s {
            None | Some("NONE") => Some(Filter::None),
            Some("OCTAHEDRAL") => Some(Filter::Octahedral),
            Some("QUATERNION") => Some(Filter::Quaternion),
            Some("EXPONENTIAL") => Some(Filter::Exponential),
            Some("COLOR") => Some(Filter::Color),
            _ => None,
        }
    }
}

/// Decode one buffer view: `count` elements of `stride` bytes, then apply `filter`.
pub fn decode(
    mode: Mode,
    filter: Filter,
    count: usize,
    stride: usize,
    src: &[u8],
) -> Result<Vec<u8>, MeshoptError> {
    let mut out = match mode {
        Mode::Attributes => decode_vertex_buffer(count, stride, src)?,
        Mode::Triangles => decode_index_buffer(count, stride, src)?,
        Mode::Indices => decode_index_sequence(count, stride, src)?,
    };
    if filter != Filter::None {
        if mode != Mode::Attributes {
            return Err(MeshoptError::Invalid(
                "filters are only valid in ATTRIBUTES mode",
            ));
        }
        apply_filter(filter, stride, &mut out)?;
    }
    Ok(out)
}

#[inline]
fn unzigzag8(v: u8) -> u8 {
    (0u8.wrapping_sub(v & 1)) ^ (v >> 1)
}

/// Bits per delta of a group, by its 2-bit header: version 0, then version 1 under byte control
/// modes 0 and 1 (8: the 16 bytes are stored as they are).
const GROUP_BITS: [[u8; 4]; 3] = [[0, 2, 4, 8], [0, 1, 2, 4], [1, 2, 4, 8]];

/// The most output bytes one compressed byte can stand for, by the stream's header byte:
/// version 1 attribute streams (`0xa1`) reach 1024 (one control byte for four constant planes of
/// 256 elements), every other stream 64 (version 0 attributes: a 2-bit header for an all-zero
/// group of 16 bytes; the index codecs spend at least a byte per triangle or index).
pub fn max_ratio(src: &[u8]) -> usize {
    if src.first() == Some(&0xa1) {
        1024
    } else {
        64
    }
}

/// Mode 0: attributes (header `0xa0`, or `0xa1` for version 1).
///
/// Each block of up to 256 elements stores its bytes as `stride` planes of per-element deltas.
/// Version 1 adds, per block, a 2-bit control mode per plane (0 and 1 pick a table of group
/// encodings, 2: all deltas zero, 3: deltas stored raw), and, per 4-byte channel, how the deltas
/// combine (0: bytes, 1: 16-bit words, 2: 32-bit XOR after a rotation) in the stream's tail.
pub fn decode_vertex_buffer(
    count: usize,
    stride: usize,
    src: &[u8],
) -> Result<Vec<u8>, MeshoptError> {
    if stride == 0 || stride > 256 {
        return Err(MeshoptError::Invalid(
            "attribute byteStride must be 1..=256",
        ));
    }
    let first = *src.first().ok_or(MeshoptError::Truncated)?;
    let v1 = match first {
        0xa0 => false,
        0xa1 => true,
        _ => {
            return Err(MeshoptError::Header {
                expected: 0xa1,
                found: first,
            })
        }
    };
    if v1 && !stride.is_multiple_of(4) {
        return Err(MeshoptError::Invalid(
            "version 1 attribute streams need a byteStride divisible by 4",
        ));
    }
    let ctrl_len = if v1 { stride / 4 } else { 0 };
    // The tail: the first element's bytes (what the deltas start from), then version 1's
    // channel modes; padded to 32 bytes (version 0) or 24 (version 1).
    let tail_len = stride + ctrl_len;
    let tail = tail_len.max(if v1 { 24 } else { 32 });
    if src.len() < 1 + tail {
        return Err(MeshoptError::Truncated);
    }
    let total = count
        .checked_mul(stride)
        .ok_or(MeshoptError::Invalid("element count overflows"))?;
    // Reject sizes no stream of this length can hold before allocating.
    if total / max_ratio(src) > src.len() {
        return Err(MeshoptError::Truncated);
    }
    let data_end = src.len() - tail;
    let mut last = [0u8; 256];
    last[..stride].copy_from_slice(&src[src.len() - tail_len..src.len() - tail_len + stride]);
    let channels = &src[src.len() - ctrl_len..];
    if channels.iter().any(|&c| c & 3 == 3) {
        return Err(MeshoptError::Invalid("channel mode 3 is reserved"));
    }
    let block_max = ((8192 / stride) & !15).min(256);
    let mut out = vec![0u8; total];
    // One block's deltas, plane by plane (`aligned` per plane): at most 8192 + 15·stride bytes.
    let mut deltas = vec![0u8; (block_max + 15) * stride];
    let mut pos = 1usize;
    let mut offset = 0usize;
    while offset < count {
        let n = block_max.min(count - offset);
        let aligned = (n + 15) & !15;
        let ctrl = src
            .get(pos..pos + ctrl_len)
            .filter(|_| pos + ctrl_len <= data_end)
            .ok_or(MeshoptError::Truncated)?;
        pos += ctrl_len;
        for k in 0..stride {
            let plane = &mut deltas[k * aligned..(k + 1) * aligned];
            let mode = if v1 {
                (ctrl[k / 4] >> ((k % 4) * 2)) & 3
            } else {
                0
            };
            pos = match mode {
                2 => {
                    plane.fill(0);
                    pos
                }
                3 => {
                    let raw = src
                        .get(pos..pos + n)
                        .filter(|_| pos + n <= data_end)
                        .ok_or(MeshoptError::Truncated)?;
                    plane[..n].copy_from_slice(raw);
                    pos + n
                }
                m => {
                    let bits = &GROUP_BITS[if v1 { 1 + m as usize } else { 0 }];
                    decode_bytes(src, pos, data_end, plane, bits)?
                }
            };
        }
        let block = &mut out[offset * stride..(offset + n) * stride];
        let d = |k: usize, i: usize| deltas[k * aligned + i];
        for (i, e) in block.chunks_exact_mut(stride).enumerate() {
            for c in (0..stride).step_by(4) {
                let width = (stride - c).min(4);
                let mode = if v1 { channels[c / 4] } else { 0 };
                match mode & 3 {
                    0 => {
                        for k in c..c + width {
                            last[k] = unzigzag8(d(k, i)).wrapping_add(last[k]);
                            e[k] = last[k];
                        }
                    }
                    1 => {
                        for k in [c, c + 2] {
                            let delta = u16::from_le_bytes([d(k, i), d(k + 1, i)]);
                            let delta = (delta >> 1) ^ 0u16.wrapping_sub(delta & 1);
                            let v = u16::from_le_bytes([last[k], last[k + 1]]).wrapping_add(delta);
                            last[k..k + 2].copy_from_slice(&v.to_le_bytes());
                            e[k..k + 2].copy_from_slice(&v.to_le_bytes());
                        }
                    }
                    _ => {
                        let delta =
                            u32::from_le_bytes([d(c, i), d(c + 1, i), d(c + 2, i), d(c + 3, i)]);
                        let prev =
                            u32::from_le_bytes([last[c], last[c + 1], last[c + 2], last[c + 3]]);
                        let v = prev ^ delta.rotate_right((mode >> 4) as u32);
                        last[c..c + 4].copy_from_slice(&v.to_le_bytes());
                        e[c..c + 4].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
        offset += n;
    }
    if pos != data_end {
        return Err(MeshoptError::TrailingData);
    }
    Ok(out)
}

/// One plane of a block: 2-bit headers for each group of 16 bytes, then the groups, each
/// encoded with `bits[header]` bits per delta.
fn decode_bytes(
    src: &[u8],
    mut pos: usize,
    end: usize,
    buf: &mut [u8],
    bits: &[u8; 4],
) -> Result<usize, MeshoptError> {
    let groups = buf.len() / 16;
    let header_size = groups.div_ceil(4);
    if end.saturating_sub(pos) < header_size {
        return Err(MeshoptError::Truncated);
    }
    let header = &src[pos..pos + header_size];
    pos += header_size;
    for g in 0..groups {
        let h = (header[g / 4] >> ((g % 4) * 2)) & 3;
        let out = &mut buf[g * 16..g * 16 + 16];
        pos = match bits[h as usize] {
            0 => {
                out.fill(0);
                pos
            }
            8 => {
                let raw = src
                    .get(pos..pos + 16)
                    .filter(|_| pos + 16 <= end)
                    .ok_or(MeshoptError::Truncated)?;
                out.copy_from_slice(raw);
                pos + 16
            }
            b => decode_sentinel_group(src, pos, end, out, b as u32)?,
        };
    }
    Ok(pos)
}

/// 16 deltas of `bits` (1, 2 or 4) bits; all-ones means "explicit byte follows". Two- and
/// four-bit deltas are packed most significant first, one-bit deltas (version 1) least
/// significant first.
fn decode_sentinel_group(
    src: &[u8],
    pos: usize,
    end: usize,
    out: &mut [u8],
    bits: u32,
) -> Result<usize, MeshoptError> {
    let packed_len = (16 * bits as usize) / 8;
    if end.saturating_sub(pos) < packed_len {
        return Err(MeshoptError::Truncated);
    }
    let packed = &src[pos..pos + packed_len];
    let per_byte = 8 / bits as usize;
    let sentinel = (1u8 << bits) - 1;
    let mut extra = pos + packed_len;
    for (i, o) in out.iter_mut().enumerate() {
        let byte = packed[i / per_byte];
        let shift = if bits == 1 {
            i % 8
        } else {
            8 - bits as usize * (i % per_byte + 1)
        };
        let enc = (byte >> shift) & sentinel;
        if enc == sentinel {
            if extra >= end {
                return Err(MeshoptError::Truncated);
            }
            *o = src[extra];
            extra += 1;
        } else {
            *o = enc;
        }
    }
    Ok(extra)
}

fn write_index(out: &mut [u8], i: usize, size: usize, v: u32) {
    if size == 2 {
        out[i * 2..i * 2 + 2].copy_from_slice(&(v as u16).to_le_bytes());
    } else {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
}

/// Bounds-checked byte reader over `src[..end]`.
struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
    end: usize,
}

impl Reader<'_> {
    #[inline]
    fn byte(&mut self) -> Result<u8, MeshoptError> {
        if self.pos >= self.end {
            return Err(MeshoptError::Truncated);
        }
        let b = self.src[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// Unsigned LEB128, at most 5 bytes (32 bits).
    fn vbyte(&mut self) -> Result<u32, MeshoptError> {
        let lead = self.byte()?;
        if lead < 128 {
            return Ok(lead as u32);
        }
        let mut result = (lead & 127) as u32;
        let mut shift = 7;
        for _ in 0..4 {
            let group = self.byte()?;
            result |= ((group & 127) as u32).wrapping_shl(shift);
            shift += 7;
            if group < 128 {
                break;
            }
        }
        Ok(result)
    }
}

fn decode_delta_index(r: &mut Reader<'_>, last: u32) -> Result<u32, MeshoptError> {
    let v = r.vbyte()?;
    let delta = if v & 1 != 0 { !(v >> 1) } else { v >> 1 };
    Ok(last.wrapping_add(delta))
}

/// Mode 1: triangles (header `0xe1`; `0xe0` is accepted too).
pub fn decode_index_buffer(
    count: usize,
    index_size: usize,
    src: &[u8],
) -> Result<Vec<u8>, MeshoptError> {
    if !count.is_multiple_of(3) {
        return Err(MeshoptError::Invalid(
            "TRIANGLES count must be a multiple of 3",
        ));
    }
    if index_size != 2 && index_size != 4 {
        return Err(MeshoptError::Invalid("TRIANGLES byteStride must be 2 or 4"));
    }
    let first = *src.first().ok_or(MeshoptError::Truncated)?;
    if first & 0xf0 != 0xe0 || first & 0x0f > 1 {
        return Err(MeshoptError::Header {
            expected: 0xe1,
            found: first,
        });
    }
    if src.len() < (count / 3).saturating_add(17) {
        return Err(MeshoptError::Truncated);
    }
    let version = first & 0x0f;
    let fecmax: u8 = if version >= 1 { 13 } else { 15 };
    let mut out = vec![0u8; count * index_size];
    let mut edgefifo = [[u32::MAX; 2]; 16];
    let mut vertexfifo = [u32::MAX; 16];
    let mut eo = 0usize;
    let mut vo = 0usize;
    let mut next: u32 = 0;
    let mut last: u32 = 0;
    let codes = &src[1..1 + count / 3];
    let data_safe_end = src.len() - 16;
    let codeaux_table = &src[data_safe_end..];
    let mut r = Reader {
        src,
        pos: 1 + count / 3,
        end: data_safe_end,
    };

    macro_rules! push_vertex {
        ($v:expr, $cond:expr) => {{
            vertexfifo[vo] = $v;
            vo = (vo + ($cond as usize)) & 15;
        }};
    }
    macro_rules! push_edge {
        ($a:expr, $b:expr) => {{
            edgefifo[eo] = [$a, $b];
            eo = (eo + 1) & 15;
        }};
    }

    for (t, &codetri) in codes.iter().enumerate() {
        let i = t * 3;
        if codetri < 0xf0 {
            let fe = (codetri >> 4) as usize;
            let [a, b] = edgefifo[(eo.wrapping_sub(1 + fe)) & 15];
            let fec = codetri & 15;
            if fec < fecmax {
                let c = if fec == 0 {
                    next
                } else {
                    vertexfifo[(vo.wrapping_sub(1 + fec as usize)) & 15]
                };
                let fec0 = fec == 0;
                next = next.wrapping_add(fec0 as u32);
                write_index(&mut out, i, index_size, a);
                write_index(&mut out, i + 1, index_size, b);
                write_index(&mut out, i + 2, index_size, c);
                push_vertex!(c, fec0);
                push_edge!(c, b);
                push_edge!(a, c);
            } else {
                let c = if fec != 15 {
                    // 13 -> last - 1, 14 -> last + 1
                    if fec == 13 {
                        last.wrapping_sub(1)
                    } else {
                        last.wrapping_add(1)
                    }
                } else {
                    decode_delta_index(&mut r, last)?
                };
                last = c;
                write_index(&mut out, i, index_size, a);
                write_index(&mut out, i + 1, index_size, b);
                write_index(&mut out, i + 2, index_size, c);
                push_vertex!(c, true);
                push_edge!(c, b);
                push_edge!(a, c);
            }
        } else if codetri < 0xfe {
            let codeaux = codeaux_table[(codetri & 15) as usize];
            let feb = (codeaux >> 4) as usize;
            let fec = (codeaux & 15) as usize;
            let a = next;
            next = next.wrapping_add(1);
            let b = if feb == 0 {
                next
            } else {
                vertexfifo[(vo.wrapping_sub(feb)) & 15]
            };
            next = next.wrapping_add((feb == 0) as u32);
            let c = if fec == 0 {
                next
            } else {
                vertexfifo[(vo.wrapping_sub(fec)) & 15]
            };
            next = next.wrapping_add((fec == 0) as u32);
            write_index(&mut out, i, index_size, a);
            write_index(&mut out, i + 1, index_size, b);
            write_index(&mut out, i + 2, index_size, c);
            push_vertex!(a, true);
            push_vertex!(b, feb == 0);
            push_vertex!(c, fec == 0);
            push_edge!(b, a);
            push_edge!(c, b);
            push_edge!(a, c);
        } else {
            let codeaux = r.byte()?;
            let fea = if codetri == 0xfe { 0 } else { 15 };
            let feb = (codeaux >> 4) as usize;
            let fec = (codeaux & 15) as usize;
            if codeaux == 0 {
                next = 0;
            }
            let mut a = 0;
            if fea == 0 {
                a = next;
                next = next.wrapping_add(1);
            }
            let mut b = if feb == 0 {
                let v = next;
                next = next.wrapping_add(1);
                v
            } else {
                vertexfifo[(vo.wrapping_sub(feb)) & 15]
            };
            let mut c = if fec == 0 {
                let v = next;
                next = next.wrapping_add(1);
                v
            } else {
                vertexfifo[(vo.wrapping_sub(fec)) & 15]
            };
            if fea == 15 {
                a = decode_delta_index(&mut r, last)?;
                last = a;
            }
            if feb == 15 {
                b = decode_delta_index(&mut r, last)?;
                last = b;
            }
            if fec == 15 {
                c = decode_delta_index(&mut r, last)?;
                last = c;
            }
            write_index(&mut out, i, index_size, a);
            write_index(&mut out, i + 1, index_size, b);
            write_index(&mut out, i + 2, index_size, c);
            push_vertex!(a, true);
            push_vertex!(b, feb == 0 || feb == 15);
            push_vertex!(c, fec == 0 || fec == 15);
            push_edge!(b, a);
            push_edge!(c, b);
            push_edge!(a, c);
        }
    }
    if r.pos != data_safe_end {
        return Err(MeshoptError::TrailingData);
    }
    Ok(out)
}

/// Mode 2: index sequence (header `0xd1`; `0xd0` is accepted too).
pub fn decode_index_sequence(
    count: usize,
    index_size: usize,
    src: &[u8],
) -> Result<Vec<u8>, MeshoptError> {
    if index_size != 2 && index_size != 4 {
        return Err(MeshoptError::Invalid("INDICES byteStride must be 2 or 4"));
    }
    let first = *src.first().ok_or(MeshoptError::Truncated)?;
    if first & 0xf0 != 0xd0 || first & 0x0f > 1 {
        return Err(MeshoptError::Header {
            expected: 0xd1,
            found: first,
        });
    }
    if src.len() < count.saturating_add(5) {
        return Err(MeshoptError::Truncated);
    }
    let data_safe_end = src.len() - 4;
    let mut r = Reader {
        src,
        pos: 1,
        end: data_safe_end,
    };
    let mut out = vec![0u8; count * index_size];
    let mut last = [0u32; 2];
    for i in 0..count {
        let v = r.vbyte()?;
        let current = (v & 1) as usize;
        let v = v >> 1;
        let d = (v >> 1) ^ 0u32.wrapping_sub(v & 1);
        let index = last[current].wrapping_add(d);
        last[current] = index;
        write_index(&mut out, i, index_size, index);
    }
    if r.pos != data_safe_end {
        return Err(MeshoptError::TrailingData);
    }
    Ok(out)
}

/// Apply an attribute filter in place.
pub fn apply_filter(filter: Filter, stride: usize, data: &mut [u8]) -> Result<(), MeshoptError> {
    match filter {
        Filter::None => {}
        Filter::Octahedral if stride == 4 => {
            for e in data.chunks_exact_mut(4) {
                let v = [e[0] as i8 as f32, e[1] as i8 as f32, e[2] as i8 as f32];
                let [x, y, z] = octahedral(v, 127.0);
                e[0] = x as i8 as u8;
                e[1] = y as i8 as u8;
                e[2] = z as i8 as u8;
            }
        }
        Filter::Octahedral if stride == 8 => {
            for e in data.chunks_exact_mut(8) {
                let r = |i: usize| i16::from_le_bytes([e[i * 2], e[i * 2 + 1]]) as f32;
                let v = [r(0), r(1), r(2)];
                let out = octahedral(v, 32767.0);
                for (i, o) in out.iter().enumerate() {
                    e[i * 2..i * 2 + 2].copy_from_slice(&(*o as i16).to_le_bytes());
                }
            }
        }
        Filter::Octahedral => {
            return Err(MeshoptError::Invalid(
                "OCTAHEDRAL filter needs byteStride 4 or 8",
            ))
        }
        Filter::Quaternion if stride == 8 => {
            let range = std::f32::consts::FRAC_1_SQRT_2;
            for e in data.chunks_exact_mut(8) {
                let c = |i: usize| i16::from_le_bytes([e[i * 2], e[i * 2 + 1]]);
                let (c0, c1, c2, c3) = (c(0), c(1), c(2), c(3));
                let one = (c3 | 3) as f32;
                let x = c0 as f32 / one * range;
                let y = c1 as f32 / one * range;
                let z = c2 as f32 / one * range;
                let w = (1.0 - x * x - y * y - z * z).max(0.0).sqrt();
                let maxcomp = (c3 & 3) as usize;
                let mut out = [0i16; 4];
                out[(maxcomp + 1) % 4] = round_i(x * 32767.0) as i16;
                out[(maxcomp + 2) % 4] = round_i(y * 32767.0) as i16;
                out[(maxcomp + 3) % 4] = round_i(z * 32767.0) as i16;
                out[maxcomp] = round_i(w * 32767.0) as i16;
                for (i, o) in out.iter().enumerate() {
                    e[i * 2..i * 2 + 2].copy_from_slice(&o.to_le_bytes());
                }
            }
        }
        Filter::Quaternion => {
            return Err(MeshoptError::Invalid(
                "QUATERNION filter needs byteStride 8",
            ))
        }
        Filter::Exponential if stride.is_multiple_of(4) => {
            for e in data.chunks_exact_mut(4) {
                let v = i32::from_le_bytes([e[0], e[1], e[2], e[3]]);
                let exp = (v >> 24).clamp(-126, 127);
                let m = (v << 8) >> 8;
                let f = m as f32 * f32::from_bits(((exp + 127) as u32) << 23);
                e.copy_from_slice(&f.to_le_bytes());
            }
        }
        Filter::Exponential => {
            return Err(MeshoptError::Invalid(
                "EXPONENTIAL filter needs byteStride divisible by 4",
            ))
        }
        Filter::Color if stride == 4 => {
            for e in data.chunks_exact_mut(4) {
                let rgba = color(
                    [
                        e[0] as i32,
                        e[1] as i8 as i32,
                        e[2] as i8 as i32,
                        e[3] as i32,
                    ],
                    8,
                );
                for (o, v) in e.iter_mut().zip(rgba) {
                    *o = v as u8;
                }
            }
        }
        Filter::Color if stride == 8 => {
            for e in data.chunks_exact_mut(8) {
                let w = |i: usize| u16::from_le_bytes([e[2 * i], e[2 * i + 1]]);
                let rgba = color(
                    [
                        w(0) as i32,
                        w(1) as i16 as i32,
                        w(2) as i16 as i32,
                        w(3) as i32,
                    ],
                    16,
                );
                for (i, v) in rgba.iter().enumerate() {
                    e[2 * i..2 * i + 2].copy_from_slice(&(*v as u16).to_le_bytes());
                }
            }
        }
        Filter::Color => {
            return Err(MeshoptError::Invalid(
                "COLOR filter needs byteStride 4 or 8",
            ))
        }
    }
    Ok(())
}

/// One colour of the COLOR filter: `[Y, Co, Cg, A]` (Co and Cg signed) of `bits`-bit components
/// → RGBA at full `bits` range. Alpha's highest set bit marks the precision the encoder used
/// (its other bits are alpha, one bit short, the last bit repeated); the channels are scaled from
/// that precision to the full range. Out-of-range results of corrupt input are clamped; an alpha
/// of 0 (no precision bit, which no encoder writes) gives zeros.
fn color([y, co, cg, a]: [i32; 4], bits: u32) -> [u32; 4] {
    // `a` is 0..=65535: its highest set bit is below 16.
    let a = a as u32;
    if a == 0 {
        return [0; 4];
    }
    let max = ((1u64 << bits) - 1) as f64;
    let top = 31 - a.leading_zeros();
    let scale_max = ((1u64 << (top + 1)) - 1) as u32;
    let rgb = [y + co - cg, y + cg, y - co - cg];
    let alpha = a & (scale_max >> 1);
    let alpha = (alpha << 1) | (alpha & 1);
    let s = max / scale_max as f64;
    let q = |v: f64| (v * s).round().clamp(0.0, max) as u32;
    [
        q(rgb[0] as f64),
        q(rgb[1] as f64),
        q(rgb[2] as f64),
        q(alpha as f64),
    ]
}

#[inline]
fn round_i(v: f32) -> i32 {
    (v + if v >= 0.0 { 0.5 } else { -0.5 }) as i32
}

/// Octahedral decode of (x, y, one) to a unit vector scaled by `max`.
fn octahedral(v: [f32; 3], max: f32) -> [i32; 3] {
    let one = v[2];
    if one == 0.0 {
        return [0, 0, 0];
    }
    let mut x = v[0] / one;
    let mut y = v[1] / one;
    let z = 1.0 - x.abs() - y.abs();
    let t = z.min(0.0);
    x -= t.copysign(x);
    y -= t.copysign(y);
    let len = (x * x + y * y + z * z).sqrt();
    if len == 0.0 || !len.is_finite() {
        return [0, 0, 0];
    }
    let s = max / len;
    [round_i(x * s), round_i(y * s), round_i(z * s)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unzigzag_matches_spec_example() {
        // 4-bit sentinel example from the specification.
        let mut stream = vec![0x17, 0x5f, 0xf0, 0xbc, 0x77, 0xa9, 0x21, 0x00, 0x34, 0xb5];
        stream.extend_from_slice(&[0; 8]);
        let mut out = [0u8; 16];
        let end = decode_sentinel_group(&stream, 0, stream.len(), &mut out, 4).unwrap();
        assert_eq!(end, 10);
        let deltas: Vec<i8> = out.iter().map(|&d| unzigzag8(d) as i8).collect();
        assert_eq!(
            deltas,
            [-1, -4, -3, 26, -91, 0, -6, 6, -4, -4, 5, -5, 1, -1, 0, 0]
        );
    }

    #[test]
    fn index_sequence_roundtrip_small() {
        // 0xd1, deltas for [0, 1, 2] on baseline 0: v = (zigzag(d) << 1) | 0
        let src = [0xd1, 0, 4, 4, 0, 0, 0, 0];
        let out = decode_index_sequence(3, 2, &src).unwrap();
        assert_eq!(out, [0, 0, 1, 0, 2, 0]);
    }

    #[test]
    fn exponential_filter() {
        // e = -2, m = 6 -> 1.5
        let v: i32 = (-2i32 << 24) | 6;
        let mut d = v.to_le_bytes().to_vec();
        apply_filter(Filter::Exponential, 4, &mut d).unwrap();
        assert_eq!(f32::from_le_bytes([d[0], d[1], d[2], d[3]]), 1.5);
    }

    fn i16s(v: &[i16]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn read_i16s(b: &[u8]) -> Vec<i16> {
        b.chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn octahedral_filter_8_and_16_bit() {
        // +Z, and the folded corner that encodes -Z; the 4th component passes through
        let mut d = vec![0u8, 0, 127, 9, 127, 127, 127, 0xff];
        apply_filter(Filter::Octahedral, 4, &mut d).unwrap();
        assert_eq!(d, [0, 0, 127, 9, 0, 0, (-127i8) as u8, 0xff]);
        // +X with 10-bit precision (one = 511) in 16-bit storage
        let mut d = i16s(&[511, 0, 511, 7]);
        apply_filter(Filter::Octahedral, 8, &mut d).unwrap();
        assert_eq!(read_i16s(&d), [32767, 0, 0, 7]);
    }

    #[test]
    fn quaternion_filter() {
        // identity: max component w (index 3), K = 16
        let mut d = i16s(&[0, 0, 0, 32767]);
        apply_filter(Filter::Quaternion, 8, &mut d).unwrap();
        assert_eq!(read_i16s(&d), [0, 0, 0, 32767]);
        // (0.6, 0, 0, 0.8): x stored scaled by sqrt(2)
        let x = (0.6f32 * std::f32::consts::SQRT_2 * 32767.0).round() as i16;
        let mut d = i16s(&[x, 0, 0, 32767]);
        apply_filter(Filter::Quaternion, 8, &mut d).unwrap();
        let q = read_i16s(&d);
        assert!(
            (q[0] - 19660).abs() <= 1 && q[1] == 0 && q[2] == 0 && (q[3] - 26214).abs() <= 1,
            "{q:?}"
        );
        // max component x (index 0): the stored three are y, z, w
        let mut d = i16s(&[0, 0, 0, 32767 & !3]);
        apply_filter(Filter::Quaternion, 8, &mut d).unwrap();
        assert_eq!(read_i16s(&d), [32767, 0, 0, 0]);
    }

    #[test]
    fn corrupt_streams_error_not_panic() {
        for len in 0..64 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = decode_vertex_buffer(100, 12, &junk);
            let _ = decode_index_buffer(99, 2, &junk);
            let _ = decode_index_sequence(50, 4, &junk);
            let mut a = vec![0xa0];
            a.extend_from_slice(&junk);
            let _ = decode_vertex_buffer(100, 12, &a);
            let mut t = vec![0xe1];
            t.extend_from_slice(&junk);
            let _ = decode_index_buffer(30, 4, &t);
        }
    }
}
