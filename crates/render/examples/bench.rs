//! Renderer benchmark: ms/frame for morph + skin + rasterize + shade (+ resolve), single thread.
//! `cargo run --release -p facecast-render --example bench [frames] [model filter]`
//! (`BENCH_MEM=1` also prints each renderer's memory use; `BENCH_NO_REUSE=1` draws every tile
//! of every frame instead of reusing unchanged ones; `BENCH_SESSIONS=N` also renders N
//! renderers in turn, as a server's video workers do, so every frame starts with cold caches;
//! `BENCH_SIZE=512` or `BENCH_SIZE=1280` measures only that size; `BENCH_AB=1` renders every
//! pose twice, once with each value of `facecast_render::AB`, and prints the CPU time of both
//! variants: a paired comparison that host noise cannot tilt, for a kernel experiment that
//! reads `facecast_render::ab()`; `BENCH_VARIANT=N` runs every frame with variant N, for
//! instruction counts under cachegrind; `BENCH_AB_LOD=px` renders every pose with a second
//! renderer whose level-of-detail error is `px` and prints both renderers' CPU time, paired;
//! `BENCH_PCT=1` also prints the 10th, 50th and 90th percentile of per-frame CPU time, which a
//! loaded host moves far less than the mean; `BENCH_STAGES=1`, with the example built with
//! `--features stage-cycles`, prints the CPU cycles each stage of a frame took: the fastest of
//! several runs is a far steadier measure than times, and unlike instruction counts it shows
//! cache and memory stalls).
//!
//! Every frame changes the face weights and the head pose, so the whole pipeline (pose, sparse
//! morph, skinning, setup, raster, shade, resolve) runs each time.

use std::sync::Arc;
use std::time::Instant;

use facecast_core::model::Avatar;
use facecast_core::{ArkitShape, FaceWeights, HeadPose, I420Frame, RgbaFrame};
use facecast_render::{RenderConfig, Renderer};

/// CPU time of this thread in ns (`CLOCK_THREAD_CPUTIME_ID`, exact; wall time is meaningless
/// on a loaded machine, and `/proc/thread-self/schedstat` moves only in 4 ms scheduler ticks).
fn cpu_ns() -> u64 {
    cpu_time::ThreadTime::try_now().map_or(0, |t| t.as_duration().as_nanos() as u64)
}

struct Clock(Instant, u64);
impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), cpu_ns())
    }
    /// (wall ms, cpu ms) per frame.
    fn per_frame(&self, n: usize) -> (f64, f64) {
        (
            self.0.elapsed().as_secs_f64() * 1e3 / n as f64,
            (cpu_ns() - self.1) as f64 / 1e6 / n as f64,
        )
    }
}

fn models() -> Vec<(String, Arc<Avatar>)> {
    let base = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/assets/models/"
    );
    let mut v = Vec::new();
    for rel in [
        "facecap/facecap_plain.glb",
        "valid/VALID_Hispanic_F_2_Busi_plain.glb",
    ] {
        match facecast_avatar::load(std::path::Path::new(&format!("{base}{rel}"))) {
            Ok(a) => v.push((rel.to_string(), Arc::new(a))),
            Err(e) => eprintln!("skip {rel}: {e}"),
        }
    }
    v.push(("builtin".to_string(), facecast_avatar::builtin()));
    v
}

