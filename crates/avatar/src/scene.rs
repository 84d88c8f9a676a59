//! Node hierarchy (matrix or TRS), scene roots and skins.

use crate::data::Data;
use crate::error::{invalid, Res};
use crate::gltf;
use facecast_core::model::{Mat4, Node, Skin, IDENTITY};

/// Decompose a column-major affine matrix into translation, rotation (x, y, z, w) and scale.
pub(crate) fn decompose(m: &[f32; 16]) -> ([f32; 3], [f32; 4], [f32; 3]) {
    let t = [m[12], m[13], m[14]];
    let col = |c: usize| [m[c * 4], m[c * 4 + 1], m[c * 4 + 2]];
    let len = |v: [f32; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    let (c0, c1, c2) = (col(0), col(1), col(2));
    let mut s = [len(c0), len(c1), len(c2)];
    let det = c0[0] * (c1[1] * c2[2] - c1[2] * c2[1]) - c1[0] * (c0[1] * c2[2] - c0[2] * c2[1])
        + c2[0] * (c0[1] * c1[2] - c0[2] * c1[1]);
    if det < 0.0 {
        s[0] = -s[0];
    }
    let safe = |v: [f32; 3], l: f32| {
        if l != 0.0 {
            [v[0] / l, v[1] / l, v[2] / l]
        } else {
            [0.0; 3]
        }
    };
    let (r0, r1, r2) = (safe(c0, s[0]), safe(c1, s[1]), safe(c2, s[2]));
    // rotation matrix R with columns r0 r1 r2; element R[row][col]
    let (m00, m10, m20) = (r0[0], r0[1], r0[2]);
    let (m01, m11, m21) = (r1[0], r1[1], r1[2]);
    let (m02, m12, m22) = (r2[0], r2[1], r2[2]);
    let trace = m00 + m11 + m22;
    let q = if trace > 0.0 {
        let s = (trace + 1.0).sqrt() * 2.0;
        [(m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s, 0.25 * s]
    } else if m00 > m11 && m00 > m22 {
        let s = (1.0 + m00 - m11 - m22).max(0.0).sqrt() * 2.0;
        [0.25 * s, (m01 + m10) / s, (m02 + m20) / s, (m21 - m12) / s]
    } else if m11 > m22 {
        let s = (1.0 + m11 - m00 - m22).max(0.0).sqrt() * 2.0;
        [(m01 + m10) / s, 0.25 * s, (m12 + m21) / s, (m02 - m20) / s]
    } else {
        let s = (1.0 + m22 - m00 - m11).max(0.0).sqrt() * 2.0;
        [(m02 + m20) / s, (m12 + m21) / s, 0.25 * s, (m10 - m01) / s]
    };
    let ql = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
    let q = if ql > 0.0 && ql.is_finite() {
        [q[0] / ql, q[1] / ql, q[2] / ql, q[3] / ql]
    } else {
        [0.0, 0.0, 0.0, 1.0]
    };
    (t, q, s)
}

/// Local matrix of a node (column-major).
pub(crate) fn local_matrix(n: &Node) -> Mat4 {
    let [x, y, z, w] = n.rotation;
    let (s, t) = (n.scale, n.translation);
    let r = [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y + z * w),
            2.0 * (x * z - y * w),
        ],
        [
            2.0 * (x * y - z * w),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z + x * w),
        ],
        [
            2.0 * (x * z + y * w),
            2.0 * (y * z - x * w),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ];
    let mut m = [0.0; 16];
    for c in 0..3 {
        for row in 0..3 {
            m[c * 4 + row] = r[c][row] * s[c];
        }
    }
    m[12] = t[0];
    m[13] = t[1];
    m[14] = t[2];
    m[15] = 1.0;
    m
}

fn mat_mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut r = [0.0; 16];
    for c in 0..4 {
        for row in 0..4 {
            r[c * 4 + row] = (0..4).map(|k| a[k * 4 + row] * b[c * 4 + k]).sum();
        }
    }
    r
}

