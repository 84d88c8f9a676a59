//! Buffer views (plain, `KHR_meshopt_compression` or `EXT_meshopt_compression`) and accessors
//! (dense, sparse, normalized).

use crate::container::BufData;
use crate::error::{invalid, Res};
use crate::gltf::{Accessor, Root};
use crate::meshopt;
use std::cell::{Cell, OnceCell};

pub(crate) const I8: u32 = 5120;
pub(crate) const U8: u32 = 5121;
pub(crate) const I16: u32 = 5122;
pub(crate) const U16: u32 = 5123;
pub(crate) const U32: u32 = 5125;
pub(crate) const F32: u32 = 5126;

fn comp_size(ct: u32) -> Option<usize> {
    match ct {
        I8 | U8 => Some(1),
        I16 | U16 => Some(2),
        U32 | F32 => Some(4),
        _ => None,
    }
}

fn comp_name(ct: u32) -> &'static str {
    match ct {
        I8 => "BYTE",
        U8 => "UNSIGNED_BYTE",
        I16 => "SHORT",
        U16 => "UNSIGNED_SHORT",
        U32 => "UNSIGNED_INT",
        F32 => "FLOAT",
        _ => "unknown",
    }
}

/// (columns, rows) of an accessor type.
fn type_shape(kind: &str) -> Option<(usize, usize)> {
    match kind {
        "SCALAR" => Some((1, 1)),
        "VEC2" => Some((1, 2)),
        "VEC3" => Some((1, 3)),
        "VEC4" => Some((1, 4)),
        "MAT2" => Some((2, 2)),
        "MAT3" => Some((3, 3)),
        "MAT4" => Some((4, 4)),
        _ => None,
    }
}

/// Byte layout of one accessor element.
#[derive(Copy, Clone, Debug)]
struct Layout {
    cols: usize,
    rows: usize,
    cs: usize,
    /// Byte stride between columns (matrices pad columns to 4 bytes).
    col_stride: usize,
    elem_size: usize,
}

impl Layout {
    fn comps(&self) -> usize {
        self.cols * self.rows
    }
}

/// Sparse-only accessor contents: indices (ascending after sorting) and their values.
pub(crate) struct SparseData {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

/// Accessor contents for morph targets.
pub(crate) enum MorphData {
    Dense(Vec<f32>),
    Sparse(SparseData),
}

/// Read access to the file's binary data.
pub(crate) struct Data<'a> {
    root: &'a Root,
    buffers: Vec<BufData<'a>>,
    meshopt: Vec<OnceCell<Vec<u8>>>,
    /// Bytes still allowed for decompressed meshopt views.
    meshopt_budget: Cell<usize>,
    /// Max element count for accessors without a buffer view.
    no_view_limit: usize,
    /// Bytes still allowed for decoded data (bounds memory and time by the input size, so that
    /// many primitives referencing one large accessor cannot amplify a small file).
    decode_budget: Cell<usize>,
}

impl<'a> Data<'a> {
    pub fn new(root: &'a Root, buffers: Vec<BufData<'a>>, input_len: usize) -> Self {
        let meshopt = (0..root.buffer_views.len())
            .map(|_| OnceCell::new())
            .collect();
        Data {
            root,
            buffers,
            meshopt,
            meshopt_budget: Cell::new(input_len.saturating_mul(256).saturating_add(16 << 20)),
            no_view_limit: input_len.saturating_mul(4).saturating_add(4096),
            decode_budget: Cell::new(input_len.saturating_mul(64).saturating_add(256 << 20)),
        }
    }

    /// Account for `bytes` of decoded output; fails once the input-proportional budget is spent.
    pub fn charge(&self, bytes: usize, what: impl FnOnce() -> String) -> Res<()> {
        let left = self.decode_budget.get();
        if bytes > left {
            return Err(invalid!(
                "{}: decoded data exceeds the loader's limit for a file of this size",
                what()
            ));
        }
        self.decode_budget.set(left - bytes);
        Ok(())
    }

