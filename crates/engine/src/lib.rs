//! facecast-engine: the sans-IO talking-avatar session.
//!
//! A [`Session`] is a state machine in the style of `str0m`: it does no I/O, spawns no threads and
//! reads no clock. The caller feeds it input ([`Session::push_audio`], [`Session::set_emotion`],
//! [`Session::interrupt`]…), tells it the time ([`Session::handle_timeout`]) and drains what is due
//! ([`Session::poll_output`]): 20 ms audio frames, video frames and events, all stamped on one
//! media clock (48 kHz samples from 0, see [`MediaTime`]).
//!
//! ```text
//! loop {
//!     let due = session.poll_timeout();       // sleep until then (or until input arrives)
//!     session.handle_timeout(now);
//!     while let Some(out) = session.poll_output() { send(out) }
//! }
//! ```
//!
//! # Clock rules
//! - Audio arrives in any rate, size and burst. It is resampled to 48 kHz mono into a playout
//!   queue and played out in real time: one 960-sample frame every 20 ms, due at its pts, silence
//!   when nothing is queued (frames never stop).
//! - Lip-sync looks ahead `L` = analyzer look-ahead (35 ms) + the animator's read-ahead
//!   ([`facecast_anim::LOOKAHEAD_SECS`], now 0: anticipation comes from the analyzer's own
//!   look-ahead) + one 10 ms viseme frame step for interpolation, i.e. 45 ms
//!   ([`Session::lookahead`]). Audio playout is delayed by `L` (video never is): a segment whose first
//!   audio arrives at media time `A` starts playing at `max(A + L, end of queued audio)`, so when
//!   the video frame for time `t` is due, the visemes for `t` have been computed from audio up to
//!   `t + L`. Back-to-back segments play without a gap. If a stream underruns (the queue runs dry
//!   mid-segment), its next audio again starts `L` after it arrives. Audio that continues queued
//!   audio is always appended without a gap, even when it arrives less than `L` before it plays;
//!   the visemes of those first few milliseconds are then late (the mouth holds/rests briefly).
//! - Whole clips ([`Session::speak`]) with [`Session::set_fast_start`] (the server's live mode):
//!   the clip is analysed to its end inside the call, so it needs no look-ahead delay and starts
//!   at `max(now, end of queued audio)`, i.e. in the next 20 ms audio frame.
//! - Viseme frames are mapped onto the media clock (segment start + offset in the segment's audio,
//!   gaps included) and fed to the [`Animator`]; video frame `k` (pts `k/fps`, exact) is rendered from
//!   the animation state at its pts.
//! - With [`Session::set_onset_frames`] (the server's live mode) one extra frame may come between
//!   two grid frames: at a segment's speech onset (first speech viseme + [`ONSET_DELAY`], 5 ms),
//!   when the next grid frame is more than [`ONSET_MIN_GAP`] (10 ms) later. A fast-start clip
//!   starts on the 20 ms audio grid and video frames are on a 40 ms grid (25 fps): a clip voiced
//!   from its first sample starts either 20 ms before a grid frame (no extra frame) or on one
//!   (extra frame at +10 ms, instead of waiting for the next grid frame at +40 ms). The grid
//!   itself never moves; video pts stay increasing but are not evenly spaced.
//! - Events: [`Event::SegmentStarted`] is due when the segment's first sample plays,
//!   [`Event::SegmentFinished`] when its last sample has played (`played_ms` = its audio
//!   duration), or at once on [`Session::interrupt`] (`interrupted: true`, `played_ms` = audio
//!   actually sent).
//!
//! Outputs due at the same time come out as events, then audio, then video.
//!
//! # Extras
//! - [`Session::set_text`] / [`Session::speak_with_text`]: text-assisted lip sync; when a segment
//!   with a transcript ends, its visemes not yet shown are replaced by transcript-aligned ones
//!   (`facecast_lipsync::analyze_with_text`).
//! - [`Session::set_drop_late_video`]: real-time mode rendering only the newest of several due
//!   video frames.
//! - [`Session::last_face`]: the blend-shape weights and head pose of the last frame (for clients
//!   that render the avatar themselves).
//! - [`Session::recycle`] / [`Session::recycle_pcm`]: buffer reuse, no per-frame allocation.
//! - [`Session::set_video_lead`]: emit video frames a little before their pts (time to render
//!   and encode), while no streamed segment is open.
//! - [`Session::set_onset_frames`]: the extra speech-onset frame described above.
//! - [`Session::detach_renderer`]: take the [`FrameRenderer`] out to render on another thread;
//!   due frames then come out as [`Output::Face`] (weights + pose at the frame's pts). The live
//!   server does this so a 10-25 ms render never delays a 20 ms audio frame.

use std::collections::VecDeque;
use std::sync::Arc;

use facecast_anim::{AnimConfig, Animator};
use facecast_audio::Resampler;
use facecast_core::expr::{resolve_face, MaterialValues};
use facecast_core::model::Avatar;
use facecast_core::{
    ArkitShape, AudioChunk, Emotion, Event, FaceWeights, HeadPose, I420Frame, MediaTime,
    VisemeFrame, OUTPUT_RATE,
};
use facecast_render::{RenderConfig, RenderError, Renderer};

use facecast_lipsync::Analyzer;

pub use facecast_render::Background;

/// Samples per 20 ms audio output frame at 48 kHz.
pub const AUDIO_FRAME: usize = 960;

/// Highest input sample rate accepted.
pub const MAX_INPUT_RATE: u32 = 384_000;
/// Lowest input sample rate accepted.
pub const MIN_INPUT_RATE: u32 = 4_000;
/// Most interleaved input channels accepted.
pub const MAX_INPUT_CHANNELS: u16 = 8;

const SAMPLES_PER_MS: u64 = OUTPUT_RATE as u64 / 1000;

