//! Eyes, teeth, tongue, hair, neck and torso.

use crate::head::{mat, skin_col, Head};
use crate::mesh::{Builder, Kind, Tag};
use crate::v3::*;
use std::f64::consts::PI;

fn tag(kind: Kind) -> Tag {
    Tag {
        kind,
        ..Default::default()
    }
}

/// One eyeball centred at the origin looking toward +Z, iris and pupil as vertex colours.
pub fn eye(h: &Head) -> Builder {
    let mut b = Builder::default();
    let r = h.re;
    let np = 26;
    let pupil = 0.2;
    let iris = 0.5;
    // (polar angle, colour fn selector) rings; duplicates make hard colour edges
    let mut rings: Vec<(f64, u8)> = Vec::new();
    for k in 1..=3 {
        rings.push((pupil * k as f64 / 3.0, 0));
    }
    for k in 0..=6 {
        rings.push((pupil + (iris - pupil) * k as f64 / 6.0, 1));
    }
    rings.push((iris, 2));
    let mut a = iris + 0.04;
    while a < PI - 0.05 {
        rings.push((a, 2));
        a += if a < 1.2 { 0.09 } else { 0.22 };
    }
    let sclera = srgb(244, 240, 234);
    let iris_in = srgb(150, 104, 58);
    let iris_out = srgb(86, 58, 36);
    let limbal = srgb(42, 30, 24);
    let pupil_c = srgb(12, 10, 10);
    let pos = |th: f64, ph: f64| -> V3 {
        let bulge = if th < iris {
            0.00055 * (th / iris * PI * 0.5).cos()
        } else {
            0.0
        };
        v3(th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos()) * (r + bulge)
    };
    let front = b.vert(pos(0.0, 0.0), pupil_c, tag(Kind::Attached));
    let mut rows: Vec<Vec<u32>> = Vec::new();
    for &(th, sel) in &rings {
        let mut row = Vec::new();
        for j in 0..np {
            let ph = 2.0 * PI * j as f64 / np as f64;
            let streak = 0.82 + 0.36 * hash01(j as i64 * 31 + (th * 1000.0) as i64);
            let c = match sel {
                0 => pupil_c,
                1 => {
                    let t = (th - pupil) / (iris - pupil);
                    if t == 0.0 {
                        shade(iris_in, streak)
                    } else {
                        let base = mix(iris_in, iris_out, t.powf(0.8));
                        shade(mix(base, limbal, smoothstep(0.75, 1.0, t)), streak)
                    }
                }
                _ => {
                    let t = (th - iris) / (PI - iris);
                    mix(sclera, srgb(228, 200, 196), smoothstep(0.25, 0.6, t))
                }
            };
            row.push(b.vert(pos(th, ph), c, tag(Kind::Attached)));
        }
        rows.push(row);
    }
    // the pupil/iris boundary: duplicate ring 3 (last pupil ring) with iris colour
    let back = b.vert(v3(0.0, 0.0, -r), sclera, tag(Kind::Attached));
    b.fan(front, &rows[0], mat::EYE, true);
    // connect rows, but rings 2->3 and iris edge use separate vertex rows for hard edges
    for i in 0..rows.len() - 1 {
        let (ra, rb) = (&rows[i], &rows[i + 1]);
        let same_angle = (rings[i].0 - rings[i + 1].0).abs() < 1e-9;
        if same_angle {
            continue;
        }
        for j in 0..np {
            let j1 = (j + 1) % np;
            b.tri(ra[j], ra[j1], rb[j1], mat::EYE);
            b.tri(ra[j], rb[j1], rb[j], mat::EYE);
        }
    }
    let last = rows.last().cloned().unwrap_or_default();
    b.fan(back, &last, mat::EYE, false);
    b.orient_outward(0, V3::ZERO);
    b
}