/// World (rest pose) matrices of all nodes of a validated forest.
pub(crate) fn world_matrices(nodes: &[Node]) -> Vec<Mat4> {
    let mut world = vec![IDENTITY; nodes.len()];
    let mut stack: Vec<usize> = (0..nodes.len())
        .filter(|&i| nodes[i].parent.is_none())
        .collect();
    for &r in &stack {
        world[r] = local_matrix(&nodes[r]);
    }
    while let Some(i) = stack.pop() {
        for &c in &nodes[i].children {
            let c = c as usize;
            if let Some(n) = nodes.get(c) {
                world[c] = mat_mul(&world[i], &local_matrix(n));
                stack.push(c);
            }
        }
    }
    world
}

fn finite<const N: usize>(v: &[f32; N]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// Build the node list (validated forest) and the scene roots.
pub(crate) fn build_nodes(
    root: &gltf::Root,
    warnings: &mut Vec<String>,
) -> Res<(Vec<Node>, Vec<u32>)> {
    let n = root.nodes.len();
    if n > u32::MAX as usize {
        return Err(invalid!("too many nodes ({n})"));
    }
    let mut nodes: Vec<Node> = Vec::with_capacity(n);
    let mut bad_transforms = 0usize;
    for (i, g) in root.nodes.iter().enumerate() {
        let mut node = Node {
            name: g.name.clone().unwrap_or_default(),
            ..Default::default()
        };
        if let Some(m) = &g.matrix {
            if finite(m) {
                let (t, r, s) = decompose(m);
                node.translation = t;
                node.rotation = r;
                node.scale = s;
            } else {
                bad_transforms += 1;
            }
        } else {
            if let Some(t) = g.translation.filter(finite) {
                node.translation = t;
            }
            if let Some(r) = g.rotation.filter(finite) {
                let l = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2] + r[3] * r[3]).sqrt();
                if l > 1e-6 && l.is_finite() {
                    node.rotation = [r[0] / l, r[1] / l, r[2] / l, r[3] / l];
                } else {
                    bad_transforms += 1;
                }
            }
            if let Some(s) = g.scale.filter(finite) {
                node.scale = s;
            }
            if g.translation.is_some_and(|t| !finite(&t))
                || g.rotation.is_some_and(|t| !finite(&t))
                || g.scale.is_some_and(|t| !finite(&t))
            {
                bad_transforms += 1;
            }
        }
        if let Some(m) = g.mesh {
            if m >= root.meshes.len() {
                return Err(invalid!(
                    "node {i} refers to mesh {m}, which does not exist ({} meshes)",
                    root.meshes.len()
                ));
            }
            node.mesh = Some(m as u32);
        }
        if let Some(s) = g.skin {
            if s >= root.skins.len() {
                return Err(invalid!(
                    "node {i} refers to skin {s}, which does not exist ({} skins)",
                    root.skins.len()
                ));
            }
            node.skin = Some(s as u32);
        }
        nodes.push(node);
    }
    if bad_transforms > 0 {
        warnings.push(format!(
            "{bad_transforms} node transform(s) were not finite or degenerate and were reset"
        ));
    }
    for (i, g) in root.nodes.iter().enumerate() {
        for &c in &g.children {
            if c >= n {
                return Err(invalid!(
                    "node {i} has child {c}, which does not exist ({n} nodes)"
                ));
            }
            if c == i {
                return Err(invalid!("node {i} lists itself as a child"));
            }
            if let Some(p) = nodes[c].parent {
                if p as usize != i {
                    return Err(invalid!("node {c} has two parents ({p} and {i})"));
                }
                continue; // duplicate child entry
            }
            nodes[c].parent = Some(i as u32);
            nodes[i].children.push(c as u32);
        }
    }
    // every node must be reachable from a parentless node, otherwise there is a cycle
    let mut seen = vec![false; n];
    let mut stack: Vec<usize> = (0..n).filter(|&i| nodes[i].parent.is_none()).collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        stack.extend(nodes[i].children.iter().map(|&c| c as usize));
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(invalid!("node hierarchy has a cycle through node {i}"));
    }
    let roots: Vec<u32> = if root.scenes.is_empty() {
        (0..n)
            .filter(|&i| nodes[i].parent.is_none())
            .map(|i| i as u32)
            .collect()
    } else {
        let si = root.scene.unwrap_or(0);
        let scene = root
            .scenes
            .get(si)
            .ok_or_else(|| invalid!("scene {si} does not exist ({} scenes)", root.scenes.len()))?;
        let mut r = Vec::with_capacity(scene.nodes.len());
        for &i in &scene.nodes {
            if i >= n {
                return Err(invalid!(
                    "scene {si} refers to node {i}, which does not exist ({n} nodes)"
                ));
            }
            if !r.contains(&(i as u32)) {
                r.push(i as u32);
            }
        }
        r
    };
    Ok((nodes, roots))
}

