//! `avatargen`: builds facecast's built-in default avatar procedurally and writes it as GLB.
//!
//! The avatar is a stylised head and shoulders: a skin surface sculpted from smooth
//! signed-distance shapes, a real mouth opening (lips with an inner roll, a dark cavity, upper
//! and lower teeth, a tongue), eyeballs on their own nodes with eyelids that close, eyebrows,
//! ears, a hair shell, a neck and a sweater-clad torso, plus ARKit-named morph targets
//! (all 52 shapes) on the face mesh and matching jaw/tongue targets on the teeth and tongue.
//!
//! Generation is deterministic: every number written is quantised, and [`generate`] returns the
//! same bytes on every run. `cargo run -p avatargen --release -- <out.glb>` writes the file.

pub mod glb;
pub mod head;
pub mod mesh;
pub mod parts;
pub mod png;
pub mod v3;

use head::{face_delta, mat, Head, FACE_TARGETS, JAW_TARGETS, TONGUE_TARGETS};
use mesh::{Builder, MaterialDef, MeshDef, NodeDef, Scene};
use v3::{srgb, v3, V3};

/// Face targets that also carry normal deltas (the ones that bend the surface most).
const NORMAL_TARGETS: &[&str] = &[
    "jawOpen",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthPucker",
    "mouthFunnel",
    "cheekPuff",
];

/// Where the head design origin sits in body (world) coordinates.
const HEAD_ORIGIN: V3 = v3(0.0, 0.141, 0.012);
/// Head pivot (the head node's origin) in head design coordinates.
const HEAD_PIVOT: V3 = v3(0.0, -0.05, -0.02);
/// Neck node origin in body coordinates.
const NECK_ORIGIN: V3 = v3(0.0, 0.02, -0.006);

fn materials() -> Vec<MaterialDef> {
    let white = [1.0, 1.0, 1.0, 1.0];
    let m = |name, roughness| MaterialDef {
        name,
        base_color: white,
        roughness,
        metallic: 0.0,
        double_sided: false,
        alpha_cutoff: None,
    };
    let mut v = vec![
        m("skin", 0.6),
        m("hair", 0.5),
        m("shirt", 0.85),
        m("teeth", 0.3),
        m("mouth_interior", 0.8),
        m("eye", 0.15),
        m("tongue", 0.45),
        m("lashes", 0.7),
    ];
    v[mat::LASHES].double_sided = true;
    v[mat::MOUTH].base_color = [1.0, 1.0, 1.0, 1.0];
    let _ = srgb;
    v
}

/// Translate a builder's positions.
fn shift(b: &mut Builder, by: V3) {
    for p in &mut b.pos {
        *p += by;
    }
}

fn mesh_from(
    name: &str,
    b: &Builder,
    names: &[&str],
    deltas: impl Fn(usize, &str) -> V3,
    normals: bool,
) -> MeshDef {
    let with_n: Vec<bool> = names
        .iter()
        .map(|n| normals && NORMAL_TARGETS.contains(n))
        .collect();
    let targets: Vec<Vec<V3>> = names
        .iter()
        .map(|n| (0..b.pos.len()).map(|i| deltas(i, n)).collect())
        .collect();
    MeshDef {
        name: name.to_string(),
        target_names: names.iter().map(|s| s.to_string()).collect(),
        prims: b.finish(&targets, &with_n),
    }
}

