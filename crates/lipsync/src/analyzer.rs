//! The streaming analyzer: any-rate audio in, 100 Hz viseme frames out.

use crate::decode::{Decoder, DecoderConfig};
use crate::features::{FeatureExtractor, FEAT_DIM, RATE, WIN_AFTER_CENTRE};
use crate::model::{softmax, Model};
use facecast_audio::Resampler;
use facecast_core::{AudioChunk, VisemeFrame, VISEME_COUNT};
use std::collections::VecDeque;

/// Output frame rate.
pub const FPS: f64 = 100.0;

/// Per-frame model outputs (kept for text alignment).
#[derive(Clone, Debug)]
pub struct FrameOutput {
    /// Viseme posteriors.
    pub visemes: [f32; VISEME_COUNT],
    /// Phone posteriors, [`crate::model::PHONES`] order.
    pub phones: [f32; 40],
    /// Jaw estimate 0..1.
    pub jaw: f32,
}

/// Streaming, sans-IO lip-sync analyzer. Push audio of any rate and chunk size; pull 100 Hz frames.
///
/// Frame `i` has `t = (i + 0.5) / 100` s (centre of its 10 ms slot in the input audio). A frame is
/// available once the input reaches `t + lookahead_ms()`. Results do not depend on chunking.
pub struct Analyzer {
    model: Option<&'static Model>,
    rate: u32,
    resampler: Option<Resampler>,
    mono: Vec<f32>,
    r16: Vec<f32>,
    fe: FeatureExtractor,
    feat: [f32; FEAT_DIM],
    feat_norm: [f32; FEAT_DIM],
    pbuf: Vec<f32>,
    norm: Vec<f32>, // projected frames, row-major; norm[0] is frame `norm_base`
    norm_base: usize,
    n_frames: usize,
    flushed: bool,
    next_out: usize,
    stacked: Vec<f32>,
    sa: Vec<f32>,
    sb: Vec<f32>,
    logits: Vec<f32>,
    decoder: Decoder,
    out: VecDeque<VisemeFrame>,
    keep_outputs: bool,
    outputs: Vec<FrameOutput>,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::new()
    }
}

impl Analyzer {
    /// A new analyzer (100 Hz output). If the embedded model failed to load, every frame is silent.
    pub fn new() -> Analyzer {
        Analyzer::with_config(DecoderConfig::default())
    }

    /// A new analyzer with explicit decoder settings.
    pub fn with_config(cfg: DecoderConfig) -> Analyzer {
        let model = Model::builtin().ok();
        let (n_in, w, n_out) = model
            .map(|m| (m.n_in(), m.max_width(), m.n_out()))
            .unwrap_or((0, 0, 0));
        Analyzer {
            model,
            rate: 0,
            resampler: None,
            mono: Vec::with_capacity(4096),
            r16: Vec::with_capacity(4096),
            fe: FeatureExtractor::new(),
            feat: [0.0; FEAT_DIM],
            feat_norm: [0.0; FEAT_DIM],
            pbuf: vec![0.0; model.map(|m| m.proj_dim()).unwrap_or(0)],
            norm: Vec::with_capacity(64 * 512),
            norm_base: 0,
            n_frames: 0,
            flushed: false,
            next_out: 0,
            stacked: vec![0.0; n_in],
            sa: vec![0.0; w],
            sb: vec![0.0; w],
            logits: vec![0.0; n_out],
            decoder: Decoder::with_config(cfg),
            out: VecDeque::with_capacity(64),
            keep_outputs: false,
            outputs: Vec::new(),
        }
    }

    /// Fixed look-ahead in ms: half the 25 ms window (12.5 ms) + 2 future frames of model context (20 ms)
    /// + the resampler filter (at most 2.5 ms for input rates >= 8 kHz; 0 at 16 kHz).
    pub fn lookahead_ms() -> f64 {
        let model_future = Model::builtin().map(|m| m.future()).unwrap_or(2) as f64 * 10.0;
        WIN_AFTER_CENTRE as f64 * 1000.0 / RATE as f64 + model_future + 2.5
    }

    pub(crate) fn keep_outputs(&mut self) {
        self.keep_outputs = true;
    }
    pub(crate) fn take_outputs(&mut self) -> Vec<FrameOutput> {
        std::mem::take(&mut self.outputs)
    }

