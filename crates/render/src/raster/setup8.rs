//! Eight-wide triangle set-up (AVX2): the culling and the records of [`Raster::setup_tri`],
//! eight triangles at a time, with the same arithmetic in the same order (no fused operations),
//! so the same bits.
//!
//! A draw's index list is read eight triangles at a time. [`classify`] culls them (off screen,
//! back-facing, zero area, no sample in the bounding box) and sends the rare ones the scalar
//! path handles better to it (crossing the near plane or the guard band, non-finite, extents
//! of 1024 px or more, whose edges need i64). Survivors queue up ([`Queue`]); each full queue
//! is set up at once ([`flush`]): edge functions, depth plane, barycentric factors and the
//! attribute planes, written as whole records through 8×8 transposes. Triangle ids, and so
//! everything drawn, come out in index order exactly as the scalar set-up gives them (test
//! `eight_wide_setup_writes_the_scalar_records`).

use std::arch::x86_64::*;

use super::{
    bin, fill_src, mark_ready, mix, FillSrc, Hot, PVert, Raster, Tri, A_B, A_COL, A_LOD, A_T, A_UV,
    C_BAD, C_GUARD, C_SCREEN, F_FRONT, F_MASK, F_SMALL, SX, SY,
};
use crate::scene::{VAttr, VOut};
use crate::shade::avx2::{set, seti, transpose8};
use facecast_core::model::AlphaMode;

// Field offsets the record loads use: the first 32 bytes of a projected vertex hold its
// position, 1/w, clip codes and normal; of a vertex attribute record, both texture coordinate
// sets and the colour; of a transformed vertex, its view-space position.
const _: () = assert!(
    std::mem::size_of::<PVert>() == 40
        && std::mem::offset_of!(PVert, x) == 0
        && std::mem::offset_of!(PVert, y) == 4
        && std::mem::offset_of!(PVert, iw) == 8
        && std::mem::offset_of!(PVert, code) == 12
        && std::mem::offset_of!(PVert, n) == 16
        && std::mem::size_of::<VAttr>() == 32
        && std::mem::offset_of!(VAttr, uv0) == 0
        && std::mem::offset_of!(VAttr, uv1) == 8
        && std::mem::offset_of!(VAttr, col) == 16
        && std::mem::size_of::<VOut>() == 36
        && std::mem::offset_of!(VOut, vp) == 12
        && std::mem::offset_of!(Hot, ea) == 0
        && std::mem::offset_of!(Hot, eb) == 6
        && std::mem::offset_of!(Hot, ec) == 12
        && std::mem::offset_of!(Hot, bbox) == 24
        && std::mem::offset_of!(Hot, ox) == 32
        && std::mem::offset_of!(Hot, zmax) == 52
        && std::mem::offset_of!(Hot, id) == 56
        && std::mem::offset_of!(Hot, flags) == 60
        && std::mem::offset_of!(Tri, q) == 24
        && std::mem::offset_of!(Tri, n) == 36
        && std::mem::offset_of!(Tri, a) == 72
);

/// Record sizes: projected vertex, vertex attributes, transformed vertex.
const PV: usize = std::mem::size_of::<PVert>();
const AV: usize = std::mem::size_of::<VAttr>();
const VO: usize = std::mem::size_of::<VOut>();

/// Triangles that passed culling (vertex indices already in set-up order: counter-clockwise
/// on screen), waiting to be set up eight at a time.
struct Queue {
    v: [[u32; 8]; 3],
    /// 1 for a front face (its vertices 1 and 2 were swapped), else 0.
    front: [u32; 8],
    n: usize,
}

impl Queue {
    fn new() -> Queue {
        Queue {
            v: [[0; 8]; 3],
            front: [0; 8],
            n: 0,
        }
    }
}

/// The first eight words of the records at byte offsets `off[j]` from `base`, transposed:
/// word `f` of record `j` in lane `j` of vector `f` (one 32-byte load per record; gathers
/// of records that miss the cache are far slower on the CPUs measured).
///
/// Safety (caller): every `base + off[j]` addresses 32 readable bytes.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn rows8(base: *const u8, off: &[usize; 8]) -> [__m256; 8] {
    let mut r = [_mm256_setzero_ps(); 8];
    for j in 0..8 {
        r[j] = _mm256_loadu_ps(base.add(off[j]) as *const f32);
    }
    transpose8(r)
}

