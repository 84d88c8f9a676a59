//! The frame classifier: a small ReLU MLP over stacked, normalised feature frames.
//!
//! Weights are trained by `tools/lipsync-train/train.py` and embedded with `include_bytes!`. File
//! layout (little-endian): magic `FCLIPS02`; u32 feat_dim; u32 n_offsets; i32 offsets[n]; f32 mean[feat_dim];
//! f32 inv_std[feat_dim]; u32 proj; f32 P[proj][feat_dim]; f32 pb[proj] (per-frame ReLU projection, computed
//! once per frame and shared by all offsets); u32 n_layers; per layer u32 n_in, u32 n_out, f32 W[n_out][n_in], f32 b[n_out];
//! u32 n_visemes, u32 n_phones, u32 n_jaw. Output layout: viseme logits, phone logits, jaw logit.

use crate::LipsyncError;
use std::sync::OnceLock;

static MODEL_BYTES: &[u8] = include_bytes!("../model/lipsync.bin");
static MODEL: OnceLock<Result<Model, String>> = OnceLock::new();

/// ARPAbet phone classes of the phone head (index order).
pub const PHONES: [&str; 40] = [
    "SIL", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
    "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH",
    "UH", "UW", "V", "W", "Y", "Z", "ZH",
];

pub(crate) struct Layer {
    pub n_in: usize,
    pub n_out: usize,
    /// `[n_out][n_in]` (row per output).
    pub w: Vec<f32>,
    /// `[n_in][n_out]` (column per input), for the sparse (ReLU-input) hidden layers.
    pub wt: Vec<f32>,
    pub b: Vec<f32>,
}

/// Loaded network.
pub struct Model {
    pub(crate) feat_dim: usize,
    pub(crate) offsets: Vec<i32>,
    pub(crate) mean: Vec<f32>,
    pub(crate) inv_std: Vec<f32>,
    pub(crate) proj: Layer,
    pub(crate) layers: Vec<Layer>,
    pub(crate) n_vis: usize,
    pub(crate) n_ph: usize,
}

