//! Contact sheet of the mouth for every viseme and emotion, to tune `facecast_anim::visemes`.
//!
//! ```text
//! cargo run --release -p facecast-engine --example viseme_sheet [avatar.glb] [out.png] [zoom]
//! ```
//! Row 1-2: the 15 visemes (as the animator shows them mid-sound, neutral face). Row 3: the 8
//! emotions at intensity 1 in silence. Row 4: PP and aa under happy / angry / surprised.

use std::sync::Arc;

use facecast_anim::{AnimConfig, Animator};
use facecast_core::{Emotion, FaceWeights, HeadPose, RgbaFrame, Viseme, VisemeFrame, VISEME_COUNT};
use facecast_render::{CameraOverride, RenderConfig, Renderer};

const TILE: u32 = 256;

fn frames(v: Viseme, jaw: f32) -> Vec<VisemeFrame> {
    (0..40)
        .map(|i| {
            let mut w = [0.0; VISEME_COUNT];
            w[v.index()] = 1.0;
            VisemeFrame {
                t: 1.0 + i as f64 * 0.01,
                weights: w,
                jaw_open: jaw,
            }
        })
        .collect()
}

fn jaw_of(v: Viseme) -> f32 {
    match v {
        Viseme::Sil => 0.0,
        Viseme::PP => 0.1,
        Viseme::Aa => 0.85,
        Viseme::E | Viseme::O => 0.55,
        _ => 0.3,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let avatar = match args.first().filter(|s| s.as_str() != "builtin") {
        Some(p) => Arc::new(facecast_avatar::load(std::path::Path::new(p)).expect("avatar")),
        None => facecast_avatar::builtin(),
    };
    let out = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "/tmp/viseme_sheet.png".into());
    let zoom: f32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2.5);

    let cfg = RenderConfig {
        width: TILE,
        height: TILE,
        ..Default::default()
    };
    let probe = Renderer::new(avatar.clone(), cfg.clone()).expect("renderer");
    let cam = probe.camera();
    // Zoom on the lower face: narrower field of view, aim a little below the framing centre.
    let dir: Vec<f32> = (0..3).map(|i| cam.target[i] - cam.eye[i]).collect();
    let dist = (dir.iter().map(|d| d * d).sum::<f32>()).sqrt();
    let drop = dist * (cam.fov_y_deg.to_radians() * 0.5).tan() * 0.12;
    let target = [cam.target[0], cam.target[1] - drop, cam.target[2]];
    let eye = [cam.eye[0], cam.eye[1] - drop, cam.eye[2]];
    let cfg = RenderConfig {
        camera: Some(CameraOverride {
            eye,
            target,
            fov_y_deg: cam.fov_y_deg / zoom,
        }),
        ..cfg
    };
    let mut r = Renderer::new(avatar.clone(), cfg).expect("renderer");

    let mut tiles: Vec<(String, FaceWeights)> = Vec::new();
    let face_for = |v: Viseme, e: Emotion| {
        let mut a = Animator::new(
            &avatar.rig,
            AnimConfig {
                seed: 1,
                head_motion: 0.0,
                emotion: e,
                emotion_intensity: 1.0,
            },
        );
        if v != Viseme::Sil {
            a.push_visemes(&frames(v, jaw_of(v)));
        }
        let (mut fw, mut hp) = (FaceWeights::default(), HeadPose::default());
        // Mid-sound, at a time no blink falls on for seed 1 is not guaranteed: open the eyes.
        a.sample(1.2, &mut fw, &mut hp);
        for s in [
            facecast_core::ArkitShape::EyeBlinkLeft,
            facecast_core::ArkitShape::EyeBlinkRight,
        ] {
            fw.set(s, 0.0);
        }
        fw
    };
    for v in Viseme::ALL {
        tiles.push((v.name().to_string(), face_for(v, Emotion::Neutral)));
    }
    tiles.push(("-".into(), face_for(Viseme::Sil, Emotion::Neutral)));
    for e in Emotion::ALL {
        tiles.push((e.name().into(), face_for(Viseme::Sil, e)));
    }
    for e in [
        Emotion::Happy,
        Emotion::Angry,
        Emotion::Surprised,
        Emotion::Sad,
    ] {
        tiles.push((format!("PP+{}", e.name()), face_for(Viseme::PP, e)));
        tiles.push((format!("aa+{}", e.name()), face_for(Viseme::Aa, e)));
    }

    let cols = 8u32;
    let rows = (tiles.len() as u32).div_ceil(cols);
    let mut sheet = image::RgbaImage::new(cols * TILE, rows * TILE);
    let mut frame = RgbaFrame::new(TILE, TILE);
    let mut channels = Vec::new();
    for (i, (name, fw)) in tiles.iter().enumerate() {
        avatar.rig.resolve(fw, avatar.channels.len(), &mut channels);
        r.set_jaw_open(fw.get(facecast_core::ArkitShape::JawOpen));
        r.render_rgba(&channels, &HeadPose::default(), &mut frame);
        let (cx, cy) = ((i as u32 % cols) * TILE, (i as u32 / cols) * TILE);
        for y in 0..TILE {
            for x in 0..TILE {
                let o = ((y * TILE + x) * 4) as usize;
                let px = image::Rgba([frame.data[o], frame.data[o + 1], frame.data[o + 2], 255]);
                sheet.put_pixel(cx + x, cy + y, px);
            }
        }
        println!("tile {i}: {name}");
    }
    sheet.save(&out).expect("write png");
    println!("wrote {out} ({} tiles, {cols} per row)", tiles.len());
}
