//! `KHR_draco_mesh_compression`: a primitive compressed with Draco loads to the same triangles as
//! the uncompressed primitive; real files written by another encoder (Google's Draco, through
//! glTF-Transform) decode to what their accessors declare; broken streams are errors naming the
//! extension, never panics.

use draco_core::{
    DataType, EncoderBuffer, EncoderOptions, GeometryAttributeType, Mesh, MeshEncoder,
    PointAttribute, PointIndex,
};
use facecast_avatar::{load_bytes, write_glb};
use facecast_core::model::Primitive;
use serde_json::{json, Value};
use std::path::PathBuf;

/// One vertex of the test mesh, in the file's own types.
#[derive(Clone)]
struct Vert {
    pos: [f32; 3],
    nrm: [f32; 3],
    uv: [f32; 2],
    col: [u8; 4],
    joints: [u16; 4],
    weights: [u8; 4],
}

/// A bumpy 12×12 grid (242 triangles) with every attribute a skinned, vertex-coloured,
/// textured avatar mesh has.
fn grid() -> (Vec<Vert>, Vec<u32>) {
    const N: usize = 12;
    let mut verts = Vec::new();
    for j in 0..N {
        for i in 0..N {
            let (x, y) = (i as f32 / (N - 1) as f32, j as f32 / (N - 1) as f32);
            let z = 0.1 * (x * 7.0).sin() * (y * 5.0).cos();
            let (dx, dy) = (
                0.7 * (x * 7.0).cos() * (y * 5.0).cos(),
                -0.5 * (x * 7.0).sin() * (y * 5.0).sin(),
            );
            let l = (dx * dx + dy * dy + 1.0).sqrt();
            let w0 = (x * 255.0).round() as u8;
            verts.push(Vert {
                pos: [x * 2.0 - 1.0, y * 2.0 - 1.0, z],
                nrm: [-dx / l, -dy / l, 1.0 / l],
                uv: [x, 1.0 - y],
                col: [(i * 20) as u8, (j * 20) as u8, 200, 255],
                joints: [0, 1, (i % 3) as u16, 0],
                weights: [w0, 255 - w0, 0, 0],
            });
        }
    }
    let mut idx = Vec::new();
    for j in 0..N - 1 {
        for i in 0..N - 1 {
            let a = (j * N + i) as u32;
            idx.extend_from_slice(&[
                a,
                a + 1,
                a + N as u32 + 1,
                a,
                a + N as u32 + 1,
                a + N as u32,
            ]);
        }
    }
    (verts, idx)
}

fn le<T: Copy, const K: usize>(v: &[[T; K]], f: impl Fn(T) -> Vec<u8>) -> Vec<u8> {
    v.iter()
        .flat_map(|e| e.iter().flat_map(|&x| f(x)))
        .collect()
}

/// The grid as one Draco stream: attribute ids (unique ids) 0..6 in the order POSITION,
/// NORMAL, TEXCOORD_0, COLOR_0, JOINTS_0, WEIGHTS_0; quantised as glTF-Transform does by
/// default (positions 14 bits, normals 10, texture coordinates 12).
/// `sequential`: Draco's sequential connectivity, which keeps the point order (what glTF-Transform
/// uses for primitives with morph targets); otherwise Edgebreaker, which reorders points.
fn encode(verts: &[Vert], idx: &[u32], sequential: bool) -> Vec<u8> {
    let n = verts.len();
    let mut mesh = Mesh::new();
    let mut add = |kind, comps: u8, dt, norm, bytes: Vec<u8>| {
        let mut a = PointAttribute::new();
        a.init(kind, comps, dt, norm, n);
        a.buffer_mut().write(0, &bytes);
        mesh.add_attribute(a)
    };
    let f32le = |x: f32| x.to_le_bytes().to_vec();
    let pos: Vec<[f32; 3]> = verts.iter().map(|v| v.pos).collect();
    let nrm: Vec<[f32; 3]> = verts.iter().map(|v| v.nrm).collect();
    let uv: Vec<[f32; 2]> = verts.iter().map(|v| v.uv).collect();
    let col: Vec<[u8; 4]> = verts.iter().map(|v| v.col).collect();
    let jnt: Vec<[u16; 4]> = verts.iter().map(|v| v.joints).collect();
    let wgt: Vec<[u8; 4]> = verts.iter().map(|v| v.weights).collect();
    let ids = [
        add(
            GeometryAttributeType::Position,
            3,
            DataType::Float32,
            false,
            le(&pos, f32le),
        ),
        add(
            GeometryAttributeType::Normal,
            3,
            DataType::Float32,
            false,
            le(&nrm, f32le),
        ),
        add(
            GeometryAttributeType::TexCoord,
            2,
            DataType::Float32,
            false,
            le(&uv, f32le),
        ),
        add(
            GeometryAttributeType::Color,
            4,
            DataType::Uint8,
            true,
            le(&col, |x| vec![x]),
        ),
        add(
            GeometryAttributeType::Generic,
            4,
            DataType::Uint16,
            false,
            le(&jnt, |x: u16| x.to_le_bytes().to_vec()),
        ),
        add(
            GeometryAttributeType::Generic,
            4,
            DataType::Uint8,
            true,
            le(&wgt, |x| vec![x]),
        ),
    ];
    assert_eq!(ids, [0, 1, 2, 3, 4, 5]);
    for t in idx.chunks_exact(3) {
        mesh.add_face([PointIndex(t[0]), PointIndex(t[1]), PointIndex(t[2])]);
    }
    let mut opts = EncoderOptions::new();
    for (id, bits) in [(0, 14), (1, 10), (2, 12)] {
        opts.set_attribute_quantization(id, bits);
    }
    if sequential {
        opts.set_encoding_method(0);
    }
    let mut enc = MeshEncoder::new();
    enc.set_mesh(mesh);
    let mut out = EncoderBuffer::new();
    enc.encode(&opts, &mut out).expect("draco encode");
    out.data().to_vec()
}

