//! Small vector / matrix / quaternion helpers (column-major 4×4 like glTF).

use facecast_core::model::Mat4;

pub type V3 = [f32; 3];
pub type Quat = [f32; 4];

#[inline(always)]
pub fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
#[inline(always)]
pub fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
#[inline(always)]
pub fn scale(a: V3, s: f32) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
#[inline(always)]
pub fn dot(a: V3, b: V3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
#[inline(always)]
pub fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
#[inline(always)]
pub fn length(a: V3) -> f32 {
    dot(a, a).sqrt()
}
#[inline(always)]
pub fn normalize(a: V3) -> V3 {
    let l2 = dot(a, a);
    if l2 > 1e-30 {
        scale(a, 1.0 / l2.sqrt())
    } else {
        [0.0, 0.0, 1.0]
    }
}

pub fn mat_mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut r = [0.0f32; 16];
    for c in 0..4 {
        for row in 0..4 {
            let mut s = 0.0;
            for k in 0..4 {
                s += a[k * 4 + row] * b[c * 4 + k];
            }
            r[c * 4 + row] = s;
        }
    }
    r
}

pub fn mat_from_trs(t: V3, q: Quat, s: V3) -> Mat4 {
    let [x, y, z, w] = q;
    let (xx, yy, zz) = (x * x, y * y, z * z);
    let (xy, xz, yz) = (x * y, x * z, y * z);
    let (wx, wy, wz) = (w * x, w * y, w * z);
    [
        (1.0 - 2.0 * (yy + zz)) * s[0],
        (2.0 * (xy + wz)) * s[0],
        (2.0 * (xz - wy)) * s[0],
        0.0,
        (2.0 * (xy - wz)) * s[1],
        (1.0 - 2.0 * (xx + zz)) * s[1],
        (2.0 * (yz + wx)) * s[1],
        0.0,
        (2.0 * (xz + wy)) * s[2],
        (2.0 * (yz - wx)) * s[2],
        (1.0 - 2.0 * (xx + yy)) * s[2],
        0.0,
        t[0],
        t[1],
        t[2],
        1.0,
    ]
}

#[inline(always)]
pub fn xform_point(m: &Mat4, p: V3) -> V3 {
    [
        m[0] * p[0] + m[4] * p[1] + m[8] * p[2] + m[12],
        m[1] * p[0] + m[5] * p[1] + m[9] * p[2] + m[13],
        m[2] * p[0] + m[6] * p[1] + m[10] * p[2] + m[14],
    ]
}

#[inline(always)]
pub fn xform_dir(m: &Mat4, p: V3) -> V3 {
    [
        m[0] * p[0] + m[4] * p[1] + m[8] * p[2],
        m[1] * p[0] + m[5] * p[1] + m[9] * p[2],
        m[2] * p[0] + m[6] * p[1] + m[10] * p[2],
    ]
}

/// Determinant of `m`'s upper-left 3×3 (column-major): negative for a mirroring transform.
pub fn det3(m: &Mat4) -> f32 {
    let c = |k: usize| [m[4 * k], m[4 * k + 1], m[4 * k + 2]];
    dot(c(0), cross(c(1), c(2)))
}

/// The matrix that carries normals through `m` when `m` is not conformal (a rotation, a
/// mirror and one scale for all axes keep angles, so `m` itself carries normals): the inverse
/// transpose of its 3×3, scaled by `|det|^(2/3)` so a conformal matrix would map to itself.
/// `None` when `m` is conformal (within 1e-4 of its own scale) or singular.
pub fn normal_matrix(m: &Mat4) -> Option<Mat4> {
    let c = |k: usize| [m[4 * k], m[4 * k + 1], m[4 * k + 2]];
    let (a, b, e) = (c(0), c(1), c(2));
    let (la, lb, le) = (dot(a, a), dot(b, b), dot(e, e));
    let s = la.max(lb).max(le);
    let tol = 1e-4 * s;
    let conformal = (la - lb).abs() <= tol
        && (la - le).abs() <= tol
        && dot(a, b).abs() <= tol
        && dot(a, e).abs() <= tol
        && dot(b, e).abs() <= tol;
    let det = det3(m);
    if conformal || !det.is_finite() || det.abs() <= f32::MIN_POSITIVE {
        return None;
    }
    // Inverse transpose = cofactor matrix / det; its columns are the cross products below.
    let k = det.abs().powf(2.0 / 3.0) / det;
    let (x, y, z) = (
        scale(cross(b, e), k),
        scale(cross(e, a), k),
        scale(cross(a, b), k),
    );
    Some([
        x[0], x[1], x[2], 0.0, y[0], y[1], y[2], 0.0, z[0], z[1], z[2], 0.0, 0.0, 0.0, 0.0, 1.0,
    ])
}

