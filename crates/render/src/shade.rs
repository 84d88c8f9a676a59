//! Deferred shading from the visibility buffer.
//!
//! The rasteriser leaves, per sample, the id of the nearest triangle. The shading pass queues
//! each pixel that one surface covers as a (pixel, triangle) entry of a [`Batch`] (one tile row at
//! a time), and [`shade_batch`] shades the queue: eight pixels at a time with the AVX2 + FMA
//! kernel (`avx2::shade8`: barycentrics, attribute interpolation from the planes in the triangle
//! records, texture sampling, normal mapping and lighting, all eight-wide) where the CPU has
//! it and the eight share a material, one at a time through the plain reference path otherwise
//! (`ShadeCtx::shade` in `raster.rs`). Both do the same arithmetic (test
//! `simd_shading_matches_reference`), so the picture does not depend on the CPU.

use facecast_core::model::{Avatar, Texture, Wrap};

use crate::raster::{MatInfo, TexInfo, TILE, TOON_GI};

/// Entries per batch: one tile row, up to four surfaces per pixel (silhouette pixels).
pub(crate) const BATCH: usize = 4 * TILE + 8;

/// Pixels of one tile row waiting to be shaded.
#[repr(C, align(32))]
pub(crate) struct Batch {
    pub n: usize,
    /// Pixel index inside the tile (`ly * TILE + lx`).
    pub pix: [u32; BATCH],
    /// Triangle whose surface is shaded there.
    pub tri: [u32; BATCH],
    pub mat: [u32; BATCH],
    /// Share of the pixel (covered samples / 4): 1 stores the colour, less adds that share.
    pub wt: [f32; BATCH],
}

impl Batch {
    pub fn new() -> Box<Batch> {
        Box::new(Batch {
            n: 0,
            pix: [0; BATCH],
            tri: [0; BATCH],
            mat: [0; BATCH],
            wt: [0.0; BATCH],
        })
    }

    #[inline(always)]
    pub fn push(&mut self, pix: usize, tri: u32, mat: u32, wt: f32) {
        let i = self.n;
        self.pix[i] = pix as u32;
        self.tri[i] = tri;
        self.mat[i] = mat;
        self.wt[i] = wt;
        self.n = i + 1;
    }

    /// Eight whole pixels `k..k + 8` of material `mat` (`tri` as [`Class8::best`] gives them).
    #[inline(always)]
    pub fn push8(&mut self, k: usize, tri: &[u32; 8], mat: u32) {
        let i = self.n;
        let pix: [u32; 8] = std::array::from_fn(|p| (k + p) as u32);
        self.pix[i..i + 8].copy_from_slice(&pix);
        self.tri[i..i + 8].copy_from_slice(tri);
        self.mat[i..i + 8].fill(mat);
        self.wt[i..i + 8].copy_from_slice(&[1.0; 8]);
        self.n = i + 8;
    }

    /// Of the eight whole pixels `k..k + 8` of material `mat` (`tri` as [`Class8::best`] gives
    /// them), queues those whose bit is set in `mask`, without a branch per pixel. The reference
    /// for the eight-wide `avx2::push_masked8`, which the renderer uses.
    #[cfg(test)]
    pub fn push_masked(&mut self, k: usize, tri: &[u32; 8], mat: u32, mask: u32) {
        for p in 0..8 {
            // `n <= BATCH - 8` before each group of eight (one tile row, at most four entries
            // per pixel, plus this slack), so the write is in bounds.
            let i = self.n;
            self.pix[i] = (k + p) as u32;
            self.tri[i] = tri[p];
            self.mat[i] = mat;
            self.wt[i] = 1.0;
            self.n = i + (mask >> p & 1) as usize;
        }
    }

    /// Entries `i..i + run` share material `mat`: moves later entries of that material, among
    /// the next `scan`, up behind them (swapping places with the entries there) until eight
    /// share it or the scan ends. Returns the new run length. The order of entries only decides
    /// the order in which shares of one pixel add up.
    #[inline(always)]
    pub fn gather_material(&mut self, i: usize, mut run: usize, mat: u32, scan: usize) -> usize {
        let end = (i + run + scan).min(self.n);
        let mut j = i + run;
        while run < 8 && j < end {
            if self.mat[j] == mat {
                let k = i + run;
                self.pix.swap(k, j);
                self.tri.swap(k, j);
                self.mat.swap(k, j);
                self.wt.swap(k, j);
                run += 1;
            }
            j += 1;
        }
        run
    }

    /// Entries `i..i + lanes` (1..=8) as full groups of eight, padded with copies of the last.
    #[inline(always)]
    pub fn group(&self, i: usize, lanes: usize) -> ([u32; 8], [u32; 8], [f32; 8]) {
        let mut pix = [self.pix[i + lanes - 1]; 8];
        let mut tri = [self.tri[i + lanes - 1]; 8];
        let mut wt = [0.0; 8];
        pix[..lanes].copy_from_slice(&self.pix[i..i + lanes]);
        tri[..lanes].copy_from_slice(&self.tri[i..i + lanes]);
        wt[..lanes].copy_from_slice(&self.wt[i..i + lanes]);
        (pix, tri, wt)
    }
}

/// Whether texture `ti` can be sampled by the eight-wide kernel (repeat on power-of-two sizes,
/// or clamp; mirrored repeat goes through the reference path).
pub(crate) fn simd_texture(av: &Avatar, ti: Option<&TexInfo>) -> bool {
    let Some(ti) = ti else { return true };
    let t = &av.textures[ti.tex as usize];
    let ok = |m: Wrap, n: u32| match m {
        Wrap::Clamp => true,
        Wrap::Repeat => n.is_power_of_two(),
        Wrap::Mirror => false,
    };
    t.mips
        .iter()
        .all(|l| ok(t.wrap_s, l.width) && ok(t.wrap_t, l.height))
}

/// Most mip levels a [`Levels`] table describes (a 32768² texture has 16).
pub(crate) const MAX_LEVELS: usize = 16;

/// A texture's mip chain as the eight-wide kernel addresses it when the lanes of a group want
/// different levels: every level's size and place in the texture's one block buffer, so one set
/// of gathers serves all lanes. Built once per renderer ([`Levels::of`]); a texture without a
/// table (more than [`MAX_LEVELS`] levels) is sampled one level at a time.
#[derive(Clone, Debug)]
#[repr(C, align(32))]
pub(crate) struct Levels {
    /// Texel index of each level's first texel in [`Texture::blocks`] (16 per block).
    off: [i32; MAX_LEVELS],
    w: [i32; MAX_LEVELS],
    h: [i32; MAX_LEVELS],
    /// Texels per row of blocks (16 · blocks per row).
    brow: [i32; MAX_LEVELS],
    /// Address of the blocks the table was made for (checked before use, so a table never
    /// addresses another texture's memory).
    base: usize,
}

impl Levels {
    /// The table of a texture that passes [`crate::texture::texture_ok`] (`None` beyond
    /// [`MAX_LEVELS`] levels).
    pub(crate) fn of(tex: &Texture) -> Option<Levels> {
        if !crate::texture::texture_ok(tex) || tex.mips.len() > MAX_LEVELS {
            return None;
        }
        let mut t = Levels {
            off: [0; MAX_LEVELS],
            w: [1; MAX_LEVELS],
            h: [1; MAX_LEVELS],
            brow: [16; MAX_LEVELS],
            base: tex.blocks.as_ptr() as usize,
        };
        for (l, lv) in tex.mips.iter().enumerate() {
            // `texture_ok`: every texel index fits in i32.
            t.off[l] = (lv.block * 16) as i32;
            t.w[l] = lv.width as i32;
            t.h[l] = lv.height as i32;
            t.brow[l] = (lv.blocks_wide() * 16) as i32;
        }
        Some(t)
    }
}

/// Byte offsets of the fields the kernel reads from a triangle record (`raster::Tri`): the
/// barycentric set-up, and the attribute planes (three words each).
#[derive(Copy, Clone, Debug)]
pub(crate) struct TriLayout {
    pub stride: usize,
    pub ox: usize,
    pub oy: usize,
    pub fa: usize,
    pub fb: usize,
    /// The 1/w plane.
    pub q: usize,
    /// Normal plane (three components).
    pub n: usize,
    /// Texture coordinate plane (u, v; textured materials).
    pub uv: usize,
    /// Level-of-detail factor (one word; textured materials).
    pub lod: usize,
    /// Tangent and bitangent (three words each; normal-mapped materials).
    pub t: usize,
    pub b: usize,
    /// Vertex colour plane (r, g, b, a; `MatInfo::col_planes`).
    pub col: usize,
}

/// Byte offsets of the vertex attribute fields (`scene::VAttr`) the kernel reads for
/// attributes the triangle record has no plane for.
#[derive(Copy, Clone, Debug)]
pub(crate) struct VertLayout {
    pub astride: usize,
    pub uv0: usize,
    pub uv1: usize,
    pub col: usize,
}

/// Everything the eight-wide kernel reads. The raw pointers are the frame's triangle records,
/// triangle vertex indices (`[u32; 3]` per triangle) and vertex attributes; every triangle id in
/// a batch indexes `tris` and `tv`, and every vertex index in `tv` indexes `attrs` (the setup
/// only records such triangles).
pub(crate) struct Kernel<'a> {
    pub av: &'a Avatar,
    pub mats: &'a [MatInfo],
    pub luts: &'a crate::raster::Luts,
    pub tris: *const u8,
    pub tl: TriLayout,
    pub tv: *const u8,
    pub attrs: *const u8,
    pub vl: VertLayout,
    /// Per texture of `av`: its [`Levels`] table, if it has one.
    pub levels: &'a [Option<Levels>],
    /// Tile origin in pixels.
    pub x0: f32,
    pub y0: f32,
}

/// Write colour `c` with share `wt` of the pixel into `dst` (1: the whole pixel).
#[inline(always)]
pub(crate) fn store(dst: &mut crate::math::V3, c: crate::math::V3, wt: f32) {
    if wt == 1.0 {
        *dst = c;
    } else {
        for q in 0..3 {
            dst[q] += c[q] * wt;
        }
    }
}

