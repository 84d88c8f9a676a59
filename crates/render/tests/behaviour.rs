//! Behaviour tests: no per-frame allocation, I420 path equals RGBA + convert, pose and morph
//! effects, bad input.

mod common;

use std::sync::Arc;

use common::*;
use facecast_core::convert::rgba_to_i420;
use facecast_core::model::{Avatar, Primitive, Texture};
use facecast_core::{HeadPose, I420Frame, RgbaFrame};
use facecast_render::{CameraOverride, RenderConfig, RenderError, Renderer};

fn cfg(w: u32, h: u32) -> RenderConfig {
    RenderConfig {
        width: w,
        height: h,
        ..Default::default()
    }
}

/// A renderer of `av` at `w`×`h` through camera `cam`.
fn viewed(av: Arc<Avatar>, cam: CameraOverride, (w, h): (u32, u32)) -> Renderer {
    let c = RenderConfig {
        camera: Some(cam),
        ..cfg(w, h)
    };
    Renderer::new(av, c).unwrap()
}

/// One RGBA frame of `r` at rest.
fn frame(r: &mut Renderer) -> RgbaFrame {
    let mut f = RgbaFrame::default();
    r.render_rgba(&[], &HeadPose::default(), &mut f);
    f
}

#[test]
fn steady_state_rendering_does_not_grow_buffers() {
    for av in [morph_face_avatar(), textured_avatar(), skin_avatar()] {
        let mut r = Renderer::new(Arc::new(av), cfg(192, 128)).unwrap();
        let mut out = I420Frame::new(192, 128);
        let mut rgba = RgbaFrame::new(192, 128);
        let pose = |i: usize| HeadPose {
            head: [0.02 * i as f32, 0.0, 0.0],
            eyes: [0.0; 2],
        };
        for i in 0..3 {
            r.render_i420(&[i as f32 / 3.0], &pose(i), &mut out);
            r.render_rgba(&[i as f32 / 3.0], &pose(i), &mut rgba);
        }
        let caps = r.buffer_capacities();
        let (py, pu, prgba) = (out.y.as_ptr(), out.u.as_ptr(), rgba.data.as_ptr());
        for i in 0..20 {
            r.render_i420(&[(i % 3) as f32 / 3.0], &pose(i % 3), &mut out);
            r.render_rgba(&[(i % 3) as f32 / 3.0], &pose(i % 3), &mut rgba);
        }
        assert_eq!(caps, r.buffer_capacities(), "a per-frame buffer grew");
        assert_eq!(
            (py, pu, prgba),
            (out.y.as_ptr(), out.u.as_ptr(), rgba.data.as_ptr()),
            "output reallocated"
        );
    }
}

#[test]
fn i420_render_matches_rgba_render_plus_convert() {
    for av in [morph_face_avatar(), textured_avatar()] {
        let mut r = Renderer::new(Arc::new(av), cfg(200, 136)).unwrap();
        let mut rgba = RgbaFrame::default();
        r.render_rgba(&[0.7], &HeadPose::default(), &mut rgba);
        let mut want = I420Frame::default();
        rgba_to_i420(&rgba, &mut want);
        let mut got = I420Frame::default();
        r.render_i420(&[0.7], &HeadPose::default(), &mut got);
        assert_eq!((got.width, got.height), (200, 136));
        for (plane, a, b) in [
            ("y", &got.y, &want.y),
            ("u", &got.u, &want.u),
            ("v", &got.v, &want.v),
        ] {
            assert_eq!(a.len(), b.len());
            let worst = a
                .iter()
                .zip(b.iter())
                .map(|(x, y)| x.abs_diff(*y))
                .max()
                .unwrap();
            assert!(worst <= 1, "plane {plane} differs by {worst}");
        }
    }
}

/// The largest difference of any channel of any pixel.
fn max_diff(a: &RgbaFrame, b: &RgbaFrame) -> u8 {
    a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

fn mean_diff(a: &RgbaFrame, b: &RgbaFrame) -> f64 {
    a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| x.abs_diff(*y) as f64)
        .sum::<f64>()
        / a.data.len() as f64
}

#[test]
fn head_pose_jaw_morph_and_missing_weights_behave() {
    let av = Arc::new(morph_face_avatar());
    let mut r = Renderer::new(av.clone(), cfg(128, 128)).unwrap();
    let mut a = RgbaFrame::default();
    let mut b = RgbaFrame::default();
    r.render_rgba(&[0.0], &HeadPose::default(), &mut a);
    // Missing channel weights count as 0: same picture.
    r.render_rgba(&[], &HeadPose::default(), &mut b);
    assert_eq!(a, b);
    r.render_rgba(&[1.0], &HeadPose::default(), &mut b);
    assert!(mean_diff(&a, &b) > 0.05, "jawOpen morph changed nothing");
    // Back to rest restores the original exactly (sparse reset).
    r.render_rgba(&[0.0], &HeadPose::default(), &mut b);
    assert_eq!(a, b, "morph reset is not exact");
    r.render_rgba(
        &[0.0],
        &HeadPose {
            head: [0.5, 0.0, 0.0],
            eyes: [0.0; 2],
        },
        &mut b,
    );
    assert!(mean_diff(&a, &b) > 0.05, "head yaw changed nothing");
    // Non-finite inputs do not panic.
    r.render_rgba(
        &[f32::NAN],
        &HeadPose {
            head: [f32::INFINITY, f32::NAN, 0.0],
            eyes: [0.0; 2],
        },
        &mut b,
    );
    r.set_jaw_open(f32::NAN);
    assert!(!r.has_jaw_bone());
}

#[test]
fn camera_override_and_auto_framing_centre_the_head() {
    let av = Arc::new(morph_face_avatar());
    let r = Renderer::new(av.clone(), cfg(256, 256)).unwrap();
    let cam = r.camera();
    // The head (y ≈ 1.6) is above the view centre, in front of the camera.
    assert!(cam.target[1] < 1.6 && cam.target[1] > 1.3, "{cam:?}");
    assert!(cam.eye[2] > cam.target[2], "{cam:?}");
    let o = CameraOverride {
        eye: [0.0, 1.6, 2.0],
        target: [0.0, 1.6, 0.0],
        fov_y_deg: 30.0,
    };
    let r2 = Renderer::new(
        av,
        RenderConfig {
            camera: Some(o),
            ..cfg(256, 256)
        },
    )
    .unwrap();
    assert_eq!(r2.camera(), o);
}

#[test]
fn bad_meshes_are_errors_not_panics() {
    let mut av = cube_avatar();
    av.meshes[0].primitives[0].indices.push(999);
    av.meshes[0].primitives[0].indices.extend([0, 1]);
    let e = Renderer::new(Arc::new(av), cfg(64, 64))
        .err()
        .expect("error");
    assert!(matches!(e, RenderError::BadMesh { .. }), "{e}");
    let mut av = cube_avatar();
    av.meshes[0].primitives.push(Primitive {
        positions: vec![[0.0; 3]; 3],
        normals: vec![[0.0; 3]; 2],
        indices: vec![0, 1, 2],
        ..Default::default()
    });
    let e = Renderer::new(Arc::new(av), cfg(64, 64))
        .err()
        .expect("error");
    assert!(e.to_string().contains("normals has 2 entries"), "{e}");
    // Dangling node/material/texture references are tolerated.
    let mut av = textured_avatar();
    av.nodes[1].mesh = Some(77);
    av.meshes[1].primitives[0].material = Some(99);
    av.materials[0].base_color_tex.as_mut().unwrap().texture = 42;
    let mut r = Renderer::new(Arc::new(av), cfg(64, 64)).unwrap();
    let mut out = RgbaFrame::default();
    r.render_rgba(&[], &HeadPose::default(), &mut out);
    assert!(Renderer::new(Arc::new(Avatar::default()), cfg(64, 64)).is_ok());
}

