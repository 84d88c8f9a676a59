//! facecast-anim: visemes + emotion + blinks + gaze + head motion → [`FaceWeights`] and
//! [`HeadPose`] at any media time.
//!
//! The [`Animator`] is fed viseme frames (100 Hz, on the session's media clock, in seconds) as they
//! arrive and is sampled at non-decreasing media times (one sample per video frame). Everything
//! random (blink intervals, saccades, idle sway, nods) comes from a small seeded PRNG, so the same
//! seed and the same inputs give the same animation, frame for frame.
//!
//! # Speech
//! Viseme frames are interpolated and smoothed with a short one-sided kernel over the last 30 ms
//! (a Gaussian, σ 10 ms, centred 10 ms ahead of the sample time and cut at it: its mean lags the
//! sample time by ~3.5 ms, its spread is ~5 ms). The animator never reads past the sample time ([`LOOKAHEAD_SECS`] = 0): a streaming
//! caller needs no extra delay for it, which keeps the session's audio playout delay at the
//! analyzer's look-ahead plus one frame step. Anticipatory coarticulation (the lips moving toward
//! the next sound before it is heard) comes from the analyzer, whose frames already see 35 ms of
//! future audio. Closures dominate: the PP weight is peak-held over the last 30 ms and,
//! when strong, overrides every opening shape (jaw, lip raise/lower, funnel, tongue) of speech and
//! emotion alike, so /m b p/ always shut the lips; FF similarly limits the jaw. Per viseme, speech
//! goes to the avatar's own viseme channel when the rig has one ([`FaceRig::has_viseme`]) and
//! otherwise through the ARKit recipe of [`visemes::RECIPES`], never both. ARKit `jawOpen` mixes the
//! recipe with the frames' continuous `jaw_open`; when the rig has its own open-jaw viseme (`aa`)
//! the jaw is left to the viseme channels (their morphs already move the jaw).
//!
//! # Emotion
//! Each emotion is an ARKit preset ([`emotions::PRESETS`]) scaled by intensity, eased over 400 ms
//! (smootherstep) from whatever the face showed when the change was requested. While speaking,
//! emotion shapes that open the mouth are mostly handed over to speech; while the lips close, they
//! are removed and the other mouth shapes (smile, frown…) attenuated.
//!
//! # Eyes and head
//! Blinks at log-normal intervals (mean ≈ 3.3 s, ≥ 1.5 s), 160 ms (50 ms close, 95 ms open), more
//! likely at phrase starts and big saccades, sometimes doubled. Saccades every 0.5–3 s, mostly near
//! the camera with occasional glances away; looking down lowers the lids. Gaze is output both as
//! [`HeadPose::eyes`] and as `eyeLook*` shapes (the rig decides which it uses). The head sways
//! slowly and breathes when idle, nods at phrase starts and stresses when speaking; `head_motion`
//! scales all of it (0 = the head never moves).

// Index loops over parallel fixed-size arrays read clearer than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use std::collections::VecDeque;

use facecast_core::model::FaceRig;
use facecast_core::{
    ArkitShape as A, Emotion, FaceWeights, HeadPose, Viseme, VisemeFrame, ARKIT_COUNT,
    EMOTION_COUNT, VISEME_COUNT,
};

pub mod emotions;
mod rng;
pub mod visemes;

use rng::Rng;

/// Animation settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AnimConfig {
    /// Seed of all random behaviour (blinks, saccades, sway, nods).
    pub seed: u64,
    /// Head motion scale: 0 = fixed head, 1 = default.
    pub head_motion: f32,
    /// Initial emotion.
    pub emotion: Emotion,
    /// Initial emotion intensity 0..1.
    pub emotion_intensity: f32,
}

impl Default for AnimConfig {
    fn default() -> Self {
        AnimConfig {
            seed: 0,
            head_motion: 1.0,
            emotion: Emotion::Neutral,
            emotion_intensity: 1.0,
        }
    }
}