/// A GLB from a JSON document and its binary chunk.
fn glb(doc: &Value, bin: &[u8]) -> Vec<u8> {
    write_glb(&serde_json::to_vec(doc).expect("json"), bin)
}

const NAMES: [&str; 6] = [
    "POSITION",
    "NORMAL",
    "TEXCOORD_0",
    "COLOR_0",
    "JOINTS_0",
    "WEIGHTS_0",
];
/// (type, componentType, normalized) of each attribute in `NAMES` order.
const KINDS: [(&str, u32, bool); 6] = [
    ("VEC3", 5126, false),
    ("VEC3", 5126, false),
    ("VEC2", 5126, false),
    ("VEC4", 5121, true),
    ("VEC4", 5123, false),
    ("VEC4", 5121, true),
];

/// Morph target of the grid: a "jaw" that drops the lower half (deltas per vertex).
fn jaw(verts: &[Vert]) -> Vec<[f32; 3]> {
    verts
        .iter()
        .map(|v| [0.0, -0.2 * (-v.pos[1]).max(0.0), 0.05 * v.pos[0]])
        .collect()
}

/// The grid's file, plain (`draco == None`) or with the given Draco stream and attribute map;
/// with `morph`, one morph target (`jaw`), uncompressed as the extension requires.
fn document(verts: &[Vert], idx: &[u32], draco: Option<(&[u8], Value)>, morph: bool) -> Vec<u8> {
    let n = verts.len();
    let mut bin = Vec::new();
    let mut views = Vec::new();
    let mut accessors = Vec::new();
    let mut attributes = serde_json::Map::new();
    let mut view = |bin: &mut Vec<u8>, bytes: &[u8]| {
        while !bin.len().is_multiple_of(4) {
            bin.push(0);
        }
        views.push(json!({"buffer": 0, "byteOffset": bin.len(), "byteLength": bytes.len()}));
        bin.extend_from_slice(bytes);
        views.len() - 1
    };
    let f32le = |x: f32| x.to_le_bytes().to_vec();
    let data: [Vec<u8>; 6] = [
        le(&verts.iter().map(|v| v.pos).collect::<Vec<_>>(), f32le),
        le(&verts.iter().map(|v| v.nrm).collect::<Vec<_>>(), f32le),
        le(&verts.iter().map(|v| v.uv).collect::<Vec<_>>(), f32le),
        le(&verts.iter().map(|v| v.col).collect::<Vec<_>>(), |x| {
            vec![x]
        }),
        le(
            &verts.iter().map(|v| v.joints).collect::<Vec<_>>(),
            |x: u16| x.to_le_bytes().to_vec(),
        ),
        le(&verts.iter().map(|v| v.weights).collect::<Vec<_>>(), |x| {
            vec![x]
        }),
    ];
    for (k, name) in NAMES.iter().enumerate() {
        let (kind, ct, normalized) = KINDS[k];
        let mut acc =
            json!({"componentType": ct, "count": n, "type": kind, "normalized": normalized});
        if k == 0 {
            acc["min"] = json!([-1.0, -1.0, -0.1]);
            acc["max"] = json!([1.0, 1.0, 0.1]);
        }
        if draco.is_none() {
            acc["bufferView"] = json!(view(&mut bin, &data[k]));
        }
        accessors.push(acc);
        attributes.insert(name.to_string(), json!(k));
    }
    let mut ind = json!({"componentType": 5125, "count": idx.len(), "type": "SCALAR"});
    let mut prim = json!({"attributes": attributes, "indices": 6, "mode": 4});
    if morph {
        let bytes = le(&jaw(verts), f32le);
        let v = view(&mut bin, &bytes);
        accessors.push(json!({"bufferView": v, "componentType": 5126, "count": n, "type": "VEC3"}));
        prim["targets"] = json!([{"POSITION": 7}]);
    }
    let mut ext = json!([]);
    match draco {
        None => {
            let bytes: Vec<u8> = idx.iter().flat_map(|x| x.to_le_bytes()).collect();
            ind["bufferView"] = json!(view(&mut bin, &bytes));
        }
        Some((stream, map)) => {
            let v = view(&mut bin, stream);
            prim["extensions"] =
                json!({"KHR_draco_mesh_compression": {"bufferView": v, "attributes": map}});
            ext = json!(["KHR_draco_mesh_compression"]);
        }
    }
    accessors.insert(6, ind);
    let doc = json!({
        "asset": {"version": "2.0"},
        "extensionsUsed": ext, "extensionsRequired": ext,
        "buffers": [{"byteLength": bin.len()}],
        "bufferViews": views, "accessors": accessors,
        "meshes": [{"primitives": [prim]}],
        "nodes": [{"mesh": 0}], "scenes": [{"nodes": [0]}], "scene": 0,
    });
    glb(&doc, &bin)
}