struct Rd<'a> {
    b: &'a [u8],
    p: usize,
}
impl Rd<'_> {
    fn u32(&mut self) -> Result<u32, String> {
        let s = self
            .b
            .get(self.p..self.p + 4)
            .ok_or("model file truncated")?;
        self.p += 4;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, String> {
        let s = self
            .b
            .get(self.p..self.p + 4 * n)
            .ok_or("model file truncated")?;
        self.p += 4 * n;
        Ok(s.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

impl Model {
    /// Parse a model file.
    pub fn parse(bytes: &[u8]) -> Result<Model, String> {
        if bytes.len() < 8 || &bytes[..8] != b"FCLIPS02" {
            return Err("bad model magic".into());
        }
        let mut r = Rd { b: bytes, p: 8 };
        let feat_dim = r.u32()? as usize;
        let n_off = r.u32()? as usize;
        let mut offsets = Vec::with_capacity(n_off);
        for _ in 0..n_off {
            offsets.push(r.u32()? as i32);
        }
        let mean = r.f32s(feat_dim)?;
        let inv_std = r.f32s(feat_dim)?;
        let q = r.u32()? as usize;
        let proj = Layer {
            wt: Vec::new(),
            n_in: feat_dim,
            n_out: q,
            w: r.f32s(q * feat_dim)?,
            b: r.f32s(q)?,
        };
        let nl = r.u32()? as usize;
        let mut layers = Vec::with_capacity(nl);
        let mut prev = q * n_off;
        for _ in 0..nl {
            let n_in = r.u32()? as usize;
            let n_out = r.u32()? as usize;
            if n_in != prev {
                return Err(format!("layer input {n_in} != previous output {prev}"));
            }
            let w = r.f32s(n_in * n_out)?;
            let b = r.f32s(n_out)?;
            let mut wt = vec![0.0; n_in * n_out];
            for o in 0..n_out {
                for i in 0..n_in {
                    wt[i * n_out + o] = w[o * n_in + i];
                }
            }
            layers.push(Layer {
                n_in,
                n_out,
                w,
                wt,
                b,
            });
            prev = n_out;
        }
        let n_vis = r.u32()? as usize;
        let n_ph = r.u32()? as usize;
        let n_jaw = r.u32()? as usize;
        if n_vis != facecast_core::VISEME_COUNT
            || n_ph != PHONES.len()
            || n_vis + n_ph + n_jaw != prev
        {
            return Err(format!(
                "model heads {n_vis}+{n_ph}+{n_jaw} do not match output {prev}"
            ));
        }
        Ok(Model {
            feat_dim,
            offsets,
            mean,
            inv_std,
            proj,
            layers,
            n_vis,
            n_ph,
        })
    }

    /// The embedded model (parsed once).
    pub fn builtin() -> Result<&'static Model, LipsyncError> {
        MODEL
            .get_or_init(|| Model::parse(MODEL_BYTES))
            .as_ref()
            .map_err(|e| LipsyncError::Model(e.clone()))
    }

    /// Past context frames.
    pub fn past(&self) -> usize {
        (-self.offsets.iter().copied().min().unwrap_or(0)).max(0) as usize
    }
    /// Future frames (look-ahead in frames).
    pub fn future(&self) -> usize {
        self.offsets.iter().copied().max().unwrap_or(0).max(0) as usize
    }
    /// Output size.
    pub fn n_out(&self) -> usize {
        self.layers.last().map(|l| l.n_out).unwrap_or(0)
    }
    /// Stacked input size (offsets x projection width).
    pub fn n_in(&self) -> usize {
        self.proj.n_out * self.offsets.len()
    }
    /// Per-frame projection width.
    pub fn proj_dim(&self) -> usize {
        self.proj.n_out
    }

    /// Normalise one feature frame and project it (ReLU) into `out` (length `proj_dim()`).
    pub fn project(&self, feat: &[f32], norm: &mut [f32], out: &mut [f32]) {
        for k in 0..self.feat_dim {
            norm[k] = (feat[k] - self.mean[k]) * self.inv_std[k];
        }
        let l = &self.proj;
        for (o, v) in out.iter_mut().enumerate().take(l.n_out) {
            let s = l.b[o] + dot(&l.w[o * l.n_in..(o + 1) * l.n_in], &norm[..l.n_in]);
            *v = s.max(0.0);
        }
    }
    /// Largest layer width.
    pub fn max_width(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.n_out.max(l.n_in))
            .max()
            .unwrap_or(0)
    }

    /// Forward pass. `x` is the stacked normalised input; `a`/`b` are scratch of `max_width()`;
    /// the raw output (logits) is left in `out` (length `n_out()`).
    pub fn forward(&self, x: &[f32], a: &mut [f32], b: &mut [f32], out: &mut [f32], phones: bool) {
        let nl = self.layers.len();
        for (li, l) in self.layers.iter().enumerate() {
            let (src, dst): (&[f32], &mut [f32]) = match li {
                0 => (x, if nl == 1 { &mut *out } else { &mut *a }),
                _ if li % 2 == 1 => (&*a, if li == nl - 1 { &mut *out } else { &mut *b }),
                _ => (&*b, if li == nl - 1 { &mut *out } else { &mut *a }),
            };
            let relu = li + 1 < nl;
            if relu {
                // hidden layer: the input is a ReLU output (about half zeros), so accumulate columns
                // of the non-zero inputs (vectorises over the outputs)
                let d = &mut dst[..l.n_out];
                d.copy_from_slice(&l.b);
                for (i, &xi) in src[..l.n_in].iter().enumerate() {
                    if xi != 0.0 {
                        let col = &l.wt[i * l.n_out..(i + 1) * l.n_out];
                        for (dv, &wv) in d.iter_mut().zip(col) {
                            *dv += xi * wv;
                        }
                    }
                }
                for dv in d.iter_mut() {
                    if *dv < 0.0 {
                        *dv = 0.0;
                    }
                }
                continue;
            }
            for (o, d) in dst.iter_mut().enumerate().take(l.n_out) {
                if !relu && !phones && o >= self.n_vis && o < self.n_vis + self.n_ph {
                    continue;
                }
                let row = &l.w[o * l.n_in..(o + 1) * l.n_in];
                let mut s = l.b[o] + dot(row, &src[..l.n_in]);
                if relu && s < 0.0 {
                    s = 0.0;
                }
                *d = s;
            }
        }
    }
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// In-place softmax.
pub(crate) fn softmax(z: &mut [f32]) {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    let inv = 1.0 / s.max(1e-30);
    for v in z.iter_mut() {
        *v *= inv;
    }
}
