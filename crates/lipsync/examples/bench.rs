//! Speed benchmark: `bench [WAV]` prints x real time of the streaming analyzer on one core, and the
//! look-ahead. Without a WAV it uses 60 s of synthetic 16 kHz audio.
use facecast_core::AudioChunk;
use facecast_lipsync::Analyzer;
use std::time::Instant;

/// CPU time of this thread in seconds (`CLOCK_THREAD_CPUTIME_ID`), if available.
fn cpu_secs() -> Option<f64> {
    cpu_time::ThreadTime::try_now()
        .ok()
        .map(|t| t.as_duration().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let audio = match std::env::args().nth(1) {
        Some(p) => facecast_audio::decode_file(std::path::Path::new(&p))?,
        None => {
            let rate = 16000;
            let mut s = 1u32;
            let x: Vec<f32> = (0..rate * 60)
                .map(|i| {
                    s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                    let t = i as f32 / rate as f32;
                    let env = (t * 3.0).sin().abs();
                    env * (0.3 * (t * 2.0 * std::f32::consts::PI * 140.0).sin()
                        + 0.05 * ((s >> 8) as f32 / 8388608.0 - 1.0))
                })
                .collect();
            AudioChunk::mono(rate, x)
        }
    };
    for rate in [audio.rate, 48000] {
        let input = if rate == audio.rate {
            audio.clone()
        } else {
            let m = facecast_audio::to_mono(&audio);
            AudioChunk::mono(rate, facecast_audio::resample(&m, audio.rate, rate)?)
        };
        let chunk = (input.rate as usize / 50) * input.channels as usize; // 20 ms chunks
        let mut best = f64::MAX;
        let mut best_cpu = f64::MAX;
        let mut nframes = 0;
        for _ in 0..3 {
            let mut a = Analyzer::new();
            let t0 = Instant::now();
            let c0 = cpu_secs().unwrap_or(0.0);
            nframes = 0;
            for c in input.samples.chunks(chunk) {
                a.push(&AudioChunk {
                    rate: input.rate,
                    channels: input.channels,
                    samples: c.to_vec(),
                });
                while a.pull().is_some() {
                    nframes += 1;
                }
            }
            a.flush();
            while a.pull().is_some() {
                nframes += 1;
            }
            best = best.min(t0.elapsed().as_secs_f64());
            best_cpu = best_cpu.min(cpu_secs().unwrap_or(0.0) - c0);
        }
        println!(
            "input {} Hz: {:.1} s audio, {} frames in {:.3} s wall ({:.3} s CPU) -> {:.0}x real time wall, {:.0}x per CPU-second (one core)",
            input.rate,
            input.duration_secs(),
            nframes,
            best,
            best_cpu,
            input.duration_secs() / best,
            input.duration_secs() / best_cpu
        );
    }
    println!("look-ahead: {:.1} ms", Analyzer::lookahead_ms());
    Ok(())
}