/// [`rows8`] of the records of vertices `v[0..3]` (`size` bytes each) at `base`. No closures
/// or array maps: their bodies would not get the AVX2 target and not be inlined.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn rows8x3(base: *const u8, v: &[[u32; 8]; 3], size: usize) -> [[__m256; 8]; 3] {
    let mut off = [[0usize; 8]; 3];
    for k in 0..3 {
        for j in 0..8 {
            off[k][j] = v[k][j] as usize * size;
        }
    }
    [
        rows8(base, &off[0]),
        rows8(base, &off[1]),
        rows8(base, &off[2]),
    ]
}

#[inline(always)]
unsafe fn int(x: __m256) -> __m256i {
    _mm256_castps_si256(x)
}

/// Lanes of `m` with any of `bits` set.
#[inline(always)]
unsafe fn hit(m: __m256i, bits: u32) -> u32 {
    let none = _mm256_cmpeq_epi32(
        _mm256_and_si256(m, seti(bits as i32)),
        _mm256_setzero_si256(),
    );
    !mask(none) & 0xff
}

/// `bbox_holds_sample`'s test per axis: the first lattice point `o + 16·i` at or after `lo`
/// is not past `hi` (`(hi - o) >> 4 >= -((o - lo) >> 4)`).
#[inline(always)]
unsafe fn fits(lo: __m256i, hi: __m256i, o: i64) -> __m256i {
    let o = seti(o as i32);
    let a = _mm256_srai_epi32::<4>(_mm256_sub_epi32(hi, o));
    let b = _mm256_sub_epi32(
        _mm256_setzero_si256(),
        _mm256_srai_epi32::<4>(_mm256_sub_epi32(o, lo)),
    );
    _mm256_xor_si256(_mm256_cmpgt_epi32(b, a), seti(-1))
}

/// `e as f32 · 16 · inv_area` (a barycentric factor from an edge coefficient).
#[inline(always)]
unsafe fn f16(e: __m256i, inv_area: __m256) -> __m256 {
    _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(e), set(16.0)), inv_area)
}

/// `a·b` of three-vectors, summed left to right as `math::dot` does.
#[inline(always)]
unsafe fn dot3(a: [__m256; 3], b: [__m256; 3]) -> __m256 {
    _mm256_add_ps(
        _mm256_add_ps(_mm256_mul_ps(a[0], b[0]), _mm256_mul_ps(a[1], b[1])),
        _mm256_mul_ps(a[2], b[2]),
    )
}

/// Two 16-bit fields in one word: the low halves of `a` and `b`.
#[inline(always)]
unsafe fn pack(a: __m256i, b: __m256i) -> __m256 {
    _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(a, seti(0xffff)),
        _mm256_slli_epi32::<16>(b),
    ))
}

#[inline(always)]
unsafe fn mask(v: __m256i) -> u32 {
    _mm256_movemask_ps(_mm256_castsi256_ps(v)) as u32
}

#[inline(always)]
unsafe fn min3(a: __m256i, b: __m256i, c: __m256i) -> __m256i {
    _mm256_min_epi32(_mm256_min_epi32(a, b), c)
}

#[inline(always)]
unsafe fn max3(a: __m256i, b: __m256i, c: __m256i) -> __m256i {
    _mm256_max_epi32(_mm256_max_epi32(a, b), c)
}

/// Screen bounds of eight triangles with vertices at `x`, `y` (1/16 px) in a `w` × `h`
/// picture, as `setup_tri` computes them: the extremes, the pixel box clamped to the picture
/// (`bx1`, `by1` exclusive) and twice the signed area (exact in i32 for extents below 2^14).
struct Bounds {
    minx: __m256i,
    maxx: __m256i,
    miny: __m256i,
    maxy: __m256i,
    bx0: __m256i,
    by0: __m256i,
    bx1: __m256i,
    by1: __m256i,
    area: __m256i,
}

