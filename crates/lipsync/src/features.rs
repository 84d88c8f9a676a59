//! The model's input features, computed identically at training time (`examples/featdump.rs`) and
//! at inference time.
//!
//! Input: 16 kHz mono. Frame `i` is centred on sample `160 i + 80` (time `(i + 0.5) / 100` s) and uses a
//! 25 ms (400-sample) Hann window around that centre, zero-padded to a 512-point FFT. Per frame
//! ([`FEAT_DIM`] values):
//! * `N_MELS` log-mel energies (60..7800 Hz) minus the running speech level (gain invariant),
//! * log frame energy (absolute, for digital silence), log energy minus the running level,
//! * zero-crossing rate.
//!
//! The running level is a causal peak tracker on the log energy that decays 0.01 nat per frame.

use facecast_audio::features::{zcr, MelBank, Spectrum};

/// Analysis sample rate.
pub const RATE: u32 = 16_000;
/// Hop (samples) = 10 ms.
pub const HOP: usize = 160;
/// Window (samples) = 25 ms.
pub const WIN: usize = 400;
/// FFT size.
pub const NFFT: usize = 512;
/// Mel bands.
pub const N_MELS: usize = 32;
/// Feature values per frame.
pub const FEAT_DIM: usize = N_MELS + 3;
/// Samples after a frame's centre needed to compute it.
pub const WIN_AFTER_CENTRE: usize = WIN / 2;

const LEVEL_DECAY: f32 = 0.01;
const LEVEL_INIT: f32 = -9.0;
const POWER_FLOOR: f32 = 1e-10;

/// Streaming feature extractor over 16 kHz mono input.
pub struct FeatureExtractor {
    spec: Spectrum,
    mel: MelBank,
    power: Vec<f32>,
    logmel: Vec<f32>,
    frame: Vec<f32>,
    buf: Vec<f32>,
    base: usize,  // absolute sample index of buf[0]
    total: usize, // samples pushed
    next: usize,  // next frame index
    level: f32,
    flushed: bool,
}

impl Default for FeatureExtractor {
    fn default() -> Self {
        Self::new()
    }
}

impl FeatureExtractor {
    /// A fresh extractor.
    pub fn new() -> FeatureExtractor {
        Self::with_warp(1.0)
    }

    /// An extractor whose mel filterbank reads the spectrum warped by `warp` (training augmentation
    /// only; inference always uses 1.0).
    pub fn with_warp(warp: f32) -> FeatureExtractor {
        let spec = Spectrum::new(WIN, NFFT);
        let bins = spec.bins();
        let mut buf = Vec::with_capacity(16384);
        // signal is zero before the start: WIN/2 - HOP/2 samples of padding before sample 0
        buf.resize(WIN / 2 - HOP / 2, 0.0);
        FeatureExtractor {
            spec,
            mel: MelBank::new_warped(N_MELS, NFFT, RATE, 60.0, 7800.0, warp),
            power: vec![0.0; bins],
            logmel: vec![0.0; N_MELS],
            frame: vec![0.0; WIN],
            buf,
            base: 0,
            total: 0,
            next: 0,
            level: LEVEL_INIT,
            flushed: false,
        }
    }

    /// Forget all state.
    pub fn reset(&mut self) {
        *self = FeatureExtractor {
            spec: Spectrum::new(WIN, NFFT),
            ..FeatureExtractor::new()
        };
    }

    /// Index of the next frame to be produced.
    pub fn next_frame(&self) -> usize {
        self.next
    }

    /// Append 16 kHz samples.
    pub fn push(&mut self, x: &[f32]) {
        self.buf.extend_from_slice(x);
        self.total += x.len();
    }

    /// Number of frames a stream of `n` samples has (`floor(n / 160)`).
    pub fn frames_for(n: usize) -> usize {
        n / HOP
    }

    /// Mark the end of input: trailing frames are computed with zeros after the end.
    pub fn flush(&mut self) {
        if !self.flushed {
            self.buf.resize(self.buf.len() + WIN, 0.0);
            self.flushed = true;
        }
    }

    /// Compute the next frame's features into `out` (length [`FEAT_DIM`]) if enough input is present.
    pub fn next_into(&mut self, out: &mut [f32]) -> bool {
        let i = self.next;
        if self.flushed {
            if i >= Self::frames_for(self.total) {
                return false;
            }
        } else if HOP * i + HOP / 2 + WIN_AFTER_CENTRE > self.total {
            return false;
        }
        // buffer index of window start: absolute (HOP*i + HOP/2 - WIN/2) + pad (WIN/2 - HOP/2)
        let start = HOP * i - self.base;
        self.frame.copy_from_slice(&self.buf[start..start + WIN]);
        self.spec.power(&self.frame, &mut self.power);
        self.mel.apply(&self.power, &mut self.logmel);
        let e = self.frame.iter().map(|v| v * v).sum::<f32>() / WIN as f32;
        let loge = (e + POWER_FLOOR).ln();
        self.level = (self.level - LEVEL_DECAY).max(loge);
        // mel energies scaled like the frame energy so that digital silence maps to the same floor
        let scale = 1.0 / (WIN as f32 * 0.375 * NFFT as f32 * 0.5);
        for (o, m) in out.iter_mut().zip(self.logmel.iter()) {
            *o = (m * scale + POWER_FLOOR).ln() - self.level;
        }
        out[N_MELS] = loge;
        out[N_MELS + 1] = loge - self.level;
        out[N_MELS + 2] = zcr(&self.frame[WIN / 2 - HOP / 2 - 40..WIN / 2 + HOP / 2 + 40]);
        self.next += 1;
        // drop consumed samples now and then
        let keep_from = HOP * self.next;
        if keep_from - self.base > 8192 {
            let d = keep_from - self.base;
            self.buf.drain(..d);
            self.base += d;
        }
        true
    }
}

/// All feature frames of a whole 16 kHz signal (row-major, `frames * FEAT_DIM`).
pub fn features_16k(x: &[f32]) -> Vec<f32> {
    features_16k_warped(x, 1.0)
}

/// [`features_16k`] with a warped filterbank (see [`FeatureExtractor::with_warp`]).
pub fn features_16k_warped(x: &[f32], warp: f32) -> Vec<f32> {
    let mut fe = FeatureExtractor::with_warp(warp);
    fe.push(x);
    fe.flush();
    let mut out = Vec::with_capacity(FeatureExtractor::frames_for(x.len()) * FEAT_DIM);
    let mut f = [0f32; FEAT_DIM];
    while fe.next_into(&mut f) {
        out.extend_from_slice(&f);
    }
    out
}
