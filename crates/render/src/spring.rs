//! VRM spring bones, simulated on the session clock.
//!
//! Each joint's tail (a point at the end of its bone) keeps the motion it had in the last step
//! (less `drag`), is pulled back toward where the parent's current pose puts it at rest
//! (`stiffness`), falls along `gravity_dir` (`gravity_power`), is kept at the bone's length from
//! the joint and pushed out of the chain's colliders; the joint then rotates to point at it. That
//! is the VRM reference algorithm (Verlet integration, as UniVRM and three-vrm run it), with
//! the motion measured in the chain's `center` space when it has one.
//!
//! The simulation is sans-IO: it runs in fixed steps of [`STEP`] seconds up to the time it is
//! given, so the same clock gives the same picture whatever the frame rate, and a snapshot (time
//! 0) shows the rest pose. Time going backwards, or the first frame, resets every joint to rest
//! in the current pose; a jump forward runs at most [`MAX_STEPS`] steps. The buffers are sized
//! once; a step allocates nothing.

use facecast_core::model::{Avatar, ColliderShape, Mat4, SpringTail, IDENTITY};

use crate::math::*;
use crate::scene::{parent_of, refresh_world};

/// Length of one simulation step, seconds.
pub const STEP: f64 = 1.0 / 60.0;
/// Most steps run for one frame (a quarter of a second); the rest of a longer gap is skipped.
pub const MAX_STEPS: u64 = 15;
/// A frame whose tails all moved less than this (metres) changed nothing worth drawing.
const STILL: f32 = 1e-6;

struct Joint {
    node: u32,
    parent: Option<usize>,
    chain: u32,
    /// Nodes between the nearest simulated ancestor (exclusive) and this joint (exclusive),
    /// top-down: their world matrices are refreshed before this joint reads its parent's.
    path: std::ops::Range<u32>,
    /// The node's local matrix at rest.
    rest_local: Mat4,
    /// Rest tail in the joint node's local space, and its direction (unit).
    tail_local: V3,
    axis: V3,
    /// Bone length in world units at rest (0: inert).
    length: f32,
    hit_radius: f32,
    stiffness: f32,
    gravity: V3,
    drag: f32,
    /// Tail positions, center space: this step's and the previous one's.
    cur: V3,
    prev: V3,
}

struct Chain {
    center: Option<u32>,
    /// Colliders (indices into the avatar's list), flattened from the chain's groups.
    colliders: std::ops::Range<u32>,
    /// Center-to-world matrix and its inverse for the current step.
    c: Mat4,
    cinv: Mat4,
}

/// World-space collider for the current step.
#[derive(Copy, Clone)]
struct WorldCollider {
    a: V3,
    /// Equal to `a` for spheres; a plane's unit normal.
    b: V3,
    radius: f32,
    kind: Keep,
}

/// Which side of a collider tails are kept on.
#[derive(Copy, Clone, PartialEq)]
enum Keep {
    /// Outside a sphere or capsule.
    Out,
    /// Inside a sphere or capsule.
    In,
    /// On the normal's side of a plane.
    Above,
}

/// Spring-bone state of one renderer.
pub struct SpringSim {
    joints: Vec<Joint>,
    chains: Vec<Chain>,
    paths: Vec<u32>,
    chain_colliders: Vec<u32>,
    colliders: Vec<WorldCollider>,
    /// Simulated time: `origin + steps * STEP`.
    origin: f64,
    steps: u64,
    started: bool,
}

#[inline]
fn origin(m: &Mat4) -> V3 {
    [m[12], m[13], m[14]]
}