/// Upper (`upper = true`) or lower tooth row in head design coordinates.
pub fn teeth(h: &Head, upper: bool) -> Builder {
    let mut b = Builder::default();
    let m = h.mouth;
    let (z_front, y_edge, height, gum, rx, rz, thick) = if upper {
        (
            m.z - 0.0046,
            m.y - 0.0026,
            0.0092,
            0.005,
            0.0215,
            0.02,
            0.0062,
        )
    } else {
        (
            m.z - 0.0066,
            m.y - 0.0011,
            0.0072,
            0.003,
            0.0195,
            0.019,
            0.0056,
        )
    };
    let dirn = if upper { 1.0 } else { -1.0 }; // root direction
    let nseg = 48;
    let psi_max = 1.35;
    // tooth boundaries along the arch (mm from the midline)
    let widths = [8.6, 6.6, 7.6, 7.0, 6.8, 10.0, 9.5];
    let arc_pos = |psi: f64| -> (V3, V3) {
        let p = v3(rx * psi.sin(), 0.0, z_front - rz * (1.0 - psi.cos()));
        let n = v3(rx * psi.cos(), 0.0, rz * psi.sin()).norm(); // tangent
        let out = v3(n.z, 0.0, -n.x) * -1.0; // outward (labial) normal
        let out = if out.z < 0.0 && psi.abs() < 0.1 {
            -out
        } else {
            out
        };
        (p, out)
    };
    // cross-section loop: (depth inward from labial face, height from incisal edge); edge at 0
    // (depth inward from the labial face as a fraction of `thick`, height fraction from the
    // incisal edge): thin at the edge, thick at the gum
    let loop_pts: [(f64, f64); 8] = [
        (0.0, 1.0),
        (0.0, 0.45),
        (0.0, 0.06),
        (0.05, 0.0),
        (0.24, 0.0),
        (0.7, 0.4),
        (1.0, 0.75),
        (1.0, 1.0),
    ];
    let mut rows: Vec<Vec<u32>> = Vec::new();
    let mut arc_len = 0.0;
    let mut prev: Option<V3> = None;
    for i in 0..=nseg {
        let psi = -psi_max + 2.0 * psi_max * i as f64 / nseg as f64;
        let (p, out) = arc_pos(psi);
        let _ = prev.map(|q| arc_len += (p - q).len());
        prev = Some(p);
        let s_mm = (rx * psi.abs()) * 1000.0; // approx distance from midline
                                              // which tooth, and position inside it
        let mut acc = 0.0;
        let mut frac = 0.5;
        let mut idx = widths.len();
        for (k, w) in widths.iter().enumerate() {
            if s_mm < acc + w {
                frac = (s_mm - acc) / w;
                idx = k;
                break;
            }
            acc += w;
        }
        let gap = 1.0 - (2.0 * (frac - 0.5)).abs().powf(6.0); // 0 at boundaries
        let size = if idx <= 1 {
            1.0
        } else {
            0.85 - 0.05 * idx as f64
        };
        let h_tooth = height * size * (0.82 + 0.18 * gap.sqrt());
        let mut row = Vec::new();
        let inward = -out;
        for &(dn, hh) in &loop_pts {
            let depth = dn * thick * (1.0 + 0.5 * (idx as f64 / 7.0));
            let is_root = hh > 0.55;
            let hy = if hh == 0.0 {
                0.0
            } else {
                hh * (h_tooth + if is_root { gum } else { 0.0 })
            };
            let y = y_edge + dirn * (hy + (1.0 - gap) * 0.0006);
            let p3 = p + inward * depth + v3(0.0, y, 0.0) - out * (0.0004 * (1.0 - gap));
            let is_gum = hy > h_tooth * 0.98;
            let c = if is_gum {
                srgb(196, 110, 112)
            } else {
                let g = 0.86 + 0.14 * gap;
                shade(srgb(246, 240, 226), g)
            };
            row.push(b.vert(p3, c, tag(Kind::Jaw)));
        }
        rows.push(row);
    }
    // grid along the arch (rows are cross-section loops, closed)
    b.grid(&rows, true, |_| mat::TEETH);
    // fix orientation: outward from the arch centre
    let centre = v3(0.0, y_edge + dirn * 0.004, z_front - rz * 0.8);
    b.orient_outward(0, centre);
    b
}

