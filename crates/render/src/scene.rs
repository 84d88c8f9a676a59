//! Pose (node hierarchy, head/eye/jaw rotations, joint matrices), sparse morphing and the
//! vertex stage (skinning + view/projection).

use facecast_core::model::{Avatar, Mat4, TexRef, IDENTITY};
use facecast_core::HeadPose;

use crate::camera::Camera;
use crate::math::*;
use crate::RenderError;

/// Check everything the hot loops index with, so rendering never panics.
pub fn validate_avatar(av: &Avatar) -> Result<(), RenderError> {
    for (mi, mesh) in av.meshes.iter().enumerate() {
        for (pi, p) in mesh.primitives.iter().enumerate() {
            let bad = |reason: String| RenderError::BadMesh {
                mesh: mi,
                primitive: pi,
                reason,
            };
            let n = p.positions.len();
            let check = |name: &str, len: usize| -> Result<(), RenderError> {
                if len != 0 && len != n {
                    Err(bad(format!(
                        "{name} has {len} entries but there are {n} positions"
                    )))
                } else {
                    Ok(())
                }
            };
            check("normals", p.normals.len())?;
            check("uv0", p.uv0.len())?;
            check("uv1", p.uv1.len())?;
            check("colors", p.colors.len())?;
            check("joints", p.joints.len())?;
            check("weights", p.weights.len())?;
            if p.joints.len() != p.weights.len() {
                return Err(bad(format!(
                    "{} joints entries but {} weights entries",
                    p.joints.len(),
                    p.weights.len()
                )));
            }
            if p.indices.len() % 3 != 0 {
                return Err(bad(format!(
                    "index count {} is not a multiple of 3",
                    p.indices.len()
                )));
            }
            if let Some(&i) = p.indices.iter().find(|&&i| i as usize >= n) {
                return Err(bad(format!("index {i} out of range for {n} vertices")));
            }
            for (ti, t) in p.targets.iter().enumerate() {
                if t.positions.len() != t.indices.len()
                    || (!t.normals.is_empty() && t.normals.len() != t.indices.len())
                {
                    return Err(bad(format!(
                        "morph target {ti}: {} indices, {} position deltas, {} normal deltas",
                        t.indices.len(),
                        t.positions.len(),
                        t.normals.len()
                    )));
                }
                if let Some(&i) = t.indices.iter().find(|&&i| i as usize >= n) {
                    return Err(bad(format!(
                        "morph target {ti} index {i} out of range for {n} vertices"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Node transforms and joint matrices.
pub struct Scene {
    /// World matrix of every node.
    pub world: Vec<Mat4>,
    order: Vec<u32>,
    rest_world_rot: Vec<Quat>,
    extra: Vec<Quat>,
    /// Joint matrices per skin (world × inverse bind), world space.
    pub joints: Vec<Vec<Mat4>>,
    last: Option<(HeadPose, f32)>,
    /// Node the head rotation is applied to (see [`head_pivot`]).
    head: Option<usize>,
    /// Spring bones, when the avatar has any.
    springs: Option<crate::spring::SpringSim>,
    /// Scratch for node constraints' paths from the root (capacity: every node).
    path: Vec<u32>,
}

fn is_descendant(av: &Avatar, mut n: usize, anc: usize) -> bool {
    for _ in 0..256 {
        if n == anc {
            return true;
        }
        match av.nodes[n].parent {
            Some(p) if (p as usize) < av.nodes.len() => n = p as usize,
            _ => return false,
        }
    }
    false
}

/// The node that carries the head rotation: `humanoid.head`, or, when the eye nodes are not
/// below it (Face Cap style rigs where head, eyes and teeth are siblings), the lowest ancestor
/// holding the head and both eyes, unless that ancestor also holds the neck.
fn head_pivot(av: &Avatar) -> Option<usize> {
    let h = node_ok(av, av.humanoid.head)?;
    let eyes: Vec<usize> = [av.humanoid.left_eye, av.humanoid.right_eye]
        .iter()
        .filter_map(|&e| node_ok(av, e))
        .collect();
    if eyes.iter().all(|&e| is_descendant(av, e, h)) {
        return Some(h);
    }
    let mut a = h;
    for _ in 0..256 {
        let Some(p) = av.nodes[a]
            .parent
            .map(|p| p as usize)
            .filter(|&p| p < av.nodes.len())
        else {
            return Some(h);
        };
        a = p;
        if eyes.iter().all(|&e| is_descendant(av, e, a)) {
            let holds_neck = node_ok(av, av.humanoid.neck).is_some_and(|n| is_descendant(av, n, a));
            return Some(if holds_neck { h } else { a });
        }
    }
    Some(h)
}

const ID_Q: Quat = [0.0, 0.0, 0.0, 1.0];

/// Node `i`'s parent, when the link is valid (in range, not itself).
pub(crate) fn parent_of(av: &Avatar, i: usize) -> Option<usize> {
    av.nodes[i]
        .parent
        .map(|p| p as usize)
        .filter(|&p| p < av.nodes.len() && p != i)
}

/// Node `i`'s world matrix from its parent's (assumed current) and its local transform with
/// the extra rotation `extra[i]` after its own.
pub(crate) fn refresh_world(av: &Avatar, world: &mut [Mat4], extra: &[Quat], i: usize) {
    let nd = &av.nodes[i];
    let q = quat_mul(quat_normalize(nd.rotation), extra[i]);
    let local = mat_from_trs(nd.translation, q, nd.scale);
    world[i] = match parent_of(av, i) {
        Some(p) => mat_mul(&world[p], &local),
        None => local,
    };
}

fn node_ok(av: &Avatar, n: Option<u32>) -> Option<usize> {
    n.map(|i| i as usize).filter(|&i| i < av.nodes.len())
}

impl Scene {
    pub fn new(av: &Avatar) -> Scene {
        let n = av.nodes.len();
        // Topological order, parents first; tolerate bad parent links and cycles.
        let mut order = Vec::with_capacity(n);
        let mut seen = vec![false; n];
        let mut stack: Vec<u32> = (0..n as u32)
            .filter(|&i| !matches!(av.nodes[i as usize].parent, Some(p) if (p as usize) < n))
            .collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i as usize], true) {
                continue;
            }
            order.push(i);
            for &c in &av.nodes[i as usize].children {
                if (c as usize) < n && !seen[c as usize] {
                    stack.push(c);
                }
            }
            // Children also found through parent links (children lists may be incomplete).
        }
        // Nodes only reachable through parent links or in cycles: append in index order.
        for i in 0..n {
            if !seen[i] {
                order.push(i as u32);
            }
        }
        let mut s = Scene {
            world: vec![IDENTITY; n],
            order,
            rest_world_rot: vec![ID_Q; n],
            extra: vec![ID_Q; n],
            joints: av
                .skins
                .iter()
                .map(|s| vec![IDENTITY; s.joints.len()])
                .collect(),
            last: None,
            head: head_pivot(av),
            springs: None,
            path: Vec::with_capacity(if av.constraints.is_empty() { 0 } else { n }),
        };
        s.compute_world(av);
        for i in 0..n {
            s.rest_world_rot[i] = quat_from_mat(&s.world[i]);
        }
        s.springs = crate::spring::SpringSim::new(av, &s.world);
        s
    }

    /// Whether the avatar has spring bones this scene simulates.
    pub fn has_springs(&self) -> bool {
        self.springs.is_some()
    }

    fn compute_world(&mut self, av: &Avatar) {
        for &i in &self.order {
            refresh_world(av, &mut self.world, &self.extra, i as usize);
        }
    }

    /// World-axis rotation `d` applied at node `i`, expressed as an extra local rotation.
    fn set_world_rot(&mut self, i: usize, d: Quat) {
        let r = self.rest_world_rot[i];
        self.extra[i] = quat_mul(quat_mul(quat_conj(r), d), r);
    }

    /// Apply the pose and, with `time` (seconds on the session clock), run the spring bones up
    /// to it (without, they keep their state: used for the level of detail's probe poses);
    /// returns whether anything changed.
    pub fn update(
        &mut self,
        av: &Avatar,
        pose: &HeadPose,
        jaw: f32,
        force: bool,
        time: Option<f64>,
    ) -> bool {
        let fin = |v: f32| {
            if v.is_finite() {
                v.clamp(-1.5, 1.5)
            } else {
                0.0
            }
        };
        let pose = HeadPose {
            head: [fin(pose.head[0]), fin(pose.head[1]), fin(pose.head[2])],
            eyes: [fin(pose.eyes[0]), fin(pose.eyes[1])],
        };
        let springs_due = match (&self.springs, time) {
            (Some(s), Some(t)) => s.due(t),
            _ => false,
        };
        if !force && !springs_due && self.last == Some((pose, jaw)) {
            return false;
        }
        let pose_changed = force || self.last != Some((pose, jaw));
        self.last = Some((pose, jaw));
        let head = self.head;
        let neck = node_ok(av, av.humanoid.neck).filter(|&n| Some(n) != head);
        let [y, p, r] = pose.head;
        match (neck, head) {
            (Some(n), Some(h)) => {
                self.set_world_rot(n, quat_ypr(0.4 * y, 0.4 * p, 0.4 * r));
                self.set_world_rot(h, quat_ypr(0.6 * y, 0.6 * p, 0.6 * r));
            }
            (Some(x), None) | (None, Some(x)) => self.set_world_rot(x, quat_ypr(y, p, r)),
            (None, None) => {}
        }
        for (eye, left) in [(av.humanoid.left_eye, true), (av.humanoid.right_eye, false)] {
            if let Some(e) = node_ok(av, eye) {
                // VRM avatars turn their eye bones as their range maps say, or not at all
                // when their look expressions move the eyes.
                let (y, p) = match &av.look_at {
                    Some(l) if l.bones => l.bone_angles(pose.eyes[0], pose.eyes[1], left),
                    Some(_) => (0.0, 0.0),
                    None => (pose.eyes[0], pose.eyes[1]),
                };
                self.set_world_rot(e, quat_ypr(y, p, 0.0));
            }
        }
        if let Some(j) = node_ok(av, av.humanoid.jaw) {
            self.set_world_rot(j, quat_ypr(0.0, jaw * 0.32, 0.0));
        }
        // Node constraints follow the pose (before the spring bones, as VRM runs them).
        crate::constraint::apply(av, &mut self.world, &mut self.extra, &mut self.path);
        self.compute_world(av);
        if let (Some(sim), Some(t)) = (&mut self.springs, time) {
            if sim.advance(av, t, &mut self.world, &mut self.extra) {
                // Nodes below the joints (bone tips, attached meshes) follow.
                self.compute_world(av);
            } else if !pose_changed {
                return false;
            }
        }
        for (si, skin) in av.skins.iter().enumerate() {
            for (k, &jn) in skin.joints.iter().enumerate() {
                let w = self.world.get(jn as usize).copied().unwrap_or(IDENTITY);
                let ib = skin.inverse_bind.get(k).copied().unwrap_or(IDENTITY);
                self.joints[si][k] = mat_mul(&w, &ib);
            }
        }
        true
    }
}

/// Sparse morph state per mesh.
pub struct MorphState {
    tchan: Vec<Vec<Option<u32>>>,
    cur: Vec<Vec<f32>>,
    next: Vec<Vec<f32>>,
    /// Morphed positions per mesh per primitive (empty when the primitive has no targets).
    pub pos: Vec<Vec<Vec<V3>>>,
    /// Morphed normals, same layout.
    pub nrm: Vec<Vec<Vec<V3>>>,
}

impl MorphState {
    pub fn new(av: &Avatar) -> MorphState {
        let mut tchan: Vec<Vec<Option<u32>>> = av
            .meshes
            .iter()
            .map(|m| {
                let nt = m
                    .primitives
                    .iter()
                    .map(|p| p.targets.len())
                    .max()
                    .unwrap_or(0);
                vec![None; nt.max(m.target_names.len())]
            })
            .collect();
        for (ci, ch) in av.channels.iter().enumerate() {
            for &(m, t) in &ch.targets {
                if let Some(slot) = tchan
                    .get_mut(m as usize)
                    .and_then(|v| v.get_mut(t as usize))
                {
                    *slot = Some(ci as u32);
                }
            }
        }
        let cur: Vec<Vec<f32>> = tchan.iter().map(|v| vec![0.0; v.len()]).collect();
        // Morphed copies only for primitives that have targets.
        let morphable =
            |attr: fn(&facecast_core::model::Primitive) -> &Vec<V3>| -> Vec<Vec<Vec<V3>>> {
                av.meshes
                    .iter()
                    .map(|m| {
                        m.primitives
                            .iter()
                            .map(|p| {
                                if p.targets.is_empty() {
                                    Vec::new()
                                } else {
                                    attr(p).clone()
                                }
                            })
                            .collect()
                    })
                    .collect()
            };
        let pos = morphable(|p| &p.positions);
        let nrm = morphable(|p| &p.normals);
        MorphState {
            next: cur.clone(),
            cur,
            tchan,
            pos,
            nrm,
        }
    }

    /// Apply channel weights; returns whether any vertex moved.
    pub fn update(&mut self, av: &Avatar, channels: &[f32]) -> bool {
        let mut changed = false;
        for (mi, mesh) in av.meshes.iter().enumerate() {
            let next = &mut self.next[mi];
            for (t, w) in next.iter_mut().enumerate() {
                let v = match self.tchan[mi][t] {
                    Some(c) => channels.get(c as usize).copied().unwrap_or(0.0),
                    None => mesh.default_weights.get(t).copied().unwrap_or(0.0),
                };
                *w = if v.is_finite() {
                    v.clamp(-4.0, 4.0)
                } else {
                    0.0
                };
            }
            if *next == self.cur[mi] {
                continue;
            }
            changed = true;
            for (pi, p) in mesh.primitives.iter().enumerate() {
                if p.targets.is_empty() {
                    continue;
                }
                let pos = &mut self.pos[mi][pi];
                let nrm = &mut self.nrm[mi][pi];
                let has_n = !p.normals.is_empty();
                // Reset the vertices touched by the previously active targets.
                for (t, tg) in p.targets.iter().enumerate() {
                    if self.cur[mi].get(t).copied().unwrap_or(0.0) != 0.0 {
                        for &i in &tg.indices {
                            let i = i as usize;
                            pos[i] = p.positions[i];
                            if has_n {
                                nrm[i] = p.normals[i];
                            }
                        }
                    }
                }
                // Add the active ones.
                for (t, tg) in p.targets.iter().enumerate() {
                    let w = next.get(t).copied().unwrap_or(0.0);
                    if w == 0.0 {
                        continue;
                    }
                    for (k, &i) in tg.indices.iter().enumerate() {
                        let i = i as usize;
                        let d = tg.positions[k];
                        pos[i] = [
                            pos[i][0] + w * d[0],
                            pos[i][1] + w * d[1],
                            pos[i][2] + w * d[2],
                        ];
                    }
                    if has_n && !tg.normals.is_empty() {
                        for (k, &i) in tg.indices.iter().enumerate() {
                            let i = i as usize;
                            let d = tg.normals[k];
                            nrm[i] = [
                                nrm[i][0] + w * d[0],
                                nrm[i][1] + w * d[1],
                                nrm[i][2] + w * d[2],
                            ];
                        }
                    }
                }
            }
            std::mem::swap(&mut self.cur[mi], &mut self.next[mi]);
        }
        changed
    }

    /// Vertices moved by the targets of these channels (mesh, primitive, vertex).
    pub fn touched_by_channels(
        &self,
        av: &Avatar,
        channels: &[bool],
    ) -> Vec<(usize, usize, Vec<bool>)> {
        let mut out = Vec::new();
        for (mi, mesh) in av.meshes.iter().enumerate() {
            for (pi, p) in mesh.primitives.iter().enumerate() {
                let mut mask = vec![false; p.positions.len()];
                let mut any = false;
                for (t, tg) in p.targets.iter().enumerate() {
                    let Some(Some(c)) = self.tchan[mi].get(t) else {
                        continue;
                    };
                    if !channels.get(*c as usize).copied().unwrap_or(false) {
                        continue;
                    }
                    for (k, &i) in tg.indices.iter().enumerate() {
                        let d = tg.positions[k];
                        if d[0].abs() + d[1].abs() + d[2].abs() > 1e-6 {
                            mask[i as usize] = true;
                            any = true;
                        }
                    }
                }
                if any {
                    out.push((mi, pi, mask));
                }
            }
        }
        out
    }

    pub fn capacities(&self) -> Vec<usize> {
        self.pos.iter().flatten().map(|v| v.capacity()).collect()
    }

    /// Heap bytes of the morphed copies and weight vectors.
    pub fn memory_bytes(&self) -> usize {
        let v3: usize = self
            .pos
            .iter()
            .chain(&self.nrm)
            .flatten()
            .map(|v| v.capacity() * 12)
            .sum();
        let w: usize = self
            .cur
            .iter()
            .chain(&self.next)
            .map(|v| v.capacity() * 4)
            .sum();
        v3 + w
    }
}

/// One drawn primitive instance.
#[derive(Clone, Debug)]
pub struct Draw {
    pub node: u32,
    pub mesh: u32,
    pub prim: u32,
    pub skin: Option<u32>,
    pub vbase: u32,
    /// An MToon outline: the index of the draw it outlines (its vertices pushed out along
    /// their normals, its triangles turned around, drawn in the outline's material).
    pub outline: Option<u32>,
    /// Its triangles are drawn turned around: a surface whose transform mirrors (glTF: a
    /// negative determinant makes clockwise triangles the front faces), or the outline of a
    /// surface that does not.
    pub turn: bool,
}

/// Transformed vertex: clip-space x, y, w and view-space position and normal. (`repr(C)`: the
/// eight-wide set-up reads fields at fixed offsets.)
#[derive(Copy, Clone, Debug, Default)]
#[repr(C)]
pub struct VOut {
    pub cx: f32,
    pub cy: f32,
    pub cw: f32,
    pub vp: V3,
    pub n: V3,
}

impl VOut {
    /// Vertex at model position `p` (and normal `n`, +Z when absent) through the model-view
    /// matrix `m` (the normal through `nm`), with the projection's x/y scales `px`, `py`.
    #[inline(always)]
    fn of(m: &Mat4, nm: &Mat4, p: V3, n: Option<V3>, px: f32, py: f32) -> VOut {
        let vp = xform_point(m, p);
        VOut {
            cx: vp[0] * px,
            cy: vp[1] * py,
            cw: -vp[2],
            vp,
            n: n.map_or([0.0, 0.0, 1.0], |n| xform_dir(nm, n)),
        }
    }
}

/// Static per-vertex attributes (copied once; clipped vertices are appended per frame).
/// (`repr(C)`: the eight-wide set-up reads fields at fixed offsets.)
#[derive(Copy, Clone, Debug, Default)]
#[repr(C)]
pub struct VAttr {
    pub uv0: [f32; 2],
    pub uv1: [f32; 2],
    pub col: [f32; 4],
}

pub struct Geometry {
    pub draws: Vec<Draw>,
    pub verts: Vec<VOut>,
    pub attrs: Vec<VAttr>,
    pub base_len: usize,
    pub valid: bool,
    skin_view: Vec<Vec<Mat4>>,
    /// Draws whose material's textures move with time (MToon UV animation).
    pub uv_anims: Vec<UvAnim>,
    /// The time (seconds) `attrs` show the UV animations at.
    uv_time: f64,
    /// The MToon outline draws.
    pub(crate) outlines: Vec<OutlineDraw>,
    /// Per draw, for a draw with [`Draw::turn`]: its primitive's triangles turned around (made
    /// once).
    pub(crate) turned: Vec<Option<Vec<u32>>>,
}

/// An outline draw's vertices: pushed out from its surface's by `width` (per vertex, the
/// material's width times its width texture's green channel).
pub(crate) struct OutlineDraw {
    draw: u32,
    src: u32,
    screen: bool,
    width: Vec<f32>,
}

/// The triangles draw `d` draws without a level-of-detail list: its primitive's, or, for a
/// draw with [`Draw::turn`], their turned-around copy in `turned` ([`Geometry::turned`]).
pub(crate) fn draw_indices<'a>(
    turned: &'a [Option<Vec<u32>>],
    d: usize,
    primitive: &'a [u32],
) -> &'a [u32] {
    turned
        .get(d)
        .and_then(Option::as_deref)
        .unwrap_or(primitive)
}

/// Triangles of `indices` turned around (their back faces become front faces).
pub(crate) fn turned(indices: &[u32]) -> Vec<u32> {
    indices
        .chunks_exact(3)
        .flat_map(|t| [t[0], t[2], t[1]])
        .collect()
}

/// Channel `ch` (0..1, linear) of texture `r` bilinearly read at each vertex of `attrs` (the
/// reference's coordinate set and transform, largest level), or `None` without a usable
/// texture. MToon's mask-like textures are read this way, once, not per pixel.
fn at_vertices(av: &Avatar, r: Option<&TexRef>, attrs: &[VAttr], ch: usize) -> Option<Vec<f32>> {
    let r = r?;
    let t = av
        .textures
        .get(r.texture as usize)
        .filter(|t| crate::texture::texture_ok(t))?;
    Some(
        attrs
            .iter()
            .map(|a| {
                let uv = if r.texcoord == 1 { a.uv1 } else { a.uv0 };
                let [u, v] = r.transform.map_or(uv, |x| x.apply(uv));
                crate::texture::sample(t, 0, u, v)[ch] / 255.0
            })
            .collect(),
    )
}

/// One draw's MToon UV animation (`VRMC_materials_mtoon`): every texture of the material moves,
/// so it is applied to the draw's vertex coordinates (both sets), before the textures' own
/// `KHR_texture_transform`s (which the shading applies), as the extension orders them. A mask
/// texture is read at the vertices (the speeds are interpolated across each triangle).
pub struct UvAnim {
    /// Index into [`Geometry::draws`].
    pub draw: u32,
    scroll: [f32; 2],
    rotation: f32,
    /// Per vertex of the draw: the loaded coordinates (`uv0`, `uv1`).
    rest: Vec<[[f32; 2]; 2]>,
    /// Per vertex: the mask's speed factor (empty: 1 everywhere).
    mask: Vec<f32>,
}

impl UvAnim {
    fn new(av: &Avatar, draw: u32, d: &Draw, attrs: &[VAttr]) -> Option<UvAnim> {
        let p = &av.meshes[d.mesh as usize].primitives[d.prim as usize];
        let toon = av.materials.get(p.material? as usize)?.toon.as_ref()?;
        if !toon.uv_animated() || d.outline.is_some() {
            return None;
        }
        let vb = d.vbase as usize;
        let rest: Vec<[[f32; 2]; 2]> = attrs[vb..vb + p.positions.len()]
            .iter()
            .map(|a| [a.uv0, a.uv1])
            .collect();
        let mask = at_vertices(
            av,
            toon.uv_mask_tex.as_ref(),
            &attrs[vb..vb + rest.len()],
            2,
        )
        .unwrap_or_default();
        Some(UvAnim {
            draw,
            scroll: toon.uv_scroll,
            rotation: toon.uv_rotation,
            rest,
            mask,
        })
    }
}

/// Whether draw `d`'s transform at rest mirrors: the node's world matrix, or for a skinned
/// primitive the joint matrix (world × inverse bind) most of its vertices follow most.
fn mirrored(scene: &Scene, d: &Draw, p: &facecast_core::model::Primitive) -> bool {
    let Some(s) = d.skin else {
        return scene
            .world
            .get(d.node as usize)
            .is_some_and(|m| det3(m) < 0.0);
    };
    let joints = &scene.joints[s as usize];
    let mut votes = 0i64;
    for (j, w) in p.joints.iter().zip(&p.weights) {
        let k = (0..4).fold(0, |b, k| if w[k] > w[b] { k } else { b });
        if let Some(m) = joints.get(j[k] as usize) {
            votes += if det3(m) < 0.0 { 1 } else { -1 };
        }
    }
    votes > 0
}

impl Geometry {
    /// The draws of `av`'s visible meshes; `scene` at rest tells which transforms mirror.
    pub fn new(av: &Avatar, scene: &Scene) -> Geometry {
        let mut draws = Vec::new();
        let mut attrs = Vec::new();
        // Draw nodes reachable from the scene roots (all nodes when roots is empty).
        let n = av.nodes.len();
        let mut visible = vec![av.roots.is_empty(); n];
        let mut stack: Vec<u32> = av
            .roots
            .iter()
            .copied()
            .filter(|&r| (r as usize) < n)
            .collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut visible[i as usize], true) {
                continue;
            }
            stack.extend(
                av.nodes[i as usize]
                    .children
                    .iter()
                    .copied()
                    .filter(|&c| (c as usize) < n),
            );
        }
        for (ni, node) in av.nodes.iter().enumerate() {
            let Some(m) = node.mesh else { continue };
            if !visible[ni] || m as usize >= av.meshes.len() {
                continue;
            }
            let skin = node.skin.filter(|&s| (s as usize) < av.skins.len());
            for (pi, p) in av.meshes[m as usize].primitives.iter().enumerate() {
                let skin = skin.filter(|_| !p.joints.is_empty());
                let mut d = Draw {
                    node: ni as u32,
                    mesh: m,
                    prim: pi as u32,
                    skin,
                    vbase: attrs.len() as u32,
                    outline: None,
                    turn: false,
                };
                d.turn = mirrored(scene, &d, p);
                draws.push(d);
                for v in 0..p.positions.len() {
                    attrs.push(VAttr {
                        uv0: p.uv0.get(v).copied().unwrap_or([0.0; 2]),
                        uv1: p.uv1.get(v).copied().unwrap_or([0.0; 2]),
                        col: p.colors.get(v).copied().unwrap_or([1.0; 4]),
                    });
                }
            }
        }
        // MToon outlines: one more draw per outlined primitive, after every surface.
        let mut outlines = Vec::new();
        for src in 0..draws.len() {
            let d = &draws[src];
            let p = &av.meshes[d.mesh as usize].primitives[d.prim as usize];
            let Some(o) = p
                .material
                .and_then(|m| av.materials.get(m as usize))
                .and_then(|m| m.toon.as_ref()?.outline.as_ref())
            else {
                continue;
            };
            let (vb, n) = (d.vbase as usize, p.positions.len());
            let width = match at_vertices(av, o.width_tex.as_ref(), &attrs[vb..vb + n], 1) {
                Some(f) => f.iter().map(|f| o.width * f).collect(),
                None => vec![o.width; n],
            };
            let draw = draws.len() as u32;
            draws.push(Draw {
                vbase: attrs.len() as u32,
                outline: Some(src as u32),
                turn: !draws[src].turn,
                ..draws[src].clone()
            });
            attrs.extend_from_within(vb..vb + n);
            outlines.push(OutlineDraw {
                draw,
                src: src as u32,
                screen: o.mode == facecast_core::model::OutlineMode::Screen,
                width,
            });
        }
        let turned = draws
            .iter()
            .map(|d| {
                let p = &av.meshes[d.mesh as usize].primitives[d.prim as usize];
                d.turn.then(|| turned(&p.indices))
            })
            .collect();
        let base_len = attrs.len();
        // Room for clipped vertices without reallocating in steady state.
        attrs.reserve(base_len / 8 + 64);
        let mut verts = Vec::with_capacity(base_len + base_len / 8 + 64);
        verts.resize(base_len, VOut::default());
        let uv_anims = draws
            .iter()
            .enumerate()
            .filter_map(|(i, d)| UvAnim::new(av, i as u32, d, &attrs))
            .collect();
        Geometry {
            draws,
            verts,
            attrs,
            base_len,
            valid: false,
            skin_view: av
                .skins
                .iter()
                .map(|s| vec![IDENTITY; s.joints.len()])
                .collect(),
            uv_anims,
            uv_time: 0.0,
            outlines,
            turned,
        }
    }

    /// The outline draws' vertices: their surfaces' vertices (made before) pushed out along
    /// their normals, by metres in view space or by a fraction of the picture's height on
    /// screen. `(px, py)`: the projection's x and y scales.
    fn outline_stage(&mut self, px: f32, py: f32) {
        for o in &self.outlines {
            let (dst, src) = (
                self.draws[o.draw as usize].vbase as usize,
                self.draws[o.src as usize].vbase as usize,
            );
            let n = o.width.len();
            let (from, to) = self.verts.split_at_mut(dst);
            for ((out, v), &w) in to[..n].iter_mut().zip(&from[src..src + n]).zip(&o.width) {
                *out = *v;
                if o.screen {
                    // On screen the normal's x and y point the same way as in view space
                    // (square pixels); the width is of the height, 2 in clip units per w.
                    let l = (v.n[0] * v.n[0] + v.n[1] * v.n[1]).sqrt();
                    if l > 1e-12 {
                        let k = 2.0 * w * v.cw / l;
                        out.cx += v.n[0] * k * px / py;
                        out.cy += v.n[1] * k;
                    }
                } else {
                    let l = (v.n[0] * v.n[0] + v.n[1] * v.n[1] + v.n[2] * v.n[2]).sqrt();
                    if l > 1e-12 {
                        let k = w / l;
                        let vp = [
                            v.vp[0] + v.n[0] * k,
                            v.vp[1] + v.n[1] * k,
                            v.vp[2] + v.n[2] * k,
                        ];
                        (out.cx, out.cy, out.cw, out.vp) = (vp[0] * px, vp[1] * py, -vp[2], vp);
                    }
                }
            }
        }
    }

    /// Move the UV-animated draws' texture coordinates to time `t` (seconds; not finite: 0).
    /// Returns whether anything moved: the triangles must then be set up again.
    pub fn animate_uvs(&mut self, t: f64) -> bool {
        let t = if t.is_finite() { t } else { 0.0 };
        if self.uv_anims.is_empty() || t == self.uv_time {
            return false;
        }
        self.uv_time = t;
        for a in &self.uv_anims {
            let vb = self.draws[a.draw as usize].vbase as usize;
            // Scroll in f64, less a whole number of periods common to the draw (even: also the
            // period of mirrored repeat), so long sessions keep f32 precision and vertices of
            // one triangle never wrap apart.
            let low = a.mask.iter().copied().fold(f32::INFINITY, f32::min);
            let low = if a.mask.is_empty() { 1.0 } else { low as f64 };
            let wrap = a.scroll.map(|s| 2.0 * (s as f64 * t * low / 2.0).floor());
            let mut rot = (0.0f32, 1.0f32);
            let mut last = f32::NAN;
            for (i, (at, rest)) in self.attrs[vb..vb + a.rest.len()]
                .iter_mut()
                .zip(&a.rest)
                .enumerate()
            {
                let m = a.mask.get(i).copied().unwrap_or(1.0);
                if m != last {
                    let ang = (a.rotation as f64 * m as f64 * t).rem_euclid(std::f64::consts::TAU);
                    let (s, c) = ang.sin_cos();
                    rot = (s as f32, c as f32);
                    last = m;
                }
                let off: [f32; 2] =
                    std::array::from_fn(|k| (a.scroll[k] as f64 * m as f64 * t - wrap[k]) as f32);
                let (s, c) = rot;
                // Counter-clockwise with V down, as `KHR_texture_transform` (the picture turns
                // clockwise on the surface).
                let mv = |[u, v]: [f32; 2]| {
                    let (x, y) = (u - 0.5, v - 0.5);
                    [c * x + s * y + 0.5 + off[0], -s * x + c * y + 0.5 + off[1]]
                };
                at.uv0 = mv(rest[0]);
                at.uv1 = mv(rest[1]);
            }
        }
        true
    }

    fn source<'a>(
        av: &'a Avatar,
        morph: &'a MorphState,
        d: &Draw,
    ) -> (&'a [V3], &'a [V3], &'a facecast_core::model::Primitive) {
        let p = &av.meshes[d.mesh as usize].primitives[d.prim as usize];
        let mp = &morph.pos[d.mesh as usize][d.prim as usize];
        if mp.is_empty() {
            (&p.positions, &p.normals, p)
        } else {
            (mp, &morph.nrm[d.mesh as usize][d.prim as usize], p)
        }
    }

    /// World-space positions of every base vertex (used once, for framing).
    pub fn world_positions(&self, av: &Avatar, scene: &Scene, morph: &MorphState) -> Vec<V3> {
        let mut out = vec![[0.0; 3]; self.base_len];
        for d in &self.draws {
            let (pos, _, p) = Self::source(av, morph, d);
            for (i, &v) in pos.iter().enumerate() {
                out[d.vbase as usize + i] = match d.skin {
                    Some(s) => {
                        let m = blend_joints(&scene.joints[s as usize], p.joints[i], p.weights[i]);
                        xform_point(&m, v)
                    }
                    None => xform_point(&scene.world[d.node as usize], v),
                };
            }
        }
        out
    }

    /// Morph → skin → view → clip for every vertex.
    pub fn vertex_stage(&mut self, av: &Avatar, scene: &Scene, morph: &MorphState, cam: &Camera) {
        self.verts.truncate(self.base_len);
        self.attrs.truncate(self.base_len);
        for (si, sv) in self.skin_view.iter_mut().enumerate() {
            for (k, m) in sv.iter_mut().enumerate() {
                *m = mat_mul(&cam.view, &scene.joints[si][k]);
            }
        }
        let (px, py) = (cam.proj[0], cam.proj[5]);
        for d in self.draws.iter().filter(|d| d.outline.is_none()) {
            let (pos, nrm, p) = Self::source(av, morph, d);
            let out = &mut self.verts[d.vbase as usize..d.vbase as usize + pos.len()];
            let has_n = nrm.len() == pos.len();
            match d.skin {
                Some(s) => {
                    let joints = &self.skin_view[s as usize];
                    for (i, o) in out.iter_mut().enumerate() {
                        let m = blend_joints(joints, p.joints[i], p.weights[i]);
                        *o = VOut::of(&m, &m, pos[i], has_n.then(|| nrm[i]), px, py);
                    }
                }
                None => {
                    let m = mat_mul(&cam.view, &scene.world[d.node as usize]);
                    // Scaled unevenly: normals through the inverse transpose.
                    let nm = normal_matrix(&m).unwrap_or(m);
                    for (i, o) in out.iter_mut().enumerate() {
                        *o = VOut::of(&m, &nm, pos[i], has_n.then(|| nrm[i]), px, py);
                    }
                }
            }
        }
        self.outline_stage(px, py);
        self.valid = true;
    }

    pub fn capacities(&self) -> Vec<usize> {
        vec![self.verts.capacity(), self.attrs.capacity()]
    }

    /// Heap bytes of the transformed vertices and copied attributes.
    pub fn memory_bytes(&self) -> usize {
        self.verts.capacity() * std::mem::size_of::<VOut>()
            + self.attrs.capacity() * std::mem::size_of::<VAttr>()
            + self
                .outlines
                .iter()
                .map(|o| o.width.capacity() * 4)
                .sum::<usize>()
            + self
                .turned
                .iter()
                .flatten()
                .map(|t| t.capacity() * 4)
                .sum::<usize>()
    }
}

#[inline(always)]
fn blend_joints(joints: &[Mat4], j: [u16; 4], w: [f32; 4]) -> Mat4 {
    let mut m = [0.0f32; 16];
    let mut total = 0.0;
    for k in 0..4 {
        let wk = w[k];
        if wk == 0.0 {
            continue;
        }
        if let Some(jm) = joints.get(j[k] as usize) {
            total += wk;
            for e in 0..12 {
                m[e] += wk * jm[e];
            }
            m[12] += wk * jm[12];
            m[13] += wk * jm[13];
            m[14] += wk * jm[14];
        }
    }
    if total == 0.0 {
        return joints.first().copied().unwrap_or(IDENTITY);
    }
    m[15] = 1.0;
    m
}
