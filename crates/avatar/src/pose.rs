//! Display rest pose: full-body rigs are usually authored in a T-pose, arms straight out. A
//! talking-head picture of a T-pose looks wrong, so at load time the upper arms of a skinned
//! humanoid in a T-pose are rotated down beside the body. The skin follows through the joints;
//! nothing else changes.

use facecast_core::model::Node;

/// Angle below horizontal the relaxed upper arms point to, in degrees.
const ARM_DOWN_DEG: f32 = 72.0;

type Q = [f32; 4];
type V = [f32; 3];

fn qmul(a: Q, b: Q) -> Q {
    [
        a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1],
        a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0],
        a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3],
        a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2],
    ]
}

fn qconj(q: Q) -> Q {
    [-q[0], -q[1], -q[2], q[3]]
}

fn qnorm(q: Q) -> Q {
    let n = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
    if n > 1e-12 && n.is_finite() {
        [q[0] / n, q[1] / n, q[2] / n, q[3] / n]
    } else {
        [0.0, 0.0, 0.0, 1.0]
    }
}

fn len(v: V) -> f32 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}
/// Shortest-arc rotation taking unit vector `a` to unit vector `b`.
fn arc(a: V, b: V) -> Q {
    let c = [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ];
    let d = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    qnorm([c[0], c[1], c[2], 1.0 + d])
}

/// World rotation and position of node `i`, from the loader's own node-hierarchy maths.
fn world(nodes: &[Node], i: usize) -> (Q, V) {
    let m = crate::scene::world_matrices(nodes)[i];
    let (t, r, _) = crate::scene::decompose(&m);
    (r, t)
}

/// Which side an upper-arm node name belongs to, if it is one.
fn upper_arm_side(name: &str) -> Option<bool> {
    let mut n: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    n.make_ascii_lowercase();
    for prefix in [
        "mixamorig",
        "bip001",
        "bip01",
        "jbip",
        "ccbase",
        "def",
        "armature",
    ] {
        if let Some(rest) = n.strip_prefix(prefix) {
            n = rest.to_string();
        }
    }
    const LEFT: &[&str] = &[
        "leftarm",
        "leftupperarm",
        "lupperarm",
        "upperarml",
        "upperarmleft",
        "larm",
    ];
    const RIGHT: &[&str] = &[
        "rightarm",
        "rightupperarm",
        "rupperarm",
        "upperarmr",
        "upperarmright",
        "rarm",
    ];
    if LEFT.contains(&n.as_str()) {
        Some(true)
    } else if RIGHT.contains(&n.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// Lower T-posed upper arms of skinned rigs. `joints` says which nodes are skin joints.
/// Returns the names of the nodes changed.
pub fn relax_arms(nodes: &mut [Node], is_joint: &[bool]) -> Vec<String> {
    let mut changed = Vec::new();
    for i in 0..nodes.len() {
        if !is_joint.get(i).copied().unwrap_or(false) || upper_arm_side(&nodes[i].name).is_none() {
            continue;
        }
        // The arm's direction: from this joint to its first child joint (the forearm).
        let Some(&child) = nodes[i]
            .children
            .iter()
            .find(|&&c| is_joint.get(c as usize).copied().unwrap_or(false))
        else {
            continue;
        };
        let (_, a) = world(nodes, i);
        let (_, b) = world(nodes, child as usize);
        let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let l = len(d);
        if l.is_nan() || l <= 1e-6 {
            continue;
        }
        let dir = [d[0] / l, d[1] / l, d[2] / l];
        // Only a T-pose: the arm points sideways, roughly horizontal.
        if dir[1].abs() > 0.5 || dir[0].abs() < 0.7 {
            continue;
        }
        let down = ARM_DOWN_DEG.to_radians();
        let target = [dir[0].signum() * down.cos(), -down.sin(), 0.0];
        let turn = arc(dir, target);
        // World-axis rotation at the node, expressed in its parent's frame.
        let parent_rot = match nodes[i].parent {
            Some(p) if (p as usize) < nodes.len() => world(nodes, p as usize).0,
            _ => [0.0, 0.0, 0.0, 1.0],
        };
        let local = qmul(qmul(qconj(parent_rot), turn), parent_rot);
        nodes[i].rotation = qnorm(qmul(local, nodes[i].rotation));
        changed.push(nodes[i].name.clone());
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(upper_arm_side("LeftArm"), Some(true));
        assert_eq!(upper_arm_side("mixamorig:RightArm"), Some(false));
        assert_eq!(upper_arm_side("Bip01 L UpperArm"), Some(true));
        assert_eq!(upper_arm_side("J_Bip_R_UpperArm"), Some(false));
        assert_eq!(upper_arm_side("LeftForeArm"), None);
        assert_eq!(upper_arm_side("LeftHand"), None);
    }

    #[test]
    fn t_pose_arm_is_lowered_and_children_follow() {
        let mut nodes = vec![
            Node {
                name: "Spine".into(),
                children: vec![1],
                ..Default::default()
            },
            Node {
                name: "LeftArm".into(),
                parent: Some(0),
                children: vec![2],
                translation: [0.2, 1.4, 0.0],
                ..Default::default()
            },
            Node {
                name: "LeftForeArm".into(),
                parent: Some(1),
                translation: [0.3, 0.0, 0.0],
                ..Default::default()
            },
        ];
        let changed = relax_arms(&mut nodes, &[true, true, true]);
        assert_eq!(changed, vec!["LeftArm".to_string()]);
        let (_, a) = world(&nodes, 1);
        let (_, b) = world(&nodes, 2);
        assert!(
            b[1] < a[1] - 0.25,
            "forearm should now hang below the shoulder: {a:?} {b:?}"
        );
        assert!(b[0] > a[0], "and stay on its own side");
        // An arm already down is left alone.
        let again = relax_arms(&mut nodes, &[true, true, true]);
        assert!(again.is_empty());
    }
}
