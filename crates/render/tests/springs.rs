//! Spring bones in pictures: a head with a two-segment red strip sticking out to its right,
//! skinned to a VRM spring chain. At time 0 it is drawn at rest; gravity makes it droop, a
//! turning head leaves it behind for a moment, a collider holds it up, the same clock gives the
//! same picture at any frame rate, and time going backwards starts again from rest.

mod common;

use std::sync::Arc;

use common::*;
use facecast_core::model::{
    Avatar, ColliderShape, Mesh, Skin, SpringBones, SpringChain, SpringCollider, SpringJoint,
    SpringTail, IDENTITY,
};
use facecast_core::{HeadPose, RgbaFrame};
use facecast_render::Renderer;

const SIZE: u32 = 256;

/// Head (node 1, 1.5 m up) with hair joints 2 → 3 → 4 along +x (0.1 m from the head's
/// centre, then 0.08 m apart); the strip's two segments are skinned to joints 2 and 3.
fn spring_avatar(gravity: f32, stiffness: f32, collider: bool) -> Avatar {
    let mut nodes = vec![
        node("root", None),
        node("head", Some(0)),
        node("hair0", None),
        node("hair1", None),
        node("hair2", None),
        node("strip", Some(1)),
    ];
    nodes[0].children = vec![1, 5];
    nodes[1].parent = Some(0);
    nodes[1].translation = [0.0, 1.5, 0.0];
    nodes[1].children = vec![2];
    nodes[2].parent = Some(1);
    nodes[2].translation = [0.1, 0.0, 0.0];
    nodes[2].children = vec![3];
    nodes[3].parent = Some(2);
    nodes[3].translation = [0.08, 0.0, 0.0];
    nodes[3].children = vec![4];
    nodes[4].parent = Some(3);
    nodes[4].translation = [0.08, 0.0, 0.0];
    nodes[5].parent = Some(0);
    nodes[5].skin = Some(0);
    let head = uv_sphere([0.0, 0.0, 0.0], [0.09, 0.11, 0.09], Some(0));
    let mut strip = box_prim([0.1, 1.485, -0.015], [0.18, 1.515, 0.015], Some(1));
    let second = box_prim([0.18, 1.485, -0.015], [0.26, 1.515, 0.015], Some(1));
    let n = strip.positions.len() as u32;
    strip.joints = vec![[0, 0, 0, 0]; strip.positions.len()];
    strip
        .joints
        .extend(vec![[1, 0, 0, 0]; second.positions.len()]);
    strip.weights = vec![[1.0, 0.0, 0.0, 0.0]; strip.positions.len() + second.positions.len()];
    strip.positions.extend(second.positions);
    strip.normals.extend(second.normals);
    strip.uv0.extend(second.uv0);
    strip.indices.extend(second.indices.iter().map(|i| i + n));
    let inv_at = |x: f32| {
        let mut m = IDENTITY;
        m[12] = -x;
        m[13] = -1.5;
        m
    };
    let joint = |node: u32, tail: u32| SpringJoint {
        node,
        tail: SpringTail::Node(tail),
        hit_radius: 0.0,
        stiffness,
        gravity_power: gravity,
        gravity_dir: [0.0, -1.0, 0.0],
        drag: 0.4,
    };
    let mut av = Avatar {
        name: "springs".into(),
        nodes,
        roots: vec![0],
        meshes: vec![
            Mesh {
                primitives: vec![head],
                ..Default::default()
            },
            Mesh {
                primitives: vec![strip],
                ..Default::default()
            },
        ],
        skins: vec![Skin {
            name: "hair".into(),
            joints: vec![2, 3],
            inverse_bind: vec![inv_at(0.1), inv_at(0.18)],
        }],
        materials: vec![
            material([0.8, 0.75, 0.7, 1.0]),
            material([0.9, 0.05, 0.05, 1.0]),
        ],
        springs: SpringBones {
            chains: vec![SpringChain {
                name: "hair".into(),
                joints: vec![joint(2, 3), joint(3, 4)],
                groups: if collider { vec![0] } else { vec![] },
                center: None,
            }],
            // A ball below the strip's outer half, fixed to the head.
            colliders: vec![SpringCollider {
                node: 1,
                shape: ColliderShape::Sphere {
                    offset: [0.2, -0.13, 0.0],
                    radius: 0.06,
                },
            }],
            groups: vec![vec![0]],
        },
        ..Default::default()
    };
    av.humanoid.head = Some(1);
    av
}

fn renderer(av: Avatar) -> Renderer {
    let cfg = fixed_view(SIZE, [0.1, 1.45, 1.3], [0.1, 1.45, 0.0], 24.0, [20, 20, 60]);
    Renderer::new(Arc::new(av), cfg).unwrap()
}

fn at(r: &mut Renderer, t: f64, pose: &HeadPose) -> RgbaFrame {
    let mut f = RgbaFrame::default();
    r.set_time(t);
    r.render_rgba(&[], pose, &mut f);
    f
}

