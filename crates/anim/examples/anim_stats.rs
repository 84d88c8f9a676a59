//! Statistics of the idle/speech animation over 10 simulated minutes (blink rate, double blinks,
//! saccades, head-motion range) and the cost of one sample.
//!
//! ```text
//! cargo run --release -p facecast-anim --example anim_stats [seed]
//! ```

use std::time::Instant;

use facecast_anim::{AnimConfig, Animator};
use facecast_core::model::FaceRig;
use facecast_core::{ArkitShape, FaceWeights, HeadPose, Viseme, VisemeFrame, VISEME_COUNT};

fn main() {
    let seed: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    for speech in [false, true] {
        let mut a = Animator::new(
            &FaceRig::default(),
            AnimConfig {
                seed,
                ..AnimConfig::default()
            },
        );
        let minutes = 10.0;
        if speech {
            // Phrases of 2.5 s (syllables every 200 ms) separated by 1 s pauses.
            let mut frames = Vec::new();
            let mut t = 0.5;
            while t < minutes * 60.0 {
                for i in 0..250 {
                    let mut w = [0.0; VISEME_COUNT];
                    let open = (i / 10) % 2 == 0;
                    w[if open { Viseme::Aa } else { Viseme::PP }.index()] = 1.0;
                    let ft = t + i as f64 * 0.01;
                    frames.push(VisemeFrame {
                        t: ft,
                        weights: w,
                        jaw_open: if open { 0.7 } else { 0.1 },
                    });
                }
                t += 3.5;
            }
            a.push_visemes(&frames);
        }
        let (mut fw, mut hp) = (FaceWeights::default(), HeadPose::default());
        let (mut blinks, mut doubles, mut saccades) = (0, 0, 0);
        let mut closed = false;
        let mut last_blink = f64::NEG_INFINITY;
        let mut last_eyes = [0.0f32; 2];
        let mut head_min = [f32::MAX; 3];
        let mut head_max = [f32::MIN; 3];
        let step = 0.01;
        let n = (minutes * 60.0 / step) as usize;
        let t0 = Instant::now();
        for k in 0..n {
            let t = k as f64 * step;
            a.sample(t, &mut fw, &mut hp);
            let c = fw.get(ArkitShape::EyeBlinkLeft) > 0.5;
            if c && !closed {
                blinks += 1;
                if t - last_blink < 0.4 {
                    doubles += 1;
                }
                last_blink = t;
            }
            closed = c;
            let d =
                ((hp.eyes[0] - last_eyes[0]).powi(2) + (hp.eyes[1] - last_eyes[1]).powi(2)).sqrt();
            if d > 0.004 {
                saccades += 1; // a fast eye move (> 0.4 rad/s) in this 10 ms step
            }
            last_eyes = hp.eyes;
            for i in 0..3 {
                head_min[i] = head_min[i].min(hp.head[i]);
                head_max[i] = head_max[i].max(hp.head[i]);
            }
        }
        let us = t0.elapsed().as_secs_f64() * 1e6 / n as f64;
        let deg = |v: f32| v.to_degrees();
        println!(
            "{}: {:.1} blinks/min ({doubles} doubles), {:.1} fast-eye steps/min, head range yaw {:.1}..{:.1}°, \
             pitch {:.1}..{:.1}°, roll {:.1}..{:.1}°; {us:.2} µs/sample",
            if speech { "speech" } else { "idle  " },
            blinks as f64 / minutes,
            saccades as f64 / minutes,
            deg(head_min[0]),
            deg(head_max[0]),
            deg(head_min[1]),
            deg(head_max[1]),
            deg(head_min[2]),
            deg(head_max[2]),
        );
    }
}