impl SpringSim {
    /// The simulation for `av`'s spring bones, with `world` the rest pose's world matrices;
    /// `None` when the avatar has none.
    pub fn new(av: &Avatar, world: &[Mat4]) -> Option<SpringSim> {
        let sb = &av.springs;
        if sb.chains.is_empty() {
            return None;
        }
        let n = av.nodes.len();
        let mut is_joint = vec![false; n];
        // Depth of a joint's node (bounded walk: parent links may hold cycles).
        let depth = |i: usize| {
            let (mut d, mut k) = (0u32, i);
            while let Some(p) = parent_of(av, k).filter(|_| d < 4096) {
                d += 1;
                k = p;
            }
            d
        };
        let mut chains = Vec::with_capacity(sb.chains.len());
        let mut chain_colliders = Vec::new();
        let mut joints = Vec::new();
        for (ci, c) in sb.chains.iter().enumerate() {
            let start = chain_colliders.len() as u32;
            for &g in &c.groups {
                for &k in sb.groups.get(g as usize).into_iter().flatten() {
                    if (k as usize) < sb.colliders.len()
                        && !chain_colliders[start as usize..].contains(&k)
                    {
                        chain_colliders.push(k);
                    }
                }
            }
            chains.push(Chain {
                center: c.center.filter(|&x| (x as usize) < n),
                colliders: start..chain_colliders.len() as u32,
                c: IDENTITY,
                cinv: IDENTITY,
            });
            for j in &c.joints {
                let node = j.node as usize;
                if node >= n || is_joint[node] {
                    continue;
                }
                let tail_local = match j.tail {
                    SpringTail::Local(p) => p,
                    SpringTail::Node(t) if (t as usize) < n => match affine_inverse(&world[node]) {
                        Some(inv) => xform_point(&inv, origin(&world[t as usize])),
                        None => continue,
                    },
                    SpringTail::Node(_) => continue,
                };
                let len_local = length(tail_local);
                if !(len_local > 1e-6 && len_local.is_finite()) {
                    continue;
                }
                is_joint[node] = true;
                let g = normalize(j.gravity_dir);
                let nd = &av.nodes[node];
                joints.push(Joint {
                    node: j.node,
                    parent: parent_of(av, node),
                    chain: ci as u32,
                    path: 0..0,
                    rest_local: mat_from_trs(nd.translation, quat_normalize(nd.rotation), nd.scale),
                    tail_local,
                    axis: scale(tail_local, 1.0 / len_local),
                    length: 0.0,
                    hit_radius: j.hit_radius.max(0.0),
                    stiffness: j.stiffness.max(0.0),
                    gravity: scale(g, j.gravity_power.max(0.0)),
                    drag: j.drag.clamp(0.0, 1.0),
                    cur: [0.0; 3],
                    prev: [0.0; 3],
                });
            }
        }
        if joints.is_empty() {
            return None;
        }
        // Ancestors first (a stable sort keeps each chain's order among equal depths).
        joints.sort_by_cached_key(|j| depth(j.node as usize));
        let mut paths = Vec::new();
        for j in &mut joints {
            let start = paths.len();
            let mut k = j.parent;
            for _ in 0..n.min(4096) {
                match k {
                    Some(p) if !is_joint[p] => {
                        paths.push(p as u32);
                        k = parent_of(av, p);
                    }
                    _ => break,
                }
            }
            if k.is_none() || paths.len() - start >= n.min(4096) {
                // No simulated ancestor: the parent's world matrix is current as it is.
                paths.truncate(start);
            }
            paths[start..].reverse();
            j.path = start as u32..paths.len() as u32;
        }
        Some(SpringSim {
            joints,
            chains,
            paths,
            chain_colliders,
            colliders: vec![
                WorldCollider {
                    a: [0.0; 3],
                    b: [0.0; 3],
                    radius: 0.0,
                    kind: Keep::Out,
                };
                sb.colliders.len()
            ],
            origin: 0.0,
            steps: 0,
            started: false,
        })
    }

    /// Whether [`SpringSim::advance`] at `time` would change anything.
    pub fn due(&self, time: f64) -> bool {
        !self.started || time < self.now() - 1e-9 || time >= self.now() + STEP - 1e-9
    }

    fn now(&self) -> f64 {
        self.origin + self.steps as f64 * STEP
    }

    /// Run the simulation up to `time` (seconds), with `world` holding the current pose's world
    /// matrices (updated along the way for the joints and the nodes between them) and `extra`
    /// the extra local rotations (the joints' are set). Returns whether any joint moved.
    pub fn advance(
        &mut self,
        av: &Avatar,
        time: f64,
        world: &mut [Mat4],
        extra: &mut [Quat],
    ) -> bool {
        let time = if time.is_finite() { time } else { 0.0 };
        if !self.started || time < self.now() - 1e-9 {
            self.reset(av, time, world, extra);
            return true;
        }
        let mut n = ((time - self.now()) / STEP + 1e-9).floor().max(0.0) as u64;
        if n > MAX_STEPS {
            self.origin = time - MAX_STEPS as f64 * STEP;
            self.steps = 0;
            n = MAX_STEPS;
        }
        let mut moved = 0.0f32;
        for _ in 0..n {
            moved = moved.max(self.step(av, world, extra));
            self.steps += 1;
        }
        moved > STILL
    }

    fn begin_step(&mut self, av: &Avatar, world: &[Mat4]) {
        for c in &mut self.chains {
            c.c = c.center.map_or(IDENTITY, |k| world[k as usize]);
            c.cinv = affine_inverse(&c.c).unwrap_or(IDENTITY);
        }
        for (w, col) in self.colliders.iter_mut().zip(&av.springs.colliders) {
            let m = world.get(col.node as usize).copied().unwrap_or(IDENTITY);
            let (offset, b, radius, kind) = match col.shape {
                ColliderShape::Sphere { offset, radius } => (offset, None, radius, Keep::Out),
                ColliderShape::Capsule {
                    offset,
                    radius,
                    tail,
                } => (offset, Some(tail), radius, Keep::Out),
                ColliderShape::InsideSphere { offset, radius } => (offset, None, radius, Keep::In),
                ColliderShape::InsideCapsule {
                    offset,
                    radius,
                    tail,
                } => (offset, Some(tail), radius, Keep::In),
                ColliderShape::Plane { offset, normal } => {
                    let nm = normal_matrix(&m).unwrap_or(m);
                    *w = WorldCollider {
                        a: xform_point(&m, offset),
                        b: normalize(xform_dir(&nm, normal)),
                        radius: 0.0,
                        kind: Keep::Above,
                    };
                    continue;
                }
            };
            let a = xform_point(&m, offset);
            *w = WorldCollider {
                a,
                b: b.map_or(a, |t| xform_point(&m, t)),
                radius,
                kind,
            };
        }
    }

