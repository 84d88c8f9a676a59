//! A film strip of what a session outputs: every Nth video frame of a spoken clip, in a grid PNG,
//! to eyeball mouth, blinks and head motion.
//!
//! ```text
//! cargo run --release -p facecast-engine --example session_strip [avatar.glb|builtin] [speech.wav] [out.png] [every_n]
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use facecast_core::{I420Frame, MediaTime};
use facecast_engine::{Output, Session, SessionConfig};

const SIZE: u32 = 192;

fn rgb(f: &I420Frame, x: u32, y: u32) -> [u8; 3] {
    let w = f.width as usize;
    let yy = f.y[y as usize * w + x as usize] as f32 - 16.0;
    let ci = (y as usize / 2) * (w / 2) + x as usize / 2;
    let (u, v) = (f.u[ci] as f32 - 128.0, f.v[ci] as f32 - 128.0);
    let c = |v: f32| v.clamp(0.0, 255.0) as u8;
    [
        c(1.164 * yy + 1.596 * v),
        c(1.164 * yy - 0.392 * u - 0.813 * v),
        c(1.164 * yy + 2.017 * u),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let avatar = match args.first().filter(|s| s.as_str() != "builtin") {
        Some(p) => Arc::new(facecast_avatar::load(std::path::Path::new(p)).expect("avatar")),
        None => facecast_avatar::builtin(),
    };
    let wav = args.get(1).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/assets/audio/cmu_goforward.wav"
        ))
    });
    let out = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "/tmp/session_strip.png".into());
    let every: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3);
    let audio = facecast_audio::decode_file(&wav).expect("audio");

    let mut cfg = SessionConfig::new(avatar);
    cfg.width = SIZE;
    cfg.height = SIZE;
    let mut s = Session::new(cfg).expect("session");
    s.speak(&audio).expect("speak");
    let end = MediaTime::from_secs_f64(audio.duration_secs() + 0.6);
    let mut picked = Vec::new();
    let mut k = 0usize;
    let mut t = MediaTime::ZERO;
    while t <= end {
        s.handle_timeout(t);
        while let Some(o) = s.poll_output() {
            match o {
                Output::Video { frame, pts } => {
                    if k.is_multiple_of(every) {
                        picked.push((pts, frame));
                    } else {
                        s.recycle(frame);
                    }
                    k += 1;
                }
                Output::Event(e) => println!("{:.3}s {e:?}", s.now().as_secs_f64()),
                Output::Audio { .. } | Output::Face { .. } => {}
            }
        }
        t = s.poll_timeout();
    }
    let cols = 10u32;
    let rows = (picked.len() as u32).div_ceil(cols);
    let mut img = image::RgbImage::new(cols * SIZE, rows * SIZE);
    for (i, (_, f)) in picked.iter().enumerate() {
        let (ox, oy) = ((i as u32 % cols) * SIZE, (i as u32 / cols) * SIZE);
        for y in 0..SIZE {
            for x in 0..SIZE {
                img.put_pixel(ox + x, oy + y, image::Rgb(rgb(f, x, y)));
            }
        }
    }
    img.save(&out).expect("png");
    println!(
        "wrote {out}: {} frames (every {every}th, {:.2} s apart), L = {} ms",
        picked.len(),
        every as f64 / 25.0,
        s.lookahead().as_millis()
    );
}
