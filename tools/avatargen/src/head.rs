//! The head: skin surface (a sphere parameterised around the mouth slit, projected onto a
//! smooth signed-distance head shape), lips with an inner lip roll, the mouth cavity, eyelids,
//! eyebrows and ears, plus every face morph target.
//!
//! Coordinates here are "head design" coordinates: metres, origin at the middle of the skull,
//! +Y up, +Z forward (where the face looks), +X the subject's left.

use crate::mesh::{Builder, Kind, Tag};
use crate::v3::*;
use std::f64::consts::PI;

/// Face morph target names (ARKit spelling), in mesh order.
pub const FACE_TARGETS: &[&str] = &[
    "eyeBlinkLeft",
    "eyeLookDownLeft",
    "eyeLookInLeft",
    "eyeLookOutLeft",
    "eyeLookUpLeft",
    "eyeSquintLeft",
    "eyeWideLeft",
    "eyeBlinkRight",
    "eyeLookDownRight",
    "eyeLookInRight",
    "eyeLookOutRight",
    "eyeLookUpRight",
    "eyeSquintRight",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawRight",
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthLeft",
    "mouthRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "noseSneerLeft",
    "noseSneerRight",
];

/// Targets of the lower teeth (rigid with the jaw).
pub const JAW_TARGETS: &[&str] = &["jawOpen", "jawForward", "jawLeft", "jawRight"];
/// Targets of the tongue.
pub const TONGUE_TARGETS: &[&str] = &["jawOpen", "jawForward", "jawLeft", "jawRight", "tongueOut"];

/// Material slots (indices into the scene's material list).
pub mod mat {
    pub const SKIN: usize = 0;
    pub const HAIR: usize = 1;
    pub const SHIRT: usize = 2;
    pub const TEETH: usize = 3;
    pub const MOUTH: usize = 4;
    pub const EYE: usize = 5;
    pub const TONGUE: usize = 6;
    pub const LASHES: usize = 7;
}

/// Skin tones (linear).
pub fn skin_col() -> [f64; 4] {
    srgb(232, 183, 150)
}
fn lip_col() -> [f64; 4] {
    srgb(201, 112, 104)
}
fn brow_col() -> [f64; 4] {
    srgb(74, 50, 38)
}

/// Head landmarks and the shape function.
pub struct Head {
    /// Ray origin for projecting the sphere onto the surface.
    pub o: V3,
    /// Mouth basis: forward (toward the mouth), right (+X), up.
    pub dm: V3,
    pub ex: V3,
    pub ey: V3,
    /// Mouth centre on the base surface.
    pub mouth: V3,
    /// Mouth half width (angle, rad) and metric.
    pub w_ang: f64,
    pub w_m: f64,
    /// Eye centres: [left (+X), right (-X)].
    pub eye: [V3; 2],
    /// Eyeball radius.
    pub re: f64,
    /// Jaw hinge point (rotation about X through it) and the full open angle.
    pub hinge: V3,
    pub jaw_angle: f64,
}

impl Default for Head {
    fn default() -> Self {
        Head::new()
    }
}

impl Head {
    /// The head with its landmarks computed.
    pub fn new() -> Head {
        let o = v3(0.0, -0.005, -0.005);
        let mouth_guess = v3(0.0, -0.056, 0.08);
        let dm = (mouth_guess - o).norm();
        let ex = V3::X;
        let ey = dm.cross(ex).norm() * -1.0;
        let ey = if ey.y < 0.0 { -ey } else { ey };
        let re = 0.0142;
        let mut h = Head {
            o,
            dm,
            ex,
            ey,
            mouth: V3::ZERO,
            w_ang: 0.0,
            w_m: 0.0235,
            eye: [v3(0.0335, 0.011, 0.0575), v3(-0.0335, 0.011, 0.0575)],
            re,
            hinge: v3(0.0, -0.012, -0.012),
            jaw_angle: 0.26,
        };
        h.mouth = h.surface(dm);
        h.w_ang = (h.w_m / (h.mouth - o).len()).atan();
        h
    }

    /// Signed distance of the head shape (without lips, eyelids, ears).
    pub fn sdf(&self, p: V3) -> f64 {
        let mut d = sd_ellipsoid(p, v3(0.0, 0.028, -0.012), v3(0.073, 0.088, 0.092));
        let face = sd_ellipsoid(p, v3(0.0, -0.018, 0.012), v3(0.06, 0.07, 0.064));
        d = smin(d, face, 0.03);
        let jaw = sd_capsule(
            p,
            v3(-0.041, -0.057, -0.004),
            v3(0.041, -0.057, -0.004),
            0.022,
        );
        d = smin(d, jaw, 0.036);
        let chin = sd_ellipsoid(p, v3(0.0, -0.081, 0.049), v3(0.024, 0.018, 0.02));
        d = smin(d, chin, 0.03);
        let muzzle = sd_ellipsoid(p, v3(0.0, -0.05, 0.051), v3(0.027, 0.024, 0.029));
        d = smin(d, muzzle, 0.02);
        for s in [-1.0, 1.0] {
            let cheek = sd_ellipsoid(p, v3(s * 0.04, -0.014, 0.05), v3(0.022, 0.017, 0.02));
            d = smin(d, cheek, 0.02);
        }
        let brow = sd_capsule(p, v3(-0.03, 0.033, 0.063), v3(0.03, 0.033, 0.063), 0.011);
        d = smin(d, brow, 0.02);
        // nose
        let bridge = sd_capsule(p, v3(0.0, 0.022, 0.068), v3(0.0, -0.017, 0.088), 0.0066);
        d = smin(d, bridge, 0.012);
        let tip = sd_ellipsoid(p, v3(0.0, -0.02, 0.089), v3(0.0105, 0.0095, 0.0105));
        d = smin(d, tip, 0.008);
        for s in [-1.0, 1.0] {
            let ala = sd_ellipsoid(p, v3(s * 0.0105, -0.025, 0.082), v3(0.0066, 0.0062, 0.0072));
            d = smin(d, ala, 0.005);
        }
        // eye sockets: carve so the eyeball shows through the lid opening
        for e in self.eye {
            // the skin wraps over the eyeball (eyelid bulge), then the lid opening is cut
            let ball = (p - e).len() - (self.re + 0.0019);
            d = smin(d, ball, 0.006);
            let q = p - e;
            let (ax, ay) = (0.0117 * self.re / 0.0125, 0.0079 * self.re / 0.0125);
            let cyl = ((q.x / ax).powi(2) + ((q.y - 0.0008) / ay).powi(2)).sqrt() - 1.0;
            let almond = (cyl * ax.min(ay)).max(-q.z);
            d = smax(d, -almond, 0.0008);
        }
        d
    }

