//! Hand-built glTF files exercising loader features and error messages.

use base64::Engine;
use facecast_avatar::{inspect, load_bytes, AvatarError};
use facecast_core::model::{
    AlphaMode, ColliderShape, ColorTarget, ConstraintKind, OutlineMode, SpringTail, TextureBind,
    Wrap,
};
use facecast_core::{ArkitShape, Viseme};
use serde_json::{json, Value};

/// Little-endian byte writer for test buffers.
#[derive(Default)]
struct Bin(Vec<u8>);

impl Bin {
    fn f32s(&mut self, v: &[f32]) -> (usize, usize) {
        let o = self.0.len();
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
        self.pad();
        (o, v.len() * 4)
    }
    fn u16s(&mut self, v: &[u16]) -> (usize, usize) {
        let o = self.0.len();
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
        self.pad();
        (o, v.len() * 2)
    }
    fn u8s(&mut self, v: &[u8]) -> (usize, usize) {
        let o = self.0.len();
        self.0.extend_from_slice(v);
        self.pad();
        (o, v.len())
    }
    fn pad(&mut self) {
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
    }
    fn uri(&self) -> String {
        format!(
            "data:application/octet-stream;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&self.0)
        )
    }
}

/// Collects buffer views and accessors.
#[derive(Default)]
struct Doc {
    bin: Bin,
    views: Vec<Value>,
    accessors: Vec<Value>,
}

impl Doc {
    fn view(&mut self, (o, l): (usize, usize)) -> usize {
        self.views
            .push(json!({"buffer": 0, "byteOffset": o, "byteLength": l}));
        self.views.len() - 1
    }
    fn acc(&mut self, view: usize, ct: u32, count: usize, kind: &str, normalized: bool) -> usize {
        self.accessors.push(json!({"bufferView": view, "componentType": ct, "count": count, "type": kind, "normalized": normalized}));
        self.accessors.len() - 1
    }
    fn vec3(&mut self, v: &[f32]) -> usize {
        let r = self.bin.f32s(v);
        let view = self.view(r);
        self.acc(view, 5126, v.len() / 3, "VEC3", false)
    }
    fn finish(self, mut root: Value) -> Vec<u8> {
        root["asset"] = json!({"version": "2.0"});
        root["buffers"] = json!([{"byteLength": self.bin.0.len(), "uri": self.bin.uri()}]);
        root["bufferViews"] = Value::Array(self.views);
        root["accessors"] = Value::Array(self.accessors);
        serde_json::to_vec(&root).expect("json")
    }
}

fn err(bytes: &[u8], name: &str) -> String {
    match load_bytes(bytes, name, None) {
        Ok(_) => panic!("{name} loaded but should fail"),
        Err(e) => {
            let s = e.to_string();
            assert!(!s.contains('\n'), "error is one line: {s}");
            s
        }
    }
}

#[test]
fn bad_magic_is_reported() {
    let e = err(b"\x89PNG\r\n\x1a\nxxxx", "x.glb");
    assert_eq!(e, "x.glb: not a glTF file (bad magic 0x89504e47)");
    assert!(matches!(
        load_bytes(b"", "empty.glb", None),
        Err(AvatarError::NotGltf { .. })
    ));
}

#[test]
fn unsupported_required_extension_is_named() {
    let doc = json!({"asset": {"version": "2.0"}, "extensionsUsed": ["EXT_mesh_gpu_instancing"],
        "extensionsRequired": ["EXT_mesh_gpu_instancing"]});
    let e = err(&serde_json::to_vec(&doc).expect("json"), "facecap.glb");
    assert_eq!(
        e,
        "facecap.glb: required extension EXT_mesh_gpu_instancing is not supported"
    );
}

