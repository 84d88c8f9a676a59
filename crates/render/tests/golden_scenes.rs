//! Golden images of hand-built scenes (no loader needed). `FACECAST_BLESS=1` regenerates.

mod common;

use std::sync::Arc;

use common::*;
use facecast_core::{HeadPose, RgbaFrame};
use facecast_render::{Background, RenderConfig, Renderer};

fn render(av: facecast_core::model::Avatar, channels: &[f32], pose: &HeadPose) -> RgbaFrame {
    let cfg = RenderConfig {
        width: 256,
        height: 256,
        background: "gradient:#3a414e:#16191f".parse().unwrap(),
        camera: None,
    };
    let mut r = Renderer::new(Arc::new(av), cfg).expect("renderer");
    let mut out = RgbaFrame::default();
    r.render_rgba(channels, pose, &mut out);
    out
}

#[test]
fn golden_cube() {
    check_golden("cube", &render(cube_avatar(), &[], &HeadPose::default()));
}

#[test]
fn golden_textured_mask_blend_unlit() {
    check_golden(
        "textured",
        &render(textured_avatar(), &[], &HeadPose::default()),
    );
}

#[test]
fn golden_skin() {
    check_golden("skin", &render(skin_avatar(), &[], &HeadPose::default()));
}

#[test]
fn golden_morph_face_rest_open_and_turned() {
    check_golden(
        "morphface_rest",
        &render(morph_face_avatar(), &[0.0], &HeadPose::default()),
    );
    check_golden(
        "morphface_jaw",
        &render(morph_face_avatar(), &[1.0], &HeadPose::default()),
    );
    let pose = HeadPose {
        head: [0.4, 0.15, 0.0],
        eyes: [0.0, 0.0],
    };
    check_golden(
        "morphface_turned",
        &render(morph_face_avatar(), &[0.0], &pose),
    );
}

#[test]
fn solid_background_is_exact_and_image_background_covers() {
    let av = Arc::new(facecast_core::model::Avatar::default());
    let cfg = RenderConfig {
        width: 64,
        height: 32,
        background: Background::Solid([0x20, 0x24, 0x2c]),
        camera: None,
    };
    let mut r = Renderer::new(av.clone(), cfg).unwrap();
    let mut out = RgbaFrame::default();
    r.render_rgba(&[], &HeadPose::default(), &mut out);
    assert!(out
        .data
        .chunks_exact(4)
        .all(|p| p == [0x20, 0x24, 0x2c, 255]));
    // 2x1 image: left red, right blue, scaled to cover a 64x32 frame.
    let img = RgbaFrame {
        width: 2,
        height: 1,
        data: vec![255, 0, 0, 255, 0, 0, 255, 255],
    };
    let cfg = RenderConfig {
        width: 64,
        height: 32,
        background: Background::Image(img),
        camera: None,
    };
    let mut r = Renderer::new(av, cfg).unwrap();
    r.render_rgba(&[], &HeadPose::default(), &mut out);
    let px = |x: usize, y: usize| &out.data[(y * 64 + x) * 4..(y * 64 + x) * 4 + 3];
    assert_eq!(px(0, 16), [255, 0, 0]);
    assert_eq!(px(63, 16), [0, 0, 255]);
}
