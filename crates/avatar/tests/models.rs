//! Every shared test model loads with the counts of `shared/assets/models/README.md`; the
//! meshopt / quantized originals load to the same geometry as their `_plain` conversions.

use facecast_avatar::{inspect, load};
use facecast_core::model::{Avatar, ExprOverride, TextureBind};
use facecast_core::{ArkitShape, Viseme};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

fn model(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/assets/models"
    ))
    .join(rel)
}

fn cached(rel: &'static str, cell: &'static OnceLock<Arc<Avatar>>) -> Arc<Avatar> {
    cell.get_or_init(|| Arc::new(load(&model(rel)).unwrap_or_else(|e| panic!("{e}"))))
        .clone()
}

fn valid() -> Arc<Avatar> {
    static C: OnceLock<Arc<Avatar>> = OnceLock::new();
    cached("valid/VALID_Hispanic_F_2_Busi.glb", &C)
}
fn valid_plain() -> Arc<Avatar> {
    static C: OnceLock<Arc<Avatar>> = OnceLock::new();
    cached("valid/VALID_Hispanic_F_2_Busi_plain.glb", &C)
}
fn facecap() -> Arc<Avatar> {
    static C: OnceLock<Arc<Avatar>> = OnceLock::new();
    cached("facecap/facecap.glb", &C)
}
fn facecap_plain() -> Arc<Avatar> {
    static C: OnceLock<Arc<Avatar>> = OnceLock::new();
    cached("facecap/facecap_plain.glb", &C)
}

/// (file, meshes, primitives, vertices, triangles, morph targets summed over meshes, skins, joints of skin 0)
type Row = (
    &'static str,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
);

const TABLE: &[Row] = &[
    ("facecap/facecap.glb", 4, 4, 4368, 8042, 52, 0, 0),
    ("facecap/facecap_plain.glb", 4, 4, 4368, 8042, 52, 0, 0),
    (
        "valid/VALID_Hispanic_F_2_Busi.glb",
        7,
        7,
        32044,
        58724,
        65 + 31,
        7,
        114,
    ),
    (
        "valid/VALID_Hispanic_F_2_Busi_plain.glb",
        7,
        7,
        32044,
        58724,
        65 + 31,
        7,
        114,
    ),
    (
        "vrm/VRMC_vrm_expressions_isBinary_Overrides.vrm",
        4,
        4,
        16,
        8,
        0,
        0,
        0,
    ),
    (
        "vrm/VRMC_materials_mtoon_UV_Animation_Test.vrm",
        3,
        3,
        12,
        6,
        0,
        0,
        0,
    ),
    (
        "khronos/AnimatedMorphCube/AnimatedMorphCube.gltf",
        1,
        1,
        24,
        12,
        2,
        0,
        0,
    ),
    (
        "khronos/MorphPrimitivesTest/MorphPrimitivesTest.gltf",
        1,
        2,
        30,
        32,
        1,
        0,
        0,
    ),
    (
        "khronos/MorphStressTest/MorphStressTest.gltf",
        1,
        2,
        1528,
        2412,
        8,
        0,
        0,
    ),
    ("khronos/SimpleMorph/SimpleMorph.gltf", 1, 1, 3, 1, 2, 0, 0),
    ("khronos/SimpleSkin/SimpleSkin.gltf", 1, 1, 10, 8, 0, 1, 2),
    ("khronos/Fox/Fox.glb", 1, 1, 1728, 576, 0, 1, 24),
    (
        "khronos/FlightHelmet/FlightHelmet.gltf",
        6,
        6,
        55392,
        94722,
        0,
        0,
        0,
    ),
];