#[test]
fn wrong_version_and_bad_json() {
    let e = err(br#"{"asset": {"version": "1.0"}}"#, "old.gltf");
    assert!(
        e.starts_with("old.gltf: glTF version 1.0 is not supported"),
        "{e}"
    );
    let e = err(
        br#"{"asset": {"version": "2.0"}, "nodes": [{"children": [-1]}]}"#,
        "neg.gltf",
    );
    assert!(e.starts_with("neg.gltf: invalid glTF JSON:"), "{e}");
}

#[test]
fn accessor_past_end_of_view_names_the_offsets() {
    let mut d = Doc::default();
    let r = d.bin.f32s(&[0.0; 6]);
    let v = d.view(r);
    d.acc(v, 5126, 3, "VEC3", false);
    let bytes = d.finish(json!({"meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}]}));
    let e = err(&bytes, "x.gltf");
    assert_eq!(
        e,
        "x.gltf: accessor 0 reads past the end of buffer view 0 (offset 0 + 36 > 24)"
    );
}

#[test]
fn index_out_of_range_and_cycles_are_errors() {
    let mut d = Doc::default();
    d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let r = d.bin.u16s(&[0, 1, 7]);
    let v = d.view(r);
    d.acc(v, 5123, 3, "SCALAR", false);
    let bytes = d.finish(
        json!({"meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}]}),
    );
    assert_eq!(
        err(&bytes, "i.gltf"),
        "i.gltf: mesh 0 primitive 0: index 7 out of range (3 vertices)"
    );

    let cyc = json!({"asset": {"version": "2.0"}, "nodes": [{"children": [1]}, {"children": [0]}]});
    let e = err(&serde_json::to_vec(&cyc).expect("json"), "c.gltf");
    assert!(e.contains("cycle"), "{e}");
    let two =
        json!({"asset": {"version": "2.0"}, "nodes": [{"children": [2]}, {"children": [2]}, {}]});
    let e = err(&serde_json::to_vec(&two).expect("json"), "t.gltf");
    assert_eq!(e, "t.gltf: node 2 has two parents (0 and 1)");
}

#[test]
fn external_buffer_without_base_dir_is_a_clear_error() {
    let doc =
        json!({"asset": {"version": "2.0"}, "buffers": [{"uri": "model.bin", "byteLength": 12}]});
    let e = err(&serde_json::to_vec(&doc).expect("json"), "m.gltf");
    assert_eq!(
        e,
        "m.gltf: buffer 0 refers to external file 'model.bin' but no base directory is known"
    );
}

#[test]
fn strips_fans_non_indexed_and_points() {
    let mut d = Doc::default();
    let quad = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
    let strip = d.vec3(&quad);
    let fan = d.vec3(&[
        0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, -1.0, 1.0, 0.0,
    ]);
    let list = d.vec3(&quad[..9]);
    let bytes = d.finish(json!({
        "meshes": [{"primitives": [
            {"attributes": {"POSITION": strip}, "mode": 5},
            {"attributes": {"POSITION": fan}, "mode": 6},
            {"attributes": {"POSITION": list}},
            {"attributes": {"POSITION": list}, "mode": 0},
            {"attributes": {"POSITION": list}, "mode": 1}
        ]}],
        "nodes": [{"mesh": 0}]
    }));
    let a = load_bytes(&bytes, "prims.gltf", None).expect("load");
    let p = &a.meshes[0].primitives;
    assert_eq!(p.len(), 3, "points and lines skipped");
    assert_eq!(p[0].indices, vec![0, 1, 2, 2, 1, 3]);
    assert_eq!(p[1].indices, vec![1, 2, 0, 2, 3, 0, 3, 4, 0]);
    assert_eq!(p[2].indices, vec![0, 1, 2]);
    assert_eq!(
        a.info
            .warnings
            .iter()
            .filter(|w| w.contains("skipped"))
            .count(),
        2
    );
    // generated normals face +Z for these counter-clockwise triangles
    assert!(p[2].normals.iter().all(|n| (n[2] - 1.0).abs() < 1e-6));
    assert_eq!(a.roots, vec![0]);
}

#[test]
fn quantized_and_normalized_attributes() {
    let mut d = Doc::default();
    // KHR_mesh_quantization: unsigned short positions (not normalized) and normalized byte normals
    let r = d.bin.u16s(&[0, 0, 0, 100, 0, 0, 0, 100, 0]);
    let v = d.view(r);
    let pos = d.acc(v, 5123, 3, "VEC3", false);
    let r = d.bin.u8s(&[0, 0, 127, 0, 0, 0, 127, 0, 0, 0, 127, 0]);
    let v = d.view(r);
    d.views[v]["byteStride"] = json!(4);
    let nrm = d.acc(v, 5120, 3, "VEC3", true);
    let r = d.bin.u16s(&[0, 0, 65535, 0, 0, 65535]);
    let v = d.view(r);
    let uv = d.acc(v, 5123, 3, "VEC2", true);
    let r = d.bin.u8s(&[255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255]);
    let v = d.view(r);
    let col = d.acc(v, 5121, 3, "VEC4", true);
    // skin weights that do not sum to one: normalized u8 (0.5, 0.25) -> renormalised
    let r = d.bin.u8s(&[0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]);
    let v = d.view(r);
    let joints = d.acc(v, 5121, 3, "VEC4", false);
    let r = d.bin.u8s(&[128, 64, 0, 0, 255, 0, 0, 0, 128, 64, 0, 0]);
    let v = d.view(r);
    let weights = d.acc(v, 5121, 3, "VEC4", true);
    let r = d.bin.f32s(
        &[
            1.0, 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1.,
        ]
        .repeat(2),
    );
    let v = d.view(r);
    let ibm = d.acc(v, 5126, 2, "MAT4", false);
    let bytes = d.finish(json!({
        "extensionsUsed": ["KHR_mesh_quantization"], "extensionsRequired": ["KHR_mesh_quantization"],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos, "NORMAL": nrm, "TEXCOORD_0": uv, "COLOR_0": col,
            "JOINTS_0": joints, "WEIGHTS_0": weights}}]}],
        "skins": [{"joints": [1, 2], "inverseBindMatrices": ibm}],
        "nodes": [{"mesh": 0, "skin": 0, "scale": [0.01, 0.01, 0.01]}, {"children": [2]}, {}],
        "scenes": [{"nodes": [0, 1]}]
    }));
    let a = load_bytes(&bytes, "q.gltf", None).expect("load");
    let p = &a.meshes[0].primitives[0];
    assert_eq!(p.positions[1], [100.0, 0.0, 0.0]);
    assert_eq!(p.normals[0], [0.0, 0.0, 1.0]);
    assert_eq!(p.uv0[1], [1.0, 0.0]);
    assert_eq!(p.colors[0], [1.0, 0.0, 0.0, 1.0]);
    assert_eq!(p.joints[0], [0, 1, 0, 0]);
    let w = p.weights[0];
    assert!(
        (w[0] - 2.0 / 3.0).abs() < 1e-2 && (w.iter().sum::<f32>() - 1.0).abs() < 1e-6,
        "{w:?}"
    );
    assert!(
        a.info
            .warnings
            .iter()
            .any(|w| w.contains("renormalized 2 skin weight")),
        "{:?}",
        a.info.warnings
    );
    assert_eq!(a.nodes[0].scale, [0.01; 3]);
    assert_eq!(a.roots, vec![0, 1]);
}

/// Eight influences in two sets (`JOINTS_0`/`WEIGHTS_0`, `JOINTS_1`/`WEIGHTS_1`): the four
/// largest of all are kept (set 0's slots replaced by larger weights of set 1) and renormalised;
/// a vertex whose second set is empty keeps set 0 as it was; weights summing to 1 over both sets
/// are not reported as renormalised.
#[test]
fn second_joint_set_keeps_the_four_largest_influences() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0., 0., 0., 1., 0., 0., 0., 1., 0.]);
    let u8acc = |d: &mut Doc, v: &[u8], normalized: bool| {
        let r = d.bin.u8s(v);
        let view = d.view(r);
        d.acc(view, 5121, 3, "VEC4", normalized)
    };
    let j0 = u8acc(&mut d, &[0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3], false);
    let j1 = u8acc(&mut d, &[4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7], false);
    let r = d.bin.f32s(&[
        0.3, 0.05, 0.2, 0.01, // vertex 0: 0.56 in set 0
        0.5, 0.5, 0.0, 0.0, // vertex 1: all in set 0
        0.1, 0.1, 0.1, 0.1, // vertex 2
    ]);
    let v = d.view(r);
    let w0 = d.acc(v, 5126, 3, "VEC4", false);
    let r = d.bin.f32s(&[
        0.04, 0.25, 0.1, 0.05, // vertex 0: 0.44 in set 1, 0.25 and 0.1 beat 0.05 and 0.01
        0.0, 0.0, 0.0, 0.0, // vertex 1
        0.5, 0.0, 0.0, 0.0, // vertex 2: 0.5 beats one 0.1
    ]);
    let v = d.view(r);
    let w1 = d.acc(v, 5126, 3, "VEC4", false);
    let bytes = d.finish(json!({
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos,
            "JOINTS_0": j0, "WEIGHTS_0": w0, "JOINTS_1": j1, "WEIGHTS_1": w1}}]}],
        "skins": [{"joints": [1, 2, 3, 4, 5, 6, 7, 8]}],
        "nodes": [{"mesh": 0, "skin": 0}, {}, {}, {}, {}, {}, {}, {}, {}],
        "scenes": [{"nodes": [0, 1, 2, 3, 4, 5, 6, 7, 8]}]
    }));
    let a = load_bytes(&bytes, "sets.gltf", None).expect("load");
    let p = &a.meshes[0].primitives[0];
    let infl = |i: usize| {
        let mut v: Vec<(u16, f32)> = p.joints[i]
            .iter()
            .copied()
            .zip(p.weights[i])
            .filter(|&(_, w)| w > 0.0)
            .collect();
        v.sort_by_key(|&(j, _)| j);
        v
    };
    let near = |got: Vec<(u16, f32)>, want: &[(u16, f32)]| {
        got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|(g, w)| g.0 == w.0 && (g.1 - w.1).abs() < 1e-5)
    };
    // Vertex 0 keeps 0.3 (joint 0), 0.2 (2), 0.25 (5), 0.1 (6): sum 0.85.
    let s = 0.85;
    assert!(
        near(
            infl(0),
            &[(0, 0.3 / s), (2, 0.2 / s), (5, 0.25 / s), (6, 0.1 / s)]
        ),
        "{:?}",
        infl(0)
    );
    assert!(near(infl(1), &[(0, 0.5), (1, 0.5)]), "{:?}", infl(1));
    assert_eq!(p.joints[1], [0, 1, 2, 3], "set 0 kept as it was");
    // Vertex 2: 0.5 (joint 4) replaces one of the four 0.1s; sum 0.8.
    let v2 = infl(2);
    assert!(
        v2.len() == 4
            && v2.iter().any(|&(j, w)| j == 4 && (w - 0.625).abs() < 1e-5)
            && v2.iter().all(|&(_, w)| w > 0.1),
        "{v2:?}"
    );
    let w = &a.info.warnings;
    assert!(
        w.iter()
            .any(|w| w.contains("2 vertices have more than 4 joint influences")),
        "{w:?}"
    );
    // Vertex 2's weights sum to 0.9 over both sets: the one renormalised.
    assert!(
        w.iter().any(|w| w.contains("renormalized 1 skin weight")),
        "{w:?}"
    );
}

#[test]
fn sparse_morph_targets_with_and_without_base_view() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0; 12]);
    // target 0: dense base (all zero except vertex 3) + sparse override of vertex 1
    let base = d.vec3(&[0.0, 0.0, 0.0, 9.0, 9.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5]);
    let r = d.bin.u8s(&[1]);
    let iv = d.view(r);
    let r = d.bin.f32s(&[0.0, 1.0, 0.0]);
    let vv = d.view(r);
    d.accessors[base]["sparse"] = json!({"count": 1, "indices": {"bufferView": iv, "componentType": 5121},
        "values": {"bufferView": vv}});
    // target 1: no buffer view, sparse only; includes an explicit zero delta that must be dropped
    let r = d.bin.u16s(&[0, 2]);
    let iv2 = d.view(r);
    let r = d.bin.f32s(&[0.0, 0.0, 0.0, 0.0, 0.0, -1.0]);
    let vv2 = d.view(r);
    d.accessors.push(json!({"componentType": 5126, "count": 4, "type": "VEC3",
        "sparse": {"count": 2, "indices": {"bufferView": iv2, "componentType": 5123}, "values": {"bufferView": vv2}}}));
    let sparse_only = d.accessors.len() - 1;
    let bytes = d.finish(json!({
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}, "mode": 0}, {"attributes": {"POSITION": pos},
            "targets": [{"POSITION": base}, {"POSITION": sparse_only}]}],
            "weights": [0.25], "extras": {"targetNames": ["jawOpen", "viseme_aa"]}}]
    }));
    let a = load_bytes(&bytes, "s.gltf", None).expect("load");
    let m = &a.meshes[0];
    assert_eq!(m.target_names, ["jawOpen", "viseme_aa"]);
    assert_eq!(m.default_weights, vec![0.25, 0.0]);
    let t = &m.primitives[0].targets;
    assert_eq!(t[0].indices, vec![1, 3]);
    assert_eq!(t[0].positions, vec![[0.0, 1.0, 0.0], [0.0, 0.0, 0.5]]);
    assert!(t[0].normals.is_empty());
    assert_eq!(t[1].indices, vec![2]);
    assert_eq!(t[1].positions, vec![[0.0, 0.0, -1.0]]);
    assert_eq!(a.rig.arkit[ArkitShape::JawOpen.index()], vec![(0, 1.0)]);
    assert_eq!(a.rig.visemes[Viseme::Aa.index()], vec![(1, 1.0)]);
    let r = inspect(&a);
    assert_eq!((r.arkit_mapped, r.visemes_mapped), (1, 1));
    assert!(r.to_string().contains("ARKit       mapped 1/52"));
}

