//! Texture sampling: wrap modes, bilinear filtering on one mip level, sRGB decode.
//!
//! Textures are re-laid out once per avatar into 4×4-texel blocks (one 64-byte cache line per
//! block), so a bilinear footprint usually touches one cache line instead of two rows, and
//! neighbouring pixels in both directions share lines. The copies live in a [`TexCache`] shared
//! through an `Arc` by every renderer of the same avatar.

use std::sync::{Arc, Mutex, Weak};

use facecast_core::model::{Avatar, Texture, Wrap};

/// sRGB byte → linear.
pub fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
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

/// One mip level in 4×4 blocks of RGBA8 texels packed as `u32` (little-endian R first).
pub struct TiledLevel {
    w: i32,
    h: i32,
    /// Blocks per row.
    bw: usize,
    pow2: (bool, bool),
    data: Vec<u32>,
}

impl TiledLevel {
    fn new(width: u32, height: u32, src: &[u8]) -> TiledLevel {
        let (w, h) = (width as usize, height as usize);
        let (bw, bh) = (w.div_ceil(4), h.div_ceil(4));
        let mut data = vec![0u32; bw * bh * 16];
        for y in 0..h {
            for x in 0..w {
                let o = (y * w + x) * 4;
                let p = u32::from_le_bytes([src[o], src[o + 1], src[o + 2], src[o + 3]]);
                data[((y >> 2) * bw + (x >> 2)) * 16 + (y & 3) * 4 + (x & 3)] = p;
            }
        }
        TiledLevel {
            w: width as i32,
            h: height as i32,
            bw,
            pow2: (w.is_power_of_two(), h.is_power_of_two()),
            data,
        }
    }

    #[inline(always)]
    fn texel(&self, x: usize, y: usize) -> [f32; 4] {
        let i = ((y >> 2) * self.bw + (x >> 2)) * 16 + (y & 3) * 4 + (x & 3);
        match self.data.get(i) {
            Some(&p) => [
                (p & 255) as f32,
                ((p >> 8) & 255) as f32,
                ((p >> 16) & 255) as f32,
                (p >> 24) as f32,
            ],
            None => [0.0; 4],
        }
    }
}

/// A texture's mip chain in block layout.
pub struct TiledTexture {
    levels: Vec<TiledLevel>,
    wrap_s: Wrap,
    wrap_t: Wrap,
}

impl TiledTexture {
    /// No levels: samples are 0.
    pub const EMPTY: TiledTexture = TiledTexture {
        levels: Vec::new(),
        wrap_s: Wrap::Repeat,
        wrap_t: Wrap::Repeat,
    };

    fn new(t: &Texture) -> TiledTexture {
        TiledTexture {
            levels: t
                .mips
                .iter()
                .map(|m| TiledLevel::new(m.width, m.height, &m.data))
                .collect(),
            wrap_s: t.wrap_s,
            wrap_t: t.wrap_t,
        }
    }

    /// Bilinear sample of mip `level` at (u, v): raw channel values in 0..255 (same result as
    /// [`sample`] on the source texture).
    #[inline(always)]
    pub fn sample(&self, level: usize, u: f32, v: f32) -> [f32; 4] {
        let Some(lv) = self.levels.get(level).or(self.levels.last()) else {
            return [0.0; 4];
        };
        let (w, h) = (lv.w, lv.h);
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
        let x = u * w as f32 - 0.5;
        let y = v * h as f32 - 0.5;
        let (xi, yi) = (floor_i(x), floor_i(y));
        let (fx, fy) = (x - xi as f32, y - yi as f32);
        let (x0, x1, y0, y1) = if xi >= 0 && yi >= 0 && xi + 1 < w && yi + 1 < h {
            (xi as usize, xi as usize + 1, yi as usize, yi as usize + 1)
        } else {
            (
                wrap(xi, w, self.wrap_s, lv.pow2.0) as usize,
                wrap(xi + 1, w, self.wrap_s, lv.pow2.0) as usize,
                wrap(yi, h, self.wrap_t, lv.pow2.1) as usize,
                wrap(yi + 1, h, self.wrap_t, lv.pow2.1) as usize,
            )
        };
        let (a, b, c, e) = (
            lv.texel(x0, y0),
            lv.texel(x1, y0),
            lv.texel(x0, y1),
            lv.texel(x1, y1),
        );
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

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.levels.iter().map(|l| l.data.len() * 4).sum()
    }
}

