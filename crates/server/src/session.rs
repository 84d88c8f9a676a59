//! One live session: a dedicated thread drives the sans-IO [`facecast_engine::Session`] on the
//! wall clock, encodes audio once (Opus) and fans packets out to the session's WHEP viewers;
//! events go to WebSockets (broadcast channel) and data channels. Video is encoded once per codec
//! in use, on the shared video workers.
//!
//! Rendering is CPU work, so it runs on OS threads, not on the async runtime. The session thread
//! (`facecast-session-<id>`) owns the engine: it handles commands, advances the clock, Opus-encodes
//! and sends the 20 ms audio frames and the events, and samples the animation for each video
//! frame. The picture is rendered, encoded and sent by the server's video pool ([`crate::pool`]:
//! K threads `facecast-video-<k>` shared by all sessions, K = `--video-threads`, default the
//! number of cores), which runs the session's `VideoWorker` (the engine's detached
//! [`facecast_engine::FrameRenderer`] and the video encoders) for the session whose oldest
//! pending frame is due first. So a render or encode that takes 10-25 ms never delays an audio
//! packet: audio leaves on its exact 20 ms cadence, which keeps the browser's audio jitter buffer
//! (and, through A/V sync, the video delay) small; and with many sessions the cores go to the
//! frames due first rather than being shared evenly. If a session's video falls behind, only its
//! newest queued frame is rendered (the skipped ones count late). Frames are handed over 15 ms
//! (`VIDEO_LEAD_MS`) before their pts ([`facecast_engine::Session::set_video_lead`], only while
//! every queued viseme is known), so the picture is out by its pts. The session thread sleeps on
//! its command channel until the engine's next output is due (`recv_timeout`), so an idle session
//! costs one rendered frame per frame interval and nothing else. With no viewers the session
//! keeps its clock running (speech still plays out in real time and events still fire on the
//! WebSocket) but renders and encodes nothing ([`facecast_engine::Session::set_video_enabled`];
//! rendering is most of a session's CPU); the first viewer turns video on, and the first frame it
//! gets is a keyframe. Ending a session ([`SessionShared::close`], `DELETE`) stops its thread,
//! which drops its video handle: the pool runs its last commands and frees its video state, and
//! its viewers are sent `Close`.
//!
//! Live-mode engine settings: whole clips start at the next 20 ms audio frame instead of after the
//! lip-sync look-ahead (`set_fast_start`: the clip's visemes are all computed before it plays),
//! and a session that falls behind skips overdue frames instead of rendering each of them
//! (`set_drop_late_video`); skipped frames count in `frames_late` and
//! `facecast_frames_late_total`. Speech-onset frames (`set_onset_frames`): where a segment's
//! speech starts more than 10 ms before the next 25 fps grid frame, one extra frame at the onset
//! (+5 ms) shows the mouth moving up to ~30 ms sooner; it goes through the same video job and
//! encoders with its own pts (RTP timestamps come from pts, nothing assumes an even spacing;
//! `FACECAST_ONSET_FRAMES=0` turns it off for A/B runs). `FACECAST_TRACE_LATENCY=1` prints a
//! per-clip latency breakdown (speak handled → first audio frame out, the first three video
//! frames handed over after it: pts, render/send times, packets out of the encoders) to stderr.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use facecast_core::{
    AudioChunk, Codec, Emotion, EncodedPacket, FaceWeights, HeadPose, I420Frame, MediaTime,
    OUTPUT_RATE,
};
use facecast_encode::{EncoderOptions, OpusEncoder, VideoCodec, VideoConfig, VideoEncoder};
use facecast_engine::{EngineError, FrameRenderer, Output, Session, SessionConfig};
use facecast_rtc::PeerEvent;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::pool::{VideoHandle, VideoJob, VideoPool};

/// The server's video pool: all sessions' video jobs.
pub(crate) type ServerPool = VideoPool<VideoWorker>;

/// Reply channel.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, ApiError>>;

/// What the session thread is asked to do.
pub(crate) enum Cmd {
    Speak {
        chunk: AudioChunk,
        /// What the audio says (text-assisted lip sync), when known.
        text: Option<String>,
        reply: Reply<SpeakOk>,
    },
    BeginSegment {
        reply: Reply<u64>,
    },
    PushAudio {
        segment: u64,
        chunk: AudioChunk,
        reply: Reply<()>,
    },
    EndSegment {
        segment: u64,
    },
    Emotion {
        emotion: Emotion,
        intensity: f32,
    },
    Interrupt,
    AddPeer {
        id: String,
        codec: Codec,
        tx: mpsc::Sender<PeerMsg>,
    },
    Peer {
        id: String,
        event: PeerEvent,
    },
    PeerGone {
        id: String,
    },
    ClosePeer {
        id: String,
        reply: oneshot::Sender<bool>,
    },
}

