//! Meshes: primitives (attributes, indices, triangulation), sparse morph targets, smooth normals.

use crate::data::{Data, MorphData};
use crate::draco;
use crate::error::{invalid, Res};
use crate::gltf;
use facecast_core::model::{Mesh, MorphTarget, Primitive};
use std::collections::HashMap;

/// Warnings gathered while building meshes.
#[derive(Default)]
pub(crate) struct MeshStats {
    /// Primitives skipped or loaded with a caveat, one line each.
    pub primitive_notes: Vec<String>,
    pub generated_normals: usize,
    /// Zero-length or non-finite normals replaced by smooth ones.
    pub replaced_normals: usize,
    /// Normals more than 2 % off unit length, normalised.
    pub rescaled_normals: usize,
    pub renormalized_weights: usize,
    pub zero_weights: usize,
    /// Vertices with more than four non-zero joint influences (`JOINTS_1` / `WEIGHTS_1` ...),
    /// of which the four largest were kept.
    pub dropped_influences: usize,
}

/// Most `JOINTS_n` / `WEIGHTS_n` sets read (glTF allows any number; four per set).
const MAX_JOINT_SETS: usize = 8;

/// One `JOINTS_n` / `WEIGHTS_n` set: joint indices and weights (not negative, finite), four per
/// vertex.
type JointSet = (Vec<[u16; 4]>, Vec<[f32; 4]>);