/// A speech-onset frame ([`Session::set_onset_frames`]) is shown this long after the centre of
/// the segment's first speech viseme frame (the mouth has then made most of its first move:
/// the animator's smoothing kernel reaches ~80 % at the frame centre, ~95 % 5 ms later).
pub const ONSET_DELAY: MediaTime = MediaTime::from_millis(5);
/// No speech-onset frame when a regular grid frame falls this close after it (or between the
/// first speech viseme and it): that frame shows the onset soon enough.
pub const ONSET_MIN_GAP: MediaTime = MediaTime::from_millis(10);
/// A viseme frame counts as speech when its `sil` weight is below this.
const ONSET_SIL_MAX: f32 = 0.5;
/// Viseme frames further apart than this (s) are not continuous speech.
const ONSET_CONTINUOUS: f64 = 0.035;

/// Errors of the engine.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EngineError {
    /// A configuration value out of range.
    #[error("invalid session config: {0}")]
    InvalidConfig(String),
    /// The renderer refused the avatar or the output settings.
    #[error("renderer: {0}")]
    Render(#[from] RenderError),
    /// A segment id this session never handed out.
    #[error("unknown segment {segment}: begin_segment() has not returned that id")]
    UnknownSegment {
        /// The id given.
        segment: u64,
    },
    /// Audio pushed to a segment that no longer takes audio.
    #[error("segment {segment} takes no more audio: it was {reason}")]
    SegmentClosed {
        /// The id given.
        segment: u64,
        /// Why: ended, interrupted, or superseded by a newer segment.
        reason: &'static str,
    },
    /// The playout queue would exceed `max_queue_ms`.
    #[error(
        "audio queue full: {queued_ms} ms queued + {pushed_ms} ms pushed exceeds max_queue_ms {max_ms}; \
         wait for playout or raise max_queue_ms"
    )]
    QueueFull {
        /// Already queued, ms.
        queued_ms: u64,
        /// The rejected chunk, ms.
        pushed_ms: u64,
        /// The limit.
        max_ms: u64,
    },
    /// Audio the engine cannot take (rate, channels, layout).
    #[error("bad audio: {0}")]
    BadAudio(String),
    /// A transcript the engine cannot use now.
    #[error("bad text: {0}")]
    BadText(String),
}

/// Session settings.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The avatar, shared between sessions.
    pub avatar: Arc<Avatar>,
    /// Output width, even, 16..=8192.
    pub width: u32,
    /// Output height, even, 16..=8192.
    pub height: u32,
    /// Video frames per second, 1..=120.
    pub fps: u32,
    /// What is drawn behind the avatar.
    pub background: Background,
    /// Initial emotion.
    pub emotion: Emotion,
    /// Initial emotion intensity, 0..=1.
    pub emotion_intensity: f32,
    /// Seed of the idle animation (blinks, gaze, sway), for reproducible output.
    pub seed: u64,
    /// Head motion scale: 0 = fixed head, 1 = default, up to 4.
    pub head_motion: f32,
    /// Most audio (ms) the playout queue holds; more is refused with [`EngineError::QueueFull`].
    pub max_queue_ms: u64,
    /// Level-of-detail error in pixels ([`facecast_render::RenderConfig::lod_px`]; 0 draws every
    /// triangle), 0..=4 (checked by the renderer).
    pub lod_px: f32,
}

impl SessionConfig {
    /// Defaults: 512×512 at 25 fps, default background, neutral, seed 0, head motion 1, 60 s queue.
    pub fn new(avatar: Arc<Avatar>) -> Self {
        SessionConfig {
            avatar,
            width: 512,
            height: 512,
            fps: 25,
            background: Background::default(),
            emotion: Emotion::Neutral,
            emotion_intensity: 1.0,
            seed: 0,
            head_motion: 1.0,
            max_queue_ms: 60_000,
            lod_px: facecast_render::DEFAULT_LOD_PX,
        }
    }

    fn render_config(&self) -> RenderConfig {
        RenderConfig {
            width: self.width,
            height: self.height,
            background: self.background.clone(),
            camera: None,
            lod_px: self.lod_px,
        }
    }

    /// Check every value; the error names the offending one.
    pub fn validate(&self) -> Result<(), EngineError> {
        if !(1..=120).contains(&self.fps) {
            return Err(EngineError::InvalidConfig(format!(
                "fps {} outside 1..=120",
                self.fps
            )));
        }
        if !(self.emotion_intensity.is_finite() && (0.0..=1.0).contains(&self.emotion_intensity)) {
            return Err(EngineError::InvalidConfig(format!(
                "emotion_intensity {} outside 0..=1",
                self.emotion_intensity
            )));
        }
        if !(self.head_motion.is_finite() && (0.0..=4.0).contains(&self.head_motion)) {
            return Err(EngineError::InvalidConfig(format!(
                "head_motion {} outside 0..=4",
                self.head_motion
            )));
        }
        if !(100..=3_600_000).contains(&self.max_queue_ms) {
            return Err(EngineError::InvalidConfig(format!(
                "max_queue_ms {} outside 100..=3600000",
                self.max_queue_ms
            )));
        }
        self.render_config().validate()?;
        Ok(())
    }
}

/// What a session produces.
// `Face` carries its weights inline (~330 bytes, moved once per frame): boxing them would allocate
// per frame.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Video frame `k` at pts `k/fps` (or a speech-onset frame between two of them, see
    /// [`Session::set_onset_frames`]); give the buffer back with [`Session::recycle`].
    Video {
        /// Presentation time.
        pts: MediaTime,
        /// The picture.
        frame: I420Frame,
    },
    /// 20 ms of mono 48 kHz audio.
    Audio {
        /// Presentation time of the first sample (a multiple of 960).
        pts: MediaTime,
        /// 960 samples.
        pcm: Vec<i16>,
    },
    /// A session event.
    Event(Event),
    /// Video frame `k` (pts `k/fps`, or a speech-onset frame) to be rendered by the caller: only after
    /// [`Session::detach_renderer`], instead of [`Output::Video`]. Render it with
    /// [`FrameRenderer::render`] (e.g. on another thread, so rendering never delays audio).
    Face {
        /// Presentation time.
        pts: MediaTime,
        /// Blend-shape weights at `pts`.
        face: FaceWeights,
        /// Head pose at `pts`.
        pose: HeadPose,
    },
}