/// What a WHEP peer task receives from its session.
#[derive(Clone, Debug)]
pub(crate) enum PeerMsg {
    Video(Arc<EncodedPacket>),
    Audio(Arc<EncodedPacket>),
    Event(Arc<str>),
    Close,
}

/// Result of queueing speech.
#[derive(Clone, Debug, Serialize)]
pub struct SpeakOk {
    /// Segment id.
    pub segment: u64,
    /// Duration of the queued audio, ms.
    pub duration_ms: u64,
    /// Audio queued ahead of playout after this request, ms.
    pub queued_ms: u64,
}

/// Parameters of a new session (validated by the engine).
#[derive(Clone, Debug)]
pub struct SessionParams {
    /// Avatar name.
    pub avatar_name: String,
    /// The avatar.
    pub avatar: Arc<facecast_core::model::Avatar>,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Emotion.
    pub emotion: Emotion,
    /// Background spec as given.
    pub background: Option<String>,
    /// Audio queue limit, ms.
    pub max_queue_ms: u64,
    /// Head motion amount (engine default when `None`).
    pub head_motion: Option<f32>,
    /// Animation seed (random when `None`).
    pub seed: Option<u64>,
    /// Level-of-detail error in pixels.
    pub lod_px: f32,
}

/// State visible to the HTTP side.
pub struct SessionShared {
    /// Id.
    pub id: String,
    /// Avatar name.
    pub avatar: String,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Fps.
    pub fps: u32,
    /// Background as given.
    pub background: Option<String>,
    /// Creation time (unix ms).
    pub created_unix_ms: u64,
    /// Media time zero on the wall clock.
    pub epoch: Instant,
    /// Current emotion and intensity.
    pub emotion: Mutex<(Emotion, f32)>,
    /// WHEP viewers (connecting or connected).
    pub viewers: AtomicUsize,
    /// Open WebSockets.
    pub ws_clients: AtomicUsize,
    /// Frames rendered.
    pub frames: AtomicU64,
    /// Late frames.
    pub late: AtomicU64,
    /// Queued audio ms.
    pub queued_ms: AtomicU64,
    /// Current media time ms.
    pub media_ms: AtomicU64,
    /// Segments queued.
    pub segments: AtomicU64,
    /// Target video bitrate (sum over codecs), bit/s.
    pub bitrate_bps: AtomicU64,
    /// Events as JSON, for WebSockets.
    pub events: broadcast::Sender<Arc<str>>,
    /// `None` once the session was ended (the session thread then stops).
    pub(crate) cmd: Mutex<Option<Sender<Cmd>>>,
}

impl SessionShared {
    /// Send a command; false when the session thread is gone.
    pub(crate) fn send(&self, c: Cmd) -> bool {
        self.cmd
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|tx| tx.send(c).is_ok())
    }

    /// End the session: its thread stops, closes its viewers and frees its video state.
    /// (The thread itself holds this struct, so dropping the registry's handle is not enough.)
    pub fn close(&self) {
        self.cmd.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Ask the thread and wait for the reply.
    pub(crate) async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Cmd) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        if !self.send(make(tx)) {
            return Err(ApiError::new(
                StatusCode::GONE,
                "session_ended",
                format!("session '{}' has ended", self.id),
            ));
        }
        rx.await.unwrap_or_else(|_| {
            Err(ApiError::new(
                StatusCode::GONE,
                "session_ended",
                format!("session '{}' has ended", self.id),
            ))
        })
    }

    /// JSON description.
    pub fn info(&self) -> serde_json::Value {
        let (e, i) = *self.emotion.lock().unwrap_or_else(|p| p.into_inner());
        serde_json::json!({
            "id": self.id,
            "avatar": self.avatar,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "background": self.background,
            "emotion": e.name(),
            "intensity": i,
            "viewers": self.viewers.load(Relaxed),
            "websockets": self.ws_clients.load(Relaxed),
            "frames_rendered": self.frames.load(Relaxed),
            "frames_late": self.late.load(Relaxed),
            "queued_ms": self.queued_ms.load(Relaxed),
            "media_time_ms": self.media_ms.load(Relaxed),
            "segments": self.segments.load(Relaxed),
            "video_bitrate_bps": self.bitrate_bps.load(Relaxed),
            "created_unix_ms": self.created_unix_ms,
        })
    }
}