#[inline(always)]
unsafe fn bounds(x: [__m256i; 3], y: [__m256i; 3], w: usize, h: usize) -> Bounds {
    let zero = _mm256_setzero_si256();
    let (minx, maxx) = (min3(x[0], x[1], x[2]), max3(x[0], x[1], x[2]));
    let (miny, maxy) = (min3(y[0], y[1], y[2]), max3(y[0], y[1], y[2]));
    Bounds {
        minx,
        maxx,
        miny,
        maxy,
        bx0: _mm256_max_epi32(_mm256_srai_epi32::<4>(minx), zero),
        by0: _mm256_max_epi32(_mm256_srai_epi32::<4>(miny), zero),
        bx1: box_end(maxx, w),
        by1: box_end(maxy, h),
        area: _mm256_sub_epi32(
            _mm256_mullo_epi32(_mm256_sub_epi32(x[1], x[0]), _mm256_sub_epi32(y[2], y[0])),
            _mm256_mullo_epi32(_mm256_sub_epi32(x[2], x[0]), _mm256_sub_epi32(y[1], y[0])),
        ),
    }
}

/// One past the last pixel column (row) of a box whose largest coordinate is `m` (1/16 px),
/// at most `size`. (A function, not a closure: closures here would not get the AVX2 target.)
#[inline(always)]
unsafe fn box_end(m: __m256i, size: usize) -> __m256i {
    _mm256_min_epi32(
        _mm256_add_epi32(_mm256_srai_epi32::<4>(m), seti(1)),
        seti(size as i32),
    )
}

/// Lane masks of eight triangles (bit `j` for lane `j`).
struct Class {
    /// Set up by [`flush`].
    pass: u32,
    /// Left to the scalar set-up (clipping, non-finite or large).
    scalar: u32,
    /// Front faces.
    front: u32,
}

/// Culls the eight triangles with vertices `v` (global vertex indices), as `setup_impl` and
/// `setup_tri` do, and sorts the survivors into [`Class::pass`] and [`Class::scalar`].
///
/// Safety (caller): AVX2; every index in `v` is below `r.proj.len()`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn classify(r: &Raster, v: &[[u32; 8]; 3], double_sided: bool) -> Class {
    let pb = r.proj.as_ptr() as *const u8;
    let p = rows8x3(pb, v, PV);
    let c = [int(p[0][3]), int(p[1][3]), int(p[2][3])];
    let x = [int(p[0][0]), int(p[1][0]), int(p[2][0])];
    let y = [int(p[0][1]), int(p[1][1]), int(p[2][1])];
    let and = _mm256_and_si256(_mm256_and_si256(c[0], c[1]), c[2]);
    let or = _mm256_or_si256(_mm256_or_si256(c[0], c[1]), c[2]);
    let zero = _mm256_setzero_si256();
    let off_screen = hit(and, C_SCREEN);
    let guard = hit(or, C_GUARD);
    let bad = hit(or, C_BAD);
    let b = bounds(x, y, r.w, r.h);
    let (minx, maxx, miny, maxy) = (b.minx, b.maxx, b.miny, b.maxy);
    let (dx, dy) = (_mm256_sub_epi32(maxx, minx), _mm256_sub_epi32(maxy, miny));
    let lim = seti(1 << 14);
    let small = mask(_mm256_and_si256(
        _mm256_cmpgt_epi32(lim, dx),
        _mm256_cmpgt_epi32(lim, dy),
    ));
    // Exact in i32 for small triangles (extents below 2^14); other lanes go scalar.
    let area = b.area;
    let zero_area = mask(_mm256_cmpeq_epi32(area, zero));
    let front = mask(_mm256_cmpgt_epi32(zero, area));
    let back_culled = if double_sided { 0 } else { !front & 0xff };
    let nonempty = mask(_mm256_and_si256(
        _mm256_cmpgt_epi32(b.bx1, b.bx0),
        _mm256_cmpgt_epi32(b.by1, b.by0),
    ));
    // bbox_holds_sample.
    let wide = _mm256_and_si256(
        _mm256_cmpgt_epi32(dx, seti(15)),
        _mm256_cmpgt_epi32(dy, seti(15)),
    );
    let mut holds = wide;
    for s in 0..4 {
        holds = _mm256_or_si256(
            holds,
            _mm256_and_si256(fits(minx, maxx, SX[s]), fits(miny, maxy, SY[s])),
        );
    }
    let holds = mask(holds);
    let live = !off_screen & 0xff;
    let scalar = live & (guard | (!bad & !small & 0xff));
    let pass = live & !guard & !bad & small & !zero_area & !back_culled & nonempty & holds;
    Class {
        pass: pass & 0xff,
        scalar,
        front,
    }
}

