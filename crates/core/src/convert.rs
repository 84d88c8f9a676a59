//! RGBA8 → I420 (BT.601, limited range) colour conversion.
//!
//! The integer formulas are the usual 8-bit fixed-point BT.601 "studio swing" ones
//! (the same coefficients libyuv and ffmpeg's `swscale` default use):
//!
//! ```text
//! Y  = ((  66 R + 129 G +  25 B + 128) >> 8) + 16
//! Cb = (( -38 R -  74 G + 112 B + 128) >> 8) + 128      (R, G, B averaged over the 2×2 block)
//! Cr = (( 112 R -  94 G -  18 B + 128) >> 8) + 128
//! ```
//!
//! [`rgba_rows_to_i420_ref`] is the plain reference kernel; [`rgba_rows_to_i420`] is the fast kernel
//! (branch-free, written so the compiler vectorises it) and is tested to be bit-identical to the
//! reference. Renderers call the row kernel directly from their resolve pass; whole frames go
//! through [`rgba_to_i420`]. Alpha is ignored (frames are opaque).

use crate::{I420Frame, RgbaFrame};

#[inline(always)]
fn luma(r: i32, g: i32, b: i32) -> u8 {
    (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8
}

#[inline(always)]
fn chroma(r4: i32, g4: i32, b4: i32) -> (u8, u8) {
    // r4/g4/b4: sums over the 2×2 block; average with rounding.
    let (r, g, b) = ((r4 + 2) >> 2, (g4 + 2) >> 2, (b4 + 2) >> 2);
    let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
    let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
    (u as u8, v as u8)
}

/// Reference kernel: convert two RGBA rows (`top`, `bottom`, each `w * 4` bytes, `w` even) into
/// two luma rows (`w` bytes each) and one row of Cb and Cr (`w / 2` bytes each).
///
/// Extra bytes at the end of longer slices are ignored; the width is `top.len() / 4` rounded
/// down to even and every slice must be at least that long (panics otherwise, like slicing).
pub fn rgba_rows_to_i420_ref(
    top: &[u8],
    bottom: &[u8],
    y_top: &mut [u8],
    y_bottom: &mut [u8],
    u: &mut [u8],
    v: &mut [u8],
) {
    let w = (top.len() / 4) & !1;
    for cx in 0..w / 2 {
        let mut sum = [0i32; 3];
        for dx in 0..2 {
            let x = cx * 2 + dx;
            let p = &top[x * 4..x * 4 + 4];
            let q = &bottom[x * 4..x * 4 + 4];
            y_top[x] = luma(p[0] as i32, p[1] as i32, p[2] as i32);
            y_bottom[x] = luma(q[0] as i32, q[1] as i32, q[2] as i32);
            for c in 0..3 {
                sum[c] += p[c] as i32 + q[c] as i32;
            }
        }
        let (cb, cr) = chroma(sum[0], sum[1], sum[2]);
        u[cx] = cb;
        v[cx] = cr;
    }
}

/// Fast kernel, bit-identical to [`rgba_rows_to_i420_ref`] (same arguments and contract).
pub fn rgba_rows_to_i420(
    top: &[u8],
    bottom: &[u8],
    y_top: &mut [u8],
    y_bottom: &mut [u8],
    u: &mut [u8],
    v: &mut [u8],
) {
    let w = (top.len() / 4) & !1;
    let n = w / 2;
    let top = &top[..w * 4];
    let bottom = &bottom[..w * 4];
    let y_top = &mut y_top[..w];
    let y_bottom = &mut y_bottom[..w];
    let u = &mut u[..n];
    let v = &mut v[..n];
    // Luma: one pass per row, 8 pixels per step so the compiler emits vector code.
    luma_row(top, y_top);
    luma_row(bottom, y_bottom);
    // Chroma: 2×2 sums.
    for (((t, b), cu), cv) in top
        .chunks_exact(8)
        .zip(bottom.chunks_exact(8))
        .zip(u.iter_mut())
        .zip(v.iter_mut())
    {
        let r = t[0] as i32 + t[4] as i32 + b[0] as i32 + b[4] as i32;
        let g = t[1] as i32 + t[5] as i32 + b[1] as i32 + b[5] as i32;
        let bl = t[2] as i32 + t[6] as i32 + b[2] as i32 + b[6] as i32;
        let (x, y) = chroma(r, g, bl);
        *cu = x;
        *cv = y;
    }
}

#[inline(always)]
fn luma_row(src: &[u8], dst: &mut [u8]) {
    let mut s8 = src.chunks_exact(32);
    let mut d8 = dst.chunks_exact_mut(8);
    for (s, d) in (&mut s8).zip(&mut d8) {
        for i in 0..8 {
            let r = s[i * 4] as u32;
            let g = s[i * 4 + 1] as u32;
            let b = s[i * 4 + 2] as u32;
            d[i] = (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8;
        }
    }
    for (s, d) in s8
        .remainder()
        .chunks_exact(4)
        .zip(d8.into_remainder().iter_mut())
    {
        *d = luma(s[0] as i32, s[1] as i32, s[2] as i32);
    }
}

/// Convert a whole RGBA frame into `out`, resizing `out` (no allocation when it already has the
/// right size). Odd widths/heights are handled by repeating the last column/row into the even
/// padded I420 frame.
pub fn rgba_to_i420(src: &RgbaFrame, out: &mut I420Frame) {
    let (w, h) = (src.width as usize, src.height as usize);
    let (ew, eh) = ((w + 1) & !1, (h + 1) & !1);
    out.width = ew as u32;
    out.height = eh as u32;
    out.y.resize(ew * eh, 16);
    out.u.resize(ew / 2 * (eh / 2), 128);
    out.v.resize(ew / 2 * (eh / 2), 128);
    if w == 0 || h == 0 || src.data.len() < w * h * 4 {
        return;
    }
    let cw = ew / 2;
    if ew == w {
        for cy in 0..eh / 2 {
            let r0 = (cy * 2).min(h - 1);
            let r1 = (cy * 2 + 1).min(h - 1);
            let (yt, yb) = out.y[cy * 2 * ew..(cy * 2 + 2) * ew].split_at_mut(ew);
            rgba_rows_to_i420(
                &src.data[r0 * w * 4..(r0 + 1) * w * 4],
                &src.data[r1 * w * 4..(r1 + 1) * w * 4],
                yt,
                yb,
                &mut out.u[cy * cw..(cy + 1) * cw],
                &mut out.v[cy * cw..(cy + 1) * cw],
            );
        }
    } else {
        // Odd width: copy rows into a padded scratch pair (rare path; allocates once per call).
        let mut t = vec![0u8; ew * 4];
        let mut b = vec![0u8; ew * 4];
        for cy in 0..eh / 2 {
            let r0 = (cy * 2).min(h - 1);
            let r1 = (cy * 2 + 1).min(h - 1);
            for (dst, r) in [(&mut t, r0), (&mut b, r1)] {
                dst[..w * 4].copy_from_slice(&src.data[r * w * 4..(r + 1) * w * 4]);
                let last = (w - 1) * 4;
                dst.copy_within(last..last + 4, w * 4);
            }
            let (yt, yb) = out.y[cy * 2 * ew..(cy * 2 + 2) * ew].split_at_mut(ew);
            rgba_rows_to_i420(
                &t,
                &b,
                yt,
                yb,
                &mut out.u[cy * cw..(cy + 1) * cw],
                &mut out.v[cy * cw..(cy + 1) * cw],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u8 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) as u8
    }

    #[test]
    fn fast_kernel_equals_reference_on_random_rows() {
        let mut seed = 7u64;
        for w in [2usize, 4, 6, 8, 14, 16, 30, 64, 66, 1280] {
            let top: Vec<u8> = (0..w * 4).map(|_| lcg(&mut seed)).collect();
            let bot: Vec<u8> = (0..w * 4).map(|_| lcg(&mut seed)).collect();
            let mut a = (vec![0; w], vec![0; w], vec![0; w / 2], vec![0; w / 2]);
            let mut b = a.clone();
            rgba_rows_to_i420_ref(&top, &bot, &mut a.0, &mut a.1, &mut a.2, &mut a.3);
            rgba_rows_to_i420(&top, &bot, &mut b.0, &mut b.1, &mut b.2, &mut b.3);
            assert_eq!(a, b, "width {w}");
        }
    }

    #[test]
    fn known_colours_map_to_bt601_limited_range() {
        let cases: [([u8; 3], [u8; 3]); 5] = [
            ([0, 0, 0], [16, 128, 128]),
            ([255, 255, 255], [235, 128, 128]),
            ([255, 0, 0], [82, 90, 240]),
            ([0, 255, 0], [144, 54, 34]),
            ([0, 0, 255], [41, 240, 110]),
        ];
        for (rgb, yuv) in cases {
            let mut f = RgbaFrame::new(4, 2);
            for px in f.data.chunks_exact_mut(4) {
                px[..3].copy_from_slice(&rgb);
            }
            let mut out = I420Frame::default();
            rgba_to_i420(&f, &mut out);
            assert!(
                out.y.iter().all(|&y| y == yuv[0]),
                "{rgb:?} -> Y {:?}",
                out.y
            );
            assert!(
                out.u.iter().all(|&u| u == yuv[1]),
                "{rgb:?} -> U {:?}",
                out.u
            );
            assert!(
                out.v.iter().all(|&v| v == yuv[2]),
                "{rgb:?} -> V {:?}",
                out.v
            );
        }
    }

    #[test]
    fn odd_sizes_are_padded_by_edge_repeat() {
        let mut f = RgbaFrame::new(3, 3);
        for px in f.data.chunks_exact_mut(4) {
            px[..3].copy_from_slice(&[255, 255, 255]);
        }
        let mut out = I420Frame::default();
        rgba_to_i420(&f, &mut out);
        assert_eq!((out.width, out.height), (4, 4));
        assert!(out.y.iter().all(|&y| y == 235));
    }
}
