//! Frame-level features: RMS, zero-crossing rate, power spectrum (realfft), log-mel and MFCC.
//!
//! [`Spectrum`] owns its FFT plan and buffers; computing a frame allocates nothing.

use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Root mean square of a frame.
pub fn rms(frame: &[f32]) -> f32 {
    if frame.is_empty() {
        return 0.0;
    }
    (frame.iter().map(|x| x * x).sum::<f32>() / frame.len() as f32).sqrt()
}

/// Zero-crossing rate: fraction of adjacent sample pairs that change sign (0..1).
pub fn zcr(frame: &[f32]) -> f32 {
    if frame.len() < 2 {
        return 0.0;
    }
    let n = frame
        .windows(2)
        .filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0))
        .count();
    n as f32 / (frame.len() - 1) as f32
}

/// Periodic Hann window of length `n`.
pub fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// Windowed power spectrum of fixed-size frames.
pub struct Spectrum {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    output: Vec<realfft::num_complex::Complex<f32>>,
    scratch: Vec<realfft::num_complex::Complex<f32>>,
    nfft: usize,
}

impl Spectrum {
    /// `win_len` samples windowed with Hann, zero-padded to `nfft` (>= win_len).
    pub fn new(win_len: usize, nfft: usize) -> Spectrum {
        let nfft = nfft.max(win_len).max(2);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(nfft);
        let input = fft.make_input_vec();
        let output = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        Spectrum {
            fft,
            window: hann(win_len),
            input,
            output,
            scratch,
            nfft,
        }
    }

    /// FFT size.
    pub fn nfft(&self) -> usize {
        self.nfft
    }
    /// Number of bins (`nfft / 2 + 1`).
    pub fn bins(&self) -> usize {
        self.nfft / 2 + 1
    }

    /// Power spectrum `|X(k)|^2` of `frame` (length = window length) into `power` (length `bins()`).
    pub fn power(&mut self, frame: &[f32], power: &mut [f32]) {
        let w = self.window.len();
        for (i, v) in self.input.iter_mut().enumerate() {
            *v = if i < w && i < frame.len() {
                frame[i] * self.window[i]
            } else {
                0.0
            };
        }
        // lengths match by construction, so this cannot fail
        let _ = self
            .fft
            .process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch);
        for (p, c) in power.iter_mut().zip(self.output.iter()) {
            *p = c.re * c.re + c.im * c.im;
        }
    }
}

fn hz_to_mel(f: f64) -> f64 {
    2595.0 * (1.0 + f / 700.0).log10()
}
fn mel_to_hz(m: f64) -> f64 {
    700.0 * (10f64.powf(m / 2595.0) - 1.0)
}

/// Triangular mel filterbank (HTK mel scale), stored sparsely.
pub struct MelBank {
    filters: Vec<(usize, Vec<f32>)>,
}

impl MelBank {
    /// `n_mels` filters from `fmin` to `fmax` Hz over an `nfft`-point spectrum at `rate` Hz.
    pub fn new(n_mels: usize, nfft: usize, rate: u32, fmin: f32, fmax: f32) -> MelBank {
        Self::new_warped(n_mels, nfft, rate, fmin, fmax, 1.0)
    }

    /// Like [`MelBank::new`], with the frequency axis warped: bin `k` is read as frequency
    /// `k * rate / nfft * warp` (vocal-tract-length perturbation for training-data augmentation).
    pub fn new_warped(
        n_mels: usize,
        nfft: usize,
        rate: u32,
        fmin: f32,
        fmax: f32,
        warp: f32,
    ) -> MelBank {
        let bins = nfft / 2 + 1;
        let (m0, m1) = (hz_to_mel(fmin as f64), hz_to_mel(fmax as f64));
        let pts: Vec<f64> = (0..n_mels + 2)
            .map(|i| mel_to_hz(m0 + (m1 - m0) * i as f64 / (n_mels + 1) as f64))
            .collect();
        let bin_hz = rate as f64 / nfft as f64;
        let mut filters = Vec::with_capacity(n_mels);
        for m in 0..n_mels {
            let (l, c, r) = (pts[m], pts[m + 1], pts[m + 2]);
            let mut first = None;
            let mut w = Vec::new();
            for k in 0..bins {
                let f = k as f64 * bin_hz * warp as f64;
                let v = if f > l && f < c {
                    (f - l) / (c - l)
                } else if f >= c && f < r {
                    (r - f) / (r - c)
                } else {
                    0.0
                };
                if v > 0.0 {
                    if first.is_none() {
                        first = Some(k);
                    }
                    w.push(v as f32);
                } else if first.is_some() {
                    break;
                }
            }
            if w.is_empty() {
                // narrower than a bin: take the nearest bin
                let k = ((c / (bin_hz * warp as f64)).round() as usize).min(bins - 1);
                filters.push((k, vec![1.0]));
            } else {
                filters.push((first.unwrap_or(0), w));
            }
        }
        MelBank { filters }
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.filters.len()
    }
    /// True when there are no filters.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// Filter energies of a power spectrum.
    pub fn apply(&self, power: &[f32], out: &mut [f32]) {
        for ((k0, w), o) in self.filters.iter().zip(out.iter_mut()) {
            *o = w.iter().zip(&power[*k0..]).map(|(a, b)| a * b).sum();
        }
    }

    /// Natural-log filter energies with a floor of `floor`.
    pub fn apply_log(&self, power: &[f32], floor: f32, out: &mut [f32]) {
        self.apply(power, out);
        for o in out.iter_mut() {
            *o = o.max(floor).ln();
        }
    }
}

/// DCT-II of log-mel energies (orthonormal), the first `out.len()` coefficients (MFCC).
pub fn mfcc(log_mel: &[f32], out: &mut [f32]) {
    let n = log_mel.len();
    if n == 0 {
        return;
    }
    for (k, o) in out.iter_mut().enumerate() {
        let mut s = 0.0f32;
        for (i, &v) in log_mel.iter().enumerate() {
            s += v * (std::f32::consts::PI * k as f32 * (i as f32 + 0.5) / n as f32).cos();
        }
        let scale = if k == 0 {
            (1.0 / n as f32).sqrt()
        } else {
            (2.0 / n as f32).sqrt()
        };
        *o = s * scale;
    }
}