#[test]
fn node_morph_weights_override_the_mesh_defaults() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let mesh = |weights: Value| {
        json!({"primitives": [{"attributes": {"POSITION": pos},
            "targets": [{"POSITION": pos}, {"POSITION": pos}]}],
            "weights": weights, "extras": {"targetNames": ["jawOpen", "eyeBlinkLeft"]}})
    };
    let bytes = d.finish(json!({
        "meshes": [mesh(json!([0.25, 0.0])), mesh(json!([0.0, 0.0]))],
        "nodes": [{"mesh": 0, "weights": [0.5, 1.0]}, {"mesh": 1, "weights": [0.75]},
            {"mesh": 1, "weights": [0.75, 0.0]}, {"mesh": 0}]
    }));
    let a = load_bytes(&bytes, "w.gltf", None).expect("load");
    // Node 0's weights replace mesh 0's; node 1 gives one of two (the other is 0).
    assert_eq!(a.meshes[0].default_weights, vec![0.5, 1.0]);
    assert_eq!(a.meshes[1].default_weights, vec![0.75, 0.0]);
    let w = a.info.warnings.join("\n");
    assert!(
        w.contains("node 1 gives 1 morph weights for mesh 1 with 2"),
        "{w}"
    );
    // Node 2 agrees with node 1; node 3 draws mesh 0 without node 0's weights.
    assert!(!w.contains("nodes 1 and 2"), "{w}");
    assert!(
        w.contains("mesh 0 is drawn by nodes 0 and 3 with different morph weights"),
        "{w}"
    );
}

#[test]
fn normals_not_of_unit_length_are_repaired() {
    let mut d = Doc::default();
    // A quad facing +z: zero, NaN, too long and slightly short (quantized) normals.
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
    let nrm = d.vec3(&[
        0.0,
        0.0,
        0.0,
        f32::NAN,
        0.0,
        1.0,
        0.0,
        0.0,
        5.0,
        0.0,
        0.0,
        0.99,
    ]);
    let r = d.bin.u16s(&[0, 1, 2, 0, 2, 3]);
    let iv = d.view(r);
    let idx = d.acc(iv, 5123, 6, "SCALAR", false);
    let bytes = d.finish(json!({
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos, "NORMAL": nrm}, "indices": idx}]}],
        "nodes": [{"mesh": 0}]
    }));
    let a = load_bytes(&bytes, "n.gltf", None).expect("load");
    let n = &a.meshes[0].primitives[0].normals;
    assert_eq!(n[0], [0.0, 0.0, 1.0], "zero: the smooth normal");
    assert_eq!(n[1], [0.0, 0.0, 1.0], "NaN: the smooth normal");
    assert_eq!(n[2], [0.0, 0.0, 1.0], "too long: normalised");
    assert_eq!(n[3], [0.0, 0.0, 0.99], "within 2 %: kept");
    let w = a.info.warnings.join("\n");
    assert!(
        w.contains("2 zero-length or non-finite replaced by smooth normals, 1 normalised"),
        "{w}"
    );
}

#[test]
fn matrix_nodes_are_decomposed() {
    // rotate 90 degrees about Z, scale 2, translate (1, 2, 3)
    let m = [
        0.0, 2.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 1.0, 2.0, 3.0, 1.0,
    ];
    let doc = json!({"asset": {"version": "2.0"}, "nodes": [{"matrix": m, "name": "Bip01 Head"}]});
    let a = load_bytes(&serde_json::to_vec(&doc).expect("json"), "m.gltf", None).expect("load");
    let n = &a.nodes[0];
    assert_eq!(n.translation, [1.0, 2.0, 3.0]);
    for s in n.scale {
        assert!((s - 2.0).abs() < 1e-6);
    }
    let h = std::f32::consts::FRAC_1_SQRT_2;
    assert!(
        (n.rotation[2] - h).abs() < 1e-5 && (n.rotation[3] - h).abs() < 1e-5,
        "{:?}",
        n.rotation
    );
    assert_eq!(
        a.humanoid.head,
        Some(0),
        "Rocketbox 'Bip01 Head' found by name"
    );
}

fn tiny_png(rgba: [u8; 4]) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(4, 2, image::Rgba(rgba));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

#[test]
fn materials_textures_and_samplers() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let png = tiny_png([200, 100, 50, 255]);
    let r = d.bin.u8s(&png);
    let img_view = d.view(r);
    let data_uri = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(tiny_png([0, 0, 255, 255]))
    );
    let bytes = d.finish(json!({
        "extensionsUsed": ["KHR_texture_transform", "KHR_materials_unlit", "KHR_materials_sheen"],
        "images": [{"bufferView": img_view, "mimeType": "image/png", "name": "albedo"}, {"uri": data_uri}],
        "samplers": [{"wrapS": 33071, "wrapT": 33648}, {"magFilter": 9728, "minFilter": 9984}],
        "textures": [{"source": 0, "sampler": 0}, {"source": 1}, {"source": 0, "sampler": 1}],
        "materials": [
            {"name": "skin", "pbrMetallicRoughness": {"baseColorFactor": [1.0, 0.5, 0.5, 1.0],
                "baseColorTexture": {"index": 0, "extensions": {"KHR_texture_transform": {"offset": [0.5, 0.0], "scale": [2.0, 2.0], "texCoord": 1}}},
                "metallicFactor": 0.0, "roughnessFactor": 0.4},
             "normalTexture": {"index": 1, "scale": 0.5}, "emissiveFactor": [0.1, 0.2, 0.3],
             "alphaMode": "MASK", "alphaCutoff": 0.3, "doubleSided": true},
            {"name": "hair", "alphaMode": "BLEND", "extensions": {"KHR_materials_unlit": {}},
             "pbrMetallicRoughness": {"baseColorTexture": {"index": 2}}}
        ],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}, "material": 0}, {"attributes": {"POSITION": pos}, "material": 1}]}]
    }));
    let a = load_bytes(&bytes, "mat.gltf", None).expect("load");
    let m = &a.materials[0];
    assert_eq!(m.base_color, [1.0, 0.5, 0.5, 1.0]);
    let t = m.base_color_tex.expect("texture");
    assert_eq!(t.texcoord, 1, "KHR_texture_transform texCoord override");
    let tr = t.transform.expect("transform");
    assert_eq!((tr.offset, tr.scale), ([0.5, 0.0], [2.0, 2.0]));
    let tex = &a.textures[t.texture as usize];
    assert_eq!((tex.wrap_s, tex.wrap_t), (Wrap::Clamp, Wrap::Mirror));
    // `magFilter: NEAREST` (pixel art): the same image, decoded apart, sampled nearest.
    let px = &a.textures[a.materials[1].base_color_tex.expect("texture").texture as usize];
    assert!(px.nearest && !tex.nearest);
    assert_eq!(
        (px.wrap_s, px.texel(0, 0, 0)),
        (Wrap::Repeat, [200, 100, 50, 255])
    );
    assert_eq!(tex.texel(0, 0, 0), [200, 100, 50, 255]);
    assert_eq!(tex.mips.len(), 3);
    assert_eq!(tex.name, "albedo [PNG]");
    assert_eq!(m.normal_scale, 0.5);
    assert!(m.normal_tex.is_some());
    assert_eq!(m.emissive, [0.1, 0.2, 0.3]);
    assert_eq!(m.alpha_mode, AlphaMode::Mask(0.3));
    assert!(m.double_sided && !m.unlit);
    assert_eq!((m.metallic, m.roughness), (0.0, 0.4));
    assert_eq!(a.materials[1].alpha_mode, AlphaMode::Blend);
    assert!(a.materials[1].unlit);
    assert_eq!(a.meshes[0].primitives[1].material, Some(1));
    assert_eq!(
        inspect(&a).unsupported,
        vec!["KHR_materials_sheen: ignored".to_string()]
    );
}

