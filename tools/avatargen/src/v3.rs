//! Small f64 vector maths used by the modelling code.

use std::ops::{Add, AddAssign, Mul, Neg, Sub};

/// A 3-vector in metres (glTF axes: +Y up, +Z toward the viewer, +X the subject's left).
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct V3 {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

/// Shorthand constructor.
pub const fn v3(x: f64, y: f64, z: f64) -> V3 {
    V3 { x, y, z }
}

impl V3 {
    pub const ZERO: V3 = v3(0.0, 0.0, 0.0);
    pub const X: V3 = v3(1.0, 0.0, 0.0);
    pub const Y: V3 = v3(0.0, 1.0, 0.0);
    pub const Z: V3 = v3(0.0, 0.0, 1.0);

    pub fn dot(self, o: V3) -> f64 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }
    pub fn cross(self, o: V3) -> V3 {
        v3(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )
    }
    pub fn len(self) -> f64 {
        self.dot(self).sqrt()
    }
    pub fn norm(self) -> V3 {
        let l = self.len();
        if l > 1e-12 {
            self * (1.0 / l)
        } else {
            V3::ZERO
        }
    }
    pub fn hmul(self, o: V3) -> V3 {
        v3(self.x * o.x, self.y * o.y, self.z * o.z)
    }
    pub fn hdiv(self, o: V3) -> V3 {
        v3(self.x / o.x, self.y / o.y, self.z / o.z)
    }
    pub fn lerp(self, o: V3, t: f64) -> V3 {
        self + (o - self) * t
    }
    /// Rotate about the X axis through `pivot` by `a` radians (positive: +Y toward +Z).
    pub fn rot_x(self, pivot: V3, a: f64) -> V3 {
        let p = self - pivot;
        let (s, c) = a.sin_cos();
        pivot + v3(p.x, p.y * c - p.z * s, p.y * s + p.z * c)
    }
    /// Rotate about the Y axis through `pivot` by `a` radians (positive: +Z toward +X).
    pub fn rot_y(self, pivot: V3, a: f64) -> V3 {
        let p = self - pivot;
        let (s, c) = a.sin_cos();
        pivot + v3(p.x * c + p.z * s, p.y, -p.x * s + p.z * c)
    }
    /// As `[f32; 3]`, quantised to 1 µm so platform libm differences cannot change the bytes.
    pub fn q(self) -> [f32; 3] {
        [qf(self.x, 1e6), qf(self.y, 1e6), qf(self.z, 1e6)]
    }
}

/// Round `x` to a grid of `1/scale` and convert to f32.
pub fn qf(x: f64, scale: f64) -> f32 {
    let r = (x * scale).round() / scale;
    if r == 0.0 {
        0.0
    } else {
        r as f32
    }
}

impl Add for V3 {
    type Output = V3;
    fn add(self, o: V3) -> V3 {
        v3(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}
impl AddAssign for V3 {
    fn add_assign(&mut self, o: V3) {
        *self = *self + o;
    }
}
impl Sub for V3 {
    type Output = V3;
    fn sub(self, o: V3) -> V3 {
        v3(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}
impl Mul<f64> for V3 {
    type Output = V3;
    fn mul(self, s: f64) -> V3 {
        v3(self.x * s, self.y * s, self.z * s)
    }
}
impl Neg for V3 {
    type Output = V3;
    fn neg(self) -> V3 {
        v3(-self.x, -self.y, -self.z)
    }
}

/// Hermite smoothstep from `e0` to `e1` (either order).
pub fn smoothstep(e0: f64, e1: f64, x: f64) -> f64 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A smooth bump with compact support: 1 at `d = 0`, 0 for `d >= 1`.
pub fn bump(d: f64) -> f64 {
    if d >= 1.0 {
        0.0
    } else {
        let t = 1.0 - d * d;
        t * t * t
    }
}

/// Compact bump of the ellipsoidal distance from `c` with radii `r`.
pub fn ebump(p: V3, c: V3, r: V3) -> f64 {
    bump((p - c).hdiv(r).len())
}

/// Polynomial smooth minimum (union) with blend radius `k`.
pub fn smin(a: f64, b: f64, k: f64) -> f64 {
    let h = (0.5 + 0.5 * (b - a) / k).clamp(0.0, 1.0);
    b + (a - b) * h - k * h * (1.0 - h)
}

/// Smooth maximum (intersection / subtraction).
pub fn smax(a: f64, b: f64, k: f64) -> f64 {
    -smin(-a, -b, k)
}

/// Approximate signed distance to an axis-aligned ellipsoid.
pub fn sd_ellipsoid(p: V3, c: V3, r: V3) -> f64 {
    let q = p - c;
    let k0 = q.hdiv(r).len();
    let k1 = q.hdiv(r.hmul(r)).len();
    if k1 < 1e-12 {
        return -r.x.min(r.y).min(r.z);
    }
    k0 * (k0 - 1.0) / k1
}

/// Signed distance to a capsule from `a` to `b` with radius `r`.
pub fn sd_capsule(p: V3, a: V3, b: V3, r: f64) -> f64 {
    let pa = p - a;
    let ba = b - a;
    let h = (pa.dot(ba) / ba.dot(ba)).clamp(0.0, 1.0);
    (pa - ba * h).len() - r
}

/// sRGB 0..255 to linear RGBA.
pub fn srgb(r: u8, g: u8, b: u8) -> [f64; 4] {
    fn lin(c: u8) -> f64 {
        let c = c as f64 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    }
    [lin(r), lin(g), lin(b), 1.0]
}

/// Mix two colours.
pub fn mix(a: [f64; 4], b: [f64; 4], t: f64) -> [f64; 4] {
    let t = t.clamp(0.0, 1.0);
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
        a[3] + (b[3] - a[3]) * t,
    ]
}

/// Scale a colour's RGB.
pub fn shade(a: [f64; 4], s: f64) -> [f64; 4] {
    [a[0] * s, a[1] * s, a[2] * s, a[3]]
}

/// Deterministic hash noise in 0..1.
pub fn hash01(i: i64) -> f64 {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}