fn to_vec3(v: Vec<f32>) -> Vec<[f32; 3]> {
    v.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

fn to_vec2(v: Vec<f32>) -> Vec<[f32; 2]> {
    v.chunks_exact(2).map(|c| [c[0], c[1]]).collect()
}

fn to_vec4(v: Vec<f32>) -> Vec<[f32; 4]> {
    v.chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect()
}

/// Where a primitive's vertex data comes from: its accessors, or for the attributes a
/// `KHR_draco_mesh_compression` stream names, the decoded stream.
struct Source<'s, 'd> {
    data: &'s Data<'d>,
    draco: Option<&'s draco::Decoded>,
}

impl Source<'_, '_> {
    /// Float attribute `name` (accessor `acc`), checked to have `n` elements when given.
    fn floats(
        &self,
        name: &str,
        acc: usize,
        n: Option<usize>,
        what: &str,
    ) -> Res<(Vec<f32>, usize)> {
        let (v, comps) = match self.draco {
            Some(d) if d.has(name) => d.read(self.data, name, acc, what)?,
            _ => self.data.read_f32(acc)?,
        };
        let count = v.len() / comps.max(1);
        match n {
            Some(n) if count != n => Err(invalid!(
                "{what}: {name} accessor {acc} has {count} elements but POSITION has {n}"
            )),
            _ => Ok((v, comps)),
        }
    }

    /// Joint set `name` (`JOINTS_n`, accessor `acc`) as indices, four per vertex.
    fn joints(&self, name: &str, acc: usize, n: usize, what: &str) -> Res<Vec<[u16; 4]>> {
        let jv = match self.draco {
            Some(d) if d.has(name) => {
                let (v, _) = self.floats(name, acc, Some(n), what)?;
                v.into_iter().map(|x| x as u32).collect()
            }
            _ => self.data.read_u32(acc, what)?.0,
        };
        if jv.len() / 4 != n {
            return Err(invalid!(
                "{what}: {name} accessor {acc} has {} elements but POSITION has {n}",
                jv.len() / 4
            ));
        }
        let mut joints = Vec::with_capacity(n);
        for c in jv.chunks_exact(4) {
            let mut o = [0u16; 4];
            for (k, &v) in c.iter().enumerate() {
                o[k] = u16::try_from(v)
                    .map_err(|_| invalid!("{what}: joint index {v} out of range in {name}"))?;
            }
            joints.push(o);
        }
        Ok(joints)
    }
}

/// Build mesh `mi`.
pub(crate) fn build_mesh(
    root: &gltf::Root,
    data: &Data<'_>,
    mi: usize,
    stats: &mut MeshStats,
) -> Res<Mesh> {
    let gm = &root.meshes[mi];
    let mut prims = Vec::with_capacity(gm.primitives.len());
    let mut n_targets = 0usize;
    for (pi, gp) in gm.primitives.iter().enumerate() {
        let what = format!("mesh {mi} primitive {pi}");
        match gp.mode {
            4..=6 => {}
            0..=3 => {
                let kind = ["points", "lines", "line loop", "line strip"][gp.mode as usize];
                stats.primitive_notes.push(format!(
                    "{what}: {kind} primitive skipped (only triangles are rendered)"
                ));
                continue;
            }
            m => return Err(invalid!("{what}: unknown primitive mode {m}")),
        }
        let Some(&pos_acc) = gp.attributes.get("POSITION") else {
            stats
                .primitive_notes
                .push(format!("{what}: no POSITION attribute, skipped"));
            continue;
        };
        let draco = draco::decode(data, gp, &what)?;
        let src = Source {
            data,
            draco: draco.as_ref(),
        };
        data.expect_type(pos_acc, &["VEC3"], &what)?;
        let positions = to_vec3(src.floats("POSITION", pos_acc, None, &what)?.0);
        let n = positions.len();
        if n > u32::MAX as usize {
            return Err(invalid!("{what}: too many vertices ({n})"));
        }
        let mut p = Primitive {
            positions,
            ..Default::default()
        };
        let read = |name: &str, types: &[&str]| -> Res<Option<(Vec<f32>, usize)>> {
            match gp.attributes.get(name) {
                Some(&a) => {
                    data.expect_type(a, types, &what)?;
                    src.floats(name, a, Some(n), &what).map(Some)
                }
                None => Ok(None),
            }
        };
        if let Some((v, _)) = read("NORMAL", &["VEC3"])? {
            p.normals = to_vec3(v);
        }
        if let Some((v, _)) = read("TANGENT", &["VEC4"])? {
            p.tangents = to_vec4(v);
        }
        if let Some((v, _)) = read("TEXCOORD_0", &["VEC2"])? {
            p.uv0 = to_vec2(v);
        }
        if let Some((v, _)) = read("TEXCOORD_1", &["VEC2"])? {
            p.uv1 = to_vec2(v);
        }
        if let Some((v, comps)) = read("COLOR_0", &["VEC3", "VEC4"])? {
            p.colors = if comps == 3 {
                v.chunks_exact(3).map(|c| [c[0], c[1], c[2], 1.0]).collect()
            } else {
                to_vec4(v)
            };
        }
        // Joint influences: sets `JOINTS_n` / `WEIGHTS_n` for n = 0, 1, ... while both exist.
        // Skinning uses four per vertex: those of set 0, each replaced by a larger weight of a
        // later set, then renormalised.
        let set = |k: usize| -> Res<Option<JointSet>> {
            let (jn, wn) = (format!("JOINTS_{k}"), format!("WEIGHTS_{k}"));
            let (Some(&j), true) = (gp.attributes.get(&jn), gp.attributes.contains_key(&wn)) else {
                return Ok(None);
            };
            data.expect_type(j, &["VEC4"], &what)?;
            let joints = src.joints(&jn, j, n, &what)?;
            let mut weights = to_vec4(read(&wn, &["VEC4"])?.unwrap_or_default().0);
            for x in weights.iter_mut().flatten() {
                if !x.is_finite() || *x < 0.0 {
                    *x = 0.0;
                }
            }
            Ok(Some((joints, weights)))
        };
        if let Some((mut joints, mut weights)) = set(0)? {
            let mut extra = Vec::new();
            for k in 1..MAX_JOINT_SETS {
                let Some(s) = set(k)? else { break };
                extra.push(s);
            }
            for (i, (wt, jt)) in weights.iter_mut().zip(&mut joints).enumerate() {
                let mut total: f32 = wt.iter().sum();
                let mut dropped = false;
                for (js, ws) in &extra {
                    for (&j, &w) in js[i].iter().zip(&ws[i]) {
                        if w <= 0.0 {
                            continue;
                        }
                        total += w;
                        let at = (0..4).fold(0, |a, c| if wt[c] < wt[a] { c } else { a });
                        dropped |= wt[at].min(w) > 0.0;
                        if w > wt[at] {
                            (wt[at], jt[at]) = (w, j);
                        }
                    }
                }
                stats.dropped_influences += dropped as usize;
                let s: f32 = wt.iter().sum();
                if s <= 1e-8 {
                    stats.zero_weights += 1;
                    *wt = [1.0, 0.0, 0.0, 0.0];
                } else {
                    if (total - 1.0).abs() > 0.01 {
                        stats.renormalized_weights += 1;
                    }
                    for x in wt.iter_mut() {
                        *x /= s;
                    }
                }
            }
            p.joints = joints;
            p.weights = weights;
        }
        if draco.as_ref().is_some_and(|d| d.reordered) && !gp.targets.is_empty() {
            stats.primitive_notes.push(format!(
                "{what}: morph targets on an Edgebreaker-coded {} stream, whose decoder reorders the points; the targets may move the wrong vertices (encoders keep the order with sequential coding)",
                draco::NAME
            ));
        }
        // indices (a Draco stream holds its own triangle list)
        if let Some(d) = draco {
            // Its indices address the stream's points, which every attribute must have.
            if d.points != n {
                return Err(invalid!(
                    "{what}: POSITION has {n} vertices but the {} stream decodes {} points",
                    draco::NAME,
                    d.points
                ));
            }
            p.indices = d.indices;
        } else {
            let raw: Vec<u32> = match gp.indices {
                Some(ia) => {
                    data.expect_type(ia, &["SCALAR"], &what)?;
                    let (v, _) = data.read_u32(ia, &format!("{what} indices"))?;
                    if let Some(bad) = v.iter().find(|&&x| x as usize >= n) {
                        return Err(invalid!("{what}: index {bad} out of range ({n} vertices)"));
                    }
                    v
                }
                None => (0..n as u32).collect(),
            };
            p.indices = triangulate(raw, gp.mode);
        }
        if let Some(m) = gp.material {
            if m >= root.materials.len() {
                return Err(invalid!(
                    "{what}: material {m} does not exist ({} materials)",
                    root.materials.len()
                ));
            }
            p.material = Some(m as u32);
        }
        // morph targets
        for (ti, t) in gp.targets.iter().enumerate() {
            let twhat = format!("{what} target {ti}");
            let pos = match t.get("POSITION") {
                Some(&a) => Some(morph_attr(data, a, n, &twhat)?),
                None => None,
            };
            let nrm = match t.get("NORMAL") {
                Some(&a) => Some(morph_attr(data, a, n, &twhat)?),
                None => None,
            };
            p.targets.push(merge_target(pos, nrm));
        }
        n_targets = n_targets.max(p.targets.len());
        if p.normals.is_empty() {
            p.normals = smooth_normals(&p.positions, &p.indices);
            stats.generated_normals += 1;
        } else {
            repair_normals(&mut p, stats);
        }
        prims.push(p);
    }
    let pad: usize = prims.iter().map(|p| n_targets - p.targets.len()).sum();
    data.charge(
        pad.saturating_mul(std::mem::size_of::<MorphTarget>()),
        || format!("mesh {mi} morph targets"),
    )?;
    for p in prims.iter_mut() {
        p.targets.resize_with(n_targets, MorphTarget::default);
    }
    let extras_names = gm
        .extras
        .as_ref()
        .and_then(|e| e.get("targetNames"))
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let target_names = (0..n_targets)
        .map(|i| match extras_names.get(i) {
            Some(s) if !s.is_empty() => s.clone(),
            _ => format!("target_{i}"),
        })
        .collect();
    let mut default_weights: Vec<f32> = gm
        .weights
        .iter()
        .map(|w| if w.is_finite() { *w } else { 0.0 })
        .collect();
    default_weights.resize(n_targets, 0.0);
    Ok(Mesh {
        name: gm.name.clone().unwrap_or_default(),
        primitives: prims,
        target_names,
        default_weights,
    })
}

/// A morph attribute as sorted (index, delta) pairs without zero deltas.
fn morph_attr(data: &Data<'_>, acc: usize, n: usize, what: &str) -> Res<Vec<(u32, [f32; 3])>> {
    data.expect_type(acc, &["VEC3"], what)?;
    let (count, _) = data.shape(acc)?;
    if count != n {
        return Err(invalid!(
            "{what}: accessor {acc} has {count} elements but POSITION has {n}"
        ));
    }
    let (md, _) = data.read_morph(acc)?;
    let nonzero = |v: &[f32]| v[0] != 0.0 || v[1] != 0.0 || v[2] != 0.0;
    Ok(match md {
        MorphData::Dense(v) => v
            .chunks_exact(3)
            .enumerate()
            .filter(|(_, c)| nonzero(c))
            .map(|(i, c)| (i as u32, [c[0], c[1], c[2]]))
            .collect(),
        MorphData::Sparse(sp) => {
            let mut pairs: Vec<(u32, [f32; 3])> = sp
                .indices
                .iter()
                .zip(sp.values.chunks_exact(3))
                .map(|(&i, c)| (i, [c[0], c[1], c[2]]))
                .collect();
            // sparse indices must be ascending; be tolerant: sort and keep the last duplicate
            pairs.sort_by_key(|p| p.0);
            let mut dedup: Vec<(u32, [f32; 3])> = Vec::with_capacity(pairs.len());
            for p in pairs {
                match dedup.last_mut() {
                    Some(l) if l.0 == p.0 => *l = p,
                    _ => dedup.push(p),
                }
            }
            dedup.retain(|p| nonzero(&p.1));
            dedup
        }
    })
}

/// Merge position and normal delta lists into one sparse target (union of moved vertices).
fn merge_target(
    pos: Option<Vec<(u32, [f32; 3])>>,
    nrm: Option<Vec<(u32, [f32; 3])>>,
) -> MorphTarget {
    let pos = pos.unwrap_or_default();
    let has_normals = nrm.is_some();
    let nrm = nrm.unwrap_or_default();
    let mut t = MorphTarget::default();
    let (mut i, mut j) = (0, 0);
    while i < pos.len() || j < nrm.len() {
        let pi = pos.get(i).map(|p| p.0).unwrap_or(u32::MAX);
        let nj = nrm.get(j).map(|p| p.0).unwrap_or(u32::MAX);
        let idx = pi.min(nj);
        t.indices.push(idx);
        if pi == idx {
            t.positions.push(pos[i].1);
            i += 1;
        } else {
            t.positions.push([0.0; 3]);
        }
        if has_normals {
            if nj == idx {
                t.normals.push(nrm[j].1);
                j += 1;
            } else {
                t.normals.push([0.0; 3]);
            }
        } else if nj == idx {
            j += 1;
        }
    }
    t
}

/// Convert strips and fans to triangle lists; drop a trailing partial triangle.
fn triangulate(raw: Vec<u32>, mode: u32) -> Vec<u32> {
    match mode {
        5 => {
            let mut out = Vec::with_capacity(raw.len().saturating_sub(2) * 3);
            for i in 0..raw.len().saturating_sub(2) {
                if i % 2 == 0 {
                    out.extend_from_slice(&[raw[i], raw[i + 1], raw[i + 2]]);
                } else {
                    out.extend_from_slice(&[raw[i + 1], raw[i], raw[i + 2]]);
                }
            }
            out
        }
        6 => {
            let mut out = Vec::with_capacity(raw.len().saturating_sub(2) * 3);
            for i in 1..raw.len().saturating_sub(1) {
                out.extend_from_slice(&[raw[i], raw[i + 1], raw[0]]);
            }
            out
        }
        _ => {
            let mut v = raw;
            let keep = v.len() / 3 * 3;
            v.truncate(keep);
            v
        }
    }
}

/// glTF normals must be unit vectors. Zero-length or non-finite ones (which would shade black
/// or pull their neighbours' interpolated normals) get the smooth normal there; ones more than
/// 2 % off unit length (which would weigh more or less than their neighbours across a triangle)
/// are normalised. Quantized normals within 2 % are left as they are.
fn repair_normals(p: &mut Primitive, stats: &mut MeshStats) {
    let mut smooth: Option<Vec<[f32; 3]>> = None;
    for i in 0..p.normals.len() {
        let n = p.normals[i];
        let l2 = n[0] * n[0] + n[1] * n[1] + n[2] * n[2];
        if !l2.is_finite() || l2 < 1e-12 {
            let s = smooth.get_or_insert_with(|| smooth_normals(&p.positions, &p.indices));
            p.normals[i] = s.get(i).copied().unwrap_or([0.0, 0.0, 1.0]);
            stats.replaced_normals += 1;
        } else if (l2.sqrt() - 1.0).abs() > 0.02 {
            let l = l2.sqrt();
            p.normals[i] = [n[0] / l, n[1] / l, n[2] / l];
            stats.rescaled_normals += 1;
        }
    }
}

/// Area-weighted smooth normals; vertices at the same position (UV seams) share their normal.
pub(crate) fn smooth_normals(positions: &[[f32; 3]], indices: &[u32]) -> Vec<[f32; 3]> {
    let key = |p: &[f32; 3]| [p[0].to_bits(), p[1].to_bits(), p[2].to_bits()];
    let mut weld: HashMap<[u32; 3], usize> = HashMap::with_capacity(positions.len());
    let slot: Vec<usize> = positions
        .iter()
        .map(|p| {
            let next = weld.len();
            *weld.entry(key(p)).or_insert(next)
        })
        .collect();
    let mut acc = vec![[0.0f32; 3]; weld.len()];
    for t in indices.chunks_exact(3) {
        let (a, b, c) = (t[0] as usize, t[1] as usize, t[2] as usize);
        let (Some(pa), Some(pb), Some(pc)) = (positions.get(a), positions.get(b), positions.get(c))
        else {
            continue;
        };
        let e1 = [pb[0] - pa[0], pb[1] - pa[1], pb[2] - pa[2]];
        let e2 = [pc[0] - pa[0], pc[1] - pa[1], pc[2] - pa[2]];
        let n = [
            e1[1] * e2[2] - e1[2] * e2[1],
            e1[2] * e2[0] - e1[0] * e2[2],
            e1[0] * e2[1] - e1[1] * e2[0],
        ];
        if !(n[0].is_finite() && n[1].is_finite() && n[2].is_finite()) {
            continue;
        }
        for v in [a, b, c] {
            let s = &mut acc[slot[v]];
            s[0] += n[0];
            s[1] += n[1];
            s[2] += n[2];
        }
    }
    slot.iter()
        .map(|&s| {
            let n = acc[s];
            let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            if l > 0.0 && l.is_finite() {
                [n[0] / l, n[1] / l, n[2] / l]
            } else {
                [0.0, 0.0, 1.0]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_fans() {
        assert_eq!(triangulate(vec![0, 1, 2, 3], 5), vec![0, 1, 2, 2, 1, 3]);
        assert_eq!(triangulate(vec![0, 1, 2, 3], 6), vec![1, 2, 0, 2, 3, 0]);
        assert_eq!(triangulate(vec![0, 1, 2, 3], 4), vec![0, 1, 2]);
        assert!(triangulate(vec![0, 1], 5).is_empty());
    }

    #[test]
    fn merge_keeps_union() {
        let t = merge_target(
            Some(vec![(1, [1.0, 0.0, 0.0]), (5, [0.0, 2.0, 0.0])]),
            Some(vec![(3, [0.0, 0.0, 1.0]), (5, [1.0, 0.0, 0.0])]),
        );
        assert_eq!(t.indices, vec![1, 3, 5]);
        assert_eq!(t.positions[1], [0.0; 3]);
        assert_eq!(t.normals[0], [0.0; 3]);
        assert_eq!(t.normals[2], [1.0, 0.0, 0.0]);
    }

    #[test]
    fn smooth_normals_of_a_quad_point_up() {
        let p = [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 0.0, -1.0],
            [0.0, 0.0, -1.0],
        ];
        let n = smooth_normals(&p, &[0, 1, 2, 0, 2, 3]);
        for v in n {
            assert!((v[1] - 1.0).abs() < 1e-6, "{v:?}");
        }
    }
}
