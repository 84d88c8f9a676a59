//! The committed default avatar must be exactly what the generator produces, and the generated
//! model must have the structure and behaviour the rest of facecast relies on.

use avatargen::head::{build_face, face_delta, Head, FACE_TARGETS};
use avatargen::mesh::Kind;
use facecast_core::ARKIT_NAMES;
use serde_json::Value;
use std::sync::OnceLock;

const COMMITTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../crates/avatar/assets/facecast_default.glb"
);

fn generated() -> &'static [u8] {
    static G: OnceLock<Vec<u8>> = OnceLock::new();
    G.get_or_init(avatargen::generate)
}

fn json_of(glb: &[u8]) -> Value {
    assert_eq!(&glb[0..4], b"glTF");
    assert_eq!(u32::from_le_bytes(glb[4..8].try_into().unwrap()), 2);
    assert_eq!(
        u32::from_le_bytes(glb[8..12].try_into().unwrap()) as usize,
        glb.len()
    );
    let jl = u32::from_le_bytes(glb[12..16].try_into().unwrap()) as usize;
    assert_eq!(&glb[16..20], b"JSON");
    assert_eq!(jl % 4, 0, "JSON chunk must be 4-byte aligned");
    let bl = u32::from_le_bytes(glb[20 + jl..24 + jl].try_into().unwrap()) as usize;
    assert_eq!(&glb[24 + jl..28 + jl], b"BIN\0");
    assert_eq!(bl % 4, 0);
    assert_eq!(28 + jl + bl, glb.len());
    serde_json::from_slice(&glb[20..20 + jl]).expect("JSON chunk parses")
}

#[test]
fn committed_file_matches_generator() {
    let committed = std::fs::read(COMMITTED).expect("committed GLB exists");
    let g = generated();
    assert!(
        committed == g,
        "crates/avatar/assets/facecast_default.glb is stale ({} bytes committed, {} generated): run \
         `cargo run -p avatargen --release -- crates/avatar/assets/facecast_default.glb`",
        committed.len(),
        g.len()
    );
    assert!(
        g.len() < 2_000_000,
        "GLB is {} bytes, budget is 2 MB",
        g.len()
    );
}

#[test]
fn generation_is_deterministic() {
    assert!(avatargen::generate() == generated());
}