/// Build skins (joints and inverse bind matrices).
pub(crate) fn build_skins(root: &gltf::Root, data: &Data<'_>) -> Res<Vec<Skin>> {
    let mut out = Vec::with_capacity(root.skins.len());
    for (si, s) in root.skins.iter().enumerate() {
        let mut joints = Vec::with_capacity(s.joints.len());
        for &j in &s.joints {
            if j >= root.nodes.len() {
                return Err(invalid!(
                    "skin {si} refers to joint node {j}, which does not exist ({} nodes)",
                    root.nodes.len()
                ));
            }
            joints.push(j as u32);
        }
        let inverse_bind: Vec<Mat4> = match s.inverse_bind_matrices {
            Some(a) => {
                data.expect_type(a, &["MAT4"], &format!("skin {si} inverseBindMatrices"))?;
                let (v, _) = data.read_f32(a)?;
                if v.len() / 16 < joints.len() {
                    return Err(invalid!(
                        "skin {si}: inverseBindMatrices accessor {a} has {} matrices for {} joints",
                        v.len() / 16,
                        joints.len()
                    ));
                }
                v.chunks_exact(16)
                    .take(joints.len())
                    .map(|c| {
                        let mut m = [0.0; 16];
                        m.copy_from_slice(c);
                        if finite(&m) {
                            m
                        } else {
                            IDENTITY
                        }
                    })
                    .collect()
            }
            None => vec![IDENTITY; joints.len()],
        };
        out.push(Skin {
            name: s.name.clone().unwrap_or_default(),
            joints,
            inverse_bind,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quat_to_mat(q: [f32; 4], t: [f32; 3], s: [f32; 3]) -> [f32; 16] {
        local_matrix(&Node {
            translation: t,
            rotation: q,
            scale: s,
            ..Default::default()
        })
    }

    #[test]
    fn decompose_roundtrips_trs() {
        let h = (0.5f32).sqrt();
        for (q, s) in [
            ([0.0, 0.0, 0.0, 1.0], [1.0, 2.0, 3.0]),
            ([h, 0.0, 0.0, h], [0.01, 0.01, 0.01]),
            ([0.0, 1.0, 0.0, 0.0], [2.0, 2.0, 2.0]),
            (
                [0.1825742, 0.3651484, 0.5477226, 0.7302967],
                [1.0, 0.5, 4.0],
            ),
        ] {
            let m = quat_to_mat(q, [1.0, -2.0, 3.0], s);
            let (t, r, sc) = decompose(&m);
            assert_eq!(t, [1.0, -2.0, 3.0]);
            for k in 0..3 {
                assert!((sc[k] - s[k]).abs() < 1e-5, "{sc:?} {s:?}");
            }
            let dot: f32 = (0..4).map(|k| r[k] * q[k]).sum();
            assert!(dot.abs() > 0.9999, "{r:?} vs {q:?}");
        }
    }
}