#[test]
fn camera_inside_the_model_clips_instead_of_crashing() {
    let av = Arc::new(cube_avatar());
    let o = CameraOverride {
        eye: [0.1, 0.1, 0.2],
        target: [0.0, 0.0, -1.0],
        fov_y_deg: 90.0,
    };
    let out = frame(&mut viewed(av, o, (64, 64)));
    // Inside a closed cube with back-face culling we see the background only... but the near
    // clipped faces must not produce garbage: every pixel is opaque.
    assert!(out.data.chunks_exact(4).all(|p| p[3] == 255));
}

/// The test head, turned and with the jaw half open, its skin drawn with alpha mode `mode`.
fn turned_head(mode: facecast_core::model::AlphaMode) -> RgbaFrame {
    let mut av = morph_face_avatar();
    av.materials[0].alpha_mode = mode;
    let pose = HeadPose {
        head: [0.3, -0.1, 0.0],
        eyes: [0.0; 2],
    };
    let mut r = Renderer::new(Arc::new(av), cfg(160, 160)).unwrap();
    let mut f = RgbaFrame::default();
    r.render_rgba(&[0.5], &pose, &mut f);
    f
}

/// Every frame is shaded from that frame's triangle records: a renderer that drew other poses
/// first draws a frame exactly as a fresh renderer does, with alpha-blended and alpha-masked
/// surfaces (shaded while rasterising) as well as opaque ones.
#[test]
fn every_frame_is_shaded_from_its_own_triangles() {
    use facecast_core::model::AlphaMode;
    let mut av = morph_face_avatar();
    // The head half transparent, the eyes alpha-tested.
    av.materials[0].alpha_mode = AlphaMode::Blend;
    av.materials[0].base_color[3] = 0.7;
    av.materials[2].alpha_mode = AlphaMode::Mask(0.5);
    let av = Arc::new(av);
    let poses = [
        ([0.0, 0.0, 0.0], 0.0),
        ([0.45, -0.2, 0.1], 1.0),
        ([-0.3, 0.15, 0.0], 0.4),
    ];
    let mut warm = Renderer::new(av.clone(), cfg(160, 160)).unwrap();
    let mut out = RgbaFrame::default();
    for (k, &(head, jaw)) in poses.iter().enumerate() {
        let pose = HeadPose {
            head,
            eyes: [0.0; 2],
        };
        warm.render_rgba(&[jaw], &pose, &mut out);
        let mut fresh = Renderer::new(av.clone(), cfg(160, 160)).unwrap();
        let mut want = RgbaFrame::default();
        fresh.render_rgba(&[jaw], &pose, &mut want);
        assert!(out == want, "frame {k} differs from a fresh renderer's");
    }
    // And those records hold the triangles' own attributes: blended at alpha 1, the head is
    // drawn as the opaque head is (lit by its interpolated normals, not flat).
    let (opaque, blended) = (
        turned_head(AlphaMode::Opaque),
        turned_head(AlphaMode::Blend),
    );
    // Over the skin (red well above green in the opaque picture), the lighting's spread of
    // brightness: a blended head shaded from empty or stale records would come out flat.
    let spread = |f: &RgbaFrame| {
        let v: Vec<f64> = opaque
            .data
            .chunks_exact(4)
            .zip(f.data.chunks_exact(4))
            .filter(|(o, _)| o[0] as i32 > o[1] as i32 + 30)
            .map(|(_, p)| p[0] as f64 + p[1] as f64 + p[2] as f64)
            .collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64).sqrt()
    };
    let (so, sb) = (spread(&opaque), spread(&blended));
    eprintln!("skin brightness spread: opaque {so:.1}, blended {sb:.1}");
    assert!(
        so > 10.0 && sb > 0.85 * so,
        "blended head shading is flat: spread {sb:.1} against {so:.1} opaque"
    );
}

/// A blended surface at alpha 1 covers what is behind it: where two of its triangles share a
/// pixel, their coverage adds up instead of each letting the background through (which drew
/// every internal triangle edge of a blended mesh as a faint grid). Inside the head (away from
/// its outline), the blended head is the opaque head.
#[test]
fn a_blended_mesh_at_full_alpha_shows_no_triangle_edges() {
    use facecast_core::model::AlphaMode;
    let (opaque, blended) = (
        turned_head(AlphaMode::Opaque),
        turned_head(AlphaMode::Blend),
    );
    let (w, h) = (opaque.width as usize, opaque.height as usize);
    let px = |f: &RgbaFrame, x: usize, y: usize| -> [i32; 3] {
        let o = (y * w + x) * 4;
        [f.data[o] as i32, f.data[o + 1] as i32, f.data[o + 2] as i32]
    };
    let skin = |x: usize, y: usize| {
        let p = px(&opaque, x, y);
        p[0] > p[1] + 30
    };
    let (mut inside, mut off, mut worst) = (0, 0, 0);
    for y in 2..h - 2 {
        for x in 2..w - 2 {
            // Skin here and in the 5x5 around it: not the outline, not a material border.
            if !(y - 2..=y + 2).all(|yy| (x - 2..=x + 2).all(|xx| skin(xx, yy))) {
                continue;
            }
            inside += 1;
            let (a, b) = (px(&opaque, x, y), px(&blended, x, y));
            let d = (0..3).map(|q| (a[q] - b[q]).abs()).max().unwrap();
            worst = worst.max(d);
            if d > 4 {
                off += 1;
            }
        }
    }
    eprintln!("inside pixels {inside}, differing by more than 4 levels {off}, worst {worst}");
    assert!(inside > 1500, "too few skin pixels ({inside}) to judge");
    assert!(
        off * 200 < inside,
        "{off} of {inside} pixels inside a blended head at alpha 1 differ from the opaque head (worst {worst} levels): triangle edges show through"
    );
}

/// A double-sided surface seen from behind is shaded from its own attributes. Its back faces
/// get their shading records only once they hold a sample (set-up skips them): the textured
/// quad wound the other way round, with its normals flipped to match, is the picture of the
/// quad seen from the front, with both kernels.
#[test]
fn the_back_of_a_double_sided_surface_is_shaded_like_its_front() {
    use facecast_core::model::AlphaMode;
    let picture = |back: bool, simd: bool| {
        let mut av = textured_avatar();
        av.materials[1].alpha_mode = AlphaMode::Opaque;
        if back {
            let p = &mut av.meshes[1].primitives[0];
            p.indices = vec![0, 2, 1, 0, 3, 2];
            p.normals = vec![[0., 0., -1.]; 4];
        }
        let mut r = Renderer::new(Arc::new(av), cfg(320, 240)).unwrap();
        r.set_simd(simd);
        let mut f = RgbaFrame::default();
        r.render_rgba(&[], &HeadPose::default(), &mut f);
        f
    };
    for simd in [true, false] {
        let (front, back) = (picture(false, simd), picture(true, simd));
        // The quad's checker (yellow cells) covers a good part of the picture.
        let yellow = front
            .data
            .chunks_exact(4)
            .filter(|p| p[0] > 150 && p[1] > 110 && p[2] < 80)
            .count();
        let d = mean_diff(&front, &back);
        eprintln!("simd {simd}: {yellow} yellow pixels, mean difference {d:.3}");
        assert!(
            yellow > 1000,
            "the quad is not in view ({yellow} yellow pixels)"
        );
        assert!(
            d < 0.2,
            "back differs from front by {d:.3} on average (simd {simd})"
        );
    }
}