fn id_map() -> Value {
    json!({"POSITION": 0, "NORMAL": 1, "TEXCOORD_0": 2, "COLOR_0": 3, "JOINTS_0": 4, "WEIGHTS_0": 5})
}

fn load(bytes: &[u8], name: &str) -> Primitive {
    let a = load_bytes(bytes, name, None).unwrap_or_else(|e| panic!("{name}: {e}"));
    a.meshes[0].primitives[0].clone()
}

/// Every triangle as its three vertices' attributes (floats), rotated so that the smallest
/// vertex comes first (winding kept), then sorted: equal for the same triangles in any vertex
/// order.
fn triangles(p: &Primitive) -> Vec<[Vec<f32>; 3]> {
    // Dense deltas of the first morph target, if any.
    let mut delta = vec![[0f32; 3]; p.positions.len()];
    if let Some(t) = p.targets.first() {
        for (&i, d) in t.indices.iter().zip(&t.positions) {
            delta[i as usize] = *d;
        }
    }
    let vert = |i: u32| {
        let i = i as usize;
        let mut v = Vec::new();
        v.extend_from_slice(&p.positions[i]);
        v.extend_from_slice(&p.normals[i]);
        v.extend_from_slice(&p.uv0[i]);
        v.extend_from_slice(&p.colors[i]);
        v.extend(p.joints[i].iter().map(|&j| j as f32));
        v.extend_from_slice(&p.weights[i]);
        v.extend_from_slice(&delta[i]);
        v
    };
    let key = |v: &Vec<f32>| {
        v.iter()
            .take(3)
            .map(|x| (x * 1000.0).round() as i64)
            .collect::<Vec<_>>()
    };
    let mut out: Vec<[Vec<f32>; 3]> = p
        .indices
        .chunks_exact(3)
        .map(|t| {
            let mut tri = [vert(t[0]), vert(t[1]), vert(t[2])];
            let first = (0..3).min_by_key(|&k| key(&tri[k])).expect("three");
            tri.rotate_left(first);
            tri
        })
        .collect();
    out.sort_by_key(|t| (key(&t[0]), key(&t[1]), key(&t[2])));
    out
}

/// Asserts that two loads of the grid hold the same triangles: per component, positions within
/// one step of 14-bit quantisation over the 2-unit range, normals within 0.01 (10-bit
/// octahedral), texture coordinates within one 12-bit step, colours, joints and weights exact
/// (same bytes, normalised and renormalised the same way), morph deltas exact (uncompressed).
fn assert_same_triangles(plain: &Primitive, packed: &Primitive) {
    assert_eq!(packed.indices.len(), plain.indices.len(), "triangle count");
    assert_eq!(packed.positions.len(), plain.positions.len(), "point count");
    let q = 2.0 / 16383.0 * 1.01;
    let uv = 1.0 / 4095.0;
    #[rustfmt::skip]
    let tol = [
        q, q, q, 0.01, 0.01, 0.01, uv, uv,
        1e-6, 1e-6, 1e-6, 1e-6, 0.0, 0.0, 0.0, 0.0, 1e-6, 1e-6, 1e-6, 1e-6,
        1e-6, 1e-6, 1e-6,
    ];
    let mut worst = [0f32; 23];
    for (ta, tb) in triangles(plain).iter().zip(&triangles(packed)) {
        for (va, vb) in ta.iter().zip(tb) {
            for (c, (x, y)) in va.iter().zip(vb).enumerate() {
                worst[c] = worst[c].max((x - y).abs());
            }
        }
    }
    for c in 0..23 {
        assert!(
            worst[c] <= tol[c],
            "component {c} differs by {} (tolerance {})",
            worst[c],
            tol[c]
        );
    }
}