/// Older exports (Sketchfab, early Blender) describe materials with the archived
/// `KHR_materials_pbrSpecularGlossiness`, often as a required extension: its diffuse colour and
/// texture must become the base colour, or the model renders untextured white.
/// The metallic-roughness, occlusion and emissive textures are loaded (the first two as linear
/// data, the emissive one as colour) with the occlusion strength; one image used as both
/// occlusion and metallic-roughness ("ORM") is one texture.
#[test]
fn metallic_roughness_occlusion_and_emissive_textures() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let orm = d.bin.u8s(&tiny_png([255, 128, 0, 255]));
    let orm_view = d.view(orm);
    let glow = d.bin.u8s(&tiny_png([255, 0, 0, 255]));
    let glow_view = d.view(glow);
    let bytes = d.finish(json!({
        "images": [{"bufferView": orm_view, "mimeType": "image/png", "name": "orm"},
                   {"bufferView": glow_view, "mimeType": "image/png", "name": "glow"}],
        "textures": [{"source": 0}, {"source": 1}],
        "materials": [
            {"pbrMetallicRoughness": {"metallicRoughnessTexture": {"index": 0}},
             "occlusionTexture": {"index": 0, "strength": 0.25},
             "emissiveTexture": {"index": 1}, "emissiveFactor": [1.0, 0.5, 0.0]},
            {"occlusionTexture": {"index": 0, "strength": 7.0}},
            {"pbrMetallicRoughness": {"metallicFactor": 0.0}}
        ],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}, "material": 0},
                                   {"attributes": {"POSITION": pos}, "material": 1},
                                   {"attributes": {"POSITION": pos}, "material": 2}]}]
    }));
    let a = load_bytes(&bytes, "orm.gltf", None).expect("load");
    let m = &a.materials[0];
    let mr = m
        .metallic_roughness_tex
        .expect("metallic-roughness texture");
    let occ = m.occlusion_tex.expect("occlusion texture");
    assert_eq!(mr.texture, occ.texture, "one image, one linear texture");
    assert_eq!(
        a.textures[mr.texture as usize].texel(0, 0, 0),
        [255, 128, 0, 255]
    );
    assert_eq!(
        (m.metallic, m.roughness),
        (1.0, 1.0),
        "glTF's default factors"
    );
    assert_eq!(m.occlusion_strength, 0.25);
    let e = m.emissive_tex.expect("emissive texture");
    assert_eq!(
        a.textures[e.texture as usize].texel(0, 0, 0),
        [255, 0, 0, 255]
    );
    assert_eq!(m.emissive, [1.0, 0.5, 0.0]);
    assert_eq!(
        a.materials[1].occlusion_strength, 1.0,
        "strength clamped to 1"
    );
    let plain = &a.materials[2];
    assert!(plain.metallic_roughness_tex.is_none() && plain.occlusion_tex.is_none());
    assert!(plain.emissive_tex.is_none());
    assert_eq!(plain.occlusion_strength, 1.0);
}

#[test]
fn specular_glossiness_diffuse_becomes_base_colour() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let r = d.bin.u8s(&tiny_png([10, 200, 30, 255]));
    let img = d.view(r);
    let sg = "KHR_materials_pbrSpecularGlossiness";
    let bytes = d.finish(json!({
        "extensionsUsed": [sg], "extensionsRequired": [sg],
        "images": [{"bufferView": img, "mimeType": "image/png"}], "textures": [{"source": 0}],
        "materials": [
            {"pbrMetallicRoughness": {"baseColorFactor": [0.0, 0.0, 0.0, 1.0], "metallicFactor": 1.0},
             "extensions": {sg: {"diffuseFactor": [1.0, 0.5, 0.25, 0.8], "diffuseTexture": {"index": 0},
                 "specularFactor": [0.2, 0.2, 0.2], "glossinessFactor": 0.7}}},
            {"extensions": {sg: {}}}
        ],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}, "material": 0}, {"attributes": {"POSITION": pos}, "material": 1}]}]
    }));
    let a = load_bytes(&bytes, "sg.gltf", None).expect("a required spec-gloss extension loads");
    let m = &a.materials[0];
    assert_eq!(m.base_color, [1.0, 0.5, 0.25, 0.8]);
    let t = m
        .base_color_tex
        .expect("diffuse texture as base colour texture");
    assert_eq!(
        a.textures[t.texture as usize].texel(0, 0, 0),
        [10, 200, 30, 255]
    );
    assert_eq!(m.metallic, 0.0);
    assert!((m.roughness - 0.3).abs() < 1e-6, "{}", m.roughness);
    // Spec defaults: diffuse white, glossiness 1.
    let m1 = &a.materials[1];
    assert_eq!((m1.base_color, m1.roughness), ([1.0; 4], 0.0));
    assert!(m1.base_color_tex.is_none());
    let why = &inspect(&a).unsupported;
    assert!(
        why.iter()
            .any(|w| w.starts_with(sg) && w.contains("specularGlossinessTexture are not read")),
        "{why:?}"
    );
}

#[test]
fn broken_image_is_a_warning_not_an_error() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let mut png = tiny_png([1, 2, 3, 4]);
    png.truncate(30);
    let r = d.bin.u8s(&png);
    let v = d.view(r);
    let bytes = d.finish(json!({
        "images": [{"bufferView": v, "mimeType": "image/png"}], "textures": [{"source": 0}],
        "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}, "material": 0}]}]
    }));
    let a = load_bytes(&bytes, "b.gltf", None).expect("load");
    assert!(a.textures.is_empty());
    assert!(a.materials[0].base_color_tex.is_none());
    assert!(
        a.info.warnings.iter().any(|w| w.contains("cannot decode")),
        "{:?}",
        a.info.warnings
    );
}

#[test]
fn vrm0_blend_shapes_humanoid_and_orientation() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let t0 = d.vec3(&[0.0, -0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    let t1 = d.vec3(&[0.0, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.0]);
    let bytes = d.finish(json!({
        "extensionsUsed": ["VRM"],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}, "targets": [{"POSITION": t0}, {"POSITION": t1}]}],
            "extras": {"targetNames": ["Fcl_MTH_A_custom", "Fcl_EYE_Joy"]}}],
        "nodes": [{"name": "root", "children": [1], "translation": [1.0, 0.0, 2.0]}, {"name": "J_Bip_C_Head", "mesh": 0}],
        "scenes": [{"nodes": [0]}],
        "materials": [{"name": "Face"}],
        "extensions": {"VRM": {
            "humanoid": {"humanBones": [{"bone": "head", "node": 1}, {"bone": "neck", "node": 0}]},
            "blendShapeMaster": {"blendShapeGroups": [
                {"name": "A", "presetName": "a", "binds": [{"mesh": 0, "index": 0, "weight": 100}]},
                {"name": "Blink", "presetName": "blink", "binds": [{"mesh": 0, "index": 1, "weight": 50}], "isBinary": true},
                {"name": "Joy", "presetName": "joy", "binds": [{"mesh": 0, "index": 1, "weight": 100}],
                 "materialValues": [{"materialName": "x"},
                    {"materialName": "Face", "propertyName": "_Color", "targetValue": [1.0, 0.5, 0.0, 1.0]},
                    {"materialName": "Face", "propertyName": "_MainTex_ST", "targetValue": [0.5, 0.25, 0.5, 0.0]}]},
                {"name": "Broken", "presetName": "unknown", "binds": [{"mesh": 5, "index": 0, "weight": 100}]}
            ]}
        }}
    }));
    let a = load_bytes(&bytes, "v0.vrm", None).expect("load");
    assert_eq!(a.info.vrm_version.as_deref(), Some("0.x"));
    assert_eq!(a.expressions.len(), 4);
    let e = &a.expressions[0];
    assert_eq!(
        (e.name.as_str(), e.preset.as_deref(), e.binds.clone()),
        ("A", Some("aa"), vec![(0, 1.0)])
    );
    assert_eq!(a.expressions[1].binds, vec![(1, 0.5)]);
    assert!(a.expressions[1].is_binary);
    assert_eq!(a.expressions[2].preset.as_deref(), Some("happy"));
    // materialValues: sRGB colours made linear, Unity's _MainTex_ST flipped to glTF's V
    let joy = &a.expressions[2];
    assert_eq!(joy.color_binds.len(), 1);
    let c = joy.color_binds[0];
    assert_eq!((c.material, c.target), (0, ColorTarget::Color));
    assert!((c.value[1] - 0.214).abs() < 1e-3, "{c:?}");
    assert_eq!(
        joy.texture_binds,
        vec![TextureBind {
            material: 0,
            scale: [0.5, 0.25],
            offset: [0.5, 0.75]
        }]
    );
    assert!(
        a.info
            .warnings
            .iter()
            .any(|w| w.contains("1 VRM expression material bind(s)")),
        "{:?}",
        a.info.warnings
    );
    assert!(a.expressions[3].binds.is_empty() && a.expressions[3].preset.is_none());
    // presets provide the rig where no morph name maps
    assert_eq!(a.rig.visemes[Viseme::Aa.index()], vec![(0, 1.0)]);
    assert_eq!(
        a.rig.arkit[ArkitShape::EyeBlinkLeft.index()],
        vec![(1, 0.5)]
    );
    assert_eq!(
        a.rig.arkit[ArkitShape::EyeBlinkRight.index()],
        vec![(1, 0.5)]
    );
    assert_eq!((a.humanoid.head, a.humanoid.neck), (Some(1), Some(0)));
    // turned to face +Z: 180 degrees about Y
    assert_eq!(a.nodes[0].translation, [-1.0, 0.0, -2.0]);
    assert_eq!(a.nodes[0].rotation, [0.0, 1.0, 0.0, 0.0]);
    assert!(a.info.warnings.iter().any(|w| w.contains("bind")));
}

