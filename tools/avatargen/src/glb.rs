//! Minimal deterministic GLB writer for a [`Scene`].
//!
//! Layout: one buffer; one buffer view per accessor (4-byte aligned); vertex attributes as
//! floats; indices as u16/u32; morph targets as sparse accessors (core glTF 2.0) holding only
//! the vertices a target moves, with `min`/`max` on every POSITION accessor.

use crate::mesh::{Prim, Scene};
use serde_json::{json, Map, Value};

const FLOAT: u32 = 5126;
const U16: u32 = 5123;
const U32: u32 = 5125;
const ARRAY_BUFFER: u32 = 34962;
const ELEMENT_ARRAY_BUFFER: u32 = 34963;

#[derive(Default)]
struct Out {
    bin: Vec<u8>,
    views: Vec<Value>,
    accessors: Vec<Value>,
}

impl Out {
    fn view(&mut self, bytes: &[u8], target: Option<u32>) -> usize {
        while !self.bin.len().is_multiple_of(4) {
            self.bin.push(0);
        }
        let mut v = Map::new();
        v.insert("buffer".into(), json!(0));
        v.insert("byteOffset".into(), json!(self.bin.len()));
        v.insert("byteLength".into(), json!(bytes.len()));
        if let Some(t) = target {
            v.insert("target".into(), json!(t));
        }
        self.bin.extend_from_slice(bytes);
        self.views.push(Value::Object(v));
        self.views.len() - 1
    }

    fn accessor(&mut self, a: Value) -> usize {
        self.accessors.push(a);
        self.accessors.len() - 1
    }

    fn floats<const N: usize>(&mut self, data: &[[f32; N]], minmax: bool) -> usize {
        let mut bytes = Vec::with_capacity(data.len() * N * 4);
        for v in data {
            for c in v {
                bytes.extend_from_slice(&c.to_le_bytes());
            }
        }
        let view = self.view(&bytes, Some(ARRAY_BUFFER));
        let mut a = json!({
            "bufferView": view,
            "componentType": FLOAT,
            "count": data.len(),
            "type": vec_type(N),
        });
        if minmax {
            let (mn, mx) = min_max(data);
            a["min"] = json!(mn);
            a["max"] = json!(mx);
        }
        self.accessor(a)
    }

    fn indices(&mut self, idx: &[u32], n_verts: usize) -> usize {
        let (bytes, ct) = index_bytes(idx, n_verts);
        let view = self.view(&bytes, Some(ELEMENT_ARRAY_BUFFER));
        self.accessor(json!({
            "bufferView": view,
            "componentType": ct,
            "count": idx.len(),
            "type": "SCALAR",
        }))
    }

    /// Sparse VEC3 accessor of `dense` (zeros omitted; at least one entry is stored).
    fn sparse_vec3(&mut self, dense: &[[f32; 3]], minmax: bool) -> usize {
        let mut idx: Vec<u32> = Vec::new();
        let mut vals: Vec<u8> = Vec::new();
        for (i, v) in dense.iter().enumerate() {
            if v.iter().any(|&c| c != 0.0) {
                idx.push(i as u32);
                for c in v {
                    vals.extend_from_slice(&c.to_le_bytes());
                }
            }
        }
        if idx.is_empty() {
            idx.push(0);
            vals.extend_from_slice(&[0u8; 12]);
        }
        let (ibytes, ct) = index_bytes(&idx, dense.len());
        let iv = self.view(&ibytes, None);
        let vv = self.view(&vals, None);
        let mut a = json!({
            "componentType": FLOAT,
            "count": dense.len(),
            "type": "VEC3",
            "sparse": {
                "count": idx.len(),
                "indices": { "bufferView": iv, "componentType": ct },
                "values": { "bufferView": vv },
            },
        });
        if minmax {
            let (mn, mx) = min_max(dense);
            a["min"] = json!(mn);
            a["max"] = json!(mx);
        }
        self.accessor(a)
    }
}

fn vec_type(n: usize) -> &'static str {
    match n {
        2 => "VEC2",
        3 => "VEC3",
        4 => "VEC4",
        _ => "SCALAR",
    }
}

fn min_max<const N: usize>(data: &[[f32; N]]) -> (Vec<f32>, Vec<f32>) {
    let mut mn = vec![f32::INFINITY; N];
    let mut mx = vec![f32::NEG_INFINITY; N];
    for v in data {
        for k in 0..N {
            mn[k] = mn[k].min(v[k]);
            mx[k] = mx[k].max(v[k]);
        }
    }
    if data.is_empty() {
        mn = vec![0.0; N];
        mx = vec![0.0; N];
    }
    (mn, mx)
}

