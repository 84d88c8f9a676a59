//! Render an avatar file to PNGs at rest / jawOpen / smile / blink (dev tool).
//! `cargo run --release -p facecast-render --example snap -- <model> <out-prefix> [WxH]`

use std::sync::Arc;

use facecast_core::{ArkitShape, FaceWeights, HeadPose, RgbaFrame};
use facecast_render::{RenderConfig, Renderer};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: snap <model|builtin> <out-prefix> [WxH]");
        std::process::exit(2);
    }
    let av = if args[1] == "builtin" {
        facecast_avatar::builtin()
    } else {
        Arc::new(
            facecast_avatar::load(std::path::Path::new(&args[1])).unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(1)
            }),
        )
    };
    let (w, h) = args
        .get(3)
        .and_then(|s| s.split_once('x'))
        .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
        .unwrap_or((512, 512));
    eprintln!(
        "{}: {} verts {} tris, {} channels, humanoid {:?}, arkit mapped {}",
        av.name,
        av.vertex_count(),
        av.triangle_count(),
        av.channels.len(),
        av.humanoid,
        av.rig.arkit_mapped()
    );
    let cfg = RenderConfig {
        width: w,
        height: h,
        // `SNAP_LOD=px`: level-of-detail error (0: every triangle).
        lod_px: std::env::var("SNAP_LOD")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(facecast_render::DEFAULT_LOD_PX),
        ..Default::default()
    };
    let mut r = Renderer::new(av.clone(), cfg).unwrap();
    eprintln!("drawing {} triangles", r.lod_triangles());
    eprintln!("camera {:?}", r.camera());
    let mut out = RgbaFrame::default();
    let mut ch = Vec::new();
    let sets: [(&str, &[ArkitShape]); 5] = [
        ("turn", &[]),
        ("rest", &[]),
        ("jaw", &[ArkitShape::JawOpen]),
        (
            "smile",
            &[ArkitShape::MouthSmileLeft, ArkitShape::MouthSmileRight],
        ),
        (
            "blink",
            &[ArkitShape::EyeBlinkLeft, ArkitShape::EyeBlinkRight],
        ),
    ];
    for (name, shapes) in sets {
        let mut fw = FaceWeights::default();
        for &s in shapes {
            fw.set(s, 1.0);
        }
        av.rig.resolve(&fw, av.channels.len(), &mut ch);
        r.set_jaw_open(
            if name == "jaw" && !av.rig.has_arkit(ArkitShape::JawOpen.index()) {
                1.0
            } else {
                0.0
            },
        );
        let pose = if name == "turn" {
            HeadPose {
                head: [0.4, 0.15, 0.1],
                eyes: [0.3, 0.0],
            }
        } else {
            HeadPose::default()
        };
        r.render_rgba(&ch, &pose, &mut out);
        let path = format!("{}_{name}.png", args[2]);
        let f = std::fs::File::create(&path).unwrap();
        let mut enc = png::Encoder::new(std::io::BufWriter::new(f), out.width, out.height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()
            .unwrap()
            .write_image_data(&out.data)
            .unwrap();
        eprintln!("wrote {path}");
    }
}
