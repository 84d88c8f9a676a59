//! VRM spring bones: VRM 1.0's `VRMC_springBone` extension and VRM 0.x's
//! `VRM.secondaryAnimation`, read into [`SpringBones`] with every index checked, so that the
//! renderer's simulation never meets a node that does not exist, a tail that is not below its
//! joint, or a node simulated twice.

use crate::gltf;
use crate::vrm::arr;
use facecast_core::model::{
    ColliderShape, Node, SpringBones, SpringChain, SpringCollider, SpringJoint, SpringTail,
};
use serde_json::Value;

/// At most this many joints, colliders and collider groups are read (a VRoid avatar has a few
/// hundred joints and tens of colliders); the rest are dropped with a warning.
const MAX_JOINTS: usize = 4096;
const MAX_COLLIDERS: usize = 1024;
const MAX_GROUPS: usize = 1024;
/// Length of the tail VRM 0.x gives joints without children.
const V0_END_TAIL: f32 = 0.07;

/// What went wrong while reading, counted for one warning each.
#[derive(Default)]
struct Problems {
    bad_nodes: usize,
    bad_refs: usize,
    not_below: usize,
    duplicates: usize,
    bad_shapes: usize,
    over_limit: usize,
}

fn node_of(v: Option<&Value>, nodes: &[Node]) -> Option<u32> {
    v.and_then(Value::as_u64)
        .filter(|&i| (i as usize) < nodes.len())
        .map(|i| i as u32)
}

/// Three finite numbers from a JSON array (`[x, y, z]`) or object (`{x, y, z}`, VRM 0.x).
fn vec3(v: Option<&Value>) -> Option<[f32; 3]> {
    let v = v?;
    let get = |x: Option<&Value>| x.and_then(Value::as_f64).filter(|x| x.is_finite());
    let r = if let Some(a) = v.as_array() {
        [get(a.first())?, get(a.get(1))?, get(a.get(2))?]
    } else {
        [get(v.get("x"))?, get(v.get("y"))?, get(v.get("z"))?]
    };
    Some(r.map(|x| x as f32))
}

/// A finite, non-negative number, or `default` when absent or malformed.
fn param(v: Option<&Value>, default: f32) -> f32 {
    match v.and_then(Value::as_f64) {
        Some(x) if x.is_finite() => (x as f32).max(0.0),
        _ => default,
    }
}

fn unit_or_down(d: Option<[f32; 3]>) -> [f32; 3] {
    let d = d.unwrap_or([0.0, -1.0, 0.0]);
    let l = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
    if l > 1e-6 && l.is_finite() {
        d.map(|x| x / l)
    } else {
        [0.0, -1.0, 0.0]
    }
}

fn is_below(nodes: &[Node], mut n: u32, anc: u32) -> bool {
    for _ in 0..nodes.len().min(4096) {
        match nodes[n as usize].parent {
            Some(p) if p == anc => return true,
            Some(p) if (p as usize) < nodes.len() => n = p,
            _ => return false,
        }
    }
    false
}

/// Joint settings shared by a VRM 0.x bone group, or read per joint in VRM 1.0.
struct Settings {
    hit_radius: f32,
    stiffness: f32,
    gravity_power: f32,
    gravity_dir: [f32; 3],
    drag: f32,
}

impl Settings {
    /// A VRM 1.0 joint's settings, or a VRM 0.x bone group's (whose stiffness is spelled
    /// `stiffiness` and whose drag defaults to 0.4, as UniVRM's).
    fn read(v: &Value, stiffness: &str, default_drag: f32) -> Settings {
        Settings {
            hit_radius: param(v.get("hitRadius"), 0.0),
            stiffness: param(v.get(stiffness), 1.0),
            gravity_power: param(v.get("gravityPower"), 0.0),
            gravity_dir: unit_or_down(vec3(v.get("gravityDir"))),
            drag: param(v.get("dragForce"), default_drag),
        }
    }

    fn joint(&self, node: u32, tail: SpringTail) -> SpringJoint {
        SpringJoint {
            node,
            tail,
            hit_radius: self.hit_radius,
            stiffness: self.stiffness,
            gravity_power: self.gravity_power,
            gravity_dir: self.gravity_dir,
            drag: self.drag.clamp(0.0, 1.0),
        }
    }
}

/// The extension holding inside and plane colliders.
pub(crate) const EXTENDED_COLLIDER: &str = "VRMC_springBone_extended_collider";

/// A `VRMC_springBone` collider shape: a sphere or a capsule.
fn shape_of(shape: &Value) -> Option<ColliderShape> {
    if let Some(s) = shape.get("sphere") {
        return Some(ColliderShape::Sphere {
            offset: vec3(s.get("offset")).unwrap_or([0.0; 3]),
            radius: param(s.get("radius"), 0.0),
        });
    }
    shape.get("capsule").map(|s| ColliderShape::Capsule {
        offset: vec3(s.get("offset")).unwrap_or([0.0; 3]),
        radius: param(s.get("radius"), 0.0),
        tail: vec3(s.get("tail")).unwrap_or([0.0; 3]),
    })
}