/// VRM node constraints: roll, aim and rotation read with their settings, sorted so that each
/// comes after the one it reads, and the broken ones (missing source, self source, no or two
/// kinds, an unknown axis, a cycle and what waits on it) left out with one warning.
#[test]
fn vrm1_node_constraints_are_read_in_dependency_order() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let c =
        |body: Value| json!({"VRMC_node_constraint": {"specVersion": "1.0", "constraint": body}});
    let bytes = d.finish(json!({
        "extensionsUsed": ["VRMC_vrm", "VRMC_node_constraint"],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}}]}],
        "nodes": [
            {"name": "root", "children": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]},
            {"name": "head", "translation": [0.0, 1.5, 0.0]},
            {"name": "copy", "extensions": c(json!({"rotation": {"source": 3}}))},
            {"name": "twist", "extensions": c(json!({"roll": {"source": 1, "rollAxis": "Y", "weight": 0.5}}))},
            {"name": "sleeve", "extensions": c(json!({"aim": {"source": 1, "aimAxis": "NegativeZ", "weight": 7.0}}))},
            {"name": "selfie", "extensions": c(json!({"rotation": {"source": 5}}))},
            {"name": "far", "extensions": c(json!({"roll": {"source": 99, "rollAxis": "X"}}))},
            {"name": "axisless", "extensions": c(json!({"roll": {"source": 1, "rollAxis": "W"}}))},
            {"name": "both", "extensions": c(json!({"roll": {"source": 1, "rollAxis": "X"}, "aim": {"source": 1, "aimAxis": "PositiveX"}}))},
            {"name": "cycA", "extensions": c(json!({"rotation": {"source": 10}}))},
            {"name": "cycB", "extensions": c(json!({"rotation": {"source": 9}}))},
            {"name": "waiter", "extensions": c(json!({"rotation": {"source": 9}}))},
            {"name": "mesh", "mesh": 0}
        ],
        "scenes": [{"nodes": [0]}],
        "extensions": {
            "VRMC_vrm": {"specVersion": "1.0", "humanoid": {"humanBones": {"head": {"node": 1}}}}
        }
    }));
    let a = load_bytes(&bytes, "constraints.vrm", None).expect("load");
    let got: Vec<(u32, u32, f32, ConstraintKind)> = a
        .constraints
        .iter()
        .map(|c| (c.node, c.source, c.weight, c.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, 1, 0.5, ConstraintKind::Roll { axis: 1 }),
            (2, 3, 1.0, ConstraintKind::Rotation),
            (
                4,
                1,
                1.0,
                ConstraintKind::Aim {
                    axis: [0.0, 0.0, -1.0]
                }
            ),
        ]
    );
    let w = a
        .info
        .warnings
        .iter()
        .find(|w| w.starts_with("node constraints:"))
        .unwrap_or_else(|| panic!("{:?}", a.info.warnings));
    for part in [
        "1 name a source node that does not exist",
        "1 name their own node as the source",
        "2 have no single roll, aim or rotation constraint",
        "3 form or wait on a circular dependency",
    ] {
        assert!(w.contains(part), "{part}: {w}");
    }
    assert!(
        !a.info
            .unsupported
            .iter()
            .any(|u| u.contains("VRMC_node_constraint")),
        "{:?}",
        a.info.unsupported
    );
    let r = inspect(&a);
    let text = r.to_string();
    assert!(
        text.contains("constraints 1 roll, 1 aim, 1 rotation [twist, copy, sleeve]"),
        "{text}"
    );
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["node_constraints"]["aim"], 1);
    assert_eq!(
        json["node_constraints"]["nodes"],
        json!(["twist", "copy", "sleeve"])
    );
}

/// `VRMC_springBone_extended_collider` shapes replace their colliders' fallback shapes: inside
/// spheres and capsules, planes (normal made unit, +Z by default), an extended sphere without
/// `inside` as a plain sphere; a plane with a zero normal is left out.
#[test]
fn vrm1_extended_colliders_replace_their_fallbacks() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let fallback = json!({"sphere": {"offset": [0.0, -10000.0, 0.0], "radius": 0.0}});
    let ext = |shape: Value| json!({"VRMC_springBone_extended_collider": {"specVersion": "1.0", "shape": shape}});
    let bytes = d.finish(json!({
        "extensionsUsed": ["VRMC_vrm", "VRMC_springBone", "VRMC_springBone_extended_collider"],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}}]}],
        "nodes": [
            {"name": "head", "children": [1], "translation": [0.0, 1.5, 0.0]},
            {"name": "hair0", "children": [2], "translation": [0.1, 0.0, 0.0]},
            {"name": "hair1", "translation": [0.1, 0.0, 0.0]},
            {"name": "mesh", "mesh": 0}
        ],
        "scenes": [{"nodes": [0, 3]}],
        "extensions": {
            "VRMC_vrm": {"specVersion": "1.0", "humanoid": {"humanBones": {"head": {"node": 0}}}},
            "VRMC_springBone": {
                "specVersion": "1.0",
                "colliders": [
                    {"node": 0, "shape": fallback, "extensions": ext(json!({"sphere": {"offset": [0.1, 0.0, 0.0], "radius": 0.2, "inside": true}}))},
                    {"node": 0, "shape": fallback, "extensions": ext(json!({"capsule": {"radius": 0.3, "tail": [0.0, -0.2, 0.0], "inside": true}}))},
                    {"node": 0, "shape": fallback, "extensions": ext(json!({"plane": {"offset": [0.0, -0.1, 0.0], "normal": [0.0, 2.0, 0.0]}}))},
                    {"node": 0, "shape": fallback, "extensions": ext(json!({"plane": {}}))},
                    {"node": 0, "shape": fallback, "extensions": ext(json!({"sphere": {"radius": 0.05}}))},
                    {"node": 0, "shape": fallback, "extensions": ext(json!({"plane": {"normal": [0.0, 0.0, 0.0]}}))}
                ],
                "colliderGroups": [{"colliders": [0, 1, 2, 3, 4, 5]}],
                "springs": [{"joints": [{"node": 1}, {"node": 2}], "colliderGroups": [0]}]
            }
        }
    }));
    let a = load_bytes(&bytes, "extended.vrm", None).expect("load");
    let shapes: Vec<ColliderShape> = a
        .springs
        .colliders
        .iter()
        .map(|c| c.shape.clone())
        .collect();
    assert_eq!(
        shapes,
        vec![
            ColliderShape::InsideSphere {
                offset: [0.1, 0.0, 0.0],
                radius: 0.2
            },
            ColliderShape::InsideCapsule {
                offset: [0.0; 3],
                radius: 0.3,
                tail: [0.0, -0.2, 0.0]
            },
            ColliderShape::Plane {
                offset: [0.0, -0.1, 0.0],
                normal: [0.0, 1.0, 0.0]
            },
            ColliderShape::Plane {
                offset: [0.0; 3],
                normal: [0.0, 0.0, 1.0]
            },
            ColliderShape::Sphere {
                offset: [0.0; 3],
                radius: 0.05
            },
        ]
    );
    assert!(
        a.info
            .warnings
            .iter()
            .any(|w| w.contains("1 collider(s) have no sphere, capsule or plane shape")),
        "{:?}",
        a.info.warnings
    );
    assert!(
        !a.info
            .unsupported
            .iter()
            .any(|u| u.contains("extended_collider")),
        "{:?}",
        a.info.unsupported
    );
}