/// Start a session thread. Resolves once the engine session exists (or failed to build).
pub(crate) async fn spawn(
    id: String,
    p: SessionParams,
    metrics: Arc<Metrics>,
    pool: Arc<ServerPool>,
) -> Result<Arc<SessionShared>, ApiError> {
    let (cmd_tx, cmd_rx) = std::sync::mpsc::channel();
    let (events, _) = broadcast::channel(256);
    let shared = Arc::new(SessionShared {
        id: id.clone(),
        avatar: p.avatar_name.clone(),
        width: p.width,
        height: p.height,
        fps: p.fps,
        background: p.background.clone(),
        created_unix_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
        epoch: Instant::now(),
        emotion: Mutex::new((p.emotion, 1.0)),
        viewers: AtomicUsize::new(0),
        ws_clients: AtomicUsize::new(0),
        frames: AtomicU64::new(0),
        late: AtomicU64::new(0),
        queued_ms: AtomicU64::new(0),
        media_ms: AtomicU64::new(0),
        segments: AtomicU64::new(0),
        bitrate_bps: AtomicU64::new(0),
        events,
        cmd: Mutex::new(Some(cmd_tx)),
    });
    let (ready_tx, ready_rx) = oneshot::channel::<Result<(), ApiError>>();
    let sh = shared.clone();
    std::thread::Builder::new()
        .name(format!("facecast-session-{id}"))
        .spawn(move || {
            let mut engine = match build_engine(&p) {
                Ok(e) => e,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let Some(renderer) = engine.detach_renderer() else {
                let _ = ready_tx.send(Err(ApiError::internal("session renderer missing")));
                return;
            };
            let video = pool.register(VideoWorker::new(renderer, sh.clone(), metrics.clone(), &p));
            drop(pool);
            let _ = ready_tx.send(Ok(()));
            SessionLoop::new(engine, sh, cmd_rx, video, metrics, &p).run();
        })
        .map_err(|e| ApiError::internal(format!("cannot start a session thread: {e}")))?;
    ready_rx
        .await
        .unwrap_or_else(|_| Err(ApiError::internal("session thread died while starting")))?;
    Ok(shared)
}

fn build_engine(p: &SessionParams) -> Result<Session, ApiError> {
    let mut cfg = SessionConfig::new(p.avatar.clone());
    cfg.width = p.width;
    cfg.height = p.height;
    cfg.fps = p.fps;
    cfg.emotion = p.emotion;
    cfg.max_queue_ms = p.max_queue_ms;
    cfg.lod_px = p.lod_px;
    if let Some(h) = p.head_motion {
        cfg.head_motion = h;
    }
    cfg.seed = p.seed.unwrap_or_else(|| fastrand::u64(..));
    if let Some(bg) = &p.background {
        cfg.background = bg.parse().map_err(|e| ApiError::invalid("background", e))?;
    }
    cfg.validate()
        .map_err(|e| ApiError::invalid("session", e))?;
    let mut s = Session::new(cfg).map_err(|e| ApiError::invalid("session", e))?;
    // Live output: a session that fell behind skips overdue frames (counted late) instead of
    // rendering every one of them, and whole clips play at once (their visemes are all known).
    s.set_drop_late_video(true);
    // `FACECAST_FAST_START=0` (diagnostic, for A/B latency runs) restores the look-ahead wait.
    s.set_fast_start(std::env::var_os("FACECAST_FAST_START").is_none_or(|v| v != "0"));
    // Video frames go to the video pool this much before their pts (about one render +
    // encode), so the picture reaches the viewer with its audio instead of ~15 ms after it.
    // `FACECAST_VIDEO_LEAD_MS` (diagnostic, for A/B latency runs) overrides it.
    let lead_ms = std::env::var("FACECAST_VIDEO_LEAD_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(VIDEO_LEAD_MS);
    s.set_video_lead(MediaTime::from_millis(lead_ms));
    // Speech-onset frames: one extra frame where a clip's speech starts between two grid frames,
    // so the mouth moves up to a frame interval sooner. `FACECAST_ONSET_FRAMES=0` (diagnostic,
    // for A/B latency runs) keeps the plain grid.
    s.set_onset_frames(std::env::var_os("FACECAST_ONSET_FRAMES").is_none_or(|v| v != "0"));
    // No viewer yet: the clock, audio, speech and events run, but nothing is rendered (rendering
    // is most of a session's CPU); the first WHEP viewer turns video on.
    s.set_video_enabled(false);
    Ok(s)
}

struct PeerSlot {
    id: String,
    codec: Codec,
    tx: mpsc::Sender<PeerMsg>,
    estimate_bps: Option<u64>,
}

struct VideoEnc {
    enc: VideoEncoder,
    force_key: bool,
    last_key: Option<Instant>,
}

/// What the session thread tells its video job (run by the video pool's workers).
// `Frame` carries the face weights inline (~300 bytes): boxing them would allocate per frame.
#[allow(clippy::large_enum_variant)]
pub(crate) enum VideoCmd {
    /// Render, encode and send the frame for `pts`.
    Frame {
        pts: MediaTime,
        face: FaceWeights,
        pose: HeadPose,
        /// `FACECAST_TRACE_LATENCY`: (speak handled at, segment start ms when already known).
        trace: Option<(Instant, Option<u64>)>,
    },
    /// The current viewers: (codec, channel). Encoders follow the codecs in use.
    Peers(Vec<(Codec, mpsc::Sender<PeerMsg>)>),
    /// Next frame of this codec is a keyframe (rate-limited).
    ForceKey(Codec),
    /// New target bitrate of a codec's encoder.
    Bitrate(Codec, u32),
}

/// The video side of a session: renders, encodes and fans out video frames. It has no thread of
/// its own: the video pool's workers run it ([`VideoJob::run`]), one at a time.
pub(crate) struct VideoWorker {
    renderer: FrameRenderer,
    frame: I420Frame,
    shared: Arc<SessionShared>,
    metrics: Arc<Metrics>,
    width: u32,
    height: u32,
    fps: u32,
    frame_interval: Duration,
    peers: Vec<(Codec, mpsc::Sender<PeerMsg>)>,
    encoders: HashMap<Codec, VideoEnc>,
    /// Target bitrates as last set by the session thread.
    bitrates: HashMap<Codec, u32>,
    packets: Vec<Arc<EncodedPacket>>,
}

struct SessionLoop {
    engine: Session,
    shared: Arc<SessionShared>,
    rx: Receiver<Cmd>,
    video: VideoHandle<VideoWorker>,
    metrics: Arc<Metrics>,
    width: u32,
    height: u32,
    fps: u32,
    peers: Vec<PeerSlot>,
    /// Target bitrate per codec in use (the encoders live in the video job).
    bitrates: HashMap<Codec, u32>,
    opus: Option<OpusEncoder>,
    opus_buf: Vec<u8>,
    max_queue: u64,
    next_position_ms: u64,
    /// Engine-skipped overdue frames already counted late.
    dropped_seen: u64,
    /// `FACECAST_TRACE_LATENCY=1`: print a latency breakdown of each spoken clip to stderr.
    trace_latency: bool,
    /// (speak handled at, segment start ms once known, frames traced so far)
    probe: Option<(Instant, Option<u64>, u32)>,
    audio_late_max: Duration,
    audio_late_sum: Duration,
    audio_late_n: u32,
}

/// Video frames are handed to the video pool this long before their pts (render + encode).
const VIDEO_LEAD_MS: u64 = 15;

/// Period of `position` events, media ms.
const POSITION_EVERY_MS: u64 = 500;

/// Sending speech in bursts is normal; keep the per-frame work bounded anyway.
const MIN_VIDEO_BPS: u32 = 100_000;

impl SessionLoop {
    fn new(
        engine: Session,
        shared: Arc<SessionShared>,
        rx: Receiver<Cmd>,
        video: VideoHandle<VideoWorker>,
        metrics: Arc<Metrics>,
        p: &SessionParams,
    ) -> Self {
        SessionLoop {
            engine,
            shared,
            rx,
            video,
            metrics,
            width: p.width,
            height: p.height,
            fps: p.fps,
            peers: Vec::new(),
            bitrates: HashMap::new(),
            opus: None,
            opus_buf: Vec::with_capacity(1500),
            max_queue: p.max_queue_ms,
            next_position_ms: 0,
            dropped_seen: 0,
            trace_latency: std::env::var_os("FACECAST_TRACE_LATENCY").is_some_and(|v| v == "1"),
            probe: None,
            audio_late_max: Duration::ZERO,
            audio_late_sum: Duration::ZERO,
            audio_late_n: 0,
        }
    }

    fn media_now(&self) -> MediaTime {
        let d = self.shared.epoch.elapsed();
        MediaTime((d.as_nanos() * OUTPUT_RATE as u128 / 1_000_000_000) as u64)
    }

    fn wall_of(&self, t: MediaTime) -> Instant {
        self.shared.epoch + Duration::from_nanos(t.samples() * 1_000_000_000 / OUTPUT_RATE as u64)
    }

    fn run(mut self) {
        loop {
            let due = self.wall_of(self.engine.poll_timeout());
            let wait = due.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(wait) {
                Ok(cmd) => {
                    self.handle(cmd);
                    // Handle everything already queued before producing output.
                    while let Ok(c) = self.rx.try_recv() {
                        self.handle(c);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let produced = self.step();
            if !produced && due <= Instant::now() {
                // The engine said something was due but produced nothing: do not spin.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        for p in self.peers.drain(..) {
            let _ = p.tx.try_send(PeerMsg::Close);
        }
        self.shared.viewers.store(0, Relaxed);
        self.publish_bitrate(0);
    }

    fn publish_bitrate(&self, new_total: u64) {
        let old = self.shared.bitrate_bps.swap(new_total, Relaxed);
        if new_total >= old {
            self.metrics
                .video_bitrate_bps
                .fetch_add(new_total - old, Relaxed);
        } else {
            self.metrics
                .video_bitrate_bps
                .fetch_sub(old - new_total, Relaxed);
        }
    }

    /// Advance the engine to now and process its output. Returns whether anything came out.
    fn step(&mut self) -> bool {
        let now = self.media_now();
        self.engine.handle_timeout(now);
        let mut produced = false;
        while let Some(out) = self.engine.poll_output() {
            produced = true;
            match out {
                Output::Face { pts, face, pose } => {
                    // Frames handed over after the speak (with the video lead, a speech-onset
                    // frame goes out before the segment's start event).
                    let trace = match &mut self.probe {
                        Some((t_speak, start_ms, n))
                            if start_ms.is_none_or(|s| pts.as_millis() >= s) =>
                        {
                            let t = (*t_speak, *start_ms);
                            *n += 1;
                            if *n >= 3 {
                                self.probe = None;
                            }
                            Some(t)
                        }
                        _ => None,
                    };
                    let due = self.wall_of(pts);
                    self.video.send(
                        VideoCmd::Frame {
                            pts,
                            face,
                            pose,
                            trace,
                        },
                        Some(due),
                    );
                }
                Output::Video { frame, .. } => {
                    // Not produced once the renderer is detached; keep the buffer cycle intact.
                    self.engine.recycle(frame);
                }
                Output::Audio { pts, pcm } => {
                    // How late audio leaves (send jitter grows the browser's audio jitter buffer,
                    // and video is played in sync with audio).
                    let late = Instant::now().saturating_duration_since(self.wall_of(pts));
                    if !self.peers.is_empty() {
                        self.metrics.audio_send_late_seconds.observe(late);
                    }
                    if self.trace_latency {
                        if late > Duration::from_millis(15) && !self.peers.is_empty() {
                            facecast_core::diag!(
                                "latency session {}: audio frame pts {} ms sent {:.1} ms late",
                                self.shared.id,
                                pts.as_millis(),
                                late.as_secs_f64() * 1e3
                            );
                        }
                        self.audio_late_max = self.audio_late_max.max(late);
                        self.audio_late_sum += late;
                        self.audio_late_n += 1;
                        if self.audio_late_n == 250 {
                            facecast_core::diag!(
                                "latency session {}: audio frames sent after their pts: mean {:.1} ms, max {:.1} ms (last 5 s, {} viewers)",
                                self.shared.id,
                                self.audio_late_sum.as_secs_f64() * 1e3 / 250.0,
                                self.audio_late_max.as_secs_f64() * 1e3,
                                self.peers.len()
                            );
                            self.audio_late_max = Duration::ZERO;
                            self.audio_late_sum = Duration::ZERO;
                            self.audio_late_n = 0;
                        }
                    }
                    self.audio(pts, &pcm);
                    self.engine.recycle_pcm(pcm);
                }
                Output::Event(ev) => self.event(&ev),
            }
        }
        let dropped = self.engine.dropped_frames();
        for _ in self.dropped_seen..dropped {
            count_late(&self.metrics, &self.shared);
        }
        self.dropped_seen = dropped;
        self.shared
            .queued_ms
            .store(self.engine.queued_ms(), Relaxed);
        let now_ms = self.engine.now().as_millis();
        self.shared.media_ms.store(now_ms, Relaxed);
        if now_ms >= self.next_position_ms {
            self.next_position_ms = now_ms - now_ms % POSITION_EVERY_MS + POSITION_EVERY_MS;
            self.event(&facecast_core::Event::Position { at_ms: now_ms });
        }
        produced
    }

    fn audio(&mut self, pts: MediaTime, pcm: &[i16]) {
        if self.peers.is_empty() {
            return;
        }
        if self.opus.is_none() {
            // Live speech: the cheaper complexity keeps it clear at half the encoder's CPU.
            match OpusEncoder::new(32_000).and_then(|mut o| {
                o.set_complexity(facecast_encode::LIVE_COMPLEXITY)
                    .map(|_| o)
            }) {
                Ok(o) => self.opus = Some(o),
                Err(e) => {
                    tracing::warn!("opus encoder: {e}");
                    self.metrics.error("encode_failed");
                    return;
                }
            }
        }
        let Some(opus) = self.opus.as_mut() else {
            return;
        };
        self.opus_buf.clear();
        if let Err(e) = opus.encode(pcm, &mut self.opus_buf) {
            tracing::warn!("opus encode: {e}");
            self.metrics.error("encode_failed");
            return;
        }
        self.metrics.audio_packets.fetch_add(1, Relaxed);
        let pkt = EncodedPacket {
            codec: Codec::Opus,
            pts,
            duration: MediaTime(pcm.len() as u64),
            keyframe: true,
            data: self.opus_buf.clone(),
        };
        self.fan_out(None, PeerMsg::Audio(Arc::new(pkt)));
    }

    fn event(&mut self, ev: &facecast_core::Event) {
        if let (facecast_core::Event::SegmentStarted { at_ms, .. }, Some(p)) = (ev, &mut self.probe)
        {
            if p.1.is_none() {
                p.1 = Some(*at_ms);
                facecast_core::diag!(
                    "latency session {}: speak handled -> first audio frame out {:.1} ms (segment start at media {} ms)",
                    self.shared.id,
                    p.0.elapsed().as_secs_f64() * 1e3,
                    at_ms
                );
            }
        }
        let json: Arc<str> = match serde_json::to_string(ev) {
            Ok(s) => s.into(),
            Err(_) => return,
        };
        if let facecast_core::Event::EmotionChanged { emotion, intensity } = ev {
            if let Some(e) = Emotion::from_name(emotion) {
                *self
                    .shared
                    .emotion
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = (e, *intensity);
            }
        }
        let _ = self.shared.events.send(json.clone());
        if !self.peers.is_empty() {
            self.fan_out(None, PeerMsg::Event(json));
        }
    }

    /// Send to every peer (of `codec`, when given); drop peers whose task is gone.
    fn fan_out(&mut self, codec: Option<Codec>, msg: PeerMsg) {
        let mut gone = Vec::new();
        for p in &self.peers {
            if codec.is_some_and(|c| c != p.codec) {
                continue;
            }
            match p.tx.try_send(msg.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => self.metrics.error("viewer_backlog"),
                Err(mpsc::error::TrySendError::Closed(_)) => gone.push(p.id.clone()),
            }
        }
        for id in gone {
            self.remove_peer(&id);
        }
    }

    fn remove_peer(&mut self, id: &str) -> bool {
        let Some(i) = self.peers.iter().position(|p| p.id == id) else {
            return false;
        };
        let p = self.peers.swap_remove(i);
        let _ = p.tx.try_send(PeerMsg::Close);
        self.shared.viewers.store(self.peers.len(), Relaxed);
        if !self.peers.iter().any(|q| q.codec == p.codec) {
            self.bitrates.remove(&p.codec);
        }
        if self.peers.is_empty() {
            self.opus = None;
            self.engine.set_video_enabled(false);
        }
        self.send_peers();
        self.update_bitrates();
        true
    }

    /// Tell the video job who watches (it keeps one encoder per codec in use).
    fn send_peers(&self) {
        let list = self.peers.iter().map(|p| (p.codec, p.tx.clone())).collect();
        self.video.send(VideoCmd::Peers(list), None);
    }

    fn update_bitrates(&mut self) {
        let mut total = 0u64;
        let cap = VideoConfig::default_bitrate(self.width, self.height, self.fps).saturating_mul(3);
        for (codec, bitrate) in self.bitrates.iter_mut() {
            let est = self
                .peers
                .iter()
                .filter(|p| p.codec == *codec)
                .filter_map(|p| p.estimate_bps)
                .min();
            let target = match est {
                // Leave room for audio (32k) and RTCP/RTX overhead.
                Some(e) => ((e as f64 * 0.85) as u64)
                    .saturating_sub(40_000)
                    .clamp(MIN_VIDEO_BPS as u64, cap as u64) as u32,
                None => *bitrate,
            };
            let changed = (target as f64 - *bitrate as f64).abs() > *bitrate as f64 * 0.05;
            if changed {
                *bitrate = target;
                self.video.send(VideoCmd::Bitrate(*codec, target), None);
            }
            total += *bitrate as u64;
        }
        self.publish_bitrate(total);
    }

    fn add_peer(&mut self, id: String, codec: Codec, tx: mpsc::Sender<PeerMsg>) {
        self.bitrates.entry(codec).or_insert_with(|| {
            VideoConfig::new(video_codec(codec), self.width, self.height, self.fps).bitrate_bps
        });
        self.peers.push(PeerSlot {
            id,
            codec,
            tx,
            estimate_bps: None,
        });
        self.shared.viewers.store(self.peers.len(), Relaxed);
        self.engine.set_video_enabled(true);
        self.send_peers();
        self.update_bitrates();
    }

    fn check_queue(&self, add_ms: u64, max: u64) -> Result<(), ApiError> {
        let q = self.engine.queued_ms();
        if q + add_ms > max {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "queue_full",
                format!(
                    "audio queue would hold {} ms, over the limit of {max} ms (now {q} ms queued)",
                    q + add_ms
                ),
            ));
        }
        Ok(())
    }

    fn handle(&mut self, cmd: Cmd) {
        let max_q = self.max_queue_ms();
        match cmd {
            Cmd::Speak { chunk, text, reply } => {
                let dur = (chunk.duration_secs() * 1000.0).round() as u64;
                if self.trace_latency {
                    self.probe = Some((Instant::now(), None, 0));
                }
                let r = self.check_queue(dur, max_q).and_then(|_| {
                    match &text {
                        Some(t) => self.engine.speak_with_text(&chunk, t),
                        None => self.engine.speak(&chunk),
                    }
                    .map_err(|e| engine_err(&e))
                    .map(|segment| {
                        self.metrics.segments.fetch_add(1, Relaxed);
                        self.shared.segments.fetch_add(1, Relaxed);
                        SpeakOk {
                            segment,
                            duration_ms: dur,
                            queued_ms: self.engine.queued_ms(),
                        }
                    })
                });
                if let Err(e) = &r {
                    self.metrics.error(e.code);
                }
                let _ = reply.send(r);
            }
            Cmd::BeginSegment { reply } => {
                let s = self.engine.begin_segment();
                self.metrics.segments.fetch_add(1, Relaxed);
                self.shared.segments.fetch_add(1, Relaxed);
                let _ = reply.send(Ok(s));
            }
            Cmd::PushAudio {
                segment,
                chunk,
                reply,
            } => {
                let dur = (chunk.duration_secs() * 1000.0).ceil() as u64;
                let r = self.check_queue(dur, max_q).and_then(|_| {
                    self.engine
                        .push_audio(segment, &chunk)
                        .map_err(|e| engine_err(&e))
                });
                let _ = reply.send(r);
            }
            Cmd::EndSegment { segment } => self.engine.end_segment(segment),
            Cmd::Emotion { emotion, intensity } => {
                self.engine.set_emotion(emotion, intensity);
                *self
                    .shared
                    .emotion
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = (emotion, intensity);
            }
            Cmd::Interrupt => self.engine.interrupt(),
            Cmd::AddPeer { id, codec, tx } => self.add_peer(id, codec, tx),
            Cmd::Peer { id, event } => match event {
                PeerEvent::KeyframeRequest | PeerEvent::Connected => {
                    if let Some(p) = self.peers.iter().find(|p| p.id == id) {
                        self.video.send(VideoCmd::ForceKey(p.codec), None);
                    }
                }
                PeerEvent::BitrateEstimate(bps) => {
                    if let Some(p) = self.peers.iter_mut().find(|p| p.id == id) {
                        p.estimate_bps = Some(bps);
                    }
                    self.update_bitrates();
                }
                PeerEvent::Disconnected => {
                    self.remove_peer(&id);
                }
                _ => {}
            },
            Cmd::PeerGone { id } => {
                self.remove_peer(&id);
            }
            Cmd::ClosePeer { id, reply } => {
                let found = self.remove_peer(&id);
                let _ = reply.send(found);
            }
        }
    }

    fn max_queue_ms(&self) -> u64 {
        self.max_queue
    }
}

fn video_codec(codec: Codec) -> VideoCodec {
    match codec {
        Codec::Vp8 => VideoCodec::Vp8,
        _ => VideoCodec::H264,
    }
}

fn count_late(metrics: &Metrics, shared: &SessionShared) {
    metrics.frames_late.fetch_add(1, Relaxed);
    shared.late.fetch_add(1, Relaxed);
}

impl VideoJob for VideoWorker {
    type Cmd = VideoCmd;

    /// Apply control messages in order; of several queued frames render only the newest (the
    /// older ones are already late).
    fn run(&mut self, cmds: &mut Vec<VideoCmd>) {
        let mut job = None;
        for cmd in cmds.drain(..) {
            match cmd {
                VideoCmd::Frame {
                    pts,
                    face,
                    pose,
                    trace,
                } => {
                    if job.replace((pts, face, pose, trace)).is_some() {
                        count_late(&self.metrics, &self.shared);
                    }
                }
                VideoCmd::Peers(list) => self.set_peers(list),
                VideoCmd::ForceKey(codec) => {
                    if let Some(ve) = self.encoders.get_mut(&codec) {
                        ve.force_key = true;
                    }
                }
                VideoCmd::Bitrate(codec, bps) => {
                    self.bitrates.insert(codec, bps);
                    if let Some(ve) = self.encoders.get_mut(&codec) {
                        ve.enc.set_bitrate(bps);
                    }
                }
            }
        }
        if let Some((pts, face, pose, trace)) = job {
            self.frame(pts, &face, &pose, trace);
        }
    }
}

impl Drop for VideoWorker {
    /// The session ended (its handle dropped and its last commands run): close its viewers.
    fn drop(&mut self) {
        for (_, tx) in self.peers.drain(..) {
            let _ = tx.try_send(PeerMsg::Close);
        }
    }
}

impl VideoWorker {
    fn new(
        renderer: FrameRenderer,
        shared: Arc<SessionShared>,
        metrics: Arc<Metrics>,
        p: &SessionParams,
    ) -> Self {
        VideoWorker {
            renderer,
            frame: I420Frame::new(p.width, p.height),
            shared,
            metrics,
            width: p.width,
            height: p.height,
            fps: p.fps,
            frame_interval: Duration::from_secs_f64(1.0 / p.fps.max(1) as f64),
            peers: Vec::new(),
            encoders: HashMap::new(),
            bitrates: HashMap::new(),
            packets: Vec::new(),
        }
    }

    fn wall_of(&self, t: MediaTime) -> Instant {
        self.shared.epoch + Duration::from_nanos(t.samples() * 1_000_000_000 / OUTPUT_RATE as u64)
    }

    /// New viewer list: create the encoders of new codecs (first frame a keyframe), drop unused.
    fn set_peers(&mut self, list: Vec<(Codec, mpsc::Sender<PeerMsg>)>) {
        self.peers = list;
        let peers = &self.peers;
        self.encoders
            .retain(|c, _| peers.iter().any(|(pc, _)| pc == c));
        self.bitrates
            .retain(|c, _| peers.iter().any(|(pc, _)| pc == c));
        for i in 0..self.peers.len() {
            let codec = self.peers[i].0;
            if self.encoders.contains_key(&codec) {
                continue;
            }
            let mut cfg = VideoConfig::new(video_codec(codec), self.width, self.height, self.fps);
            if let Some(&bps) = self.bitrates.get(&codec) {
                cfg.bitrate_bps = bps;
            }
            match VideoEncoder::with_options(cfg, EncoderOptions::realtime(self.fps)) {
                Ok(enc) => {
                    self.encoders.insert(
                        codec,
                        VideoEnc {
                            enc,
                            force_key: true,
                            last_key: None,
                        },
                    );
                }
                Err(e) => {
                    tracing::warn!(
                        "session {}: cannot create a {codec:?} encoder: {e}",
                        self.shared.id
                    );
                    self.metrics.error("encoder_unavailable");
                    // Their tasks end; the session thread then drops them (channel closed).
                    for (c, tx) in &self.peers {
                        if *c == codec {
                            let _ = tx.try_send(PeerMsg::Close);
                        }
                    }
                }
            }
        }
    }

    fn frame(
        &mut self,
        pts: MediaTime,
        face: &FaceWeights,
        pose: &HeadPose,
        trace: Option<(Instant, Option<u64>)>,
    ) {
        let t0 = Instant::now();
        self.renderer.render(pts, face, pose, &mut self.frame);
        self.metrics.render_seconds.observe(t0.elapsed());
        self.metrics.frames_rendered.fetch_add(1, Relaxed);
        self.shared.frames.fetch_add(1, Relaxed);
        let now = Instant::now();
        let due = self.wall_of(pts);
        let behind = now.saturating_duration_since(due);
        if behind > self.frame_interval {
            count_late(&self.metrics, &self.shared);
        }
        let t_enc = Instant::now();
        let packets = self.encode(pts);
        if let Some((t_speak, start_ms)) = trace {
            let rel = match start_ms {
                Some(s) => format!("segment start +{} ms", pts.as_millis().saturating_sub(s)),
                None => "before the segment start event".to_string(),
            };
            facecast_core::diag!(
                "latency session {}: frame pts {} ms ({rel}), out {:.1} ms after speak; rendered {:+.1} ms after its pts, encode+send {:.1} ms, {packets} packets",
                self.shared.id,
                pts.as_millis(),
                t_speak.elapsed().as_secs_f64() * 1e3,
                behind.as_secs_f64() * 1e3 - due.saturating_duration_since(now).as_secs_f64() * 1e3,
                t_enc.elapsed().as_secs_f64() * 1e3
            );
        }
    }

    /// Encode the current frame for every codec in use and send it; returns the packets sent
    /// out of the encoders (0 when rate control skipped the frame).
    fn encode(&mut self, pts: MediaTime) -> usize {
        let mut sent = 0;
        for (codec, ve) in self.encoders.iter_mut() {
            let mut force = ve.force_key;
            if force {
                // At most one requested keyframe per 300 ms per codec.
                if ve
                    .last_key
                    .is_some_and(|t| t.elapsed() < Duration::from_millis(300))
                {
                    force = false;
                } else {
                    ve.force_key = false;
                    ve.last_key = Some(Instant::now());
                }
            }
            let t0 = Instant::now();
            if let Err(e) = ve.enc.send_frame(&self.frame, pts, force) {
                tracing::warn!("session {}: encode error: {e}", self.shared.id);
                self.metrics.error("encode_failed");
                continue;
            }
            self.packets.clear();
            while let Some(p) = ve.enc.receive_packet() {
                self.packets.push(Arc::new(p));
            }
            self.metrics.encode_seconds.observe(t0.elapsed());
            self.metrics.frames_encoded.fetch_add(1, Relaxed);
            sent += self.packets.len();
            for p in self.packets.drain(..) {
                for (c, tx) in &self.peers {
                    if c != codec {
                        continue;
                    }
                    match tx.try_send(PeerMsg::Video(p.clone())) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            self.metrics.error("viewer_backlog")
                        }
                        // The session thread drops closed peers.
                        Err(mpsc::error::TrySendError::Closed(_)) => {}
                    }
                }
            }
        }
        sent
    }
}

fn engine_err(e: &EngineError) -> ApiError {
    let msg = e.to_string();
    match e {
        EngineError::QueueFull { .. } => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "queue_full", msg)
        }
        EngineError::UnknownSegment { .. } | EngineError::SegmentClosed { .. } => {
            ApiError::new(StatusCode::CONFLICT, "segment_closed", msg)
        }
        _ => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_audio", msg),
    }
}
