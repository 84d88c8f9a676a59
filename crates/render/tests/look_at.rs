//! VRM eye gaze: eye bones turn by the gaze angle (plain glTF), by the VRM range maps (`lookAt`
//! type `bone`: 10 degrees of eye turn at 90 degrees of gaze by default), or not at all (type
//! `expression`: the look expressions move the eyes).

mod common;

use std::sync::Arc;

use common::*;
use facecast_core::model::{Avatar, LookAt, Mesh, RangeMap};
use facecast_core::{HeadPose, RgbaFrame};
use facecast_render::Renderer;

const SIZE: u32 = 256;

/// Two white eyeballs with dark pupils 2.5 cm in front of their centres, on eye nodes.
fn eyes(look_at: Option<LookAt>) -> Avatar {
    let mut nodes = vec![
        node("head", None),
        node("leftEye", Some(0)),
        node("rightEye", Some(0)),
    ];
    nodes[0].translation = [0.0, 1.5, 0.0];
    nodes[0].children = vec![1, 2];
    for (i, x) in [(1, 0.035f32), (2, -0.035)] {
        nodes[i].parent = Some(0);
        nodes[i].translation = [x, 0.0, 0.0];
    }
    let ball = uv_sphere([0.0, 0.0, 0.0], [0.024, 0.024, 0.024], Some(0));
    let pupil = uv_sphere([0.0, 0.0, 0.02], [0.008, 0.008, 0.008], Some(1));
    let mut av = Avatar {
        name: "eyes".into(),
        nodes,
        roots: vec![0],
        meshes: vec![Mesh {
            primitives: vec![ball, pupil],
            ..Default::default()
        }],
        materials: vec![
            material([0.95, 0.95, 0.95, 1.0]),
            material([0.02, 0.02, 0.02, 1.0]),
        ],
        look_at,
        ..Default::default()
    };
    av.humanoid.head = Some(0);
    av.humanoid.left_eye = Some(1);
    av.humanoid.right_eye = Some(2);
    av
}

/// Mean column of the dark pupil pixels.
fn pupils_x(av: Avatar, yaw: f32) -> f32 {
    let cfg = fixed_view(SIZE, [0.0, 1.5, 0.5], [0.0, 1.5, 0.0], 20.0, [90, 120, 160]);
    let mut r = Renderer::new(Arc::new(av), cfg).unwrap();
    let mut f = RgbaFrame::default();
    let pose = HeadPose {
        head: [0.0; 3],
        eyes: [yaw, 0.0],
    };
    r.render_rgba(&[], &pose, &mut f);
    let (mut n, mut sum) = (0usize, 0usize);
    for (i, p) in f.data.chunks_exact(4).enumerate() {
        if p[0] < 40 && p[1] < 40 && p[2] < 40 {
            n += 1;
            sum += i % SIZE as usize;
        }
    }
    assert!(n > 50, "pupils show: {n} px");
    sum as f32 / n as f32
}

fn range(input_max_deg: f32, output_scale: f32) -> RangeMap {
    RangeMap {
        input_max_deg,
        output_scale,
    }
}

#[test]
fn vrm_look_at_range_maps_turn_the_eye_bones() {
    let yaw = 0.3; // 17 degrees toward the subject's left (+x)
    let plain = pupils_x(eyes(None), yaw) - pupils_x(eyes(None), 0.0);
    let maps = |out: f32| LookAt {
        bones: true,
        horizontal_inner: range(90.0, out),
        horizontal_outer: range(90.0, out),
        vertical_down: range(90.0, out),
        vertical_up: range(90.0, out),
    };
    // 10 degrees at 90: a 17 degree gaze turns the eyes 1.9 degrees.
    let vrm = pupils_x(eyes(Some(maps(10.0))), yaw) - pupils_x(eyes(Some(maps(10.0))), 0.0);
    // The whole range at 17 degrees of gaze: both eyes turn 40 degrees.
    let wide = LookAt {
        horizontal_inner: range(yaw.to_degrees(), 40.0),
        horizontal_outer: range(yaw.to_degrees(), 40.0),
        ..maps(10.0)
    };
    let wide = pupils_x(eyes(Some(wide.clone())), yaw) - pupils_x(eyes(Some(wide)), 0.0);
    let expr = LookAt {
        bones: false,
        ..maps(10.0)
    };
    let still = pupils_x(eyes(Some(expr.clone())), yaw) - pupils_x(eyes(Some(expr)), 0.0);
    println!("pupils move {plain:.2} px (gaze angle), {vrm:.2} (VRM 10 at 90), {wide:.2} (40 at 17), {still:.2} (expression type)");
    // The pupils move with the turn (17.2 / 1.9 / 40 degrees), to the subject's left (+x,
    // the picture's right).
    assert!(plain > 5.0, "{plain}");
    assert!(vrm > 0.05 && vrm < plain / 4.0, "{vrm} vs {plain}");
    assert!(wide > plain * 1.8, "{wide} vs {plain}");
    assert!(still.abs() < 0.01, "{still}");
}