/// A `VRMC_springBone_extended_collider` shape: a sphere or capsule (`inside` or not) or a
/// plane (its normal must not be zero).
fn extended_shape(shape: &Value) -> Option<ColliderShape> {
    let inside = |s: &Value| s.get("inside").and_then(Value::as_bool) == Some(true);
    if let Some(p) = shape.get("plane") {
        let n = vec3(p.get("normal")).unwrap_or([0.0, 0.0, 1.0]);
        let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        return (l > 1e-6 && l.is_finite()).then(|| ColliderShape::Plane {
            offset: vec3(p.get("offset")).unwrap_or([0.0; 3]),
            normal: n.map(|x| x / l),
        });
    }
    match shape_of(shape)? {
        ColliderShape::Sphere { offset, radius } if shape.get("sphere").is_some_and(inside) => {
            Some(ColliderShape::InsideSphere { offset, radius })
        }
        ColliderShape::Capsule {
            offset,
            radius,
            tail,
        } if shape.get("capsule").is_some_and(inside) => Some(ColliderShape::InsideCapsule {
            offset,
            radius,
            tail,
        }),
        s => Some(s),
    }
}

/// Read the spring bones of a VRM file (`nodes`: the avatar's nodes, indexed as the file's).
pub(crate) fn read(root: &gltf::Root, nodes: &[Node], warnings: &mut Vec<String>) -> SpringBones {
    let mut out = SpringBones::default();
    let mut p = Problems::default();
    let Some(ext) = root.extensions.as_ref() else {
        return out;
    };
    if let Some(sb) = ext.get("VRMC_springBone") {
        read_v1(sb, nodes, &mut out, &mut p);
    } else if let Some(sa) = ext.get("VRM").and_then(|v| v.get("secondaryAnimation")) {
        read_v0(sa, nodes, &mut out, &mut p);
    }
    // Every simulated node once: later chains lose joints an earlier chain already has.
    let mut seen = vec![false; nodes.len()];
    for c in &mut out.chains {
        c.joints.retain(|j| {
            let dup = std::mem::replace(&mut seen[j.node as usize], true);
            p.duplicates += dup as usize;
            !dup
        });
    }
    out.chains.retain(|c| !c.joints.is_empty());
    let mut total = 0usize;
    for c in &mut out.chains {
        let room = MAX_JOINTS.saturating_sub(total);
        if c.joints.len() > room {
            p.over_limit += c.joints.len() - room;
            c.joints.truncate(room);
        }
        total += c.joints.len();
    }
    out.chains.retain(|c| !c.joints.is_empty());
    crate::error::left_out(
        warnings,
        "spring bones",
        &[
            (p.bad_nodes, "name a node that does not exist"),
            (
                p.bad_refs,
                "name a collider or collider group that does not exist",
            ),
            (
                p.not_below,
                "joint(s) are not below the previous joint of their chain",
            ),
            (
                p.duplicates,
                "joint(s) already simulated by an earlier chain",
            ),
            (
                p.bad_shapes,
                "collider(s) have no sphere, capsule or plane shape",
            ),
            (
                p.over_limit,
                "joint(s), collider(s) or group(s) over the reader's limits",
            ),
        ],
    );
    out
}

fn groups(v: Option<&Value>, n_groups: usize, p: &mut Problems) -> Vec<u32> {
    let mut g = Vec::new();
    for x in arr(v) {
        match x.as_u64().filter(|&i| (i as usize) < n_groups) {
            Some(i) if !g.contains(&(i as u32)) => g.push(i as u32),
            Some(_) => {}
            None => p.bad_refs += 1,
        }
    }
    g
}