impl Raster {
    /// Sets up the triangles of one draw (`indices` into the draw's vertices, which start at
    /// `vb`) with material `mi`: what `setup_impl`'s loop over them does, eight at a time.
    ///
    /// # Safety
    /// The CPU must support AVX2; `self.proj` is this frame's projection of `verts` (and so
    /// parallels it, and `attrs`); every index plus `vb` is below `verts.len()`.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn setup_draw8(
        &mut self,
        verts: &mut Vec<VOut>,
        attrs: &mut Vec<VAttr>,
        indices: &[u32],
        vb: u32,
        mi: u32,
        blend: bool,
        near: f32,
    ) {
        let q = &mut Queue::new();
        let ds = self.mats[mi as usize].double_sided;
        let ntri = indices.len() / 3;
        let mut vv = [[0u32; 8]; 3];
        let mut t = 0;
        while t < ntri {
            let lanes = (ntri - t).min(8);
            // The last few are padded with the first of them (their lanes are masked off).
            for j in 0..8 {
                let s = 3 * if j < lanes { t + j } else { t };
                for (k, d) in vv.iter_mut().enumerate() {
                    d[j] = vb + indices[s + k];
                }
            }
            let c = classify(self, &vv, ds);
            let valid = if lanes == 8 {
                0xff
            } else {
                (1u32 << lanes) - 1
            };
            let (pass, scalar) = (c.pass & valid, c.scalar & valid);
            let mut todo = pass | scalar;
            while todo != 0 {
                let j = todo.trailing_zeros() as usize;
                todo &= todo - 1;
                let vi = [vv[0][j], vv[1][j], vv[2][j]];
                if scalar & (1 << j) != 0 {
                    self.flush(verts, attrs, mi, blend, q);
                    self.setup_one(verts, attrs, vi, mi, near, blend);
                    continue;
                }
                let front = (c.front >> j) & 1;
                let n = q.n;
                // Front faces are wound clockwise: set up with vertices 1 and 2 swapped.
                let (a, b) = if front != 0 {
                    (vi[2], vi[1])
                } else {
                    (vi[1], vi[2])
                };
                q.v[0][n] = vi[0];
                q.v[1][n] = a;
                q.v[2][n] = b;
                q.front[n] = front;
                q.n += 1;
                if q.n == 8 {
                    self.flush(verts, attrs, mi, blend, q);
                }
            }
            t += lanes;
        }
        self.flush(verts, attrs, mi, blend, q);
    }

    /// Sets up the queued triangles (all eight lanes computed, `q.n` written) and empties the
    /// queue.
    ///
    /// Safety (caller): AVX2; the queued vertex indices are below `verts.len()`, `attrs.len()`
    /// and `self.proj.len()`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn flush(
        &mut self,
        verts: &[VOut],
        attrs: &[VAttr],
        mi: u32,
        blend: bool,
        q: &mut Queue,
    ) {
        let n = q.n;
        if n == 0 {
            return;
        }
        q.n = 0;
        for j in n..8 {
            for k in 0..3 {
                q.v[k][j] = q.v[k][0];
            }
            q.front[j] = q.front[0];
        }
        let m = &self.mats[mi as usize];
        // Shading records now for front faces (unless the draw is deferred) and the triangles
        // rasterisation reads; the other queues leave theirs to `super::fill`.
        let now = m.alpha != AlphaMode::Opaque || (!self.deferring && q.front[..n].contains(&1));
        let front = _mm256_cmpeq_epi32(
            _mm256_loadu_si256(q.front.as_ptr() as *const __m256i),
            seti(1),
        );
        let pb = self.proj.as_ptr() as *const u8;
        let p = rows8x3(pb, &q.v, PV);
        let x = [int(p[0][0]), int(p[1][0]), int(p[2][0])];
        let y = [int(p[0][1]), int(p[1][1]), int(p[2][1])];
        let iw = [p[0][2], p[1][2], p[2][2]];
        let zero = _mm256_setzero_si256();
        let Bounds {
            bx0,
            by0,
            bx1,
            by1,
            area,
            ..
        } = bounds(x, y, self.w, self.h);
        // Edge i: a = y[i+1] - y[i+2], b = x[i+2] - x[i+1] (indices mod 3).
        let ea = [
            _mm256_sub_epi32(y[1], y[2]),
            _mm256_sub_epi32(y[2], y[0]),
            _mm256_sub_epi32(y[0], y[1]),
        ];
        let eb = [
            _mm256_sub_epi32(x[2], x[1]),
            _mm256_sub_epi32(x[0], x[2]),
            _mm256_sub_epi32(x[1], x[0]),
        ];
        let (xx, yy) = (_mm256_slli_epi32::<4>(bx0), _mm256_slli_epi32::<4>(by0));
        let mut ec = [zero; 3];
        for i in 0..3 {
            let j = (i + 1) % 3;
            // Top or left edge: a > 0, or a == 0 and b > 0; the others lose 1.
            let top_left = _mm256_or_si256(
                _mm256_cmpgt_epi32(ea[i], zero),
                _mm256_and_si256(
                    _mm256_cmpeq_epi32(ea[i], zero),
                    _mm256_cmpgt_epi32(eb[i], zero),
                ),
            );
            let bias = _mm256_andnot_si256(top_left, seti(1));
            ec[i] = _mm256_sub_epi32(
                _mm256_add_epi32(
                    _mm256_mullo_epi32(ea[i], _mm256_sub_epi32(xx, x[j])),
                    _mm256_mullo_epi32(eb[i], _mm256_sub_epi32(yy, y[j])),
                ),
                bias,
            );
        }
        let areaf = _mm256_cvtepi32_ps(area);
        let inv_area = _mm256_div_ps(set(1.0), areaf);
        let (fa0, fa1, fa2) = (
            f16(ea[0], inv_area),
            f16(ea[1], inv_area),
            f16(ea[2], inv_area),
        );
        let (fb0, fb1, fb2) = (
            f16(eb[0], inv_area),
            f16(eb[1], inv_area),
            f16(eb[2], inv_area),
        );
        let ox = _mm256_div_ps(_mm256_cvtepi32_ps(x[0]), set(16.0));
        let oy = _mm256_div_ps(_mm256_cvtepi32_ps(y[0]), set(16.0));
        let za = dot3([fa0, fa1, fa2], iw);
        let zb = dot3([fb0, fb1, fb2], iw);
        let zmax = _mm256_max_ps(_mm256_max_ps(iw[0], iw[1]), iw[2]);
        let base_id = self.hot.len() as u32;
        let id = _mm256_add_epi32(
            seti(base_id as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        let flags = _mm256_or_si256(
            seti(
                (F_SMALL
                    | if matches!(m.alpha, AlphaMode::Mask(_)) {
                        F_MASK
                    } else {
                        0
                    }) as i32,
            ),
            _mm256_and_si256(front, seti(F_FRONT as i32)),
        );
        // The raster record (see `Hot`): ea, eb as i16, ec, bbox as u16, depth plane, id, flags.
        let h: [__m256; 16] = [
            pack(ea[0], ea[1]),
            pack(ea[2], eb[0]),
            pack(eb[1], eb[2]),
            _mm256_castsi256_ps(ec[0]),
            _mm256_castsi256_ps(ec[1]),
            _mm256_castsi256_ps(ec[2]),
            pack(bx0, by0),
            pack(bx1, by1),
            ox,
            oy,
            iw[0],
            za,
            zb,
            zmax,
            _mm256_castsi256_ps(id),
            _mm256_castsi256_ps(flags),
        ];
        self.hot.reserve(8);
        // Safety: the vector has room for eight more records (reserved above); every record
        // `base_id + j` for `j < n` is written whole (16 words) before the length grows, and
        // `Hot` is plain words.
        let hp = self.hot.as_mut_ptr().add(self.hot.len()) as *mut f32;
        for b in 0..2 {
            let rows = transpose8(h[8 * b..8 * b + 8].try_into().expect("8"));
            for (j, row) in rows.iter().enumerate().take(n) {
                _mm256_storeu_ps(hp.add(16 * j + 8 * b), *row);
            }
        }
        let hl = self.hot.len();
        self.hot.set_len(hl + n);
        for j in 0..n {
            let vi = [q.v[0][j], q.v[1][j], q.v[2][j]];
            let fr = q.front[j] != 0;
            self.tv.push(vi);
            let ph = |k: usize| self.proj[vi[k] as usize].hash;
            let facing = self.facing_key(mi, fr);
            // Hashed in the index list's order, as `setup_tri` does (before the swap).
            let (h1, h2) = if fr { (ph(2), ph(1)) } else { (ph(1), ph(2)) };
            self.thash.push(mix(mix(mix(ph(0), h1), h2), facing));
            let id = base_id + j as u32;
            if blend {
                let key =
                    verts[vi[0] as usize].cw + verts[vi[1] as usize].cw + verts[vi[2] as usize].cw;
                self.blend_keys.push((key, id));
            } else if fr && !self.deferring {
                bin(&mut self.bins, self.tiles_x, &self.hot[id as usize]);
            } else {
                bin(&mut self.bins_back, self.tiles_x, &self.hot[id as usize]);
            }
        }
        if now {
            let mut ids = [0u32; 8];
            self.ready_slots(base_id as usize + n);
            for (j, id) in ids.iter_mut().enumerate().take(n) {
                *id = base_id + j as u32;
                mark_ready(&mut self.ready, *id);
            }
            fill8(&mut self.tris, &fill_src!(self, verts, attrs), &ids, n, mi);
        }
    }
}

/// [`super::fill`] with AVX2: triangles whose edges fit in i32 eight at a time (consecutive
/// ones of one material form a group), the others one by one.
///
/// # Safety
/// AVX2 present; every id indexes `src.hot`, `src.tv`, `src.tmat` and `tris`, and the vertex
/// indices in `src.tv` index `src.proj`, `src.verts` and `src.attrs`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn fill8_all(tris: &mut [Tri], src: &FillSrc, ids: &[u32]) {
    assert!(src.hot.len() <= tris.len() && src.tv.len() == src.hot.len());
    let mut g = [0u32; 8];
    let mut n = 0;
    let mut mat = 0;
    for &id in ids {
        let mi = src.tmat[id as usize];
        if src.hot[id as usize].flags & F_SMALL == 0 {
            super::fill_tri(&mut tris[id as usize], src, id, mi);
            continue;
        }
        if n > 0 && mi != mat {
            fill8(tris, src, &g, n, mat);
            n = 0;
        }
        mat = mi;
        g[n] = id;
        n += 1;
        if n == 8 {
            fill8(tris, src, &g, n, mat);
            n = 0;
        }
    }
    if n > 0 {
        fill8(tris, src, &g, n, mat);
    }
}