#[test]
fn structure_nodes_meshes_and_targets() {
    let j = json_of(generated());
    let names: Vec<&str> = j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    for n in [
        "body",
        "neck",
        "head",
        "face",
        "hair",
        "teeth_upper",
        "teeth_lower",
        "tongue",
        "eye_L",
        "eye_R",
    ] {
        assert!(names.contains(&n), "node {n} missing: {names:?}");
    }
    // eye_L is on the subject's left (+X), both eyes children of head
    let node = |n: &str| {
        j["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == n)
            .unwrap()
            .clone()
    };
    assert!(node("eye_L")["translation"][0].as_f64().unwrap() > 0.01);
    assert!(node("eye_R")["translation"][0].as_f64().unwrap() < -0.01);
    let head_children: Vec<u64> = node("head")["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    for n in [
        "face",
        "hair",
        "teeth_upper",
        "teeth_lower",
        "tongue",
        "eye_L",
        "eye_R",
    ] {
        let idx = names.iter().position(|x| *x == n).unwrap() as u64;
        assert!(head_children.contains(&idx), "{n} must be a child of head");
    }
    let meshes = j["meshes"].as_array().unwrap();
    let targets = |m: &str| -> Vec<String> {
        let mesh = meshes.iter().find(|x| x["name"] == m).unwrap();
        mesh["extras"]["targetNames"]
            .as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let face = targets("face");
    for n in ARKIT_NAMES {
        if n == "tongueOut" {
            continue;
        }
        assert!(face.iter().any(|x| x == n), "face lacks ARKit target {n}");
    }
    assert!(targets("tongue").iter().any(|x| x == "tongueOut"));
    for m in ["teeth_lower", "tongue"] {
        assert!(
            targets(m).iter().any(|x| x == "jawOpen"),
            "{m} lacks jawOpen"
        );
    }
    // every primitive of a mesh has one target per name, POSITION accessors have min/max
    let acc = j["accessors"].as_array().unwrap();
    for mesh in meshes {
        let n = mesh["extras"]["targetNames"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0);
        for p in mesh["primitives"].as_array().unwrap() {
            let t = p["targets"].as_array().map(|a| a.len()).unwrap_or(0);
            assert_eq!(t, n, "mesh {}", mesh["name"]);
            let pa = &acc[p["attributes"]["POSITION"].as_u64().unwrap() as usize];
            assert!(pa["min"].is_array() && pa["max"].is_array());
        }
    }
    // head is about 0.22 m tall (chin to crown; the skin under the hair is not stored, so
    // measure from the face's lowest point to the top of the hair)
    let extent = |m: &str, k: usize, max: bool| -> f64 {
        let mesh = meshes.iter().find(|x| x["name"] == m).unwrap();
        let vals = mesh["primitives"].as_array().unwrap().iter().map(|p| {
            let pa = &acc[p["attributes"]["POSITION"].as_u64().unwrap() as usize];
            pa[if max { "max" } else { "min" }][k].as_f64().unwrap()
        });
        if max {
            vals.fold(f64::MIN, f64::max)
        } else {
            vals.fold(f64::MAX, f64::min)
        }
    };
    let height = extent("hair", 1, true) - extent("face", 1, false);
    assert!((0.2..0.26).contains(&height), "head height {height}");
}

#[test]
fn parts_stay_inside_the_head() {
    let msgs = avatargen::self_check();
    assert!(msgs.is_empty(), "{msgs:?}");
}

/// Upper and lower lip slit vertices at the mouth's middle, with their jawOpen/mouthClose deltas.
fn lip_gap(weights: &[(&str, f64)]) -> f64 {
    let h = Head::new();
    let f = build_face(&h);
    let mut best_u = (f64::MAX, 0usize);
    let mut best_l = (f64::MAX, 0usize);
    for (i, t) in f.b.tag.iter().enumerate() {
        if t.kind == Kind::Skin && t.a == 0.0 {
            let d = (t.b - std::f64::consts::FRAC_PI_2).abs();
            if d < best_u.0 {
                best_u = (d, i);
            }
            let d = (t.b - 3.0 * std::f64::consts::FRAC_PI_2).abs();
            if d < best_l.0 {
                best_l = (d, i);
            }
        }
    }
    let moved = |i: usize| {
        let mut p = f.b.pos[i];
        for (n, w) in weights {
            p += face_delta(&h, n, f.b.pos[i], &f.b.tag[i], None) * *w;
        }
        p
    };
    moved(best_u.1).y - moved(best_l.1).y
}

#[test]
fn mouth_is_closed_at_rest_and_opens_with_jaw() {
    assert!(lip_gap(&[]).abs() < 1e-6, "lips must touch at rest");
    let open = lip_gap(&[("jawOpen", 1.0)]);
    assert!(open > 0.015, "jawOpen=1 opens the lips by {open} m");
    let closed = lip_gap(&[("jawOpen", 1.0), ("mouthClose", 1.0)]);
    assert!(
        closed.abs() < 0.002,
        "jawOpen+mouthClose leaves a gap of {closed} m"
    );
    let funnel = lip_gap(&[("mouthFunnel", 1.0)]);
    assert!(funnel > 0.004, "mouthFunnel opens an O ({funnel} m)");
}

#[test]
fn blink_closes_the_upper_lid_over_the_eye() {
    let h = Head::new();
    let f = build_face(&h);
    // the upper lid margin (innermost row) at the middle of the left eye must come down below the
    // eye centre with eyeBlinkLeft and stay put with eyeBlinkRight
    let mut checked = 0;
    for (i, t) in f.b.tag.iter().enumerate() {
        let p = f.b.pos[i];
        if t.kind == Kind::Lid
            && t.side > 0.0
            && p.x > 0.0
            && t.a.abs() < 0.05
            && t.c < h.re + 0.001
        {
            let e = h.eye[0];
            assert!(p.y > e.y + 0.004, "open lid margin sits above the pupil");
            let closed = p + face_delta(&h, "eyeBlinkLeft", p, t, None);
            assert!(
                closed.y < e.y - 0.001,
                "blinked margin y={} eye y={}",
                closed.y,
                e.y
            );
            assert!((closed - e).len() > h.re, "lid stays outside the eyeball");
            let other = face_delta(&h, "eyeBlinkRight", p, t, None);
            assert!(
                other.len() < 1e-9,
                "eyeBlinkRight must not move the left lid"
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}

#[test]
fn left_means_subject_left() {
    let h = Head::new();
    let f = build_face(&h);
    let mut sum_l = 0.0;
    let mut sum_r = 0.0;
    for (i, t) in f.b.tag.iter().enumerate() {
        let d = face_delta(&h, "mouthSmileLeft", f.b.pos[i], t, None);
        if f.b.pos[i].x > 0.0 {
            sum_l += d.len();
        } else {
            sum_r += d.len();
        }
    }
    assert!(
        sum_l > 10.0 * sum_r.max(1e-9),
        "mouthSmileLeft moves +X (left {sum_l}, right {sum_r})"
    );
    assert_eq!(FACE_TARGETS.len() + 1, ARKIT_NAMES.len());
}

#[test]
fn loads_in_facecast_avatar_with_full_rig() {
    let a = facecast_avatar::load_bytes(generated(), "facecast_default.glb", None).expect("loads");
    assert_eq!(a.rig.arkit_mapped(), 52, "all 52 ARKit shapes map");
    assert!(a.humanoid.head.is_some() && a.humanoid.neck.is_some());
    assert!(a.humanoid.left_eye.is_some() && a.humanoid.right_eye.is_some());
    let jaw = a.channel("jawOpen").expect("jawOpen channel");
    // jawOpen drives the face, the lower teeth and the tongue together
    assert_eq!(a.channels[jaw as usize].targets.len(), 3);
    let tris = a.triangle_count();
    assert!((8_000..40_000).contains(&tris), "{tris} triangles");
    assert!(a.info.warnings.is_empty(), "{:?}", a.info.warnings);
    let report = facecast_avatar::inspect(&a);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}