/// Values that no exporter should write but a user's file can hold: NaN, infinities and huge
/// numbers in positions, normals, texture coordinates, morph deltas, skin weights, inverse bind
/// matrices, node transforms, morph weights and the head pose. Each poisoned avatar renders (RGBA
/// and I420, eight-wide and reference kernels) without a panic, every pixel opaque, and the
/// unpoisoned parts of the picture still drawn.
#[test]
fn non_finite_and_huge_values_render_without_panics() {
    const BAD: [f32; 5] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30];
    /// What is poisoned, the avatar it is poisoned in, and how.
    type Case = (&'static str, fn() -> Avatar, fn(&mut Avatar, f32));
    let poisons: [Case; 11] = [
        ("position", morph_face_avatar, |a, x| {
            let p = &mut a.meshes[0].primitives[0].positions;
            p[40] = [x, 0.0, 0.0];
            p[41] = [0.0, x, x];
        }),
        ("normal", morph_face_avatar, |a, x| {
            a.meshes[0].primitives[0].normals[40] = [x, x, 0.0];
        }),
        ("morph delta", morph_face_avatar, |a, x| {
            a.meshes[0].primitives[0].targets[0].positions[3] = [0.0, x, 0.0];
            a.meshes[0].primitives[0].targets[0].normals[4] = [x, 0.0, 0.0];
        }),
        ("texture coordinate", textured_avatar, |a, x| {
            a.meshes[0].primitives[0].uv0[1] = [x, 0.5];
            a.meshes[1].primitives[0].uv0[2] = [0.5, x];
        }),
        ("floor vertex", textured_avatar, |a, x| {
            a.meshes[0].primitives[0].positions[2] = [x, -1.0, -12.0];
        }),
        ("node translation", morph_face_avatar, |a, x| {
            a.nodes[3].translation = [x, 0.0, 0.0];
        }),
        ("node scale", morph_face_avatar, |a, x| {
            a.nodes[3].scale = [x, x, x];
        }),
        ("node rotation", morph_face_avatar, |a, x| {
            a.nodes[3].rotation = [x, 0.0, 0.0, 1.0];
        }),
        ("skin weight", skin_avatar, |a, x| {
            a.meshes[0].primitives[0].weights[5] = [x, 1.0, 0.0, 0.0];
            a.meshes[0].primitives[0].weights[9] = [x, x, x, x];
        }),
        ("inverse bind matrix", skin_avatar, |a, x| {
            a.skins[0].inverse_bind[1][5] = x;
        }),
        ("material", textured_avatar, |a, x| {
            a.materials[0].base_color = [x, 0.5, 0.5, 1.0];
            a.materials[2].base_color[3] = x;
            a.materials[1].alpha_mode = facecast_core::model::AlphaMode::Mask(x);
        }),
    ];
    let mut rgba = RgbaFrame::default();
    let mut yuv = I420Frame::new(96, 96);
    for (what, make, poison) in poisons {
        let clean = {
            let mut r = Renderer::new(Arc::new(make()), cfg(96, 96)).unwrap();
            let mut out = RgbaFrame::default();
            r.render_rgba(&[], &HeadPose::default(), &mut out);
            out
        };
        for x in BAD {
            let mut av = make();
            poison(&mut av, x);
            let n = av.channels.len();
            let ctx = format!("{what} = {x}");
            let mut r = match Renderer::new(Arc::new(av), cfg(96, 96)) {
                Ok(r) => r,
                // Refusing the avatar with an error is as good as drawing it.
                Err(_) => continue,
            };
            for simd in [true, false] {
                r.set_simd(simd);
                let mut pose = HeadPose::default();
                r.render_rgba(&vec![1.0; n], &pose, &mut rgba);
                assert!(rgba.data.chunks_exact(4).all(|p| p[3] == 255), "{ctx}");
                // Most of the picture is the clean avatar's.
                let same = rgba
                    .data
                    .chunks_exact(4)
                    .zip(clean.data.chunks_exact(4))
                    .filter(|(a, b)| {
                        a[..3]
                            .iter()
                            .zip(b.iter())
                            .all(|(p, q)| p.abs_diff(*q) < 40)
                    })
                    .count();
                assert!(
                    same > 96 * 96 / 3,
                    "{ctx}: only {same} pixels like the clean picture"
                );
                pose.head = [x, 0.1, -0.1];
                r.render_i420(&[x; 4], &pose, &mut yuv);
                r.render_rgba(&[x; 4], &HeadPose::default(), &mut rgba);
            }
        }
    }
}

/// Expressions' material values (VRM colour and texture-transform binds) change the picture
/// from the next frame on, a renderer that changed them draws what a fresh one draws with the
/// same values (no stale cached tiles), and going back to rest gives back the rest picture.
#[test]
fn material_values_recolour_and_move_textures_without_stale_tiles() {
    use facecast_core::expr::MaterialValues;
    let av = Arc::new(textured_avatar());
    let rest: Vec<MaterialValues> = av.materials.iter().map(MaterialValues::of).collect();
    let mut changed = rest.clone();
    changed[3].base_color = [0.9, 0.1, 0.1, 1.0]; // the unlit green box turns red
    changed[1].uv_offset_delta = [0.125, 0.0]; // the masked checker moves half a cell
    changed[2].emissive = [0.4, 0.0, 0.0]; // the glass glows
    let pose = HeadPose::default();
    for simd in [true, false] {
        let mut live = Renderer::new(av.clone(), cfg(192, 128)).unwrap();
        live.set_simd(simd);
        let (mut a, mut b, mut c) = (
            RgbaFrame::default(),
            RgbaFrame::default(),
            RgbaFrame::default(),
        );
        let (mut ya, mut yb) = (I420Frame::default(), I420Frame::default());
        live.render_rgba(&[], &pose, &mut a);
        live.render_i420(&[], &pose, &mut ya);
        live.set_material_values(&changed);
        live.render_rgba(&[], &pose, &mut b);
        live.render_i420(&[], &pose, &mut yb);
        let mut fresh = Renderer::new(av.clone(), cfg(192, 128)).unwrap();
        fresh.set_simd(simd);
        fresh.set_material_values(&changed);
        let (mut f, mut yf) = (RgbaFrame::default(), I420Frame::default());
        fresh.render_rgba(&[], &pose, &mut f);
        fresh.render_i420(&[], &pose, &mut yf);
        assert!(
            b.data == f.data,
            "simd {simd}: changed values differ from a fresh renderer's"
        );
        assert!(
            (&yb.y, &yb.u, &yb.v) == (&yf.y, &yf.u, &yf.v),
            "simd {simd}: I420 after the change differs from a fresh renderer's"
        );
        let px = |fr: &RgbaFrame, i: usize| {
            let p = &fr.data[i * 4..i * 4 + 3];
            (p[0] as i32, p[1] as i32, p[2] as i32)
        };
        let n = a.data.len() / 4;
        let green_to_red = (0..n)
            .filter(|&i| {
                let ((r0, g0, _), (r1, g1, _)) = (px(&a, i), px(&b, i));
                g0 > r0 + 50 && r1 > g1 + 50
            })
            .count();
        let changed_px = (0..n)
            .filter(|&i| {
                let ((r0, g0, b0), (r1, g1, b1)) = (px(&a, i), px(&b, i));
                (r0 - r1).abs() + (g0 - g1).abs() + (b0 - b1).abs() > 48
            })
            .count();
        assert!(
            green_to_red > 100,
            "simd {simd}: box recoloured at {green_to_red} px"
        );
        assert!(
            changed_px > green_to_red + 800,
            "simd {simd}: {changed_px} px changed"
        );
        live.set_material_values(&rest);
        live.render_rgba(&[], &pose, &mut c);
        assert!(
            c.data == a.data,
            "simd {simd}: back at rest, the picture is not the rest one"
        );
        eprintln!("simd {simd}: {green_to_red} px green to red, {changed_px} px changed");
    }
}

