//! Renderer benchmark: ms/frame for morph + skin + rasterize + shade (+ resolve), single thread.
//! `cargo run --release -p facecast-render --example bench [frames]`
//!
//! Every frame changes the face weights and the head pose, so the whole pipeline (pose, sparse
//! morph, skinning, setup, raster, shade, resolve) runs each time.

use std::sync::Arc;
use std::time::Instant;

use facecast_core::model::Avatar;
use facecast_core::{ArkitShape, FaceWeights, HeadPose, I420Frame, RgbaFrame};
use facecast_render::{RenderConfig, Renderer};

fn models() -> Vec<(String, Arc<Avatar>)> {
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/assets/models/");
    let mut v = Vec::new();
    for rel in ["facecap/facecap_plain.glb", "valid/VALID_Hispanic_F_2_Busi_plain.glb"] {
        match facecast_avatar::load(std::path::Path::new(&format!("{base}{rel}"))) {
            Ok(a) => v.push((rel.to_string(), Arc::new(a))),
            Err(e) => eprintln!("skip {rel}: {e}"),
        }
    }
    v.push(("builtin".to_string(), facecast_avatar::builtin()));
    v
}

fn main() {
    let frames: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    println!("{:<45} {:>9} {:>7} {:>10} {:>10} {:>10}", "model", "size", "tris", "rgba ms", "i420 ms", "static ms");
    for (name, av) in models() {
        for (w, h) in [(512u32, 512u32), (1280, 720)] {
            let cfg = RenderConfig { width: w, height: h, ..Default::default() };
            let mut r = Renderer::new(av.clone(), cfg).expect("renderer");
            let mut fw = FaceWeights::default();
            let mut ch = Vec::new();
            let mut rgba = RgbaFrame::default();
            let mut yuv = I420Frame::default();
            let mut pose = HeadPose::default();
            let step = |i: usize, fw: &mut FaceWeights, pose: &mut HeadPose| {
                let t = i as f32 / 25.0;
                fw.set(ArkitShape::JawOpen, 0.5 + 0.5 * (t * 7.0).sin());
                fw.set(ArkitShape::MouthSmileLeft, 0.3 + 0.3 * (t * 1.3).sin());
                fw.set(ArkitShape::MouthSmileRight, 0.3 + 0.3 * (t * 1.3).sin());
                fw.set(ArkitShape::EyeBlinkLeft, if i % 50 < 4 { 1.0 } else { 0.0 });
                fw.set(ArkitShape::EyeBlinkRight, if i % 50 < 4 { 1.0 } else { 0.0 });
                pose.head = [0.1 * (t * 0.7).sin(), 0.05 * (t * 1.1).sin(), 0.03 * (t * 0.5).sin()];
                pose.eyes = [0.1 * (t * 0.9).sin(), 0.0];
            };
            for i in 0..5 {
                step(i, &mut fw, &mut pose);
                av.rig.resolve(&fw, av.channels.len(), &mut ch);
                r.render_rgba(&ch, &pose, &mut rgba);
            }
            let t0 = Instant::now();
            for i in 0..frames {
                step(i, &mut fw, &mut pose);
                av.rig.resolve(&fw, av.channels.len(), &mut ch);
                r.render_rgba(&ch, &pose, &mut rgba);
            }
            let ms_rgba = t0.elapsed().as_secs_f64() * 1e3 / frames as f64;
            let t0 = Instant::now();
            for i in 0..frames {
                step(i, &mut fw, &mut pose);
                av.rig.resolve(&fw, av.channels.len(), &mut ch);
                r.render_i420(&ch, &pose, &mut yuv);
            }
            let ms_i420 = t0.elapsed().as_secs_f64() * 1e3 / frames as f64;
            // Unchanged weights and pose: raster + shade + resolve only.
            let t0 = Instant::now();
            for _ in 0..frames {
                r.render_i420(&ch, &pose, &mut yuv);
            }
            let ms_static = t0.elapsed().as_secs_f64() * 1e3 / frames as f64;
            println!(
                "{:<45} {:>9} {:>7} {:>10.2} {:>10.2} {:>10.2}",
                name,
                format!("{w}x{h}"),
                av.triangle_count(),
                ms_rgba,
                ms_i420,
                ms_static
            );
        }
    }
}