/// A frame at the renderer's current time.
fn at_same_time(r: &mut Renderer, pose: &HeadPose) -> RgbaFrame {
    let mut f = RgbaFrame::default();
    r.render_rgba(&[], pose, &mut f);
    f
}

/// Red strip pixels: count, mean row, lowest row.
fn strip(f: &RgbaFrame) -> (usize, f32, usize) {
    let (mut n, mut sum, mut low) = (0usize, 0usize, 0usize);
    for (i, p) in f.data.chunks_exact(4).enumerate() {
        if p[0] > 150 && p[0] > p[1].saturating_add(80) && p[0] > p[2].saturating_add(80) {
            let y = i / SIZE as usize;
            n += 1;
            sum += y;
            low = low.max(y);
        }
    }
    (n, sum as f32 / n.max(1) as f32, low)
}

/// With `SPRING_PNG=DIR`, write the picture to `DIR/spring_NAME.png` to look at.
fn dump(name: &str, f: &RgbaFrame) {
    if let Some(dir) = std::env::var_os("SPRING_PNG") {
        write_png(
            &std::path::Path::new(&dir).join(format!("spring_{name}.png")),
            f,
        );
    }
}

/// Pixels differing by more than 8 levels in some channel.
fn differing(a: &RgbaFrame, b: &RgbaFrame) -> usize {
    a.data
        .chunks_exact(4)
        .zip(b.data.chunks_exact(4))
        .filter(|(p, q)| p.iter().zip(q.iter()).any(|(x, y)| x.abs_diff(*y) > 8))
        .count()
}

/// Frames every `1/fps` s from 0 to `until` (inclusive); the last one.
fn run(r: &mut Renderer, fps: f64, until: f64, pose: &HeadPose) -> RgbaFrame {
    let frames = (until * fps).round() as usize;
    let mut f = at(r, 0.0, pose);
    for k in 1..=frames {
        f = at(r, k as f64 / fps, pose);
    }
    f
}

/// The strip under gravity (stiffness 0.3), with the head still, at `fps` until `until` s.
fn falling(fps: f64, until: f64, collider: bool) -> RgbaFrame {
    let mut r = renderer(spring_avatar(1.0, 0.3, collider));
    run(&mut r, fps, until, &HeadPose::default())
}

#[test]
fn spring_bones_rest_at_time_zero_and_fall_with_gravity() {
    let rest = HeadPose::default();
    let mut plain = spring_avatar(1.0, 0.3, false);
    plain.springs = SpringBones::default();
    let still = at(&mut renderer(plain), 0.0, &rest);
    let (n0, y0, low0) = strip(&still);
    dump("rest", &still);
    assert!(n0 > 500, "the strip shows: {n0} px");
    let mut r = renderer(spring_avatar(1.0, 0.3, false));
    assert!(r.has_spring_bones());
    let first = at(&mut r, 0.0, &rest);
    assert_eq!(first.data, still.data, "time 0 is the rest pose");
    let fallen = run(&mut r, 25.0, 2.0, &rest);
    dump("fallen", &fallen);
    let (n1, y1, low1) = strip(&fallen);
    println!("gravity: mean row {y0:.1} -> {y1:.1}, lowest {low0} -> {low1}, px {n0} -> {n1}");
    assert!(y1 > y0 + 12.0 && low1 > low0 + 25, "the strip droops");
    // Without gravity and with stiffness the strip holds its rest pose.
    let mut r = renderer(spring_avatar(0.0, 1.0, false));
    let held = run(&mut r, 25.0, 2.0, &rest);
    assert!(
        differing(&held, &still) <= 4,
        "{}",
        differing(&held, &still)
    );
    // A snapshot 2 s into a session with the head held still: the same picture, drawn once.
    let mut r = renderer(spring_avatar(1.0, 0.3, false));
    at(&mut r, 0.0, &rest);
    r.run_springs(2.0, &rest);
    assert_eq!(at_same_time(&mut r, &rest).data, fallen.data);
    // Time going backwards starts again from rest.
    let mut r = renderer(spring_avatar(1.0, 0.3, false));
    run(&mut r, 25.0, 1.0, &rest);
    assert_eq!(at(&mut r, 0.0, &rest).data, still.data);
}