/// MToon materials draw two tones: the key-lit side in the lit colour (exactly, where the
/// surface faces the camera), the far side in the shade colour, and between them a narrow
/// terminator (toony 0.9), not the lit model's gradient. The shading shift moves the
/// terminator; a shade-colour value (an expression's `shadeColor` bind) recolours only the shade;
/// both kernels draw the same picture.
#[test]
fn toon_materials_draw_two_tones_with_a_narrow_terminator() {
    use facecast_core::expr::MaterialValues;
    use facecast_core::model::Toon;
    let (w, h) = (160u32, 160u32);
    let lit = [0.8f32, 0.6, 0.5];
    let shade = [0.15f32, 0.1, 0.35];
    let with = |unlit: bool, base: [f32; 3], toon: Option<Toon>| {
        let mut a = morph_face_avatar();
        let m = &mut a.materials[0];
        m.base_color = [base[0], base[1], base[2], 1.0];
        m.unlit = unlit;
        m.toon = toon;
        Arc::new(a)
    };
    let toon = |shift: f32| Toon {
        shade_color: shade,
        shading_shift: shift,
        ..Default::default()
    };
    let draw = |av: &Arc<Avatar>, simd: bool, values: Option<&[MaterialValues]>| {
        let mut r = Renderer::new(av.clone(), cfg(w, h)).unwrap();
        r.set_simd(simd);
        if let Some(v) = values {
            r.set_material_values(v);
        }
        let mut f = RgbaFrame::default();
        r.render_rgba(&[], &HeadPose::default(), &mut f);
        f
    };
    let px =
        |f: &RgbaFrame, i: usize| -> [i32; 3] { std::array::from_fn(|k| f.data[i * 4 + k] as i32) };
    let n = (w * h) as usize;
    // The head's pixels: where an unlit pure red head is drawn at (nearly) full coverage.
    let mask = draw(&with(true, [1.0, 0.0, 0.0], None), true, None);
    let region: Vec<usize> = (0..n)
        .filter(|&i| {
            let [r, g, b] = px(&mask, i);
            r > 235 && g < 20 && b < 20
        })
        .collect();
    assert!(region.len() > 2000, "head covers {} px", region.len());
    let srgb = |c: f32| (c.powf(1.0 / 2.2) * 255.0) as i32;
    let lit8 = lit.map(srgb);
    let luma = |p: [i32; 3]| (p[0] * 3 + p[1] * 6 + p[2]) / 10;
    // lit / shade / in between, over the head
    let classes = |f: &RgbaFrame| {
        let (mut l, mut s, mut mid) = (0, 0, 0);
        for &i in &region {
            let p = px(f, i);
            if (0..3).all(|k| (p[k] - lit8[k]).abs() <= 12) {
                l += 1;
            } else if p[2] > p[0] && luma(p) < luma(lit8) - 60 {
                s += 1;
            } else {
                mid += 1;
            }
        }
        (l, s, mid)
    };
    // Shifted so that a third of the head is in shade (with the key light in front, little is).
    let av = with(false, lit, Some(toon(-0.5)));
    let (a, b) = (draw(&av, true, None), draw(&av, false, None));
    let diff = max_diff(&a, &b);
    assert!(diff <= 2, "kernels differ by up to {diff} levels");
    let (l, s, mid) = classes(&a);
    let total = region.len();
    assert!(l * 4 > total, "lit {l} of {total}");
    assert!(s * 10 > total, "shade {s} of {total}");
    assert!(mid * 8 < total, "{mid} of {total} px between the tones");
    // The lit model on the same head shades it as a gradient instead.
    let (_, _, gradient) = classes(&draw(&with(false, lit, None), true, None));
    assert!(
        mid * 3 < gradient,
        "px between: toon {mid}, lit model {gradient}"
    );
    // Shading shift moves the terminator.
    let (l_up, _, _) = classes(&draw(&with(false, lit, Some(toon(-0.2))), true, None));
    let (l_down, _, _) = classes(&draw(&with(false, lit, Some(toon(-0.8))), true, None));
    assert!(
        l_up > l + total / 20 && l_down + total / 20 < l,
        "lit px with shift -0.8 / -0.5 / -0.2: {l_down} / {l} / {l_up}"
    );
    eprintln!(
        "toon head {total} px: lit {l}, shade {s}, between {mid} (lit model between: {gradient}); \
         lit px with shift -0.8 / -0.5 / -0.2: {l_down} / {l} / {l_up}"
    );
    // A shade colour value turns the shade red and leaves the lit side.
    let mut values: Vec<MaterialValues> = av.materials.iter().map(MaterialValues::of).collect();
    values[0].shade = [0.6, 0.05, 0.05];
    for simd in [true, false] {
        let c = draw(&av, simd, Some(&values));
        let (mut red, mut shaded, mut lit_kept, mut lit_px) = (0, 0, 0, 0);
        for &i in &region {
            let (p, q) = (px(&a, i), px(&c, i));
            if p[2] > p[0] && luma(p) < luma(lit8) - 60 {
                shaded += 1;
                red += (q[0] > q[2] + 40) as usize;
            } else if (0..3).all(|k| (p[k] - lit8[k]).abs() <= 12) {
                lit_px += 1;
                lit_kept += (0..3).all(|k| (p[k] - q[k]).abs() <= 2) as usize;
            }
        }
        assert!(
            red * 10 > shaded * 9,
            "simd {simd}: {red} of {shaded} shaded px red"
        );
        // (the terminator's edge mixes in some shade)
        assert!(
            lit_kept * 10 > lit_px * 9,
            "simd {simd}: {lit_kept} of {lit_px} lit px kept"
        );
    }
}

/// A toon material's shade texture: read once with the base colour when it is the same texture
/// (VRoid's usual set-up), else sampled on its own; both give the same picture (a copy of the
/// texture at another index takes the second path), and the texture shows in the shade.
#[test]
fn toon_shade_texture_shared_or_separate_draws_the_same() {
    use facecast_core::model::{TexRef, Toon};
    let with = |shade_tex: Option<u32>| {
        let mut a = textured_avatar();
        a.textures.push(a.textures[0].clone());
        a.materials[0].toon = Some(Toon {
            shade_color: [0.5, 0.8, 1.0],
            shade_tex: shade_tex.map(|texture| TexRef {
                texture,
                texcoord: 0,
                transform: None,
            }),
            // almost everything in shade
            shading_shift: -1.0,
            ..Default::default()
        });
        Arc::new(a)
    };
    let pose = HeadPose::default();
    for simd in [true, false] {
        let draw = |av: Arc<Avatar>| {
            let mut r = Renderer::new(av, cfg(192, 128)).unwrap();
            r.set_simd(simd);
            let mut f = RgbaFrame::default();
            r.render_rgba(&[], &pose, &mut f);
            f
        };
        let (shared, separate, plain) =
            (draw(with(Some(0))), draw(with(Some(2))), draw(with(None)));
        let max = max_diff(&shared, &separate);
        assert!(max <= 1, "simd {simd}: shared and separate differ by {max}");
        let textured = (0..shared.data.len() / 4)
            .filter(|&i| {
                (0..3)
                    .map(|k| (shared.data[i * 4 + k] as i32 - plain.data[i * 4 + k] as i32).abs())
                    .sum::<i32>()
                    > 60
            })
            .count();
        assert!(
            textured > 1500,
            "simd {simd}: texture shows at {textured} px"
        );
    }
}