/// Aim constraints read world positions along their node's path from the root every frame:
/// one at a node 300 levels deep is left out with a warning, one 200 deep is kept.
#[test]
fn deep_aim_constraints_are_left_out() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let mut nodes: Vec<Value> = (0..300)
        .map(|i| json!({"name": format!("n{i}"), "children": if i < 299 { vec![i + 1] } else { vec![] }}))
        .collect();
    let aim = |source: usize| {
        json!({"VRMC_node_constraint": {"specVersion": "1.0",
        "constraint": {"aim": {"source": source, "aimAxis": "PositiveY"}}}})
    };
    nodes.push(json!({"name": "deep", "extensions": aim(299)}));
    nodes.push(json!({"name": "shallow", "extensions": aim(199)}));
    nodes.push(json!({"name": "mesh", "mesh": 0}));
    let bytes = d.finish(json!({
        "extensionsUsed": ["VRMC_node_constraint"],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}}]}],
        "nodes": nodes,
        "scenes": [{"nodes": [0, 300, 301, 302]}]
    }));
    let a = load_bytes(&bytes, "deep.gltf", None).expect("load");
    assert_eq!(
        a.constraints.iter().map(|c| c.node).collect::<Vec<_>>(),
        vec![301]
    );
    assert!(
        a.info
            .warnings
            .iter()
            .any(|w| w.contains("1 aim at or hang from a node more than 256 levels deep")),
        "{:?}",
        a.info.warnings
    );
}

/// VRM 1.0 spring bones: joints are pairs (the last joint is only a tail, its settings unused),
/// per-joint settings with the schema's defaults, sphere and capsule colliders through groups,
/// `center`; references to nothing, tails not below their joint and joints simulated twice are
/// dropped with one warning, never an error.
#[test]
fn vrm1_spring_bones_are_read_as_joint_pairs() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    // 0 root, 1 head, 2-4 a hair chain, 5 a side node (not below 3), 6 mesh
    let bytes = d.finish(json!({
        "extensionsUsed": ["VRMC_vrm", "VRMC_springBone"],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}}]}],
        "nodes": [
            {"name": "root", "children": [1, 6]},
            {"name": "head", "children": [2, 5], "translation": [0.0, 1.5, 0.0]},
            {"name": "hair0", "children": [3], "translation": [0.1, 0.0, 0.0]},
            {"name": "hair1", "children": [4], "translation": [0.1, 0.0, 0.0]},
            {"name": "hair2", "translation": [0.1, 0.0, 0.0]},
            {"name": "side", "translation": [-0.1, 0.0, 0.0]},
            {"name": "mesh", "mesh": 0}
        ],
        "scenes": [{"nodes": [0]}],
        "extensions": {
            "VRMC_vrm": {"specVersion": "1.0", "humanoid": {"humanBones": {"head": {"node": 1}}},
                "lookAt": {"type": "bone", "rangeMapHorizontalOuter": {"inputMaxValue": 60, "outputScale": 12}}},
            "VRMC_springBone": {
                "specVersion": "1.0",
                "colliders": [
                    {"node": 1, "shape": {"sphere": {"offset": [0.0, 0.1, 0.0], "radius": 0.08}}},
                    {"node": 1, "shape": {"capsule": {"offset": [0.0, 0.0, 0.0], "radius": 0.05, "tail": [0.0, -0.2, 0.0]}}},
                    {"node": 1, "shape": {}},
                    {"node": 99, "shape": {"sphere": {"radius": 1.0}}}
                ],
                "colliderGroups": [{"name": "head", "colliders": [0, 1, 2]}],
                "springs": [
                    {"name": "hair", "center": 1, "colliderGroups": [0, 7], "joints": [
                        {"node": 2, "hitRadius": 0.02, "stiffness": 0.5, "gravityPower": 0.3,
                         "gravityDir": [0.0, -2.0, 0.0], "dragForce": 0.25},
                        {"node": 3},
                        {"node": 4, "stiffness": 9.0}
                    ]},
                    {"name": "again", "joints": [{"node": 3}, {"node": 4}]},
                    {"name": "sideways", "joints": [{"node": 2}, {"node": 5}]}
                ]
            }
        }
    }));
    let a = load_bytes(&bytes, "springs.vrm", None).expect("load");
    let sb = &a.springs;
    // "again" repeats joint 3 and "sideways" names a tail (5) not below its joint (2): both
    // are left with no joints and dropped.
    assert_eq!(sb.chains.len(), 1, "{sb:?}");
    let hair = &sb.chains[0];
    assert_eq!((hair.name.as_str(), hair.center), ("hair", Some(1)));
    assert_eq!(hair.groups, vec![0]);
    let j: Vec<(u32, SpringTail)> = hair
        .joints
        .iter()
        .map(|j| (j.node, j.tail.clone()))
        .collect();
    assert_eq!(j, vec![(2, SpringTail::Node(3)), (3, SpringTail::Node(4))]);
    let (j0, j1) = (&hair.joints[0], &hair.joints[1]);
    assert_eq!(
        (
            j0.hit_radius,
            j0.stiffness,
            j0.gravity_power,
            j0.gravity_dir,
            j0.drag
        ),
        (0.02, 0.5, 0.3, [0.0, -1.0, 0.0], 0.25)
    );
    // The second joint's settings are its own defaults; the last joint's `stiffness` is unused.
    assert_eq!(
        (j1.hit_radius, j1.stiffness, j1.gravity_power, j1.drag),
        (0.0, 1.0, 0.0, 0.5)
    );
    assert_eq!(sb.colliders.len(), 2);
    assert_eq!(
        sb.colliders[1].shape,
        ColliderShape::Capsule {
            offset: [0.0; 3],
            radius: 0.05,
            tail: [0.0, -0.2, 0.0]
        }
    );
    assert_eq!(sb.groups, vec![vec![0, 1]]);
    let w = a
        .info
        .warnings
        .iter()
        .find(|w| w.starts_with("spring bones:"))
        .unwrap_or_else(|| panic!("{:?}", a.info.warnings));
    for part in [
        "1 name a node that does not exist",
        "name a collider or collider group that does not exist",
        "1 joint(s) are not below the previous joint",
        "1 joint(s) already simulated",
        "1 collider(s) have no sphere, capsule or plane shape",
    ] {
        assert!(w.contains(part), "{part}: {w}");
    }
    assert!(
        !a.info
            .unsupported
            .iter()
            .any(|u| u.contains("VRMC_springBone")),
        "{:?}",
        a.info.unsupported
    );
    let r = inspect(&a);
    assert_eq!(
        (
            r.spring_bones.chains,
            r.spring_bones.joints,
            r.spring_bones.colliders
        ),
        (1, 2, 2)
    );
    let text = r.to_string();
    assert!(
        text.contains("springs     1 chain(s), 2 joint(s), 2 collider(s) [hair]"),
        "{text}"
    );
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["spring_bones"]["joints"], 2);
    assert!(
        text.contains("gaze        eye bones turn (degrees): outward 12.000 at 60 deg, inward 10.000 at 90 deg"),
        "{text}"
    );
    // lookAt: the range map given, the others at VRM's bone defaults (10 degrees at 90).
    let la = a.look_at.as_ref().expect("lookAt");
    assert!(la.bones);
    assert_eq!(
        (
            la.horizontal_outer.input_max_deg,
            la.horizontal_outer.output_scale
        ),
        (60.0, 12.0)
    );
    assert_eq!(
        (
            la.horizontal_inner.input_max_deg,
            la.horizontal_inner.output_scale
        ),
        (90.0, 10.0)
    );
}