#[test]
fn every_model_loads_with_readme_counts() {
    for &(file, meshes, prims, verts, tris, morphs, skins, joints) in TABLE {
        let a = match file {
            "facecap/facecap.glb" => facecap(),
            "facecap/facecap_plain.glb" => facecap_plain(),
            "valid/VALID_Hispanic_F_2_Busi.glb" => valid(),
            "valid/VALID_Hispanic_F_2_Busi_plain.glb" => valid_plain(),
            _ => Arc::new(load(&model(file)).unwrap_or_else(|e| panic!("{e}"))),
        };
        assert_eq!(a.meshes.len(), meshes, "{file} meshes");
        assert_eq!(
            a.meshes.iter().map(|m| m.primitives.len()).sum::<usize>(),
            prims,
            "{file} primitives"
        );
        assert_eq!(a.vertex_count(), verts, "{file} vertices");
        assert_eq!(a.triangle_count(), tris, "{file} triangles");
        assert_eq!(
            a.meshes.iter().map(|m| m.target_names.len()).sum::<usize>(),
            morphs,
            "{file} morph targets"
        );
        assert_eq!(a.skins.len(), skins, "{file} skins");
        if skins > 0 {
            assert_eq!(a.skins[0].joints.len(), joints, "{file} joints");
        }
        // structural invariants the renderer relies on
        for m in &a.meshes {
            assert_eq!(m.default_weights.len(), m.target_names.len(), "{file}");
            for p in &m.primitives {
                let n = p.positions.len();
                assert_eq!(p.indices.len() % 3, 0);
                assert!(
                    p.indices.iter().all(|&i| (i as usize) < n),
                    "{file}: index out of range"
                );
                assert_eq!(p.normals.len(), n, "{file}: normals");
                assert_eq!(p.targets.len(), m.target_names.len());
                for t in &p.targets {
                    assert!(
                        t.indices.windows(2).all(|w| w[0] < w[1]),
                        "{file}: morph indices ascending"
                    );
                    assert!(t.indices.iter().all(|&i| (i as usize) < n));
                    assert_eq!(t.positions.len(), t.indices.len());
                    assert!(t.normals.is_empty() || t.normals.len() == t.indices.len());
                }
                if !p.weights.is_empty() {
                    for w in &p.weights {
                        assert!(
                            (w.iter().sum::<f32>() - 1.0).abs() < 1e-4,
                            "{file}: weights renormalised"
                        );
                    }
                }
            }
        }
        for t in &a.textures {
            let last = t.mips.last().expect("mips");
            assert_eq!((last.width, last.height), (1, 1), "{file}: full mip chain");
        }
        let r = inspect(&a);
        assert_eq!(r.vertices, verts);
        let json = serde_json::to_value(&r).expect("serialize");
        for key in [
            "vertices",
            "triangles",
            "morph_targets",
            "arkit_mapped",
            "visemes_mapped",
            "warnings",
            "meshes",
            "primitives",
            "skins",
            "joints",
            "textures",
            "expressions",
            "extensions_used",
            "extensions_required",
            "unsupported",
            "arkit_missing",
            "visemes_missing",
            "humanoid",
        ] {
            assert!(json.get(key).is_some(), "inspect JSON lacks '{key}'");
        }
    }
}

#[test]
fn facecap_plain_maps_all_52_arkit_shapes() {
    let a = facecap_plain();
    assert_eq!(a.rig.arkit_mapped(), 52);
    let blink = &a.rig.arkit[ArkitShape::EyeBlinkLeft.index()];
    assert_eq!(blink.len(), 1);
    assert_eq!(a.channels[blink[0].0 as usize].name, "eyeBlink_L");
    let smile = &a.rig.arkit[ArkitShape::MouthSmileRight.index()];
    assert_eq!(a.channels[smile[0].0 as usize].name, "mouthSmile_R");
    assert_eq!(
        a.humanoid.head.map(|h| a.nodes[h as usize].name.as_str()),
        Some("head")
    );
    assert!(a.humanoid.left_eye.is_some() && a.humanoid.right_eye.is_some());
    assert_eq!(a.textures.len(), 1);
    assert_eq!(a.textures[0].mips[0].width, 1024);
    let tex = a.materials[0].base_color_tex.expect("base colour texture");
    assert!(tex.transform.is_some(), "KHR_texture_transform read");
    assert!(a.materials[0].double_sided);
}