// --- speech smoothing constants -------------------------------------------------------------

/// Kernel grid step, s.
const STEP: f64 = 0.005;
/// Kernel grid: offsets K_LO*STEP ..= K_HI*STEP around the sample time. `K_HI` is 0: the kernel
/// never reads ahead of the sample time (that would add to every streamed segment's delay).
const K_LO: i32 = -6;
const K_HI: i32 = 0;
const K_N: usize = (K_HI - K_LO + 1) as usize;
/// Centre of the (cut) Gaussian ahead of the sample time, s: with the cut at the sample time the
/// kernel's mean sits ~3.5 ms behind it.
const LEAD: f64 = 0.010;
/// Kernel width, s.
const SIGMA: f64 = 0.010;

/// How far ahead of a sample time the animator reads viseme frames, s (0: never). A streaming
/// caller must have pushed the frames up to `t + LOOKAHEAD_SECS` plus one frame step (for the
/// interpolation to the next frame) before sampling `t`.
pub const LOOKAHEAD_SECS: f64 = K_HI as f64 * STEP;
/// Closure peak-hold window, in grid steps around the sample time (the last 30 ms).
const HOLD_LO: i32 = -6;
const HOLD_HI: i32 = 0;
/// Frames farther than this from both neighbours count as silence, s.
const EDGE_TOL: f64 = 0.006;
/// Largest gap between two frames that is still interpolated, s.
const MAX_GAP: f64 = 0.035;

/// Eye rotation (rad) at which `eyeLook*` shapes reach 1.
const EYE_YAW_FULL: f32 = 0.6;
const EYE_PITCH_FULL: f32 = 0.5;

/// Emotion transition duration, s.
const EMOTION_EASE: f64 = 0.4;