    fn buffer(&self, b: usize, what: &str) -> Res<&[u8]> {
        let buf = self.buffers.get(b).ok_or_else(|| {
            invalid!(
                "{what} refers to buffer {b}, which does not exist ({} buffers)",
                self.buffers.len()
            )
        })?;
        buf.bytes().ok_or_else(|| {
            invalid!("{what} reads buffer {b}, which has no data (a meshopt compression fallback buffer or a missing GLB BIN chunk)")
        })
    }

    /// The bytes of buffer view `i` (decompressed when it uses meshopt compression).
    pub fn view(&self, i: usize) -> Res<&[u8]> {
        let bv = self.root.buffer_views.get(i).ok_or_else(|| {
            invalid!(
                "buffer view {i} does not exist ({} buffer views)",
                self.root.buffer_views.len()
            )
        })?;
        if let Some((m, ext)) = bv.extensions.meshopt() {
            if let Some(v) = self.meshopt[i].get() {
                return Ok(v);
            }
            let what = format!("buffer view {i} ({ext})");
            let mode = meshopt::Mode::parse(&m.mode)
                .ok_or_else(|| invalid!("{what}: unknown mode '{}'", m.mode))?;
            let filter = meshopt::Filter::parse(m.filter.as_deref()).ok_or_else(|| {
                invalid!(
                    "{what}: unknown filter '{}'",
                    m.filter.as_deref().unwrap_or("")
                )
            })?;
            if let Some(s) = bv.byte_stride {
                if s != m.byte_stride {
                    return Err(invalid!(
                        "{what}: byteStride {} differs from the view's byteStride {s}",
                        m.byte_stride
                    ));
                }
            }
            let size = m
                .count
                .checked_mul(m.byte_stride)
                .filter(|&s| s == bv.byte_length)
                .ok_or_else(|| {
                    invalid!(
                        "{what}: count {} x byteStride {} != byteLength {}",
                        m.count,
                        m.byte_stride,
                        bv.byte_length
                    )
                })?;
            let src = self.buffer(m.buffer, &what)?;
            let end = m
                .byte_offset
                .checked_add(m.byte_length)
                .filter(|&e| e <= src.len())
                .ok_or_else(|| {
                    invalid!(
                        "{what} reads past the end of buffer {} (offset {} + {} > {})",
                        m.buffer,
                        m.byte_offset,
                        m.byte_length,
                        src.len()
                    )
                })?;
            let src = &src[m.byte_offset..end];
            // Twice the codec's largest ratio: a clear error for absurd sizes before the
            // budget is charged (the decoders check the exact bound themselves).
            let ratio = 2 * meshopt::max_ratio(src);
            if size > src.len().saturating_mul(ratio).saturating_add(4096) {
                return Err(invalid!(
                    "{what}: {size} bytes cannot come from {} compressed bytes",
                    src.len()
                ));
            }
            let budget = self.meshopt_budget.get();
            if size > budget {
                return Err(invalid!(
                    "{what}: decompressed data exceeds the loader's limit"
                ));
            }
            self.meshopt_budget.set(budget - size);
            let out = meshopt::decode(mode, filter, m.count, m.byte_stride, src)
                .map_err(|e| invalid!("{what}: {e}"))?;
            let _ = self.meshopt[i].set(out);
            return self.meshopt[i]
                .get()
                .map(|v| v.as_slice())
                .ok_or_else(|| invalid!("{what}: internal cache error"));
        }
        let what = format!("buffer view {i}");
        let buf = self.buffer(bv.buffer, &what)?;
        let end = bv
            .byte_offset
            .checked_add(bv.byte_length)
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| {
                invalid!(
                    "buffer view {i} reads past the end of buffer {} (offset {} + {} > {})",
                    bv.buffer,
                    bv.byte_offset,
                    bv.byte_length,
                    buf.len()
                )
            })?;
        Ok(&buf[bv.byte_offset..end])
    }

    /// Bytes of decoded output still allowed (see [`charge`](Self::charge)).
    pub fn budget_left(&self) -> usize {
        self.decode_budget.get()
    }

    pub fn accessor(&self, i: usize) -> Res<&'a Accessor> {
        self.root.accessors.get(i).ok_or_else(|| {
            invalid!(
                "accessor {i} does not exist ({} accessors)",
                self.root.accessors.len()
            )
        })
    }

    fn layout(&self, i: usize, a: &Accessor) -> Res<Layout> {
        let (cols, rows) = type_shape(&a.kind)
            .ok_or_else(|| invalid!("accessor {i} has unknown type '{}'", a.kind))?;
        let cs = comp_size(a.component_type).ok_or_else(|| {
            invalid!(
                "accessor {i} has unknown componentType {}",
                a.component_type
            )
        })?;
        let col_stride = if cols > 1 {
            (rows * cs + 3) & !3
        } else {
            rows * cs
        };
        Ok(Layout {
            cols,
            rows,
            cs,
            col_stride,
            elem_size: cols * col_stride,
        })
    }

    /// Element count and component count of accessor `i`.
    pub fn shape(&self, i: usize) -> Res<(usize, usize)> {
        let a = self.accessor(i)?;
        let l = self.layout(i, a)?;
        Ok((a.count, l.comps()))
    }

    /// Check the accessor's element type; `allowed` lists accepted types.
    pub fn expect_type(&self, i: usize, allowed: &[&str], what: &str) -> Res<()> {
        let a = self.accessor(i)?;
        if allowed.contains(&a.kind.as_str()) {
            Ok(())
        } else {
            Err(invalid!(
                "{what}: accessor {i} has type {} (expected {})",
                a.kind,
                allowed.join(" or ")
            ))
        }
    }

    /// Dense element bytes of accessor `i`: (view, offset of element 0, stride), bounds-checked.
    fn dense_source(
        &self,
        i: usize,
        a: &Accessor,
        l: &Layout,
    ) -> Res<Option<(&[u8], usize, usize)>> {
        let Some(bvi) = a.buffer_view else {
            if a.count > self.no_view_limit {
                return Err(invalid!(
                    "accessor {i} has count {} without a buffer view (limit {})",
                    a.count,
                    self.no_view_limit
                ));
            }
            return Ok(None);
        };
        let view = self.view(bvi)?;
        let bv = &self.root.buffer_views[bvi];
        let stride = match bv.byte_stride {
            Some(s) if s > 0 => s,
            _ => l.elem_size,
        };
        if stride < l.elem_size {
            return Err(invalid!("accessor {i}: buffer view {bvi} byteStride {stride} is smaller than the element size {}", l.elem_size));
        }
        if a.count > 0 {
            let need = (a.count - 1)
                .checked_mul(stride)
                .and_then(|n| n.checked_add(l.elem_size))
                .ok_or_else(|| invalid!("accessor {i}: count {} overflows", a.count))?;
            if a.byte_offset
                .checked_add(need)
                .is_none_or(|e| e > view.len())
            {
                return Err(invalid!(
                    "accessor {i} reads past the end of buffer view {bvi} (offset {} + {need} > {})",
                    a.byte_offset,
                    view.len()
                ));
            }
        }
        Ok(Some((view, a.byte_offset, stride)))
    }

    /// Read the sparse substitution list of accessor `i` (indices, values as f32).
    fn sparse_part(
        &self,
        i: usize,
        a: &Accessor,
        l: &Layout,
        conv: fn(&[u8]) -> f32,
    ) -> Res<Option<SparseData>> {
        let Some(sp) = &a.sparse else { return Ok(None) };
        if sp.count > a.count {
            return Err(invalid!(
                "accessor {i}: sparse count {} exceeds accessor count {}",
                sp.count,
                a.count
            ));
        }
        let ics = match sp.indices.component_type {
            U8 => 1,
            U16 => 2,
            U32 => 4,
            other => return Err(invalid!("accessor {i}: sparse indices have componentType {other} (expected 5121, 5123 or 5125)")),
        };
        let iv = self.view(sp.indices.buffer_view)?;
        let ilen = sp.count.saturating_mul(ics);
        let isrc = sp
            .indices
            .byte_offset
            .checked_add(ilen)
            .and_then(|e| iv.get(sp.indices.byte_offset..e))
            .ok_or_else(|| {
                invalid!(
                    "accessor {i}: sparse indices read past the end of buffer view {} (offset {} + {ilen} > {})",
                    sp.indices.buffer_view,
                    sp.indices.byte_offset,
                    iv.len()
                )
            })?;
        let vv = self.view(sp.values.buffer_view)?;
        let vlen = sp.count.saturating_mul(l.elem_size);
        let vsrc = sp
            .values
            .byte_offset
            .checked_add(vlen)
            .and_then(|e| vv.get(sp.values.byte_offset..e))
            .ok_or_else(|| {
                invalid!(
                    "accessor {i}: sparse values read past the end of buffer view {} (offset {} + {vlen} > {})",
                    sp.values.buffer_view,
                    sp.values.byte_offset,
                    vv.len()
                )
            })?;
        let mut indices = Vec::with_capacity(sp.count);
        for k in 0..sp.count {
            let b = &isrc[k * ics..k * ics + ics];
            let idx = match ics {
                1 => b[0] as u32,
                2 => u16::from_le_bytes([b[0], b[1]]) as u32,
                _ => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            };
            if idx as usize >= a.count {
                return Err(invalid!(
                    "accessor {i}: sparse index {idx} out of range (count {})",
                    a.count
                ));
            }
            indices.push(idx);
        }
        let comps = l.comps();
        self.charge(sp.count.saturating_mul(comps + 1).saturating_mul(4), || {
            format!("accessor {i} sparse")
        })?;
        let mut values = vec![0.0f32; sp.count * comps];
        for k in 0..sp.count {
            read_element(
                vsrc,
                k * l.elem_size,
                l,
                conv,
                &mut values[k * comps..(k + 1) * comps],
            );
        }
        Ok(Some(SparseData { indices, values }))
    }

    /// Read accessor `i` as floats (normalized integers are mapped to [-1, 1] / [0, 1]; plain
    /// integers keep their values, as `KHR_mesh_quantization` allows). Returns (values, comps).
    pub fn read_f32(&self, i: usize) -> Res<(Vec<f32>, usize)> {
        match self.read_f32_inner(i, false)? {
            (MorphData::Dense(v), c) => Ok((v, c)),
            (MorphData::Sparse(_), _) => Err(invalid!(
                "accessor {i}: internal error (unexpected sparse result)"
            )),
        }
    }

    /// Like [`read_f32`](Self::read_f32) but keeps zero-based sparse accessors sparse.
    pub fn read_morph(&self, i: usize) -> Res<(MorphData, usize)> {
        self.read_f32_inner(i, true)
    }

    fn read_f32_inner(&self, i: usize, keep_sparse: bool) -> Res<(MorphData, usize)> {
        let a = self.accessor(i)?;
        let l = self.layout(i, a)?;
        let conv = converter(a.component_type, a.normalized);
        let comps = l.comps();
        let src = self.dense_source(i, a, &l)?;
        let sparse = self.sparse_part(i, a, &l, conv)?;
        if src.is_none() && keep_sparse {
            if let Some(sp) = sparse {
                return Ok((MorphData::Sparse(sp), comps));
            }
        }
        let total = a
            .count
            .checked_mul(comps)
            .ok_or_else(|| invalid!("accessor {i}: count {} overflows", a.count))?;
        self.charge(total.saturating_mul(4), || format!("accessor {i}"))?;
        let mut out = vec![0.0f32; total];
        if let Some((view, off, stride)) = src {
            if l.cols == 1 && l.cs == 4 && a.component_type == F32 {
                // fast path: plain floats
                for (k, o) in out.chunks_exact_mut(comps).enumerate() {
                    let base = off + k * stride;
                    for (c, oc) in o.iter_mut().enumerate() {
                        let p = base + c * 4;
                        *oc = f32::from_le_bytes([view[p], view[p + 1], view[p + 2], view[p + 3]]);
                    }
                }
            } else {
                for (k, o) in out.chunks_exact_mut(comps).enumerate() {
                    read_element(view, off + k * stride, &l, conv, o);
                }
            }
        }
        if let Some(sp) = sparse {
            for (k, &idx) in sp.indices.iter().enumerate() {
                let d = idx as usize * comps;
                out[d..d + comps].copy_from_slice(&sp.values[k * comps..(k + 1) * comps]);
            }
        }
        Ok((MorphData::Dense(out), comps))
    }

    /// Read an integer accessor (indices, joints) as u32. Returns (values, comps).
    pub fn read_u32(&self, i: usize, what: &str) -> Res<(Vec<u32>, usize)> {
        let a = self.accessor(i)?;
        let l = self.layout(i, a)?;
        if !matches!(a.component_type, U8 | U16 | U32) {
            return Err(invalid!(
                "{what}: accessor {i} has componentType {} ({}), expected an unsigned integer type",
                a.component_type,
                comp_name(a.component_type)
            ));
        }
        let comps = l.comps();
        let src = self.dense_source(i, a, &l)?;
        let total = a
            .count
            .checked_mul(comps)
            .ok_or_else(|| invalid!("accessor {i}: count {} overflows", a.count))?;
        self.charge(total.saturating_mul(4), || format!("accessor {i}"))?;
        let mut out = vec![0u32; total];
        let rd = |b: &[u8], p: usize| -> u32 {
            match l.cs {
                1 => b[p] as u32,
                2 => u16::from_le_bytes([b[p], b[p + 1]]) as u32,
                _ => u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]),
            }
        };
        if let Some((view, off, stride)) = src {
            for (k, o) in out.chunks_exact_mut(comps).enumerate() {
                let base = off + k * stride;
                for (c, oc) in o.iter_mut().enumerate() {
                    *oc = rd(
                        view,
                        base + (c / l.rows) * l.col_stride + (c % l.rows) * l.cs,
                    );
                }
            }
        }
        // sparse: values are read through the float path then cast (exact up to 2^24)
        if let Some(sp) = self.sparse_part(i, a, &l, converter(a.component_type, false))? {
            for (k, &idx) in sp.indices.iter().enumerate() {
                let d = idx as usize * comps;
                for c in 0..comps {
                    out[d + c] = sp.values[k * comps + c] as u32;
                }
            }
        }
        Ok((out, comps))
    }
}

