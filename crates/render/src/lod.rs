//! Level of detail: per primitive, a simplified index buffer over the primitive's own vertices,
//! made for one camera and output size and shared by every renderer that uses them.
//!
//! Real-time avatars are often far denser than the picture they are drawn into: at 512×512 the
//! built-in face has ~2 px per triangle, and the VALID bust many triangles below a pixel. Every
//! triangle costs set-up and rasterisation whether it shows or not, so the renderer draws a
//! simplified triangle list where that changes the picture by less than a fraction of a pixel.
//!
//! The simplifier (meshoptimizer's edge collapse, through the `meshopt` crate, which builds the
//! bundled C++ sources) only chooses *which vertices stay connected*: it returns indices into
//! the unchanged vertex arrays, so morph targets, skin weights, normals, UVs and colours keep
//! working on the vertices that remain. Its error is measured on the rest pose as seen by the
//! camera (view space, metres), with the limit set to `error_px` pixels at the primitive's
//! nearest depth. What a still rest pose cannot show is added as weighted attributes, so that
//! collapsing two vertices that differ there counts as error too:
//! - the shading normal (a change of 0.02 costs as much as the whole error budget; 0.003 under
//!   a normal map, whose tangent frame is made per triangle),
//! - the vertex colour (0.003 per linear channel) and the texture coordinates (half a texel of
//!   the material's texture),
//! - how the morph targets move the vertex: its largest delta and the sum of its deltas (in
//!   view-space metres, weighed like positions),
//! - for skinned primitives, the dominant joint (vertices bound to different joints never
//!   merge) and how skinning moves the vertex: its displacement under probe poses ([`PROBES`]:
//!   head turned, tilted, rolled, jaw open), weighed like positions. Where the displacement
//!   varies smoothly it interpolates well, so mostly blend zones that bend (a neck under a
//!   turning head) keep their detail. Unskinned primitives move rigidly with their nodes and
//!   get no probe attributes.
//!
//! Primitives with skin blend zones (vertices with no joint above 99.9 %) are simplified with
//! [`BLENDED_SHARE`] of the error budget: the probes sample four poses, and what the zones do in
//! others is not measured. (Locking the zones instead kept 95 % of the VALID bust's head.)
//!
//! Open borders (eyelid and lip edges, cut-offs) are locked. Blended and alpha-masked
//! materials, small primitives and primitives the simplifier cannot reduce by 10 % keep their
//! own indices.

use std::sync::{Arc, Mutex, Weak};

use facecast_core::model::{AlphaMode, Avatar};
use meshopt::{SimplifyOptions, VertexDataAdapter};

use crate::camera::Camera;
use crate::scene::Geometry;

/// Primitives with fewer triangles keep their own indices.
const MIN_TRIANGLES: usize = 256;
/// Attributes per vertex handed to the simplifier: normal (0..3), colour (3..6), texture
/// coordinates (6..8), largest morph delta (8..11), sum of the morph deltas (11..14), dominant
/// skin joint (14), then three per probe pose: the displacement skinning gives the vertex.
const ATTRS: usize = 15 + 3 * PROBES.len();

/// Probe poses for skin motion: (head yaw, pitch, roll in radians, jaw opening), about the
/// largest head motion and the full jaw the engine drives.
pub(crate) const PROBES: [([f32; 3], f32); 4] = [
    ([0.35, 0.0, 0.0], 0.0),
    ([0.0, 0.3, 0.0], 0.0),
    ([0.0, 0.0, 0.2], 0.0),
    ([0.0, 0.0, 0.0], 1.0),
];

/// Share of the error budget for primitives with skin blend zones.
const BLENDED_SHARE: f32 = 0.6;
/// A change of the shading normal by this much costs the whole error budget.
const NORMAL_STEP: f32 = 0.02;
/// The same for materials with a normal map.
const NORMAL_STEP_MAPPED: f32 = 0.003;
/// A change of a linear vertex colour channel by this much costs the whole error budget.
const COLOUR_STEP: f32 = 0.003;

/// Per draw: the simplified index list, or `None` (draw the primitive's own).
pub(crate) type Lists = Arc<Vec<Option<Vec<u32>>>>;

/// Lists made for one avatar, camera, height and error, shared by every renderer that needs
/// the same (sessions on one avatar and size), so only the first pays for the simplification.
struct Entry {
    avatar: Weak<Avatar>,
    key: Vec<u32>,
    lists: Lists,
}

static CACHE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
/// Entries kept; the oldest goes first.
const CACHE_ENTRIES: usize = 16;

/// What the lists of one avatar depend on besides the avatar: camera, height and error.
fn key(cam: &Camera, height: u32, error_px: f32) -> Vec<u32> {
    let mut key: Vec<u32> = cam
        .view
        .iter()
        .chain(&cam.proj)
        .map(|v| v.to_bits())
        .collect();
    key.extend([height, error_px.to_bits()]);
    key
}