/// The picture half of a session: the avatar's renderer plus the face-rig resolve. Owned by the
/// [`Session`] until [`Session::detach_renderer`] hands it to the caller; `Send`, so it can render
/// on another thread.
pub struct FrameRenderer {
    renderer: Renderer,
    /// Jaw driven by a bone (no ARKit jawOpen morph).
    jaw_bone: bool,
    channels: Vec<f32>,
    /// Emotions shown by the avatar's own expressions (VRM `happy`...): per-expression weights
    /// and the material values they give. Empty vectors when the avatar has none.
    expr: Vec<f32>,
    materials: Vec<MaterialValues>,
}

impl FrameRenderer {
    fn new(cfg: &SessionConfig) -> Result<FrameRenderer, EngineError> {
        FrameRenderer::for_avatar(cfg.avatar.clone(), cfg.render_config())
    }

    /// A renderer of `avatar` outside a session (e.g. a file render): the same face-rig
    /// resolve, VRM expressions and jaw bone as a session's frames.
    pub fn for_avatar(
        avatar: Arc<Avatar>,
        render: RenderConfig,
    ) -> Result<FrameRenderer, EngineError> {
        let renderer = Renderer::new(avatar.clone(), render)?;
        let jaw_bone =
            renderer.has_jaw_bone() && !avatar.rig.has_arkit(ArkitShape::JawOpen.index());
        let rig = &avatar.rig;
        let has_expr = rig.emotion_exprs.iter().any(Option::is_some) || !rig.expr_drives.is_empty();
        let n = |k: usize| if has_expr { k } else { 0 };
        Ok(FrameRenderer {
            renderer,
            jaw_bone,
            channels: Vec::with_capacity(avatar.channels.len()),
            expr: vec![0.0; n(avatar.expressions.len())],
            materials: Vec::with_capacity(n(avatar.materials.len())),
        })
    }

    /// Render the face and pose at `pts` (e.g. of an [`Output::Face`]) into `out` (the
    /// session's size). `pts` moves the avatar's animated textures (VRM MToon UV animation) and its spring bones.
    pub fn render(
        &mut self,
        pts: MediaTime,
        face: &FaceWeights,
        pose: &HeadPose,
        out: &mut I420Frame,
    ) {
        self.renderer.set_time(pts.as_secs_f64());
        let avatar = self.renderer.avatar();
        // VRM avatars whose look expressions move the eyes weigh them by their range maps.
        let gazed;
        let face = match &avatar.look_at {
            Some(l) if !l.bones => {
                gazed = l.weigh_face(pose.eyes, face);
                &gazed
            }
            _ => face,
        };
        if self.expr.is_empty() {
            avatar
                .rig
                .resolve(face, avatar.channels.len(), &mut self.channels);
        } else {
            // Emotions through the avatar's expressions, with VRM's rules: their overrides
            // hold down blinks, eye looks and visemes, then their morph and material binds
            // (and the material binds of blink / look / mouth presets, from `face`).
            self.expr.fill(0.0);
            for (e, x) in avatar.rig.emotion_exprs.iter().zip(face.emotions) {
                if let Some(slot) = e.and_then(|i| self.expr.get_mut(i as usize)) {
                    *slot += x;
                }
            }
            resolve_face(
                avatar,
                face,
                &self.expr,
                &mut self.channels,
                &mut self.materials,
            );
            self.renderer.set_material_values(&self.materials);
        }
        if self.jaw_bone {
            self.renderer.set_jaw_open(face.get(ArkitShape::JawOpen));
        }
        self.renderer.render_i420(&self.channels, pose, out);
    }
}

/// One speech segment's playout bookkeeping.
#[derive(Debug)]
struct Segment {
    id: u64,
    /// Media sample where its first audio plays.
    start: Option<u64>,
    /// Media sample just after its last placed sample.
    end: u64,
    /// 48 kHz samples placed in the queue.
    placed: u64,
    /// 48 kHz samples sent out in audio frames.
    played: u64,
    /// `end_segment` was called (and the resampler flushed).
    ended: bool,
    started_emitted: bool,
}

/// A run of queued samples belonging to one segment (or to a silent gap).
#[derive(Copy, Clone, Debug)]
struct Run {
    segment: Option<u64>,
    len: u64,
}

/// The open segment's input state.
struct OpenSegment {
    id: u64,
    resampler: Option<Resampler>,
    /// (offset in the segment's 48 kHz audio, media sample) where each contiguous piece starts.
    breakpoints: VecDeque<(u64, u64)>,
    /// Transcript for text-assisted lip sync (see [`Session::set_text`]).
    text: Option<String>,
    /// The segment's mono input audio, kept only while a transcript is set.
    input: Vec<f32>,
    /// Rate of `input`.
    input_rate: u32,
    /// Audio has been pushed.
    has_audio: bool,
    /// The whole segment arrives in one call ([`Session::speak`]): all its visemes exist before
    /// any of it plays, so with [`Session::set_fast_start`] it needs no look-ahead delay.
    complete: bool,
    /// The segment's first speech viseme frame has been seen (one onset frame per segment).
    onset_seen: bool,
}