/// The shading records of the first `n` triangles of `ids` (all small, all of material `mi`,
/// their raster records written), with the arithmetic of [`super::fill_tri`] in the same order
/// (no fused operations).
///
/// Safety (caller): as [`fill8_all`], and `ids[..n]` are below `tris.len()`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn fill8(tris: &mut [Tri], src: &FillSrc, ids: &[u32; 8], n: usize, mi: u32) {
    let m = &src.mats[mi as usize];
    let mut v = [[0u32; 8]; 3];
    let mut fr = [0i32; 8];
    for j in 0..8 {
        // Lanes past `n` repeat the first triangle (computed, not stored).
        let id = ids[if j < n { j } else { 0 }] as usize;
        let t = src.tv[id];
        v[0][j] = t[0];
        v[1][j] = t[1];
        v[2][j] = t[2];
        fr[j] = (src.hot[id].flags & F_FRONT) as i32;
    }
    let front = _mm256_cmpeq_epi32(
        _mm256_loadu_si256(fr.as_ptr() as *const __m256i),
        seti(F_FRONT as i32),
    );
    let p = rows8x3(src.proj.as_ptr() as *const u8, &v, PV);
    let x = [int(p[0][0]), int(p[1][0]), int(p[2][0])];
    let y = [int(p[0][1]), int(p[1][1]), int(p[2][1])];
    let iw = [p[0][2], p[1][2], p[2][2]];
    // Counter-clockwise in set-up order: a positive area, exact in i32 (small triangles).
    let area = _mm256_sub_epi32(
        _mm256_mullo_epi32(_mm256_sub_epi32(x[1], x[0]), _mm256_sub_epi32(y[2], y[0])),
        _mm256_mullo_epi32(_mm256_sub_epi32(x[2], x[0]), _mm256_sub_epi32(y[1], y[0])),
    );
    let areaf = _mm256_cvtepi32_ps(area);
    let inv_area = _mm256_div_ps(set(1.0), areaf);
    let (fa1, fa2) = (
        f16(_mm256_sub_epi32(y[2], y[0]), inv_area),
        f16(_mm256_sub_epi32(y[0], y[1]), inv_area),
    );
    let (fb1, fb2) = (
        f16(_mm256_sub_epi32(x[0], x[2]), inv_area),
        f16(_mm256_sub_epi32(x[1], x[0]), inv_area),
    );
    let ox = _mm256_div_ps(_mm256_cvtepi32_ps(x[0]), set(16.0));
    let oy = _mm256_div_ps(_mm256_cvtepi32_ps(y[0]), set(16.0));
    // The shading record, word by word (see `Tri`): ox oy fa fb q, n (9), a (14).
    let fz = _mm256_setzero_ps();
    let mut w = [fz; 32];
    w[0] = ox;
    w[1] = oy;
    w[2] = fa1;
    w[3] = fa2;
    w[4] = fb1;
    w[5] = fb2;
    w[6] = iw[0];
    w[7] = _mm256_sub_ps(iw[1], iw[0]);
    w[8] = _mm256_sub_ps(iw[2], iw[0]);
    let sgn = _mm256_blendv_ps(set(-1.0), set(1.0), _mm256_castsi256_ps(front));
    if !m.unlit {
        let s = [
            _mm256_mul_ps(iw[0], sgn),
            _mm256_mul_ps(iw[1], sgn),
            _mm256_mul_ps(iw[2], sgn),
        ];
        let nv = [
            [p[0][4], p[0][5], p[0][6]],
            [p[1][4], p[1][5], p[1][6]],
            [p[2][4], p[2][5], p[2][6]],
        ];
        plane::<3>(&mut w[9..18], nv, s);
    }
    let ab = src.attrs.as_ptr() as *const u8;
    if m.col_planes {
        let a = rows8x3(ab, &v, AV);
        let cv = [
            [a[0][4], a[0][5], a[0][6], a[0][7]],
            [a[1][4], a[1][5], a[1][6], a[1][7]],
            [a[2][4], a[2][5], a[2][6], a[2][7]],
        ];
        plane::<4>(&mut w[18 + A_COL..18 + A_COL + 12], cv, iw);
    }
    if let Some(ti) = m.plane_tex() {
        let uo = if ti.uv1 { 2 } else { 0 };
        let a = rows8x3(ab, &v, AV);
        let uv = [
            [a[0][uo], a[0][uo + 1]],
            [a[1][uo], a[1][uo + 1]],
            [a[2][uo], a[2][uo + 1]],
        ];
        plane::<2>(&mut w[18 + A_UV..18 + A_UV + 6], uv, iw);
        let [u0, u1, u2] = uv;
        let (du1, dv1) = (_mm256_sub_ps(u1[0], u0[0]), _mm256_sub_ps(u1[1], u0[1]));
        let (du2, dv2) = (_mm256_sub_ps(u2[0], u0[0]), _mm256_sub_ps(u2[1], u0[1]));
        let uva = _mm256_andnot_ps(
            set(-0.0),
            _mm256_sub_ps(_mm256_mul_ps(du1, dv2), _mm256_mul_ps(du2, dv1)),
        );
        let px_area = _mm256_div_ps(areaf, set(256.0));
        w[18 + A_LOD] = _mm256_mul_ps(
            _mm256_div_ps(uva, px_area),
            _mm256_mul_ps(_mm256_mul_ps(iw[0], iw[1]), iw[2]),
        );
        if m.normal_tex.is_some() {
            let vb = src.verts.as_ptr() as *const u8;
            let vr = rows8x3(vb, &v, VO);
            let mut e1 = [fz; 3];
            let mut e2 = [fz; 3];
            for c in 0..3 {
                e1[c] = _mm256_sub_ps(vr[1][3 + c], vr[0][3 + c]);
                e2[c] = _mm256_sub_ps(vr[2][3 + c], vr[0][3 + c]);
            }
            let det = _mm256_sub_ps(_mm256_mul_ps(du1, dv2), _mm256_mul_ps(du2, dv1));
            let det_ok = _mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_andnot_ps(set(-0.0), det), set(1e-20));
            if _mm256_movemask_ps(det_ok) != 0 {
                let r = _mm256_div_ps(set(1.0), det);
                let nr = _mm256_xor_ps(r, set(-0.0));
                let mut tt = [fz; 3];
                let mut bb = [fz; 3];
                for c in 0..3 {
                    tt[c] = _mm256_mul_ps(
                        _mm256_sub_ps(_mm256_mul_ps(e1[c], dv2), _mm256_mul_ps(e2[c], dv1)),
                        r,
                    );
                    bb[c] = _mm256_mul_ps(
                        _mm256_sub_ps(_mm256_mul_ps(e2[c], du1), _mm256_mul_ps(e1[c], du2)),
                        nr,
                    );
                }
                let (lt, lb) = (dot3(tt, tt), dot3(bb, bb));
                let tiny = set(1e-24);
                let inf = set(f32::INFINITY);
                let ok = _mm256_and_ps(
                    _mm256_and_ps(
                        det_ok,
                        _mm256_and_ps(
                            _mm256_cmp_ps::<_CMP_GT_OQ>(lt, tiny),
                            _mm256_cmp_ps::<_CMP_GT_OQ>(lb, tiny),
                        ),
                    ),
                    _mm256_and_ps(
                        _mm256_cmp_ps::<_CMP_LT_OQ>(lt, inf),
                        _mm256_cmp_ps::<_CMP_LT_OQ>(lb, inf),
                    ),
                );
                let st = _mm256_div_ps(sgn, _mm256_sqrt_ps(lt));
                let sb = _mm256_div_ps(sgn, _mm256_sqrt_ps(lb));
                for c in 0..3 {
                    w[18 + A_T + c] = _mm256_and_ps(_mm256_mul_ps(tt[c], st), ok);
                    w[18 + A_B + c] = _mm256_and_ps(_mm256_mul_ps(bb[c], sb), ok);
                }
            }
        }
    }
    // Safety: every `ids[j]`, `j < n`, is below `tris.len()` (asserted by the caller's
    // contract and `fill8_all`); a record is 32 words, written as four rows.
    let tp = tris.as_mut_ptr() as *mut f32;
    for b in 0..4 {
        let rows = transpose8(w[8 * b..8 * b + 8].try_into().expect("8"));
        for (j, row) in rows.iter().enumerate().take(n) {
            _mm256_storeu_ps(tp.add(32 * ids[j] as usize + 8 * b), *row);
        }
    }
}

/// `set_plane` eight-wide: the plane of a `D`-component attribute with values `a` at the
/// vertices (whose 1/w are `iw`), coefficient-major.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn plane<const D: usize>(dst: &mut [__m256], a: [[__m256; D]; 3], iw: [__m256; 3]) {
    for c in 0..D {
        let p0 = _mm256_mul_ps(a[0][c], iw[0]);
        dst[c] = p0;
        for k in 1..3 {
            dst[D * k + c] = _mm256_sub_ps(_mm256_mul_ps(a[k][c], iw[k]), p0);
        }
    }
}
