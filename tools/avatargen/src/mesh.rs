//! Scene description (what the GLB writer serialises) and a triangle-soup builder.

use crate::v3::{qf, V3};

/// Per-vertex modelling information the morph functions read.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Tag {
    /// Which part of the model the vertex belongs to.
    pub kind: Kind,
    /// Part-specific parameters (see [`Kind`]).
    pub a: f64,
    pub b: f64,
    pub c: f64,
    /// +1 upper lip / upper lid / left, -1 lower / right, blends in between.
    pub side: f64,
    /// How much the vertex follows the jaw (0..1).
    pub jaw: f64,
}

/// Model parts.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    /// Face skin; `a` = ring index (0 = lip edge), `b` = ring angle φ.
    #[default]
    Skin,
    /// Inner lip rings, `a` = 0..1 inward, `b` = φ.
    InnerLip,
    /// Mouth cavity.
    Cavity,
    /// Eyelid; `a` = azimuth, `b` = elevation (rad), `c` = radius, `side` = +1 upper / -1 lower,
    /// eye given by the sign of x.
    Lid,
    /// Eyebrow, ears, other skin attachments that follow the skin field only.
    Attached,
    /// Rigid with the lower jaw.
    Jaw,
    /// Tongue; `a` = normalised forwardness (-1 back .. 1 tip).
    Tongue,
}

/// A material.
#[derive(Clone, Debug, PartialEq)]
pub struct MaterialDef {
    pub name: &'static str,
    /// Linear RGBA.
    pub base_color: [f64; 4],
    pub roughness: f64,
    pub metallic: f64,
    pub double_sided: bool,
    pub alpha_cutoff: Option<f64>,
}

/// Dense (position, normal) deltas of one morph target.
pub type TargetDeltas = (Vec<[f32; 3]>, Vec<[f32; 3]>);

/// One primitive ready to be written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prim {
    pub material: usize,
    pub positions: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
    /// COLOR_0, linear RGBA as normalised bytes.
    pub colors: Vec<[u8; 4]>,
    pub indices: Vec<u32>,
    /// Dense (position, normal) deltas, one per mesh target.
    pub targets: Vec<TargetDeltas>,
}

/// A mesh.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MeshDef {
    pub name: String,
    pub target_names: Vec<String>,
    pub prims: Vec<Prim>,
}

/// A node (translation only).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeDef {
    pub name: String,
    pub translation: [f32; 3],
    pub mesh: Option<usize>,
    pub children: Vec<usize>,
}

/// The whole scene.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scene {
    pub name: String,
    pub nodes: Vec<NodeDef>,
    pub roots: Vec<usize>,
    pub meshes: Vec<MeshDef>,
    pub materials: Vec<MaterialDef>,
}

/// Triangle-soup builder with per-vertex colour and tag.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    pub pos: Vec<V3>,
    pub col: Vec<[f64; 4]>,
    pub tag: Vec<Tag>,
    pub tris: Vec<[u32; 3]>,
    pub mat: Vec<usize>,
}

impl Builder {
    pub fn vert(&mut self, p: V3, c: [f64; 4], t: Tag) -> u32 {
        self.pos.push(p);
        self.col.push(c);
        self.tag.push(t);
        (self.pos.len() - 1) as u32
    }

    pub fn tri(&mut self, a: u32, b: u32, c: u32, m: usize) {
        if a == b || b == c || a == c {
            return;
        }
        self.tris.push([a, b, c]);
        self.mat.push(m);
    }

    /// Connect consecutive rows of vertex ids (equal lengths) with quads.
    /// `closed` wraps each row around. Material per band given by `m(row)`.
    pub fn grid(&mut self, rows: &[Vec<u32>], closed: bool, m: impl Fn(usize) -> usize) {
        for r in 0..rows.len().saturating_sub(1) {
            let (a, b) = (&rows[r], &rows[r + 1]);
            let n = a.len();
            let cols = if closed { n } else { n - 1 };
            for j in 0..cols {
                let j1 = (j + 1) % n;
                let mm = m(r);
                self.tri(a[j], a[j1], b[j1], mm);
                self.tri(a[j], b[j1], b[j], mm);
            }
        }
    }