/// A talking-avatar session (sans-IO). See the crate docs.
pub struct Session {
    cfg: SessionConfig,
    /// `None` once detached ([`Session::detach_renderer`]).
    renderer: Option<FrameRenderer>,
    animator: Animator,
    analyzer: Analyzer,
    lookahead: u64,
    now: MediaTime,
    // video
    next_frame: u64,
    pool: Vec<I420Frame>,
    face: FaceWeights,
    pose: HeadPose,
    // audio
    audio_pos: u64,
    queue: VecDeque<i16>,
    runs: VecDeque<Run>,
    pcm_pool: Vec<Vec<i16>>,
    // segments
    next_id: u64,
    open: Option<OpenSegment>,
    segments: VecDeque<Segment>,
    /// Segment ids that ended by interrupt (for clear errors).
    interrupted_upto: u64,
    events: VecDeque<Event>,
    /// Media time of the last rendered video frame, s.
    last_video_t: f64,
    drop_late_video: bool,
    dropped_frames: u64,
    fast_start: bool,
    video_enabled: bool,
    /// Samples before its pts a video frame may be emitted ([`Session::set_video_lead`]).
    video_lead: u64,
    /// [`Session::set_onset_frames`].
    onset_frames: bool,
    /// Pending speech-onset frames (pts, ascending), each strictly between two grid frames.
    onsets: VecDeque<u64>,
    /// pts of the last video frame emitted.
    last_video_pts: Option<u64>,
    /// (time s, is speech) of the last viseme frame given to the animator.
    prev_vis: Option<(f64, bool)>,
    // scratch
    mono: Vec<f32>,
    resampled: Vec<f32>,
    vis: Vec<VisemeFrame>,
}