/// The tongue, in head design coordinates.
pub fn tongue(h: &Head) -> Builder {
    let mut b = Builder::default();
    let c = h.mouth - V3::Z * 0.032 + V3::Y * -0.0062;
    let (rx, ry, rz) = (0.0165, 0.0065, 0.021);
    let (nt, np) = (14, 28);
    let mut rows = Vec::new();
    for i in 1..nt {
        let th = PI * i as f64 / nt as f64;
        let mut row = Vec::new();
        for j in 0..np {
            let ph = 2.0 * PI * j as f64 / np as f64;
            // th along z (front pole at +Z)
            let x = th.sin() * ph.cos();
            let y = th.sin() * ph.sin();
            let z = th.cos();
            let mut y = y * ry;
            if y > 0.0 {
                y *= 0.7; // flatter top
                y -= 0.0014 * (-(x * rx / 0.004).powi(2)).exp(); // midline groove
            }
            let p = c + v3(x * rx * (0.75 + 0.25 * (1.0 - z)), y, z * rz);
            let col = shade(
                srgb(206, 98, 104),
                0.92 + 0.08 * hash01((i * 97 + j) as i64),
            );
            row.push(b.vert(
                p,
                col,
                Tag {
                    kind: Kind::Tongue,
                    a: z,
                    ..Default::default()
                },
            ));
        }
        rows.push(row);
    }
    let f = b.vert(
        c + v3(0.0, 0.0, rz),
        srgb(206, 98, 104),
        Tag {
            kind: Kind::Tongue,
            a: 1.0,
            ..Default::default()
        },
    );
    let k = b.vert(
        c - v3(0.0, 0.0, rz),
        srgb(206, 98, 104),
        Tag {
            kind: Kind::Tongue,
            a: -1.0,
            ..Default::default()
        },
    );
    b.grid(&rows, true, |_| mat::TONGUE);
    b.fan(f, &rows[0], mat::TONGUE, false);
    let last = rows.last().cloned().unwrap_or_default();
    b.fan(k, &last, mat::TONGUE, true);
    b.orient_outward(0, c);
    b
}

/// tongueOut delta.
pub fn tongue_out(_p: V3, t: &Tag, h: &Head) -> V3 {
    let f = smoothstep(-0.6, 1.0, t.a);
    let _ = h;
    v3(0.0, 0.005 * f, 0.024 * f * f.sqrt())
}

fn hairline(p: V3) -> f64 {
    let th = p.x.atan2(p.z).abs(); // 0 front, pi back
    let pts = [
        (0.0, 0.082),
        (0.45, 0.077),
        (0.85, 0.056),
        (1.2, 0.03),
        (1.38, 0.0),
        (1.5, 0.016),
        (1.95, 0.02),
        (2.3, -0.03),
        (2.7, -0.05),
        (PI, -0.052),
    ];
    for w in pts.windows(2) {
        let ((a0, y0), (a1, y1)) = (w[0], w[1]);
        if th <= a1 {
            let t = smoothstep(a0, a1, th);
            return y0 + (y1 - y0) * t;
        }
    }
    -0.05
}

/// Hair thickness over skin point `p` (negative: under the skin), coverage 0..1 and the
/// strand groove value -1..1.
pub fn hair_at(p: V3) -> (f64, f64, f64) {
    let mut yl = hairline(p);
    // side-swept fringe on the subject's left
    let fr = ebump(p, v3(0.02, 0.075, 0.08), v3(0.045, 0.03, 0.05));
    yl -= 0.011 * fr;
    let inside = smoothstep(yl - 0.001, yl + 0.006, p.y);
    let vol = 0.006 + 0.0085 * smoothstep(-0.02, 0.09, p.y) + 0.003 * fr;
    // strands: grooves flowing back from a parting at x = +0.025
    let ang = (p.x - 0.025).atan2(p.z + 0.02);
    let groove = (ang * 26.0 + p.y * 60.0).sin();
    let groove2 = (ang * 61.0 - p.y * 30.0).sin();
    let t = vol * inside + (0.0009 * groove + 0.0004 * groove2) * inside - 0.003 * (1.0 - inside);
    (t, inside, groove)
}