/// Eight pixels of the visibility buffer, classified for shading.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Class8 {
    /// Bit `p`: pixel `p` is one surface (its four samples are one triangle, or neighbouring
    /// triangles of one material at nearly equal depth) of the material asked about, shaded
    /// once as `best[p]`.
    pub simple: u32,
    /// Bit `p`: no sample of pixel `p` is covered (background).
    pub empty: u32,
    pub best: [u32; 8],
}

#[cfg(target_arch = "x86_64")]
/// The eight-wide kernels. Helpers are `#[inline(always)]` functions without target features:
/// they are compiled as part of the `#[target_feature]` entry points that inline them. Closures
/// and `array::map`/`from_fn` around intrinsics inside such helpers are not: a closure the
/// compiler does not inline is compiled without AVX2, and each intrinsic in it becomes a call
/// (one footprint path of `shade8` did that, and `array::map` over gathers once tripled VALID's
/// frame time). Use plain loops and named helpers here; `objdump -d` of the render example
/// shows no `core_arch` calls.
pub(crate) mod avx2 {
    use super::*;
    use crate::math::V3;
    use std::arch::x86_64::*;

    #[inline(always)]
    pub(crate) unsafe fn set(x: f32) -> __m256 {
        _mm256_set1_ps(x)
    }

    #[inline(always)]
    pub(crate) unsafe fn seti(x: i32) -> __m256i {
        _mm256_set1_epi32(x)
    }

    /// Gather one f32 at byte offset `off` of records `idx` (record size `stride`) from `base`.
    #[inline(always)]
    unsafe fn gf(base: *const u8, idx: __m256i, stride: usize, off: usize) -> __m256 {
        let ix = _mm256_mullo_epi32(idx, seti((stride / 4) as i32));
        _mm256_i32gather_ps::<4>(base.add(off) as *const f32, ix)
    }

    /// Gather one i32 at byte offset `off` of records `idx`.
    #[inline(always)]
    unsafe fn gi(base: *const u8, idx: __m256i, stride: usize, off: usize) -> __m256i {
        let ix = _mm256_mullo_epi32(idx, seti((stride / 4) as i32));
        _mm256_i32gather_epi32::<4>(base.add(off) as *const i32, ix)
    }

    /// Where the eight lanes' records come from: usually one or two distinct records (pixels of
    /// one triangle come in runs), loaded once and broadcast, else gathered per lane.
    #[derive(Copy, Clone)]
    enum Src {
        One(usize),
        /// Records `a` and `b`; the mask selects `b`'s lanes.
        Two(usize, usize, __m256),
        Many(__m256i),
    }