    /// Outermost surface point along the ray from `o` in direction `dir`.
    pub fn surface(&self, dir: V3) -> V3 {
        let mut t = 0.3;
        // march inward until inside
        let mut prev = t;
        for _ in 0..400 {
            let d = self.sdf(self.o + dir * t);
            if d < 0.0 {
                break;
            }
            prev = t;
            t -= (d * 0.7).max(0.0004);
            if t <= 0.0 {
                t = 0.0;
                break;
            }
        }
        // bisection between t (inside) and prev (outside)
        let (mut lo, mut hi) = (t, prev);
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if self.sdf(self.o + dir * mid) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.o + dir * (0.5 * (lo + hi))
    }

    /// Direction from mouth-plane angular coordinates (azimuthal equidistant about `dm`).
    fn dir(&self, ax: f64, ay: f64) -> V3 {
        let ang = (ax * ax + ay * ay).sqrt();
        if ang < 1e-12 {
            return self.dm;
        }
        let t = (self.ex * ax + self.ey * ay) * (1.0 / ang);
        (self.dm * ang.cos() + t * ang.sin()).norm()
    }

    /// Mouth-local coordinates of a point: (mx, my) in the mouth tangent plane.
    pub fn mouth_xy(&self, p: V3) -> (f64, f64) {
        let d = p - self.mouth;
        (d.dot(self.ex), d.dot(self.ey))
    }

    /// Jaw-follow mask of a skin point with lip side `side` (+1 upper, -1 lower).
    fn jaw_mask(&self, p: V3, side: f64) -> f64 {
        let (mx, my) = self.mouth_xy(p);
        let dx = mx.abs() - self.w_m;
        let yb = if dx < 0.0 { 0.0 } else { -0.85 * dx };
        let wdt = 0.0006 + (dx + 0.006).max(0.0) * 0.45;
        let mye = my + side * 0.001;
        let m = smoothstep(wdt, -wdt, mye - yb);
        m * smoothstep(self.hinge.z - 0.004, self.hinge.z + 0.03, p.z)
    }

    /// Jaw transform: rotate about the hinge by `m * angle`.
    pub fn jaw_delta(&self, p: V3, m: f64) -> V3 {
        p.rot_x(self.hinge, m * self.jaw_angle) - p
    }

    /// Upper/lower vermilion heights at mouth-local x.
    fn lip_heights(&self, mx: f64) -> (f64, f64) {
        let u = (mx / self.w_m).clamp(-1.0, 1.0);
        let base = (1.0 - u * u).max(0.0).powf(0.45);
        let bow = -0.0011 * (-(mx / 0.0045).powi(2)).exp()
            + 0.0007 * (-((mx.abs() - 0.0065) / 0.0035).powi(2)).exp();
        (0.0014 + 0.0058 * base + bow, 0.0014 + 0.0068 * base)
    }

    /// Forward displacement of the lips (along the ray) and colour mix factor for a skin point.
    fn lip_shape(&self, mx: f64, my: f64, upper: bool, near: f64) -> (f64, f64) {
        let (hu, hl) = self.lip_heights(mx);
        let u = (mx / (self.w_m * 1.02)).abs();
        let taper = if u >= 1.0 {
            0.0
        } else {
            (1.0 - u * u).powf(0.6) * near
        };
        let h0 = 0.0022 * taper;
        let (a, hh, t) = if upper {
            (0.0034, hu, my / hu)
        } else {
            (0.0040, hl, -my / hl)
        };
        let a = a * taper;
        let prof = if t < 0.4 {
            h0 + (a - h0) * smoothstep(0.0, 0.4, t)
        } else if t < 1.0 {
            a - (a - 0.15 * a) * smoothstep(0.4, 1.0, t)
        } else {
            0.15 * a * (1.0 - smoothstep(1.0, 1.8, t))
        };
        let mut h = prof;
        // corner pit
        let corner = ebump(
            v3(mx.abs(), my, 0.0),
            v3(self.w_m, 0.0, 0.0),
            v3(0.006, 0.005, 1.0),
        );
        h -= 0.0012 * corner;
        if upper {
            // philtrum groove between the lip and the nose
            let ph = smoothstep(0.9, 1.3, t) * (1.0 - smoothstep(2.2, 3.2, t));
            h += ph
                * (-0.0007 * (-(mx / 0.003).powi(2)).exp()
                    + 0.0004 * (-((mx.abs() - 0.0045) / 0.002).powi(2)).exp());
        } else {
            // mentolabial sulcus
            let s = (-((t - 1.9) / 0.5).powi(2)).exp() * (1.0 - smoothstep(0.7, 1.0, u));
            h -= 0.0014 * s;
        }
        let red = 1.0 - smoothstep(0.8, 1.12, t);
        let _ = hh;
        (h * near, red * (1.0 - smoothstep(0.92, 1.0, u)) * near)
    }
}