/// Read one element (column-major, matrix columns padded) into `out`.
#[inline]
fn read_element(src: &[u8], base: usize, l: &Layout, conv: fn(&[u8]) -> f32, out: &mut [f32]) {
    for col in 0..l.cols {
        for row in 0..l.rows {
            let p = base + col * l.col_stride + row * l.cs;
            out[col * l.rows + row] = conv(&src[p..p + l.cs]);
        }
    }
}

/// Component decoder for a component type; normalization per the glTF specification.
fn converter(ct: u32, normalized: bool) -> fn(&[u8]) -> f32 {
    match (ct, normalized) {
        (I8, false) => |b| b[0] as i8 as f32,
        (I8, true) => |b| (b[0] as i8 as f32 / 127.0).max(-1.0),
        (U8, false) => |b| b[0] as f32,
        (U8, true) => |b| b[0] as f32 / 255.0,
        (I16, false) => |b| i16::from_le_bytes([b[0], b[1]]) as f32,
        (I16, true) => |b| (i16::from_le_bytes([b[0], b[1]]) as f32 / 32767.0).max(-1.0),
        (U16, false) => |b| u16::from_le_bytes([b[0], b[1]]) as f32,
        (U16, true) => |b| u16::from_le_bytes([b[0], b[1]]) as f32 / 65535.0,
        (U32, false) => |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
        (U32, true) => {
            |b| (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64 / u32::MAX as f64) as f32
        }
        _ => |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
    }
}