/// The camera of [`uv_anim_scene`].
const UV_CAM: CameraOverride = CameraOverride {
    eye: [0.0, 0.0, 2.5],
    target: [0.0, 0.0, 0.0],
    fov_y_deg: 40.0,
};

/// A picture made of 4×4 distinctly coloured cells on a quad facing the camera (left, in two
/// halves of separate vertices; `uv1` is 0.25 on the left half and 0.75 on the right), next to a
/// static red box (right). The quad's MToon material has `toon`'s UV animation; texture 1, when
/// used as the mask, is blue (255) on its right column only.
fn uv_anim_scene(toon: facecast_core::model::Toon) -> Arc<Avatar> {
    use facecast_core::model::{Mesh, TexRef};
    let cell = |x: u32, y: u32| [(40 + 60 * x) as u8, (40 + 60 * y) as u8, 220, 255];
    let half = |x0: f32, u1: f32| {
        let x1 = x0 + 0.5;
        let (ua, ub) = (x0 + 0.9, x1 + 0.9);
        Primitive {
            positions: vec![[x0, -0.5, 0.], [x1, -0.5, 0.], [x1, 0.5, 0.], [x0, 0.5, 0.]],
            normals: vec![[0., 0., 1.]; 4],
            uv0: vec![[ua, 1.], [ub, 1.], [ub, 0.], [ua, 0.]],
            uv1: vec![[u1, 0.5]; 4],
            indices: vec![0, 1, 2, 0, 2, 3],
            material: Some(0),
            ..Default::default()
        }
    };
    let mut quad = material([1.0; 4]);
    quad.base_color_tex = Some(TexRef {
        texture: 0,
        texcoord: 0,
        transform: None,
    });
    quad.toon = Some(toon);
    let mut nodes = vec![node("quad", Some(0)), node("box", Some(1))];
    nodes[1].translation = [0.75, 0.0, 0.0];
    Arc::new(Avatar {
        name: "uv-anim".into(),
        nodes,
        meshes: vec![
            Mesh {
                primitives: vec![half(-0.9, 0.25), half(-0.4, 0.75)],
                ..Default::default()
            },
            Mesh {
                primitives: vec![box_prim([-0.2; 3], [0.2; 3], Some(1))],
                ..Default::default()
            },
        ],
        materials: vec![quad, material([0.5, 0.04, 0.04, 1.0])],
        textures: vec![
            cells_texture("cells", 64, 4, cell),
            cells_texture("mask", 2, 2, |x, _| [0, 0, 255 * x as u8, 255]),
        ],
        ..Default::default()
    })
}

/// Which of the 16 cells (x + 4·y) each cell of the rest picture shows after the change, read
/// at the centre of each cell of the rest picture (found by colour).
fn cells_shown(rest: &RgbaFrame, now: &RgbaFrame) -> Vec<Option<u32>> {
    let colour = |k: u32| [(40 + 60 * (k % 4)) as i32, (40 + 60 * (k / 4)) as i32];
    let nearest = |p: &[u8]| -> Option<u32> {
        let (k, d) = (0..16)
            .map(|k| {
                let c = colour(k);
                (k, (p[0] as i32 - c[0]).abs() + (p[1] as i32 - c[1]).abs())
            })
            .min_by_key(|&(_, d)| d)?;
        (d < 24 && (p[2] as i32 - 220).abs() < 30).then_some(k)
    };
    let (w, n) = (rest.width as usize, rest.data.len() / 4);
    let mut sum = [(0usize, 0usize, 0usize); 16];
    for i in 0..n {
        if let Some(k) = nearest(&rest.data[i * 4..i * 4 + 3]) {
            let s = &mut sum[k as usize];
            *s = (s.0 + i % w, s.1 + i / w, s.2 + 1);
        }
    }
    sum.iter()
        .map(|&(x, y, c)| {
            assert!(c > 20, "a cell shows at {c} px in the rest picture");
            let i = (y / c) * w + x / c;
            nearest(&now.data[i * 4..i * 4 + 3])
        })
        .collect()
}

/// MToon UV animation (`uvAnimation*`): the picture scrolls and turns with time as the
/// extension's sample model shows (scroll X: it moves left; rotation: clockwise), a mask stops
/// it where the mask is 0, it repeats exactly after whole periods, and a renderer that reuses
/// tiles draws what a fresh one draws at that time, while tiles without the animated material
/// stay reused.
#[test]
fn mtoon_uv_animation_scrolls_and_turns_the_textures_with_time() {
    use facecast_core::model::{TexRef, Toon};
    let cam = UV_CAM;
    let draw = |av: &Arc<Avatar>, t: f64, simd: bool| {
        let mut r = viewed(av.clone(), cam, (192, 112));
        r.set_simd(simd);
        r.set_time(t);
        frame(&mut r)
    };
    let toon = |scroll: [f32; 2], rotation: f32, mask: bool| Toon {
        uv_scroll: scroll,
        uv_rotation: rotation,
        uv_mask_tex: mask.then_some(TexRef {
            texture: 1,
            texcoord: 1,
            transform: None,
        }),
        ..Default::default()
    };
    let quarter = std::f32::consts::FRAC_PI_2;
    for simd in [true, false] {
        let still = uv_anim_scene(toon([0.0; 2], 0.0, false));
        let rest = draw(&still, 0.0, simd);
        assert_eq!(
            cells_shown(&rest, &draw(&still, 3.0, simd)),
            (0..16).map(Some).collect::<Vec<_>>(),
            "without speeds nothing moves"
        );
        // What each place of the rest picture shows after 1 s of the animation `t`.
        let check = |t: Toon, want: &dyn Fn(u32) -> u32, what: &str| {
            let want: Vec<_> = (0..16u32).map(|k| Some(want(k))).collect();
            let now = draw(&uv_anim_scene(t), 1.0, simd);
            assert_eq!(cells_shown(&rest, &now), want, "{what}");
        };
        // Scroll X 0.25/s: each place shows the cell to its right.
        check(
            toon([0.25, 0.0], 0.0, false),
            &|k| (k % 4 + 1) % 4 + k / 4 * 4,
            "scroll X",
        );
        // Scroll Y 0.25/s: each place shows the cell below it (the picture moves up).
        check(
            toon([0.0, 0.25], 0.0, false),
            &|k| k % 4 + (k / 4 + 1) % 4 * 4,
            "scroll Y",
        );
        // A quarter turn: the picture turns clockwise, so the top-left cell goes top right and
        // the place of cell (x, y) shows cell (y, 3 - x).
        check(
            toon([0.0; 2], quarter, false),
            &|k| k / 4 + (3 - k % 4) * 4,
            "rotation",
        );
        // The mask holds the left half still.
        check(
            toon([0.25, 0.0], 0.0, true),
            &|k| {
                if k % 4 < 2 {
                    k
                } else {
                    (k % 4 + 1) % 4 + k / 4 * 4
                }
            },
            "mask",
        );
        // Whole periods later (an hour in), the rest picture again (the rotation speed, π/2 in
        // f32, is 1e-8 off: 2e-4 rad after the hour).
        let both = uv_anim_scene(toon([0.25, -0.5], quarter, false));
        let later = draw(&both, 4000.0, simd);
        let diff = mean_diff(&later, &rest);
        assert!(
            diff < 0.2,
            "after whole periods the picture differs from the rest picture by {diff:.3} on average"
        );
        // A live renderer (tile reuse) equals a fresh one at each time; the box's tiles are
        // reused.
        let mut live = viewed(both.clone(), cam, (192, 112));
        live.set_simd(simd);
        let mut f = RgbaFrame::default();
        for t in [0.0, 0.0, 0.3, 0.7, 0.7, 1.9] {
            live.set_time(t);
            live.render_rgba(&[], &HeadPose::default(), &mut f);
            assert!(
                f.data == draw(&both, t, simd).data,
                "simd {simd}: live at {t} s"
            );
        }
        let (reused, geo) = live.reused_tiles();
        assert!(
            reused > 0 && reused < geo,
            "simd {simd}: {reused} of {geo} tiles reused"
        );
        eprintln!("simd {simd}: after a time step {reused} of {geo} tiles with geometry reused");
    }
}