/// Rings (vertical angle at the mouth middle) from the lip slit out to the back pole.
fn ring_angles() -> Vec<f64> {
    let mut v = vec![0.0];
    let mut b: f64 = 0.0;
    let mut step: f64 = 0.012;
    loop {
        if b > 0.17 {
            step = (step * 1.07).min(if b < 1.3 { 0.034 } else { 0.085 });
        }
        b += step;
        if b > PI - step * 0.6 {
            break;
        }
        v.push(b);
    }
    v
}

/// Eye lid opening curves (upper, lower elevation in rad) at normalised width `u` in -1..1.
fn lid_lines(u: f64) -> (f64, f64) {
    let q = (1.0 - u * u).max(0.0);
    let lap = 0.07 * smoothstep(0.85, 1.2, u.abs());
    (
        0.38 * q.powf(0.7) * (1.0 + 0.1 * u) - lap,
        -0.30 * q.powf(0.8) + lap,
    )
}

/// Lid azimuth range: inner and outer canthus (rad).
const A_IN: f64 = 0.84;
const A_OUT: f64 = 0.94;

fn lid_u(alpha: f64) -> f64 {
    if alpha < 0.0 {
        alpha / A_IN
    } else {
        alpha / A_OUT
    }
}

/// The face mesh builder output.
pub struct Face {
    pub b: Builder,
    /// For inner-lip vertices, the slit vertex they hang from (`u32::MAX` otherwise).
    pub edge_of: Vec<u32>,
}