/// The original facecap.glb carries its texture as KTX2/ETC1S (`KHR_texture_basisu`, required);
/// facecap_plain.glb carries the same texture as the PNG it was transcoded to. The transcoded
/// texture must be that PNG, texel for texel.
#[test]
fn facecap_original_transcodes_its_basisu_texture() {
    let (a, p) = (facecap(), facecap_plain());
    assert_eq!(a.rig.arkit_mapped(), 52);
    let ti = a.materials[0].base_color_tex.expect("base colour texture");
    let (t, tp) = (&a.textures[ti.texture as usize], &p.textures[0]);
    assert_eq!(t.name, "image 0 [KTX2]");
    assert_eq!((t.mips[0].width, t.mips[0].height), (1024, 1024));
    let differing = (0..1024)
        .flat_map(|y| (0..1024).map(move |x| (x, y)))
        .filter(|&(x, y)| t.texel(0, x, y) != tp.texel(0, x, y))
        .count();
    assert_eq!(differing, 0, "texels unlike facecap_plain's PNG");
    assert!(
        a.materials[0]
            .base_color_tex
            .and_then(|t| t.transform)
            .is_some(),
        "KHR_texture_transform read"
    );
    let r = inspect(&a);
    assert!(r.unsupported.is_empty(), "{:?}", r.unsupported);
    assert!(
        !r.warnings
            .iter()
            .any(|w| w.contains("KTX2") || w.contains("basisu")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn valid_maps_its_visemes_and_face_shapes() {
    for a in [valid_plain(), valid()] {
        let name_of = |v: Viseme| -> Vec<String> {
            a.rig.visemes[v.index()]
                .iter()
                .map(|&(c, _)| a.channels[c as usize].name.clone())
                .collect()
        };
        assert!(a.rig.visemes_mapped() >= 14, "{}", a.rig.visemes_mapped());
        assert_eq!(name_of(Viseme::Aa), ["h_expressions.AE_AA_h", "t_AE_AA_h"]);
        assert_eq!(
            name_of(Viseme::PP),
            [
                "h_expressions.MPB_Up_h",
                "h_expressions.MPB_Down_h",
                "t_MPB_h"
            ]
        );
        assert_eq!(name_of(Viseme::FF), ["h_expressions.FV_h", "t_FV_h"]);
        assert_eq!(name_of(Viseme::U), ["h_expressions.UW_U_h", "t_UW_U_h"]);
        assert!(!a.rig.has_viseme(Viseme::Sil.index()));
        let ark = |s: ArkitShape| -> Vec<String> {
            a.rig.arkit[s.index()]
                .iter()
                .map(|&(c, _)| a.channels[c as usize].name.clone())
                .collect()
        };
        assert_eq!(
            ark(ArkitShape::JawOpen),
            ["h_expressions.MouthOpen_h", "t_MouthOpen_h"]
        );
        assert_eq!(ark(ArkitShape::EyeBlinkLeft), ["h_expressions.LeyeClose_h"]);
        assert_eq!(
            ark(ArkitShape::EyeBlinkRight),
            ["h_expressions.ReyeClose_h"]
        );
        assert_eq!(
            ark(ArkitShape::MouthSmileLeft),
            ["h_expressions.LsmileClose_h"]
        );
        assert!(a.rig.arkit_mapped() >= 30);
        // humanoid from node names
        let n = |i: Option<u32>| i.map(|i| a.nodes[i as usize].name.clone());
        assert_eq!(n(a.humanoid.head).as_deref(), Some("Head"));
        assert_eq!(n(a.humanoid.neck).as_deref(), Some("Neck"));
        assert_eq!(n(a.humanoid.left_eye).as_deref(), Some("LeftEye"));
        assert_eq!(n(a.humanoid.right_eye).as_deref(), Some("RightEye"));
        // two textures: base colour (sRGB) and normal map
        assert_eq!(a.textures.len(), 2);
        assert!(a.materials[0].base_color_tex.is_some() && a.materials[0].normal_tex.is_some());
        assert_eq!(a.textures[0].mips[0].width, 2048);
    }
    // the original's textures come from EXT_texture_webp sources
    assert!(valid().textures.iter().all(|t| t.name.ends_with("[WebP]")));
}

/// "Left" in ARKit is the subject's left; Rocketbox `L*` shapes move the +X side of the face,
/// which is the subject's left for a model facing +Z.
#[test]
fn valid_left_shapes_are_on_the_subjects_left() {
    let a = valid_plain();
    let head = &a.meshes[0];
    let ti = head
        .target_names
        .iter()
        .position(|n| n == "h_expressions.LeyeClose_h")
        .expect("LeyeClose");
    let p = &head.primitives[0];
    let t = &p.targets[ti];
    let mean_x: f32 = t
        .indices
        .iter()
        .map(|&i| p.positions[i as usize][0])
        .sum::<f32>()
        / t.indices.len() as f32;
    let mean_z: f32 = p.positions.iter().map(|q| q[2]).sum::<f32>() / p.positions.len() as f32;
    let face_z: f32 = t
        .indices
        .iter()
        .map(|&i| p.positions[i as usize][2])
        .sum::<f32>()
        / t.indices.len() as f32;
    assert!(mean_x > 0.0, "LeyeClose moves the +X side");
    assert!(face_z > mean_z, "the face is on the +Z side");
}

#[test]
fn valid_plain_has_sparse_morphs_and_same_names_on_head_and_teeth() {
    let a = valid_plain();
    let head = &a.meshes[0];
    assert_eq!(head.target_names.len(), 65);
    let p = &head.primitives[0];
    let n = p.positions.len();
    // sparse storage: every target touches only part of the 22k vertices
    assert!(p.targets.iter().all(|t| t.indices.len() < n / 2));
    assert!(p.targets.iter().all(|t| !t.indices.is_empty()));
    assert!(p.targets.iter().all(|t| t.normals.len() == t.indices.len()));
    let total: usize = p.targets.iter().map(|t| t.indices.len()).sum();
    assert!(total < 65 * n / 5, "stored {total} deltas");
    // 65 + 31 distinct names -> 96 channels
    assert_eq!(a.channels.len(), 96);
}

fn assert_close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

fn flat<const N: usize>(v: &[[f32; N]]) -> Vec<f32> {
    v.iter().flatten().copied().collect()
}

/// The compressed original decodes to the plain conversion's geometry.
fn assert_same_geometry(orig: &Avatar, plain: &Avatar) {
    assert_eq!(orig.meshes.len(), plain.meshes.len());
    assert_eq!(orig.nodes.len(), plain.nodes.len());
    for (no, np) in orig.nodes.iter().zip(&plain.nodes) {
        assert_eq!(no.name, np.name);
        assert_close(&no.translation, &np.translation, 1e-5, "translation");
        assert_close(&no.scale, &np.scale, 1e-5, "scale");
    }
    for (si, (so, sp)) in orig.skins.iter().zip(&plain.skins).enumerate() {
        assert_eq!(so.joints, sp.joints);
        assert_close(
            &flat(&so.inverse_bind),
            &flat(&sp.inverse_bind),
            1e-5,
            &format!("skin {si} IBM"),
        );
    }
    let names = |a: &Avatar| {
        a.channels
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(orig), names(plain), "morph names");
    for (mi, (mo, mp)) in orig.meshes.iter().zip(&plain.meshes).enumerate() {
        assert_eq!(mo.target_names, mp.target_names);
        assert_eq!(mo.primitives.len(), mp.primitives.len());
        for (po, pp) in mo.primitives.iter().zip(&mp.primitives) {
            let what = format!("mesh {mi}");
            assert_eq!(
                po.positions.len(),
                pp.positions.len(),
                "{what} vertex count"
            );
            assert_close(
                &flat(&po.positions),
                &flat(&pp.positions),
                1e-5,
                &format!("{what} positions"),
            );
            assert_eq!(po.indices, pp.indices, "{what} indices");
            // octahedral-filtered normals: within one 8-bit step
            assert_close(
                &flat(&po.normals),
                &flat(&pp.normals),
                2.0 / 127.0,
                &format!("{what} normals"),
            );
            assert_close(&flat(&po.uv0), &flat(&pp.uv0), 1e-5, &format!("{what} uv0"));
            assert_eq!(po.joints, pp.joints, "{what} joints");
            assert_close(
                &flat(&po.weights),
                &flat(&pp.weights),
                1e-3,
                &format!("{what} weights"),
            );
            for (ti, (to, tp)) in po.targets.iter().zip(&pp.targets).enumerate() {
                assert_eq!(to.indices, tp.indices, "{what} target {ti} moved vertices");
                assert_close(
                    &flat(&to.positions),
                    &flat(&tp.positions),
                    1e-5,
                    &format!("{what} target {ti}"),
                );
                assert_close(
                    &flat(&to.normals),
                    &flat(&tp.normals),
                    1e-5,
                    &format!("{what} target {ti} normals"),
                );
            }
        }
    }
}

#[test]
fn meshopt_quantized_facecap_equals_plain() {
    assert_same_geometry(&facecap(), &facecap_plain());
}

#[test]
fn meshopt_quantized_valid_equals_plain() {
    assert_same_geometry(&valid(), &valid_plain());
}

#[test]
fn vrm_expressions_are_read() {
    let a = load(&model("vrm/VRMC_vrm_expressions_isBinary_Overrides.vrm")).expect("load");
    assert_eq!(a.info.vrm_version.as_deref(), Some("1.0"));
    let happy = a
        .expressions
        .iter()
        .find(|e| e.name == "happy")
        .expect("happy");
    assert_eq!(happy.preset.as_deref(), Some("happy"));
    assert!(happy.is_binary);
    assert_eq!(happy.override_blink, ExprOverride::Blend);
    assert_eq!(happy.override_mouth, ExprOverride::None);
    assert!(happy.color_binds.is_empty());
    assert_eq!(
        happy.texture_binds,
        vec![
            TextureBind {
                material: 0,
                scale: [0.125, 0.125],
                offset: [0.875, 0.0]
            },
            TextureBind {
                material: 2,
                scale: [255.0 / 512.0, 0.0],
                offset: [0.0009765625, 0.0]
            }
        ]
    );
    let blink = a
        .expressions
        .iter()
        .find(|e| e.name == "blink")
        .expect("blink");
    assert!(!blink.is_binary);
    assert_eq!(blink.override_blink, ExprOverride::None);
    assert_eq!(blink.material_binds(), 2);
    assert_eq!(blink.texture_binds[1].material, 3);
    assert!(blink.binds.is_empty());
    let report = inspect(&a);
    assert_eq!(
        report.emotion_expressions,
        vec![("happy".to_string(), "happy".to_string())]
    );
    assert!(report
        .to_string()
        .contains("emotions shown by the avatar's expressions: happy by 'happy'"));
    // humanoid from VRMC_vrm.humanoid
    assert_eq!(
        a.humanoid.head.map(|h| a.nodes[h as usize].name.as_str()),
        Some("Head")
    );
    assert_eq!(
        a.humanoid.neck.map(|h| a.nodes[h as usize].name.as_str()),
        Some("Neck")
    );

    let m = load(&model("vrm/VRMC_materials_mtoon_UV_Animation_Test.vrm")).expect("load");
    assert_eq!(
        m.humanoid
            .left_eye
            .map(|h| m.nodes[h as usize].name.as_str()),
        Some("eye.L")
    );
    assert!(
        m.materials
            .iter()
            .all(|mat| mat.toon.is_some() && !mat.unlit),
        "MToon -> toon (not its KHR_materials_unlit fallback)"
    );
    assert!(inspect(&m)
        .unsupported
        .iter()
        .any(|u| u.starts_with("VRMC_materials_mtoon")));
}

#[test]
fn simple_skin_is_read() {
    let a = load(&model("khronos/SimpleSkin/SimpleSkin.gltf")).expect("load");
    assert_eq!(a.skins[0].joints, vec![1, 2]);
    assert_eq!(a.skins[0].inverse_bind.len(), 2);
    // second joint's inverse bind translates by -1 in y
    assert!((a.skins[0].inverse_bind[1][13] + 1.0).abs() < 1e-6);
    assert_eq!(a.nodes[0].skin, Some(0));
    assert_eq!(a.nodes[1].parent, Some(0));
    assert_eq!(a.nodes[1].translation, [0.0, 1.0, 0.0]);
    let p = &a.meshes[0].primitives[0];
    assert_eq!(p.joints.len(), 10);
    assert_eq!(p.weights.len(), 10);
    assert_eq!(a.roots, vec![0]);
}

#[test]
fn morph_primitives_default_weight_and_shared_target() {
    let a = load(&model(
        "khronos/MorphPrimitivesTest/MorphPrimitivesTest.gltf",
    ))
    .expect("load");
    let m = &a.meshes[0];
    assert_eq!(m.default_weights, vec![0.5]);
    assert_eq!(m.primitives.len(), 2);
    assert_eq!(a.channels.len(), 1);
    assert_eq!(a.channels[0].targets, vec![(0, 0)]);
    assert!(m
        .primitives
        .iter()
        .any(|p| !p.targets[0].indices.is_empty()));
    assert!(a.textures[0].name.ends_with("[JPEG]"));
}

#[test]
fn named_and_unnamed_targets() {
    let a = load(&model("khronos/MorphStressTest/MorphStressTest.gltf")).expect("load");
    assert_eq!(
        a.meshes[0].target_names,
        (1..=8).map(|i| format!("Key {i}")).collect::<Vec<_>>()
    );
    let c = load(&model("khronos/AnimatedMorphCube/AnimatedMorphCube.gltf")).expect("load");
    assert_eq!(c.meshes[0].target_names, ["target_0", "target_1"]);
}

#[test]
fn fox_without_normals_gets_generated_ones() {
    let a = load(&model("khronos/Fox/Fox.glb")).expect("load");
    let p = &a.meshes[0].primitives[0];
    assert!(p
        .normals
        .iter()
        .all(|n| ((n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt() - 1.0).abs() < 1e-3));
    assert!(a.info.warnings.iter().any(|w| w.contains("smooth normals")));
}

#[test]
fn builtin_is_shared_and_has_a_head() {
    let a = facecast_avatar::builtin();
    let b = facecast_avatar::builtin();
    assert!(Arc::ptr_eq(&a, &b));
    assert!(a.vertex_count() > 0);
    assert!(a.humanoid.head.is_some());
}

/// All of facecap's compressed views, including the animation ones the loader itself skips:
/// QUATERNION-filtered rotations decode to unit quaternions, EXPONENTIAL values are finite.
#[test]
fn meshopt_filters_on_real_animation_data() {
    use facecast_avatar::meshopt::{decode, Filter, Mode};
    let bytes = std::fs::read(model("facecap/facecap.glb")).expect("read");
    let json_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let bin = &bytes[20 + json_len + 8..];
    let root: serde_json::Value = serde_json::from_slice(&bytes[20..20 + json_len]).expect("json");
    let mut seen = std::collections::BTreeSet::new();
    for v in root["bufferViews"].as_array().expect("views") {
        let Some(m) = v
            .get("extensions")
            .and_then(|e| e.get("EXT_meshopt_compression"))
        else {
            continue;
        };
        let get = |k: &str| m[k].as_u64().unwrap_or(0) as usize;
        let (off, len, stride, count) = (
            get("byteOffset"),
            get("byteLength"),
            get("byteStride"),
            get("count"),
        );
        let mode = Mode::parse(m["mode"].as_str().unwrap_or("")).expect("mode");
        let filter = Filter::parse(m.get("filter").and_then(|f| f.as_str())).expect("filter");
        let out = decode(mode, filter, count, stride, &bin[off..off + len]).expect("decode");
        assert_eq!(out.len(), count * stride);
        seen.insert(format!("{mode:?}/{filter:?}"));
        match filter {
            Filter::Quaternion => {
                for q in out.chunks_exact(8) {
                    let c: Vec<f32> = q
                        .chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32767.0)
                        .collect();
                    let n = c.iter().map(|x| x * x).sum::<f32>().sqrt();
                    assert!((n - 1.0).abs() < 2e-3, "quaternion norm {n}");
                }
            }
            Filter::Exponential => {
                for f in out.chunks_exact(4) {
                    assert!(f32::from_le_bytes([f[0], f[1], f[2], f[3]]).is_finite());
                }
            }
            _ => {}
        }
    }
    for k in [
        "Attributes/None",
        "Attributes/Octahedral",
        "Attributes/Quaternion",
        "Attributes/Exponential",
        "Triangles/None",
    ] {
        assert!(seen.contains(k), "{k} not exercised: {seen:?}");
    }
}

/// Full-body rigs authored in a T-pose are shown with their arms down (a talking head with arms
/// straight out looks wrong); rigs without a T-pose are left alone.
#[test]
fn t_pose_arms_are_lowered_for_display() {
    let base = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/assets/models/"
    );
    let valid = facecast_avatar::load(std::path::Path::new(&format!(
        "{base}valid/VALID_Hispanic_F_2_Busi_plain.glb"
    )))
    .unwrap();
    assert!(
        valid
            .info
            .warnings
            .iter()
            .any(|w| w.contains("T-pose arms lowered") && w.contains("LeftArm")),
        "{:?}",
        valid.info.warnings
    );
    let fox =
        facecast_avatar::load(std::path::Path::new(&format!("{base}khronos/Fox/Fox.glb"))).unwrap();
    assert!(!fox.info.warnings.iter().any(|w| w.contains("T-pose")));
}