    /// Fan from a single vertex to a closed row.
    pub fn fan(&mut self, centre: u32, row: &[u32], m: usize, flip: bool) {
        let n = row.len();
        for j in 0..n {
            let j1 = (j + 1) % n;
            if flip {
                self.tri(centre, row[j1], row[j], m);
            } else {
                self.tri(centre, row[j], row[j1], m);
            }
        }
    }

    /// Make triangles `from..` face away from `centre` on average (flip all if not).
    pub fn orient_outward(&mut self, from: usize, centre: V3) {
        let mut s = 0.0;
        for t in &self.tris[from..] {
            let (a, b, c) = (
                self.pos[t[0] as usize],
                self.pos[t[1] as usize],
                self.pos[t[2] as usize],
            );
            let n = (b - a).cross(c - a);
            s += n.dot((a + b + c) * (1.0 / 3.0) - centre);
        }
        if s < 0.0 {
            for t in &mut self.tris[from..] {
                t.swap(1, 2);
            }
        }
    }

    /// Area-weighted smooth normals of positions `p`.
    pub fn normals(&self, p: &[V3]) -> Vec<V3> {
        let mut n = vec![V3::ZERO; p.len()];
        for t in &self.tris {
            let (a, b, c) = (p[t[0] as usize], p[t[1] as usize], p[t[2] as usize]);
            let f = (b - a).cross(c - a);
            for &i in t {
                n[i as usize] += f;
            }
        }
        n.into_iter().map(|v| v.norm()).collect()
    }

    /// Split by material into primitives. `targets` are full position deltas per vertex.
    pub fn finish(&self, targets: &[Vec<V3>], with_normal_deltas: &[bool]) -> Vec<Prim> {
        let n0 = self.normals(&self.pos);
        let tn: Vec<Vec<V3>> = targets
            .iter()
            .enumerate()
            .map(|(k, d)| {
                if !with_normal_deltas.get(k).copied().unwrap_or(false) {
                    return vec![V3::ZERO; self.pos.len()];
                }
                let moved: Vec<V3> = self.pos.iter().zip(d).map(|(&p, &dd)| p + dd).collect();
                let n1 = self.normals(&moved);
                n1.iter()
                    .zip(&n0)
                    .map(|(&a, &b)| {
                        let d = a - b;
                        if d.len() < 0.04 {
                            V3::ZERO
                        } else {
                            d
                        }
                    })
                    .collect()
            })
            .collect();
        let mut mats: Vec<usize> = Vec::new();
        for &m in &self.mat {
            if !mats.contains(&m) {
                mats.push(m);
            }
        }
        let mut out = Vec::new();
        for m in mats {
            let mut remap = vec![u32::MAX; self.pos.len()];
            let mut prim = Prim {
                material: m,
                ..Default::default()
            };
            prim.targets = vec![(Vec::new(), Vec::new()); targets.len()];
            for (t, &tm) in self.tris.iter().zip(&self.mat) {
                if tm != m {
                    continue;
                }
                for &i in t {
                    let i = i as usize;
                    if remap[i] == u32::MAX {
                        remap[i] = prim.positions.len() as u32;
                        prim.positions.push(self.pos[i].q());
                        let nn = n0[i];
                        prim.normals
                            .push([qf(nn.x, 1e5), qf(nn.y, 1e5), qf(nn.z, 1e5)]);
                        let c = self.col[i];
                        let u = |x: f64| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
                        prim.colors.push([u(c[0]), u(c[1]), u(c[2]), u(c[3])]);
                        for (k, d) in targets.iter().enumerate() {
                            let dp = d[i];
                            let dp = if dp.len() < 4e-5 { V3::ZERO } else { dp };
                            prim.targets[k].0.push(dp.q());
                            let dn = tn[k][i];
                            prim.targets[k]
                                .1
                                .push([qf(dn.x, 1e4), qf(dn.y, 1e4), qf(dn.z, 1e4)]);
                        }
                    }
                    prim.indices.push(remap[i]);
                }
            }
            out.push(prim);
        }
        out
    }
}
