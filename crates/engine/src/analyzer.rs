//! The streaming lip-sync analyzer the session feeds.
//!
//! With the `lipsync` feature this is `facecast_lipsync::Analyzer`. Without it, a small
//! energy-only stand-in with the same API (jaw follows loudness, `aa`/`sil` weights), so the
//! engine builds and runs while the lip-sync crate is being written.

#[cfg(feature = "lipsync")]
pub(crate) use facecast_lipsync::Analyzer;

#[cfg(not(feature = "lipsync"))]
pub(crate) use fallback::Analyzer;

#[cfg(not(feature = "lipsync"))]
mod fallback {
    use facecast_core::{AudioChunk, Viseme, VisemeFrame, VISEME_COUNT};
    use std::collections::VecDeque;

    /// Energy-only analyzer: one frame per 10 ms of input.
    pub(crate) struct Analyzer {
        rate: u32,
        acc: f64,
        n: usize,
        hop_index: u64,
        out: VecDeque<VisemeFrame>,
    }

    impl Analyzer {
        pub(crate) fn new() -> Analyzer {
            Analyzer {
                rate: 0,
                acc: 0.0,
                n: 0,
                hop_index: 0,
                out: VecDeque::new(),
            }
        }

        pub(crate) fn lookahead_ms() -> f64 {
            0.0
        }

        pub(crate) fn push(&mut self, chunk: &AudioChunk) {
            if chunk.rate == 0 || chunk.channels == 0 {
                return;
            }
            self.rate = chunk.rate;
            let hop = (chunk.rate / 100).max(1) as usize;
            let ch = chunk.channels as usize;
            for fr in chunk.samples.chunks_exact(ch) {
                let m = fr.iter().sum::<f32>() / ch as f32;
                self.acc += (m * m) as f64;
                self.n += 1;
                if self.n == hop {
                    self.emit();
                }
            }
        }

        fn emit(&mut self) {
            let rms = (self.acc / self.n.max(1) as f64).sqrt() as f32;
            let jaw = ((rms - 0.01) * 6.0).clamp(0.0, 1.0);
            let mut weights = [0.0; VISEME_COUNT];
            weights[Viseme::Aa.index()] = jaw;
            weights[Viseme::Sil.index()] = 1.0 - jaw;
            let t = (self.hop_index as f64 + 0.5) * 0.01;
            self.out.push_back(VisemeFrame {
                t,
                weights,
                jaw_open: jaw,
            });
            self.hop_index += 1;
            self.acc = 0.0;
            self.n = 0;
        }

        pub(crate) fn pull(&mut self) -> Option<VisemeFrame> {
            self.out.pop_front()
        }

        pub(crate) fn flush(&mut self) {
            if self.n > 0 {
                self.emit();
            }
        }

        pub(crate) fn reset(&mut self) {
            let _ = self.rate;
            *self = Analyzer::new();
        }
    }
}
