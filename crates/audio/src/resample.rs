//! Streaming windowed-sinc polyphase resampler, any integer rate to any integer rate.
//!
//! Output sample `k` is the band-limited value of the input at time `k / out_rate` (zero phase), so the
//! result does not depend on how the input is split into chunks. Rates are reduced by their GCD; when the
//! number of phases (`out / gcd`) is at most [`MAX_PHASES`] every phase is exact, otherwise the phase is
//! quantised to `MAX_PHASES` steps. The filter is a Kaiser-windowed sinc with 8 zero crossings on each
//! side at the lower of the two Nyquist frequencies (times 0.92).

use crate::AudioError;

/// Largest exact polyphase table.
pub const MAX_PHASES: usize = 1024;
const ZERO_CROSSINGS: f64 = 8.0;
const ROLLOFF: f64 = 0.92;
const KAISER_BETA: f64 = 8.0;

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..50 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < 1e-12 * sum {
            break;
        }
    }
    sum
}

/// Streaming mono resampler. Push input with [`Resampler::process`], end with [`Resampler::flush`].
#[derive(Clone, Debug)]
pub struct Resampler {
    in_rate: u32,
    out_rate: u32,
    up: u64,
    down: u64,
    half: usize,
    nphases: usize,
    table: Vec<f32>, // (nphases + 1) rows of 2*half taps
    buf: Vec<f32>,
    base: i64, // absolute input index of buf[0]
    n_in: u64,
    k_out: u64,
    flushed: bool,
}