fn main() {
    let frames: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    println!("per-frame times, single thread: CPU ms (wall ms in brackets; wall includes waiting for a core)");
    println!(
        "{:<42} {:>9} {:>6} {:>16} {:>16} {:>16}",
        "model", "size", "tris", "rgba", "i420", "i420 static"
    );
    let filter = std::env::args().nth(2).unwrap_or_default();
    // `BENCH_VARIANT=N`: every frame with `facecast_render::AB` at N (one variant per run, for
    // instruction counts under cachegrind).
    if let Some(v) = std::env::var("BENCH_VARIANT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        facecast_render::AB.store(v, std::sync::atomic::Ordering::Relaxed);
    }
    for (name, av) in models().into_iter().filter(|(n, _)| n.contains(&filter)) {
        for (w, h) in [(512u32, 512u32), (1280, 720)] {
            // `BENCH_SIZE=512` (or 1280): only that width.
            if let Ok(only) = std::env::var("BENCH_SIZE") {
                if only != w.to_string() {
                    continue;
                }
            }
            let cfg = RenderConfig {
                width: w,
                height: h,
                // `BENCH_LOD=px`: level-of-detail error (0: every triangle).
                lod_px: std::env::var("BENCH_LOD")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(facecast_render::DEFAULT_LOD_PX),
                ..Default::default()
            };
            let t_new = Clock::start();
            let mut r = Renderer::new(av.clone(), cfg.clone()).expect("renderer");
            if std::env::var_os("BENCH_MEM").is_some() {
                println!(
                    "  renderer set-up (framing, level of detail): {:.1} ms",
                    t_new.per_frame(1).1
                );
            }
            // `BENCH_NO_REUSE=1`: draw every tile every frame (the full cost of a frame).
            r.set_tile_reuse(std::env::var_os("BENCH_NO_REUSE").is_none());
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
                fw.set(
                    ArkitShape::EyeBlinkRight,
                    if i % 50 < 4 { 1.0 } else { 0.0 },
                );
                pose.head = [
                    0.1 * (t * 0.7).sin(),
                    0.05 * (t * 1.1).sin(),
                    0.03 * (t * 0.5).sin(),
                ];
                pose.eyes = [0.1 * (t * 0.9).sin(), 0.0];
            };
            for i in 0..5 {
                step(i, &mut fw, &mut pose);
                av.rig.resolve(&fw, av.channels.len(), &mut ch);
                r.render_rgba(&ch, &pose, &mut rgba);
            }
            if let Some(l2) = std::env::var("BENCH_AB_LOD")
                .ok()
                .and_then(|v| v.parse::<f32>().ok())
            {
                let mut r2 = Renderer::new(
                    av.clone(),
                    RenderConfig {
                        lod_px: l2,
                        ..cfg.clone()
                    },
                )
                .expect("renderer");
                r2.set_tile_reuse(std::env::var_os("BENCH_NO_REUSE").is_none());
                let mut tot = [0u64; 2];
                for i in 0..frames * 2 {
                    let v = (i & 1) ^ ((i >> 1) & 1);
                    step(i / 2, &mut fw, &mut pose);
                    av.rig.resolve(&fw, av.channels.len(), &mut ch);
                    let t = cpu_ns();
                    if v == 0 {
                        r.render_rgba(&ch, &pose, &mut rgba);
                    } else {
                        r2.render_rgba(&ch, &pose, &mut rgba);
                    }
                    tot[v] += cpu_ns() - t;
                }
                println!(
                    "ABLOD {name} {w}x{h}: lod{} {:.3} lod{} {:.3} ratio {:.3}",
                    cfg.lod_px,
                    tot[0] as f64 / 1e6 / frames as f64,
                    l2,
                    tot[1] as f64 / 1e6 / frames as f64,
                    tot[1] as f64 / tot[0] as f64
                );
                continue;
            }
            if std::env::var_os("BENCH_AB").is_some() {
                // Variants 0 and 1 of the kernel, alternating frame by frame (host noise hits
                // both alike): CPU ms per frame of each.
                let mut tot = [0u64; 2];
                for i in 0..frames * 2 {
                    // Each pose is rendered twice (the second time skips the vertex stage):
                    // the variants take turns at going first.
                    let v = ((i & 1) ^ ((i >> 1) & 1)) as u32;
                    facecast_render::AB.store(v, std::sync::atomic::Ordering::Relaxed);
                    step(i / 2, &mut fw, &mut pose);
                    av.rig.resolve(&fw, av.channels.len(), &mut ch);
                    let t = cpu_ns();
                    r.render_rgba(&ch, &pose, &mut rgba);
                    tot[v as usize] += cpu_ns() - t;
                }
                println!(
                    "AB {name} {w}x{h}: variant0 {:.3} variant1 {:.3} ratio1/0 {:.3}",
                    tot[0] as f64 / 1e6 / frames as f64,
                    tot[1] as f64 / 1e6 / frames as f64,
                    tot[1] as f64 / tot[0] as f64
                );
                continue;
            }
            facecast_render::reset_stage_cycles();
            let t0 = Clock::start();
            for i in 0..frames {
                step(i, &mut fw, &mut pose);
                av.rig.resolve(&fw, av.channels.len(), &mut ch);
                r.render_rgba(&ch, &pose, &mut rgba);
            }
            let ms_rgba = t0.per_frame(frames);
            // `BENCH_STAGES=1` (built with `--features stage-cycles`): cycles per stage of
            // the RGBA frames just rendered.
            if std::env::var_os("BENCH_STAGES").is_some() {
                if facecast_render::STAGE_CYCLES {
                    let c = facecast_render::stage_cycles();
                    let row: Vec<String> = facecast_render::STAGE_NAMES
                        .iter()
                        .zip(c)
                        .map(|(n, c)| format!("{n} {:.3}", c as f64 / frames as f64 / 1e6))
                        .collect();
                    println!(
                        "STAGES {name} {w}x{h} Mcycles/frame: {} | sum {:.3}",
                        row.join(" "),
                        c.iter().sum::<u64>() as f64 / frames as f64 / 1e6
                    );
                } else {
                    println!("STAGES: build the example with --features stage-cycles");
                }
            }
            let t0 = Clock::start();
            for i in 0..frames {
                step(i, &mut fw, &mut pose);
                av.rig.resolve(&fw, av.channels.len(), &mut ch);
                r.render_i420(&ch, &pose, &mut yuv);
            }
            let ms_i420 = t0.per_frame(frames);
            // Unchanged weights and pose: raster + shade + resolve only.
            let t0 = Clock::start();
            for _ in 0..frames {
                r.render_i420(&ch, &pose, &mut yuv);
            }
            let ms_static = t0.per_frame(frames);
            let f = |t: (f64, f64)| format!("{:.2} ({:.1})", t.1, t.0);
            let sessions: usize = std::env::var("BENCH_SESSIONS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if sessions > 0 {
                // Each session its own renderer, frame and animation phase.
                let mut rs: Vec<(Renderer, I420Frame, FaceWeights, HeadPose, Vec<f32>)> = (0
                    ..sessions)
                    .map(|_| {
                        let mut r = Renderer::new(av.clone(), cfg.clone()).expect("renderer");
                        r.set_tile_reuse(std::env::var_os("BENCH_NO_REUSE").is_none());
                        (
                            r,
                            I420Frame::default(),
                            FaceWeights::default(),
                            HeadPose::default(),
                            Vec::new(),
                        )
                    })
                    .collect();
                let mut run = |from: usize, n: usize| {
                    for i in from..from + n {
                        for (k, (r, yuv, fw, pose, ch)) in rs.iter_mut().enumerate() {
                            step(i + 11 * k, fw, pose);
                            av.rig.resolve(fw, av.channels.len(), ch);
                            r.render_i420(ch, pose, yuv);
                        }
                    }
                };
                run(0, 3);
                let t0 = Clock::start();
                run(3, frames);
                println!(
                    "  {sessions} sessions in turn (i420, cold caches): {} per frame",
                    f(t0.per_frame(frames * sessions))
                );
            }
            if std::env::var("BENCH_MEM").is_ok() {
                println!(
                    "  memory: {:.2} MB owned by this renderer (textures/meshes shared via the Arc<Avatar>)",
                    r.memory_bytes() as f64 / 1e6
                );
            }
            // `BENCH_PCT=1`: per-frame CPU time percentiles of RGBA and I420 frames (a burst of
            // host load moves the mean of a round; the 10th percentile hardly moves).
            if std::env::var_os("BENCH_PCT").is_some() {
                let mut t = vec![0u64; frames];
                for live in [false, true] {
                    for (i, ti) in t.iter_mut().enumerate() {
                        step(i, &mut fw, &mut pose);
                        av.rig.resolve(&fw, av.channels.len(), &mut ch);
                        let c = cpu_ns();
                        if live {
                            r.render_i420(&ch, &pose, &mut yuv);
                        } else {
                            r.render_rgba(&ch, &pose, &mut rgba);
                        }
                        *ti = cpu_ns() - c;
                    }
                    t.sort_unstable();
                    let q = |p: usize| t[(frames - 1) * p / 100] as f64 / 1e6;
                    println!(
                        "PCT {name} {w}x{h} {}: p10 {:.2} p50 {:.2} p90 {:.2} ms",
                        if live { "i420" } else { "rgba" },
                        q(10),
                        q(50),
                        q(90)
                    );
                }
            }
            println!(
                "{:<42} {:>9} {:>6} {:>16} {:>16} {:>16}",
                name,
                format!("{w}x{h}"),
                r.lod_triangles(),
                f(ms_rgba),
                f(ms_i420),
                f(ms_static)
            );
        }
    }
}