pub fn build_face(h: &Head) -> Face {
    let mut b = Builder::default();
    let nphi = 96usize;
    let rings = ring_angles();
    let skin = skin_col();
    let lip = lip_col();
    let phis: Vec<f64> = (0..nphi)
        .map(|j| 2.0 * PI * j as f64 / nphi as f64)
        .collect();

    // --- skin rings (ring 0 = lip slit) ---
    let mut skin_rows: Vec<Vec<u32>> = Vec::new();
    let mut edge_pos: Vec<V3> = Vec::new();
    let mut edge_dir: Vec<V3> = Vec::new();
    for (i, &bb) in rings.iter().enumerate() {
        let aa = h.w_ang + bb * (PI - h.w_ang) / PI;
        let mut row = Vec::with_capacity(nphi);
        for &phi in &phis {
            let (sp, cp) = phi.sin_cos();
            let dir = h.dir(aa * cp, bb * sp);
            let p0 = h.surface(dir);
            let (mx, my) = h.mouth_xy(p0);
            let upper = if i == 0 { sp > 0.0 } else { my > 0.0 };
            let side = if i == 0 {
                sp.signum() * (sp.abs() > 1e-9) as i32 as f64
            } else {
                my.signum()
            };
            let near = 1.0 - smoothstep(0.3, 0.5, bb);
            let (hd, red) = h.lip_shape(mx, my, upper, near);
            // mouth corners turned up a little at rest: a relaxed, friendly expression
            let lift = 0.0011
                * ebump(
                    v3(mx.abs(), my, 0.0),
                    v3(h.w_m, 0.0, 0.0),
                    v3(0.012, 0.01, 1.0),
                )
                * near;
            let p = p0 + dir * hd + V3::Y * lift;
            let mut c = mix(skin, lip, red);
            if i == 0 {
                c = shade(c, 0.72);
            }
            // blush
            for s in [-1.0, 1.0] {
                let k = ebump(p0, v3(s * 0.042, -0.03, 0.05), v3(0.026, 0.02, 0.03));
                c = mix(c, srgb(226, 150, 130), 0.35 * k);
            }
            // nostrils: darken the underside of the nose wings
            for s in [-1.0, 1.0] {
                let k = ebump(
                    p0,
                    v3(s * 0.0075, -0.029, 0.086),
                    v3(0.0045, 0.0028, 0.0055),
                );
                c = mix(c, srgb(90, 45, 40), 0.9 * k);
            }
            let jaw = h.jaw_mask(p, side);
            let tag = Tag {
                kind: Kind::Skin,
                a: i as f64,
                b: phi,
                c: 0.0,
                side,
                jaw,
            };
            row.push(b.vert(p, c, tag));
            if i == 0 {
                edge_pos.push(p);
                edge_dir.push(dir);
            }
        }
        skin_rows.push(row);
    }

    // --- inner lip rings and mouth cavity, going inward from the slit ---
    let inner_k = 4;
    let mut inner_rows: Vec<Vec<u32>> = Vec::new();
    let mut edge_links: Vec<(u32, u32)> = Vec::new();
    for k in 1..=inner_k {
        let t = k as f64 / inner_k as f64;
        let mut row = Vec::with_capacity(nphi);
        for (j, &phi) in phis.iter().enumerate() {
            let sp = phi.sin();
            let e = edge_pos[j];
            let (mx, _) = h.mouth_xy(e);
            let taper = (1.0 - (mx / h.w_m).powi(2)).max(0.0).sqrt();
            let side = (sp * 3.0).clamp(-1.0, 1.0);
            let p = e - h.dm * (0.0065 * t.powf(0.8))
                + h.ey * (side * 0.0032 * (t * PI * 0.5).sin() * taper);
            let c = mix(shade(lip, 0.8), srgb(70, 22, 26), smoothstep(0.2, 1.0, t));
            let jaw = h.jaw_mask(
                e,
                if sp > 1e-9 {
                    1.0
                } else if sp < -1e-9 {
                    -1.0
                } else {
                    0.0
                },
            );
            let tag = Tag {
                kind: Kind::InnerLip,
                a: t,
                b: phi,
                c: 0.0,
                side,
                jaw,
            };
            let id = b.vert(p, c, tag);
            edge_links.push((id, skin_rows[0][j]));
            row.push(id);
        }
        inner_rows.push(row);
    }
    // cavity bag
    let cb = h.mouth + v3(0.0, -0.004, -0.027);
    let (rx, ry, rz) = (0.023, 0.016, 0.027);
    let mut cav_rows: Vec<Vec<u32>> = Vec::new();
    let nbag = 5;
    for k in 0..nbag {
        let al = 0.95 + (PI - 0.95) * k as f64 / nbag as f64;
        let mut row = Vec::with_capacity(nphi);
        for &phi in &phis {
            let (sp, cp) = phi.sin_cos();
            let narrow = 1.0 - 0.22 * (-sp).max(0.0);
            let p = cb
                + v3(
                    rx * narrow * al.sin() * cp,
                    ry * al.sin() * sp,
                    rz * al.cos(),
                );
            let jaw = smoothstep(0.35, -0.35, sp);
            let tag = Tag {
                kind: Kind::Cavity,
                a: al,
                b: phi,
                c: 0.0,
                side: sp,
                jaw,
            };
            row.push(b.vert(p, srgb(58, 16, 20), tag));
        }
        cav_rows.push(row);
    }
    let back = b.vert(
        cb - V3::Z * rz,
        srgb(58, 16, 20),
        Tag {
            kind: Kind::Cavity,
            a: PI,
            b: 0.0,
            c: 0.0,
            side: 0.0,
            jaw: 0.5,
        },
    );
    // back pole of the head
    let head_back = b.vert(
        h.surface(-h.dm),
        skin,
        Tag {
            kind: Kind::Skin,
            a: rings.len() as f64,
            b: 0.0,
            c: 0.0,
            side: 0.0,
            jaw: 0.0,
        },
    );

    let t0 = b.tris.len();
    // chain: cavity back .. cavity front, inner lips (innermost first), slit, skin rings
    let mut chain: Vec<Vec<u32>> = Vec::new();
    for r in cav_rows.iter().rev() {
        chain.push(r.clone());
    }
    let n_cav = chain.len();
    for r in inner_rows.iter().rev() {
        chain.push(r.clone());
    }
    for r in &skin_rows {
        chain.push(r.clone());
    }
    b.grid(
        &chain,
        true,
        |r| if r < n_cav { mat::MOUTH } else { mat::SKIN },
    );
    b.fan(back, &chain[0], mat::MOUTH, true);
    b.fan(
        head_back,
        chain.last().map(|v| v.as_slice()).unwrap_or(&[]),
        mat::SKIN,
        false,
    );
    // orientation: the skin part must face outward from the head centre
    orient_by_skin(&mut b, t0, h.o);
    // drop skin well under the hair (never seen, saves triangles)
    let covered: Vec<bool> = b
        .pos
        .iter()
        .zip(&b.tag)
        .map(|(&p, t)| t.kind == Kind::Skin && crate::parts::hair_at(p).0 > 0.0045)
        .collect();
    let keep: Vec<bool> = b
        .tris
        .iter()
        .map(|t| !t.iter().all(|&i| covered[i as usize]))
        .collect();
    let mut k = 0;
    b.tris.retain(|_| {
        k += 1;
        keep[k - 1]
    });
    let mut k = 0;
    b.mat.retain(|_| {
        k += 1;
        keep[k - 1]
    });

    // --- eyelids ---
    for (ei, &e) in h.eye.iter().enumerate() {
        let sx = if ei == 0 { 1.0 } else { -1.0 };
        for upper in [true, false] {
            let t1 = b.tris.len();
            let na = 26;
            let (r_in, r_out) = if upper {
                (h.re + 0.0009, h.re + 0.0024)
            } else {
                (h.re + 0.0008, h.re + 0.0022)
            };
            let top = if upper { 1.45 } else { -1.3 };
            let nrows = 7;
            let mut rows: Vec<Vec<u32>> = Vec::new();
            for rr in 0..nrows + 2 {
                let mut row = Vec::new();
                for ai in 0..=na {
                    let alpha = -1.45 + 2.9 * ai as f64 / na as f64;
                    let (bu, bl) = lid_lines(lid_u(alpha));
                    let bm = if upper { bu } else { bl };
                    let sgn = if upper { 1.0 } else { -1.0 };
                    let (beta, r) = match rr {
                        0 => (bm, r_in),
                        1 => (bm + sgn * 0.02, r_out),
                        _ => {
                            let t = (rr - 1) as f64 / nrows as f64;
                            let beta = bm + sgn * 0.02 + (top - bm) * t.powf(1.3);
                            let dive = smoothstep(0.12, 0.5, (beta - bm).abs());
                            (beta, r_out - if upper { 0.0013 } else { 0.0019 } * dive)
                        }
                    };
                    let p = lid_point(e, sx, alpha, beta, r);
                    let mut c = skin;
                    if upper && rr <= 1 {
                        c = srgb(48, 32, 30);
                    } else if upper && rr == 2 {
                        c = mix(skin, srgb(80, 55, 50), 0.5);
                    } else if !upper && rr == 0 {
                        c = srgb(205, 132, 122);
                    } else if !upper && rr == 1 {
                        c = mix(skin, srgb(190, 125, 110), 0.5);
                    }
                    let tag = Tag {
                        kind: Kind::Lid,
                        a: alpha,
                        b: beta,
                        c: r,
                        side: if upper { 1.0 } else { -1.0 },
                        jaw: 0.0,
                    };
                    row.push(b.vert(p, c, tag));
                }
                rows.push(row);
            }
            b.grid(&rows, false, |_| mat::SKIN);
            orient_outward_from(&mut b, t1, e);
            if upper {
                // eyelashes: a thin dark fin along the upper lid margin, curling up and out
                let mut fin: Vec<Vec<u32>> = Vec::new();
                for (k, (dbeta, dr)) in [(0.02, 0.0), (0.045, 0.0013), (0.085, 0.0026)]
                    .iter()
                    .enumerate()
                {
                    let mut row = Vec::new();
                    for ai in 0..=na {
                        let alpha = -1.45 + 2.9 * ai as f64 / na as f64;
                        let u = lid_u(alpha);
                        let (bu, _) = lid_lines(u);
                        // longer toward the outer corner, none beyond the canthi
                        let len = (1.0 - u.abs().powi(4)).max(0.0) * (0.75 + 0.35 * u.max(0.0));
                        let beta = bu + dbeta * len.max(0.05);
                        let r = r_out + 0.0002 + dr * len;
                        let p = lid_point(e, sx, alpha, beta, r);
                        let c = if k == 0 {
                            srgb(40, 28, 26)
                        } else {
                            srgb(28, 20, 18)
                        };
                        let tag = Tag {
                            kind: Kind::Lid,
                            a: alpha,
                            b: beta,
                            c: r,
                            side: 1.0,
                            jaw: 0.0,
                        };
                        row.push(b.vert(p, c, tag));
                    }
                    fin.push(row);
                }
                let t2 = b.tris.len();
                b.grid(&fin, false, |_| mat::LASHES);
                orient_outward_from(&mut b, t2, e);
            }
        }
    }

    // --- eyebrows: strips lying on the skin ---
    for s in [1.0f64, -1.0] {
        let t1 = b.tris.len();
        let nu = 16;
        let nv = 4;
        let mut rows = Vec::new();
        for vi in 0..=nv {
            let mut row = Vec::new();
            for ui in 0..=nu {
                let u = ui as f64 / nu as f64; // 0 inner .. 1 outer
                let x = 0.011 + 0.041 * u;
                let y =
                    h.eye[0].y + 0.0225 + 0.005 * (PI * (u * 0.8 + 0.12)).sin() - 0.0025 * u * u;
                let thick = 0.0052 * (1.0 - u) + 0.0022 * u;
                let v = vi as f64 / nv as f64 - 0.5;
                let yy = y + v * thick;
                let dir = (v3(s * x, yy, 0.09) - h.o).norm();
                let p0 = h.surface(dir);
                let lift = if vi == 0 || vi == nv { -0.0003 } else { 0.0009 };
                let p = p0 + (p0 - h.o).norm() * lift;
                let c = shade(brow_col(), 0.85 + 0.3 * hash01((ui * 7 + vi) as i64));
                let tag = Tag {
                    kind: Kind::Attached,
                    a: u,
                    b: v,
                    c: 0.0,
                    side: s,
                    jaw: 0.0,
                };
                row.push(b.vert(p, c, tag));
            }
            rows.push(row);
        }
        b.grid(&rows, false, |_| mat::HAIR);
        orient_outward_from(&mut b, t1, h.o);
    }

    // --- ears ---
    for s in [1.0f64, -1.0] {
        let t1 = b.tris.len();
        let c = v3(s * 0.071, -0.004, -0.012);
        let (nu, nv) = (20, 12);
        let mut rows = Vec::new();
        let mut pole = [0u32; 2];
        for vi in 1..nv {
            let th = PI * vi as f64 / nv as f64;
            let mut row = Vec::new();
            for ui in 0..nu {
                let ph = 2.0 * PI * ui as f64 / nu as f64;
                // local ear frame: n (outward, +x*s), up, back
                let (sn, cs) = (th.sin(), th.cos());
                let mut lx = 0.0065 * sn * ph.cos(); // thickness direction
                let ly = 0.031 * cs;
                let lz = 0.017 * sn * ph.sin() * (1.0 + 0.25 * cs);
                // concave bowl on the outer face
                if lx > 0.0 {
                    lx -= 0.0085 * bump((ly / 0.022).powi(2).sqrt().max((lz / 0.012).abs()));
                }
                let lx = lx + 0.004 * (1.0 - cs * cs); // flare away from the head
                let tilt: f64 = 0.18;
                let (st, ct) = tilt.sin_cos();
                let yy = ly * ct - lz * st;
                let zz = ly * st + lz * ct;
                let p = c + v3(s * (lx + 0.004), yy, zz);
                let bowl = if lx < 0.002 && sn > 0.3 { 0.8 } else { 1.0 };
                let col = shade(mix(skin, srgb(225, 160, 140), 0.35), bowl);
                row.push(b.vert(
                    p,
                    col,
                    Tag {
                        kind: Kind::Attached,
                        a: 0.0,
                        b: 0.0,
                        c: 0.0,
                        side: s,
                        jaw: 0.0,
                    },
                ));
            }
            rows.push(row);
        }
        for (k, sign) in [(0usize, 1.0f64), (1, -1.0)] {
            let p = c + v3(s * 0.004, sign * 0.031 * 0.985, 0.0).rot_x(V3::ZERO, 0.0);
            pole[k] = b.vert(
                p,
                skin,
                Tag {
                    kind: Kind::Attached,
                    a: 0.0,
                    b: 0.0,
                    c: 0.0,
                    side: s,
                    jaw: 0.0,
                },
            );
        }
        b.grid(&rows, true, |_| mat::SKIN);
        let first = rows[0].clone();
        let last = rows[rows.len() - 1].clone();
        b.fan(pole[0], &first, mat::SKIN, false);
        b.fan(pole[1], &last, mat::SKIN, true);
        orient_outward_from(&mut b, t1, c);
    }

    let mut edge_of = vec![u32::MAX; b.pos.len()];
    for (i, e) in edge_links {
        edge_of[i as usize] = e;
    }
    Face { b, edge_of }
}