impl Session {
    /// A new session at media time 0.
    pub fn new(cfg: SessionConfig) -> Result<Session, EngineError> {
        cfg.validate()?;
        let renderer = FrameRenderer::new(&cfg)?;
        let animator = Animator::new(
            &cfg.avatar.rig,
            AnimConfig {
                seed: cfg.seed,
                head_motion: cfg.head_motion,
                emotion: cfg.emotion,
                emotion_intensity: cfg.emotion_intensity,
            },
        );
        // Analyzer look-ahead + the animator's read-ahead + one 10 ms frame step (interpolation).
        let lookahead_ms =
            Analyzer::lookahead_ms().max(0.0) + facecast_anim::LOOKAHEAD_SECS * 1000.0 + 10.0;
        let lookahead = (lookahead_ms * SAMPLES_PER_MS as f64).ceil() as u64;
        Ok(Session {
            renderer: Some(renderer),
            animator,
            analyzer: Analyzer::new(),
            lookahead,
            now: MediaTime::ZERO,
            next_frame: 0,
            pool: Vec::new(),
            face: FaceWeights::default(),
            pose: HeadPose::default(),
            audio_pos: 0,
            queue: VecDeque::with_capacity(OUTPUT_RATE as usize),
            runs: VecDeque::new(),
            pcm_pool: Vec::new(),
            next_id: 1,
            open: None,
            segments: VecDeque::new(),
            interrupted_upto: 0,
            events: VecDeque::new(),
            last_video_t: 0.0,
            drop_late_video: false,
            dropped_frames: 0,
            fast_start: false,
            video_enabled: true,
            video_lead: 0,
            onset_frames: false,
            onsets: VecDeque::new(),
            last_video_pts: None,
            prev_vis: None,
            mono: Vec::new(),
            resampled: Vec::new(),
            vis: Vec::new(),
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// Audio playout delay behind arrival (the lip-sync look-ahead `L`).
    pub fn lookahead(&self) -> MediaTime {
        MediaTime(self.lookahead)
    }

    /// Start a speech segment; returns its id (1, 2, …). A segment still open is ended first.
    pub fn begin_segment(&mut self) -> u64 {
        if let Some(open) = &self.open {
            let id = open.id;
            self.end_segment(id);
        }
        let id = self.next_id;
        self.next_id += 1;
        self.analyzer.reset();
        self.open = Some(OpenSegment {
            id,
            resampler: None,
            breakpoints: VecDeque::new(),
            text: None,
            input: Vec::new(),
            input_rate: 0,
            has_audio: false,
            complete: false,
            onset_seen: false,
        });
        self.segments.push_back(Segment {
            id,
            start: None,
            end: 0,
            placed: 0,
            played: 0,
            ended: false,
            started_emitted: false,
        });
        id
    }

    fn check_open(&self, segment: u64) -> Result<(), EngineError> {
        if segment == 0 || segment >= self.next_id {
            return Err(EngineError::UnknownSegment { segment });
        }
        match &self.open {
            Some(o) if o.id == segment => Ok(()),
            _ => {
                let reason = if segment <= self.interrupted_upto {
                    "interrupted"
                } else if self.open.as_ref().is_some_and(|o| o.id > segment) {
                    "superseded by a newer segment"
                } else {
                    "ended"
                };
                Err(EngineError::SegmentClosed { segment, reason })
            }
        }
    }

    /// Queue audio of an open segment: any rate, channel count and size. Refused (nothing queued)
    /// when the chunk is malformed or the queue would exceed `max_queue_ms`.
    pub fn push_audio(&mut self, segment: u64, chunk: &AudioChunk) -> Result<(), EngineError> {
        self.check_open(segment)?;
        if !(MIN_INPUT_RATE..=MAX_INPUT_RATE).contains(&chunk.rate) {
            return Err(EngineError::BadAudio(format!(
                "sample rate {} Hz outside {MIN_INPUT_RATE}..={MAX_INPUT_RATE}",
                chunk.rate
            )));
        }
        if chunk.channels == 0 || chunk.channels > MAX_INPUT_CHANNELS {
            return Err(EngineError::BadAudio(format!(
                "{} channels (expected 1..={MAX_INPUT_CHANNELS})",
                chunk.channels
            )));
        }
        let ch = chunk.channels as usize;
        if !chunk.samples.len().is_multiple_of(ch) {
            return Err(EngineError::BadAudio(format!(
                "{} samples is not a multiple of {} channels",
                chunk.samples.len(),
                ch
            )));
        }
        let frames = (chunk.samples.len() / ch) as u64;
        if frames == 0 {
            return Ok(());
        }
        let incoming = (frames * OUTPUT_RATE as u64).div_ceil(chunk.rate as u64);
        let max = self.cfg.max_queue_ms * SAMPLES_PER_MS;
        if self.queue.len() as u64 + incoming > max {
            return Err(EngineError::QueueFull {
                queued_ms: self.queued_ms(),
                pushed_ms: incoming / SAMPLES_PER_MS,
                max_ms: self.cfg.max_queue_ms,
            });
        }

        // Downmix to mono.
        self.mono.clear();
        self.mono.reserve(frames as usize);
        for fr in chunk.samples.chunks_exact(ch) {
            let m = if ch == 1 {
                fr[0]
            } else {
                fr.iter().sum::<f32>() / ch as f32
            };
            self.mono.push(if m.is_finite() { m } else { 0.0 });
        }

        // Resample into the playout queue.
        let mut open = self.open.take().expect("checked open");
        open.has_audio = true;
        if open.text.is_some() {
            if open.input.is_empty() || open.input_rate == chunk.rate {
                open.input_rate = chunk.rate;
                open.input.extend_from_slice(&self.mono);
            } else {
                open.text = None;
                open.input = Vec::new();
                self.events.push_back(Event::Error {
                    code: "lipsync_text".into(),
                    message: format!(
                        "segment {}: sample rate changed ({} -> {} Hz), transcript ignored",
                        open.id, open.input_rate, chunk.rate
                    ),
                });
            }
        }
        let rate_changed = open
            .resampler
            .as_ref()
            .is_some_and(|r| r.in_rate() != chunk.rate);
        self.resampled.clear();
        if rate_changed {
            if let Some(r) = open.resampler.as_mut() {
                r.flush(&mut self.resampled);
            }
            open.resampler = None;
        }
        if open.resampler.is_none() {
            match Resampler::new(chunk.rate, OUTPUT_RATE) {
                Ok(r) => open.resampler = Some(r),
                Err(e) => {
                    self.open = Some(open);
                    return Err(EngineError::BadAudio(e.to_string()));
                }
            }
        }
        if let Some(r) = open.resampler.as_mut() {
            r.process(&self.mono, &mut self.resampled);
        }
        let resampled = std::mem::take(&mut self.resampled);
        self.place(&mut open, &resampled);
        self.resampled = resampled;

        // Lip-sync.
        // The analyzer resamples internally and keeps its own timeline (seconds of input), so a
        // rate change mid-segment needs nothing special here.
        self.analyzer.push(chunk);
        self.drain_analyzer(&mut open);
        self.open = Some(open);
        Ok(())
    }

    /// Append resampled samples of the open segment to the playout queue.
    fn place(&mut self, open: &mut OpenSegment, samples: &[f32]) {
        if samples.is_empty() {
            return;
        }
        let id = open.id;
        let Some(seg) = self.segments.iter_mut().rev().find(|s| s.id == id) else {
            return;
        };
        let queue_end = self.audio_pos + self.queue.len() as u64;
        let contiguous = seg.placed > 0 && !self.queue.is_empty() && seg.end == queue_end;
        let at = if contiguous {
            queue_end
        } else if open.complete && self.fast_start {
            // All visemes of the clip are computed before anything is polled: play at once.
            queue_end.max(self.now.0)
        } else {
            queue_end.max(self.now.0 + self.lookahead)
        };
        if at > queue_end {
            let gap = at - queue_end;
            self.queue.extend(std::iter::repeat_n(0i16, gap as usize));
            push_run(&mut self.runs, None, gap);
        }
        if !contiguous {
            open.breakpoints.push_back((seg.placed, at));
        }
        self.queue.extend(samples.iter().map(|&x| to_i16(x)));
        push_run(&mut self.runs, Some(id), samples.len() as u64);
        seg.start.get_or_insert(at);
        seg.placed += samples.len() as u64;
        seg.end = at + samples.len() as u64;
    }

    /// Move analyzer frames onto the media clock and into the animator.
    fn drain_analyzer(&mut self, open: &mut OpenSegment) {
        self.vis.clear();
        while let Some(mut f) = self.analyzer.pull() {
            if let Some(t) = media_secs(open, f.t) {
                f.t = t;
                self.vis.push(f);
            }
        }
        self.note_visemes(Some(open));
        self.animator.push_visemes(&self.vis);
    }

    /// Track speech in the viseme frames about to go to the animator (`self.vis`): the open
    /// segment's first speech frame schedules a speech-onset frame ([`Session::set_onset_frames`])
    /// unless speech was already going on just before it (back-to-back segments).
    fn note_visemes(&mut self, mut open: Option<&mut OpenSegment>) {
        let mut onset = None;
        for f in &self.vis {
            let speech = f.weights[0] < ONSET_SIL_MAX;
            if let Some(o) = open.as_deref_mut() {
                if speech && !o.onset_seen {
                    o.onset_seen = true;
                    let continues = self
                        .prev_vis
                        .is_some_and(|(t, s)| s && f.t - t <= ONSET_CONTINUOUS);
                    if !continues {
                        onset = Some(f.t);
                    }
                }
            }
            self.prev_vis = Some((f.t, speech));
        }
        if let (Some(t), true) = (onset, self.onset_frames) {
            self.schedule_onset(MediaTime::from_secs_f64(t).0);
        }
    }

    /// Queue a speech-onset frame for speech starting (first speech viseme frame) at `tv`.
    fn schedule_onset(&mut self, tv: u64) {
        let pts = tv + ONSET_DELAY.0;
        let fps = self.cfg.fps as u64;
        // The first grid frame at or after the speech start: does it show the onset soon enough?
        let k = (tv * fps).div_ceil(OUTPUT_RATE as u64);
        let grid = MediaTime::of_frame(k, self.cfg.fps).0;
        if grid <= pts + ONSET_MIN_GAP.0 {
            return;
        }
        // Never behind a frame already out, never for a time already past.
        if self.last_video_pts.is_some_and(|l| l >= pts)
            || pts < self.now.0
            || self.onsets.back().is_some_and(|&b| b >= pts)
        {
            return;
        }
        self.onsets.push_back(pts);
    }

    /// Replace the visemes of the ending segment not yet shown by transcript-aligned ones.
    fn apply_text(&mut self, open: &mut OpenSegment) {
        let Some(text) = open.text.take() else { return };
        let input = std::mem::take(&mut open.input);
        if input.is_empty() {
            return;
        }
        let audio = AudioChunk::mono(open.input_rate, input);
        match facecast_lipsync::analyze_with_text(&audio, &text) {
            Ok(frames) => {
                // Frames up to the last rendered video frame (or now) stay as shown.
                let cut = self.now.as_secs_f64().max(self.last_video_t);
                self.animator.clear_speech(cut);
                self.vis.clear();
                for mut f in frames {
                    if let Some(t) = media_secs(open, f.t) {
                        if t > cut {
                            f.t = t;
                            self.vis.push(f);
                        }
                    }
                }
                self.note_visemes(None);
                self.animator.push_visemes(&self.vis);
            }
            Err(e) => self.events.push_back(Event::Error {
                code: "lipsync_text".into(),
                message: format!("segment {}: {e}; using audio-only lip sync", open.id),
            }),
        }
    }

    /// Attach the transcript of an open segment for text-assisted lip sync. Call it before the
    /// segment's first audio; when the segment ends (all its audio known) the visemes not yet
    /// shown are replaced by ones aligned to the text. Until then, and if alignment fails
    /// (reported as [`Event::Error`] with code `lipsync_text`), audio-only lip sync is used.
    pub fn set_text(&mut self, segment: u64, text: &str) -> Result<(), EngineError> {
        self.check_open(segment)?;
        let open = self.open.as_mut().expect("checked open");
        if open.has_audio {
            return Err(EngineError::BadText(format!(
                "segment {segment} already has audio; set_text must come before push_audio"
            )));
        }
        open.text = (!text.trim().is_empty()).then(|| text.to_string());
        Ok(())
    }

    /// [`Session::speak`] with the clip's transcript (text-assisted lip sync).
    pub fn speak_with_text(&mut self, chunk: &AudioChunk, text: &str) -> Result<u64, EngineError> {
        let id = self.begin_segment();
        self.mark_complete();
        let res = self
            .set_text(id, text)
            .and_then(|_| self.push_audio(id, chunk));
        if let Err(e) = res {
            self.open = None;
            self.segments.retain(|s| s.id != id);
            return Err(e);
        }
        self.end_segment(id);
        Ok(id)
    }

    /// No more audio for this segment; it finishes when its last sample has played. A segment
    /// that got no audio finishes at once (`SegmentFinished` with `played_ms` 0, no
    /// `SegmentStarted`). Unknown or already ended ids are ignored.
    pub fn end_segment(&mut self, segment: u64) {
        let Some(mut open) = self.open.take_if(|o| o.id == segment) else {
            return;
        };
        self.resampled.clear();
        if let Some(r) = open.resampler.as_mut() {
            r.flush(&mut self.resampled);
        }
        let resampled = std::mem::take(&mut self.resampled);
        self.place(&mut open, &resampled);
        self.resampled = resampled;
        self.analyzer.flush();
        self.drain_analyzer(&mut open);
        self.apply_text(&mut open);
        if let Some(seg) = self.segments.iter_mut().find(|s| s.id == segment) {
            seg.ended = true;
        }
    }

    /// Speak one complete clip: `begin_segment` + `push_audio` + `end_segment`. On error nothing
    /// is queued and no events are reported for the segment.
    pub fn speak(&mut self, chunk: &AudioChunk) -> Result<u64, EngineError> {
        let id = self.begin_segment();
        self.mark_complete();
        if let Err(e) = self.push_audio(id, chunk) {
            self.open = None;
            self.segments.retain(|s| s.id != id);
            return Err(e);
        }
        self.end_segment(id);
        Ok(id)
    }

    fn mark_complete(&mut self) {
        if let Some(o) = self.open.as_mut() {
            o.complete = true;
        }
    }

    /// Low-latency clips: a clip given whole ([`Session::speak`], [`Session::speak_with_text`])
    /// starts playing at once (at the next 20 ms audio frame, or after the queued audio) instead
    /// of `L` after it arrives. This keeps the clock rule (the frame for `t` is rendered from the
    /// visemes for `t`): the clip is analysed to its end inside the call, before any of it plays.
    /// Streamed segments (`begin_segment` / `push_audio`) still wait `L`. Off by default (the
    /// simulated-clock tests pin the streaming rule); the server turns it on.
    pub fn set_fast_start(&mut self, on: bool) {
        self.fast_start = on;
    }

    /// Change the emotion now (eased over ~400 ms); reports [`Event::EmotionChanged`].
    pub fn set_emotion(&mut self, e: Emotion, intensity: f32) {
        let intensity = if intensity.is_finite() {
            intensity.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.animator
            .set_emotion(self.now.as_secs_f64(), e, intensity);
        self.events.push_back(Event::EmotionChanged {
            emotion: e.name().to_string(),
            intensity,
        });
    }

    /// Stop speaking now: drop all queued audio and visemes, finish every pending segment with
    /// `interrupted: true` and the audio actually sent; the face eases back to rest.
    pub fn interrupt(&mut self) {
        let at_ms = self.now.as_millis();
        for seg in self.segments.drain(..) {
            if !seg.started_emitted && seg.played > 0 {
                let at = seg.start.unwrap_or(self.now.0);
                self.events.push_back(Event::SegmentStarted {
                    segment: seg.id,
                    at_ms: at / SAMPLES_PER_MS,
                });
            }
            self.events.push_back(Event::SegmentFinished {
                segment: seg.id,
                at_ms,
                played_ms: seg.played / SAMPLES_PER_MS,
                interrupted: true,
            });
        }
        self.open = None;
        self.interrupted_upto = self.next_id - 1;
        self.queue.clear();
        self.runs.clear();
        self.analyzer.reset();
        self.animator.clear_speech(self.now.as_secs_f64());
        self.onsets.clear();
        self.prev_vis = None;
    }

    /// Advance the clock to `now` (never backwards).
    pub fn handle_timeout(&mut self, now: MediaTime) {
        if now > self.now {
            self.now = now;
        }
    }

    /// The current media time.
    pub fn now(&self) -> MediaTime {
        self.now
    }

    /// Whether a segment is open, queued or playing (speech not finished yet).
    pub fn speaking(&self) -> bool {
        !self.segments.is_empty()
    }

    /// Queued audio not yet sent, ms (including silent gaps before a segment starts).
    pub fn queued_ms(&self) -> u64 {
        self.queue.len() as u64 / SAMPLES_PER_MS
    }

    fn video_due(&self) -> u64 {
        MediaTime::of_frame(self.next_frame, self.cfg.fps).0
    }

    /// How early the next video frame may be emitted (see [`Session::set_video_lead`]): not while
    /// a streamed segment is open (its later visemes are not known yet).
    fn lead_now(&self) -> u64 {
        if self.open.as_ref().is_some_and(|o| !o.complete) {
            0
        } else {
            self.video_lead
        }
    }

    /// The next video frame's pts and whether it is a speech-onset frame (else the grid frame
    /// `next_frame`).
    fn next_video(&self) -> (u64, bool) {
        let grid = self.video_due();
        match self.onsets.front() {
            Some(&p) if p < grid => (p, true),
            _ => (grid, false),
        }
    }

    /// The pts of the video frame after the next one.
    fn video_after(&self, onset: bool) -> u64 {
        if onset {
            let grid = self.video_due();
            self.onsets.get(1).map_or(grid, |&p| p.min(grid))
        } else {
            let grid = MediaTime::of_frame(self.next_frame + 1, self.cfg.fps).0;
            self.onsets.front().map_or(grid, |&p| p.min(grid))
        }
    }

    /// Skip the next video frame without rendering it.
    fn skip_video(&mut self, onset: bool) {
        if onset {
            self.onsets.pop_front();
        } else {
            self.next_frame += 1;
        }
    }

    /// When the next video frame is emitted: its pts minus the lead.
    fn video_emit_at(&self) -> u64 {
        self.next_video().0.saturating_sub(self.lead_now())
    }

    /// Emit video frames up to `lead` before their pts (default 0), so that a caller whose
    /// render + encode takes about `lead` has the picture out by the frame's pts (the viewer's
    /// A/V sync then holds less audio back). The frame is still the animation state *at* its
    /// pts; it is emitted early only while every queued viseme is known (whole clips, ended
    /// segments, idle), never while a streamed segment is open, so a frame never misses the
    /// visemes of its time — except that a clip arriving less than `lead` before a frame's pts
    /// (the frame was already sampled) shows up one frame later. At most 40 ms (clamped).
    pub fn set_video_lead(&mut self, lead: MediaTime) {
        self.video_lead = lead.0.min(40 * SAMPLES_PER_MS);
    }

    /// Speech-onset frames: when a segment's speech starts (its first viseme frame with speech,
    /// at `tv` on the media clock — the segment's first audio frame for a clip that starts
    /// voiced, later when it starts with silence), emit one extra video frame at pts
    /// `tv +` [`ONSET_DELAY`], between two grid frames, unless a grid frame at or after `tv`
    /// is at most [`ONSET_MIN_GAP`] after that pts (it shows the onset soon enough). The mouth then
    /// moves on screen up to a frame interval earlier than the 1/fps grid allows. At most one per
    /// segment, none when the segment continues speech that was still going on (back-to-back
    /// segments). The grid is unchanged (frame `k` stays at `k/fps`: no drift); the extra frame
    /// follows every other video rule: the lead of [`Session::set_video_lead`], skipped while
    /// video is off, dropped by [`Session::set_drop_late_video`] when a later frame is also due,
    /// an [`Output::Face`] after [`Session::detach_renderer`], cancelled by
    /// [`Session::interrupt`]. Video pts therefore are increasing but not evenly spaced. Off by
    /// default (offline output and the simulated-clock tests keep the plain grid); the server
    /// turns it on for live sessions.
    pub fn set_onset_frames(&mut self, on: bool) {
        self.onset_frames = on;
        if !on {
            self.onsets.clear();
        }
    }

    /// The next segment event and its due time: (due, is_finish).
    fn segment_event_due(&self) -> Option<(u64, bool)> {
        let seg = self.segments.front()?;
        if !seg.started_emitted {
            if let Some(s) = seg.start {
                return Some((s, false));
            }
            if seg.ended {
                // Ended without any audio.
                return Some((self.now.0, true));
            }
            return None;
        }
        if seg.ended {
            Some((seg.end, true))
        } else {
            None
        }
    }

    /// When the next output is due (the caller sleeps until then).
    pub fn poll_timeout(&self) -> MediaTime {
        if !self.events.is_empty() {
            return self.now;
        }
        let mut t = if self.video_enabled {
            self.video_emit_at().min(self.audio_pos)
        } else {
            self.audio_pos
        };
        if let Some((due, _)) = self.segment_event_due() {
            t = t.min(due);
        }
        MediaTime(t)
    }

    /// The next output due at or before `now`, if any (events, then audio, then video at equal
    /// times).
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(e) = self.events.pop_front() {
            return Some(Output::Event(e));
        }
        let now = self.now.0;
        if !self.video_enabled {
            // Nobody needs pictures: let the frame clock run without rendering.
            while self.video_due() <= now {
                self.next_frame += 1;
            }
            while self.onsets.front().is_some_and(|&p| p <= now) {
                self.onsets.pop_front();
            }
        }
        let seg_due = self.segment_event_due();
        let audio_due = self.audio_pos;
        let video_due = self.video_enabled.then(|| self.video_emit_at());
        let mut best: Option<(u64, u8)> = None;
        for (due, kind) in [
            (seg_due.map(|d| d.0), 0u8),
            (Some(audio_due), 1),
            (video_due, 2),
        ] {
            if let Some(d) = due {
                if d <= now && best.is_none_or(|(b, _)| d < b) {
                    best = Some((d, kind));
                }
            }
        }
        match best?.1 {
            0 => Some(Output::Event(self.segment_event())),
            1 => Some(self.audio_frame()),
            _ => {
                if self.drop_late_video {
                    let lead = self.lead_now();
                    loop {
                        let (_, onset) = self.next_video();
                        if self.video_after(onset).saturating_sub(lead) > now {
                            break;
                        }
                        self.skip_video(onset);
                        self.dropped_frames += 1;
                    }
                }
                Some(self.video_frame())
            }
        }
    }

    fn segment_event(&mut self) -> Event {
        let seg = self.segments.front_mut().expect("segment event due");
        if !seg.started_emitted && seg.start.is_some() {
            seg.started_emitted = true;
            return Event::SegmentStarted {
                segment: seg.id,
                at_ms: seg.start.unwrap_or(0) / SAMPLES_PER_MS,
            };
        }
        let seg = self.segments.pop_front().expect("segment event due");
        let at = if seg.placed == 0 { self.now.0 } else { seg.end };
        Event::SegmentFinished {
            segment: seg.id,
            at_ms: at / SAMPLES_PER_MS,
            played_ms: seg.placed / SAMPLES_PER_MS,
            interrupted: false,
        }
    }

    fn audio_frame(&mut self) -> Output {
        let pts = MediaTime(self.audio_pos);
        let mut pcm = self.pcm_pool.pop().unwrap_or_default();
        pcm.clear();
        let n = self.queue.len().min(AUDIO_FRAME);
        pcm.extend(self.queue.drain(..n));
        pcm.resize(AUDIO_FRAME, 0);
        // Account what was sent to each segment.
        let mut left = n as u64;
        while left > 0 {
            let Some(run) = self.runs.front_mut() else {
                break;
            };
            let take = run.len.min(left);
            if let Some(id) = run.segment {
                if let Some(seg) = self.segments.iter_mut().find(|s| s.id == id) {
                    seg.played += take;
                }
            }
            run.len -= take;
            left -= take;
            if run.len == 0 {
                self.runs.pop_front();
            }
        }
        self.audio_pos += AUDIO_FRAME as u64;
        Output::Audio { pts, pcm }
    }

    fn video_frame(&mut self) -> Output {
        let (p, onset) = self.next_video();
        self.skip_video(onset);
        let pts = MediaTime(p);
        self.last_video_pts = Some(p);
        self.last_video_t = pts.as_secs_f64();
        self.animator
            .sample(pts.as_secs_f64(), &mut self.face, &mut self.pose);
        let Some(renderer) = self.renderer.as_mut() else {
            return Output::Face {
                pts,
                face: self.face,
                pose: self.pose,
            };
        };
        let mut frame = self
            .pool
            .pop()
            .unwrap_or_else(|| I420Frame::new(self.cfg.width, self.cfg.height));
        renderer.render(pts, &self.face, &self.pose, &mut frame);
        Output::Video { pts, frame }
    }

    /// Take the renderer out of the session, to render on another thread: from now on due video
    /// frames come out as [`Output::Face`] (the animation state at the frame's pts) instead of
    /// rendered [`Output::Video`], and the caller renders them with [`FrameRenderer::render`].
    /// The live server does this so that a render (milliseconds of CPU) never holds back the
    /// 20 ms audio frames. `None` when already detached.
    pub fn detach_renderer(&mut self) -> Option<FrameRenderer> {
        self.renderer.take()
    }

    /// Real-time mode: when several video frames are due at once (the caller fell behind), render
    /// only the newest and skip the older ones (counted in [`Session::dropped_frames`]) instead of
    /// rendering frames that are already too late. Off by default (offline rendering wants every
    /// frame). Audio and events are never dropped; a skipped-to frame may come out before audio
    /// due earlier.
    pub fn set_drop_late_video(&mut self, on: bool) {
        self.drop_late_video = on;
    }

    /// Turn rendering off (e.g. while a live session has no viewer: the server skips the whole
    /// render + encode cost) or back on. While off, no [`Output::Video`] comes out; audio, events,
    /// speech and animation time go on unchanged. Frames that fell due while off are skipped (neither
    /// rendered nor counted as dropped); when turned back on, the next frame is the first one not
    /// yet due.
    pub fn set_video_enabled(&mut self, on: bool) {
        if on && !self.video_enabled {
            while self.video_due() < self.now.0 {
                self.next_frame += 1;
            }
            while self.onsets.front().is_some_and(|&p| p < self.now.0) {
                self.onsets.pop_front();
            }
        }
        self.video_enabled = on;
    }

    /// Whether video frames are rendered (see [`Session::set_video_enabled`]).
    pub fn video_enabled(&self) -> bool {
        self.video_enabled
    }

    /// Video frames skipped by [`Session::set_drop_late_video`].
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }

    /// Give a video buffer back for reuse (no per-frame allocation once the pool is warm).
    pub fn recycle(&mut self, frame: I420Frame) {
        if frame.width == self.cfg.width && frame.height == self.cfg.height && self.pool.len() < 8 {
            self.pool.push(frame);
        }
    }

    /// Give an audio buffer back for reuse.
    pub fn recycle_pcm(&mut self, pcm: Vec<i16>) {
        if self.pcm_pool.len() < 16 {
            self.pcm_pool.push(pcm);
        }
    }

    /// The face weights and head pose of the last rendered video frame (for clients that
    /// animate the avatar themselves, e.g. over a data channel).
    pub fn last_face(&self) -> (&FaceWeights, &HeadPose) {
        (&self.face, &self.pose)
    }
}

/// Media time (s) of an offset (s) into the open segment's audio, through its breakpoints.
fn media_secs(open: &OpenSegment, t: f64) -> Option<f64> {
    let off = (t.max(0.0) * OUTPUT_RATE as f64).round() as u64;
    let (o, m) = open
        .breakpoints
        .iter()
        .rev()
        .find(|&&(o, _)| o <= off)
        .or(open.breakpoints.front())
        .copied()?;
    Some((m as f64 + off as f64 - o as f64) / OUTPUT_RATE as f64)
}

fn push_run(runs: &mut VecDeque<Run>, segment: Option<u64>, len: u64) {
    if let Some(last) = runs.back_mut() {
        if last.segment == segment {
            last.len += len;
            return;
        }
    }
    runs.push_back(Run { segment, len });
}

fn to_i16(x: f32) -> i16 {
    (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests;