    /// The joint's world matrix at its rest rotation in its parent's current pose, after
    /// refreshing the nodes between it and the nearest simulated ancestor.
    fn rest_frame(&self, av: &Avatar, j: &Joint, world: &mut [Mat4], extra: &[Quat]) -> Mat4 {
        for &k in &self.paths[j.path.start as usize..j.path.end as usize] {
            refresh_world(av, world, extra, k as usize);
        }
        match j.parent {
            Some(p) => mat_mul(&world[p], &j.rest_local),
            None => j.rest_local,
        }
    }

    fn reset(&mut self, av: &Avatar, time: f64, world: &mut [Mat4], extra: &mut [Quat]) {
        self.begin_step(av, world);
        for ji in 0..self.joints.len() {
            let m0 = self.rest_frame(av, &self.joints[ji], world, extra);
            let j = &mut self.joints[ji];
            let node = j.node as usize;
            extra[node] = [0.0, 0.0, 0.0, 1.0];
            world[node] = m0;
            let tail = xform_point(&m0, j.tail_local);
            j.length = length(sub(tail, origin(&m0)));
            let cinv = self.chains[j.chain as usize].cinv;
            j.cur = xform_point(&cinv, tail);
            j.prev = j.cur;
        }
        self.origin = time;
        self.steps = 0;
        self.started = true;
    }

    /// One step of every joint; returns the largest distance a tail moved.
    fn step(&mut self, av: &Avatar, world: &mut [Mat4], extra: &mut [Quat]) -> f32 {
        self.begin_step(av, world);
        let dt = STEP as f32;
        let mut moved = 0.0f32;
        for ji in 0..self.joints.len() {
            let m0 = self.rest_frame(av, &self.joints[ji], world, extra);
            let j = &self.joints[ji];
            if j.length <= 0.0 {
                continue;
            }
            let ch = &self.chains[j.chain as usize];
            let head = origin(&m0);
            let cur = xform_point(&ch.c, j.cur);
            let prev = xform_point(&ch.c, j.prev);
            let rest_dir = normalize(sub(xform_point(&m0, j.tail_local), head));
            let mut next = add(
                add(cur, scale(sub(cur, prev), 1.0 - j.drag)),
                add(scale(rest_dir, j.stiffness * dt), scale(j.gravity, dt)),
            );
            next = add(head, scale(normalize(sub(next, head)), j.length));
            for &k in &self.chain_colliders[ch.colliders.start as usize..ch.colliders.end as usize]
            {
                let c = self.colliders[k as usize];
                if c.kind == Keep::Above {
                    // Below the plane (less the tail's radius): back onto it along the normal.
                    let below = j.hit_radius - dot(sub(next, c.a), c.b);
                    if below > 0.0 {
                        next = add(next, scale(c.b, below));
                        next = add(head, scale(normalize(sub(next, head)), j.length));
                    }
                    continue;
                }
                // Closest point of the collider's axis (a point for spheres).
                let ab = sub(c.b, c.a);
                let l2 = dot(ab, ab);
                let t = if l2 > 0.0 {
                    (dot(sub(next, c.a), ab) / l2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let q = add(c.a, scale(ab, t));
                let d = sub(next, q);
                if c.kind == Keep::In {
                    // Farther from the axis than the radius (less the tail's): back inside.
                    let room = (c.radius - j.hit_radius).max(0.0);
                    let d2 = dot(d, d);
                    if d2 > room * room {
                        let dist = d2.sqrt();
                        next = add(q, scale(d, room / dist));
                        next = add(head, scale(normalize(sub(next, head)), j.length));
                    }
                    continue;
                }
                let reach = c.radius + j.hit_radius;
                let d2 = dot(d, d);
                if d2 >= reach * reach {
                    continue;
                }
                let dist = d2.sqrt();
                let pen = reach - dist;
                if pen > 0.0 && dist > 1e-9 {
                    next = add(next, scale(d, pen / dist));
                    next = add(head, scale(normalize(sub(next, head)), j.length));
                }
            }
            moved = moved.max(length(sub(next, cur)));
            let next_c = xform_point(&ch.cinv, next);
            // Rotate the joint so its bone points at the new tail.
            let q = match affine_inverse(&m0) {
                Some(inv) => quat_from_to(j.axis, normalize(xform_dir(&inv, sub(next, head)))),
                None => [0.0, 0.0, 0.0, 1.0],
            };
            let node = j.node as usize;
            let j = &mut self.joints[ji];
            j.prev = j.cur;
            j.cur = next_c;
            extra[node] = q;
            refresh_world(av, world, extra, node);
        }
        moved
    }
}