    /// Push audio (any rate, any channel count, any size).
    pub fn push(&mut self, chunk: &AudioChunk) {
        if chunk.rate == 0 || chunk.samples.is_empty() {
            return;
        }
        if self.flushed {
            self.reset();
        }
        if chunk.rate != self.rate {
            // a rate change: finish the old resampler's output first
            if let Some(r) = self.resampler.as_mut() {
                self.r16.clear();
                r.flush(&mut self.r16);
                self.fe.push(&self.r16);
            }
            self.rate = chunk.rate;
            self.resampler = Resampler::new(chunk.rate, RATE).ok();
        }
        self.mono.clear();
        facecast_audio::mix_into(chunk, &mut self.mono);
        self.r16.clear();
        if let Some(r) = self.resampler.as_mut() {
            r.process(&self.mono, &mut self.r16);
        }
        self.fe.push(&self.r16);
        self.run();
    }

    /// End of stream: emit the remaining frames.
    pub fn flush(&mut self) {
        if self.flushed {
            return;
        }
        if let Some(r) = self.resampler.as_mut() {
            self.r16.clear();
            r.flush(&mut self.r16);
            self.fe.push(&self.r16);
        }
        self.fe.flush();
        self.flushed = true;
        self.run();
    }

    /// Next frame, in order.
    pub fn pull(&mut self) -> Option<VisemeFrame> {
        self.out.pop_front()
    }

    /// Forget everything (the next push starts at t = 0 again).
    pub fn reset(&mut self) {
        let keep = self.keep_outputs;
        let out = std::mem::take(&mut self.out);
        *self = Analyzer {
            out,
            ..Analyzer::new()
        };
        self.out.clear();
        self.keep_outputs = keep;
    }

    fn run(&mut self) {
        let Some(model) = self.model else {
            // no model: silence frames as the features arrive
            while self.fe.next_into(&mut self.feat) {
                self.out
                    .push_back(VisemeFrame::silent((self.n_frames as f64 + 0.5) / FPS));
                self.n_frames += 1;
            }
            return;
        };
        let q = model.proj_dim();
        while self.fe.next_into(&mut self.feat) {
            model.project(&self.feat, &mut self.feat_norm, &mut self.pbuf);
            self.norm.extend_from_slice(&self.pbuf);
            self.n_frames += 1;
        }
        let fut = model.future();
        while self.n_frames > 0
            && (self.next_out + fut < self.n_frames
                || self.flushed && self.next_out < self.n_frames)
        {
            let j = self.next_out as i64;
            let last = self.n_frames as i64 - 1;
            for (s, &o) in model.offsets.iter().enumerate() {
                let k = (j + o as i64).clamp(0, last) as usize - self.norm_base;
                self.stacked[s * q..(s + 1) * q].copy_from_slice(&self.norm[k * q..(k + 1) * q]);
            }
            model.forward(
                &self.stacked,
                &mut self.sa,
                &mut self.sb,
                &mut self.logits,
                self.keep_outputs,
            );
            let nv = model.n_vis;
            let (vis, rest) = self.logits.split_at_mut(nv);
            let (ph, jaw) = rest.split_at_mut(model.n_ph);
            softmax(vis);
            let jaw = 1.0 / (1.0 + (-jaw[0]).exp());
            let t = (self.next_out as f64 + 0.5) / FPS;
            let f = self.decoder.step(t, vis, jaw);
            if self.keep_outputs {
                softmax(ph);
                let mut o = FrameOutput {
                    visemes: [0.0; VISEME_COUNT],
                    phones: [0.0; 40],
                    jaw,
                };
                o.visemes.copy_from_slice(vis);
                o.phones.copy_from_slice(ph);
                self.outputs.push(o);
            }
            self.out.push_back(f);
            self.next_out += 1;
        }
        // drop frames no longer needed as past context (keep at least the first frame's replica logic:
        // frames before 0 are clamped to 0, so frame 0 must stay until next_out > past)
        let past = model.past();
        if self.next_out > past + 256 {
            let keep_from = self.next_out - past;
            if keep_from > self.norm_base + 256 {
                let d = keep_from - self.norm_base;
                self.norm.drain(..d * q);
                self.norm_base += d;
            }
        }
    }
}

/// Analyze a whole chunk; identical to pushing it into an [`Analyzer`] in any chunking and flushing.
pub fn analyze(audio: &AudioChunk) -> Vec<VisemeFrame> {
    let mut a = Analyzer::new();
    a.push(audio);
    a.flush();
    let mut v = Vec::with_capacity(a.out.len());
    while let Some(f) = a.pull() {
        v.push(f);
    }
    v
}

/// Like [`analyze`], also returning the per-frame model outputs (for text alignment).
pub fn analyze_detailed(audio: &AudioChunk) -> (Vec<VisemeFrame>, Vec<FrameOutput>) {
    let mut a = Analyzer::new();
    a.keep_outputs();
    a.push(audio);
    a.flush();
    let mut v = Vec::with_capacity(a.out.len());
    while let Some(f) = a.pull() {
        v.push(f);
    }
    let o = a.take_outputs();
    (v, o)
}