fn lid_point(e: V3, sx: f64, alpha: f64, beta: f64, r: f64) -> V3 {
    e + v3(
        sx * alpha.sin() * beta.cos(),
        beta.sin(),
        alpha.cos() * beta.cos(),
    ) * r
}

fn orient_outward_from(b: &mut Builder, from: usize, c: V3) {
    b.orient_outward(from, c);
}

/// Orient the whole face chain using only its skin triangles.
fn orient_by_skin(b: &mut Builder, from: usize, c: V3) {
    let mut s = 0.0;
    for (t, &m) in b.tris[from..].iter().zip(&b.mat[from..]) {
        if m != mat::SKIN {
            continue;
        }
        let (p0, p1, p2) = (
            b.pos[t[0] as usize],
            b.pos[t[1] as usize],
            b.pos[t[2] as usize],
        );
        if b.tag[t[0] as usize].kind != Kind::Skin {
            continue;
        }
        s += (p1 - p0).cross(p2 - p0).dot(p0 - c);
    }
    if s < 0.0 {
        for t in &mut b.tris[from..] {
            t.swap(1, 2);
        }
    }
}

/// Per-vertex delta of face morph `name`.
pub fn face_delta(h: &Head, name: &str, p: V3, t: &Tag, edge: Option<(V3, Tag)>) -> V3 {
    // inner lip vertices follow their slit vertex for lip-local shapes
    if t.kind == Kind::InnerLip {
        if let Some((ep, et)) = edge {
            match name {
                "jawOpen" | "jawLeft" | "jawRight" | "jawForward" => {}
                _ => return face_delta(h, name, ep, &et, None) * (1.0 - 0.3 * t.a),
            }
        }
    }
    let lr = |s: &str| -> Option<(f64, String)> {
        if let Some(b) = s.strip_suffix("Left") {
            Some((1.0, b.to_string()))
        } else {
            s.strip_suffix("Right").map(|b| (-1.0, b.to_string()))
        }
    };
    let (sgn, base) = lr(name).unwrap_or((0.0, name.to_string()));
    let (mx, my) = h.mouth_xy(p);
    let face_front = smoothstep(h.hinge.z - 0.005, h.hinge.z + 0.03, p.z);
    let is_mouthish = matches!(t.kind, Kind::Skin | Kind::InnerLip);
    let is_skinish = matches!(t.kind, Kind::Skin | Kind::Attached | Kind::InnerLip);
    // lip region weights
    let (hu, hl) = h.lip_heights(mx);
    let in_w = 1.0 - smoothstep(h.w_m * 0.9, h.w_m * 1.5, mx.abs());
    let upper = t.side > 0.0;
    let lower = t.side < 0.0;
    let lip_u = if is_mouthish && (upper || (t.side == 0.0 && my >= 0.0)) {
        (1.0 - smoothstep(hu * 1.0, hu * 2.6, my.max(0.0))) * in_w
    } else {
        0.0
    };
    let lip_l = if is_mouthish && (lower || (t.side == 0.0 && my < 0.0)) {
        (1.0 - smoothstep(hl * 1.0, hl * 2.4, (-my).max(0.0))) * in_w
    } else {
        0.0
    };
    let lips = lip_u.max(lip_l);
    let vside = if upper {
        1.0
    } else if lower {
        -1.0
    } else {
        0.0
    };
    let half = |s: f64| smoothstep(-0.012, 0.012, s * mx);
    let fwd = h.dm;
    let up = V3::Y;
    let corner = |s: f64, rx: f64, ry: f64| -> f64 {
        if !is_skinish {
            return 0.0;
        }
        ebump(v3(mx, my, 0.0), v3(s * h.w_m, 0.0, 0.0), v3(rx, ry, 1.0)) * face_front
    };
    let field = |c: V3, r: V3| -> f64 {
        if !is_skinish {
            return 0.0;
        }
        ebump(p, c, r)
    };
    match (base.as_str(), t.kind) {
        ("jawOpen", _) => {
            let m = if t.kind == Kind::Jaw || t.kind == Kind::Tongue {
                1.0
            } else {
                t.jaw
            };
            let mut d = h.jaw_delta(p, m);
            if is_mouthish {
                // lower lip drops a little less than the jaw and the corners stretch
                d += up * (0.0015 * lip_l);
            }
            d
        }
        ("jawForward", _) => {
            let m = if t.kind == Kind::Jaw || t.kind == Kind::Tongue {
                1.0
            } else {
                t.jaw
            };
            fwd * (0.005 * m)
        }
        ("jaw", _) if sgn != 0.0 => {
            let m = if t.kind == Kind::Jaw || t.kind == Kind::Tongue {
                1.0
            } else {
                t.jaw
            };
            V3::X * (sgn * 0.006 * m)
        }
        ("mouthClose", Kind::Skin | Kind::InnerLip) => {
            // cancels the jaw on the lower lip, so jawOpen + mouthClose = closed lips
            let k = if lower {
                1.0 - smoothstep(hl * 1.2, hl * 2.8, (-my).max(0.0))
            } else {
                0.0
            };
            let k = k * (1.0 - smoothstep(h.w_m * 0.95, h.w_m * 1.8, mx.abs()));
            -(h.jaw_delta(p, t.jaw) + up * (0.0015 * lip_l)) * k
        }
        ("mouthFunnel", Kind::Skin) => {
            let round = (1.0 - (mx / h.w_m).powi(2)).max(0.0);
            let open = v3(0.0, vside * 0.0045 * round.sqrt() * lips, 0.0);
            let wide = ebump(v3(mx, my, 0.0), V3::ZERO, v3(0.045, 0.028, 1.0)) * face_front;
            fwd * (0.005 * lips + 0.002 * wide) + V3::X * (-0.3 * mx * wide) + open
        }
        ("mouthPucker", Kind::Skin) => {
            let wide = ebump(v3(mx, my, 0.0), V3::ZERO, v3(0.046, 0.03, 1.0)) * face_front;
            fwd * (0.0075 * lips + 0.003 * wide)
                + V3::X * (-0.42 * mx * wide)
                + up * (-0.15 * my * lips)
        }
        ("mouth", Kind::Skin | Kind::Attached) if sgn != 0.0 => {
            let m = ebump(v3(mx, my, 0.0), V3::ZERO, v3(0.045, 0.03, 1.0)) * face_front;
            V3::X * (sgn * 0.0075 * m) + fwd * (-0.0015 * m * (sgn * mx / h.w_m).clamp(-1.0, 1.0))
        }
        ("mouthSmile", _) => {
            let m = corner(sgn, 0.03, 0.024);
            let cheek = field(v3(sgn * 0.04, -0.026, 0.052), v3(0.024, 0.022, 0.025));
            (v3(sgn * 0.0045, 0.0062, -0.003)) * m + v3(sgn * 0.0015, 0.0032, 0.002) * cheek
        }
        ("mouthFrown", _) => {
            let m = corner(sgn, 0.022, 0.022);
            v3(sgn * 0.001, -0.0045, -0.0005) * m
        }
        ("mouthDimple", _) => {
            let m = corner(sgn, 0.014, 0.012);
            v3(sgn * 0.0018, 0.0, -0.0025) * m
        }
        ("mouthStretch", _) => {
            let m = corner(sgn, 0.03, 0.02);
            v3(sgn * 0.0055, -0.0015, -0.0015) * m + up * (-0.2 * my * lips * half(sgn))
        }
        ("mouthRollLower", Kind::Skin | Kind::InnerLip) => {
            let k = lip_l;
            (up * 0.0018 - fwd * 0.0035) * k
        }
        ("mouthRollUpper", Kind::Skin | Kind::InnerLip) => {
            let k = lip_u;
            (-up * 0.0016 - fwd * 0.0032) * k
        }
        ("mouthShrugLower", _) => {
            let k = lip_l.max(if is_skinish && my < 0.0 {
                field(v3(0.0, -0.08, 0.05), v3(0.03, 0.03, 0.03))
            } else {
                0.0
            });
            (up * 0.0028 + fwd * 0.0012) * k
        }
        ("mouthShrugUpper", _) => (up * 0.0022 + fwd * 0.0008) * lip_u,
        ("mouthPress", Kind::Skin | Kind::InnerLip) => {
            let k = lips * half(sgn);
            up * (-0.3 * my * k) - fwd * (0.0012 * k)
        }
        ("mouthLowerDown", Kind::Skin | Kind::InnerLip) => {
            let k = if lower {
                1.0 - smoothstep(hl * 1.0, hl * 3.0, (-my).max(0.0))
            } else {
                0.0
            };
            let k = k * half(sgn) * (1.0 - smoothstep(h.w_m * 0.8, h.w_m * 1.3, mx.abs()));
            (-up * 0.0042 + fwd * 0.0006) * k
        }
        ("mouthUpperUp", Kind::Skin | Kind::InnerLip) => {
            let k = if upper {
                1.0 - smoothstep(hu * 1.2, hu * 3.5, my.max(0.0))
            } else {
                0.0
            };
            let k = k * half(sgn) * (1.0 - smoothstep(h.w_m * 0.8, h.w_m * 1.3, mx.abs()));
            (up * 0.004 + fwd * 0.0005) * k
        }
        ("cheekPuff", Kind::Skin) => {
            let mut d = V3::ZERO;
            for s in [-1.0, 1.0] {
                let k = field(v3(s * 0.036, -0.05, 0.048), v3(0.024, 0.024, 0.03));
                d += v3(s * 0.0055, 0.0, 0.002) * k;
            }
            d + fwd * (0.0012 * lips)
        }
        ("cheekSquint", Kind::Skin | Kind::Attached) => {
            let k = field(v3(sgn * 0.036, -0.012, 0.058), v3(0.022, 0.016, 0.03));
            v3(0.0, 0.0028, 0.0006) * k
        }
        ("cheekSquint", Kind::Lid) if (t_eye(p) == sgn) && t.side < 0.0 => {
            lid_move(h, p, t, 0.06, 0.0)
        }
        ("noseSneer", Kind::Skin) => {
            let k = field(v3(sgn * 0.012, -0.016, 0.083), v3(0.014, 0.014, 0.02));
            let k2 = if upper { lip_u * half(sgn) * 0.4 } else { 0.0 };
            v3(0.0, 0.0028, -0.0004) * k + up * (0.0012 * k2)
        }
        ("browInnerUp", Kind::Skin | Kind::Attached) => {
            let mut k = 0.0f64;
            for s in [-1.0, 1.0] {
                k = k.max(field(v3(s * 0.014, 0.034, 0.066), v3(0.022, 0.02, 0.03)));
            }
            up * (0.0048 * k)
        }
        ("browInnerUp", Kind::Lid) if t.side > 0.0 => {
            let k = field_lid(
                p,
                v3(t_eye(p) * 0.014, 0.034, 0.066),
                v3(0.022, 0.02, 0.03),
                t,
            );
            up * (0.0048 * k)
        }
        ("browDown", Kind::Skin | Kind::Attached | Kind::Lid) => {
            if t.kind == Kind::Lid && (t.side < 0.0 || t_eye(p) != sgn) {
                return V3::ZERO;
            }
            let c = v3(sgn * 0.028, 0.033, 0.064);
            let r = v3(0.03, 0.018, 0.03);
            let k = if t.kind == Kind::Lid {
                field_lid(p, c, r, t)
            } else {
                field(c, r)
            };
            v3(-sgn * 0.0018, -0.0042, 0.0006) * k
        }
        ("browOuterUp", Kind::Skin | Kind::Attached | Kind::Lid) => {
            if t.kind == Kind::Lid && (t.side < 0.0 || t_eye(p) != sgn) {
                return V3::ZERO;
            }
            let c = v3(sgn * 0.047, 0.031, 0.056);
            let r = v3(0.022, 0.02, 0.03);
            let k = if t.kind == Kind::Lid {
                field_lid(p, c, r, t)
            } else {
                field(c, r)
            };
            up * (0.0048 * k)
        }
        ("eyeBlink", Kind::Lid) if t_eye(p) == sgn => {
            if t.side > 0.0 {
                lid_close(h, p, t)
            } else {
                lid_move(h, p, t, 0.03, 0.0)
            }
        }
        ("eyeWide", Kind::Lid) if t_eye(p) == sgn => {
            if t.side > 0.0 {
                lid_move(h, p, t, 0.1, 0.0)
            } else {
                lid_move(h, p, t, -0.06, 0.0)
            }
        }
        ("eyeSquint", Kind::Lid) if t_eye(p) == sgn => {
            if t.side > 0.0 {
                lid_move(h, p, t, -0.09, 0.0)
            } else {
                lid_move(h, p, t, 0.12, 0.0)
            }
        }
        ("eyeSquint", Kind::Skin) => {
            let k = field(v3(sgn * 0.034, -0.006, 0.06), v3(0.02, 0.014, 0.03));
            up * (0.0015 * k)
        }
        ("eyeLookDown", Kind::Lid) if t_eye(p) == sgn => lid_move(h, p, t, -0.2, 0.0),
        ("eyeLookUp", Kind::Lid) if t_eye(p) == sgn => {
            if t.side > 0.0 {
                lid_move(h, p, t, 0.12, 0.0)
            } else {
                lid_move(h, p, t, 0.05, 0.0)
            }
        }
        ("eyeLookIn", Kind::Lid) | ("eyeLookOut", Kind::Lid) if t_eye(p) == sgn => {
            // lids follow the cornea a little sideways
            let dir = if base == "eyeLookIn" { -1.0 } else { 1.0 };
            lid_move(h, p, t, 0.0, 0.06 * dir)
        }
        _ => V3::ZERO,
    }
}

