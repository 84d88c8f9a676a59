//! Per-frame cost of a session: animation + render + RGBA→I420, at 512×512 and 1280×720.
//!
//! ```text
//! cargo run --release -p facecast-engine --example session_bench [avatar.glb] [speech.wav]
//! ```
//! Defaults: the built-in avatar and `shared/assets/audio/cmu_goforward.wav`. The session is
//! driven on a simulated clock as fast as possible; the time of each `poll_output` call that
//! returns a video frame is measured (speech queued, so the mouth moves every frame).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use facecast_anim::{AnimConfig, Animator};
use facecast_core::{FaceWeights, HeadPose, MediaTime};
use facecast_engine::{Output, Session, SessionConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let avatar = match args.first() {
        Some(p) => Arc::new(
            facecast_avatar::load(std::path::Path::new(p)).unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(1)
            }),
        ),
        None => facecast_avatar::builtin(),
    };
    let wav = args.get(1).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/assets/audio/cmu_goforward.wav"
        ))
    });
    let audio = facecast_audio::decode_file(&wav).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    println!(
        "avatar {} ({} vertices, {} triangles, {} channels), audio {} ({:.1} s)",
        avatar.name,
        avatar.vertex_count(),
        avatar.triangle_count(),
        avatar.channels.len(),
        wav.display(),
        audio.duration_secs()
    );

    // Animation alone.
    let mut anim = Animator::new(&avatar.rig, AnimConfig::default());
    let frames = facecast_lipsync_free_frames(60.0);
    anim.push_visemes(&frames);
    let (mut fw, mut hp) = (FaceWeights::default(), HeadPose::default());
    let n = 25 * 60;
    let t0 = Instant::now();
    for k in 0..n {
        anim.sample(k as f64 / 25.0, &mut fw, &mut hp);
    }
    println!(
        "anim sample: {:.2} µs/frame",
        t0.elapsed().as_secs_f64() * 1e6 / n as f64
    );

    for (w, h) in [(64u32, 64u32), (512, 512), (1280, 720)] {
        let mut cfg = SessionConfig::new(avatar.clone());
        cfg.width = w;
        cfg.height = h;
        let mut s = Session::new(cfg).expect("session");
        if w == 64 {
            println!(
                "audio playout delay (lip-sync look-ahead L): {} ms",
                s.lookahead().as_millis()
            );
        }
        let mut times = Vec::new();
        let mut t = MediaTime::ZERO;
        let t_push = Instant::now();
        s.speak(&audio).expect("speak");
        let push = t_push.elapsed();
        let end = MediaTime::from_secs_f64(audio.duration_secs() + 0.5);
        let mut audio_frames = 0;
        let wall = Instant::now();
        while t <= end {
            s.handle_timeout(t);
            loop {
                let t1 = Instant::now();
                let Some(o) = s.poll_output() else { break };
                let dt = t1.elapsed();
                match o {
                    Output::Video { frame, .. } => {
                        times.push(dt.as_secs_f64() * 1e3);
                        s.recycle(frame);
                    }
                    Output::Audio { pcm, .. } => {
                        audio_frames += 1;
                        s.recycle_pcm(pcm);
                    }
                    Output::Event(_) | Output::Face { .. } => {}
                }
            }
            t = s.poll_timeout();
        }
        let total = wall.elapsed().as_secs_f64();
        times.sort_by(|a, b| a.total_cmp(b));
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
        println!(
            "{w}x{h}: {} video frames, {audio_frames} audio frames; per video frame (anim+render+I420) \
             mean {mean:.2} ms, p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; speak() of {:.1} s audio \
             {:.1} ms; {:.1}x real time",
            times.len(),
            pct(0.5),
            pct(0.95),
            pct(1.0),
            audio.duration_secs(),
            push.as_secs_f64() * 1e3,
            (audio.duration_secs() + 0.5) / total
        );
    }
}

/// Synthetic speech-like viseme frames (alternating open vowels and closures) for the anim-only
/// timing, independent of the analyzer.
fn facecast_lipsync_free_frames(secs: f64) -> Vec<facecast_core::VisemeFrame> {
    use facecast_core::{Viseme, VisemeFrame, VISEME_COUNT};
    let seq = [
        Viseme::Aa,
        Viseme::PP,
        Viseme::E,
        Viseme::SS,
        Viseme::O,
        Viseme::FF,
        Viseme::I,
    ];
    (0..(secs * 100.0) as usize)
        .map(|i| {
            let mut w = [0.0; VISEME_COUNT];
            w[seq[(i / 12) % seq.len()].index()] = 1.0;
            VisemeFrame {
                t: i as f64 * 0.01 + 0.005,
                weights: w,
                jaw_open: 0.5,
            }
        })
        .collect()
}