/// Block-layout copies of an avatar's well-formed textures (index = avatar texture index).
pub struct TexCache {
    pub textures: Vec<Option<TiledTexture>>,
}

impl TexCache {
    pub fn new(av: &Avatar) -> TexCache {
        TexCache {
            textures: av
                .textures
                .iter()
                .map(|t| texture_ok(t).then(|| TiledTexture::new(t)))
                .collect(),
        }
    }

    /// Bytes held by the copies.
    pub fn bytes(&self) -> usize {
        self.textures.iter().flatten().map(|t| t.bytes()).sum()
    }

    /// The cache of `av`, shared with every other live renderer of the same `Arc<Avatar>`
    /// (built on first use).
    pub fn shared(av: &Arc<Avatar>) -> Arc<TexCache> {
        type Entry = (Weak<Avatar>, Weak<TexCache>);
        static CACHES: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
        let mut list = CACHES.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|(a, c)| a.strong_count() > 0 && c.strong_count() > 0);
        for (a, c) in list.iter() {
            if let (Some(a), Some(c)) = (a.upgrade(), c.upgrade()) {
                if Arc::ptr_eq(&a, av) {
                    return c;
                }
            }
        }
        let c = Arc::new(TexCache::new(av));
        list.push((Arc::downgrade(av), Arc::downgrade(&c)));
        c
    }
}

/// Reference bilinear sample on the source (row-major) texture, for the block-layout test.
/// Bilinear sample of mip `level` at (u, v): raw channel values in 0..255 (filtered in the
/// texture's own encoding; colour textures are decoded after filtering by the caller).
#[cfg(test)]
pub fn sample(tex: &Texture, level: usize, u: f32, v: f32) -> [f32; 4] {
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
    let x = u * w as f32 - 0.5;
    let y = v * h as f32 - 0.5;
    let (xi, yi) = (floor_i(x), floor_i(y));
    let (fx, fy) = (x - xi as f32, y - yi as f32);
    let pw = w & (w - 1) == 0;
    let ph = h & (h - 1) == 0;
    let x0 = wrap(xi, w, tex.wrap_s, pw) as usize;
    let x1 = wrap(xi + 1, w, tex.wrap_s, pw) as usize;
    let y0 = wrap(yi, h, tex.wrap_t, ph) as usize;
    let y1 = wrap(yi + 1, h, tex.wrap_t, ph) as usize;
    let wu = w as usize;
    let d = &lv.data;
    let t = |x: usize, y: usize| -> [f32; 4] {
        let o = (y * wu + x) * 4;
        match d.get(o..o + 4) {
            Some(p) => [p[0] as f32, p[1] as f32, p[2] as f32, p[3] as f32],
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

/// Whether the texture's mip chain is well formed (non-empty, sizes match data lengths).
pub fn texture_ok(t: &Texture) -> bool {
    !t.mips.is_empty()
        && t.mips.iter().all(|m| {
            m.width > 0 && m.height > 0 && m.data.len() == m.width as usize * m.height as usize * 4
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use facecast_core::model::MipLevel;

    #[test]
    fn block_layout_samples_like_the_source_texture() {
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
                    name: String::new(),
                    mips: vec![MipLevel {
                        width: w,
                        height: h,
                        data,
                    }],
                    wrap_s: ws,
                    wrap_t: wt,
                };
                let tiled = TiledTexture::new(&tex);
                for _ in 0..500 {
                    let u = (rnd() % 40_000) as f32 / 10_000.0 - 2.0;
                    let v = (rnd() % 40_000) as f32 / 10_000.0 - 2.0;
                    let a = sample(&tex, 0, u, v);
                    let b = tiled.sample(0, u, v);
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

    #[test]
    fn renderers_of_one_avatar_share_the_texture_cache() {
        let av = Arc::new(Avatar::default());
        let a = TexCache::shared(&av);
        let b = TexCache::shared(&av);
        assert!(Arc::ptr_eq(&a, &b));
        let other = Arc::new(Avatar::default());
        assert!(!Arc::ptr_eq(&a, &TexCache::shared(&other)));
    }
}
