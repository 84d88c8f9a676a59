//! RGBA → I420 kernel benchmark (CPU ms per frame, single thread).
//! `cargo run --release -p facecast-render --example convert_bench [iterations]`

use facecast_core::convert::{rgba_rows_to_i420, rgba_rows_to_i420_ref, rgba_to_i420};
use facecast_core::{I420Frame, RgbaFrame};

/// CPU time of this thread in ns (`CLOCK_THREAD_CPUTIME_ID`, exact; wall time is meaningless
/// on a loaded machine, and `/proc/thread-self/schedstat` moves only in 4 ms scheduler ticks).
fn cpu_ns() -> u64 {
    cpu_time::ThreadTime::try_now().map_or(0, |t| t.as_duration().as_nanos() as u64)
}

type Kernel = fn(&[u8], &[u8], &mut [u8], &mut [u8], &mut [u8], &mut [u8]);

fn frame(src: &RgbaFrame, out: &mut I420Frame, k: Kernel) {
    let (w, h) = (src.width as usize, src.height as usize);
    let cw = w / 2;
    for cy in 0..h / 2 {
        let (yt, yb) = out.y[cy * 2 * w..(cy * 2 + 2) * w].split_at_mut(w);
        k(
            &src.data[cy * 2 * w * 4..(cy * 2 + 1) * w * 4],
            &src.data[(cy * 2 + 1) * w * 4..(cy * 2 + 2) * w * 4],
            yt,
            yb,
            &mut out.u[cy * cw..(cy + 1) * cw],
            &mut out.v[cy * cw..(cy + 1) * cw],
        );
    }
}

fn main() {
    let iters: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    for (w, h) in [(512u32, 512u32), (1280, 720)] {
        let mut src = RgbaFrame::new(w, h);
        let mut seed = 1u64;
        for b in src.data.iter_mut() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            *b = (seed >> 33) as u8;
        }
        let mut out = I420Frame::default();
        rgba_to_i420(&src, &mut out);
        for (name, k) in [
            ("reference", rgba_rows_to_i420_ref as Kernel),
            ("fast (avx2 when available)", rgba_rows_to_i420 as Kernel),
        ] {
            let t0 = cpu_ns();
            for _ in 0..iters {
                frame(&src, &mut out, k);
                std::hint::black_box(&mut out);
            }
            let ms = (cpu_ns() - t0) as f64 / 1e6 / iters as f64;
            println!("{w}x{h} {name:<28} {ms:.3} ms/frame CPU");
        }
    }
}