/// Hairline height at azimuth `psi` (atan2(x, z): 0 = front, +: subject's left).
fn hairline_psi(psi: f64) -> f64 {
    let base = hairline(v3(psi.sin(), 0.0, psi.cos()));
    // side-swept fringe dipping over the forehead on the subject's left
    let fr = (-((psi - 0.28) / 0.32).powi(2)).exp();
    base - 0.009 * fr
}

/// Hair: a cap whose lower edge follows the hairline exactly (one vertex column per azimuth),
/// with a short wall at the edge so the hairline reads as a clean line.
pub fn hair(h: &Head) -> Builder {
    let mut b = Builder::default();
    let (npsi, nrows) = (100usize, 22usize);
    let col = srgb(70, 45, 30);
    let hl = srgb(124, 86, 54);
    let dir_of = |psi: f64, e: f64| v3(e.cos() * psi.sin(), e.sin(), e.cos() * psi.cos());
    let mut cols: Vec<Vec<u32>> = Vec::new();
    for k in 0..npsi {
        let psi = -PI + 2.0 * PI * k as f64 / npsi as f64;
        let y_line = hairline_psi(psi);
        // elevation where the skin reaches the hairline
        let (mut lo, mut hi) = (-1.4f64, 1.5f64);
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if h.surface(dir_of(psi, mid)).y < y_line {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let e0 = 0.5 * (lo + hi);
        let mut column = Vec::new();
        for r in 0..=nrows + 1 {
            // row 0: edge under the skin; row 1: same spot, full edge thickness; then up to the crown
            let t = if r <= 1 {
                0.0
            } else {
                ((r - 1) as f64 / nrows as f64).powf(0.85)
            };
            let e = e0 + (PI * 0.5 - 0.04 - e0) * t;
            let dir = dir_of(psi, e);
            let p = h.surface(dir);
            let front = smoothstep(-0.02, 0.06, p.z);
            let vol = 0.0055
                + 0.0085 * smoothstep(-0.02, 0.1, p.y)
                + 0.002 * front * smoothstep(0.05, 0.09, p.y);
            let groove = (psi * 30.0 + e * 7.0).sin();
            let groove2 = (psi * 71.0 - e * 5.0).sin();
            let edge = if r == 0 {
                0.0
            } else {
                0.55 + 0.45 * smoothstep(0.0, 0.25, t)
            };
            let thick = if r == 0 {
                -0.0012
            } else {
                vol * edge + (0.0008 * groove + 0.0003 * groove2) * edge
            };
            let q = p + dir * thick;
            let g = 0.5 + 0.5 * groove;
            let mut c = mix(
                shade(col, 0.72 + 0.38 * g),
                hl,
                0.3 * smoothstep(0.06, 0.11, p.y) * g,
            );
            if r <= 1 {
                c = shade(col, 0.6);
            }
            c = shade(c, 0.92 + 0.08 * hash01((k * 131 + r) as i64));
            column.push(b.vert(q, c, tag(Kind::Attached)));
        }
        cols.push(column);
    }
    // rows across azimuth
    let rows: Vec<Vec<u32>> = (0..cols[0].len())
        .map(|r| cols.iter().map(|c| c[r]).collect())
        .collect();
    let top_p = h.surface(V3::Y);
    let top = b.vert(
        top_p + V3::Y * 0.0145,
        mix(col, hl, 0.3),
        tag(Kind::Attached),
    );
    b.grid(&rows, true, |_| mat::HAIR);
    let last = rows.last().cloned().unwrap_or_default();
    b.fan(top, &last, mat::HAIR, false);
    // orientation: outward from the skull centre, judged on the upper rows only
    let mut s = 0.0;
    for t in &b.tris {
        let (p0, p1, p2) = (
            b.pos[t[0] as usize],
            b.pos[t[1] as usize],
            b.pos[t[2] as usize],
        );
        if p0.y > 0.06 {
            s += (p1 - p0).cross(p2 - p0).dot(p0 - h.o);
        }
    }
    if s < 0.0 {
        for t in &mut b.tris {
            t.swap(1, 2);
        }
    }
    b
}

/// Neck in neck-node coordinates (origin at the neck base).
pub fn neck() -> Builder {
    let mut b = Builder::default();
    let (nr, np) = (12, 40);
    let skin = skin_col();
    let mut rows = Vec::new();
    for i in 0..=nr {
        let t = i as f64 / nr as f64;
        let y_top = 0.115;
        let y = -0.035 + (y_top + 0.035) * t;
        let flare = 1.0 + 0.35 * (1.0 - smoothstep(0.0, 0.3, t));
        let zc = -0.002 + 0.012 * t;
        let mut row = Vec::new();
        for j in 0..np {
            let ph = 2.0 * PI * j as f64 / np as f64;
            let x = 0.05 * flare * ph.sin();
            let z = zc
                + 0.05 * flare * ph.cos()
                + if ph.cos() > 0.0 {
                    0.0
                } else {
                    0.004 * ph.cos()
                };
            // slanted top: low under the jaw, high at the nape (stays inside the head)
            let y = if t > 0.5 {
                y - (t - 0.5) * 2.0 * 0.068 * (0.5 + 0.5 * ph.cos())
            } else {
                y
            };
            // throat shading slightly darker under the jaw
            let c = shade(skin, 0.93 + 0.05 * t);
            row.push(b.vert(v3(x, y, z), c, tag(Kind::Attached)));
        }
        rows.push(row);
    }
    b.grid(&rows, true, |_| mat::SKIN);
    // orient outward from the axis: use per-row centre approximation
    let mut s = 0.0;
    for t in &b.tris {
        let (p0, p1, p2) = (
            b.pos[t[0] as usize],
            b.pos[t[1] as usize],
            b.pos[t[2] as usize],
        );
        let c = v3(0.0, p0.y, 0.003);
        s += (p1 - p0).cross(p2 - p0).dot(p0 - c);
    }
    if s < 0.0 {
        for t in &mut b.tris {
            t.swap(1, 2);
        }
    }
    b
}

fn torso_sdf(p: V3) -> f64 {
    const S: f64 = 0.76;
    torso_sdf1(p * (1.0 / S)) * S
}

fn torso_sdf1(p: V3) -> f64 {
    let mut d = sd_ellipsoid(p, v3(0.0, -0.15, -0.012), v3(0.13, 0.13, 0.082));
    let sh = sd_capsule(p, v3(-0.14, -0.055, -0.02), v3(0.14, -0.055, -0.02), 0.042);
    d = smin(d, sh, 0.05);
    for s in [-1.0, 1.0] {
        let trap = sd_capsule(
            p,
            v3(s * 0.03, -0.008, -0.025),
            v3(s * 0.13, -0.04, -0.022),
            0.03,
        );
        d = smin(d, trap, 0.04);
        let delt = sd_ellipsoid(p, v3(s * 0.158, -0.078, -0.016), v3(0.052, 0.056, 0.05));
        d = smin(d, delt, 0.035);
        let arm = sd_capsule(
            p,
            v3(s * 0.168, -0.09, -0.016),
            v3(s * 0.182, -0.45, -0.016),
            0.047,
        );
        d = smin(d, arm, 0.02);
    }
    let chest = sd_ellipsoid(p, v3(0.0, -0.3, -0.012), v3(0.135, 0.16, 0.085));
    d = smin(d, chest, 0.04);
    smax(d, -(p.y + 0.36), 0.01)
}

/// Shoulders and upper torso in a sweater, body-node coordinates (origin at the neck base).
pub fn torso() -> Builder {
    let mut b = Builder::default();
    let o = v3(0.0, -0.12, -0.015);
    let (nt, np) = (24, 44);
    let knit = srgb(52, 96, 118);
    let surf = |dir: V3| -> V3 {
        let mut t = 0.6;
        let mut prev = t;
        for _ in 0..500 {
            let d = torso_sdf(o + dir * t);
            if d < 0.0 {
                break;
            }
            prev = t;
            t -= (d * 0.7).max(0.0005);
            if t <= 0.0 {
                t = 0.0;
                break;
            }
        }
        let (mut lo, mut hi) = (t, prev);
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if torso_sdf(o + dir * mid) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        o + dir * (0.5 * (lo + hi))
    };
    let mut rows = Vec::new();
    let topv = b.vert(surf(V3::Y), knit, tag(Kind::Attached));
    for i in 1..nt {
        let th = PI * i as f64 / nt as f64;
        let mut row = Vec::new();
        for j in 0..np {
            let ph = 2.0 * PI * j as f64 / np as f64;
            let dir = v3(th.sin() * ph.sin(), th.cos(), th.sin() * ph.cos());
            let p = surf(dir);
            // knit ribs: faint vertical stripes
            let rib = 0.5 + 0.5 * (p.x * 900.0).sin();
            let c = shade(knit, 0.92 + 0.08 * rib);
            row.push(b.vert(p, c, tag(Kind::Attached)));
        }
        rows.push(row);
    }
    let botv = b.vert(surf(-V3::Y), knit, tag(Kind::Attached));
    b.grid(&rows, true, |_| mat::SHIRT);
    b.fan(topv, &rows[0], mat::SHIRT, true);
    let last = rows.last().cloned().unwrap_or_default();
    b.fan(botv, &last, mat::SHIRT, false);
    b.orient_outward(0, o);
    // crew-neck collar: a torus around the neck base
    let t1 = b.tris.len();
    let (nu, nv) = (48, 10);
    let cc = v3(0.0, -0.006, -0.004);
    let mut crow = Vec::new();
    for i in 0..nu {
        let u = 2.0 * PI * i as f64 / nu as f64;
        let mut row = Vec::new();
        let (ax, az) = (0.064, 0.064);
        let centre = cc + v3(ax * u.sin(), 0.003 * u.cos(), az * u.cos());
        let radial = v3(u.sin() / ax, 0.0, u.cos() / az).norm();
        for j in 0..nv {
            let v = 2.0 * PI * j as f64 / nv as f64;
            let p = centre + radial * (0.012 * v.cos()) + V3::Y * (0.011 * v.sin());
            let rib = 0.5 + 0.5 * (u * 60.0).sin();
            row.push(b.vert(p, shade(knit, 0.78 + 0.08 * rib), tag(Kind::Attached)));
        }
        crow.push(row);
    }
    // rows are loops around the tube, connect consecutive loops (closed both ways)
    let mut rows2 = crow.clone();
    rows2.push(crow[0].clone());
    b.grid(&rows2, true, |_| mat::SHIRT);
    // orient: outward from the tube centre line
    let mut s = 0.0;
    for (k, t) in b.tris[t1..].iter().enumerate() {
        let _ = k;
        let (p0, p1, p2) = (
            b.pos[t[0] as usize],
            b.pos[t[1] as usize],
            b.pos[t[2] as usize],
        );
        let u = p0.x.atan2(p0.z);
        let centre = cc + v3(0.064 * u.sin(), 0.003 * u.cos(), 0.064 * u.cos());
        s += (p1 - p0).cross(p2 - p0).dot(p0 - centre);
    }
    if s < 0.0 {
        for t in &mut b.tris[t1..] {
            t.swap(1, 2);
        }
    }
    b
}
