//! Causal temporal decoding of per-frame viseme posteriors into stable viseme frames.
//!
//! Hysteresis with zero added latency: the decoded viseme changes only when another viseme beats the
//! current one by a margin, except that closures (PP) and silence are always taken at once when they
//! are the most likely class, so a bilabial closure is never smoothed away. Closed visemes (PP, sil)
//! output PP/sil weight 1 and jaw 0.

use facecast_core::{VisemeFrame, VISEME_COUNT};

const SIL: usize = 0;
const PP: usize = 1;
/// Probability margin another viseme needs over the current one to take over.
const SWITCH_MARGIN: f32 = 0.12;
/// Posterior smoothing factor for the weights (0 = none).
const WEIGHT_SMOOTH: f32 = 0.3;

/// Decoder state.
#[derive(Clone, Debug)]
pub struct Decoder {
    cur: usize,
    smooth: [f32; VISEME_COUNT],
    jaw: f32,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// Start in silence.
    pub fn new() -> Decoder {
        let mut smooth = [0.0; VISEME_COUNT];
        smooth[SIL] = 1.0;
        Decoder {
            cur: SIL,
            smooth,
            jaw: 0.0,
        }
    }

    /// Decode one frame from viseme posteriors `p` (sum 1) and the jaw estimate `jaw` (0..1).
    pub fn step(&mut self, t: f64, p: &[f32], jaw: f32) -> VisemeFrame {
        let mut best = 0;
        for i in 1..VISEME_COUNT {
            if p[i] > p[best] {
                best = i;
            }
        }
        if best != self.cur {
            let closing = best == PP || best == SIL;
            if closing || p[best] > p[self.cur] + SWITCH_MARGIN {
                self.cur = best;
            }
        }
        for i in 0..VISEME_COUNT {
            self.smooth[i] = WEIGHT_SMOOTH * self.smooth[i] + (1.0 - WEIGHT_SMOOTH) * p[i];
        }
        let mut f = VisemeFrame {
            t,
            weights: [0.0; VISEME_COUNT],
            jaw_open: 0.0,
        };
        if self.cur == PP || self.cur == SIL {
            f.weights[self.cur] = 1.0;
            f.jaw_open = 0.0;
        } else {
            for i in 0..VISEME_COUNT {
                f.weights[i] = 0.5 * self.smooth[i];
            }
            f.weights[self.cur] = (0.5 * self.smooth[self.cur] + 0.51).min(1.0);
            f.jaw_open = jaw.clamp(0.0, 1.0);
        }
        self.jaw = f.jaw_open;
        f
    }
}