/// `KHR_texture_transform` as the extension's example (and Khronos' sample model, three.js,
/// Babylon.js, Blender) reads it: offset (0, 1), rotation π/2, scale 0.5 shows the lower left
/// quadrant of the image turned 90° clockwise (the place of cell (x, y) shows cell
/// (y / 2, 3 - x / 2)), not the mirror image the GLSL listing's sign would give.
#[test]
fn texture_transform_rotation_turns_the_picture_clockwise() {
    use facecast_core::model::{TexTransform, Toon};
    let cam = UV_CAM;
    let draw = |av: Arc<Avatar>| frame(&mut viewed(av, cam, (192, 112)));
    let plain = uv_anim_scene(Toon::default());
    let mut turned = Arc::try_unwrap(uv_anim_scene(Toon::default())).unwrap();
    turned.materials[0]
        .base_color_tex
        .as_mut()
        .unwrap()
        .transform = Some(TexTransform {
        offset: [0.0, 1.0],
        rotation: std::f32::consts::FRAC_PI_2,
        scale: [0.5, 0.5],
    });
    let want: Vec<_> = (0..16u32)
        .map(|k| Some((k / 4) / 2 + (3 - (k % 4) / 2) * 4))
        .collect();
    assert_eq!(
        cells_shown(&draw(plain), &draw(Arc::new(turned))),
        want,
        "rotated quadrant"
    );
}

/// MToon outlines: a band of the outline colour just outside the silhouette, as wide as asked:
/// a fraction of the picture's height whatever the distance (`screenCoordinates`), or metres,
/// thinner with distance (`worldCoordinates`); nothing inside the face; both kernels alike.
#[test]
fn mtoon_outlines_draw_a_band_of_the_asked_width_around_the_silhouette() {
    use facecast_core::expr::MaterialValues;
    use facecast_core::model::{Outline, OutlineMode, Toon};
    let (w, h) = (320u32, 256u32);
    let with = |outline: Option<Outline>| {
        let mut a = morph_face_avatar();
        a.materials[0].toon = Some(Toon {
            outline,
            ..Default::default()
        });
        Arc::new(a)
    };
    let red = |mode: OutlineMode, width: f32| {
        Some(Outline {
            mode,
            width,
            width_tex: None,
            color: [1.0, 0.0, 0.0],
            lighting_mix: 0.0,
        })
    };
    let renderer = |av: &Arc<Avatar>, dist: f32, simd: bool| {
        let mut r = Renderer::new(
            av.clone(),
            RenderConfig {
                background: facecast_render::Background::Solid([0, 0, 0]),
                camera: Some(CameraOverride {
                    eye: [0.0, 1.6, dist],
                    target: [0.0, 1.6, 0.0],
                    fov_y_deg: 30.0,
                }),
                ..cfg(w, h)
            },
        )
        .unwrap();
        r.set_simd(simd);
        r
    };
    // The red runs at the left and right silhouettes of the middle row (through the head's
    // centre) and at the top of the middle column, and the red pixels in all.
    let runs = |av: &Arc<Avatar>, dist: f32, simd: bool| {
        let mut r = renderer(av, dist, simd);
        let mut f = RgbaFrame::default();
        r.render_rgba(&[], &HeadPose::default(), &mut f);
        let is_red = |x: usize, y: usize| {
            let p = &f.data[(y * w as usize + x) * 4..][..3];
            p[0] > 128 && p[1] < 70 && p[2] < 70
        };
        let y = h as usize / 2;
        let run = |xs: &mut dyn Iterator<Item = usize>| {
            xs.skip_while(|&x| !is_red(x, y))
                .take_while(|&x| is_red(x, y))
                .count()
        };
        let left = run(&mut (0..w as usize));
        let right = run(&mut (0..w as usize).rev());
        let x = w as usize / 2;
        let top = (0..h as usize)
            .skip_while(|&y| !is_red(x, y))
            .take_while(|&y| is_red(x, y))
            .count();
        let all = (0..(w * h) as usize)
            .filter(|&i| is_red(i % w as usize, i / w as usize))
            .count();
        assert!(!is_red(w as usize / 2, y), "the outline covers the face");
        (left, right, top, all)
    };
    for simd in [true, false] {
        let plain = with(None);
        assert_eq!(runs(&plain, 0.8, simd).3, 0, "red without an outline");
        // 3 % of 256 px: 7.7 px at both distances, across and down (on a wide picture).
        let screen = with(red(OutlineMode::Screen, 0.03));
        let (near, far) = (runs(&screen, 0.8, simd), runs(&screen, 1.6, simd));
        for (l, r, t, _) in [near, far] {
            assert!(
                [l, r, t].iter().all(|v| (7..=9).contains(v)),
                "simd {simd}: screen outline runs {l}, {r} and {t} px, want ~7.7: {near:?} {far:?}"
            );
        }
        // 8 mm: ~4.8 px at 0.8 m, ~2.4 px at 1.6 m.
        let world = with(red(OutlineMode::World, 0.008));
        let (wn, wf) = (runs(&world, 0.8, simd), runs(&world, 1.6, simd));
        assert!(
            (4..=6).contains(&wn.0) && (4..=6).contains(&wn.1),
            "simd {simd}: world outline near {wn:?}"
        );
        assert!(
            (2..=3).contains(&wf.0) && (2..=3).contains(&wf.1),
            "simd {simd}: world outline far {wf:?}"
        );
        assert!(far.3 > 300 && wn.3 > wf.3 * 3, "{far:?} {wn:?} {wf:?}");
        // An expression's `outlineColor` bind turns the band blue from the next frame on (as a
        // fresh renderer draws it), on an unlit outline and on one shaded like its surface (a
        // white surface: the band is the outline colour, lit); back at rest it is red again.
        let blue = |f: &RgbaFrame| {
            let (mut blue, mut red) = (0, 0);
            for p in f.data.chunks_exact(4) {
                blue += (p[2] > 128 && p[0] < 70 && p[1] < 70) as usize;
                red += (p[0] > 128 && p[1] < 70 && p[2] < 70) as usize;
            }
            (blue, red)
        };
        for mix in [0.0, 1.0] {
            let av = with(Some(Outline {
                lighting_mix: mix,
                ..red(OutlineMode::Screen, 0.03).unwrap()
            }));
            let rest: Vec<MaterialValues> = av.materials.iter().map(MaterialValues::of).collect();
            let mut moved = rest.clone();
            moved[0].outline = [0.0, 0.0, 1.0];
            let pose = HeadPose::default();
            let (mut a, mut b, mut c, mut d) = Default::default();
            let mut live = renderer(&av, 0.8, simd);
            live.render_rgba(&[], &pose, &mut a);
            live.set_material_values(&moved);
            live.render_rgba(&[], &pose, &mut b);
            let mut fresh = renderer(&av, 0.8, simd);
            fresh.set_material_values(&moved);
            fresh.render_rgba(&[], &pose, &mut c);
            live.set_material_values(&rest);
            live.render_rgba(&[], &pose, &mut d);
            let (before, after) = (blue(&a), blue(&b));
            eprintln!("simd {simd}: outline colour bind, lighting mix {mix}: (blue, red) px {before:?} -> {after:?}");
            assert!(
                before.0 == 0 && before.1 > 1000 && after.1 == 0 && after.0 * 10 > before.1 * 9,
                "simd {simd}, mix {mix}: (blue, red) px {before:?} -> {after:?}"
            );
            assert!(
                b.data == c.data,
                "simd {simd}, mix {mix}: live differs from fresh"
            );
            assert!(
                d.data == a.data,
                "simd {simd}, mix {mix}: not red again at rest"
            );
        }
        eprintln!(
            "simd {simd}: screen 3 % runs {near:?} at 0.8 m, {far:?} at 1.6 m; world 8 mm {wn:?} / {wf:?} (left, right, top, red px)"
        );
    }
}

