//! Texture sampling: wrap modes, bilinear filtering on one mip level, sRGB decode.
//!
//! Textures are sampled straight from the shared [`facecast_core::model::Avatar`] (no per-renderer
//! copies), whose texels lie in 4×4 blocks of one cache line each
//! ([`facecast_core::model::TexelBlock`]): against row-major texels that makes VALID's frames
//! 6-8 % faster (two 2048² textures; paired runs of the render example).

use facecast_core::model::{Texture, Wrap};

/// sRGB byte → linear.
pub fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Coefficients (x⁵ first) of the polynomial [`decode8`] uses above the curve's linear segment:
/// a least-squares fit of `((x + 0.055) / 1.055)^2.4` on `[0.04045, 1]`, weighted so that its
/// error counts as it shows once the colour is encoded to 8-bit sRGB again.
pub(crate) const DECODE_POLY: [f32; 6] = [
    0.078_653_85,
    -0.285_469_6,
    0.647_860_4,
    0.526_374_9,
    0.031_778_76,
    0.000_955_06,
];

/// A filtered 8-bit sRGB channel value (0..255) → linear, as the shading kernels decode
/// texels: the linear segment, then [`DECODE_POLY`] (no table lookups, which the eight-wide
/// kernel could only make as gathers). Within 0.05 of an 8-bit level of the exact curve.
#[inline(always)]
pub fn decode8(v: f32) -> f32 {
    let x = (v * (1.0 / 255.0)).clamp(0.0, 1.0);
    if x <= 0.04045 {
        return x * (1.0 / 12.92);
    }
    let c = DECODE_POLY;
    ((((c[0] * x + c[1]) * x + c[2]) * x + c[3]) * x + c[4]) * x + c[5]
}