#[test]
fn spring_bones_lag_behind_a_turning_head_then_settle() {
    let turned = HeadPose {
        head: [0.0, 0.0, 0.5],
        ..HeadPose::default()
    };
    // The strip held rigidly in the turned head: where the spring settles.
    let mut plain = spring_avatar(0.0, 1.0, false);
    plain.springs = SpringBones::default();
    let rigid = at(&mut renderer(plain), 0.0, &turned);
    let mut r = renderer(spring_avatar(0.0, 1.0, false));
    at(&mut r, 0.0, &HeadPose::default());
    // The head rolls by 0.5 rad in one frame: the strip's tip is left behind.
    let mut lag = 0usize;
    for k in 1..=3 {
        let f = at(&mut r, k as f64 * 0.04, &turned);
        lag = lag.max(differing(&f, &rigid));
    }
    let settled = run_from(&mut r, 0.12, 4.0, &turned);
    let left = differing(&settled, &rigid);
    println!("turning head: {lag} px off the rigid strip while it swings, {left} after 4 s");
    assert!(lag > 300, "the strip swings behind the head: {lag}");
    assert!(left <= 30, "and settles where the head holds it: {left}");
    // With the head as the chain's center, motion is measured in the head's space: turning
    // the head moves the strip with it at once.
    let mut av = spring_avatar(0.0, 1.0, false);
    av.springs.chains[0].center = Some(1);
    let mut r = renderer(av);
    at(&mut r, 0.0, &HeadPose::default());
    let mut lag = 0usize;
    for k in 1..=3 {
        lag = lag.max(differing(&at(&mut r, k as f64 * 0.04, &turned), &rigid));
    }
    println!("turning head, center = head: {lag} px off the rigid strip");
    assert!(lag <= 30, "{lag}");
}

/// Frames at 25 fps from `from` to `until` s.
fn run_from(r: &mut Renderer, from: f64, until: f64, pose: &HeadPose) -> RgbaFrame {
    let mut f = at(r, from, pose);
    let mut t = from;
    while t < until {
        t += 0.04;
        f = at(r, t, pose);
    }
    f
}

#[test]
fn spring_bones_give_the_same_picture_at_any_frame_rate() {
    let rest = HeadPose::default();
    let a = falling(25.0, 1.0, false);
    let b = falling(50.0, 1.0, false);
    let c = falling(10.0, 1.0, false);
    assert!(a.data == b.data && a.data == c.data);
    // ... and it is a different picture from the rest pose.
    let first = at(&mut renderer(spring_avatar(1.0, 0.3, false)), 0.0, &rest);
    assert!(differing(&a, &first) > 300);
}

#[test]
fn spring_collider_holds_the_strip_up() {
    let free = falling(25.0, 2.0, false);
    let held = falling(25.0, 2.0, true);
    dump("held", &held);
    let ((_, yf, lf), (_, yh, lh)) = (strip(&free), strip(&held));
    println!("collider: mean row {yf:.1} free, {yh:.1} held; lowest {lf} / {lh}");
    assert!(
        lh + 10 < lf && yh + 4.0 < yf,
        "the ball stops the strip's fall"
    );
}

/// The strip under gravity at 25 fps for 2 s with the head's collider replaced by `shape`.
fn falling_with(shape: ColliderShape) -> RgbaFrame {
    let mut av = spring_avatar(1.0, 0.3, true);
    av.springs.colliders[0].shape = shape;
    run(&mut renderer(av), 25.0, 2.0, &HeadPose::default())
}

/// `VRMC_springBone_extended_collider`: a floor (plane) 3 cm below the strip holds it up; a
/// ball it must stay inside (centred on its root joint, 10 cm) folds it; a roomy inside ball
/// and a floor far below change nothing.
#[test]
fn extended_colliders_keep_the_strip_above_a_plane_and_inside_a_ball() {
    let free = falling(25.0, 2.0, false);
    let floor = falling_with(ColliderShape::Plane {
        offset: [0.0, -0.03, 0.0],
        normal: [0.0, 1.0, 0.0],
    });
    let ball = falling_with(ColliderShape::InsideSphere {
        offset: [0.1, 0.0, 0.0],
        radius: 0.1,
    });
    let capsule = falling_with(ColliderShape::InsideCapsule {
        offset: [0.1, 0.0, 0.0],
        radius: 0.1,
        tail: [0.3, 0.0, 0.0],
    });
    dump("floor", &floor);
    dump("inside", &ball);
    let ((_, yf, lf), (_, yp, lp), (_, yb, lb), (_, yc, lc)) =
        (strip(&free), strip(&floor), strip(&ball), strip(&capsule));
    println!(
        "extended colliders: lowest row free {lf}, plane {lp}, inside ball {lb}, inside capsule {lc}; \
         mean {yf:.1} / {yp:.1} / {yb:.1} / {yc:.1}"
    );
    // The floor is at y = 1.47, row ~119 through this camera; the strip is 3 cm thick.
    assert!(
        lp < 132 && lf > 170,
        "the plane holds the strip: lowest {lp} (free {lf})"
    );
    assert!(
        lb + 10 < lf,
        "inside the ball the strip folds: lowest {lb} (free {lf})"
    );
    // The capsule reaches 20 cm further along the rest strip: more room than the ball, less
    // than none.
    assert!(
        lb + 4 < lc && lc + 10 < lf,
        "capsule {lc}, ball {lb}, free {lf}"
    );
    let roomy = falling_with(ColliderShape::InsideSphere {
        offset: [0.1, 0.0, 0.0],
        radius: 1.0,
    });
    let deep = falling_with(ColliderShape::Plane {
        offset: [0.0, -1.0, 0.0],
        normal: [0.0, 1.0, 0.0],
    });
    assert_eq!(roomy.data, free.data, "a roomy inside ball changes nothing");
    assert_eq!(deep.data, free.data, "a floor far below changes nothing");
}