/// RGBA frame of `av` through `UV_CAM` at 128×128.
fn at_uv_cam(av: Avatar) -> RgbaFrame {
    frame(&mut viewed(Arc::new(av), UV_CAM, (128, 128)))
}

#[test]
fn mirroring_and_stretching_node_transforms_keep_surfaces_outward_and_normals_true() {
    // glTF: a transform with a negative determinant makes clockwise triangles the front faces.
    // The box is symmetric about x, so mirroring it in x changes nothing a camera can see;
    // drawn with the wrong faces, its inside shows (darker, lit from behind).
    let turn = quat_axis([0., 1., 0.], 30.0);
    let boxed = |scale: [f32; 3]| {
        let mut av = cube_avatar();
        (av.nodes[0].rotation, av.nodes[0].scale) = (turn, scale);
        at_uv_cam(av)
    };
    let plain = boxed([1.0; 3]);
    let mirrored = boxed([-1.0, 1.0, 1.0]);
    assert!(
        mean_diff(&plain, &mirrored) < 0.05,
        "mirrored box differs by {}",
        mean_diff(&plain, &mirrored)
    );
    // The same through a skin whose joint mirrors.
    let skinned = |scale: [f32; 3]| {
        let mut p = box_prim([-0.5; 3], [0.5; 3], Some(0));
        p.joints = vec![[0, 1, 0, 0]; p.positions.len()];
        p.weights = vec![[1.0, 0.0, 0.0, 0.0]; p.positions.len()];
        let mut av = two_joint_avatar("box", p, 1.0, [0., 0., 0., 1.], [0.9, 0.35, 0.08, 1.0]);
        (av.nodes[1].rotation, av.nodes[1].scale) = (turn, scale);
        at_uv_cam(av)
    };
    let (plain, mirrored) = (skinned([1.0; 3]), skinned([-1.0, 1.0, 1.0]));
    assert!(
        mean_diff(&plain, &mirrored) < 0.05,
        "mirrored skinned box differs by {}",
        mean_diff(&plain, &mirrored)
    );
    // Stretching: a unit sphere squashed by its node to an ellipsoid shades like the ellipsoid
    // itself (its normals through the inverse transpose, not the squashed ones).
    let radii = [0.9, 0.35, 0.9];
    let sphere = |radii: [f32; 3], exact: bool| {
        let mut p = uv_sphere([0.0; 3], radii, Some(0));
        if exact {
            for n in &mut p.normals {
                let e = [n[0] / radii[0], n[1] / radii[1], n[2] / radii[2]];
                let l = (e[0] * e[0] + e[1] * e[1] + e[2] * e[2]).sqrt();
                *n = e.map(|x| x / l);
            }
        }
        let mut av = cube_avatar();
        av.meshes[0].primitives = vec![p];
        av.nodes[0].rotation = quat_axis([1., 0., 0.], 20.0);
        av
    };
    // Mirrored through level of detail's lists (the sphere is symmetric about x too).
    let lod = |scale: [f32; 3]| {
        let mut av = sphere([1.0; 3], false);
        av.nodes[0].scale = scale;
        let mut r = viewed(Arc::new(av), UV_CAM, (128, 128));
        (frame(&mut r), r.lod_triangles())
    };
    let ((plain, n), (mirrored, m)) = (lod([1.0; 3]), lod([-1.0, 1.0, 1.0]));
    assert!(
        n < 1536 && m == n,
        "level of detail drew {n} and {m} of 1536"
    );
    assert!(
        mean_diff(&plain, &mirrored) < 0.05,
        "mirrored sphere differs by {}",
        mean_diff(&plain, &mirrored)
    );
    let baked = at_uv_cam(sphere(radii, true));
    let mut squashed = sphere([1.0; 3], false);
    squashed.nodes[0].scale = radii;
    let squashed = at_uv_cam(squashed);
    assert!(
        mean_diff(&baked, &squashed) < 0.1,
        "squashed sphere differs from the ellipsoid by {}",
        mean_diff(&baked, &squashed)
    );
}

