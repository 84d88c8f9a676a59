//! Encoder benchmark: ms/frame for RGBA->I420 conversion + encode, single thread, on a smooth
//! gradient with a moving blob (talking-head-like content), plus Opus speed.
//!
//! `cargo run --release -p facecast-encode --example bench [-- frames]`

use facecast_core::convert::rgba_to_i420;
use facecast_core::{I420Frame, MediaTime, RgbaFrame};
use facecast_encode::{EncoderOptions, OpusEncoder, VideoCodec, VideoConfig, VideoEncoder};
use std::time::Instant;

fn render(f: &mut RgbaFrame, k: u64) {
    let (w, h) = (f.width as usize, f.height as usize);
    let t = k as f32;
    let (cx, cy) = (
        w as f32 * (0.5 + 0.2 * (t * 0.05).sin()),
        h as f32 * (0.45 + 0.05 * (t * 0.13).cos()),
    );
    let r2 = (w.min(h) as f32 * 0.2).powi(2);
    for y in 0..h {
        for x in 0..w {
            let d2 = (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2);
            let blob = (-d2 / r2).exp();
            let g = y as f32 / h as f32;
            let p = &mut f.data[(y * w + x) * 4..(y * w + x) * 4 + 4];
            p[0] = (30.0 + 20.0 * g + 200.0 * blob) as u8;
            p[1] = (36.0 + 30.0 * g + 150.0 * blob) as u8;
            p[2] = (44.0 + 60.0 * g + 120.0 * blob) as u8;
            p[3] = 255;
        }
    }
}

/// (median, min) in ms of a list of seconds.
fn stats(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2] * 1000.0, v[0] * 1000.0)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    println!("facecast-encode bench: {n} frames per case, 25 fps, single thread, default bitrate (0.08 bit/pixel)");
    println!(
        "times are median / min per frame in ms (min is the best estimate on a loaded machine)"
    );
    for (w, h) in [(512u32, 512u32), (1280, 720), (1920, 1080)] {
        // pre-render the frames so rendering is not timed
        let frames: Vec<RgbaFrame> = (0..n.min(50))
            .map(|k| {
                let mut f = RgbaFrame::new(w, h);
                render(&mut f, k);
                f
            })
            .collect();
        let mut i420 = I420Frame::new(w, h);
        // conversion alone: facecast_core::convert vs OpenH264's read_rgba8 (reference)
        let mut tc = Vec::new();
        let mut tr = Vec::new();
        let mut yuv = openh264::formats::YUVBuffer::new(w as usize, h as usize);
        for k in 0..n as usize {
            let src = &frames[k % frames.len()];
            let t0 = Instant::now();
            rgba_to_i420(src, &mut i420);
            let t1 = Instant::now();
            yuv.read_rgba8(openh264::formats::RgbaSliceU8::new(
                &src.data,
                (w as usize, h as usize),
            ));
            let t2 = Instant::now();
            tc.push((t1 - t0).as_secs_f64());
            tr.push((t2 - t1).as_secs_f64());
        }
        let (cm, cmin) = stats(&mut tc);
        let (rm, rmin) = stats(&mut tr);
        println!(
            "{w}x{h}: RGBA->I420 core::convert {cm:.3} / {cmin:.3} ms; openh264 read_rgba8 (reference) {rm:.3} / {rmin:.3} ms"
        );
        for codec in [VideoCodec::H264, VideoCodec::Vp8] {
            for fast in [false, true] {
                let cfg = VideoConfig::new(codec, w, h, 25);
                let bitrate = cfg.bitrate_bps;
                let opts = EncoderOptions {
                    fast,
                    ..Default::default()
                };
                let mut enc = VideoEncoder::with_options(cfg, opts).unwrap();
                let (mut tt, mut te, mut bytes) = (Vec::new(), Vec::new(), 0usize);
                for k in 0..n {
                    let src = &frames[(k % frames.len() as u64) as usize];
                    let t0 = Instant::now();
                    rgba_to_i420(src, &mut i420);
                    let t1 = Instant::now();
                    enc.send_frame(&i420, MediaTime::of_frame(k, 25), false)
                        .unwrap();
                    while let Some(p) = enc.receive_packet() {
                        bytes += p.data.len();
                        enc.recycle(p);
                    }
                    let t2 = Instant::now();
                    te.push((t2 - t1).as_secs_f64());
                    tt.push((t2 - t0).as_secs_f64());
                }
                let (em, emin) = stats(&mut te);
                let (tm, tmin) = stats(&mut tt);
                println!(
                    "  {:>5}{:<6} encode {em:6.2} / {emin:6.2} ms   convert+encode {tm:6.2} / {tmin:6.2} ms   {:5.0} kbit/s (target {})",
                    format!("{codec:?}"),
                    if fast { " fast" } else { "" },
                    bytes as f64 * 8.0 / (n as f64 / 25.0) / 1000.0,
                    bitrate / 1000
                );
            }
        }
    }
    // Opus: 20 ms frames of a speech-like signal, at the default and at the live complexity.
    for complexity in [10u8, facecast_encode::LIVE_COMPLEXITY] {
        let mut enc = OpusEncoder::new(48_000).unwrap();
        enc.set_complexity(complexity).unwrap();
        let pcm: Vec<i16> = (0..960 * 500)
            .map(|i| {
                let t = i as f32 / 48_000.0;
                ((t * 2.0 * std::f32::consts::PI * 180.0).sin() * (t * 3.0).sin().abs() * 12_000.0)
                    as i16
            })
            .collect();
        let mut out = Vec::new();
        let t0 = Instant::now();
        for frame in pcm.chunks_exact(960) {
            enc.encode(frame, &mut out).unwrap();
        }
        let dt = t0.elapsed().as_secs_f64();
        println!(
        "opus 48 kbit/s mono, complexity {complexity}: {:.3} ms per 20 ms frame ({:.0}x real time)",
        dt * 1000.0 / 500.0,
        10.0 / dt
    );
    }
}
