//! VRM node constraints (`VRMC_node_constraint`), evaluated after the head, eye and jaw pose
//! and before the spring bones, in the loader's dependency order.
//!
//! A node's local rotation is its rest rotation followed by the scene's extra rotation
//! (`rest · extra`), so "the source's rotation from its rest" is the source's extra rotation,
//! and a constraint writes the destination's extra rotation. The formulas are the
//! specification's (and three-vrm's):
//! - rotation: `extra_dst = slerp(1, extra_src, weight)`;
//! - roll: the source's change of rotation, seen in the destination's rest frame
//!   (`q = dstRest⁻¹ · srcRest · extra_src · srcRest⁻¹ · dstRest`), keeps only its turn about the
//!   roll axis (`fromTo(q·axis → axis) · q`, the twist of a swing-twist split);
//! - aim: the smallest world rotation that points the destination's axis (as its parent's current
//!   pose and its rest rotation turn it) at the source's origin, moved into the destination's
//!   local frame.
//!
//! Aim constraints read world matrices: the paths from the root to their source and to their
//! destination's parent are refreshed first (in a scratch list sized at construction, so
//! nothing is allocated per frame).

use crate::math::*;
use crate::scene::{parent_of, refresh_world};
use facecast_core::model::{Avatar, ConstraintKind, Mat4, NodeConstraint};

/// The rotation `q` scaled to `w` of its angle (slerp from the identity), shortest way round.
fn partial(q: Quat, w: f32) -> Quat {
    if w >= 1.0 {
        return q;
    }
    let q = if q[3] < 0.0 { q.map(|c| -c) } else { q };
    let s = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2]).sqrt();
    if s < 1e-9 {
        return [0.0, 0.0, 0.0, 1.0];
    }
    let angle = 2.0 * s.atan2(q[3]);
    quat_axis_angle([q[0] / s, q[1] / s, q[2] / s], angle * w.max(0.0))
}

/// `v` turned by the unit quaternion `q`.
fn rotate(q: Quat, v: V3) -> V3 {
    let u = [q[0], q[1], q[2]];
    let t = scale(cross(u, v), 2.0);
    add(add(v, scale(t, q[3])), cross(u, t))
}

fn rest(av: &Avatar, i: u32) -> Quat {
    quat_normalize(av.nodes[i as usize].rotation)
}

/// Recompute the world matrices from the root down to node `i` (the rest of the tree is left
/// as it was); `path` is scratch space.
fn refresh_path(av: &Avatar, world: &mut [Mat4], extra: &[Quat], path: &mut Vec<u32>, i: usize) {
    path.clear();
    let mut k = i;
    path.push(k as u32);
    while let Some(p) = parent_of(av, k) {
        if path.len() >= av.nodes.len() {
            break; // a parent loop
        }
        path.push(p as u32);
        k = p;
    }
    for &n in path.iter().rev() {
        refresh_world(av, world, extra, n as usize);
    }
}

/// Evaluate `av.constraints` in order: write each destination's extra rotation.
pub(crate) fn apply(av: &Avatar, world: &mut [Mat4], extra: &mut [Quat], path: &mut Vec<u32>) {
    for c in &av.constraints {
        let q = target(av, c, world, extra, path);
        extra[c.node as usize] = partial(q, c.weight);
    }
}