/// VRM 0.x `secondaryAnimation`: every node below each root bone swings toward its first
/// child, and nodes without children toward a point 7 cm along their own bone; collider
/// offsets are mirrored in z (UniVRM 0.x writes them in Unity's axes); `stiffiness` (sic).
#[test]
fn vrm0_secondary_animation_becomes_spring_chains() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let bytes = d.finish(json!({
        "extensionsUsed": ["VRM"],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}}]}],
        "nodes": [
            {"name": "root", "children": [1, 5]},
            {"name": "J_Bip_C_Head", "children": [2], "translation": [0.0, 1.5, 0.0]},
            {"name": "hair", "children": [3, 4], "translation": [0.0, 0.0, -0.1]},
            {"name": "hair_a", "translation": [0.0, -0.2, 0.0]},
            {"name": "hair_b", "translation": [0.0, 0.0, 0.0]},
            {"name": "mesh", "mesh": 0}
        ],
        "scenes": [{"nodes": [0]}],
        "extensions": {"VRM": {
            "humanoid": {"humanBones": [{"bone": "head", "node": 1}]},
            "firstPerson": {"lookAtTypeName": "BlendShape",
                "lookAtVerticalUp": {"curve": [0, 0, 0, 1, 1, 1, 1, 0], "xRange": 0, "yRange": 0.5}},
            "secondaryAnimation": {
                "boneGroups": [{"comment": "Hair", "stiffiness": 0.8, "gravityPower": 0.1,
                    "gravityDir": {"x": 0, "y": -1, "z": 0}, "dragForce": 0.3, "center": -1,
                    "hitRadius": 0.03, "bones": [2, 42], "colliderGroups": [0]}],
                "colliderGroups": [{"node": 1, "colliders": [{"offset": {"x": 0.01, "y": 0.05, "z": 0.02}, "radius": 0.09}]}]
            }
        }}
    }));
    let a = load_bytes(&bytes, "v0springs.vrm", None).expect("load");
    let sb = &a.springs;
    assert_eq!(sb.chains.len(), 1, "{sb:?}");
    let c = &sb.chains[0];
    assert_eq!(
        (c.name.as_str(), c.center, c.groups.clone()),
        ("Hair", None, vec![0])
    );
    let j: Vec<(u32, SpringTail)> = c.joints.iter().map(|j| (j.node, j.tail.clone())).collect();
    // hair -> its first child; hair_a (no children) -> 7 cm along its bone; hair_b has a zero
    // bone and cannot point anywhere: not simulated.
    assert_eq!(
        j,
        vec![
            (2, SpringTail::Node(3)),
            (3, SpringTail::Local([0.0, -0.07, 0.0]))
        ]
    );
    let j0 = &c.joints[0];
    assert_eq!(
        (j0.stiffness, j0.gravity_power, j0.drag, j0.hit_radius),
        (0.8, 0.1, 0.3, 0.03)
    );
    assert_eq!(
        sb.colliders[0].shape,
        ColliderShape::Sphere {
            offset: [0.01, 0.05, -0.02],
            radius: 0.09
        }
    );
    assert!(
        a.info
            .warnings
            .iter()
            .any(|w| w.starts_with("spring bones: 1 name a node that does not exist")),
        "{:?}",
        a.info.warnings
    );
    // firstPerson: blend-shape gaze; a zero xRange falls back to 90 degrees.
    let la = a.look_at.as_ref().expect("lookAt");
    assert!(!la.bones);
    assert_eq!(
        (la.vertical_up.input_max_deg, la.vertical_up.output_scale),
        (90.0, 0.5)
    );
    assert_eq!(la.horizontal_inner.output_scale, 1.0);
}

/// MToon materials are read as toon shading (not as the `KHR_materials_unlit` fallback they
/// carry): VRM 1.0's factors and shade texture as written, VRM 0.x's `materialProperties`
/// converted as UniVRM's migration does (colours sRGB → linear, `_ShadeToony 0.9` /
/// `_ShadeShift 0` → toony 0.95 / shift -0.05, the main texture as shade texture when there is
/// none); `VRM/UnlitTexture` stays unlit.
#[test]
fn mtoon_materials_are_toon_shaded_in_both_vrm_versions() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let png = tiny_png([200, 100, 50, 255]);
    let r = d.bin.u8s(&png);
    let v = d.view(r);
    let prims = json!([{"attributes": {"POSITION": pos}, "material": 0},
        {"attributes": {"POSITION": pos}, "material": 1}]);
    let images = json!([{"bufferView": v, "mimeType": "image/png"}]);
    let bytes = d.finish(json!({
        "extensionsUsed": ["VRMC_vrm", "VRMC_materials_mtoon", "KHR_materials_unlit"],
        "images": images.clone(), "textures": [{"source": 0}, {"source": 0}],
        "materials": [
            {"name": "skin", "pbrMetallicRoughness": {"baseColorTexture": {"index": 0}},
             "extensions": {"KHR_materials_unlit": {}, "VRMC_materials_mtoon": {
                "specVersion": "1.0", "shadeColorFactor": [0.5, 0.25, 0.75],
                "shadeMultiplyTexture": {"index": 1}, "shadingShiftFactor": -0.2,
                "shadingToonyFactor": 0.8, "giEqualizationFactor": 0.5,
                "parametricRimColorFactor": [0.1, 0.2, 0.3],
                "parametricRimFresnelPowerFactor": 3.0, "parametricRimLiftFactor": 0.1,
                "uvAnimationScrollXSpeedFactor": 0.5, "uvAnimationScrollYSpeedFactor": -0.25,
                "uvAnimationRotationSpeedFactor": 1e9, "uvAnimationMaskTexture": {"index": 0},
                "outlineWidthMode": "worldCoordinates", "outlineWidthFactor": 0.002,
                "outlineColorFactor": [0.1, 0.2, 0.3], "outlineLightingMixFactor": 0.5,
                "outlineWidthMultiplyTexture": {"index": 0},
                "shadingShiftTexture": {"index": 0, "scale": 0.5},
                "matcapFactor": [0.5, 1.0, 2.0], "matcapTexture": {"index": 0},
                "rimMultiplyTexture": {"index": 0}, "rimLightingMixFactor": 0.25}}},
            {"name": "plain", "extensions": {"VRMC_materials_mtoon": {"specVersion": "1.0"}}}
        ],
        "meshes": [{"primitives": prims.clone()}],
        "nodes": [{"name": "Head", "mesh": 0}], "scenes": [{"nodes": [0]}],
        "extensions": {"VRMC_vrm": {"specVersion": "1.0", "humanoid": {"humanBones": {"head": {"node": 0}}}}}
    }));
    let a = load_bytes(&bytes, "toon1.vrm", None).expect("load");
    let m = &a.materials[0];
    assert!(!m.unlit, "MToon is not the unlit fallback");
    let t = m.toon.as_ref().expect("toon");
    assert_eq!(t.shade_color, [0.5, 0.25, 0.75]);
    assert_eq!(
        (t.shading_shift, t.shading_toony, t.gi_equalization),
        (-0.2, 0.8, 0.5)
    );
    assert_eq!(t.rim_color, [0.1, 0.2, 0.3]);
    assert_eq!((t.rim_fresnel_power, t.rim_lift), (3.0, 0.1));
    let st = t.shade_tex.expect("shade texture");
    let tex = &a.textures[st.texture as usize];
    assert_eq!(tex.texel(0, 0, 0), [200, 100, 50, 255]);
    // UV animation: speeds as given (an absurd one clamped), the mask read as linear data (a
    // texture of its own beside the same image read as sRGB colour).
    assert_eq!((t.uv_scroll, t.uv_rotation), ([0.5, -0.25], 1000.0));
    let mask = t.uv_mask_tex.expect("mask texture");
    let base = m.base_color_tex.expect("base texture");
    assert_ne!(mask.texture, base.texture, "mask and colour share a decode");
    assert_eq!(
        a.textures[mask.texture as usize].texel(0, 0, 0),
        [200, 100, 50, 255]
    );
    let o = t.outline.as_ref().expect("outline");
    assert_eq!(
        (o.mode, o.width, o.color, o.lighting_mix),
        (OutlineMode::World, 0.002, [0.1, 0.2, 0.3], 0.5)
    );
    assert_eq!(
        o.width_tex.map(|t| t.texture),
        Some(mask.texture),
        "linear, like the mask"
    );
    // Shading shift texture (linear, like the mask) and its scale; matcap and rim textures read
    // as sRGB colour (the base texture's decode); rim lighting mix.
    assert_eq!(
        (
            t.shading_shift_tex.map(|t| t.texture),
            t.shading_shift_scale
        ),
        (Some(mask.texture), 0.5)
    );
    assert_eq!(
        (t.matcap_tex.map(|t| t.texture), t.matcap_color),
        (Some(base.texture), [0.5, 1.0, 2.0])
    );
    assert_eq!(
        (t.rim_tex.map(|t| t.texture), t.rim_lighting_mix),
        (Some(base.texture), 0.25)
    );
    // The schema's defaults.
    let p = a.materials[1].toon.as_ref().expect("toon");
    assert_eq!(*p, facecast_core::model::Toon::default());
    assert_eq!(
        (p.shade_color, p.shading_toony, p.rim_fresnel_power),
        ([1.0; 3], 0.9, 1.0)
    );
    assert_eq!(
        (p.matcap_color, p.rim_lighting_mix, p.shading_shift_scale),
        ([1.0; 3], 1.0, 1.0)
    );

    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let r = d.bin.u8s(&png);
    let v = d.view(r);
    let prims = json!([{"attributes": {"POSITION": pos}, "material": 0},
        {"attributes": {"POSITION": pos}, "material": 1}]);
    let bytes = d.finish(json!({
        "extensionsUsed": ["VRM"],
        "images": [{"bufferView": v, "mimeType": "image/png"}], "textures": [{"source": 0}],
        "materials": [{"name": "Body"}, {"name": "Eyes"}],
        "meshes": [{"primitives": prims}],
        "nodes": [{"name": "Head", "mesh": 0}], "scenes": [{"nodes": [0]}],
        "extensions": {"VRM": {
            "humanoid": {"humanBones": [{"bone": "head", "node": 0}]},
            "materialProperties": [
                {"name": "Body", "shader": "VRM/MToon",
                 "floatProperties": {"_ShadeToony": 0.9, "_ShadeShift": 0.0, "_IndirectLightIntensity": 0.25,
                    "_RimFresnelPower": 2.0, "_RimLift": 0.05, "_UvAnimScrollX": 0.5,
                    "_UvAnimScrollY": 0.25, "_UvAnimRotation": 0.1, "_OutlineWidthMode": 2.0,
                    "_OutlineWidth": 0.5, "_OutlineColorMode": 0.0, "_OutlineLightingMix": 1.0,
                    "_RimLightingMix": 0.5, "_ShadingGradeRate": 0.75},
                 "vectorProperties": {"_ShadeColor": [0.5, 0.5, 1.0, 1.0], "_RimColor": [1.0, 0.0, 0.0, 1.0],
                    "_OutlineColor": [1.0, 0.0, 0.0, 1.0]},
                 "textureProperties": {"_MainTex": 0, "_UvAnimMaskTexture": 0, "_SphereAdd": 0,
                    "_RimTexture": 0, "_ShadingGradeTexture": 0}},
                {"name": "Eyes", "shader": "VRM/UnlitTexture"}
            ]
        }}
    }));
    let a = load_bytes(&bytes, "toon0.vrm", None).expect("load");
    let t = a.materials[0].toon.as_ref().expect("toon");
    assert!(!a.materials[0].unlit);
    assert!((t.shading_toony - 0.95).abs() < 1e-6, "{t:?}");
    assert!((t.shading_shift + 0.05).abs() < 1e-6, "{t:?}");
    assert!((t.gi_equalization - 0.75).abs() < 1e-6, "{t:?}");
    assert!(
        (t.shade_color[0] - 0.214).abs() < 1e-3 && t.shade_color[2] == 1.0,
        "{t:?}"
    );
    assert_eq!(t.rim_color, [1.0, 0.0, 0.0]);
    assert_eq!((t.rim_fresnel_power, t.rim_lift), (2.0, 0.05));
    assert!(
        t.shade_tex.is_some(),
        "the main texture is the shade texture"
    );
    // Unity's V grows upwards: 0.x's Y scroll is negated.
    assert_eq!((t.uv_scroll, t.uv_rotation), ([0.5, -0.25], 0.1));
    assert!(t.uv_mask_tex.is_some() && t.uv_animated());
    // `_SphereAdd` is the matcap, added as it is; `_RimTexture` the rim multiply texture.
    assert!(t.matcap_tex.is_some() && t.rim_tex.is_some());
    assert_eq!((t.matcap_color, t.rim_lighting_mix), ([1.0; 3], 0.5));
    // `_ShadingGradeTexture` is data (decoded linear, like the UV animation mask) with its rate.
    assert_eq!(
        (
            t.shading_grade_tex.map(|t| t.texture),
            t.shading_grade_rate,
            t.shading_shift_tex
        ),
        (t.uv_mask_tex.map(|t| t.texture), 0.75, None)
    );
    assert_ne!(
        t.shading_grade_tex.map(|t| t.texture),
        t.shade_tex.map(|t| t.texture)
    );
    // 0.x outline widths are centimetres; colour mode 0 is the fixed colour (no lighting mix).
    let o = t.outline.as_ref().expect("outline");
    assert_eq!(
        (o.mode, o.width, o.color, o.lighting_mix),
        (OutlineMode::Screen, 0.005, [1.0, 0.0, 0.0], 0.0)
    );
    assert!(!a.materials[1]
        .toon
        .as_ref()
        .is_some_and(|t| t.uv_animated()));
    assert!(a.materials[1].unlit && a.materials[1].toon.is_none());
}