/// Inverse of an affine matrix (upper 3×3 any invertible linear map, last row 0 0 0 1); `None`
/// when singular or not finite.
pub fn affine_inverse(m: &Mat4) -> Option<Mat4> {
    let c = |k: usize| [m[4 * k], m[4 * k + 1], m[4 * k + 2]];
    let (a, b, e) = (c(0), c(1), c(2));
    let det = det3(m);
    if !det.is_finite() || det.abs() <= 1e-30 {
        return None;
    }
    // Rows of the inverse 3×3 are the cross products of the columns, over the determinant.
    let inv = 1.0 / det;
    let (r0, r1, r2) = (
        scale(cross(b, e), inv),
        scale(cross(e, a), inv),
        scale(cross(a, b), inv),
    );
    let t = [m[12], m[13], m[14]];
    let out = [
        r0[0],
        r1[0],
        r2[0],
        0.0,
        r0[1],
        r1[1],
        r2[1],
        0.0,
        r0[2],
        r1[2],
        r2[2],
        0.0,
        -dot(r0, t),
        -dot(r1, t),
        -dot(r2, t),
        1.0,
    ];
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// The shortest rotation carrying unit vector `a` onto unit vector `b` (a half turn about an
/// axis perpendicular to `a` when they are opposite).
pub fn quat_from_to(a: V3, b: V3) -> Quat {
    let d = dot(a, b);
    if d < -1.0 + 1e-6 {
        let axis = if a[0].abs() < 0.9 {
            cross(a, [1.0, 0.0, 0.0])
        } else {
            cross(a, [0.0, 1.0, 0.0])
        };
        let n = normalize(axis);
        return [n[0], n[1], n[2], 0.0];
    }
    let c = cross(a, b);
    quat_normalize([c[0], c[1], c[2], 1.0 + d])
}

pub fn quat_mul(a: Quat, b: Quat) -> Quat {
    [
        a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1],
        a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0],
        a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3],
        a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2],
    ]
}

pub fn quat_conj(q: Quat) -> Quat {
    [-q[0], -q[1], -q[2], q[3]]
}

pub fn quat_normalize(q: Quat) -> Quat {
    let l = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
    if l < 1e-12 || !l.is_finite() {
        [0.0, 0.0, 0.0, 1.0]
    } else {
        [q[0] / l, q[1] / l, q[2] / l, q[3] / l]
    }
}

pub fn quat_axis_angle(axis: V3, angle: f32) -> Quat {
    let (s, c) = (angle * 0.5).sin_cos();
    [axis[0] * s, axis[1] * s, axis[2] * s, c]
}

/// World-axis rotation: yaw about +Y, then pitch about +X, then roll about +Z (applied in that
/// order to a direction: `R = Ry * Rx * Rz`).
pub fn quat_ypr(yaw: f32, pitch: f32, roll: f32) -> Quat {
    let qy = quat_axis_angle([0.0, 1.0, 0.0], yaw);
    let qx = quat_axis_angle([1.0, 0.0, 0.0], pitch);
    let qz = quat_axis_angle([0.0, 0.0, 1.0], roll);
    quat_mul(quat_mul(qy, qx), qz)
}

/// Rotation part (as a quaternion) of a matrix whose upper 3×3 is rotation × scale.
pub fn quat_from_mat(m: &Mat4) -> Quat {
    let c0 = normalize([m[0], m[1], m[2]]);
    let c1 = normalize([m[4], m[5], m[6]]);
    let c2 = normalize([m[8], m[9], m[10]]);
    let (m00, m11, m22) = (c0[0], c1[1], c2[2]);
    let tr = m00 + m11 + m22;
    let q = if tr > 0.0 {
        let s = (tr + 1.0).sqrt() * 2.0;
        [
            (c1[2] - c2[1]) / s,
            (c2[0] - c0[2]) / s,
            (c0[1] - c1[0]) / s,
            0.25 * s,
        ]
    } else if m00 > m11 && m00 > m22 {
        let s = (1.0 + m00 - m11 - m22).sqrt() * 2.0;
        [
            0.25 * s,
            (c1[0] + c0[1]) / s,
            (c2[0] + c0[2]) / s,
            (c1[2] - c2[1]) / s,
        ]
    } else if m11 > m22 {
        let s = (1.0 + m11 - m00 - m22).sqrt() * 2.0;
        [
            (c1[0] + c0[1]) / s,
            0.25 * s,
            (c2[1] + c1[2]) / s,
            (c2[0] - c0[2]) / s,
        ]
    } else {
        let s = (1.0 + m22 - m00 - m11).sqrt() * 2.0;
        [
            (c2[0] + c0[2]) / s,
            (c2[1] + c1[2]) / s,
            0.25 * s,
            (c0[1] - c1[0]) / s,
        ]
    };
    quat_normalize(q)
}

/// Right-handed view matrix looking from `eye` at `target` with +Y up.
pub fn look_at(eye: V3, target: V3) -> (Mat4, [V3; 3]) {
    let f = normalize(sub(target, eye));
    let mut up = [0.0, 1.0, 0.0];
    if cross(f, up).iter().map(|v| v * v).sum::<f32>() < 1e-8 {
        up = [0.0, 0.0, -1.0];
    }
    let r = normalize(cross(f, up));
    let u = cross(r, f);
    let m = [
        r[0],
        u[0],
        -f[0],
        0.0,
        r[1],
        u[1],
        -f[1],
        0.0,
        r[2],
        u[2],
        -f[2],
        0.0,
        -dot(r, eye),
        -dot(u, eye),
        dot(f, eye),
        1.0,
    ];
    (m, [r, u, scale(f, -1.0)])
}

/// OpenGL-style perspective (clip w = view-space distance in front of the camera).
pub fn perspective(fov_y: f32, aspect: f32, near: f32, far: f32) -> Mat4 {
    let f = 1.0 / (fov_y * 0.5).tan();
    let mut m = [0.0f32; 16];
    m[0] = f / aspect;
    m[5] = f;
    m[10] = (far + near) / (near - far);
    m[11] = -1.0;
    m[14] = 2.0 * far * near / (near - far);
    m
}