/// The grid loaded from its plain file and from its Draco file (see `encode` and `document`).
fn plain_and_draco(sequential: bool, morph: bool) -> (Primitive, Primitive) {
    let (verts, idx) = grid();
    let stream = encode(&verts, &idx, sequential);
    let plain = load(&document(&verts, &idx, None, morph), "plain.glb");
    let packed = load(
        &document(&verts, &idx, Some((&stream, id_map())), morph),
        "draco.glb",
    );
    (plain, packed)
}

#[test]
fn draco_primitive_loads_the_same_triangles_as_the_plain_one() {
    let (plain, packed) = plain_and_draco(false, false);
    assert_same_triangles(&plain, &packed);
    // The colours went through the normalised u8 path: 200/255 blue, not 200.
    assert!(
        (packed.colors[0][2] - 200.0 / 255.0).abs() < 1e-6,
        "{:?}",
        packed.colors[0]
    );
}

/// Draco cannot hold morph targets: a primitive with targets keeps them uncompressed and is
/// encoded sequentially so that the decoded points keep their order (glTF-Transform does this).
/// The targets must then move the same vertices as in the plain file.
#[test]
fn sequential_draco_with_uncompressed_morph_targets() {
    let (plain, packed) = plain_and_draco(true, true);
    assert_eq!(packed.targets.len(), 1);
    assert!(
        packed.targets[0].indices.len() > 50,
        "the jaw moves vertices"
    );
    assert_same_triangles(&plain, &packed);
    assert!(load_warnings(true).is_empty(), "{:?}", load_warnings(true));
    // Coded with Edgebreaker, the same file loads with a warning that the targets may not line
    // up with the reordered points.
    let w = load_warnings(false);
    assert!(
        w.iter().any(|w| w.contains(
            "mesh 0 primitive 0: morph targets on an Edgebreaker-coded KHR_draco_mesh_compression stream"
        )),
        "{w:?}"
    );
}

/// The warnings of the grid's Draco file with a morph target.
fn load_warnings(sequential: bool) -> Vec<String> {
    let (verts, idx) = grid();
    let stream = encode(&verts, &idx, sequential);
    let doc = document(&verts, &idx, Some((&stream, id_map())), true);
    load_bytes(&doc, "morph.glb", None)
        .expect("load")
        .info
        .warnings
}