#[test]
fn default_avatar_node_names_are_found() {
    let nodes: Vec<Value> = ["body", "neck", "head", "jaw", "eye_L", "eye_R"]
        .iter()
        .map(|n| json!({"name": n}))
        .collect();
    let doc = json!({"asset": {"version": "2.0"}, "nodes": nodes});
    let a = load_bytes(&serde_json::to_vec(&doc).expect("json"), "d.glb", None).expect("load");
    let h = &a.humanoid;
    assert_eq!(
        (h.neck, h.head, h.jaw, h.left_eye, h.right_eye),
        (Some(1), Some(2), Some(3), Some(4), Some(5))
    );
}

#[test]
fn glb_container_roundtrip_and_truncation() {
    let mut d = Doc::default();
    d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let bin = std::mem::take(&mut d.bin.0);
    let mut root: Value = serde_json::from_slice(&d.finish(json!({
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}]
    })))
    .expect("json");
    root["buffers"] = json!([{"byteLength": bin.len()}]);
    let mut json = serde_json::to_vec(&root).expect("json");
    while !json.len().is_multiple_of(4) {
        json.push(b' ');
    }
    let mut glb = Vec::new();
    glb.extend_from_slice(b"glTF");
    glb.extend_from_slice(&2u32.to_le_bytes());
    glb.extend_from_slice(&((12 + 8 + json.len() + 8 + bin.len()) as u32).to_le_bytes());
    glb.extend_from_slice(&(json.len() as u32).to_le_bytes());
    glb.extend_from_slice(b"JSON");
    glb.extend_from_slice(&json);
    glb.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    glb.extend_from_slice(b"BIN\0");
    glb.extend_from_slice(&bin);
    assert_eq!(
        facecast_avatar::write_glb(&json, &bin),
        glb,
        "write_glb writes the same bytes"
    );
    let a = load_bytes(&glb, "t.glb", None).expect("load");
    assert_eq!(a.vertex_count(), 3);
    assert_eq!(a.name, "t");
    let e = err(&glb[..glb.len() - 4], "t.glb");
    assert!(
        e.starts_with("t.glb: truncated GLB: header declares"),
        "{e}"
    );
}

/// Many primitives sharing one large accessor cannot amplify a small file into unbounded
/// memory: decoding stops with an error once an input-proportional budget is spent.
#[test]
fn decode_budget_stops_amplification() {
    let prims: Vec<Value> = (0..400)
        .map(|_| json!({"attributes": {"POSITION": 0, "NORMAL": 0}}))
        .collect();
    let doc = json!({"asset": {"version": "2.0"},
        "accessors": [{"componentType": 5126, "count": 60000, "type": "VEC3"}],
        "meshes": [{"primitives": prims}]});
    let e = err(&serde_json::to_vec(&doc).expect("json"), "amp.gltf");
    assert!(e.contains("exceeds the loader's limit"), "{e}");
    // a count far beyond what the file could describe is rejected up front
    let doc = json!({"asset": {"version": "2.0"},
        "accessors": [{"componentType": 5126, "count": 4000000000u64, "type": "VEC3"}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}]});
    let e = err(&serde_json::to_vec(&doc).expect("json"), "big.gltf");
    assert!(e.contains("without a buffer view"), "{e}");
}

#[test]
fn oversized_texture_is_dropped() {
    let mut d = Doc::default();
    let pos = d.vec3(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let img = image::RgbaImage::new(20000, 1);
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)
        .expect("png");
    let r = d.bin.u8s(png.get_ref());
    let v = d.view(r);
    let bytes = d.finish(json!({
        "images": [{"bufferView": v, "mimeType": "image/png"}], "textures": [{"source": 0}],
        "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": pos}, "material": 0}]}]
    }));
    let a = load_bytes(&bytes, "big.gltf", None).expect("load");
    assert!(a.textures.is_empty());
    assert!(
        a.info
            .warnings
            .iter()
            .any(|w| w.contains("20000x1 exceeds")),
        "{:?}",
        a.info.warnings
    );
}