/// MToon's matcap, rim multiply texture, rim lighting mix and shading shift texture, on a sphere
/// facing the camera, with both kernels:
/// - the matcap is read where the view-space normal points: its top-left quarter (red) shows on
///   the sphere's upper left, its bottom-right (blue) on the lower right;
/// - the rim multiply texture masks it (black on the texture's left half, which `u` maps to the
///   sphere's right half);
/// - with a lighting mix of 1 the matcap in the shade is dimmed to the light the shade gets;
/// - the shading shift texture (red 255 on the texture's right half, the sphere's left) lights
///   that half.
#[test]
fn mtoon_matcap_rim_texture_and_shading_shift_texture_draw_where_they_should() {
    use facecast_core::model::{TexRef, Toon};
    let (w, h) = (128usize, 128usize);
    let tex = |texture: u32| {
        Some(TexRef {
            texture,
            texcoord: 0,
            transform: None,
        })
    };
    // Texture 0: matcap quarters red, green / grey, blue. Texture 1: black left half, white
    // right half (rim mask and shading shift: red channel).
    let matcap = cells_texture("matcap", 64, 2, |x, y| match (x, y) {
        (0, 0) => [255, 0, 0, 255],
        (1, 0) => [0, 255, 0, 255],
        (0, 1) => [128, 128, 128, 255],
        _ => [0, 0, 255, 255],
    });
    let half = cells_texture("half", 64, 2, |x, _| {
        [255 * x as u8, 255 * x as u8, 255 * x as u8, 255]
    });
    let scene = |toon: Toon, simd: bool| {
        let mut p = uv_sphere([0.0; 3], [0.8; 3], Some(0));
        // u around the sphere from its front (0 at +z, rising towards +x), v from the top.
        p.uv0 = (0..p.positions.len())
            .map(|i| [(i % 33) as f32 / 32.0, (i / 33) as f32 / 24.0])
            .collect();
        let mut av = cube_avatar();
        av.nodes[0].rotation = [0.0, 0.0, 0.0, 1.0];
        av.meshes[0].primitives = vec![p];
        av.textures = vec![matcap.clone(), half.clone()];
        av.materials[0].base_color = [0.02, 0.02, 0.02, 1.0];
        av.materials[0].toon = Some(Toon {
            shade_color: [0.0; 3],
            ..toon
        });
        let mut r = viewed(Arc::new(av), UV_CAM, (w as u32, h as u32));
        r.set_simd(simd);
        frame(&mut r)
    };
    // Mean colour of the quarter of the picture (left / right, top / bottom) inside the sphere.
    let quarter = |f: &RgbaFrame, right: bool, bottom: bool| -> [f64; 3] {
        let (mut s, mut n) = ([0.0; 3], 0.0);
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f64 + 0.5 - 64.0, y as f64 + 0.5 - 64.0);
                let inside = dx * dx + dy * dy < 30.0 * 30.0 && dx.abs() > 6.0 && dy.abs() > 6.0;
                if inside && (dx > 0.0) == right && (dy > 0.0) == bottom {
                    for (k, c) in s.iter_mut().enumerate() {
                        *c += f.data[(y * w + x) * 4 + k] as f64;
                    }
                    n += 1.0;
                }
            }
        }
        s.map(|c| c / n)
    };
    let lit_everywhere = Toon {
        shading_shift: 1.0,
        shading_toony: 0.9,
        ..Default::default()
    };
    for simd in [true, false] {
        let both = |toon: Toon| (scene(toon.clone(), simd), scene(toon, !simd));
        let (a, b) = both(Toon {
            matcap_tex: tex(0),
            rim_lighting_mix: 0.0,
            ..lit_everywhere.clone()
        });
        assert!(
            mean_diff(&a, &b) < 0.2,
            "kernels differ by {}",
            mean_diff(&a, &b)
        );
        let (tl, br) = (quarter(&a, false, false), quarter(&a, true, true));
        let (tr, bl) = (quarter(&a, true, false), quarter(&a, false, true));
        assert!(
            tl[0] > 150.0 && tl[1] < 60.0 && tl[2] < 60.0,
            "top left {tl:?}"
        );
        assert!(
            tr[1] > 150.0 && tr[0] < 60.0 && tr[2] < 60.0,
            "top right {tr:?}"
        );
        assert!(
            br[2] > 150.0 && br[0] < 60.0 && br[1] < 60.0,
            "bottom right {br:?}"
        );
        assert!(
            (bl[0] - bl[2]).abs() < 20.0 && bl[0] > 60.0,
            "bottom left {bl:?}"
        );
        // Masked by the rim texture on the sphere's right half (u < 0.5).
        let (m, _) = both(Toon {
            matcap_tex: tex(0),
            rim_tex: tex(1),
            rim_lighting_mix: 0.0,
            ..lit_everywhere.clone()
        });
        let (mtl, mtr) = (quarter(&m, false, false), quarter(&m, true, false));
        assert!(
            mtl[0] > 150.0 && mtr[1] < 50.0,
            "masked: left {mtl:?}, right {mtr:?}"
        );
        // In the shade a lighting mix of 1 dims the matcap to the shade's light (~0.15-0.25).
        let shaded = |mix: f32| {
            let f = scene(
                Toon {
                    matcap_tex: tex(0),
                    shading_shift: -1.0,
                    rim_lighting_mix: mix,
                    ..lit_everywhere.clone()
                },
                simd,
            );
            quarter(&f, false, false)[0]
        };
        let (full, dimmed) = (shaded(0.0), shaded(1.0));
        assert!(
            full > 150.0 && dimmed < full * 0.6,
            "matcap red in the shade with mix 0 / 1: {full:.0} / {dimmed:.0}"
        );
        // The shading shift texture lights the left half of a sphere otherwise in shade.
        let base = Toon {
            shading_shift: -1.0,
            ..Default::default()
        };
        let lit =
            |f: &RgbaFrame, right: bool| quarter(f, right, false)[0] + quarter(f, right, true)[0];
        let plain = scene(base.clone(), simd);
        let shifted = scene(
            Toon {
                shading_shift_tex: tex(1),
                shading_shift_scale: 1.5,
                ..base
            },
            simd,
        );
        eprintln!(
            "simd {simd}: matcap quarters {tl:.0?} {tr:.0?} {bl:.0?} {br:.0?}; masked {mtr:.0?}; \
             shade mix 0/1 {full:.0}/{dimmed:.0}; shift right {:.0} -> {:.0}, left {:.0} -> {:.0}",
            lit(&plain, true),
            lit(&shifted, true),
            lit(&plain, false),
            lit(&shifted, false)
        );
        assert!(
            lit(&shifted, false) > lit(&plain, false) + 20.0
                && (lit(&shifted, true) - lit(&plain, true)).abs() < 2.0,
            "shading shift texture: right {} -> {}, left {} -> {}",
            lit(&plain, true),
            lit(&shifted, true),
            lit(&plain, false),
            lit(&shifted, false)
        );
        // VRM 0.x's shading grade texture (black on the sphere's right half) turns that half to
        // shade at rate 1, part way at rate 0.5 (on a soft ramp), and leaves the left half
        // (white) as it was.
        let lit_base = Toon {
            shading_shift: 0.5,
            shading_toony: 0.5,
            ..Default::default()
        };
        let graded = |rate: f32| {
            scene(
                Toon {
                    shading_grade_tex: tex(1),
                    shading_grade_rate: rate,
                    ..lit_base.clone()
                },
                simd,
            )
        };
        let (ungraded, full, half) = (scene(lit_base.clone(), simd), graded(1.0), graded(0.5));
        // Lit red at rates 0, 0.5 and 1: sphere's right half, then left half.
        let [[r0, r5, r1], [l0, l5, l1]] =
            [true, false].map(|right| [&ungraded, &half, &full].map(|f| lit(f, right)));
        let got = format!("shading grade rate 0/0.5/1: right {r0:.0}/{r5:.0}/{r1:.0}, left {l0:.0}/{l5:.0}/{l1:.0}");
        eprintln!("simd {simd}: {got}");
        assert!(
            r1 < r0 * 0.5
                && r5 < r0 - 5.0
                && r5 > r1 + 20.0
                && (l1 - l0).abs() < 2.0
                && (l5 - l0).abs() < 2.0,
            "{got}"
        );
    }
}

/// A sampler with `magFilter: NEAREST` (pixel art) draws each magnified texel as a hard-edged
/// square: a 4×4 black and white checker on a cube filling a third of the picture shows almost
/// no grey between its cells, where bilinear filtering shows grey ramps; both kernels alike.
#[test]
fn nearest_magnification_keeps_texels_square() {
    let checker = cells_texture("checker", 4, 4, |x, y| {
        let c = if (x + y) % 2 == 0 { 255 } else { 0 };
        [c, c, c, 255]
    });
    let draw = |nearest: bool, simd: bool| {
        let mut av = cube_avatar();
        av.textures = vec![Texture {
            nearest,
            ..checker.clone()
        }];
        let m = &mut av.materials[0];
        (m.base_color, m.unlit) = ([1.0; 4], true);
        m.base_color_tex = Some(facecast_core::model::TexRef {
            texture: 0,
            texcoord: 0,
            transform: None,
        });
        let mut r = viewed(Arc::new(av), UV_CAM, (128, 128));
        r.set_simd(simd);
        frame(&mut r)
    };
    // Grey pixels: neither near black nor near white, and grey (not the background).
    let greys = |f: &RgbaFrame| {
        f.data
            .chunks_exact(4)
            .filter(|p| (40..=215).contains(&p[0]) && p[0] == p[1] && p[1] == p[2])
            .count()
    };
    for simd in [true, false] {
        let (nearest, linear) = (draw(true, simd), draw(false, simd));
        let (gn, gl) = (greys(&nearest), greys(&linear));
        eprintln!("simd {simd}: grey pixels nearest {gn}, bilinear {gl}");
        assert!(
            gl > 1000 && gn * 10 < gl,
            "simd {simd}: grey pixels nearest {gn}, bilinear {gl}"
        );
        let other = draw(true, !simd);
        assert!(
            mean_diff(&nearest, &other) < 0.2,
            "kernels differ by {}",
            mean_diff(&nearest, &other)
        );
    }
}