fn index_bytes(idx: &[u32], n_verts: usize) -> (Vec<u8>, u32) {
    if n_verts <= u16::MAX as usize {
        let mut b = Vec::with_capacity(idx.len() * 2);
        for &i in idx {
            b.extend_from_slice(&(i as u16).to_le_bytes());
        }
        (b, U16)
    } else {
        let mut b = Vec::with_capacity(idx.len() * 4);
        for &i in idx {
            b.extend_from_slice(&i.to_le_bytes());
        }
        (b, U32)
    }
}

fn prim_json(out: &mut Out, p: &Prim, normal_targets: bool) -> Value {
    let pos = out.floats(&p.positions, true);
    let nor = out.floats(&p.normals, false);
    let col = {
        let bytes: Vec<u8> = p.colors.iter().flatten().copied().collect();
        let view = out.view(&bytes, Some(ARRAY_BUFFER));
        out.accessor(json!({
            "bufferView": view,
            "componentType": 5121,
            "normalized": true,
            "count": p.colors.len(),
            "type": "VEC4",
        }))
    };
    let ind = out.indices(&p.indices, p.positions.len());
    let mut targets = Vec::new();
    for (dp, dn) in &p.targets {
        let a = out.sparse_vec3(dp, true);
        let mut t = json!({ "POSITION": a });
        if normal_targets {
            t["NORMAL"] = json!(out.sparse_vec3(dn, false));
        }
        targets.push(t);
    }
    let mut v = json!({
        "attributes": { "POSITION": pos, "NORMAL": nor, "COLOR_0": col },
        "indices": ind,
        "material": p.material,
        "mode": 4,
    });
    if !targets.is_empty() {
        v["targets"] = json!(targets);
    }
    v
}

/// Serialise the scene to GLB bytes.
pub fn write_glb(scene: &Scene) -> Vec<u8> {
    let mut out = Out::default();
    let mut meshes = Vec::new();
    for m in &scene.meshes {
        let normal_targets = m.prims.iter().any(|p| {
            p.targets
                .iter()
                .any(|(_, n)| n.iter().any(|v| v.iter().any(|&c| c != 0.0)))
        });
        let prims: Vec<Value> = m
            .prims
            .iter()
            .map(|p| prim_json(&mut out, p, normal_targets))
            .collect();
        let mut mj = json!({ "name": m.name, "primitives": prims });
        if !m.target_names.is_empty() {
            mj["weights"] = json!(vec![0.0; m.target_names.len()]);
            mj["extras"] = json!({ "targetNames": m.target_names });
        }
        meshes.push(mj);
    }
    let nodes: Vec<Value> = scene
        .nodes
        .iter()
        .map(|n| {
            let mut v = json!({ "name": n.name });
            if n.translation != [0.0; 3] {
                v["translation"] = json!(n.translation);
            }
            if let Some(m) = n.mesh {
                v["mesh"] = json!(m);
            }
            if !n.children.is_empty() {
                v["children"] = json!(n.children);
            }
            v
        })
        .collect();
    let materials: Vec<Value> = scene
        .materials
        .iter()
        .map(|m| {
            let c = m.base_color;
            let mut v = json!({
                "name": m.name,
                "pbrMetallicRoughness": {
                    "baseColorFactor": [c[0] as f32, c[1] as f32, c[2] as f32, c[3] as f32],
                    "metallicFactor": m.metallic as f32,
                    "roughnessFactor": m.roughness as f32,
                },
            });
            if m.double_sided {
                v["doubleSided"] = json!(true);
            }
            if let Some(cut) = m.alpha_cutoff {
                v["alphaMode"] = json!("MASK");
                v["alphaCutoff"] = json!(cut as f32);
            }
            v
        })
        .collect();
    while !out.bin.len().is_multiple_of(4) {
        out.bin.push(0);
    }
    let doc = json!({
        "asset": {
            "version": "2.0",
            "generator": "facecast avatargen (tools/avatargen)",
            "copyright": "facecast project; same license as the repository (MIT OR Apache-2.0)",
        },
        "scene": 0,
        "scenes": [{ "name": scene.name, "nodes": scene.roots }],
        "nodes": nodes,
        "meshes": meshes,
        "materials": materials,
        "accessors": out.accessors,
        "bufferViews": out.views,
        "buffers": [{ "byteLength": out.bin.len() }],
    });
    let mut js = serde_json::to_vec(&doc).unwrap_or_default();
    while !js.len().is_multiple_of(4) {
        js.push(b' ');
    }
    let total = 12 + 8 + js.len() + 8 + out.bin.len();
    let mut glb = Vec::with_capacity(total);
    glb.extend_from_slice(b"glTF");
    glb.extend_from_slice(&2u32.to_le_bytes());
    glb.extend_from_slice(&(total as u32).to_le_bytes());
    glb.extend_from_slice(&(js.len() as u32).to_le_bytes());
    glb.extend_from_slice(b"JSON");
    glb.extend_from_slice(&js);
    glb.extend_from_slice(&(out.bin.len() as u32).to_le_bytes());
    glb.extend_from_slice(b"BIN\0");
    glb.extend_from_slice(&out.bin);
    glb
}