/// The cached lists for `key`, if another renderer made them (dropping entries whose avatar is
/// gone).
fn find(cache: &mut Vec<Entry>, av: &Arc<Avatar>, key: &[u32]) -> Option<Lists> {
    cache.retain(|e| e.avatar.strong_count() > 0);
    cache
        .iter()
        .find(|e| e.key == key && std::ptr::eq(e.avatar.as_ptr(), Arc::as_ptr(av)))
        .map(|e| e.lists.clone())
}

/// The level-of-detail lists for `av` seen through `cam` at `height` pixels, if a renderer made
/// them already.
pub(crate) fn cached(av: &Arc<Avatar>, cam: &Camera, height: u32, error_px: f32) -> Option<Lists> {
    // A panic while the lock was held cannot leave the list half-changed: keep using it.
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    find(&mut cache, av, &key(cam, height, error_px))
}

/// Makes the level-of-detail lists with [`simplify`] and keeps them for the renderers that need
/// the same (`geo` must hold the rest pose seen by `cam`, `probes` the view-space positions of
/// its vertices under each of [`PROBES`], or nothing for an avatar without skins).
pub(crate) fn make(
    av: &Arc<Avatar>,
    geo: &Geometry,
    probes: &[Vec<[f32; 3]>],
    cam: &Camera,
    height: u32,
    error_px: f32,
) -> Lists {
    let lists = Arc::new(simplify(av, geo, probes, cam, height, error_px));
    let key = key(cam, height, error_px);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    // Another renderer may have made the same meanwhile: share one copy.
    if let Some(l) = find(&mut cache, av, &key) {
        return l;
    }
    if cache.len() >= CACHE_ENTRIES {
        cache.remove(0);
    }
    cache.push(Entry {
        avatar: Arc::downgrade(av),
        key,
        lists: lists.clone(),
    });
    lists
}

