//! Deferred shading of one row of a tile: the rasteriser's shading pass writes, per pixel, the
//! interpolated surface attributes (texture coordinates and mip levels, normal, vertex colour,
//! tangent frame) into a [`Batch`], and [`shade_batch`] turns them into linear RGB — eight pixels
//! at a time with AVX2 + FMA where the CPU has them and the eight share a material and mip levels,
//! one at a time with the plain reference kernel [`shade_one`] otherwise. Both kernels do the same
//! arithmetic (test `simd_matches_reference`), so the picture does not depend on the CPU.

use facecast_core::model::{Avatar, Texture, Wrap};

use crate::math::*;
use crate::raster::{diffuse_env, fast_exp2, fast_log2, Luts, MatInfo, TexInfo, TILE};
use crate::texture::sample;

/// Entries per batch: one tile row plus room to pad the last group of eight.
pub(crate) const BATCH: usize = TILE + 8;

/// Surface attributes of the pixels of one tile row waiting to be shaded (structure of arrays).
/// Fields a material does not use are left stale and never read for it.
#[repr(C, align(32))]
pub(crate) struct Batch {
    pub n: usize,
    /// Pixel index inside the tile (`ly * TILE + lx`).
    pub pix: [u32; BATCH],
    pub mat: [u32; BATCH],
    /// Mip level of the base colour / normal texture.
    pub lb: [u32; BATCH],
    pub ln: [u32; BATCH],
    pub u: [f32; BATCH],
    pub v: [f32; BATCH],
    pub un: [f32; BATCH],
    pub vn: [f32; BATCH],
    /// Interpolated normal (not normalised; facing the viewer for back faces).
    pub nx: [f32; BATCH],
    pub ny: [f32; BATCH],
    pub nz: [f32; BATCH],
    /// Vertex colour.
    pub cr: [f32; BATCH],
    pub cg: [f32; BATCH],
    pub cb: [f32; BATCH],
    /// Triangle tangent / bitangent (zero when the UV mapping is degenerate).
    pub tx: [f32; BATCH],
    pub ty: [f32; BATCH],
    pub tz: [f32; BATCH],
    pub bx: [f32; BATCH],
    pub by: [f32; BATCH],
    pub bz: [f32; BATCH],
}

impl Batch {
    pub fn new() -> Box<Batch> {
        Box::new(Batch {
            n: 0,
            pix: [0; BATCH],
            mat: [0; BATCH],
            lb: [0; BATCH],
            ln: [0; BATCH],
            u: [0.0; BATCH],
            v: [0.0; BATCH],
            un: [0.0; BATCH],
            vn: [0.0; BATCH],
            nx: [0.0; BATCH],
            ny: [0.0; BATCH],
            nz: [1.0; BATCH],
            cr: [1.0; BATCH],
            cg: [1.0; BATCH],
            cb: [1.0; BATCH],
            tx: [0.0; BATCH],
            ty: [0.0; BATCH],
            tz: [0.0; BATCH],
            bx: [0.0; BATCH],
            by: [0.0; BATCH],
            bz: [0.0; BATCH],
        })
    }

    /// Copy entry `from` to `to` (padding a last, partial group of eight).
    fn copy_entry(&mut self, from: usize, to: usize) {
        self.pix[to] = self.pix[from];
        self.mat[to] = self.mat[from];
        self.lb[to] = self.lb[from];
        self.ln[to] = self.ln[from];
        for a in [
            &mut self.u,
            &mut self.v,
            &mut self.un,
            &mut self.vn,
            &mut self.nx,
            &mut self.ny,
            &mut self.nz,
            &mut self.cr,
            &mut self.cg,
            &mut self.cb,
            &mut self.tx,
            &mut self.ty,
            &mut self.tz,
            &mut self.bx,
            &mut self.by,
            &mut self.bz,
        ] {
            a[to] = a[from];
        }
    }
}

/// What the shading kernels read besides the batch.
pub(crate) struct Shading<'a> {
    pub av: &'a Avatar,
    pub mats: &'a [MatInfo],
    /// Per material: whether its textures can take the eight-wide path (repeat on
    /// power-of-two sizes or clamp; mirror goes through the reference kernel).
    pub simd_ok: &'a [bool],
    pub luts: &'a Luts,
}