    impl Src {
        #[inline(always)]
        unsafe fn of(idx: __m256i, first: u32) -> Src {
            let a = _mm256_cmpeq_epi32(idx, seti(first as i32));
            let ma = _mm256_movemask_ps(_mm256_castsi256_ps(a)) as u32;
            if ma == 0xff {
                return Src::One(first as usize);
            }
            let mut lanes = [0u32; 8];
            _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, idx);
            let second = lanes[(!ma).trailing_zeros() as usize];
            let b = _mm256_cmpeq_epi32(idx, seti(second as i32));
            if _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_or_si256(a, b))) == 0xff {
                return Src::Two(first as usize, second as usize, _mm256_castsi256_ps(b));
            }
            Src::Many(idx)
        }

        /// The source of each lane's vertex: the u32 index at byte `off` of its record.
        #[inline(always)]
        unsafe fn follow(&self, base: *const u8, stride: usize, off: usize) -> Src {
            let at = |r: usize| *(base.add(r * stride + off) as *const u32) as usize;
            match *self {
                Src::One(a) => Src::One(at(a)),
                Src::Two(a, b, m) => Src::Two(at(a), at(b), m),
                Src::Many(idx) => Src::Many(gi(base, idx, stride, off)),
            }
        }
    }

    /// The f32 at byte `off` of `base` in every lane.
    #[inline(always)]
    unsafe fn bcast(base: *const u8, off: usize) -> __m256 {
        _mm256_broadcast_ss(&*(base.add(off) as *const f32))
    }

    /// Transposes eight rows of eight floats: column `f` of the result holds element `f` of
    /// every row (row `p` in lane `p`).
    #[inline(always)]
    pub(crate) unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let s1 = _mm256_shuffle_ps::<0xee>(t0, t2);
        let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let s3 = _mm256_shuffle_ps::<0xee>(t1, t3);
        let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let s5 = _mm256_shuffle_ps::<0xee>(t4, t6);
        let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let s7 = _mm256_shuffle_ps::<0xee>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(s0, s4),
            _mm256_permute2f128_ps::<0x20>(s1, s5),
            _mm256_permute2f128_ps::<0x20>(s2, s6),
            _mm256_permute2f128_ps::<0x20>(s3, s7),
            _mm256_permute2f128_ps::<0x31>(s0, s4),
            _mm256_permute2f128_ps::<0x31>(s1, s5),
            _mm256_permute2f128_ps::<0x31>(s2, s6),
            _mm256_permute2f128_ps::<0x31>(s3, s7),
        ]
    }

    /// Words of a group's triangle records: per field, one vector of the eight lanes' values.
    /// One or two distinct triangles (most groups) are broadcast from their records ([`Src`]);
    /// more are read as rows and transposed ([`Cols`]): eight loads and 24 shuffles per eight
    /// fields, where eight gathers took 8-13 cycles each on the AMD Zen 4 this was measured on
    /// (eight scalar loads: 5-8 cycles). The kernel body is compiled once per kind
    /// ([`shade8`] picks), so a field read is one load or broadcast, not a branch on the kind
    /// first (removing that branch, taken again at every field read, cut ~5 % of the kernel's
    /// instructions and 7-14 % of its cycles).
    trait Fields {
        /// The f32 at byte `off` of each lane's record (records of `stride` bytes at `base`).
        unsafe fn f(&self, base: *const u8, stride: usize, off: usize) -> __m256;
    }

    impl Fields for Src {
        #[inline(always)]
        unsafe fn f(&self, base: *const u8, stride: usize, off: usize) -> __m256 {
            match *self {
                Src::One(a) => bcast(base, a * stride + off),
                Src::Two(a, b, m) => _mm256_blendv_ps(
                    bcast(base, a * stride + off),
                    bcast(base, b * stride + off),
                    m,
                ),
                Src::Many(idx) => gf(base, idx, stride, off),
            }
        }
    }

    /// The first `words` words of every lane's record, transposed: one vector per word.
    struct Cols([__m256; TRI_WORDS]);

    /// Words of a triangle record (`raster::Tri`): the kernel reads the first 16, 24 or all 32.
    const TRI_WORDS: usize = 32;

    impl Cols {
        /// `words`: how many leading words will be read (a multiple of eight).
        ///
        /// Safety (caller): every id in `ids` is a valid record of `stride >= 4 * TRI_WORDS`
        /// bytes at `base`.
        #[inline(always)]
        unsafe fn of(base: *const u8, stride: usize, ids: &[u32; 8], words: usize) -> Cols {
            let mut cols = Cols([_mm256_setzero_ps(); TRI_WORDS]);
            for k in 0..words / 8 {
                let mut rows = [_mm256_setzero_ps(); 8];
                for (row, &id) in rows.iter_mut().zip(ids) {
                    *row = _mm256_loadu_ps(base.add(id as usize * stride + 32 * k) as *const f32);
                }
                cols.0[8 * k..8 * k + 8].copy_from_slice(&transpose8(rows));
            }
            cols
        }
    }

    impl Fields for Cols {
        /// Field at byte offset `off` (below `4 * words`).
        #[inline(always)]
        unsafe fn f(&self, _: *const u8, _: usize, off: usize) -> __m256 {
            self.0[off / 4]
        }
    }

    /// One vertex of each lane's triangle: its attribute record (`VAttr`: texture coordinates,
    /// colour), read only for attributes the triangle record holds no plane for (vertex colours
    /// beside a texture, a second coordinate set). When the lanes hold more than two triangles
    /// (`Src::Many`), the records are read as rows and transposed, as [`TriFields`] does;
    /// otherwise fields are broadcast from one or two records.
    struct VertFields {
        src: Src,
        /// `VAttr` words 0..8 per lane, when read as rows.
        acols: Option<[__m256; 8]>,
    }

    impl VertFields {
        /// Safety (caller): every lane's vertex index is a valid vertex of `k`'s arrays.
        #[inline(always)]
        unsafe fn of(k: &Kernel, src: Src) -> VertFields {
            let mut f = VertFields { src, acols: None };
            if let Src::Many(idx) = src {
                let mut ids = [0u32; 8];
                _mm256_storeu_si256(ids.as_mut_ptr() as *mut __m256i, idx);
                // A record is 32 bytes (asserted beside `VERT_LAYOUT`).
                let mut rows = [_mm256_setzero_ps(); 8];
                for (row, &id) in rows.iter_mut().zip(&ids) {
                    *row = _mm256_loadu_ps(k.attrs.add(id as usize * k.vl.astride) as *const f32);
                }
                f.acols = Some(transpose8(rows));
            }
            f
        }

        /// Attribute word at byte offset `off` of the lanes' `VAttr` records.
        #[inline(always)]
        unsafe fn a(&self, k: &Kernel, off: usize) -> __m256 {
            match &self.acols {
                Some(cols) => cols[off / 4],
                None => self.src.f(k.attrs, k.vl.astride, off),
            }
        }
    }

    /// A group's lanes: their triangle records, screen-space barycentrics (clamped into the
    /// triangle) and perspective `w`.
    struct Lanes<'a, F: Fields> {
        ts: &'a F,
        l: [__m256; 3],
        w: __m256,
        ids: &'a [u32; 8],
        idv: __m256i,
    }

    impl<F: Fields> Lanes<'_, F> {
        /// A plane component of the records at `l` (`p0 + l1·p1 + l2·p2`, not `· w`): `p0` at
        /// byte offset `off`, `p1` and `p2` `step` and `2 · step` bytes on (`step`: 4 bytes per
        /// component of the attribute; see `raster::Tri`).
        #[inline(always)]
        unsafe fn plane(&self, k: &Kernel, off: usize, step: usize) -> __m256 {
            let (t, s) = (k.tris, k.tl.stride);
            _mm256_fmadd_ps(
                self.ts.f(t, s, off + 2 * step),
                self.l[2],
                _mm256_fmadd_ps(self.ts.f(t, s, off + step), self.l[1], self.ts.f(t, s, off)),
            )
        }

        /// The lanes' vertex records and perspective-correct vertex weights, for attributes
        /// without a plane (`ShadeCtx::weights`).
        ///
        /// Safety (caller): as [`shade8`]'s.
        #[inline(always)]
        unsafe fn verts(&self, k: &Kernel) -> ([VertFields; 3], [__m256; 3]) {
            let (t, s, q) = (k.tris, k.tl.stride, k.tl.q);
            let q0 = self.ts.f(t, s, q);
            let iw = [
                q0,
                _mm256_add_ps(q0, self.ts.f(t, s, q + 4)),
                _mm256_add_ps(q0, self.ts.f(t, s, q + 8)),
            ];
            let mut b = [_mm256_setzero_ps(); 3];
            for i in 0..3 {
                b[i] = _mm256_mul_ps(_mm256_mul_ps(self.l[i], iw[i]), self.w);
            }
            let src = Src::of(self.idv, self.ids[0]);
            let v = [
                VertFields::of(k, src.follow(k.tv, 12, 0)),
                VertFields::of(k, src.follow(k.tv, 12, 4)),
                VertFields::of(k, src.follow(k.tv, 12, 8)),
            ];
            (v, b)
        }
    }

    /// Where eight bilinear samples read: per lane, the indices of the four texels (x0 y0,
    /// x1 y0, x0 y1, x1 y1), counted in texels from the start of a texture's blocks, and the
    /// sample point's fractions between them.
    struct Footprint {
        i: [__m256i; 4],
        fx: __m256,
        fy: __m256,
    }

    /// The footprint of (u, v) at `level` of `tex` for all lanes. Same arithmetic as
    /// [`crate::texture::sample`].
    ///
    /// Safety (caller): `level < mips.len()` (levels are clamped to the chain's length).
    #[inline(always)]
    unsafe fn footprint8(tex: &Texture, level: usize, u: __m256, v: __m256) -> Footprint {
        let lv = tex.mips.get_unchecked(level);
        let (w, h) = (lv.width as i32, lv.height as i32);
        let (xi, yi, fx, fy) = texel_coords(u, v, set(w as f32), set(h as f32), tex.nearest);
        let x = wrap_pair(xi, seti(w - 1), tex.wrap_s);
        let y = wrap_pair(yi, seti(h - 1), tex.wrap_t);
        let brow = seti((lv.blocks_wide() * 16) as i32);
        let off = seti((lv.block * 16) as i32);
        Footprint {
            i: block_indices(x, y, brow, off),
            fx,
            fy,
        }
    }

    /// [`footprint8`] with a mip level per lane: each lane's level size and place come from
    /// `t`.
    ///
    /// Safety (caller): `t` was made for `tex`; every lane's level is below `tex.mips.len()`.
    #[inline(always)]
    unsafe fn footprint8_mixed(
        tex: &Texture,
        t: &Levels,
        level: __m256i,
        u: __m256,
        v: __m256,
    ) -> Footprint {
        let w = pick16(&t.w, level);
        let h = pick16(&t.h, level);
        let (w_f, h_f) = (_mm256_cvtepi32_ps(w), _mm256_cvtepi32_ps(h));
        let (xi, yi, fx, fy) = texel_coords(u, v, w_f, h_f, tex.nearest);
        let one = seti(1);
        let x = wrap_pair(xi, _mm256_sub_epi32(w, one), tex.wrap_s);
        let y = wrap_pair(yi, _mm256_sub_epi32(h, one), tex.wrap_t);
        Footprint {
            i: block_indices(x, y, pick16(&t.brow, level), pick16(&t.off, level)),
            fx,
            fy,
        }
    }

    /// Columns (or rows) `i` and `i + 1` wrapped into `0..=last` (per lane): repeat (`last + 1`
    /// a power of two, see `simd_texture`) or clamp.
    #[inline(always)]
    unsafe fn wrap_pair(i: __m256i, last: __m256i, mode: Wrap) -> [__m256i; 2] {
        [
            wrap1(i, last, mode),
            wrap1(_mm256_add_epi32(i, seti(1)), last, mode),
        ]
    }

    /// Column (or row) `i` wrapped into `0..=last` (per lane), as [`wrap_pair`] does.
    #[inline(always)]
    unsafe fn wrap1(i: __m256i, last: __m256i, mode: Wrap) -> __m256i {
        match mode {
            Wrap::Repeat => _mm256_and_si256(i, last),
            _ => _mm256_min_epi32(_mm256_max_epi32(i, _mm256_setzero_si256()), last),
        }
    }

    /// Indices of the texels at columns `x` and rows `y` of levels whose rows of blocks hold
    /// `brow` texels and whose first texel is texel `off` of the blocks: texel (x, y) of a
    /// level is texel ((y >> 2)·blocks_wide + (x >> 2))·16 + (y & 3)·4 + (x & 3) from its
    /// first (`MipLevel::texel_index`).
    #[inline(always)]
    unsafe fn block_indices(
        [x0, x1]: [__m256i; 2],
        [y0, y1]: [__m256i; 2],
        brow: __m256i,
        off: __m256i,
    ) -> [__m256i; 4] {
        let (c0, c1) = (block_col(x0), block_col(x1));
        let (r0, r1) = (block_row(y0, brow, off), block_row(y1, brow, off));
        [
            _mm256_add_epi32(r0, c0),
            _mm256_add_epi32(r0, c1),
            _mm256_add_epi32(r1, c0),
            _mm256_add_epi32(r1, c1),
        ]
    }

    /// Column `x`'s part of a texel index in a block layout ([`block_indices`]).
    #[inline(always)]
    unsafe fn block_col(x: __m256i) -> __m256i {
        _mm256_add_epi32(
            _mm256_slli_epi32::<4>(_mm256_srli_epi32::<2>(x)),
            _mm256_and_si256(x, seti(3)),
        )
    }

    /// Row `y`'s part of a texel index in a block layout, with the level's offset
    /// ([`block_indices`]).
    #[inline(always)]
    unsafe fn block_row(y: __m256i, brow: __m256i, off: __m256i) -> __m256i {
        _mm256_add_epi32(
            _mm256_add_epi32(
                _mm256_mullo_epi32(_mm256_srli_epi32::<2>(y), brow),
                _mm256_slli_epi32::<2>(_mm256_and_si256(y, seti(3))),
            ),
            off,
        )
    }

    /// Texel coordinates of (u, v) in a level of `w` × `h` texels (non-finite coordinates read
    /// as 0, the rest clamped to ±10⁴): the texel left of and above the sample point, and the
    /// point's fractions (`x`, `y`, `fx`, `fy`).
    #[inline(always)]
    unsafe fn texel_coords(
        u: __m256,
        v: __m256,
        w: __m256,
        h: __m256,
        nearest: bool,
    ) -> (__m256i, __m256i, __m256, __m256) {
        if nearest {
            // The texel the point falls in, alone (`crate::texture::sample`).
            let x = _mm256_floor_ps(_mm256_mul_ps(finite_clamped(u), w));
            let y = _mm256_floor_ps(_mm256_mul_ps(finite_clamped(v), h));
            let zero = _mm256_setzero_ps();
            return (_mm256_cvtps_epi32(x), _mm256_cvtps_epi32(y), zero, zero);
        }
        let x = _mm256_sub_ps(_mm256_mul_ps(finite_clamped(u), w), set(0.5));
        let y = _mm256_sub_ps(_mm256_mul_ps(finite_clamped(v), h), set(0.5));
        let (xf, yf) = (_mm256_floor_ps(x), _mm256_floor_ps(y));
        (
            _mm256_cvtps_epi32(xf),
            _mm256_cvtps_epi32(yf),
            _mm256_sub_ps(x, xf),
            _mm256_sub_ps(y, yf),
        )
    }

    /// `x` with non-finite lanes read as 0, the rest clamped to ±10⁴ ([`texel_coords`]).
    #[inline(always)]
    unsafe fn finite_clamped(x: __m256) -> __m256 {
        let abs = _mm256_andnot_ps(set(-0.0), x);
        let ok = _mm256_cmp_ps::<_CMP_LT_OQ>(abs, set(f32::INFINITY));
        let x = _mm256_and_ps(x, ok);
        _mm256_min_ps(_mm256_max_ps(x, set(-1.0e4)), set(1.0e4))
    }

    /// Bilinear samples of `tex` over footprint `f`: raw channel values 0..255 (r, g, b, a).
    ///
    /// Safety (caller): `tex` passes `texture_ok` and every index of `f` is a texel of one of
    /// its levels (the footprint was made for `tex`, or for a texture with the same levels).
    #[inline(always)]
    unsafe fn bilerp(tex: &Texture, f: &Footprint) -> [__m256; 4] {
        let p = tex.blocks.as_ptr() as *const i32;
        // Safety: see the function's contract; every index addresses four bytes of `blocks`.
        let a = _mm256_i32gather_epi32::<4>(p, f.i[0]);
        let b = _mm256_i32gather_epi32::<4>(p, f.i[1]);
        let c = _mm256_i32gather_epi32::<4>(p, f.i[2]);
        let e = _mm256_i32gather_epi32::<4>(p, f.i[3]);
        let onef = set(1.0);
        let (fx, fy) = (f.fx, f.fy);
        let (gx, gy) = (_mm256_sub_ps(onef, fx), _mm256_sub_ps(onef, fy));
        let w00 = _mm256_mul_ps(gx, gy);
        let w10 = _mm256_mul_ps(fx, gy);
        let w01 = _mm256_mul_ps(gx, fy);
        let w11 = _mm256_mul_ps(fx, fy);
        let mut out = [_mm256_setzero_ps(); 4];
        for (k, o) in out.iter_mut().enumerate() {
            let k = k as i32;
            let r = _mm256_mul_ps(channel(a, k), w00);
            let r = _mm256_fmadd_ps(channel(b, k), w10, r);
            let r = _mm256_fmadd_ps(channel(c, k), w01, r);
            *o = _mm256_fmadd_ps(channel(e, k), w11, r);
        }
        out
    }

    /// Byte `k` (0..4) of every lane, as a float.
    #[inline(always)]
    unsafe fn channel(t: __m256i, k: i32) -> __m256 {
        let s = _mm256_srlv_epi32(t, seti(k * 8));
        _mm256_cvtepi32_ps(_mm256_and_si256(s, seti(255)))
    }

    /// Lane `l`'s entry of a 16-entry table (`l` in 0..16).
    #[inline(always)]
    unsafe fn pick16(t: &[i32; MAX_LEVELS], l: __m256i) -> __m256i {
        let lo = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(t.as_ptr() as *const __m256i), l);
        let hi =
            _mm256_permutevar8x32_epi32(_mm256_loadu_si256(t.as_ptr().add(8) as *const __m256i), l);
        _mm256_blendv_epi8(lo, hi, _mm256_cmpgt_epi32(l, seti(7)))
    }

    /// Bilinear samples of `N` textures with the same levels (sizes and wrap modes; the first
    /// decides the footprint) at (u, v) with a mip level per lane: one footprint when the lanes
    /// share a level, else one through `t` (the first texture's table), or without a table one
    /// footprint per distinct level.
    ///
    /// Safety (caller): every texture passes `texture_ok` and has the first one's levels;
    /// every lane's level is below their `mips.len()`.
    #[inline(always)]
    unsafe fn sample8_levels<const N: usize>(
        texs: [&Texture; N],
        t: Option<&Levels>,
        level: __m256i,
        u: __m256,
        v: __m256,
    ) -> [[__m256; 4]; N] {
        let tex = texs[0];
        let mut lv = [0i32; 8];
        _mm256_storeu_si256(lv.as_mut_ptr() as *mut __m256i, level);
        let first = lv[0];
        let mut done = _mm256_cmpeq_epi32(level, seti(first));
        if _mm256_movemask_ps(_mm256_castsi256_ps(done)) != 0xff {
            if let Some(t) = t {
                if t.base == tex.blocks.as_ptr() as usize {
                    let f = footprint8_mixed(tex, t, level, u, v);
                    let mut out = [[_mm256_setzero_ps(); 4]; N];
                    for n in 0..N {
                        out[n] = bilerp(texs[n], &f);
                    }
                    return out;
                }
            }
        }
        let f = footprint8(tex, first as usize, u, v);
        let mut out = [[_mm256_setzero_ps(); 4]; N];
        for n in 0..N {
            out[n] = bilerp(texs[n], &f);
        }
        while _mm256_movemask_ps(_mm256_castsi256_ps(done)) != 0xff {
            let m = _mm256_movemask_ps(_mm256_castsi256_ps(done)) as u32;
            let k = (!m).trailing_zeros() as usize;
            let l = lv[k];
            let sel = _mm256_cmpeq_epi32(level, seti(l));
            let self_ = _mm256_castsi256_ps(sel);
            let f = footprint8(tex, l as usize, u, v);
            for n in 0..N {
                let s = bilerp(texs[n], &f);
                for q in 0..4 {
                    out[n][q] = _mm256_blendv_ps(out[n][q], s[q], self_);
                }
            }
            done = _mm256_or_si256(done, sel);
        }
        out
    }

    /// `crate::texture::decode8`, eight-wide: sRGB texel values (0..255) to linear.
    #[inline(always)]
    unsafe fn decode8(px: __m256) -> __m256 {
        let d = crate::texture::DECODE_POLY;
        let x = _mm256_min_ps(
            _mm256_max_ps(_mm256_mul_ps(px, set(1.0 / 255.0)), _mm256_setzero_ps()),
            set(1.0),
        );
        let mut p = set(d[0]);
        for &dk in &d[1..] {
            p = _mm256_fmadd_ps(p, x, set(dk));
        }
        let lin = _mm256_mul_ps(x, set(1.0 / 12.92));
        _mm256_blendv_ps(p, lin, _mm256_cmp_ps::<_CMP_LE_OQ>(x, set(0.04045)))
    }

    /// `raster::pbr_terms`, eight-wide (the same operations in the same order).
    #[inline(always)]
    unsafe fn pbr_terms8(
        metal: __m256,
        rough: __m256,
        base: [f32; 4],
    ) -> (__m256, [__m256; 3], __m256) {
        let metallic = _mm256_min_ps(_mm256_max_ps(metal, _mm256_setzero_ps()), set(1.0));
        let rough = _mm256_min_ps(_mm256_max_ps(rough, set(0.04)), set(1.0));
        let r4 = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(rough, rough), rough), rough);
        let p = _mm256_sub_ps(_mm256_div_ps(set(2.0), r4), set(2.0));
        let p = _mm256_min_ps(_mm256_max_ps(p, set(2.0)), set(512.0));
        let norm = _mm256_div_ps(_mm256_add_ps(p, set(8.0)), set(8.0 * std::f32::consts::PI));
        let f0 = _mm256_add_ps(set(0.04), _mm256_mul_ps(set(0.5 - 0.04), metallic));
        let mut ks = [norm; 3];
        for (q, kq) in ks.iter_mut().enumerate() {
            let d = _mm256_sub_ps(set(base[q]), f0);
            let d = _mm256_mul_ps(_mm256_mul_ps(d, metallic), set(0.5));
            *kq = _mm256_mul_ps(norm, _mm256_add_ps(f0, d));
        }
        let kd = _mm256_sub_ps(set(1.0), _mm256_mul_ps(set(0.7), metallic));
        (kd, ks, p)
    }

    /// 1/|n| · n with the reference's fallback (+Z) for (near) zero vectors.
    #[inline(always)]
    unsafe fn normalize8(x: __m256, y: __m256, z: __m256) -> [__m256; 3] {
        let l2 = _mm256_fmadd_ps(x, x, _mm256_fmadd_ps(y, y, _mm256_mul_ps(z, z)));
        let ok = _mm256_cmp_ps::<_CMP_GT_OQ>(l2, set(1e-30));
        let inv = _mm256_div_ps(set(1.0), _mm256_sqrt_ps(l2));
        [
            _mm256_and_ps(_mm256_mul_ps(x, inv), ok),
            _mm256_and_ps(_mm256_mul_ps(y, inv), ok),
            _mm256_blendv_ps(set(1.0), _mm256_mul_ps(z, inv), ok),
        ]
    }

    #[inline(always)]
    unsafe fn dot8(n: &[__m256; 3], d: V3) -> __m256 {
        _mm256_fmadd_ps(
            n[0],
            set(d[0]),
            _mm256_fmadd_ps(n[1], set(d[1]), _mm256_mul_ps(n[2], set(d[2]))),
        )
    }

    /// Eight-wide `fast_exp2(p · fast_log2(x))`.
    #[inline(always)]
    unsafe fn pow8(x: __m256, p: f32) -> __m256 {
        pow8v(x, set(p))
    }

    /// [`pow8`] with an exponent per lane.
    #[inline(always)]
    unsafe fn pow8v(x: __m256, p: __m256) -> __m256 {
        let b = _mm256_castps_si256(x);
        let e = _mm256_sub_ps(
            _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32::<23>(b), seti(255))),
            set(127.0),
        );
        let m = _mm256_castsi256_ps(_mm256_or_si256(
            _mm256_and_si256(b, seti(0x007f_ffff)),
            seti(0x3f80_0000),
        ));
        let lg = _mm256_add_ps(
            e,
            _mm256_sub_ps(
                _mm256_mul_ps(_mm256_fmadd_ps(set(-1.0 / 3.0), m, set(2.0)), m),
                set(5.0 / 3.0),
            ),
        );
        let q = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(p, lg), set(-126.0)), set(0.0));
        let fl = _mm256_floor_ps(q);
        let z = _mm256_sub_ps(q, fl);
        let poly = _mm256_fmadd_ps(z, set(0.009_618_1), set(0.055_504_1));
        let poly = _mm256_fmadd_ps(z, poly, set(0.240_226_5));
        let poly = _mm256_fmadd_ps(z, poly, set(std::f32::consts::LN_2));
        let poly = _mm256_fmadd_ps(z, poly, set(1.0));
        let ex = _mm256_slli_epi32::<23>(_mm256_add_epi32(_mm256_cvtps_epi32(fl), seti(127)));
        _mm256_mul_ps(poly, _mm256_castsi256_ps(ex))
    }

    /// Interpolated texture coordinates of `ti` (texture transform applied), from the records'
    /// planes when they hold `ti`'s coordinate set, else from the vertices (`ShadeCtx::uv`).
    #[inline(always)]
    unsafe fn uv8<F: Fields>(k: &Kernel, m: &MatInfo, ti: &TexInfo, g: &Lanes<F>) -> [__m256; 2] {
        let (u, w) = if m.plane_tex().is_some_and(|p| p.uv1 == ti.uv1) {
            (
                _mm256_mul_ps(g.plane(k, k.tl.uv, 8), g.w),
                _mm256_mul_ps(g.plane(k, k.tl.uv + 4, 8), g.w),
            )
        } else {
            let off = if ti.uv1 { k.vl.uv1 } else { k.vl.uv0 };
            let (v, b) = g.verts(k);
            let mut u = _mm256_setzero_ps();
            let mut w = _mm256_setzero_ps();
            for i in 0..3 {
                u = _mm256_fmadd_ps(v[i].a(k, off), b[i], u);
                w = _mm256_fmadd_ps(v[i].a(k, off + 4), b[i], w);
            }
            (u, w)
        };
        transformed8(ti, [u, w])
    }

    /// Texture coordinates through `ti`'s texture transform (`raster::transformed`).
    #[inline(always)]
    unsafe fn transformed8(ti: &TexInfo, [u, v]: [__m256; 2]) -> [__m256; 2] {
        match ti.xf {
            Some(m) => [
                _mm256_fmadd_ps(set(m[0]), u, _mm256_fmadd_ps(set(m[2]), v, set(m[4]))),
                _mm256_fmadd_ps(set(m[1]), u, _mm256_fmadd_ps(set(m[3]), v, set(m[5]))),
            ],
            None => [u, v],
        }
    }

    /// One texture's texels (raw, 0..255) at the lanes' coordinates: the base colour's
    /// coordinates `base_uv` when `ti` has the same set and transform, else its own.
    #[inline(always)]
    unsafe fn texels8<F: Fields>(
        k: &Kernel,
        m: &MatInfo,
        ti: &TexInfo,
        g: &Lanes<F>,
        (base_uv, lod, w): (Option<[__m256; 2]>, __m256, __m256),
    ) -> [__m256; 4] {
        let uv = match (&m.base_tex, base_uv) {
            (Some(bt), Some(uv)) if bt.uv1 == ti.uv1 && bt.xf == ti.xf => uv,
            _ => uv8(k, m, ti, g),
        };
        let tex = &k.av.textures[ti.tex as usize];
        let lt = k.levels.get(ti.tex as usize).and_then(|t| t.as_ref());
        sample8_levels([tex], lt, level8(ti, lod, w), uv[0], uv[1])[0]
    }

    /// Mip level per lane (`ShadeCtx::level`, eight-wide): texel area per pixel
    /// `lod · area · 2 · w³`, level ⌊log4⌋, 0 below 2 texels.
    #[inline(always)]
    unsafe fn level8(ti: &TexInfo, lod: __m256, w: __m256) -> __m256i {
        let w3 = _mm256_mul_ps(_mm256_mul_ps(w, w), w);
        let texels = _mm256_mul_ps(_mm256_mul_ps(lod, set(ti.area * 2.0)), w3);
        let big = _mm256_cmp_ps::<_CMP_GT_OQ>(texels, set(2.0)); // false for NaN
        let e = _mm256_sub_epi32(
            _mm256_and_si256(
                _mm256_srli_epi32::<23>(_mm256_castps_si256(texels)),
                seti(255),
            ),
            seti(127),
        );
        let l = _mm256_min_epi32(
            _mm256_srli_epi32::<1>(_mm256_max_epi32(e, _mm256_setzero_si256())),
            seti(ti.levels as i32 - 1),
        );
        _mm256_and_si256(l, _mm256_castps_si256(big))
    }

    /// Bit `p` set where `v[p] == x`.
    ///
    /// # Safety
    /// AVX2 present.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn eq_mask8(v: &[u32; 8], x: u32) -> u32 {
        let a = _mm256_loadu_si256(v.as_ptr() as *const __m256i);
        _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(a, seti(x as i32)))) as u32
    }

    /// Per 8-bit mask: the positions of its set bits in ascending order (then zeros), one byte
    /// each: the permutation that packs the selected lanes to the front.
    const COMPRESS: [u64; 256] = {
        let mut t = [0u64; 256];
        let mut m = 0;
        while m < 256 {
            let (mut v, mut n, mut p) = (0u64, 0, 0);
            while p < 8 {
                if m >> p & 1 != 0 {
                    v |= (p as u64) << (8 * n);
                    n += 1;
                }
                p += 1;
            }
            t[m] = v;
            m += 1;
        }
        t
    };

    /// [`Batch::push_masked`], eight-wide: the selected lanes packed to the front with one
    /// permutation, all eight slots written, the count advanced by the selected ones.
    ///
    /// # Safety
    /// AVX2 present; `b.n <= BATCH - 8` (as for `push_masked`).
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn push_masked8(
        b: &mut Batch,
        k: usize,
        tri: &[u32; 8],
        mat: u32,
        mask: u32,
    ) {
        let i = b.n;
        debug_assert!(i + 8 <= BATCH);
        let m = (mask & 0xff) as usize;
        let perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(COMPRESS[m] as i64));
        let pix = _mm256_add_epi32(seti(k as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        let t = _mm256_loadu_si256(tri.as_ptr() as *const __m256i);
        // Safety (writes): `i + 8 <= BATCH` (caller), so all four arrays have eight slots at `i`.
        _mm256_storeu_si256(
            b.pix.as_mut_ptr().add(i) as *mut __m256i,
            _mm256_permutevar8x32_epi32(pix, perm),
        );
        _mm256_storeu_si256(
            b.tri.as_mut_ptr().add(i) as *mut __m256i,
            _mm256_permutevar8x32_epi32(t, perm),
        );
        _mm256_storeu_si256(b.mat.as_mut_ptr().add(i) as *mut __m256i, seti(mat as i32));
        _mm256_storeu_ps(b.wt.as_mut_ptr().add(i), set(1.0));
        b.n = i + m.count_ones() as usize;
    }

    /// Writes `mask`'s eight low bits to eight flags (`dst[p] = bit p`).
    ///
    /// # Safety
    /// AVX2 present; `dst` points to eight writable flags.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn flags8(dst: *mut bool, mask: u32) {
        let bits = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 0, 0, 0, 0, 0, 0, 0, 0);
        let m = _mm_and_si128(_mm_set1_epi8(mask as u8 as i8), bits);
        let b = _mm_and_si128(_mm_cmpeq_epi8(m, bits), _mm_set1_epi8(1));
        _mm_storel_epi64(dst as *mut __m128i, b);
    }

    /// Classifies eight consecutive pixels of the visibility buffer (`ids`/`depth`: four samples
    /// per pixel) like the reference loop in `Raster::draw_impl`, for pixels whose triangles all
    /// lie in `range` (the triangle ids of one material; a material's triangles are
    /// consecutive). Pixels that need a material lookup are left for the reference loop.
    ///
    /// # Safety
    /// AVX2 present; `ids` and `depth` point to 32 readable samples.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn classify8(
        ids: *const u32,
        depth: *const f32,
        range: (u32, u32),
    ) -> Class8 {
        // Rotations of the four samples inside each pixel (one pixel per 128-bit lane).
        const R1: i32 = 0b00_11_10_01;
        const R2: i32 = 0b01_00_11_10;
        const R3: i32 = 0b10_01_00_11;
        let none = seti(u32::MAX as i32);
        // 3 - sample index: ties in the sample count go to the earlier sample.
        let order = _mm256_setr_epi32(3, 2, 1, 0, 3, 2, 1, 0);
        let mut c = Class8 {
            simple: 0,
            empty: 0,
            best: [0; 8],
        };
        // Common cases first: all 32 samples one triangle (inside a large one) or none.
        let first = *ids;
        let f = seti(first as i32);
        let vs: [__m256i; 4] =
            std::array::from_fn(|q| _mm256_loadu_si256(ids.add(q * 8) as *const __m256i));
        let all_eq = _mm256_and_si256(
            _mm256_and_si256(_mm256_cmpeq_epi32(vs[0], f), _mm256_cmpeq_epi32(vs[1], f)),
            _mm256_and_si256(_mm256_cmpeq_epi32(vs[2], f), _mm256_cmpeq_epi32(vs[3], f)),
        );
        if _mm256_movemask_ps(_mm256_castsi256_ps(all_eq)) == 0xff {
            if first == u32::MAX {
                c.empty = 0xff;
                return c;
            }
            if first.wrapping_sub(range.0) < range.1.wrapping_sub(range.0) {
                c.simple = 0xff;
                c.best = [first; 8];
                return c;
            }
        }
        // Per four-sample lane bits of the 32 samples: equal to the pixel's first sample,
        // nothing drawn, depth spread small (all four lanes alike), inside the material's range.
        let mut masks = [0u32; 4];
        for q in 0..4 {
            let v = vs[q];
            let d = _mm256_loadu_ps(depth.add(q * 8));
            let first = _mm256_shuffle_epi32::<0>(v);
            let eq = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(v, first))) as u32;
            let is_none = _mm256_cmpeq_epi32(v, none);
            let nm = _mm256_movemask_ps(_mm256_castsi256_ps(is_none)) as u32;
            // Sample counts: 1 + how many other samples of the pixel hold the same id.
            let cnt = _mm256_sub_epi32(
                _mm256_sub_epi32(
                    _mm256_sub_epi32(
                        seti(1),
                        _mm256_cmpeq_epi32(v, _mm256_shuffle_epi32::<R1>(v)),
                    ),
                    _mm256_cmpeq_epi32(v, _mm256_shuffle_epi32::<R2>(v)),
                ),
                _mm256_cmpeq_epi32(v, _mm256_shuffle_epi32::<R3>(v)),
            );
            let key = _mm256_or_si256(_mm256_slli_epi32::<2>(cnt), order);
            let m1 = _mm256_max_epi32(key, _mm256_shuffle_epi32::<R1>(key));
            let m2 = _mm256_max_epi32(m1, _mm256_shuffle_epi32::<R2>(m1));
            let sel = _mm256_and_si256(v, _mm256_cmpeq_epi32(key, m2));
            let o1 = _mm256_or_si256(sel, _mm256_shuffle_epi32::<R1>(sel));
            let best = _mm256_or_si256(o1, _mm256_shuffle_epi32::<R2>(o1));
            // Depth spread.
            let zmax1 = _mm256_max_ps(d, _mm256_permute_ps::<R1>(d));
            let zmax = _mm256_max_ps(zmax1, _mm256_permute_ps::<R2>(zmax1));
            let zmin1 = _mm256_min_ps(d, _mm256_permute_ps::<R1>(d));
            let zmin = _mm256_min_ps(zmin1, _mm256_permute_ps::<R2>(zmin1));
            let near = _mm256_cmp_ps::<_CMP_LE_OQ>(
                _mm256_sub_ps(zmax, zmin),
                _mm256_mul_ps(set(0.004), zmax),
            );
            let near = _mm256_movemask_ps(near) as u32;
            // Samples inside the material's id range (unsigned `id - lo < n`).
            let (lo, n) = (range.0, range.1.wrapping_sub(range.0));
            let rel = _mm256_sub_epi32(v, seti(lo as i32));
            let last = seti(n.wrapping_sub(1) as i32);
            let inside = if n == 0 {
                _mm256_setzero_si256()
            } else {
                _mm256_cmpeq_epi32(_mm256_max_epu32(rel, last), last)
            };
            let same = _mm256_movemask_ps(_mm256_castsi256_ps(inside)) as u32;
            // Each pixel's best id sits in all four of its lanes: take lane 0 of each.
            let mut bl = [0u32; 8];
            _mm256_storeu_si256(bl.as_mut_ptr() as *mut __m256i, best);
            c.best[q * 2] = bl[0];
            c.best[q * 2 + 1] = bl[4];
            let sh = 8 * q;
            masks[0] |= eq << sh;
            masks[1] |= nm << sh;
            masks[2] |= near << sh;
            masks[3] |= same << sh;
        }
        // Four bits per pixel: all four set / any set, then one bit per pixel.
        let all4 = |x: u32| x & (x >> 1) & (x >> 2) & (x >> 3) & 0x1111_1111;
        let any4 = |x: u32| (x | (x >> 1) | (x >> 2) | (x >> 3)) & 0x1111_1111;
        let pack = |x: u32| {
            let b = (x | (x >> 3)) & 0x0303_0303;
            let b = (b | (b >> 6)) & 0x000f_000f;
            (b | (b >> 12)) & 0xff
        };
        let uniform = all4(masks[0]);
        let none = any4(masks[1]);
        let inside = all4(masks[3]);
        let near = masks[2] & 0x1111_1111;
        c.empty = pack(uniform & none);
        c.simple = pack(!none & inside & (uniform | near));
        c
    }

    /// Encode `col` (linear RGB) to sRGB RGBA bytes in `out` through the tone-mapping table `enc`
    /// (`Luts::encode`, eight-wide; `enc` must have 3 bytes of padding after its `n` entries),
    /// except where `bgflag` is set: there the background pixel (`bg_const`, or `bg_row[x]` when
    /// given) is written. Returns how many leading pixels were done (a multiple of 8).
    ///
    /// Safety: AVX2 and FMA present; `out.len() >= 4 * col.len()`, `bgflag.len() >= col.len()`,
    /// `bg_row` (if any) at least `col.len()` long.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn encode_row(
        col: &[V3],
        bgflag: &[bool],
        bg_const: u32,
        bg_row: Option<&[[u8; 4]]>,
        enc: &[u8],
        enc_base: u32,
        (lo_exp, hi_exp): (u32, u32),
        out: &mut [u8],
    ) -> usize {
        let n8 = col.len() / 8 * 8;
        let lo = seti((lo_exp << 23) as i32);
        let hi = seti((hi_exp << 23) as i32 - 1);
        let last = enc.len().saturating_sub(4) as i32;
        let tab = enc.as_ptr() as *const i32;
        let mut x = 0;
        while x < n8 {
            let f = _mm_loadl_epi64(bgflag.as_ptr().add(x) as *const __m128i);
            let bgm = _mm256_cmpgt_epi32(_mm256_cvtepu8_epi32(f), _mm256_setzero_si256());
            let bg_lanes = _mm256_movemask_ps(_mm256_castsi256_ps(bgm));
            let bgv = || match bg_row {
                Some(r) => _mm256_or_si256(
                    _mm256_loadu_si256(r.as_ptr().add(x) as *const __m256i),
                    seti(0xff00_0000u32 as i32),
                ),
                None => seti(bg_const as i32),
            };
            if bg_lanes == 0xff {
                // All background (around the avatar): nothing to encode.
                _mm256_storeu_si256(out.as_mut_ptr().add(x * 4) as *mut __m256i, bgv());
                x += 8;
                continue;
            }
            // Eight RGB pixels (24 floats) → one vector per channel: blend so each lane holds
            // an element of the wanted channel, then permute into pixel order.
            let base = col.as_ptr().add(x) as *const f32;
            let (v0, v1, v2) = (
                _mm256_loadu_ps(base),
                _mm256_loadu_ps(base.add(8)),
                _mm256_loadu_ps(base.add(16)),
            );
            let chans = [
                _mm256_permutevar8x32_ps(
                    _mm256_blend_ps::<0x24>(_mm256_blend_ps::<0x92>(v0, v1), v2),
                    _mm256_setr_epi32(0, 3, 6, 1, 4, 7, 2, 5),
                ),
                _mm256_permutevar8x32_ps(
                    _mm256_blend_ps::<0x49>(_mm256_blend_ps::<0x24>(v0, v1), v2),
                    _mm256_setr_epi32(1, 4, 7, 2, 5, 0, 3, 6),
                ),
                _mm256_permutevar8x32_ps(
                    _mm256_blend_ps::<0x92>(_mm256_blend_ps::<0x49>(v0, v1), v2),
                    _mm256_setr_epi32(2, 5, 0, 3, 6, 1, 4, 7),
                ),
            ];
            let mut px = seti(0xff00_0000u32 as i32);
            for (c, &v) in chans.iter().enumerate() {
                let b = _mm256_castps_si256(v);
                let nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
                let low = _mm256_or_si256(_mm256_cmpgt_epi32(lo, b), nan);
                let high = _mm256_andnot_si256(nan, _mm256_cmpgt_epi32(b, hi));
                let idx = _mm256_sub_epi32(_mm256_srli_epi32::<15>(b), seti(enc_base as i32));
                let idx = _mm256_andnot_si256(_mm256_or_si256(low, high), idx);
                let idx =
                    _mm256_min_epi32(_mm256_max_epi32(idx, _mm256_setzero_si256()), seti(last));
                // Safety: 0 <= idx <= enc.len() - 4, so the 4-byte reads stay inside `enc`.
                let e = _mm256_and_si256(_mm256_i32gather_epi32::<1>(tab, idx), seti(255));
                let e =
                    _mm256_andnot_si256(low, _mm256_or_si256(e, _mm256_and_si256(high, seti(255))));
                px = _mm256_or_si256(px, _mm256_sllv_epi32(e, seti(8 * c as i32)));
            }
            if bg_lanes != 0 {
                px = _mm256_blendv_epi8(px, bgv(), bgm);
            }
            _mm256_storeu_si256(out.as_mut_ptr().add(x * 4) as *mut __m256i, px);
            x += 8;
        }
        n8
    }

    /// Shade the first `lanes` of the eight (pixel, triangle) pairs, all of material `mat`,
    /// into `col`.
    ///
    /// Safety: the CPU has AVX2 and FMA; `mat`'s textures pass [`simd_texture`]; `k`'s pointers
    /// are valid for every triangle id in `tri` and every vertex index of those triangles.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn shade8(
        k: &Kernel,
        (pixs, tris, wts): (&[u32; 8], &[u32; 8], &[f32; 8]),
        mat: u32,
        lanes: usize,
        col: &mut [V3],
    ) {
        let m = &k.mats[mat as usize];
        let tl = &k.tl;
        let pix = _mm256_loadu_si256(pixs.as_ptr() as *const __m256i);
        let id = _mm256_loadu_si256(tris.as_ptr() as *const __m256i);
        let tile_bits = TILE.trailing_zeros() as i32;
        let lx = _mm256_and_si256(pix, seti(TILE as i32 - 1));
        let ly = _mm256_srlv_epi32(pix, seti(tile_bits));
        let px = _mm256_add_ps(_mm256_cvtepi32_ps(lx), set(k.x0 + 0.5));
        let py = _mm256_add_ps(_mm256_cvtepi32_ps(ly), set(k.y0 + 0.5));
        let t = k.tris;
        match Src::of(id, tris[0]) {
            Src::Many(_) => {
                let words = if m.plane_tex().is_some() || m.col_planes {
                    TRI_WORDS
                } else if !m.unlit {
                    24
                } else {
                    16
                };
                let cols = Cols::of(t, tl.stride, tris, words);
                shade8_with(
                    k,
                    (pixs, tris, wts),
                    m,
                    lanes,
                    col,
                    (pix, px, py, id),
                    &cols,
                )
            }
            src => shade8_with(k, (pixs, tris, wts), m, lanes, col, (pix, px, py, id), &src),
        }
    }

    /// [`shade8`]'s body, for one kind of field source (`ts` holds the fields of the lanes'
    /// triangles `tris`).
    ///
    /// Safety (caller): as [`shade8`]'s.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn shade8_with<F: Fields>(
        k: &Kernel,
        (pixs, tris, wts): (&[u32; 8], &[u32; 8], &[f32; 8]),
        m: &MatInfo,
        lanes: usize,
        col: &mut [V3],
        (pix, px, py, id): (__m256i, __m256, __m256, __m256i),
        ts: &F,
    ) {
        let l = k.luts;
        let tl = &k.tl;
        let t = k.tris;
        // Barycentrics (ShadeCtx::bary).
        let dx = _mm256_sub_ps(px, ts.f(t, tl.stride, tl.ox));
        let dy = _mm256_sub_ps(py, ts.f(t, tl.stride, tl.oy));
        let mut l1 = _mm256_fmadd_ps(
            ts.f(t, tl.stride, tl.fa),
            dx,
            _mm256_mul_ps(ts.f(t, tl.stride, tl.fb), dy),
        );
        let mut l2 = _mm256_fmadd_ps(
            ts.f(t, tl.stride, tl.fa + 4),
            dx,
            _mm256_mul_ps(ts.f(t, tl.stride, tl.fb + 4), dy),
        );
        let mut l0 = _mm256_sub_ps(_mm256_sub_ps(set(1.0), l1), l2);
        let zero = _mm256_setzero_ps();
        let neg = _mm256_or_ps(
            _mm256_or_ps(
                _mm256_cmp_ps::<_CMP_LT_OQ>(l0, zero),
                _mm256_cmp_ps::<_CMP_LT_OQ>(l1, zero),
            ),
            _mm256_cmp_ps::<_CMP_LT_OQ>(l2, zero),
        );
        if _mm256_movemask_ps(neg) != 0 {
            let (c0, c1, c2) = (
                _mm256_max_ps(l0, zero),
                _mm256_max_ps(l1, zero),
                _mm256_max_ps(l2, zero),
            );
            let s = _mm256_add_ps(_mm256_add_ps(c0, c1), c2);
            let inv = _mm256_div_ps(set(1.0), s);
            // Nothing left inside (only with non-finite set-up): the centroid.
            let degenerate = _mm256_and_ps(neg, _mm256_cmp_ps::<_CMP_LE_OQ>(s, zero));
            let third = set(1.0 / 3.0);
            l0 = _mm256_blendv_ps(l0, _mm256_mul_ps(c0, inv), neg);
            l1 = _mm256_blendv_ps(l1, _mm256_mul_ps(c1, inv), neg);
            l2 = _mm256_blendv_ps(l2, _mm256_mul_ps(c2, inv), neg);
            l0 = _mm256_blendv_ps(l0, third, degenerate);
            l1 = _mm256_blendv_ps(l1, third, degenerate);
            l2 = _mm256_blendv_ps(l2, third, degenerate);
        }
        let mut g = Lanes {
            ts,
            l: [l0, l1, l2],
            w: zero,
            ids: tris,
            idv: id,
        };
        let w = _mm256_div_ps(set(1.0), g.plane(k, tl.q, 4));
        g.w = w;
        let lod = if m.samples_texture() {
            g.ts.f(t, tl.stride, tl.lod)
        } else {
            zero
        };
        // Base colour.
        let mut c = [set(m.base[0]), set(m.base[1]), set(m.base[2])];
        // The decoded base texel, for a toon material whose shade texture is the base texture.
        let mut texel = [set(1.0); 3];
        let mut base_uv = None;
        let mut paired_normal = None;
        if let Some(ti) = &m.base_tex {
            let uv = uv8(k, m, ti, &g);
            base_uv = Some(uv);
            let tex = &k.av.textures[ti.tex as usize];
            let lt = k.levels.get(ti.tex as usize).and_then(|t| t.as_ref());
            let level = level8(ti, lod, w);
            let px = match &m.normal_tex {
                // Same texels as the normal map: one footprint for both (`MatInfo::paired`: the
                // two textures have the same levels and wrap modes, as `sample8_levels` needs).
                Some(ni) if m.paired => {
                    let ntex = &k.av.textures[ni.tex as usize];
                    let [px, pn] = sample8_levels([tex, ntex], lt, level, uv[0], uv[1]);
                    paired_normal = Some(pn);
                    px
                }
                _ => sample8_levels([tex], lt, level, uv[0], uv[1])[0],
            };
            for q in 0..3 {
                texel[q] = decode8(px[q]);
                c[q] = _mm256_mul_ps(c[q], texel[q]);
            }
        }
        // (Not closures: a closure does not inherit the kernel's `target_feature`s, and its
        // intrinsics would become calls.)
        let at = (base_uv, lod, w);
        let emissive = match &m.emis_tex {
            Some(ti) => {
                let px = texels8(k, m, ti, &g, at);
                let mut e = [_mm256_setzero_ps(); 3];
                for q in 0..3 {
                    e[q] = _mm256_mul_ps(set(m.emissive[q]), decode8(px[q]));
                }
                e
            }
            None => [set(m.emissive[0]), set(m.emissive[1]), set(m.emissive[2])],
        };
        if m.col_planes {
            for (q, cq) in c.iter_mut().enumerate() {
                *cq = _mm256_mul_ps(*cq, _mm256_mul_ps(g.plane(k, tl.col + 4 * q, 16), w));
            }
        } else if m.has_color {
            let (v, b) = g.verts(k);
            for (q, cq) in c.iter_mut().enumerate() {
                let mut a = _mm256_setzero_ps();
                for i in 0..3 {
                    a = _mm256_fmadd_ps(v[i].a(k, k.vl.col + 4 * q), b[i], a);
                }
                *cq = _mm256_mul_ps(*cq, a);
            }
        }
        let mut out = [[0f32; 8]; 3];
        if m.unlit {
            for q in 0..3 {
                _mm256_storeu_ps(out[q].as_mut_ptr(), _mm256_add_ps(c[q], emissive[q]));
            }
        } else {
            let mut n = normalize8(
                g.plane(k, tl.n, 12),
                g.plane(k, tl.n + 4, 12),
                g.plane(k, tl.n + 8, 12),
            );
            if let Some(ti) = &m.normal_tex {
                let (tx, ty, tz) = (
                    g.ts.f(t, tl.stride, tl.t),
                    g.ts.f(t, tl.stride, tl.t + 4),
                    g.ts.f(t, tl.stride, tl.t + 8),
                );
                let has_t = _mm256_or_ps(
                    _mm256_or_ps(
                        _mm256_cmp_ps::<_CMP_NEQ_UQ>(tx, zero),
                        _mm256_cmp_ps::<_CMP_NEQ_UQ>(ty, zero),
                    ),
                    _mm256_cmp_ps::<_CMP_NEQ_UQ>(tz, zero),
                );
                if _mm256_movemask_ps(has_t) != 0 {
                    let px = match paired_normal {
                        Some(px) => px,
                        None => texels8(k, m, ti, &g, at),
                    };
                    let two = set(2.0 / 255.0);
                    let x =
                        _mm256_mul_ps(_mm256_fmsub_ps(px[0], two, set(1.0)), set(m.normal_scale));
                    let y =
                        _mm256_mul_ps(_mm256_fmsub_ps(px[1], two, set(1.0)), set(m.normal_scale));
                    let z = _mm256_max_ps(_mm256_fmsub_ps(px[2], two, set(1.0)), set(0.05));
                    let (bx, by, bz) = (
                        g.ts.f(t, tl.stride, tl.b),
                        g.ts.f(t, tl.stride, tl.b + 4),
                        g.ts.f(t, tl.stride, tl.b + 8),
                    );
                    let p = normalize8(
                        _mm256_fmadd_ps(tx, x, _mm256_fmadd_ps(bx, y, _mm256_mul_ps(n[0], z))),
                        _mm256_fmadd_ps(ty, x, _mm256_fmadd_ps(by, y, _mm256_mul_ps(n[1], z))),
                        _mm256_fmadd_ps(tz, x, _mm256_fmadd_ps(bz, y, _mm256_mul_ps(n[2], z))),
                    );
                    for q in 0..3 {
                        n[q] = _mm256_blendv_ps(n[q], p[q], has_t);
                    }
                }
            }
            if let Some(tn) = &m.toon {
                // ShadeCtx::shade and raster::toon_light, eight-wide.
                let mut sh = [set(tn.shade[0]), set(tn.shade[1]), set(tn.shade[2])];
                if tn.shade_is_base {
                    for q in 0..3 {
                        sh[q] = _mm256_mul_ps(sh[q], texel[q]);
                    }
                } else if let Some(ti) = &tn.shade_tex {
                    let px = texels8(k, m, ti, &g, at);
                    for q in 0..3 {
                        sh[q] = _mm256_mul_ps(sh[q], decode8(px[q]));
                    }
                }
                // The material's own textures (ShadeCtx::shade).
                let mut x = Toon8 {
                    gain: set(1.0),
                    shift: zero,
                    matcap: [zero; 3],
                    rim_mul: [set(1.0); 3],
                };
                if let Some(ti) = &tn.shift_tex {
                    let px = texels8(k, m, ti, &g, at);
                    let [a0, a1, b0, b1] = tn.shift_map;
                    let t = _mm256_mul_ps(px[0], set(1.0 / 255.0));
                    x.gain = _mm256_fmadd_ps(set(a1), t, set(a0));
                    x.shift = _mm256_fmadd_ps(set(b1), t, set(b0));
                }
                if let Some((ti, f, level)) = &tn.matcap {
                    let u = _mm256_fmadd_ps(set(0.495), n[0], set(0.5));
                    let v = _mm256_fnmadd_ps(set(0.495), n[1], set(0.5));
                    let [u, v] = transformed8(ti, [u, v]);
                    let tex = &k.av.textures[ti.tex as usize];
                    let lt = k.levels.get(ti.tex as usize).and_then(|t| t.as_ref());
                    let px = sample8_levels([tex], lt, seti(*level as i32), u, v)[0];
                    for q in 0..3 {
                        x.matcap[q] = _mm256_mul_ps(set(f[q]), decode8(px[q]));
                    }
                }
                if let Some(ti) = &tn.rim_tex {
                    let px = texels8(k, m, ti, &g, at);
                    for q in 0..3 {
                        x.rim_mul[q] = decode8(px[q]);
                    }
                }
                let o = toon8(&l.lights, tn, c, sh, &n, &x);
                for q in 0..3 {
                    _mm256_storeu_ps(out[q].as_mut_ptr(), _mm256_add_ps(o[q], emissive[q]));
                }
            } else {
                // Metallic-roughness and occlusion textures (ShadeCtx::shade).
                let mut mr = None;
                let terms = match &m.mr_tex {
                    Some(ti) => {
                        let px = texels8(k, m, ti, &g, at);
                        mr = Some(px);
                        let [metal, rough] = m.metal_rough;
                        Some(pbr_terms8(
                            _mm256_mul_ps(_mm256_mul_ps(set(metal), px[2]), set(1.0 / 255.0)),
                            _mm256_mul_ps(_mm256_mul_ps(set(rough), px[1]), set(1.0 / 255.0)),
                            m.base,
                        ))
                    }
                    None => None,
                };
                let ao = match &m.occ_tex {
                    Some(ti) => {
                        let px = match mr {
                            Some(px) if m.occ_in_mr => px,
                            _ => texels8(k, m, ti, &g, at),
                        };
                        let a = _mm256_sub_ps(_mm256_mul_ps(px[0], set(1.0 / 255.0)), set(1.0));
                        Some(_mm256_add_ps(
                            set(1.0),
                            _mm256_mul_ps(set(m.occ_strength), a),
                        ))
                    }
                    None => None,
                };
                // raster::diffuse_env, eight-wide.
                let lt = &l.lights;
                let kd = _mm256_min_ps(
                    _mm256_max_ps(
                        _mm256_mul_ps(
                            _mm256_add_ps(dot8(&n, lt.key_dir), set(0.45)),
                            set(1.0 / 1.45),
                        ),
                        zero,
                    ),
                    set(1.0),
                );
                let ks = _mm256_mul_ps(
                    _mm256_mul_ps(kd, kd),
                    _mm256_fnmadd_ps(set(2.0), kd, set(3.0)),
                );
                let key = _mm256_fmadd_ps(ks, set(0.35), _mm256_mul_ps(kd, set(0.65)));
                let f = _mm256_max_ps(
                    _mm256_mul_ps(
                        _mm256_add_ps(dot8(&n, lt.fill_dir), set(0.5)),
                        set(1.0 / 1.5),
                    ),
                    zero,
                );
                let r = _mm256_max_ps(dot8(&n, lt.rim_dir), zero);
                let e = _mm256_sub_ps(set(1.0), _mm256_max_ps(n[2], zero));
                let fres = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(e, e), e), set(0.35));
                let mut h = _mm256_fmadd_ps(set(0.5), n[1], set(0.5));
                let rim = _mm256_fmadd_ps(r, r, _mm256_mul_ps(fres, set(0.6)));
                let (f, ground) = match ao {
                    Some(ao) => {
                        h = _mm256_mul_ps(h, ao);
                        (
                            _mm256_mul_ps(f, ao),
                            [
                                _mm256_mul_ps(set(lt.ground[0]), ao),
                                _mm256_mul_ps(set(lt.ground[1]), ao),
                                _mm256_mul_ps(set(lt.ground[2]), ao),
                            ],
                        )
                    }
                    None => (f, [set(lt.ground[0]), set(lt.ground[1]), set(lt.ground[2])]),
                };
                // Specular (ShadeCtx::light).
                let nh = dot8(&n, l.key_h);
                let nl = dot8(&n, lt.key_dir);
                let on = _mm256_and_ps(
                    _mm256_cmp_ps::<_CMP_GT_OQ>(nh, set(m.spec_cut)),
                    _mm256_cmp_ps::<_CMP_GT_OQ>(nl, zero),
                );
                let spec = if _mm256_movemask_ps(on) != 0 {
                    let p = match &terms {
                        Some((_, _, p)) => pow8v(nh, *p),
                        None => pow8(nh, m.spec_pow),
                    };
                    let sp = _mm256_mul_ps(_mm256_mul_ps(p, _mm256_min_ps(nl, set(0.5))), set(2.0));
                    _mm256_and_ps(sp, on)
                } else {
                    zero
                };
                for q in 0..3 {
                    let irr = _mm256_fmadd_ps(set(lt.key_col[q]), key, ground[q]);
                    let irr = _mm256_fmadd_ps(set(lt.fill_col[q]), f, irr);
                    let irr = _mm256_fmadd_ps(set(lt.rim_col[q]), rim, irr);
                    let irr = _mm256_fmadd_ps(set(lt.sky[q] - lt.ground[q]), h, irr);
                    let (kd, ks) = match &terms {
                        Some((kd, ks, _)) => (*kd, _mm256_mul_ps(ks[q], set(lt.key_col[q]))),
                        None => (set(m.kd), set(m.ks[q] * lt.key_col[q])),
                    };
                    let o = _mm256_mul_ps(_mm256_mul_ps(c[q], kd), irr);
                    let o = _mm256_fmadd_ps(ks, spec, o);
                    _mm256_storeu_ps(out[q].as_mut_ptr(), _mm256_add_ps(o, emissive[q]));
                }
            }
        }
        // Eight whole consecutive pixels (most groups): interleave in registers and store.
        let p0 = pixs[0] as usize;
        let next = _mm256_add_epi32(seti(p0 as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        let consecutive = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(pix, next)));
        let whole = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(
            _mm256_loadu_ps(wts.as_ptr()),
            set(1.0),
        ));
        if lanes == 8 && consecutive == 0xff && whole == 0xff && p0 + 8 <= col.len() {
            let o = [
                _mm256_loadu_ps(out[0].as_ptr()),
                _mm256_loadu_ps(out[1].as_ptr()),
                _mm256_loadu_ps(out[2].as_ptr()),
            ];
            // Safety: `col[p0..p0 + 8]` is in bounds (checked above): 24 floats.
            store_rgb8(col.as_mut_ptr().add(p0) as *mut f32, o);
            return;
        }
        for q in 0..lanes {
            store(
                &mut col[pixs[q] as usize],
                [out[0][q], out[1][q], out[2][q]],
                wts[q],
            );
        }
    }

    /// [`crate::raster::toon_light`], eight-wide: lit colour `lit`, shade colour `shade`, unit
    /// normals `n`.
    #[inline(always)]
    unsafe fn toon8(
        lt: &crate::raster::Lights,
        tn: &crate::raster::ToonInfo,
        lit: [__m256; 3],
        shade: [__m256; 3],
        n: &[__m256; 3],
        x: &Toon8,
    ) -> [__m256; 3] {
        let zero = _mm256_setzero_ps();
        let r = _mm256_min_ps(
            _mm256_max_ps(
                _mm256_mul_ps(
                    _mm256_sub_ps(
                        _mm256_fmadd_ps(x.gain, dot8(n, lt.key_dir), x.shift),
                        set(tn.lo),
                    ),
                    set(tn.inv_width),
                ),
                zero,
            ),
            set(1.0),
        );
        let h = _mm256_fmadd_ps(set(0.5), n[1], set(0.5));
        let gi = _mm256_mul_ps(
            set(TOON_GI * 2.0),
            _mm256_fmadd_ps(set(1.0 - tn.gi_eq), h, set(tn.gi_eq * 0.5)),
        );
        let (rc, fres) = match tn.rim {
            Some(rc) => {
                let x = _mm256_min_ps(
                    _mm256_max_ps(
                        _mm256_add_ps(_mm256_sub_ps(set(1.0), n[2]), set(tn.rim_lift)),
                        zero,
                    ),
                    set(1.0),
                );
                (rc, pow8(x, tn.rim_pow))
            }
            None => ([0.0; 3], zero),
        };
        let mut out = [zero; 3];
        for q in 0..3 {
            let d = _mm256_fmadd_ps(_mm256_sub_ps(lit[q], shade[q]), r, shade[q]);
            let o = _mm256_mul_ps(d, set(1.0 - TOON_GI));
            out[q] = _mm256_fmadd_ps(lit[q], gi, o);
        }
        if tn.has_rim() {
            // 1 + (light - 1) · rimLightingMix, light = r · (1 - TOON_GI) + gi.
            let light = _mm256_fmadd_ps(r, set(1.0 - TOON_GI), gi);
            let mix = _mm256_fmadd_ps(_mm256_sub_ps(light, set(1.0)), set(tn.rim_mix), set(1.0));
            for q in 0..3 {
                let rim = _mm256_fmadd_ps(set(rc[q]), fres, x.matcap[q]);
                out[q] = _mm256_fmadd_ps(_mm256_mul_ps(rim, x.rim_mul[q]), mix, out[q]);
            }
        }
        out
    }

    /// What a toon material's own textures give eight pixels (`raster::ToonTexels`).
    struct Toon8 {
        gain: __m256,
        shift: __m256,
        matcap: [__m256; 3],
        rim_mul: [__m256; 3],
    }

    /// Stores eight RGB colours given as channel vectors `r, g, b` as 24 interleaved floats
    /// (`r0 g0 b0 r1 …`) at `dst`. Each 128-bit half holds four pixels: per half,
    /// `r0 g0 b0 r1 | g1 b1 r2 g2 | b2 r3 g3 b3`.
    #[inline(always)]
    unsafe fn store_rgb8(dst: *mut f32, [r, g, b]: [__m256; 3]) {
        let t0 = _mm256_unpacklo_ps(r, g); // r0 g0 r1 g1
        let t1 = _mm256_unpackhi_ps(r, g); // r2 g2 r3 g3
        let u = _mm256_shuffle_ps::<0b01_01_00_00>(b, r); // b0 b0 r1 r1
        let a = _mm256_shuffle_ps::<0b10_00_01_00>(t0, u); // r0 g0 b0 r1
        let w = _mm256_shuffle_ps::<0b01_01_11_11>(t0, b); // g1 g1 b1 b1
        let m = _mm256_shuffle_ps::<0b01_00_10_00>(w, t1); // g1 b1 r2 g2
        let y = _mm256_shuffle_ps::<0b10_10_10_10>(b, t1); // b2 b2 r3 r3
        let z = _mm256_shuffle_ps::<0b11_11_11_11>(t1, b); // g3 g3 b3 b3
        let e = _mm256_shuffle_ps::<0b10_00_10_00>(y, z); // b2 r3 g3 b3
        _mm_storeu_ps(dst, _mm256_castps256_ps128(a));
        _mm_storeu_ps(dst.add(4), _mm256_castps256_ps128(m));
        _mm_storeu_ps(dst.add(8), _mm256_castps256_ps128(e));
        _mm_storeu_ps(dst.add(12), _mm256_extractf128_ps::<1>(a));
        _mm_storeu_ps(dst.add(16), _mm256_extractf128_ps::<1>(m));
        _mm_storeu_ps(dst.add(20), _mm256_extractf128_ps::<1>(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The eight-wide masked push queues exactly what the plain one does, for every mask.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn eight_wide_masked_push_matches_the_plain_one() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        let tri: [u32; 8] = std::array::from_fn(|p| 40 + 3 * p as u32);
        for mask in 0..256u32 {
            let (mut a, mut b) = (Batch::new(), Batch::new());
            for x in [&mut a, &mut b] {
                x.push(5, 9, 2, 0.5);
            }
            a.push_masked(64, &tri, 7, mask);
            // Safety: AVX2 checked above; one entry queued, far below `BATCH - 8`.
            unsafe { avx2::push_masked8(&mut b, 64, &tri, 7, mask) };
            assert_eq!(a.n, b.n, "mask {mask:08b}");
            let n = a.n;
            assert_eq!(
                (&a.pix[..n], &a.tri[..n], &a.mat[..n], &a.wt[..n]),
                (&b.pix[..n], &b.tri[..n], &b.mat[..n], &b.wt[..n]),
                "mask {mask:08b}"
            );
        }
    }

    #[test]
    fn gathering_a_material_keeps_every_entry_once() {
        let mut b = Batch::new();
        let mats = [1, 2, 1, 2, 2, 1, 3, 1, 1, 1, 1, 1, 1, 2];
        for (k, &m) in mats.iter().enumerate() {
            b.push(k, 100 + k as u32, m, 0.25 + k as f32);
        }
        let before: Vec<_> = (0..b.n)
            .map(|k| (b.pix[k], b.tri[k], b.mat[k], b.wt[k].to_bits()))
            .collect();
        let run = b.gather_material(0, 1, 1, 32);
        assert_eq!(
            run, 8,
            "eight entries of material 1 from the first fourteen"
        );
        assert!(b.mat[..8].iter().all(|&m| m == 1), "{:?}", &b.mat[..b.n]);
        let mut after: Vec<_> = (0..b.n)
            .map(|k| (b.pix[k], b.tri[k], b.mat[k], b.wt[k].to_bits()))
            .collect();
        let mut sorted = before.clone();
        sorted.sort_unstable();
        after.sort_unstable();
        assert_eq!(after, sorted, "entries moved, none lost or copied");
        // A short scan stops early: from entry 1 (material 2), three entries ahead hold one more.
        let mut c = Batch::new();
        for (k, &m) in mats.iter().enumerate() {
            c.push(k, k as u32, m, 1.0);
        }
        assert_eq!(c.gather_material(1, 1, 2, 3), 3);
        assert_eq!(&c.mat[1..4], &[2, 2, 2]);
    }
}
