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
        ..Default::default()
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
        ..Default::default()
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
        ..Default::default()
    };
    let mut r = Renderer::new(av, cfg).unwrap();
    r.render_rgba(&[], &HeadPose::default(), &mut out);
    let px = |x: usize, y: usize| &out.data[(y * 64 + x) * 4..(y * 64 + x) * 4 + 3];
    assert_eq!(px(0, 16), [255, 0, 0]);
    assert_eq!(px(63, 16), [0, 0, 255]);
}

/// A material reading its base colour through the second texture coordinate set and its normal
/// map through the first, on vertex colours: the eight-wide kernel draws what the reference path
/// draws (the triangle records hold planes for one coordinate set and, beside a texture, none
/// for colours: both kernels read those from the vertices), and the base texture really follows
/// the second set.
#[test]
fn two_texture_coordinate_sets_shade_alike() {
    use facecast_core::model::TexRef;
    let build = |base_set: u32| {
        let mut av = textured_avatar();
        // The alpha-masked checker quad facing the camera.
        let quad = &mut av.meshes[1].primitives[0];
        // Set 1 repeats the checker twice as often as set 0.
        quad.uv1 = quad
            .uv0
            .iter()
            .map(|uv| [uv[0] * 2.0, uv[1] * 2.0])
            .collect();
        // Turned away on its right side, so perspective weights the vertices unequally.
        quad.positions[1][2] -= 0.5;
        quad.positions[2][2] -= 0.5;
        quad.colors = vec![
            [1.0, 0.3, 0.3, 1.0],
            [0.3, 1.0, 0.3, 1.0],
            [0.3, 0.3, 1.0, 1.0],
            [1.0, 1.0, 1.0, 1.0],
        ];
        let m = &mut av.materials[1];
        m.base_color_tex = Some(TexRef {
            texture: 1,
            texcoord: base_set,
            transform: None,
        });
        // A bumpy normal map (the floor's checker read as normals) on set 0.
        m.normal_tex = Some(TexRef {
            texture: 0,
            texcoord: 0,
            transform: None,
        });
        m.normal_scale = 0.8;
        Arc::new(av)
    };
    let cfg = RenderConfig {
        width: 256,
        height: 256,
        background: Background::Solid([0, 0, 0]),
        ..Default::default()
    };
    let pose = HeadPose::default();
    let draw = |av: Arc<facecast_core::model::Avatar>, simd: bool| {
        let mut r = Renderer::new(av, cfg.clone()).unwrap();
        r.set_simd(simd);
        let mut out = RgbaFrame::default();
        r.render_rgba(&[], &pose, &mut out);
        out
    };
    let (fast, slow) = (draw(build(1), true), draw(build(1), false));
    let worst = fast
        .data
        .iter()
        .zip(&slow.data)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 2, "SIMD and reference differ by {worst}");
    // The base colour follows set 1: drawing it through set 0 changes much of the quad.
    let other = draw(build(0), true);
    let changed = fast
        .data
        .chunks_exact(4)
        .zip(other.data.chunks_exact(4))
        .filter(|(a, b)| (0..3).any(|c| a[c].abs_diff(b[c]) > 40))
        .count();
    assert!(
        changed > 500,
        "only {changed} pixels depend on the coordinate set"
    );
}