/// Whether texture `ti` can be sampled by the eight-wide kernel.
pub(crate) fn simd_texture(av: &Avatar, ti: &Option<TexInfo>) -> bool {
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

/// Reference kernel: linear RGB of entry `i`.
#[inline(always)]
pub(crate) fn shade_one(s: &Shading, b: &Batch, i: usize) -> V3 {
    let m = &s.mats[b.mat[i] as usize];
    let mut c = [m.base[0], m.base[1], m.base[2]];
    if let Some(ti) = &m.base_tex {
        let t = &s.av.textures[ti.tex as usize];
        let px = sample(t, b.lb[i] as usize, b.u[i], b.v[i]);
        let l = &s.luts.srgb16;
        let dec = |v: f32| l[((v * 16.0) as usize).min(4095)];
        c[0] *= dec(px[0]);
        c[1] *= dec(px[1]);
        c[2] *= dec(px[2]);
    }
    if m.has_color {
        c[0] *= b.cr[i];
        c[1] *= b.cg[i];
        c[2] *= b.cb[i];
    }
    if m.unlit {
        return add(c, m.emissive);
    }
    let mut n = normalize([b.nx[i], b.ny[i], b.nz[i]]);
    if let Some(ti) = &m.normal_tex {
        let tt = [b.tx[i], b.ty[i], b.tz[i]];
        if tt != [0.0; 3] {
            let t = &s.av.textures[ti.tex as usize];
            let px = sample(t, b.ln[i] as usize, b.un[i], b.vn[i]);
            let x = (px[0] * (2.0 / 255.0) - 1.0) * m.normal_scale;
            let y = (px[1] * (2.0 / 255.0) - 1.0) * m.normal_scale;
            let z = px[2] * (2.0 / 255.0) - 1.0;
            let bb = [b.bx[i], b.by[i], b.bz[i]];
            n = normalize(add(add(scale(tt, x), scale(bb, y)), scale(n, z.max(0.05))));
        }
    }
    light(s.luts, m, c, n)
}

/// Lit colour of albedo `c` with unit view-space normal `n` (reference).
#[inline(always)]
pub(crate) fn light(l: &Luts, m: &MatInfo, c: V3, n: V3) -> V3 {
    let irr = diffuse_env(&l.lights, n);
    let nh = dot(n, l.key_h);
    let nl = dot(n, l.lights.key_dir);
    let spec = if nh > m.spec_cut && nl > 0.0 {
        fast_exp2(m.spec_pow * fast_log2(nh)) * nl.min(0.5) * 2.0
    } else {
        0.0
    };
    let mut out = [0.0; 3];
    for k in 0..3 {
        out[k] = c[k] * m.kd * irr[k] + m.ks[k] * spec * l.lights.key_col[k] + m.emissive[k];
    }
    out
}

/// Shade every entry of `b` into `col` (indexed by the entries' pixel index) and empty it.
#[inline(always)]
pub(crate) fn shade_batch(s: &Shading, b: &mut Batch, col: &mut [V3], simd: bool) {
    let n = b.n;
    let mut i = 0;
    while i < n {
        if simd {
            let take = (n - i).min(8);
            if uniform(s, b, i, take) {
                for k in i + take..i + 8 {
                    b.copy_entry(i + take - 1, k);
                }
                #[cfg(target_arch = "x86_64")]
                // Safety: `simd` is only set when the CPU has AVX2 and FMA (see `Raster::draw`);
                // `i + 8 <= BATCH` because `n <= TILE` and `BATCH = TILE + 8`.
                unsafe {
                    avx2::shade8(s, b, i, col)
                };
                i += take;
                continue;
            }
        }
        col[b.pix[i] as usize] = shade_one(s, b, i);
        i += 1;
    }
    b.n = 0;
}

/// Whether entries `i..i + take` can be shaded together by the eight-wide kernel.
#[inline(always)]
fn uniform(s: &Shading, b: &Batch, i: usize, take: usize) -> bool {
    let mi = b.mat[i];
    if !s.simd_ok[mi as usize] {
        return false;
    }
    let m = &s.mats[mi as usize];
    let (tb, tn) = (m.base_tex.is_some(), m.normal_tex.is_some() && !m.unlit);
    (i..i + take)
        .all(|k| b.mat[k] == mi && (!tb || b.lb[k] == b.lb[i]) && (!tn || b.ln[k] == b.ln[i]))
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;
    use std::arch::x86_64::*;

    /// Eight bilinear samples of `tex` at level `level` (same for all lanes): raw channel
    /// values 0..255 as (r, g, b, a). Same arithmetic as [`crate::texture::sample`].
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sample8(tex: &Texture, level: usize, u: __m256, v: __m256) -> [__m256; 4] {
        let lv = tex.mips.get(level).or(tex.mips.last()).unwrap_unchecked();
        let (w, h) = (lv.width as i32, lv.height as i32);
        let fin = |x: __m256| {
            let abs = _mm256_andnot_ps(_mm256_set1_ps(-0.0), x);
            let ok = _mm256_cmp_ps::<_CMP_LT_OQ>(abs, _mm256_set1_ps(f32::INFINITY));
            let x = _mm256_and_ps(x, ok);
            _mm256_min_ps(
                _mm256_max_ps(x, _mm256_set1_ps(-1.0e4)),
                _mm256_set1_ps(1.0e4),
            )
        };
        let (u, v) = (fin(u), fin(v));
        let x = _mm256_sub_ps(
            _mm256_mul_ps(u, _mm256_set1_ps(w as f32)),
            _mm256_set1_ps(0.5),
        );
        let y = _mm256_sub_ps(
            _mm256_mul_ps(v, _mm256_set1_ps(h as f32)),
            _mm256_set1_ps(0.5),
        );
        let (xf, yf) = (_mm256_floor_ps(x), _mm256_floor_ps(y));
        let (fx, fy) = (_mm256_sub_ps(x, xf), _mm256_sub_ps(y, yf));
        let (xi, yi) = (_mm256_cvtps_epi32(xf), _mm256_cvtps_epi32(yf));
        let one = _mm256_set1_epi32(1);
        let wrap = |i: __m256i, n: i32, mode: Wrap| match mode {
            Wrap::Repeat => _mm256_and_si256(i, _mm256_set1_epi32(n - 1)),
            _ => _mm256_min_epi32(
                _mm256_max_epi32(i, _mm256_setzero_si256()),
                _mm256_set1_epi32(n - 1),
            ),
        };
        let x0 = wrap(xi, w, tex.wrap_s);
        let x1 = wrap(_mm256_add_epi32(xi, one), w, tex.wrap_s);
        let y0 = _mm256_mullo_epi32(wrap(yi, h, tex.wrap_t), _mm256_set1_epi32(w));
        let y1 = _mm256_mullo_epi32(
            wrap(_mm256_add_epi32(yi, one), h, tex.wrap_t),
            _mm256_set1_epi32(w),
        );
        let p = lv.data.as_ptr() as *const i32;
        // Safety (caller): x0/x1 in 0..w and y0/y1 in 0..h·w by the wrap above (repeat only on
        // power-of-two sizes, see `simd_texture`), and `data` holds w·h texels (`texture_ok`).
        let a = _mm256_i32gather_epi32::<4>(p, _mm256_add_epi32(y0, x0));
        let b = _mm256_i32gather_epi32::<4>(p, _mm256_add_epi32(y0, x1));
        let c = _mm256_i32gather_epi32::<4>(p, _mm256_add_epi32(y1, x0));
        let e = _mm256_i32gather_epi32::<4>(p, _mm256_add_epi32(y1, x1));
        let onef = _mm256_set1_ps(1.0);
        let (gx, gy) = (_mm256_sub_ps(onef, fx), _mm256_sub_ps(onef, fy));
        let w00 = _mm256_mul_ps(gx, gy);
        let w10 = _mm256_mul_ps(fx, gy);
        let w01 = _mm256_mul_ps(gx, fy);
        let w11 = _mm256_mul_ps(fx, fy);
        let ch = |t: __m256i, k: i32| -> __m256 {
            let s = _mm256_srlv_epi32(t, _mm256_set1_epi32(k * 8));
            _mm256_cvtepi32_ps(_mm256_and_si256(s, _mm256_set1_epi32(255)))
        };
        let mut out = [_mm256_setzero_ps(); 4];
        for (k, o) in out.iter_mut().enumerate() {
            let k = k as i32;
            let r = _mm256_mul_ps(ch(a, k), w00);
            let r = _mm256_fmadd_ps(ch(b, k), w10, r);
            let r = _mm256_fmadd_ps(ch(c, k), w01, r);
            *o = _mm256_fmadd_ps(ch(e, k), w11, r);
        }
        out
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn ld(a: &[f32; BATCH], i: usize) -> __m256 {
        debug_assert!(i + 8 <= BATCH);
        _mm256_loadu_ps(a.as_ptr().add(i))
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn set(x: f32) -> __m256 {
        _mm256_set1_ps(x)
    }

    /// 1/|n| · n with the reference's fallback (+Z) for zero vectors.
    #[target_feature(enable = "avx2,fma")]
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

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot8(n: &[__m256; 3], d: V3) -> __m256 {
        _mm256_fmadd_ps(
            n[0],
            set(d[0]),
            _mm256_fmadd_ps(n[1], set(d[1]), _mm256_mul_ps(n[2], set(d[2]))),
        )
    }

    /// Eight-wide `fast_exp2(p · fast_log2(x))`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pow8(x: __m256, p: f32) -> __m256 {
        let b = _mm256_castps_si256(x);
        let e = _mm256_sub_ps(
            _mm256_cvtepi32_ps(_mm256_and_si256(
                _mm256_srli_epi32::<23>(b),
                _mm256_set1_epi32(255),
            )),
            set(127.0),
        );
        let m = _mm256_castsi256_ps(_mm256_or_si256(
            _mm256_and_si256(b, _mm256_set1_epi32(0x007f_ffff)),
            _mm256_set1_epi32(0x3f80_0000),
        ));
        let lg = _mm256_add_ps(
            e,
            _mm256_sub_ps(
                _mm256_mul_ps(_mm256_fmadd_ps(set(-1.0 / 3.0), m, set(2.0)), m),
                set(5.0 / 3.0),
            ),
        );
        let q = _mm256_min_ps(
            _mm256_max_ps(_mm256_mul_ps(set(p), lg), set(-126.0)),
            set(0.0),
        );
        let fl = _mm256_floor_ps(q);
        let z = _mm256_sub_ps(q, fl);
        let poly = _mm256_fmadd_ps(z, set(0.009_618_1), set(0.055_504_1));
        let poly = _mm256_fmadd_ps(z, poly, set(0.240_226_5));
        let poly = _mm256_fmadd_ps(z, poly, set(std::f32::consts::LN_2));
        let poly = _mm256_fmadd_ps(z, poly, set(1.0));
        let ex = _mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(fl),
            _mm256_set1_epi32(127),
        ));
        _mm256_mul_ps(poly, _mm256_castsi256_ps(ex))
    }

    /// Shade entries `i..i + 8` (one material, one mip level per texture) into `col`.
    ///
    /// Safety: AVX2 and FMA present; `i + 8 <= BATCH`; the entries pass [`uniform`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn shade8(s: &Shading, b: &Batch, i: usize, col: &mut [V3]) {
        let m = &s.mats[b.mat[i] as usize];
        let l = s.luts;
        let mut c = [set(m.base[0]), set(m.base[1]), set(m.base[2])];
        if let Some(ti) = &m.base_tex {
            let t = &s.av.textures[ti.tex as usize];
            let px = sample8(t, b.lb[i] as usize, ld(&b.u, i), ld(&b.v, i));
            let lut = l.srgb16.as_ptr();
            for k in 0..3 {
                // Safety: indices clamped to 0..=4095, the LUT's length.
                let idx = _mm256_min_epi32(
                    _mm256_cvttps_epi32(_mm256_mul_ps(px[k], set(16.0))),
                    _mm256_set1_epi32(4095),
                );
                let idx = _mm256_max_epi32(idx, _mm256_setzero_si256());
                c[k] = _mm256_mul_ps(c[k], _mm256_i32gather_ps::<4>(lut, idx));
            }
        }
        if m.has_color {
            c[0] = _mm256_mul_ps(c[0], ld(&b.cr, i));
            c[1] = _mm256_mul_ps(c[1], ld(&b.cg, i));
            c[2] = _mm256_mul_ps(c[2], ld(&b.cb, i));
        }
        let mut out = [[0f32; 8]; 3];
        if m.unlit {
            for k in 0..3 {
                _mm256_storeu_ps(out[k].as_mut_ptr(), _mm256_add_ps(c[k], set(m.emissive[k])));
            }
        } else {
            let mut n = normalize8(ld(&b.nx, i), ld(&b.ny, i), ld(&b.nz, i));
            if let Some(ti) = &m.normal_tex {
                let (tx, ty, tz) = (ld(&b.tx, i), ld(&b.ty, i), ld(&b.tz, i));
                let zero = _mm256_setzero_ps();
                let has_t = _mm256_or_ps(
                    _mm256_or_ps(
                        _mm256_cmp_ps::<_CMP_NEQ_UQ>(tx, zero),
                        _mm256_cmp_ps::<_CMP_NEQ_UQ>(ty, zero),
                    ),
                    _mm256_cmp_ps::<_CMP_NEQ_UQ>(tz, zero),
                );
                if _mm256_movemask_ps(has_t) != 0 {
                    let t = &s.av.textures[ti.tex as usize];
                    let px = sample8(t, b.ln[i] as usize, ld(&b.un, i), ld(&b.vn, i));
                    let two = set(2.0 / 255.0);
                    let x =
                        _mm256_mul_ps(_mm256_fmsub_ps(px[0], two, set(1.0)), set(m.normal_scale));
                    let y =
                        _mm256_mul_ps(_mm256_fmsub_ps(px[1], two, set(1.0)), set(m.normal_scale));
                    let z = _mm256_max_ps(_mm256_fmsub_ps(px[2], two, set(1.0)), set(0.05));
                    let (bx, by, bz) = (ld(&b.bx, i), ld(&b.by, i), ld(&b.bz, i));
                    let p = normalize8(
                        _mm256_fmadd_ps(tx, x, _mm256_fmadd_ps(bx, y, _mm256_mul_ps(n[0], z))),
                        _mm256_fmadd_ps(ty, x, _mm256_fmadd_ps(by, y, _mm256_mul_ps(n[1], z))),
                        _mm256_fmadd_ps(tz, x, _mm256_fmadd_ps(bz, y, _mm256_mul_ps(n[2], z))),
                    );
                    for k in 0..3 {
                        n[k] = _mm256_blendv_ps(n[k], p[k], has_t);
                    }
                }
            }
            // diffuse_env, eight wide.
            let lt = &l.lights;
            let k = _mm256_min_ps(
                _mm256_max_ps(
                    _mm256_mul_ps(
                        _mm256_add_ps(dot8(&n, lt.key_dir), set(0.45)),
                        set(1.0 / 1.45),
                    ),
                    set(0.0),
                ),
                set(1.0),
            );
            let kk = _mm256_mul_ps(_mm256_mul_ps(k, k), _mm256_fnmadd_ps(set(2.0), k, set(3.0)));
            let k = _mm256_fmadd_ps(kk, set(0.35), _mm256_mul_ps(k, set(0.65)));
            let f = _mm256_max_ps(
                _mm256_mul_ps(
                    _mm256_add_ps(dot8(&n, lt.fill_dir), set(0.5)),
                    set(1.0 / 1.5),
                ),
                set(0.0),
            );
            let r = _mm256_max_ps(dot8(&n, lt.rim_dir), set(0.0));
            let e = _mm256_sub_ps(set(1.0), _mm256_max_ps(n[2], set(0.0)));
            let fres = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(e, e), e), set(0.35));
            let h = _mm256_fmadd_ps(set(0.5), n[1], set(0.5));
            let rim = _mm256_fmadd_ps(r, r, _mm256_mul_ps(fres, set(0.6)));
            // Specular.
            let nh = dot8(&n, l.key_h);
            let nl = dot8(&n, lt.key_dir);
            let on = _mm256_and_ps(
                _mm256_cmp_ps::<_CMP_GT_OQ>(nh, set(m.spec_cut)),
                _mm256_cmp_ps::<_CMP_GT_OQ>(nl, set(0.0)),
            );
            let spec = if _mm256_movemask_ps(on) != 0 {
                let p = pow8(nh, m.spec_pow);
                let sp = _mm256_mul_ps(_mm256_mul_ps(p, _mm256_min_ps(nl, set(0.5))), set(2.0));
                _mm256_and_ps(sp, on)
            } else {
                _mm256_setzero_ps()
            };
            for q in 0..3 {
                let irr = _mm256_fmadd_ps(set(lt.key_col[q]), k, set(lt.ground[q]));
                let irr = _mm256_fmadd_ps(set(lt.fill_col[q]), f, irr);
                let irr = _mm256_fmadd_ps(set(lt.rim_col[q]), rim, irr);
                let irr = _mm256_fmadd_ps(set(lt.sky[q] - lt.ground[q]), h, irr);
                let o = _mm256_mul_ps(_mm256_mul_ps(c[q], set(m.kd)), irr);
                let o = _mm256_fmadd_ps(set(m.ks[q] * lt.key_col[q]), spec, o);
                _mm256_storeu_ps(out[q].as_mut_ptr(), _mm256_add_ps(o, set(m.emissive[q])));
            }
        }
        for k in 0..8 {
            col[b.pix[i + k] as usize] = [out[0][k], out[1][k], out[2][k]];
        }
    }
}