/// Linear → sRGB (0..1).
pub fn linear_to_srgb(v: f32) -> f32 {
    if v <= 0.0031308 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

#[inline(always)]
fn wrap(i: i32, n: i32, mode: Wrap, pow2: bool) -> i32 {
    match mode {
        Wrap::Repeat => {
            if pow2 {
                i & (n - 1)
            } else {
                i.rem_euclid(n)
            }
        }
        Wrap::Clamp => i.clamp(0, n - 1),
        Wrap::Mirror => {
            let m = i.rem_euclid(2 * n);
            if m >= n {
                2 * n - 1 - m
            } else {
                m
            }
        }
    }
}

/// `floor` without a libm call on baseline x86-64 (inputs are clamped to a small range).
#[inline(always)]
pub fn floor_i(x: f32) -> i32 {
    let i = x as i32;
    i - (x < i as f32) as i32
}

/// Where a sample at (u, v) of a `w`×`h` level reads: the texel column and row of its top-left
/// texel and the fractions towards the next ones; with `nearest` the texel the point falls in,
/// with zero fractions.
#[inline(always)]
fn texel_point(u: f32, v: f32, w: i32, h: i32, nearest: bool) -> (i32, i32, f32, f32) {
    if nearest {
        return (floor_i(u * w as f32), floor_i(v * h as f32), 0.0, 0.0);
    }
    let x = u * w as f32 - 0.5;
    let y = v * h as f32 - 0.5;
    let (xi, yi) = (floor_i(x), floor_i(y));
    (xi, yi, x - xi as f32, y - yi as f32)
}

/// Bilinear sample of mip `level` at (u, v) (one texel for [`Texture::nearest`] textures): raw
/// channel values in 0..255 (filtered in the
/// texture's own encoding; colour textures are decoded after filtering by the caller). Footprints
/// inside the texture skip the wrap arithmetic and load each texel as one `u32`.
#[inline(always)]
pub fn sample(tex: &Texture, level: usize, u: f32, v: f32) -> [f32; 4] {
    let Some(lv) = tex.mips.get(level).or(tex.mips.last()) else {
        return [0.0; 4];
    };
    let (w, h) = (lv.width as i32, lv.height as i32);
    let u = if u.is_finite() {
        u.clamp(-1.0e4, 1.0e4)
    } else {
        0.0
    };
    let v = if v.is_finite() {
        v.clamp(-1.0e4, 1.0e4)
    } else {
        0.0
    };
    let (xi, yi, fx, fy) = texel_point(u, v, w, h, tex.nearest);
    let (x0, x1, y0, y1) = if xi >= 0 && yi >= 0 && xi + 1 < w && yi + 1 < h {
        (xi as usize, xi as usize + 1, yi as usize, yi as usize + 1)
    } else {
        let pw = w & (w - 1) == 0;
        let ph = h & (h - 1) == 0;
        (
            wrap(xi, w, tex.wrap_s, pw) as usize,
            wrap(xi + 1, w, tex.wrap_s, pw) as usize,
            wrap(yi, h, tex.wrap_t, ph) as usize,
            wrap(yi + 1, h, tex.wrap_t, ph) as usize,
        )
    };
    let t = |x: usize, y: usize| -> [f32; 4] {
        let i = lv.block * 16 + lv.texel_index(x, y);
        match tex.blocks.get(i / 16).map(|b| &b.0[(i % 16) * 4..][..4]) {
            Some(p) => {
                let p = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                [
                    (p & 255) as f32,
                    ((p >> 8) & 255) as f32,
                    ((p >> 16) & 255) as f32,
                    (p >> 24) as f32,
                ]
            }
            None => [0.0; 4],
        }
    };
    let (a, b, c, e) = (t(x0, y0), t(x1, y0), t(x0, y1), t(x1, y1));
    let w00 = (1.0 - fx) * (1.0 - fy);
    let w10 = fx * (1.0 - fy);
    let w01 = (1.0 - fx) * fy;
    let w11 = fx * fy;
    let mut r = [0.0; 4];
    for k in 0..4 {
        r[k] = a[k] * w00 + b[k] * w10 + c[k] * w01 + e[k] * w11;
    }
    r
}

/// Reference bilinear sample (plain, every texel through the wrap modes), for the test of
/// [`sample`]. Bilinear sample of mip `level` at (u, v): raw channel values in 0..255 (filtered in the
/// texture's own encoding; colour textures are decoded after filtering by the caller).
#[cfg(test)]
pub fn sample_ref(tex: &Texture, level: usize, u: f32, v: f32) -> [f32; 4] {
    let lv = &tex.mips[level.min(tex.mips.len() - 1)];
    let (w, h) = (lv.width as i32, lv.height as i32);
    let u = if u.is_finite() {
        u.clamp(-1.0e4, 1.0e4)
    } else {
        0.0
    };
    let v = if v.is_finite() {
        v.clamp(-1.0e4, 1.0e4)
    } else {
        0.0
    };
    let (xi, yi, fx, fy) = texel_point(u, v, w, h, tex.nearest);
    let pw = w & (w - 1) == 0;
    let ph = h & (h - 1) == 0;
    let x0 = wrap(xi, w, tex.wrap_s, pw) as usize;
    let x1 = wrap(xi + 1, w, tex.wrap_s, pw) as usize;
    let y0 = wrap(yi, h, tex.wrap_t, ph) as usize;
    let y1 = wrap(yi + 1, h, tex.wrap_t, ph) as usize;
    let l = level.min(tex.mips.len() - 1);
    let t = |x: usize, y: usize| tex.texel(l, x, y).map(|c| c as f32);
    let (a, b, c, e) = (t(x0, y0), t(x1, y0), t(x0, y1), t(x1, y1));
    let w00 = (1.0 - fx) * (1.0 - fy);
    let w10 = fx * (1.0 - fy);
    let w01 = (1.0 - fx) * fy;
    let w11 = fx * fy;
    let mut r = [0.0; 4];
    for k in 0..4 {
        r[k] = a[k] * w00 + b[k] * w10 + c[k] * w01 + e[k] * w11;
    }
    r
}

/// Whether the texture's mip chain is well formed: non-empty, every level non-empty and its
/// blocks inside [`Texture::blocks`], and every texel addressable with an `i32` index (the
/// eight-wide kernel's gathers).
pub fn texture_ok(t: &Texture) -> bool {
    !t.mips.is_empty()
        && t.blocks.len() < i32::MAX as usize / 16
        && t.mips.iter().all(|m| {
            m.width > 0
                && m.height > 0
                && m.block
                    .checked_add(m.blocks())
                    .is_some_and(|end| end <= t.blocks.len())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomial_decode_stays_within_a_twentieth_of_a_level() {
        // Encoded back to 8-bit sRGB, the decoded value lands within 0.05 of where it started
        // (at every 1/16 of a level, as bilinear filtering makes them).
        let mut worst = 0.0f32;
        for i in 0..=255 * 16 {
            let v = i as f32 / 16.0;
            let back = linear_to_srgb(decode8(v)) * 255.0;
            worst = worst.max((back - v).abs());
        }
        assert!(worst < 0.05, "worst error {worst} of an 8-bit level");
        assert_eq!(decode8(0.0), 0.0);
        assert!((decode8(255.0) - 1.0).abs() < 2e-4);
        assert!((decode8(-3.0)).abs() < 1e-9 && (decode8(300.0) - decode8(255.0)).abs() < 1e-9);
    }

    #[test]
    fn floor_i_matches_floor() {
        for x in [
            -3.5f32,
            -1.0,
            -0.25,
            0.0,
            0.25,
            1.0,
            2.999,
            1.0e6 + 0.5,
            -7.0e8,
        ] {
            assert_eq!(floor_i(x), x.floor() as i32, "{x}");
        }
        assert_eq!(floor_i(f32::NAN), 0);
    }

    #[test]
    fn malformed_mip_chains_are_refused() {
        let good = Texture::from_levels("t", vec![(2, 2, vec![9; 16]), (1, 1, vec![9; 4])]);
        assert!(texture_ok(&good));
        assert_eq!(good.level_rgba(1), vec![9; 4]);
        let mut past_end = good.clone();
        past_end.mips[1].block = 2;
        assert!(!texture_ok(&past_end), "level beyond the blocks");
        assert_eq!(past_end.texel(1, 0, 0), [0; 4]);
        let mut huge = good.clone();
        huge.mips[0].width = u32::MAX;
        assert!(!texture_ok(&huge), "size beyond the blocks");
        let mut empty = good.clone();
        empty.mips[1].height = 0;
        assert!(!texture_ok(&empty), "empty level");
        assert!(!texture_ok(&Texture::default()), "no levels");
    }

    #[test]
    fn fast_sample_equals_reference_for_every_wrap_mode() {
        let mut seed = 3u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed >> 8
        };
        for (w, h) in [(16u32, 16u32), (13, 7), (1, 1), (64, 32)] {
            for (ws, wt) in [
                (Wrap::Repeat, Wrap::Repeat),
                (Wrap::Clamp, Wrap::Mirror),
                (Wrap::Mirror, Wrap::Clamp),
            ] {
                let data: Vec<u8> = (0..w * h * 4).map(|_| rnd() as u8).collect();
                let tex = Texture {
                    wrap_s: ws,
                    wrap_t: wt,
                    ..Texture::from_levels("", vec![(w, h, data)])
                };
                for _ in 0..500 {
                    let u = (rnd() % 40_000) as f32 / 10_000.0 - 2.0;
                    let v = (rnd() % 40_000) as f32 / 10_000.0 - 2.0;
                    let a = sample_ref(&tex, 0, u, v);
                    let b = sample(&tex, 0, u, v);
                    for k in 0..4 {
                        assert!(
                            (a[k] - b[k]).abs() < 1e-3,
                            "{w}x{h} {ws:?}/{wt:?} at ({u}, {v}): {a:?} vs {b:?}"
                        );
                    }
                }
            }
        }
    }
}