impl Resampler {
    /// A resampler from `in_rate` to `out_rate` Hz.
    pub fn new(in_rate: u32, out_rate: u32) -> Result<Resampler, AudioError> {
        if in_rate == 0 || out_rate == 0 || in_rate > 1_536_000 || out_rate > 1_536_000 {
            return Err(AudioError::BadParams {
                rate: if in_rate == 0 { in_rate } else { out_rate },
                channels: 1,
            });
        }
        let g = gcd(in_rate as u64, out_rate as u64);
        let (up, down) = (out_rate as u64 / g, in_rate as u64 / g);
        let cutoff = (up as f64 / down as f64).min(1.0) * ROLLOFF;
        let half = if up == down {
            0
        } else {
            (ZERO_CROSSINGS / cutoff).ceil() as usize
        };
        let nphases = (up as usize).min(MAX_PHASES);
        let taps = 2 * half;
        let mut table = vec![0f32; (nphases + 1) * taps];
        let i0b = bessel_i0(KAISER_BETA);
        for p in 0..=nphases {
            let frac = p as f64 / nphases as f64;
            let row = &mut table[p * taps..(p + 1) * taps];
            let mut sum = 0.0;
            for (j, v) in row.iter_mut().enumerate() {
                // input offset relative to idx: j - half + 1
                let x = (j as f64 - half as f64 + 1.0) - frac;
                let arg = cutoff * x;
                let sinc = if arg.abs() < 1e-12 {
                    1.0
                } else {
                    (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
                };
                let r = x / half as f64;
                let w = if r.abs() >= 1.0 {
                    0.0
                } else {
                    bessel_i0(KAISER_BETA * (1.0 - r * r).sqrt()) / i0b
                };
                let h = cutoff * sinc * w;
                *v = h as f32;
                sum += h;
            }
            // unity DC gain per phase
            if sum.abs() > 1e-9 {
                for v in row.iter_mut() {
                    *v = (*v as f64 / sum) as f32;
                }
            }
        }
        let mut r = Resampler {
            in_rate,
            out_rate,
            up,
            down,
            half,
            nphases,
            table,
            buf: Vec::with_capacity(8192),
            base: 0,
            n_in: 0,
            k_out: 0,
            flushed: false,
        };
        r.reset();
        Ok(r)
    }

    /// Input rate.
    pub fn in_rate(&self) -> u32 {
        self.in_rate
    }
    /// Output rate.
    pub fn out_rate(&self) -> u32 {
        self.out_rate
    }
    /// Input samples the filter needs after the current one (the resampler's look-ahead).
    pub fn lookahead_in_samples(&self) -> usize {
        self.half
    }

    /// Forget all state.
    pub fn reset(&mut self) {
        self.buf.clear();
        // the signal is zero before the first input sample
        self.buf.resize(self.half, 0.0);
        self.base = -(self.half as i64);
        self.n_in = 0;
        self.k_out = 0;
        self.flushed = false;
    }

    /// Push input samples; append every output sample that is now computable to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if self.flushed {
            self.reset();
        }
        if self.up == self.down {
            out.extend_from_slice(input);
            self.n_in += input.len() as u64;
            self.k_out = self.n_in;
            return;
        }
        self.buf.extend_from_slice(input);
        self.n_in += input.len() as u64;
        self.emit(self.n_in as i64, out);
        self.compact();
    }

    /// End of stream: emit the remaining outputs (the signal is taken as zero after the end).
    pub fn flush(&mut self, out: &mut Vec<f32>) {
        if self.up != self.down && !self.flushed {
            let avail = self.n_in as i64;
            self.buf.resize(self.buf.len() + self.half + 1, 0.0);
            self.emit_limit(avail, out);
        }
        self.flushed = true;
    }

    fn pos(&self, k: u64) -> (i64, u64) {
        let num = k * self.down;
        ((num / self.up) as i64, num % self.up)
    }

    fn emit(&mut self, avail: i64, out: &mut Vec<f32>) {
        let half = self.half as i64;
        loop {
            let (idx, rem) = self.pos(self.k_out);
            if idx + half >= avail {
                break;
            }
            self.one(idx, rem, out);
            self.k_out += 1;
        }
    }

    /// After flush: outputs whose time is before the end of input.
    fn emit_limit(&mut self, n_in: i64, out: &mut Vec<f32>) {
        loop {
            let (idx, rem) = self.pos(self.k_out);
            if idx >= n_in {
                break;
            }
            self.one(idx, rem, out);
            self.k_out += 1;
        }
    }

    #[inline]
    fn one(&self, idx: i64, rem: u64, out: &mut Vec<f32>) {
        let taps = 2 * self.half;
        let p = if self.nphases as u64 == self.up {
            rem as usize
        } else {
            ((rem as u128 * self.nphases as u128 + self.up as u128 / 2) / self.up as u128) as usize
        };
        let row = &self.table[p * taps..(p + 1) * taps];
        let start = (idx - self.half as i64 + 1 - self.base) as usize;
        let x = &self.buf[start..start + taps];
        let mut acc = [0f32; 4];
        let mut xc = x.chunks_exact(4);
        let mut rc = row.chunks_exact(4);
        for (a, b) in (&mut xc).zip(&mut rc) {
            acc[0] += a[0] * b[0];
            acc[1] += a[1] * b[1];
            acc[2] += a[2] * b[2];
            acc[3] += a[3] * b[3];
        }
        let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (a, b) in xc.remainder().iter().zip(rc.remainder()) {
            s += a * b;
        }
        out.push(s);
    }

    fn compact(&mut self) {
        let (idx, _) = self.pos(self.k_out);
        let keep_from = idx - self.half as i64 + 1;
        let drop = (keep_from - self.base).max(0) as usize;
        if drop > 4096 && drop <= self.buf.len() {
            self.buf.drain(..drop);
            self.base += drop as i64;
        }
    }
}

/// Resample a whole mono signal (convenience wrapper around [`Resampler`]).
pub fn resample(input: &[f32], in_rate: u32, out_rate: u32) -> Result<Vec<f32>, AudioError> {
    let mut r = Resampler::new(in_rate, out_rate)?;
    let mut out =
        Vec::with_capacity((input.len() as u64 * out_rate as u64 / in_rate as u64) as usize + 2);
    r.process(input, &mut out);
    r.flush(&mut out);
    Ok(out)
}