#[test]
fn broken_draco_streams_are_errors_naming_the_extension() {
    let (verts, idx) = grid();
    let stream = encode(&verts, &idx, false);
    let err = |s: &[u8], map: Value| {
        load_bytes(
            &document(&verts, &idx, Some((s, map)), false),
            "broken.glb",
            None,
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    // Truncated, cut to its first four bytes, bad magic.
    for (what, s) in [
        ("truncated", stream[..stream.len() / 2].to_vec()),
        ("four bytes", stream[..4].to_vec()),
        ("bad magic", [b"DRACX".as_slice(), &stream[5..]].concat()),
    ] {
        let e = err(&s, id_map()).expect_err(what);
        assert!(
            e.starts_with("broken.glb: mesh 0 primitive 0: KHR_draco_mesh_compression stream in buffer view 0"),
            "{what}: {e}"
        );
    }
    // An attribute id the stream does not have.
    let mut map = id_map();
    map["NORMAL"] = json!(9);
    let e = err(&stream, map).expect_err("id 9");
    assert!(
        e.contains("maps NORMAL to attribute id 9, which the stream does not have"),
        "{e}"
    );
    // Every single-byte corruption of the first 64 bytes and a spread of later ones: an error or
    // a mesh, never a panic (the decoder's own checks plus the loader's count checks).
    let mut flipped = 0;
    for k in (0..stream.len()).filter(|k| *k < 64 || k % 7 == 0) {
        for bits in [0x01u8, 0x80, 0xff] {
            let mut s = stream.clone();
            s[k] ^= bits;
            if let Err(e) = err(&s, id_map()) {
                assert!(e.starts_with("broken.glb: "), "{e}");
                flipped += 1;
            }
        }
    }
    assert!(flipped > 0, "no corruption was detected at all");
}

/// Draco files written by glTF-Transform (Google's Draco encoder), from the npm package
/// `@pmndrs/assets` that `scripts/test.sh` installs into `tests/models` (npm registry only).
#[test]
fn real_draco_files_decode_to_what_their_accessors_declare() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/models/node_modules/@pmndrs/assets/models");
    let files = ["suzi.glb.js", "bunny.glb.js", "pmndrs.glb.js"];
    for f in files {
        let path = dir.join(f);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; install the test models with `npm ci --prefix tests/models` (scripts/test.sh does)", path.display())
        });
        // `export default 'data:model/gltf-binary;base64,...'`
        let b64 = text
            .split("base64,")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .expect("data URI");
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64");
        let json_len = u32::from_le_bytes(bytes[12..16].try_into().expect("4")) as usize;
        let doc: Value = serde_json::from_slice(&bytes[20..20 + json_len]).expect("json");
        assert!(
            doc["extensionsRequired"]
                .to_string()
                .contains("KHR_draco_mesh_compression"),
            "{f}"
        );
        let a = load_bytes(&bytes, f, None).unwrap_or_else(|e| panic!("{e}"));
        let prims: Vec<&Value> = doc["meshes"]
            .as_array()
            .expect("meshes")
            .iter()
            .flat_map(|m| m["primitives"].as_array().expect("primitives"))
            .collect();
        let loaded: Vec<&Primitive> = a.meshes.iter().flat_map(|m| &m.primitives).collect();
        assert_eq!(prims.len(), loaded.len(), "{f}");
        for (gp, p) in prims.iter().zip(loaded) {
            let acc = |k: &Value| &doc["accessors"][k.as_u64().expect("index") as usize];
            let pos = acc(&gp["attributes"]["POSITION"]);
            assert_eq!(
                p.positions.len() as u64,
                pos["count"].as_u64().expect("count"),
                "{f}: points"
            );
            assert_eq!(
                p.indices.len() as u64,
                acc(&gp["indices"])["count"].as_u64().expect("count"),
                "{f}: indices"
            );
            // Bounds as the writer computed them before compressing.
            for c in 0..3 {
                let (lo, hi) = (
                    pos["min"][c].as_f64().expect("min") as f32,
                    pos["max"][c].as_f64().expect("max") as f32,
                );
                let got_lo = p.positions.iter().map(|v| v[c]).fold(f32::MAX, f32::min);
                let got_hi = p.positions.iter().map(|v| v[c]).fold(f32::MIN, f32::max);
                let tol = (hi - lo).abs() * 1e-3 + 1e-5;
                assert!(
                    (got_lo - lo).abs() <= tol && (got_hi - hi).abs() <= tol,
                    "{f}: axis {c} bounds {got_lo}..{got_hi}, file says {lo}..{hi}"
                );
            }
            for nrm in &p.normals {
                let l = (nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]).sqrt();
                assert!((l - 1.0).abs() < 0.02, "{f}: normal length {l}");
            }
            if gp["attributes"].get("TEXCOORD_0").is_some() {
                assert_eq!(p.uv0.len(), p.positions.len(), "{f}: texture coordinates");
                assert!(
                    p.uv0
                        .iter()
                        .flatten()
                        .all(|x| x.is_finite() && (-0.01..=1.01).contains(x)),
                    "{f}: texture coordinates out of [0, 1]"
                );
            }
        }
    }
}

/// A stream that leaves every attribute to its accessor, whose counts differ from the stream's
/// points: the stream's indices would address vertices that do not exist, so the primitive is
/// an error naming both counts.
#[test]
fn draco_points_must_match_the_position_accessor() {
    let (verts, idx) = grid();
    let stream = encode(&verts, &idx, false);
    let bytes = document(&verts, &idx, Some((&stream, json!({}))), false);
    // Rewrite the GLB with the six attribute accessors holding three vertices each.
    let json_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let mut doc: Value = serde_json::from_slice(&bytes[20..20 + json_len]).expect("json");
    for k in 0..6 {
        doc["accessors"][k]["count"] = json!(3);
    }
    let bin = &bytes[20 + json_len + 8..];
    let e = load_bytes(
        &write_glb(&serde_json::to_vec(&doc).expect("json"), bin),
        "few.glb",
        None,
    )
    .map(|_| ())
    .expect_err("3 vertices for a 144-point stream");
    let e = e.to_string();
    assert!(
        e.contains("POSITION has 3 vertices") && e.contains(&format!("{} points", verts.len())),
        "{e}"
    );
}
