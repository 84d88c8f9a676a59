//! Renders the default avatar with facecast's own loader and renderer in a few expressions and
//! writes a PNG contact sheet (plus one PNG per pose).
//!
//! `cargo run -p avatargen --release --example preview -- [out_dir] [glb] [size]`
//! (defaults: /tmp/avatar_preview, the committed GLB, 384).

use facecast_core::{HeadPose, RgbaFrame};
use facecast_render::{Background, CameraOverride, RenderConfig, Renderer};
use std::path::PathBuf;
use std::sync::Arc;

struct Pose {
    name: &'static str,
    weights: &'static [(&'static str, f32)],
    pose: HeadPose,
    closeup: bool,
}

const fn p(name: &'static str, weights: &'static [(&'static str, f32)]) -> Pose {
    Pose {
        name,
        weights,
        pose: HeadPose {
            head: [0.0; 3],
            eyes: [0.0; 2],
        },
        closeup: false,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(
        args.get(1)
            .cloned()
            .unwrap_or_else(|| "/tmp/avatar_preview".into()),
    );
    let glb = args.get(2).cloned().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../crates/avatar/assets/facecast_default.glb"
        )
        .into()
    });
    let size: u32 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(384);
    std::fs::create_dir_all(&out).expect("output dir");
    let avatar = match facecast_avatar::load(std::path::Path::new(&glb)) {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    println!("{}", facecast_avatar::inspect(&avatar));
    let lm = avatargen::landmarks();
    let mut poses = vec![
        p("rest", &[]),
        p("jawOpen", &[("jawOpen", 1.0)]),
        p(
            "smile",
            &[
                ("mouthSmileLeft", 1.0),
                ("mouthSmileRight", 1.0),
                ("cheekSquintLeft", 0.4),
                ("cheekSquintRight", 0.4),
            ],
        ),
        p("blink", &[("eyeBlinkLeft", 1.0), ("eyeBlinkRight", 1.0)]),
        p("pucker", &[("mouthPucker", 1.0)]),
        p("funnel", &[("mouthFunnel", 1.0), ("jawOpen", 0.15)]),
        p(
            "surprised",
            &[
                ("browInnerUp", 1.0),
                ("browOuterUpLeft", 1.0),
                ("browOuterUpRight", 1.0),
                ("eyeWideLeft", 1.0),
                ("eyeWideRight", 1.0),
                ("jawOpen", 0.5),
            ],
        ),
        p(
            "angry",
            &[
                ("browDownLeft", 1.0),
                ("browDownRight", 1.0),
                ("mouthPressLeft", 0.6),
                ("mouthPressRight", 0.6),
                ("noseSneerLeft", 0.5),
                ("noseSneerRight", 0.5),
                ("eyeSquintLeft", 0.5),
                ("eyeSquintRight", 0.5),
            ],
        ),
        p(
            "sad",
            &[
                ("browInnerUp", 0.8),
                ("mouthFrownLeft", 1.0),
                ("mouthFrownRight", 1.0),
                ("mouthShrugLower", 0.4),
            ],
        ),
    ];
    let mut turned = p(
        "turned",
        &[
            ("mouthSmileLeft", 0.4),
            ("mouthSmileRight", 0.4),
            ("jawOpen", 0.2),
        ],
    );
    turned.pose = HeadPose {
        head: [0.45, 0.1, 0.05],
        eyes: [0.2, 0.0],
    };
    poses.push(turned);
    let mut c1 = p("closeup_open", &[("jawOpen", 0.8)]);
    c1.closeup = true;
    poses.push(c1);
    let mut c2 = p("closeup_tongue", &[("jawOpen", 0.7), ("tongueOut", 1.0)]);
    c2.closeup = true;
    poses.push(c2);

    let bg = Background::Gradient {
        top: [0x3a, 0x41, 0x4e],
        bottom: [0x16, 0x19, 0x1f],
    };
    let cfg = RenderConfig {
        width: size,
        height: size,
        background: bg.clone(),
        ..Default::default()
    };
    let m = lm.mouth;
    let close_cfg = RenderConfig {
        width: size,
        height: size,
        background: bg,
        camera: Some(CameraOverride {
            eye: [m[0] + 0.05, m[1] + 0.01, m[2] + 0.25],
            target: m,
            fov_y_deg: 18.0,
        }),
        ..Default::default()
    };
    let mut full = Renderer::new(avatar.clone(), cfg).expect("renderer");
    let mut close = Renderer::new(avatar.clone(), close_cfg).expect("renderer");
    let cols = 4;
    let rows = poses.len().div_ceil(cols);
    let (sw, sh) = (cols * size as usize, rows * size as usize);
    let mut sheet = vec![0u8; sw * sh * 3];
    let mut frame = RgbaFrame::new(size, size);
    let mut channels = vec![0.0f32; avatar.channels.len()];
    for (k, pose) in poses.iter().enumerate() {
        channels.iter_mut().for_each(|c| *c = 0.0);
        for (name, w) in pose.weights {
            match avatar.channel(name) {
                Some(i) => channels[i as usize] = *w,
                None => eprintln!("warning: no channel {name}"),
            }
        }
        let t = std::time::Instant::now();
        let r = if pose.closeup { &mut close } else { &mut full };
        r.render_rgba(&channels, &pose.pose, &mut frame);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let rgba = &frame.data;
        std::fs::write(
            out.join(format!("{}.png", pose.name)),
            avatargen::png::encode(size as usize, size as usize, 4, rgba),
        )
        .expect("write png");
        let (ox, oy) = ((k % cols) * size as usize, (k / cols) * size as usize);
        for y in 0..size as usize {
            for x in 0..size as usize {
                let s = (y * size as usize + x) * 4;
                let d = ((oy + y) * sw + ox + x) * 3;
                sheet[d..d + 3].copy_from_slice(&rgba[s..s + 3]);
            }
        }
        println!("{:>16}: rendered in {ms:.1} ms", pose.name);
    }
    let path = out.join("sheet.png");
    std::fs::write(&path, avatargen::png::encode_rgb(sw, sh, &sheet)).expect("write sheet");
    println!("wrote {}", path.display());
}