fn read_v1(sb: &Value, nodes: &[Node], out: &mut SpringBones, p: &mut Problems) {
    // Collider indices in the file -> index in `out.colliders` (malformed ones are skipped).
    let mut col_index: Vec<Option<u32>> = Vec::new();
    for c in arr(sb.get("colliders")) {
        if out.colliders.len() >= MAX_COLLIDERS {
            p.over_limit += 1;
            col_index.push(None);
            continue;
        }
        let Some(node) = node_of(c.get("node"), nodes) else {
            p.bad_nodes += 1;
            col_index.push(None);
            continue;
        };
        // An extended shape (inside sphere or capsule, plane) replaces the fallback shape.
        let extended = c
            .get("extensions")
            .and_then(|e| e.get(EXTENDED_COLLIDER))
            .and_then(|e| e.get("shape"));
        let shape = match extended {
            Some(s) => extended_shape(s),
            None => c.get("shape").and_then(shape_of),
        };
        match shape {
            Some(shape) => {
                col_index.push(Some(out.colliders.len() as u32));
                out.colliders.push(SpringCollider { node, shape });
            }
            None => {
                p.bad_shapes += 1;
                col_index.push(None);
            }
        }
    }
    for g in arr(sb.get("colliderGroups")) {
        if out.groups.len() >= MAX_GROUPS {
            p.over_limit += 1;
            continue;
        }
        let mut members = Vec::new();
        for c in arr(g.get("colliders")) {
            match c
                .as_u64()
                .and_then(|i| col_index.get(i as usize).copied().flatten())
            {
                Some(i) => members.push(i),
                None => p.bad_refs += 1,
            }
        }
        out.groups.push(members);
    }
    for s in arr(sb.get("springs")) {
        let joints: Vec<&Value> = arr(s.get("joints")).collect();
        let mut chain = SpringChain {
            name: s
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            joints: Vec::new(),
            groups: groups(s.get("colliderGroups"), out.groups.len(), p),
            center: node_of(s.get("center"), nodes),
        };
        if s.get("center").is_some() && chain.center.is_none() {
            p.bad_nodes += 1;
        }
        // Pairs of consecutive joints: the first rotates, the second is its tail. The last
        // joint is only a tail; its settings are not used.
        let mut prev: Option<(u32, &Value)> = None;
        for j in joints {
            let Some(node) = node_of(j.get("node"), nodes) else {
                p.bad_nodes += 1;
                break;
            };
            if let Some((head, hj)) = prev {
                if !is_below(nodes, node, head) {
                    p.not_below += 1;
                    break;
                }
                let set = Settings::read(hj, "stiffness", 0.5);
                chain.joints.push(set.joint(head, SpringTail::Node(node)));
            }
            prev = Some((node, j));
        }
        out.chains.push(chain);
    }
}

fn read_v0(sa: &Value, nodes: &[Node], out: &mut SpringBones, p: &mut Problems) {
    // Each 0.x collider group is a node with spheres; offsets' z is mirrored against glTF.
    for g in arr(sa.get("colliderGroups")) {
        if out.groups.len() >= MAX_GROUPS {
            p.over_limit += 1;
            continue;
        }
        let node = node_of(g.get("node"), nodes);
        let mut members = Vec::new();
        for c in arr(g.get("colliders")) {
            let Some(node) = node else {
                p.bad_nodes += 1;
                break;
            };
            if out.colliders.len() >= MAX_COLLIDERS {
                p.over_limit += 1;
                continue;
            }
            let [x, y, z] = vec3(c.get("offset")).unwrap_or([0.0; 3]);
            members.push(out.colliders.len() as u32);
            out.colliders.push(SpringCollider {
                node,
                shape: ColliderShape::Sphere {
                    offset: [x, y, -z],
                    radius: param(c.get("radius"), 0.0),
                },
            });
        }
        out.groups.push(members);
    }
    let mut total = 0usize;
    for bg in arr(sa.get("boneGroups")) {
        let set = Settings::read(bg, "stiffiness", 0.4);
        // `center: -1` is "none".
        let center = node_of(bg.get("center"), nodes);
        let col_groups = groups(bg.get("colliderGroups"), out.groups.len(), p);
        let name = bg
            .get("comment")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        // Every root and every node below it swings, each toward its first child (or 7 cm
        // along its own bone when it has none); one chain per root, parents first.
        for r in arr(bg.get("bones")) {
            let Some(root) = node_of(Some(r), nodes) else {
                p.bad_nodes += 1;
                continue;
            };
            if total >= MAX_JOINTS {
                p.over_limit += 1;
                continue;
            }
            let mut chain = SpringChain {
                name: name.clone(),
                joints: Vec::new(),
                groups: col_groups.clone(),
                center,
            };
            let mut stack = vec![root];
            while let Some(n) = stack.pop() {
                if total >= MAX_JOINTS {
                    p.over_limit += 1;
                    break;
                }
                let nd = &nodes[n as usize];
                let kids: Vec<u32> = nd
                    .children
                    .iter()
                    .copied()
                    .filter(|&c| (c as usize) < nodes.len() && nodes[c as usize].parent == Some(n))
                    .collect();
                let tail = match kids.first() {
                    Some(&c) => Some(SpringTail::Node(c)),
                    None => {
                        let t = nd.translation;
                        let l = (t[0] * t[0] + t[1] * t[1] + t[2] * t[2]).sqrt();
                        (l > 1e-6 && l.is_finite())
                            .then(|| SpringTail::Local(t.map(|x| x / l * V0_END_TAIL)))
                    }
                };
                if let Some(tail) = tail {
                    chain.joints.push(set.joint(n, tail));
                    total += 1;
                }
                stack.extend(kids.iter().rev());
            }
            out.chains.push(chain);
        }
    }
}