fn smooth01(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

fn smoother01(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * x * (x * (x * 6.0 - 15.0) + 10.0)
}

/// The face and head animator of one session.
pub struct Animator {
    cfg: AnimConfig,
    /// Per viseme: driven through the avatar's own viseme channel.
    direct: [bool; VISEME_COUNT],
    /// ARKit jawOpen is driven by speech (no direct open-jaw viseme).
    jaw_arkit: bool,
    kernel: [f32; K_N],
    frames: VecDeque<VisemeFrame>,
    emotion: EmotionTrack,
    blink: Blinker,
    gaze: Gaze,
    head: Head,
    last_t: f64,
}

impl Animator {
    /// A new animator for an avatar rig.
    pub fn new(avatar_rig: &FaceRig, cfg: AnimConfig) -> Animator {
        let mut direct = [false; VISEME_COUNT];
        for (i, d) in direct.iter_mut().enumerate().skip(1) {
            *d = avatar_rig.has_viseme(i);
        }
        let jaw_arkit = !direct[Viseme::Aa.index()];
        let mut kernel = [0.0f32; K_N];
        let mut sum = 0.0;
        for (j, k) in (K_LO..=K_HI).enumerate() {
            let x = (k as f64 * STEP - LEAD) / SIGMA;
            kernel[j] = (-0.5 * x * x).exp() as f32;
            sum += kernel[j];
        }
        for k in kernel.iter_mut() {
            *k /= sum;
        }
        let intensity = sanitize_unit(cfg.emotion_intensity);
        let seed = cfg.seed;
        Animator {
            direct,
            jaw_arkit,
            kernel,
            frames: VecDeque::with_capacity(1024),
            emotion: EmotionTrack::new(
                cfg.emotion,
                intensity,
                avatar_rig.emotion_exprs.map(|e| e.is_some()),
            ),
            blink: Blinker::new(Rng::new(seed, 1)),
            gaze: Gaze::new(Rng::new(seed, 2)),
            head: Head::new(Rng::new(seed, 3)),
            last_t: f64::NEG_INFINITY,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AnimConfig {
        &self.cfg
    }

    /// Whether viseme `i` is sent to the avatar's own viseme channel (else through ARKit).
    pub fn uses_direct_viseme(&self, i: usize) -> bool {
        self.direct.get(i).copied().unwrap_or(false)
    }

    /// Queue viseme frames; `t` is media time in seconds. Frames must come in time order; a frame
    /// not later than the last queued one is ignored. Weights are clamped to 0..1.
    pub fn push_visemes(&mut self, frames: &[VisemeFrame]) {
        for f in frames {
            if !f.t.is_finite() {
                continue;
            }
            if let Some(last) = self.frames.back() {
                if f.t <= last.t {
                    continue;
                }
            }
            let mut g = *f;
            for w in g.weights.iter_mut() {
                *w = sanitize_unit(*w);
            }
            g.jaw_open = sanitize_unit(g.jaw_open);
            self.frames.push_back(g);
        }
    }

    /// Number of queued viseme frames (including up to ~0.1 s of history).
    pub fn queued_frames(&self) -> usize {
        self.frames.len()
    }

    /// Change the emotion from media time `at` (s), easing over ~400 ms.
    pub fn set_emotion(&mut self, at: f64, e: Emotion, intensity: f32) {
        self.emotion.set(at, e, sanitize_unit(intensity));
    }

    /// Interrupt: drop viseme frames after `at` (s); the mouth eases to rest within ~50-100 ms.
    pub fn clear_speech(&mut self, at: f64) {
        while self.frames.back().is_some_and(|f| f.t > at) {
            self.frames.pop_back();
        }
    }

    /// Sample the animation at media time `t` (s, non-decreasing; an earlier time is treated as
    /// the last one). Overwrites `out_face` and `out_pose`. Does not allocate.
    pub fn sample(&mut self, t: f64, out_face: &mut FaceWeights, out_pose: &mut HeadPose) {
        let t = if t.is_finite() {
            t.max(self.last_t)
        } else {
            self.last_t.max(0.0)
        };
        let dt = if self.last_t.is_finite() {
            t - self.last_t
        } else {
            0.0
        };
        self.last_t = t;
        while self.frames.len() > 1 && self.frames[0].t < t - 0.12 {
            self.frames.pop_front();
        }

        *out_face = FaceWeights::default();
        let face = &mut out_face.arkit;

        // --- speech ---
        let sp = self.speech(t);
        let mut recipe_jaw = 0.0f32;
        for v in 1..VISEME_COUNT {
            let w = sp.w[v];
            if w <= 0.0 {
                continue;
            }
            if self.direct[v] {
                out_face.visemes[v] = w.min(1.0);
            } else {
                for &(s, x) in visemes::RECIPES[v] {
                    if s == A::JawOpen {
                        recipe_jaw += w * x;
                    } else {
                        face[s.index()] += w * x;
                    }
                }
            }
        }
        if self.jaw_arkit {
            let jaw = visemes::JAW_RECIPE_MIX * recipe_jaw
                + (1.0 - visemes::JAW_RECIPE_MIX) * visemes::JAW_CONTINUOUS_GAIN * sp.jaw;
            face[A::JawOpen.index()] = jaw * (1.0 - sp.closure) * (1.0 - 0.6 * sp.contact);
        }

        // --- emotion, handed over to speech in the mouth region ---
        let mut emo = [0.0f32; ARKIT_COUNT];
        let emo_head = self.emotion.eval(t, &mut emo, &mut out_face.emotions);
        let face = &mut out_face.arkit;
        let open_keep = (1.0 - sp.closure) * (1.0 - 0.8 * sp.activity) * (1.0 - sp.contact);
        for s in visemes::OPENING {
            emo[s.index()] *= open_keep;
        }
        let shaping_keep = 1.0 - visemes::CLOSURE_SHAPING_ATTENUATION * sp.closure;
        for s in visemes::MOUTH_SHAPING {
            emo[s.index()] *= shaping_keep;
        }

        // --- head ---
        let phrase_start = self.head.update(t, dt, sp.jaw, sp.activity);
        if phrase_start && t - self.blink.last_start > 0.8 && self.blink.rng.chance(0.45) {
            self.blink.trigger(t + 0.04);
        }
        let hm = if self.cfg.head_motion.is_finite() {
            self.cfg.head_motion.max(0.0)
        } else {
            0.0
        };
        let mut head = [0.0f32; 3];
        if hm > 0.0 {
            let h = self.head.pose(t);
            for i in 0..3 {
                head[i] = hm * (h[i] + emo_head[i]);
            }
        }

        // --- eyes ---
        if let Some(at) = self.gaze.advance(t) {
            if at - self.blink.last_start > 0.8 && self.blink.rng.chance(0.3) {
                self.blink.trigger(at);
            }
        }
        let gaze = self.gaze.pos(t);
        // Vestibulo-ocular reflex: eyes counter-rotate so the gaze stays on the camera.
        let eyes = [gaze[0] - 0.7 * head[0], gaze[1] - 0.7 * head[1]];
        self.blink.advance(t);
        let b = self.blink.value(t);

        let yaw = (eyes[0] / EYE_YAW_FULL).clamp(-1.0, 1.0);
        let pitch = (eyes[1] / EYE_PITCH_FULL).clamp(-1.0, 1.0);
        let (left_side, right_side) = (yaw.max(0.0), (-yaw).max(0.0));
        face[A::EyeLookOutLeft.index()] = left_side;
        face[A::EyeLookInRight.index()] = left_side;
        face[A::EyeLookInLeft.index()] = right_side;
        face[A::EyeLookOutRight.index()] = right_side;
        let (down, up) = (pitch.max(0.0), (-pitch).max(0.0));
        face[A::EyeLookDownLeft.index()] = down;
        face[A::EyeLookDownRight.index()] = down;
        face[A::EyeLookUpLeft.index()] = up;
        face[A::EyeLookUpRight.index()] = up;

        for (blink, wide) in [
            (A::EyeBlinkLeft, A::EyeWideLeft),
            (A::EyeBlinkRight, A::EyeWideRight),
        ] {
            let lid = (emo[blink.index()] + 0.45 * down).min(1.0);
            emo[blink.index()] = 0.0;
            face[blink.index()] = lid + (1.0 - lid) * b;
            let w = emo[wide.index()] + 0.15 * up;
            emo[wide.index()] = 0.0;
            face[wide.index()] = w * (1.0 - b);
        }

        for (f, e) in face.iter_mut().zip(emo.iter()) {
            *f = (*f + e).clamp(0.0, 1.0);
        }

        out_pose.head = head;
        out_pose.eyes = eyes;
    }

    /// Interpolated raw viseme weights at `t`; silence where there are no frames.
    fn raw_at(&self, t: f64, out: &mut [f32; VISEME_COUNT]) -> f32 {
        let fr = &self.frames;
        let idx = fr.partition_point(|f| f.t <= t);
        let prev = if idx > 0 { fr.get(idx - 1) } else { None };
        let next = fr.get(idx);
        let pick = match (prev, next) {
            (Some(p), Some(n)) if n.t - p.t <= MAX_GAP => {
                let a = ((t - p.t) / (n.t - p.t)) as f32;
                for i in 0..VISEME_COUNT {
                    out[i] = p.weights[i] + (n.weights[i] - p.weights[i]) * a;
                }
                return p.jaw_open + (n.jaw_open - p.jaw_open) * a;
            }
            (Some(p), _) if t - p.t <= EDGE_TOL => Some(p),
            (_, Some(n)) if n.t - t <= EDGE_TOL => Some(n),
            _ => None,
        };
        match pick {
            Some(f) => {
                *out = f.weights;
                f.jaw_open
            }
            None => {
                *out = [0.0; VISEME_COUNT];
                out[0] = 1.0;
                0.0
            }
        }
    }

    fn speech(&self, t: f64) -> Speech {
        let mut acc = [0.0f32; VISEME_COUNT];
        let mut jaw = 0.0f32;
        let (mut pp_hold, mut ff_hold) = (0.0f32, 0.0f32);
        let mut raw = [0.0f32; VISEME_COUNT];
        if !self.frames.is_empty() {
            for (j, k) in (K_LO..=K_HI).enumerate() {
                let rj = self.raw_at(t + k as f64 * STEP, &mut raw);
                let kw = self.kernel[j];
                for i in 0..VISEME_COUNT {
                    acc[i] += kw * raw[i];
                }
                jaw += kw * rj;
                if (HOLD_LO..=HOLD_HI).contains(&k) {
                    pp_hold = pp_hold.max(raw[Viseme::PP.index()]);
                    ff_hold = ff_hold.max(raw[Viseme::FF.index()]);
                }
            }
        } else {
            acc[0] = 1.0;
        }
        let pp = acc[Viseme::PP.index()].max(pp_hold);
        let ff = acc[Viseme::FF.index()].max(ff_hold);
        let closure = smooth01((pp - 0.12) / 0.38);
        let contact = smooth01((ff - 0.12) / 0.38) * (1.0 - closure);
        let mut activity = 0.0f32;
        let mut w = [0.0f32; VISEME_COUNT];
        for v in 1..VISEME_COUNT {
            activity += acc[v];
            w[v] = acc[v] * (1.0 - closure) * (1.0 - 0.7 * contact);
        }
        w[Viseme::PP.index()] = acc[Viseme::PP.index()].max(closure);
        w[Viseme::FF.index()] = acc[Viseme::FF.index()].max(contact) * (1.0 - closure);
        Speech {
            w,
            jaw,
            closure,
            contact,
            activity: activity.clamp(0.0, 1.0),
        }
    }
}

fn sanitize_unit(x: f32) -> f32 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

struct Speech {
    /// Effective viseme weights after closure dominance.
    w: [f32; VISEME_COUNT],
    /// Smoothed continuous jaw opening.
    jaw: f32,
    /// Lip closure 0..1 (PP).
    closure: f32,
    /// Lip-teeth contact 0..1 (FF).
    contact: f32,
    /// Speech activity 0..1 (1 − silence).
    activity: f32,
}

// --- emotion ---------------------------------------------------------------------------------

struct EmotionTrack {
    from: [f32; ARKIT_COUNT],
    to: [f32; ARKIT_COUNT],
    head_from: [f32; 3],
    head_to: [f32; 3],
    /// Weights of the emotions the avatar shows with its own expressions.
    expr_from: [f32; EMOTION_COUNT],
    expr_to: [f32; EMOTION_COUNT],
    /// Which emotions those are ([`FaceRig::emotion_exprs`]).
    via_expr: [bool; EMOTION_COUNT],
    start: f64,
}

impl EmotionTrack {
    fn new(e: Emotion, intensity: f32, via_expr: [bool; EMOTION_COUNT]) -> Self {
        let mut t = EmotionTrack {
            from: [0.0; ARKIT_COUNT],
            to: [0.0; ARKIT_COUNT],
            head_from: [0.0; 3],
            head_to: [0.0; 3],
            expr_from: [0.0; EMOTION_COUNT],
            expr_to: [0.0; EMOTION_COUNT],
            via_expr,
            start: f64::NEG_INFINITY,
        };
        t.target(e, intensity);
        t.from = t.to;
        t.head_from = t.head_to;
        t.expr_from = t.expr_to;
        t
    }

    /// Aim at emotion `e`: its ARKit recipe, or its expression's weight when the avatar has one
    /// (the head motion of the recipe either way).
    fn target(&mut self, e: Emotion, intensity: f32) {
        let (w, h) = emotions::dense(e, intensity);
        self.head_to = h;
        self.expr_to = [0.0; EMOTION_COUNT];
        if self.via_expr[e.index()] {
            self.to = [0.0; ARKIT_COUNT];
            self.expr_to[e.index()] = intensity;
        } else {
            self.to = w;
        }
    }

    fn eval(
        &self,
        t: f64,
        out: &mut [f32; ARKIT_COUNT],
        expr: &mut [f32; EMOTION_COUNT],
    ) -> [f32; 3] {
        let x = if self.start.is_finite() {
            smoother01((t - self.start) / EMOTION_EASE)
        } else {
            1.0
        };
        let x = x as f32;
        for i in 0..ARKIT_COUNT {
            out[i] = self.from[i] + (self.to[i] - self.from[i]) * x;
        }
        for i in 0..EMOTION_COUNT {
            expr[i] = self.expr_from[i] + (self.expr_to[i] - self.expr_from[i]) * x;
        }
        let mut h = [0.0; 3];
        for i in 0..3 {
            h[i] = self.head_from[i] + (self.head_to[i] - self.head_from[i]) * x;
        }
        h
    }

    fn set(&mut self, at: f64, e: Emotion, intensity: f32) {
        let at = if at.is_finite() { at } else { 0.0 };
        let (mut cur, mut expr) = ([0.0; ARKIT_COUNT], [0.0; EMOTION_COUNT]);
        let h = self.eval(at, &mut cur, &mut expr);
        self.from = cur;
        self.head_from = h;
        self.expr_from = expr;
        self.target(e, intensity);
        self.start = at;
    }
}

// --- blinks ----------------------------------------------------------------------------------

const BLINK_CLOSE: f64 = 0.05;
const BLINK_HOLD: f64 = 0.015;
const BLINK_OPEN: f64 = 0.095;
const BLINK_LEN: f64 = BLINK_CLOSE + BLINK_HOLD + BLINK_OPEN;
const DOUBLE_BLINK_GAP: f64 = 0.24;

struct Blinker {
    rng: Rng,
    next: f64,
    start: f64,
    last_start: f64,
    /// The next scheduled blink is the second of a double.
    in_double: bool,
}

impl Blinker {
    fn new(mut rng: Rng) -> Self {
        let next = rng.range(0.6, 2.5);
        Blinker {
            rng,
            next,
            start: f64::NEG_INFINITY,
            last_start: f64::NEG_INFINITY,
            in_double: false,
        }
    }

    fn interval(&mut self) -> f64 {
        // Log-normal, mean ≈ 3.3 s, clamped to 1.5..9 s.
        const SIGMA: f64 = 0.45;
        let mu = 3.3f64.ln() - 0.5 * SIGMA * SIGMA;
        (mu + SIGMA * self.rng.normal()).exp().clamp(1.5, 9.0)
    }

    fn advance(&mut self, t: f64) {
        while self.next <= t {
            self.start = self.next;
            self.last_start = self.next;
            if !self.in_double && self.rng.chance(0.1) {
                self.in_double = true;
                self.next = self.start + DOUBLE_BLINK_GAP;
            } else {
                self.in_double = false;
                self.next = self.start + self.interval();
            }
        }
    }

    /// Blink at `at` unless one is already due before then.
    fn trigger(&mut self, at: f64) {
        if at < self.next && at - self.last_start > 1.0 {
            self.next = at;
            self.in_double = true; // no double on top of a triggered blink
        }
    }

    fn value(&self, t: f64) -> f32 {
        let x = t - self.start;
        if !(0.0..BLINK_LEN).contains(&x) {
            0.0
        } else if x < BLINK_CLOSE {
            smooth01((x / BLINK_CLOSE) as f32)
        } else if x < BLINK_CLOSE + BLINK_HOLD {
            1.0
        } else {
            1.0 - smooth01(((x - BLINK_CLOSE - BLINK_HOLD) / BLINK_OPEN) as f32)
        }
    }
}

// --- gaze ------------------------------------------------------------------------------------

struct Gaze {
    rng: Rng,
    next: f64,
    from: [f32; 2],
    to: [f32; 2],
    start: f64,
    dur: f64,
    away: bool,
    drift_phase: [f64; 2],
}

impl Gaze {
    fn new(mut rng: Rng) -> Self {
        let next = rng.range(0.3, 1.5);
        let drift_phase = [rng.range(0.0, 6.3), rng.range(0.0, 6.3)];
        Gaze {
            rng,
            next,
            from: [0.0; 2],
            to: [0.0; 2],
            start: f64::NEG_INFINITY,
            dur: 0.04,
            away: false,
            drift_phase,
        }
    }

    fn target(&self, t: f64) -> [f32; 2] {
        let x = if self.start.is_finite() {
            smooth01(((t - self.start) / self.dur) as f32)
        } else {
            1.0
        };
        [
            self.from[0] + (self.to[0] - self.from[0]) * x,
            self.from[1] + (self.to[1] - self.from[1]) * x,
        ]
    }

    /// Start the saccades due by `t`; returns the start time of a large one (a blink may go with it).
    fn advance(&mut self, t: f64) -> Option<f64> {
        let mut big = None;
        while self.next <= t {
            let at = self.next;
            self.from = self.target(at);
            let hold;
            if self.away {
                // Come back to the camera.
                self.away = false;
                self.to = [
                    (self.rng.normal() * 0.02) as f32,
                    (self.rng.normal() * 0.015) as f32,
                ];
                hold = self.hold();
            } else if self.rng.chance(0.18) {
                self.away = true;
                let side = if self.rng.chance(0.5) { 1.0 } else { -1.0 };
                self.to = [
                    (side * self.rng.range(0.08, 0.2)) as f32,
                    self.rng.range(-0.04, 0.12) as f32,
                ];
                hold = self.rng.range(0.4, 1.3);
            } else {
                self.to = [
                    (self.rng.normal() * 0.025) as f32,
                    (self.rng.normal() * 0.018) as f32,
                ];
                hold = self.hold();
            }
            let amp =
                ((self.to[0] - self.from[0]).powi(2) + (self.to[1] - self.from[1]).powi(2)).sqrt();
            self.dur = 0.03 + 0.15 * amp as f64;
            self.start = at;
            self.next = at + hold;
            if amp > 0.12 {
                big = Some(at);
            }
        }
        big
    }

    fn hold(&mut self) -> f64 {
        const SIGMA: f64 = 0.5;
        let mu = 1.4f64.ln() - 0.5 * SIGMA * SIGMA;
        (mu + SIGMA * self.rng.normal()).exp().clamp(0.5, 3.0)
    }

    fn pos(&self, t: f64) -> [f32; 2] {
        let g = self.target(t);
        let d = |f: f64, p: f64| (0.004 * (std::f64::consts::TAU * f * t + p).sin()) as f32;
        [
            g[0] + d(0.31, self.drift_phase[0]),
            g[1] + d(0.23, self.drift_phase[1]),
        ]
    }
}

// --- head ------------------------------------------------------------------------------------

#[derive(Copy, Clone, Default)]
struct Impulse {
    t0: f64,
    dur: f64,
    amp: [f32; 3],
}

struct Head {
    rng: Rng,
    /// Per axis, three (frequency Hz, phase, relative amplitude) sway components.
    idle: [[(f64, f64, f64); 3]; 3],
    breath_phase: f64,
    impulses: [Impulse; 4],
    env_fast: f32,
    env_slow: f32,
    act_slow: f32,
    speaking: bool,
    quiet_since: f64,
    last_stress: f64,
}

/// Idle sway amplitude per axis (yaw, pitch, roll), rad.
const SWAY: [f64; 3] = [0.03, 0.018, 0.015];

impl Head {
    fn new(mut rng: Rng) -> Self {
        let mut idle = [[(0.0, 0.0, 0.0); 3]; 3];
        for axis in idle.iter_mut() {
            axis[0] = (rng.range(0.05, 0.11), rng.range(0.0, 6.3), 0.55);
            axis[1] = (rng.range(0.15, 0.26), rng.range(0.0, 6.3), 0.3);
            axis[2] = (rng.range(0.33, 0.5), rng.range(0.0, 6.3), 0.15);
        }
        let breath_phase = rng.range(0.0, 6.3);
        Head {
            rng,
            idle,
            breath_phase,
            impulses: [Impulse::default(); 4],
            env_fast: 0.0,
            env_slow: 0.0,
            act_slow: 0.0,
            speaking: false,
            quiet_since: f64::NEG_INFINITY,
            last_stress: f64::NEG_INFINITY,
        }
    }

    /// Follow speech energy; returns true at a phrase start.
    fn update(&mut self, t: f64, dt: f64, jaw: f32, activity: f32) -> bool {
        let k = |tau: f64| {
            if dt > 0.0 {
                (1.0 - (-dt / tau).exp()) as f32
            } else {
                0.0
            }
        };
        self.env_fast += (jaw - self.env_fast) * k(0.06);
        self.env_slow += (jaw - self.env_slow) * k(0.7);
        self.act_slow += (activity - self.act_slow) * k(0.8);
        let mut phrase_start = false;
        if !self.speaking && activity > 0.35 {
            self.speaking = true;
            if t - self.quiet_since >= 0.35 {
                phrase_start = true;
                self.last_stress = t;
                let pitch = self.rng.range(0.035, 0.06) as f32;
                let roll = self.rng.range(-0.02, 0.02) as f32;
                let yaw = self.rng.range(-0.025, 0.025) as f32;
                let dur = self.rng.range(0.45, 0.65);
                self.add(Impulse {
                    t0: t,
                    dur,
                    amp: [yaw, pitch, roll],
                });
            }
        } else if self.speaking && activity < 0.15 {
            self.speaking = false;
            self.quiet_since = t;
        }
        if self.speaking
            && self.env_fast > 0.22
            && self.env_fast > self.env_slow * 1.3 + 0.04
            && t - self.last_stress > 0.6
        {
            self.last_stress = t;
            if self.rng.chance(0.6) {
                let pitch = self.rng.range(0.018, 0.035) as f32;
                let roll = self.rng.range(-0.012, 0.012) as f32;
                let yaw = self.rng.range(-0.015, 0.015) as f32;
                let dur = self.rng.range(0.35, 0.5);
                self.add(Impulse {
                    t0: t,
                    dur,
                    amp: [yaw, pitch, roll],
                });
            }
        }
        phrase_start
    }

    fn add(&mut self, imp: Impulse) {
        // Replace the oldest slot.
        let mut oldest = 0;
        for i in 1..self.impulses.len() {
            if self.impulses[i].t0 + self.impulses[i].dur
                < self.impulses[oldest].t0 + self.impulses[oldest].dur
            {
                oldest = i;
            }
        }
        self.impulses[oldest] = imp;
    }

    fn pose(&self, t: f64) -> [f32; 3] {
        let mut out = [0.0f32; 3];
        let gain = 1.0 + 1.2 * self.act_slow as f64;
        for (axis, comps) in self.idle.iter().enumerate() {
            let mut v = 0.0;
            for &(f, p, a) in comps {
                v += a * (std::f64::consts::TAU * f * t + p).sin();
            }
            out[axis] = (SWAY[axis] * gain * v) as f32;
        }
        // Breathing: a slow, subtle pitch oscillation (~13 breaths/min).
        out[1] += (0.005 * (std::f64::consts::TAU * 0.22 * t + self.breath_phase).sin()) as f32;
        // Loud syllables dip the head a little.
        out[1] += 0.04 * (self.env_fast - self.env_slow).max(0.0);
        for imp in &self.impulses {
            if imp.dur > 0.0 && t >= imp.t0 && t < imp.t0 + imp.dur {
                let s = (std::f64::consts::PI * (t - imp.t0) / imp.dur).sin();
                let b = (s * s) as f32;
                for i in 0..3 {
                    out[i] += imp.amp[i] * b;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
