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

/// 256×256 on black, at rest, with the AVX2 kernels (`simd`) or the reference ones.
fn draw_on_black(av: Arc<facecast_core::model::Avatar>, simd: bool) -> RgbaFrame {
    let cfg = RenderConfig {
        width: 256,
        height: 256,
        background: Background::Solid([0, 0, 0]),
        ..Default::default()
    };
    let mut r = Renderer::new(av, cfg).unwrap();
    r.set_simd(simd);
    let mut out = RgbaFrame::default();
    r.render_rgba(&[], &HeadPose::default(), &mut out);
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
    let draw = draw_on_black;
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

/// The metallic-roughness, occlusion and emissive textures scale their factors per pixel, in
/// both kernels: a texture holding one value draws what that value as a factor draws, an
/// occlusion texture at strength 0 or an emissive texture that is black change nothing, and a
/// checkered metallic-roughness texture draws its checker (and the kernels agree on it).
#[test]
fn material_textures_scale_their_factors() {
    use facecast_core::model::{Material, TexRef};
    let tex = |texture: u32| {
        Some(TexRef {
            texture,
            texcoord: 0,
            transform: None,
        })
    };
    // Textures 2.. (0 and 1 are the scene's checkers): one value each, or a checker.
    let flat = |c: [u8; 4]| checker(64, 4, c, c);
    let build = |edit: &dyn Fn(&mut Material)| {
        let mut av = textured_avatar();
        av.textures.extend([
            flat([0, 128, 0, 255]),     // 2: occlusion 0, rough 0.502, metal 0 (ORM)
            flat([0, 128, 0, 255]),     // 3: the same, as a texture of its own
            flat([0, 0, 0, 255]),       // 4: black
            flat([255, 255, 255, 255]), // 5: white
            checker(64, 4, [255, 60, 255, 255], [255, 230, 0, 255]), // 6: metal/rough checker
        ]);
        // The floor: textured, receding (mip levels vary per pixel), lit.
        edit(&mut av.materials[0]);
        Arc::new(av)
    };
    let draw = draw_on_black;
    let worst = |a: &RgbaFrame, b: &RgbaFrame| {
        a.data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap()
    };
    let changed = |a: &RgbaFrame, b: &RgbaFrame| {
        a.data
            .chunks_exact(4)
            .zip(b.data.chunks_exact(4))
            .filter(|(p, q)| (0..3).any(|c| p[c].abs_diff(q[c]) > 12))
            .count()
    };
    for simd in [true, false] {
        // Metal 1 and roughness 1 as factors, scaled by the texture to metal 0, rough 0.502.
        let textured = draw(
            build(&|m| {
                m.metallic = 1.0;
                m.roughness = 1.0;
                m.metallic_roughness_tex = tex(2);
            }),
            simd,
        );
        let factors = draw(
            build(&|m| {
                m.metallic = 0.0;
                m.roughness = 128.0 / 255.0;
            }),
            simd,
        );
        let untextured = draw(
            build(&|m| {
                m.metallic = 1.0;
                m.roughness = 1.0;
            }),
            simd,
        );
        let d = worst(&textured, &factors);
        assert!(d <= 1, "simd {simd}: texture vs the same factors: {d}");
        let n = changed(&textured, &untextured);
        assert!(n > 2000, "simd {simd}: the texture changed only {n} pixels");

        // Occlusion: strength 0 changes nothing; from the same ("ORM") or its own texture it
        // darkens the floor, alike.
        let occ = |t: u32, strength: f32| {
            draw(
                build(&move |m| {
                    m.metallic = 1.0;
                    m.roughness = 1.0;
                    m.metallic_roughness_tex = tex(2);
                    m.occlusion_tex = tex(t);
                    m.occlusion_strength = strength;
                }),
                simd,
            )
        };
        assert_eq!(worst(&occ(3, 0.0), &textured), 0, "simd {simd}: strength 0");
        let (own, orm) = (occ(4, 1.0), occ(2, 1.0));
        assert_eq!(
            worst(&own, &orm),
            0,
            "simd {simd}: ORM and own occlusion texture"
        );
        // Pixels the occlusion made darker by 4 levels or more (and none brighter).
        let (mut darker, mut brighter) = (0, 0);
        for (p, q) in own.data.chunks_exact(4).zip(textured.data.chunks_exact(4)) {
            let (a, b) = (
                (0..3).map(|c| p[c] as i32).sum::<i32>(),
                (0..3).map(|c| q[c] as i32).sum::<i32>(),
            );
            darker += (a + 12 <= b) as usize;
            brighter += (a > b) as usize;
        }
        assert!(
            darker > 2000 && brighter == 0,
            "simd {simd}: occlusion darkened {darker} pixels, brightened {brighter}"
        );

        // Emission: a black texture adds nothing; a white one adds the factor.
        let glow = [0.3, 0.1, 0.05];
        let emis = |t: Option<u32>| {
            draw(
                build(&move |m| {
                    m.emissive = glow;
                    m.emissive_tex = t.and_then(tex);
                }),
                simd,
            )
        };
        let plain = draw(build(&|_| {}), simd);
        assert_eq!(
            worst(&emis(Some(4)), &plain),
            0,
            "simd {simd}: black emission"
        );
        let d = worst(&emis(Some(5)), &emis(None));
        assert!(d <= 1, "simd {simd}: white emissive texture vs factor: {d}");
        let n = changed(&emis(None), &plain);
        assert!(n > 2000, "simd {simd}: emission changed only {n} pixels");
    }
    // A checkered metallic-roughness texture: the kernels agree, and the checker shows.
    let check = build(&|m| {
        (m.metallic, m.roughness) = (1.0, 1.0);
        m.metallic_roughness_tex = tex(6);
    });
    let (fast, slow) = (draw(check.clone(), true), draw(check, false));
    let d = worst(&fast, &slow);
    let off = fast
        .data
        .chunks_exact(4)
        .zip(slow.data.chunks_exact(4))
        .filter(|(p, q)| (0..3).any(|c| p[c].abs_diff(q[c]) > 2))
        .count();
    assert!(
        d <= 8 && off <= 65,
        "SIMD and reference: worst {d}, {off} pixels by > 2"
    );
    let flat2 = draw(
        build(&|m| {
            (m.metallic, m.roughness) = (1.0, 1.0);
            m.metallic_roughness_tex = tex(2);
        }),
        true,
    );
    let n = changed(&fast, &flat2);
    assert!(n > 1000, "the checker changed only {n} pixels");
}
