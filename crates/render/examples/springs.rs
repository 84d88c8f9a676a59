//! What VRM spring bones cost per frame: a head with chains of hair joints (a VRoid avatar has
//! ~100-300 joints and ~10-30 colliders), the head turning every frame at 25 fps, so each frame
//! runs 2-3 simulation steps, poses the nodes and computes the joint matrices. Prints µs per
//! frame (CPU time of this thread), with every tail tested against every collider and with no
//! colliders.
//!
//! `cargo run --release -p facecast-render --example springs [FRAMES]`

use std::sync::Arc;

use facecast_core::model::{
    Avatar, ColliderShape, ConstraintKind, Mesh, Node, NodeConstraint, Primitive, SpringBones,
    SpringChain, SpringCollider, SpringJoint, SpringTail,
};
use facecast_core::HeadPose;
use facecast_render::{RenderConfig, Renderer};

/// `chains` chains of `per_chain` joints around a head, `colliders` colliders (spheres and
/// capsules) on the head, every chain against all of them.
fn hair(chains: usize, per_chain: usize, colliders: usize) -> Avatar {
    let mut nodes = vec![Node {
        name: "head".into(),
        translation: [0.0, 1.5, 0.0],
        mesh: Some(0),
        ..Default::default()
    }];
    let mut out = Vec::new();
    for c in 0..chains {
        let a = c as f32 / chains as f32 * std::f32::consts::TAU;
        let mut joints = Vec::new();
        let mut parent = 0u32;
        for k in 0..=per_chain {
            let i = nodes.len() as u32;
            nodes.push(Node {
                name: format!("hair{c}_{k}"),
                parent: Some(parent),
                translation: if k == 0 {
                    [0.09 * a.cos(), 0.05, 0.09 * a.sin()]
                } else {
                    [0.0, -0.03, 0.0]
                },
                ..Default::default()
            });
            nodes[parent as usize].children.push(i);
            if k > 0 {
                joints.push(SpringJoint {
                    node: parent,
                    tail: SpringTail::Node(i),
                    hit_radius: 0.02,
                    stiffness: 1.0,
                    gravity_power: 0.2,
                    gravity_dir: [0.0, -1.0, 0.0],
                    drag: 0.4,
                });
            }
            parent = i;
        }
        out.push(SpringChain {
            name: String::new(),
            joints,
            groups: vec![0],
            center: None,
        });
    }
    let n_colliders = colliders as u32;
    let colliders = (0..colliders)
        .map(|k| SpringCollider {
            node: 0,
            shape: if k % 2 == 0 {
                ColliderShape::Sphere {
                    offset: [0.0, 0.0, 0.0],
                    radius: 0.09,
                }
            } else {
                ColliderShape::Capsule {
                    offset: [0.0, -0.1, 0.0],
                    radius: 0.05,
                    tail: [0.0, -0.3, 0.0],
                }
            },
        })
        .collect();
    let tri = Primitive {
        positions: vec![[0.0, 0.0, 0.0], [0.01, 0.0, 0.0], [0.0, 0.01, 0.0]],
        normals: vec![[0.0, 0.0, 1.0]; 3],
        indices: vec![0, 1, 2],
        ..Default::default()
    };
    Avatar {
        name: "hair".into(),
        nodes,
        roots: vec![0],
        meshes: vec![Mesh {
            primitives: vec![tri],
            ..Default::default()
        }],
        springs: SpringBones {
            chains: out,
            colliders,
            groups: vec![(0..n_colliders).collect()],
        },
        ..Default::default()
    }
}

/// The hair avatar with one two-joint spring chain left (so that `run_springs` poses the
/// scene) and every other hair node constrained to the head: roll about Y, every `aim_every`-th
/// one an aim of its -Y at the head instead (0: none).
fn constrained(chains: usize, per_chain: usize, aim_every: usize) -> Avatar {
    let mut av = hair(chains, per_chain, 0);
    av.springs.chains.truncate(1);
    av.springs.chains[0].joints.truncate(2);
    let simulated: Vec<u32> = av.springs.chains[0].joints.iter().map(|j| j.node).collect();
    av.constraints = (1..av.nodes.len() as u32)
        .filter(|n| !simulated.contains(n))
        .enumerate()
        .map(|(k, node)| NodeConstraint {
            node,
            source: 0,
            weight: 0.8,
            kind: if aim_every > 0 && k % aim_every == 0 {
                ConstraintKind::Aim {
                    axis: [0.0, -1.0, 0.0],
                }
            } else {
                ConstraintKind::Roll { axis: 1 }
            },
        })
        .collect();
    av
}

/// µs per frame of `frames` frames of `build()`'s avatar with the head turning, fastest of
/// three runs.
fn time_frames(build: impl Fn() -> Avatar, frames: u32) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let mut r = Renderer::new(Arc::new(build()), RenderConfig::default()).expect("renderer");
        let t0 = cpu_time::ThreadTime::now();
        for f in 0..frames {
            let x = f as f32;
            let pose = HeadPose {
                head: [0.3 * (x * 0.05).sin(), 0.1 * (x * 0.07).sin(), 0.0],
                ..HeadPose::default()
            };
            r.run_springs(f as f64 * 0.04, &pose);
        }
        best = best.min(t0.elapsed().as_secs_f64() / frames as f64 * 1e6);
    }
    best
}

fn main() {
    let frames: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    println!("spring bones, {frames} frames at 25 fps, head turning every frame; µs per frame (fastest of 3 runs)");
    for (chains, per_chain, colliders) in [
        (16, 8, 0),
        (16, 8, 16),
        (32, 8, 0),
        (32, 8, 16),
        (64, 16, 24),
    ] {
        let best = time_frames(|| hair(chains, per_chain, colliders), frames);
        println!(
            "  {:>4} joints ({chains} chains of {per_chain}), {colliders:>2} colliders: {best:7.1} µs",
            chains * per_chain
        );
    }
    println!("node constraints on the same hair (one 2-joint spring chain left); µs per frame");
    for (label, aims) in [
        ("no constraints", None),
        ("roll only", Some(0)),
        ("one in four an aim", Some(4)),
    ] {
        let build = || {
            let mut av = constrained(16, 8, aims.unwrap_or(0));
            if aims.is_none() {
                av.constraints.clear();
            }
            av
        };
        let count = build().constraints.len();
        let best = time_frames(build, frames);
        println!("  {count:>4} constraints ({label}): {best:7.1} µs");
    }
}