/// Build the scene description.
pub fn build_scene() -> Scene {
    let h = Head::new();
    let to_head = -HEAD_PIVOT;

    // face
    let face = head::build_face(&h);
    let fb = &face.b;
    let face_mesh = {
        let d = |i: usize, n: &str| {
            let edge = face
                .edge_of
                .get(i)
                .copied()
                .filter(|&e| e != u32::MAX)
                .map(|e| (fb.pos[e as usize], fb.tag[e as usize]));
            face_delta(&h, n, fb.pos[i], &fb.tag[i], edge)
        };
        let mut m = mesh_from("face", fb, FACE_TARGETS, d, true);
        for p in &mut m.prims {
            for v in &mut p.positions {
                *v = (v3(v[0] as f64, v[1] as f64, v[2] as f64) + to_head).q();
            }
        }
        m
    };
    // teeth and tongue
    let tu = parts::teeth(&h, true);
    let tl = parts::teeth(&h, false);
    let tg = parts::tongue(&h);
    let mut upper = mesh_from("teeth_upper", &tu, &[], |_, _| V3::ZERO, false);
    let mut lower = mesh_from(
        "teeth_lower",
        &tl,
        JAW_TARGETS,
        |i, n| face_delta(&h, n, tl.pos[i], &tl.tag[i], None),
        false,
    );
    let mut tongue = mesh_from(
        "tongue",
        &tg,
        TONGUE_TARGETS,
        |i, n| {
            if n == "tongueOut" {
                parts::tongue_out(tg.pos[i], &tg.tag[i], &h)
            } else {
                face_delta(&h, n, tg.pos[i], &tg.tag[i], None)
            }
        },
        false,
    );
    for m in [&mut upper, &mut lower, &mut tongue] {
        for p in &mut m.prims {
            for v in &mut p.positions {
                *v = (v3(v[0] as f64, v[1] as f64, v[2] as f64) + to_head).q();
            }
        }
    }
    let mut hb = parts::hair(&h);
    shift(&mut hb, to_head);
    let hair = mesh_from("hair", &hb, &[], |_, _| V3::ZERO, false);
    let eb = parts::eye(&h);
    let eye = mesh_from("eye", &eb, &[], |_, _| V3::ZERO, false);
    let nb = parts::neck();
    let neck = mesh_from("neck", &nb, &[], |_, _| V3::ZERO, false);
    let tb = parts::torso();
    let body = mesh_from("body", &tb, &[], |_, _| V3::ZERO, false);

    let meshes = vec![face_mesh, hair, upper, lower, tongue, eye, neck, body];
    // node tree
    let head_world = HEAD_ORIGIN + HEAD_PIVOT;
    let eye_l = h.eye[0] - HEAD_PIVOT;
    let eye_r = h.eye[1] - HEAD_PIVOT;
    let node = |name: &str, t: V3, mesh: Option<usize>, children: Vec<usize>| NodeDef {
        name: name.to_string(),
        translation: t.q(),
        mesh,
        children,
    };
    let nodes = vec![
        node("body", V3::ZERO, Some(7), vec![1]),    // 0
        node("neck", NECK_ORIGIN, Some(6), vec![2]), // 1
        node(
            "head",
            head_world - NECK_ORIGIN,
            None,
            vec![3, 4, 5, 6, 7, 8, 9],
        ), // 2
        node("face", V3::ZERO, Some(0), vec![]),     // 3
        node("hair", V3::ZERO, Some(1), vec![]),     // 4
        node("teeth_upper", V3::ZERO, Some(2), vec![]), // 5
        node("teeth_lower", V3::ZERO, Some(3), vec![]), // 6
        node("tongue", V3::ZERO, Some(4), vec![]),   // 7
        node("eye_L", eye_l, Some(5), vec![]),       // 8
        node("eye_R", eye_r, Some(5), vec![]),       // 9
    ];
    Scene {
        name: "facecast_default".into(),
        nodes,
        roots: vec![0],
        meshes,
        materials: materials(),
    }
}

/// World-space landmarks of the generated avatar (rest pose), for cameras in previews.
#[derive(Copy, Clone, Debug)]
pub struct Landmarks {
    /// Mouth centre.
    pub mouth: [f32; 3],
    /// Left (+X) and right eye centres.
    pub eyes: [[f32; 3]; 2],
    /// Middle of the skull.
    pub head: [f32; 3],
}

/// Landmarks of the generated avatar.
pub fn landmarks() -> Landmarks {
    let h = Head::new();
    let w = |p: V3| (p + HEAD_ORIGIN).q();
    Landmarks {
        mouth: w(h.mouth),
        eyes: [w(h.eye[0]), w(h.eye[1])],
        head: w(V3::ZERO),
    }
}

/// Generate the GLB bytes.
pub fn generate() -> Vec<u8> {
    glb::write_glb(&build_scene())
}

/// Consistency checks on the model itself (parts poking through the skin), as messages.
pub fn self_check() -> Vec<String> {
    let h = Head::new();
    let mut msgs = Vec::new();
    let check = |name: &str, b: &Builder, msgs: &mut Vec<String>| {
        let out = b.pos.iter().filter(|&&p| h.sdf(p) > -0.0003).count();
        if out > 0 {
            msgs.push(format!(
                "{name}: {out} of {} vertices outside the skin",
                b.pos.len()
            ));
        }
    };
    check("teeth_upper", &parts::teeth(&h, true), &mut msgs);
    check("teeth_lower", &parts::teeth(&h, false), &mut msgs);
    check("tongue", &parts::tongue(&h), &mut msgs);
    let f = head::build_face(&h);
    let mut cav = Builder::default();
    for (i, t) in f.b.tag.iter().enumerate() {
        if t.kind == mesh::Kind::Cavity {
            cav.pos.push(f.b.pos[i]);
        }
    }
    check("cavity", &cav, &mut msgs);
    msgs
}
