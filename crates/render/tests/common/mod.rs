//! Shared helpers for the render tests: hand-built avatars and golden-image comparison.
#![allow(dead_code, clippy::needless_range_loop)]

use std::path::PathBuf;

use facecast_core::model::*;
use facecast_core::RgbaFrame;

pub fn shared(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/")).join(rel)
}

pub fn write_png(path: &std::path::Path, img: &RgbaFrame) {
    let f =
        std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let mut enc = png::Encoder::new(std::io::BufWriter::new(f), img.width, img.height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().expect("png header");
    w.write_image_data(&img.data).expect("png data");
}

pub fn read_png(path: &std::path::Path) -> Option<RgbaFrame> {
    let f = std::fs::File::open(path).ok()?;
    let dec = png::Decoder::new(std::io::BufReader::new(f));
    let mut r = dec.read_info().ok()?;
    let mut buf = vec![0; r.output_buffer_size()?];
    let info = r.next_frame(&mut buf).ok()?;
    if info.color_type != png::ColorType::Rgba || info.bit_depth != png::BitDepth::Eight {
        return None;
    }
    buf.truncate(info.buffer_size());
    Some(RgbaFrame {
        width: info.width,
        height: info.height,
        data: buf,
    })
}

/// Compare with the committed golden PNG (FACECAST_BLESS=1 rewrites it). Tolerance: mean absolute
/// difference below 2/255 and under 1% of pixels off by more than 40 in any channel.
pub fn check_golden(name: &str, img: &RgbaFrame) {
    let golden = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden"))
        .join(format!("{name}.png"));
    if std::env::var("FACECAST_BLESS").is_ok_and(|v| v == "1") {
        write_png(&golden, img);
        return;
    }
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("golden");
    std::fs::create_dir_all(&out_dir).ok();
    let Some(exp) = read_png(&golden) else {
        write_png(&out_dir.join(format!("{name}.actual.png")), img);
        panic!(
            "golden {} missing; actual written to {} (run with FACECAST_BLESS=1 to create)",
            golden.display(),
            out_dir.display()
        );
    };
    assert_eq!(
        (exp.width, exp.height),
        (img.width, img.height),
        "golden {name} size differs"
    );
    let mut sum = 0u64;
    let mut off = 0usize;
    let mut diff = RgbaFrame::new(img.width, img.height);
    for (i, (a, b)) in img
        .data
        .chunks_exact(4)
        .zip(exp.data.chunks_exact(4))
        .enumerate()
    {
        let mut m = 0u8;
        for c in 0..3 {
            let d = a[c].abs_diff(b[c]);
            sum += d as u64;
            m = m.max(d);
        }
        if m > 40 {
            off += 1;
        }
        let v = (m as u32 * 4).min(255) as u8;
        diff.data[i * 4..i * 4 + 3].copy_from_slice(&[v, v, v]);
    }
    let n = (img.width * img.height) as f64;
    let mean = sum as f64 / (n * 3.0);
    let frac = off as f64 / n;
    if mean >= 2.0 || frac >= 0.01 {
        write_png(&out_dir.join(format!("{name}.actual.png")), img);
        write_png(&out_dir.join(format!("{name}.diff.png")), &diff);
        panic!(
            "golden {name}: mean abs diff {mean:.3} (limit 2), {:.2}% pixels off by >40 (limit 1%); actual and diff in {}",
            frac * 100.0,
            out_dir.display()
        );
    }
}

/// A square `size` picture through a fixed camera (looking from `eye` at `target`), on a solid
/// background, every triangle drawn.
pub fn fixed_view(
    size: u32,
    eye: [f32; 3],
    target: [f32; 3],
    fov_y_deg: f32,
    background: [u8; 3],
) -> facecast_render::RenderConfig {
    facecast_render::RenderConfig {
        width: size,
        height: size,
        background: facecast_render::Background::Solid(background),
        camera: Some(facecast_render::CameraOverride {
            eye,
            target,
            fov_y_deg,
        }),
        lod_px: 0.0,
    }
}

pub fn node(name: &str, mesh: Option<u32>) -> Node {
    Node {
        name: name.into(),
        mesh,
        ..Default::default()
    }
}

pub fn quat_axis(axis: [f32; 3], deg: f32) -> [f32; 4] {
    let (s, c) = (deg.to_radians() * 0.5).sin_cos();
    [axis[0] * s, axis[1] * s, axis[2] * s, c]
}

/// Axis-aligned box primitive (24 vertices, outward normals, CCW from outside, UVs per face).
pub fn box_prim(min: [f32; 3], max: [f32; 3], material: Option<u32>) -> Primitive {
    let mut p = Primitive {
        material,
        ..Default::default()
    };
    let faces: [([f32; 3], [f32; 3], [f32; 3]); 6] = [
        ([1., 0., 0.], [0., 0., -1.], [0., 1., 0.]),
        ([-1., 0., 0.], [0., 0., 1.], [0., 1., 0.]),
        ([0., 1., 0.], [1., 0., 0.], [0., 0., -1.]),
        ([0., -1., 0.], [1., 0., 0.], [0., 0., 1.]),
        ([0., 0., 1.], [1., 0., 0.], [0., 1., 0.]),
        ([0., 0., -1.], [-1., 0., 0.], [0., 1., 0.]),
    ];
    let c = [
        (min[0] + max[0]) / 2.,
        (min[1] + max[1]) / 2.,
        (min[2] + max[2]) / 2.,
    ];
    let h = [
        (max[0] - min[0]) / 2.,
        (max[1] - min[1]) / 2.,
        (max[2] - min[2]) / 2.,
    ];
    for (n, u, v) in faces {
        let base = p.positions.len() as u32;
        for (su, sv) in [(-1., -1.), (1., -1.), (1., 1.), (-1., 1.)] {
            let mut q = [0.0; 3];
            for k in 0..3 {
                q[k] = c[k] + (n[k] + u[k] * su + v[k] * sv) * h[k];
            }
            p.positions.push(q);
            p.normals.push(n);
            p.uv0.push([(su + 1.) / 2., (1. - sv) / 2.]);
        }
        p.indices
            .extend([base, base + 1, base + 2, base, base + 2, base + 3]);
    }
    p
}

pub fn material(rgba: [f32; 4]) -> Material {
    Material {
        base_color: rgba,
        metallic: 0.0,
        roughness: 0.6,
        ..Default::default()
    }
}

/// Checkerboard texture with a full mip chain (box filtered).
pub fn checker(n: u32, cells: u32, a: [u8; 4], b: [u8; 4]) -> Texture {
    cells_texture(
        "checker",
        n,
        cells,
        |x, y| if (x + y) % 2 == 1 { a } else { b },
    )
}

/// An `n`×`n` texture of `cells`×`cells` cells, cell (x, y) coloured `color(x, y)` (x to the
/// right, y down), with a full mip chain (box filtered), repeating.
pub fn cells_texture(
    name: &str,
    n: u32,
    cells: u32,
    color: impl Fn(u32, u32) -> [u8; 4],
) -> Texture {
    let mut data = Vec::with_capacity((n * n * 4) as usize);
    for y in 0..n {
        for x in 0..n {
            data.extend_from_slice(&color(x * cells / n, y * cells / n));
        }
    }
    let mut levels = vec![(n, n, data)];
    while levels.last().unwrap().0 > 1 {
        let (pw, _, prev) = levels.last().unwrap();
        let pw = *pw as usize;
        let w = pw / 2;
        let mut d = vec![0u8; w * w * 4];
        for y in 0..w {
            for x in 0..w {
                for c in 0..4 {
                    let at = |xx: usize, yy: usize| prev[(yy * pw + xx) * 4 + c] as u32;
                    d[(y * w + x) * 4 + c] = ((at(2 * x, 2 * y)
                        + at(2 * x + 1, 2 * y)
                        + at(2 * x, 2 * y + 1)
                        + at(2 * x + 1, 2 * y + 1)
                        + 2)
                        / 4) as u8;
                }
            }
        }
        levels.push((w as u32, w as u32, d));
    }
    Texture {
        wrap_s: Wrap::Repeat,
        wrap_t: Wrap::Repeat,
        ..Texture::from_levels(name, levels)
    }
}

/// A rotated orange cube on a grey pedestal.
pub fn cube_avatar() -> Avatar {
    let mut cube = node("cube", Some(0));
    cube.rotation = facecast_render_test_quat();
    Avatar {
        name: "cube".into(),
        nodes: vec![cube],
        roots: vec![0],
        meshes: vec![Mesh {
            name: "cube".into(),
            primitives: vec![box_prim([-0.5; 3], [0.5; 3], Some(0))],
            ..Default::default()
        }],
        materials: vec![material([0.9, 0.35, 0.08, 1.0])],
        ..Default::default()
    }
}

fn facecast_render_test_quat() -> [f32; 4] {
    // 30° about Y then 25° about X.
    let qy = quat_axis([0., 1., 0.], 30.0);
    let qx = quat_axis([1., 0., 0.], 25.0);
    [
        qx[3] * qy[0] + qx[0] * qy[3] + qx[1] * qy[2] - qx[2] * qy[1],
        qx[3] * qy[1] - qx[0] * qy[2] + qx[1] * qy[3] + qx[2] * qy[0],
        qx[3] * qy[2] + qx[0] * qy[1] - qx[1] * qy[0] + qx[2] * qy[3],
        qx[3] * qy[3] - qx[0] * qy[0] - qx[1] * qy[1] - qx[2] * qy[2],
    ]
}

/// A textured floor plane receding into the distance (mipmapping), a MASK cut-out quad and a
/// half-transparent BLEND quad in front.
pub fn textured_avatar() -> Avatar {
    let quad = |z: f32, mat: u32, size: f32, y: f32| Primitive {
        positions: vec![
            [-size, y - size, z],
            [size, y - size, z],
            [size, y + size, z],
            [-size, y + size, z],
        ],
        normals: vec![[0., 0., 1.]; 4],
        uv0: vec![[0., 1.], [1., 1.], [1., 0.], [0., 0.]],
        indices: vec![0, 1, 2, 0, 2, 3],
        material: Some(mat),
        ..Default::default()
    };
    let floor = Primitive {
        positions: vec![
            [-2., -1., 1.5],
            [2., -1., 1.5],
            [2., -1., -12.],
            [-2., -1., -12.],
        ],
        normals: vec![[0., 1., 0.]; 4],
        uv0: vec![[0., 0.], [4., 0.], [4., 27.], [0., 27.]],
        indices: vec![0, 1, 2, 0, 2, 3],
        material: Some(0),
        ..Default::default()
    };
    let mut mask_mat = material([1.0, 1.0, 1.0, 1.0]);
    mask_mat.base_color_tex = Some(TexRef {
        texture: 1,
        texcoord: 0,
        transform: None,
    });
    mask_mat.alpha_mode = AlphaMode::Mask(0.5);
    mask_mat.double_sided = true;
    let mut floor_mat = material([1.0; 4]);
    floor_mat.base_color_tex = Some(TexRef {
        texture: 0,
        texcoord: 0,
        transform: None,
    });
    let mut blend_mat = material([0.2, 0.5, 1.0, 0.5]);
    blend_mat.alpha_mode = AlphaMode::Blend;
    let mut unlit = material([0.1, 0.8, 0.2, 1.0]);
    unlit.unlit = true;
    let mut nodes = vec![
        node("root", None),
        node("floor", Some(0)),
        node("mask", Some(1)),
        node("glass", Some(2)),
        node("unlit", Some(3)),
    ];
    nodes[0].children = vec![1, 2, 3, 4];
    for n in 1..5 {
        nodes[n].parent = Some(0);
    }
    nodes[4].translation = [0.8, 0.55, 0.2];
    Avatar {
        name: "textured".into(),
        nodes,
        roots: vec![0],
        meshes: vec![
            Mesh {
                primitives: vec![floor],
                ..Default::default()
            },
            Mesh {
                primitives: vec![quad(-0.5, 1, 0.6, 0.0)],
                ..Default::default()
            },
            Mesh {
                primitives: vec![quad(0.3, 2, 0.35, -0.3)],
                ..Default::default()
            },
            Mesh {
                primitives: vec![box_prim([-0.15; 3], [0.15; 3], Some(3))],
                ..Default::default()
            },
        ],
        materials: vec![floor_mat, mask_mat, blend_mat, unlit],
        textures: vec![
            checker(256, 16, [235, 235, 235, 255], [40, 60, 110, 255]),
            checker(64, 4, [250, 200, 40, 255], [0, 0, 0, 0]),
        ],
        ..Default::default()
    }
}

/// A UV sphere (24 rings, 32 segments) at `center` with `radii` along x, y and z, outward
/// triangles; its normals are the unit sphere's (true only when the radii are equal).
pub fn uv_sphere(center: [f32; 3], radii: [f32; 3], material: Option<u32>) -> Primitive {
    let (rings, segs) = (24u32, 32u32);
    let mut p = Primitive {
        material,
        ..Default::default()
    };
    for r in 0..=rings {
        let th = std::f32::consts::PI * r as f32 / rings as f32;
        for s in 0..=segs {
            let ph = 2.0 * std::f32::consts::PI * s as f32 / segs as f32;
            let n = [th.sin() * ph.sin(), th.cos(), th.sin() * ph.cos()];
            p.positions
                .push(std::array::from_fn(|k| n[k] * radii[k] + center[k]));
            p.normals.push(n);
        }
    }
    for r in 0..rings {
        for s in 0..segs {
            let a = r * (segs + 1) + s;
            let b = a + segs + 1;
            p.indices.extend([a, b, a + 1, a + 1, b, b + 1]);
        }
    }
    p
}

/// A "face": a sphere-ish head with a morphing mouth (jawOpen) on a neck node.
pub fn morph_face_avatar() -> Avatar {
    let mut head = uv_sphere([0.0, 1.6, 0.0], [0.09, 0.115, 0.1], Some(0));
    // jawOpen: push lower-front vertices down.
    let mut t = MorphTarget::default();
    for (i, p) in head.positions.iter().enumerate() {
        if p[2] > 0.03 && p[1] < 1.6 - 0.02 {
            let k = ((1.6 - 0.02 - p[1]) / 0.1).min(1.0);
            t.indices.push(i as u32);
            t.positions.push([0.0, -0.04 * k, -0.01 * k]);
            t.normals.push([0.0, 0.0, 0.0]);
        }
    }
    head.targets.push(t);
    // Mouth: dark box that the jaw reveals; eyes.
    let mouth = box_prim([-0.03, 1.545, 0.05], [0.03, 1.565, 0.085], Some(1));
    let eye_l = box_prim([0.02, 1.62, 0.075], [0.045, 1.64, 0.095], Some(1));
    let eye_r = box_prim([-0.045, 1.62, 0.075], [-0.02, 1.64, 0.095], Some(1));
    let body = box_prim([-0.2, 1.2, -0.09], [0.2, 1.46, 0.09], Some(2));
    let neck = box_prim([-0.045, 1.42, -0.04], [0.045, 1.52, 0.04], Some(0));
    let mut nodes = vec![
        node("root", None),
        node("Neck", None),
        node("Head", Some(0)),
        node("body", Some(1)),
    ];
    nodes[0].children = vec![1, 3];
    nodes[1].parent = Some(0);
    nodes[1].children = vec![2];
    nodes[1].translation = [0.0, 1.45, 0.0];
    nodes[2].parent = Some(1);
    nodes[2].translation = [0.0, 0.1, 0.0];
    nodes[3].parent = Some(0);
    // Head geometry is authored in world space; make it relative to the head node (y = 1.55).
    let mut head_prims = vec![head, mouth, eye_l, eye_r];
    for p in &mut head_prims {
        for q in &mut p.positions {
            q[1] -= 1.55;
        }
    }
    let mut rig = FaceRig::default();
    rig.arkit[facecast_core::ArkitShape::JawOpen.index()] = vec![(0, 1.0)];
    Avatar {
        name: "morphface".into(),
        nodes,
        roots: vec![0],
        meshes: vec![
            Mesh {
                name: "head".into(),
                primitives: head_prims,
                target_names: vec!["jawOpen".into()],
                default_weights: vec![0.0],
            },
            Mesh {
                name: "body".into(),
                primitives: vec![body, neck],
                ..Default::default()
            },
        ],
        materials: vec![
            Material {
                base_color: [0.75, 0.48, 0.36, 1.0],
                metallic: 0.0,
                roughness: 0.55,
                ..Default::default()
            },
            Material {
                base_color: [0.05, 0.02, 0.02, 1.0],
                metallic: 0.0,
                roughness: 0.5,
                ..Default::default()
            },
            Material {
                base_color: [0.12, 0.2, 0.38, 1.0],
                metallic: 0.0,
                roughness: 0.8,
                ..Default::default()
            },
        ],
        channels: vec![MorphChannel {
            name: "jawOpen".into(),
            targets: vec![(0, 0)],
        }],
        rig,
        humanoid: Humanoid {
            head: Some(2),
            neck: Some(1),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Two-joint skinned bar: the upper half follows joint 1, which is bent 40° about Z.
pub fn skin_avatar() -> Avatar {
    let mut p = Primitive {
        material: Some(0),
        ..Default::default()
    };
    let segs = 8;
    for i in 0..=segs {
        let y = i as f32 / segs as f32 * 2.0;
        let w1 = (y - 0.7).clamp(0.0, 0.6) / 0.6;
        for (x, z, n) in [
            (-0.15, 0.15, [-1., 0., 0.]),
            (0.15, 0.15, [1., 0., 0.]),
            (0.15, -0.15, [1., 0., 0.]),
            (-0.15, -0.15, [-1., 0., 0.]),
        ] {
            p.positions.push([x, y, z]);
            p.normals.push(n);
            p.joints.push([0, 1, 0, 0]);
            p.weights.push([1.0 - w1, w1, 0.0, 0.0]);
        }
    }
    // Front/back faces get their own normals by using separate quads: keep it simple, sides only
    // plus front (+Z) strip.
    for i in 0..segs {
        let a = i * 4;
        let b = a + 4;
        for (k0, k1) in [(0u32, 1u32), (1, 2), (2, 3), (3, 0)] {
            p.indices
                .extend([a + k0, a + k1, b + k1, a + k0, b + k1, b + k0]);
        }
    }
    // Fix normals to the average of the adjacent faces.
    for (i, n) in p.normals.iter_mut().enumerate() {
        let k = i % 4;
        let r = std::f32::consts::FRAC_1_SQRT_2;
        *n = match k {
            0 => [-r, 0.0, r],
            1 => [r, 0.0, r],
            2 => [r, 0.0, -r],
            _ => [-r, 0.0, -r],
        };
    }
    two_joint_avatar(
        "skin",
        p,
        1.0,
        quat_axis([0., 0., 1.], 40.0),
        [0.3, 0.7, 0.4, 1.0],
    )
}

/// One skinned primitive over two joints: `j0` at the origin and `j1` at height `y1`, turned by
/// `rot` (the primitive's bind pose has `j1` unturned at `y1`).
pub fn two_joint_avatar(
    name: &str,
    p: Primitive,
    y1: f32,
    rot: [f32; 4],
    rgba: [f32; 4],
) -> Avatar {
    let mut nodes = vec![
        node("armature", None),
        node("j0", None),
        node("j1", None),
        node("mesh", Some(0)),
    ];
    nodes[0].children = vec![1, 3];
    nodes[1].parent = Some(0);
    nodes[1].children = vec![2];
    nodes[2].parent = Some(1);
    nodes[2].translation = [0.0, y1, 0.0];
    nodes[2].rotation = rot;
    nodes[3].parent = Some(0);
    nodes[3].skin = Some(0);
    let mut ib1 = IDENTITY;
    ib1[13] = -y1;
    Avatar {
        name: name.into(),
        nodes,
        roots: vec![0],
        meshes: vec![Mesh {
            primitives: vec![p],
            ..Default::default()
        }],
        skins: vec![Skin {
            name: "s".into(),
            joints: vec![1, 2],
            inverse_bind: vec![IDENTITY, ib1],
        }],
        materials: vec![material(rgba)],
        ..Default::default()
    }
}