/// For each draw of `geo` (whose vertices must hold the rest pose seen by `cam`), the simplified
/// index list, or `None` to draw the primitive's own. `height`: output height in pixels.
pub(crate) fn simplify(
    av: &Avatar,
    geo: &Geometry,
    probes: &[Vec<[f32; 3]>],
    cam: &Camera,
    height: u32,
    error_px: f32,
) -> Vec<Option<Vec<u32>>> {
    if error_px.is_nan() || error_px <= 0.0 {
        return vec![None; geo.draws.len()];
    }
    let mut lists: Vec<Option<Vec<u32>>> = geo
        .draws
        .iter()
        .map(|d| {
            // Outlines follow their surfaces' lists, turned around (below).
            d.outline.is_none().then_some(())?;
            let p = av
                .meshes
                .get(d.mesh as usize)?
                .primitives
                .get(d.prim as usize)?;
            if p.indices.len() / 3 < MIN_TRIANGLES {
                return None;
            }
            let mat = p.material.and_then(|m| av.materials.get(m as usize));
            if mat.is_some_and(|m| m.alpha_mode != AlphaMode::Opaque) {
                return None;
            }
            let n = p.positions.len();
            let verts = geo.verts.get(d.vbase as usize..d.vbase as usize + n)?;
            // One pixel at the nearest depth, in view-space metres.
            let zmin = verts
                .iter()
                .map(|v| v.cw)
                .filter(|z| z.is_finite())
                .fold(f32::INFINITY, f32::min)
                .max(cam.near);
            if !zmin.is_finite() || cam.proj[5].is_nan() || cam.proj[5] <= 0.0 {
                return None;
            }
            let px = 2.0 * zmin / (cam.proj[5] * height as f32);
            let blended = p.weights.iter().any(|w| w.iter().all(|&x| x < 0.999));
            let err = error_px * px * if blended { BLENDED_SHARE } else { 1.0 };
            // Model → view scale (morph deltas are in model units).
            let view = size(verts.iter().map(|v| v.vp));
            let model = size(p.positions.iter().copied());
            let diag = |s: [f32; 3]| s.iter().map(|x| x * x).sum::<f32>().sqrt();
            let scale = if diag(model) > 0.0 && diag(view).is_finite() {
                diag(view) / diag(model)
            } else {
                0.0
            };
            let tex_size = mat
                .and_then(|m| {
                    m.base_color_tex
                        .as_ref()
                        .or(m.normal_tex.as_ref())
                        .or(m.emissive_tex.as_ref())
                        .or(m.metallic_roughness_tex.as_ref())
                        .or(m.occlusion_tex.as_ref())
                })
                .and_then(|t| av.textures.get(t.texture as usize).map(|x| (x, t.texcoord)))
                .and_then(|(t, set)| {
                    let l = t.mips.first()?;
                    Some((l.width.max(l.height) as f32, set))
                });
            let mut attrs = vec![0f32; n * ATTRS];
            for (i, a) in attrs.chunks_exact_mut(ATTRS).enumerate() {
                a[0..3].copy_from_slice(&verts[i].n);
                if let Some(c) = p.colors.get(i) {
                    a[3..6].copy_from_slice(&c[..3]);
                }
                if let Some((_, set)) = tex_size {
                    let uv = if set == 1 { p.uv1.get(i) } else { p.uv0.get(i) };
                    if let Some(uv) = uv {
                        a[6..8].copy_from_slice(uv);
                    }
                }
                if let (Some(j), Some(w)) = (p.joints.get(i), p.weights.get(i)) {
                    let k = (0..4).fold(0, |b, k| if w[k] > w[b] { k } else { b });
                    a[14] = j[k] as f32;
                }
                // Unskinned primitives move rigidly with their node: nothing to weigh.
                let probes = if p.weights.is_empty() {
                    &[][..]
                } else {
                    probes
                };
                for (q, probe) in probes.iter().enumerate().take(PROBES.len()) {
                    if let Some(moved) = probe.get(d.vbase as usize + i) {
                        for c in 0..3 {
                            a[15 + 3 * q + c] = moved[c] - verts[i].vp[c];
                        }
                    }
                }
            }
            for t in &p.targets {
                for (k, &i) in t.indices.iter().enumerate() {
                    let (Some(a), Some(dl)) = (
                        attrs.get_mut(i as usize * ATTRS..(i as usize + 1) * ATTRS),
                        t.positions.get(k),
                    ) else {
                        continue;
                    };
                    let dv = dl.map(|x| x * scale);
                    let len = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>();
                    if len(&dv) > len(&a[8..11]) {
                        a[8..11].copy_from_slice(&dv);
                    }
                    for c in 0..3 {
                        a[11 + c] += dv[c];
                    }
                }
            }
            // meshoptimizer weighs attributes against positions scaled to a unit extent: a
            // weight of `t / δ` makes an attribute difference of δ cost the whole error budget.
            let extent = view.into_iter().fold(0.0, f32::max);
            if extent.is_nan() || extent <= 0.0 {
                return None;
            }
            let t = err / extent;
            // Normal maps are read in a tangent frame made per triangle: bigger triangles on a
            // curved surface tilt it, so their normals are held much closer.
            let nstep = if mat.is_some_and(|m| m.normal_tex.is_some()) {
                NORMAL_STEP_MAPPED
            } else {
                NORMAL_STEP
            };
            let (wn, wc) = (t / nstep, t / COLOUR_STEP);
            let uvw = tex_size.map_or(0.0, |(s, _)| t * s / 0.5);
            let wm = 1.0 / extent;
            let mut weights = [wm; ATTRS];
            weights[..8].copy_from_slice(&[wn, wn, wn, wc, wc, wc, uvw, uvw]);
            weights[14] = t / 0.01;
            // Nothing is locked (borders aside); the crate has no attribute variant without a
            // lock array, and an empty one would be read past its end.
            let lock = vec![false; n];
            let finite = |v: &f32| v.is_finite();
            if !verts.iter().flat_map(|v| v.vp).all(|v| finite(&v)) || !attrs.iter().all(finite) {
                return None;
            }
            let bytes: Vec<u8> = verts
                .iter()
                .flat_map(|v| v.vp)
                .flat_map(f32::to_ne_bytes)
                .collect();
            let adapter = VertexDataAdapter::new(&bytes, 12, 0).ok()?;
            let out = meshopt::simplify_with_attributes_and_locks(
                &p.indices,
                &adapter,
                &attrs,
                &weights,
                ATTRS * 4,
                &lock,
                0,
                err,
                SimplifyOptions::LockBorder | SimplifyOptions::ErrorAbsolute,
                None,
            );
            (out.len() * 10 < p.indices.len() * 9 && out.len().is_multiple_of(3)).then_some(out)
        })
        .collect();
    // Lists above are in the primitives' own order: outlines take their surfaces' (outline
    // draws come after every surface), then draws drawn turned around (`Draw::turn`) turn theirs.
    for (i, d) in geo.draws.iter().enumerate() {
        if let Some(src) = d.outline {
            lists[i] = lists.get(src as usize).cloned().flatten();
        }
    }
    for (l, d) in lists.iter_mut().zip(&geo.draws) {
        if let (Some(l), true) = (l.as_mut(), d.turn) {
            *l = crate::scene::turned(l);
        }
    }
    lists
}

/// Size of the bounding box of `points` along each axis.
fn size(points: impl Iterator<Item = [f32; 3]>) -> [f32; 3] {
    let (mut lo, mut hi) = ([f32::MAX; 3], [f32::MIN; 3]);
    for q in points {
        for c in 0..3 {
            lo[c] = lo[c].min(q[c]);
            hi[c] = hi[c].max(q[c]);
        }
    }
    std::array::from_fn(|c| hi[c] - lo[c])
}