/// The destination's extra rotation at full weight.
fn target(
    av: &Avatar,
    c: &NodeConstraint,
    world: &mut [Mat4],
    extra: &[Quat],
    path: &mut Vec<u32>,
) -> Quat {
    let (src, dst) = (c.source as usize, c.node as usize);
    match c.kind {
        ConstraintKind::Rotation => extra[src],
        ConstraintKind::Roll { axis } => {
            let (sr, dr) = (rest(av, c.source), rest(av, c.node));
            let in_parent = quat_mul(quat_mul(sr, extra[src]), quat_conj(sr));
            let q = quat_normalize(quat_mul(quat_mul(quat_conj(dr), in_parent), dr));
            let mut a = [0.0; 3];
            a[axis.min(2) as usize] = 1.0;
            quat_mul(quat_from_to(rotate(q, a), a), q)
        }
        ConstraintKind::Aim { axis } => {
            let dr = rest(av, c.node);
            let t = av.nodes[dst].translation;
            refresh_path(av, world, extra, path, src);
            let from_src = [world[src][12], world[src][13], world[src][14]];
            let (p, dst_pos) = match parent_of(av, dst) {
                Some(pi) => {
                    refresh_path(av, world, extra, path, pi);
                    (quat_from_mat(&world[pi]), xform_point(&world[pi], t))
                }
                None => ([0.0, 0.0, 0.0, 1.0], t),
            };
            let to = sub(from_src, dst_pos);
            if length(to) < 1e-9 || !length(to).is_finite() {
                return [0.0, 0.0, 0.0, 1.0];
            }
            let pd = quat_mul(p, dr);
            let f = quat_from_to(rotate(pd, axis), normalize(to));
            // dstRest⁻¹ · P⁻¹ · F · P · dstRest
            quat_normalize(quat_mul(quat_mul(quat_conj(pd), f), pd))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::Scene;
    use facecast_core::model::Node;
    use facecast_core::HeadPose;

    fn node(name: &str, parent: Option<u32>, t: V3) -> Node {
        Node {
            name: name.into(),
            parent,
            translation: t,
            ..Default::default()
        }
    }

    /// Root → head (humanoid head, 1.5 m up); root → follower (0.2 m right of the head, with
    /// a rest rotation of 90° about z); head → marker (0.3 m above the head).
    fn avatar(kind: ConstraintKind, source: u32, weight: f32) -> Avatar {
        let mut nodes = vec![
            node("root", None, [0.0; 3]),
            node("head", Some(0), [0.0, 1.5, 0.0]),
            node("follower", Some(0), [0.2, 1.5, 0.0]),
            node("marker", Some(1), [0.0, 0.3, 0.0]),
        ];
        nodes[0].children = vec![1, 2];
        nodes[1].children = vec![3];
        nodes[2].rotation = quat_axis_angle([0.0, 0.0, 1.0], std::f32::consts::FRAC_PI_2);
        let mut av = Avatar {
            nodes,
            roots: vec![0],
            constraints: vec![NodeConstraint {
                node: 2,
                source,
                weight,
                kind,
            }],
            ..Default::default()
        };
        av.humanoid.head = Some(1);
        av
    }

    fn posed(av: &Avatar, yaw: f32, pitch: f32, roll: f32) -> Scene {
        let mut s = Scene::new(av);
        let pose = HeadPose {
            head: [yaw, pitch, roll],
            eyes: [0.0; 2],
        };
        s.update(av, &pose, 0.0, true, None);
        s
    }

    fn angle_between(a: Quat, b: Quat) -> f32 {
        let d = quat_mul(quat_conj(a), b);
        2.0 * (d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
            .sqrt()
            .atan2(d[3].abs())
    }

    /// World rotation of node `i`.
    fn rot(s: &Scene, i: usize) -> Quat {
        quat_from_mat(&s.world[i])
    }

    #[test]
    fn rotation_constraint_copies_the_head_turn_scaled_by_weight() {
        let av = avatar(ConstraintKind::Rotation, 1, 1.0);
        let s = posed(&av, 0.5, 0.2, -0.3);
        // The follower turns in the world exactly as the head does (both rest at identity in
        // the root's frame, the follower's own rest rotation applied first).
        let want = quat_mul(av.nodes[2].rotation, rot(&s, 1));
        assert!(angle_between(rot(&s, 2), want) < 1e-4);
        let half = posed(&avatar(ConstraintKind::Rotation, 1, 0.5), 0.5, 0.0, 0.0);
        let turned = angle_between(rot(&half, 2), av.nodes[2].rotation);
        assert!(
            (turned - 0.25).abs() < 1e-4,
            "half weight turned {turned} rad"
        );
        let none = posed(&avatar(ConstraintKind::Rotation, 1, 0.0), 0.5, 0.0, 0.0);
        assert!(angle_between(rot(&none, 2), av.nodes[2].rotation) < 1e-6);
    }

    #[test]
    fn roll_constraint_keeps_only_the_turn_about_its_axis() {
        // The follower's rest is turned 90° about z, so its local X axis is the world's Y:
        // rolling about X follows the head's yaw and ignores its roll and pitch.
        let av = avatar(ConstraintKind::Roll { axis: 0 }, 1, 1.0);
        let s = posed(&av, 0.5, 0.0, 0.4);
        let want = quat_mul(quat_axis_angle([0.0, 1.0, 0.0], 0.5), av.nodes[2].rotation);
        let err = angle_between(rot(&s, 2), want);
        assert!(err < 1e-4, "yaw + roll: {err} rad off a pure yaw");
        for (pitch, roll) in [(0.3, 0.0), (0.0, 0.4)] {
            let s = posed(&av, 0.0, pitch, roll);
            let err = angle_between(rot(&s, 2), av.nodes[2].rotation);
            assert!(
                err < 1e-4,
                "pitch {pitch} roll {roll} moved it by {err} rad"
            );
        }
        // About its Y axis (the world's -X) it follows pitch.
        let av = avatar(ConstraintKind::Roll { axis: 1 }, 1, 1.0);
        let s = posed(&av, 0.0, 0.3, 0.0);
        let want = quat_mul(quat_axis_angle([1.0, 0.0, 0.0], 0.3), av.nodes[2].rotation);
        assert!(angle_between(rot(&s, 2), want) < 1e-4);
    }

    #[test]
    fn aim_constraint_points_its_axis_at_the_source() {
        // The follower's +Y (world -X at rest) aims at the marker above the head.
        let av = avatar(
            ConstraintKind::Aim {
                axis: [0.0, 1.0, 0.0],
            },
            3,
            1.0,
        );
        for (yaw, pitch, roll) in [(0.0, 0.0, 0.0), (0.4, 0.2, 0.3), (-0.6, -0.3, 0.1)] {
            let s = posed(&av, yaw, pitch, roll);
            let m = &s.world[3];
            let f = &s.world[2];
            let to = normalize(sub([m[12], m[13], m[14]], [f[12], f[13], f[14]]));
            let y = normalize(xform_dir(f, [0.0, 1.0, 0.0]));
            assert!(
                dot(y, to) > 1.0 - 1e-5,
                "pose {yaw} {pitch} {roll}: {y:?} vs {to:?}"
            );
        }
        // Below the turning head (its parent's world rotation counts), aiming its -Z at a
        // fixed point beside the head.
        let mut av = avatar(ConstraintKind::Rotation, 1, 0.0);
        av.nodes.push(node("ear", Some(1), [0.1, 0.0, 0.0]));
        av.nodes[4].rotation = quat_axis_angle([1.0, 0.0, 0.0], 0.7);
        av.nodes[1].children.push(4);
        av.constraints = vec![NodeConstraint {
            node: 4,
            source: 2,
            weight: 1.0,
            kind: ConstraintKind::Aim {
                axis: [0.0, 0.0, -1.0],
            },
        }];
        for (yaw, pitch, roll) in [(0.0, 0.0, 0.0), (0.4, 0.2, 0.3), (-0.6, -0.3, 0.1)] {
            let s = posed(&av, yaw, pitch, roll);
            let (m, f) = (&s.world[2], &s.world[4]);
            let to = normalize(sub([m[12], m[13], m[14]], [f[12], f[13], f[14]]));
            let z = normalize(xform_dir(f, [0.0, 0.0, -1.0]));
            assert!(
                dot(z, to) > 1.0 - 1e-5,
                "pose {yaw} {pitch} {roll}: {z:?} vs {to:?}"
            );
        }
    }

    #[test]
    fn constraints_run_in_order_and_paths_are_refreshed() {
        // A second follower copies the first one's rotation: it turns with the head too.
        let mut av = avatar(ConstraintKind::Rotation, 1, 1.0);
        av.nodes.push(node("second", Some(0), [-0.2, 1.5, 0.0]));
        av.nodes[0].children.push(4);
        av.constraints.push(NodeConstraint {
            node: 4,
            source: 2,
            weight: 1.0,
            kind: ConstraintKind::Rotation,
        });
        let s = posed(&av, 0.5, 0.0, 0.0);
        assert!(angle_between(rot(&s, 4), quat_axis_angle([0.0, 1.0, 0.0], 0.5)) < 1e-4);
        // An aim at a node below a constrained one sees it where the constraint put it.
        let mut av = avatar(ConstraintKind::Rotation, 1, 1.0);
        av.nodes.push(node("tip", Some(2), [0.0, 0.3, 0.0]));
        av.nodes[2].children.push(4);
        av.nodes.push(node("aimer", Some(0), [0.0, 1.0, 0.3]));
        av.nodes[0].children.push(5);
        av.constraints.push(NodeConstraint {
            node: 5,
            source: 4,
            weight: 1.0,
            kind: ConstraintKind::Aim {
                axis: [0.0, 0.0, 1.0],
            },
        });
        let s = posed(&av, 0.0, 0.0, 0.6);
        let (t, a) = (&s.world[4], &s.world[5]);
        let to = normalize(sub([t[12], t[13], t[14]], [a[12], a[13], a[14]]));
        assert!(dot(normalize(xform_dir(a, [0.0, 0.0, 1.0])), to) > 1.0 - 1e-5);
    }

    #[test]
    fn partial_scales_the_angle() {
        let q = quat_axis_angle([0.0, 0.0, 1.0], 1.0);
        let h = partial(q, 0.25);
        let turned = angle_between(h, [0.0, 0.0, 0.0, 1.0]);
        assert!(
            (turned - 0.25).abs() < 1e-5,
            "quarter weight turned {turned} rad"
        );
        // Shortest way: -q is the same rotation.
        let h2 = partial(q.map(|c| -c), 0.25);
        assert!(angle_between(h, h2) < 1e-5);
        assert_eq!(partial(q, 1.0), q);
    }
}