fn t_eye(p: V3) -> f64 {
    if p.x >= 0.0 {
        1.0
    } else {
        -1.0
    }
}

fn field_lid(p: V3, c: V3, r: V3, t: &Tag) -> f64 {
    // only the upper part of the upper lid follows the brow
    ebump(p, c, r) * smoothstep(0.55, 1.2, t.b)
}

/// Move a lid's margin by `dbeta` (elevation, rad; positive = up), fading to zero at the lid's
/// far edge, and shift sideways by `dalpha`.
fn lid_move(h: &Head, p: V3, t: &Tag, dbeta: f64, dalpha: f64) -> V3 {
    let e = if p.x >= 0.0 { h.eye[0] } else { h.eye[1] };
    let sx = if p.x >= 0.0 { 1.0 } else { -1.0 };
    let top = if t.side > 0.0 { 1.45 } else { -1.3 };
    let (bu, bl) = lid_lines(lid_u(t.a));
    let bm = if t.side > 0.0 { bu } else { bl };
    let f = ((top - t.b) / (top - bm)).clamp(0.0, 1.0);
    let f = f * if lid_u(t.a).abs() < 1.0 { 1.0 } else { 0.4 };
    lid_point(e, sx, t.a + dalpha * f, t.b + dbeta * f, t.c) - p
}

/// Close the upper lid onto the lower lid line.
fn lid_close(h: &Head, p: V3, t: &Tag) -> V3 {
    let e = if p.x >= 0.0 { h.eye[0] } else { h.eye[1] };
    let sx = if p.x >= 0.0 { 1.0 } else { -1.0 };
    let top = 1.45;
    let (bu, bl) = lid_lines(lid_u(t.a));
    let bc = bl + 0.05;
    let nb = top - (top - t.b) * (top - bc) / (top - bu).max(1e-6);
    lid_point(e, sx, t.a, nb, t.c) - p
}
