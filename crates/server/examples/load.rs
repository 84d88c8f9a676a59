//! Load benchmark: N concurrent sessions (default 512x512 at 25 fps) speaking for D seconds each,
//! in-process, each with one H.264 encoder and one Opus encoder as a WebRTC viewer would cause
//! (no network, no browser). Each session runs on its own thread paced by the wall clock exactly
//! like the server's session loop. Prints CPU use, late frames, render/encode times and memory
//! (RSS) per session.
//!
//! By default all sessions start at the same instant, so their frames fall due together (the worst
//! case); `--stagger` spreads their start times evenly over one frame interval, as sessions created
//! at arbitrary moments on a real server are.
//!
//! `--lead-ms N` hands each frame over N ms before its pts, as the server does (its video workers
//! get frames 15 ms early, `VIDEO_LEAD_MS`, while every queued viseme is known, which is always
//! the case for the whole clips spoken here); default 0, i.e. rendering starts at the pts. A frame
//! counts late either way when its render ends more than one frame interval after its pts.
//!
//! Besides the process CPU, each session thread's CPU time is split into animation + render,
//! encode, audio frames + Opus, `speak` (lip-sync analysis) and the rest (pacing, polling).
//!
//! Threading, as in the server: each session's thread drives its engine (clock, audio + Opus,
//! animation) and hands its frames to the server's video pool (`facecast_server::pool`, the same
//! code the server runs): K worker threads shared by all sessions render + encode the frame due
//! first. `--pool K` sets K (default: the number of cores, as the server). For comparison,
//! `--threads-per-session` gives each session its own one-worker pool (the server's former model:
//! a session thread plus a video thread per session, shared by the kernel without regard to
//! deadlines), and `--inline` renders and encodes on the session's own thread (one thread per
//! session).
//!
//! ```text
//! cargo run --release -p facecast-server --example load -- [SESSIONS] [SECONDS] [--size WxH] [--fps N] [--audio FILE] [--stagger] [--lead-ms N] [--pool K | --threads-per-session | --inline]
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use facecast_core::{Codec, FaceWeights, HeadPose, I420Frame, MediaTime, OUTPUT_RATE};
use facecast_encode::{EncoderOptions, OpusEncoder, VideoCodec, VideoConfig, VideoEncoder};
use facecast_engine::{FrameRenderer, Output, Session, SessionConfig};
use facecast_server::pool::{VideoJob, VideoPool};

#[derive(Default, Debug, Clone)]
struct Stats {
    frames: u64,
    late: u64,
    skipped: u64,
    /// Overdue frames the engine skipped without rendering (also counted in `late`).
    dropped: u64,
    /// Frames handed to the video pool but never rendered: a newer frame of the session was
    /// queued before a worker got to it (also counted in `late`).
    superseded: u64,
    render_ns: u64,
    encode_ns: u64,
    bytes: u64,
    audio_packets: u64,
    segments: u64,
    /// Speech-onset frames (between two grid frames), included in `frames`.
    onset: u64,
    /// Thread CPU time: animation + render of the video frames, their encode, and everything
    /// (all work of the session's thread, including those two).
    cpu_render_ns: u64,
    cpu_encode_ns: u64,
    /// Audio frames out of the engine + their Opus encode.
    cpu_audio_ns: u64,
    /// `speak` (resampling + lip-sync analysis of each clip).
    cpu_speak_ns: u64,
    cpu_total_ns: u64,
}

impl Stats {
    /// Adds `o`'s counts to these.
    fn add(&mut self, o: &Stats) {
        self.frames += o.frames;
        self.late += o.late;
        self.skipped += o.skipped;
        self.dropped += o.dropped;
        self.superseded += o.superseded;
        self.render_ns += o.render_ns;
        self.encode_ns += o.encode_ns;
        self.bytes += o.bytes;
        self.audio_packets += o.audio_packets;
        self.segments += o.segments;
        self.onset += o.onset;
        self.cpu_render_ns += o.cpu_render_ns;
        self.cpu_encode_ns += o.cpu_encode_ns;
        self.cpu_audio_ns += o.cpu_audio_ns;
        self.cpu_speak_ns += o.cpu_speak_ns;
        self.cpu_total_ns += o.cpu_total_ns;
    }
}

/// CPU time used by the calling thread, ns (exact, unlike the 10 ms ticks of /proc).
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // Safety: `ts` is a valid, writable timespec for the duration of the call, and
    // CLOCK_THREAD_CPUTIME_ID is supported on every Linux this runs on (on failure `ts` stays 0).
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn proc_cpu_secs() -> f64 {
    // utime + stime of this process, in clock ticks (100 Hz on Linux).
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// What every session of a run does.
#[derive(Clone, Copy)]
struct Run {
    w: u32,
    h: u32,
    fps: u32,
    secs: f64,
    lead_ms: u64,
    /// This session's number.
    index: usize,
}

/// A frame for the video pool: (pts, face, pose, due).
type FrameCmd = (MediaTime, FaceWeights, HeadPose, Instant);

/// A session's video side on the pool (the benchmark's stand-in for the server's `VideoWorker`:
/// the same render + encode, stats instead of packets sent).
struct LoadJob {
    renderer: FrameRenderer,
    enc: VideoEncoder,
    frame: I420Frame,
    first: bool,
    interval: Duration,
    st: Stats,
    /// Where the stats go when the job is dropped (its session ended).
    out: Arc<Mutex<Stats>>,
}

impl VideoJob for LoadJob {
    type Cmd = FrameCmd;

    /// As the server: of several queued frames only the newest is rendered, the others are late.
    fn run(&mut self, cmds: &mut Vec<FrameCmd>) {
        let mut job = None;
        for c in cmds.drain(..) {
            if job.replace(c).is_some() {
                self.st.superseded += 1;
                self.st.late += 1;
            }
        }
        let Some((pts, face, pose, due)) = job else {
            return;
        };
        let (t0, c0) = (Instant::now(), thread_cpu_ns());
        self.renderer.render(pts, &face, &pose, &mut self.frame);
        self.st.render_ns += t0.elapsed().as_nanos() as u64;
        self.st.cpu_render_ns += thread_cpu_ns() - c0;
        self.st.frames += 1;
        if Instant::now().saturating_duration_since(due) > self.interval {
            self.st.late += 1;
        }
        let (t0, c0) = (Instant::now(), thread_cpu_ns());
        self.enc
            .send_frame(&self.frame, pts, self.first)
            .expect("encode");
        self.first = false;
        while let Some(p) = self.enc.receive_packet() {
            self.st.bytes += p.data.len() as u64;
        }
        self.st.encode_ns += t0.elapsed().as_nanos() as u64;
        self.st.cpu_encode_ns += thread_cpu_ns() - c0;
    }
}

impl Drop for LoadJob {
    fn drop(&mut self) {
        self.st.cpu_total_ns = self.st.cpu_render_ns + self.st.cpu_encode_ns;
        self.out.lock().unwrap().add(&self.st);
    }
}

/// Where a session's frames are rendered.
#[derive(Clone)]
enum Video {
    /// On the session's own thread.
    Inline,
    /// On this pool (shared, or the session's own one-worker pool).
    Pool(Arc<VideoPool<LoadJob>>),
    /// Each session starts its own one-worker pool.
    OwnThread,
}

fn run_session(
    avatar: Arc<facecast_core::model::Avatar>,
    speech: facecast_core::AudioChunk,
    run: Run,
    start: Instant,
    video: Video,
    video_stats: Arc<Mutex<Stats>>,
) -> Stats {
    let Run {
        w,
        h,
        fps,
        secs,
        lead_ms,
        ..
    } = run;
    let mut cfg = SessionConfig::new(avatar);
    cfg.width = w;
    cfg.height = h;
    cfg.fps = fps;
    let mut s = Session::new(cfg).expect("session");
    // As the server does: a session that falls behind skips overdue frames (counted late).
    s.set_drop_late_video(true);
    s.set_fast_start(true);
    s.set_onset_frames(true);
    s.set_video_lead(MediaTime::from_millis(lead_ms));
    let vc = VideoConfig::new(VideoCodec::H264, w, h, fps);
    let mut enc = VideoEncoder::with_options(vc, EncoderOptions::realtime(fps)).expect("encoder");
    let mut opus = OpusEncoder::new(32_000).expect("opus");
    opus.set_complexity(facecast_encode::LIVE_COMPLEXITY)
        .expect("opus complexity");
    let mut obuf = Vec::with_capacity(1500);
    let interval = Duration::from_secs_f64(1.0 / fps as f64);
    let pool = match video {
        Video::Inline => None,
        Video::Pool(p) => Some(p),
        Video::OwnThread => Some(Arc::new(
            VideoPool::new(1, &format!("video-{}", run.index), 1).expect("video thread"),
        )),
    };
    let handle = pool.as_ref().map(|p| {
        let renderer = s.detach_renderer().expect("renderer");
        let vc = VideoConfig::new(VideoCodec::H264, w, h, fps);
        p.register(LoadJob {
            renderer,
            enc: VideoEncoder::with_options(vc, EncoderOptions::realtime(fps)).expect("encoder"),
            frame: I420Frame::new(w, h),
            first: true,
            interval,
            st: Stats::default(),
            out: video_stats,
        })
    });
    let mut st = Stats::default();
    let wall = |t: MediaTime| {
        start + Duration::from_nanos(t.samples() * 1_000_000_000 / OUTPUT_RATE as u64)
    };
    let mut first = true;
    let cpu_start = thread_cpu_ns();
    while start.elapsed().as_secs_f64() < secs {
        if s.queued_ms() < 200 {
            let c0 = thread_cpu_ns();
            s.speak(&speech).expect("speak");
            st.cpu_speak_ns += thread_cpu_ns() - c0;
            st.segments += 1;
        }
        let due = wall(s.poll_timeout());
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let now_m =
            MediaTime((start.elapsed().as_nanos() * OUTPUT_RATE as u128 / 1_000_000_000) as u64);
        s.handle_timeout(now_m);
        let mut frame = None;
        loop {
            let t0 = Instant::now();
            let c0 = thread_cpu_ns();
            let Some(o) = s.poll_output() else { break };
            match o {
                Output::Video { pts, frame: f } => {
                    st.render_ns += t0.elapsed().as_nanos() as u64;
                    st.cpu_render_ns += thread_cpu_ns() - c0;
                    st.frames += 1;
                    let k = pts.samples() * fps as u64 / OUTPUT_RATE as u64;
                    if MediaTime::of_frame(k, fps) != pts {
                        st.onset += 1;
                    }
                    if let Some((_, old)) = frame.replace((pts, f)) {
                        st.skipped += 1;
                        st.late += 1;
                        s.recycle(old);
                    }
                }
                Output::Audio { pcm, .. } => {
                    obuf.clear();
                    opus.encode(&pcm, &mut obuf).expect("opus");
                    st.audio_packets += 1;
                    // As the server does: the buffer goes back to the engine.
                    s.recycle_pcm(pcm);
                    st.cpu_audio_ns += thread_cpu_ns() - c0;
                }
                Output::Face { pts, face, pose } => {
                    let Some(v) = &handle else {
                        continue;
                    };
                    let k = pts.samples() * fps as u64 / OUTPUT_RATE as u64;
                    if MediaTime::of_frame(k, fps) != pts {
                        st.onset += 1;
                    }
                    let due = wall(pts);
                    v.send((pts, face, pose, due), Some(due));
                }
                Output::Event(_) => {}
            }
        }
        if let Some((pts, f)) = frame {
            if Instant::now().saturating_duration_since(wall(pts)) > interval {
                st.late += 1;
            }
            let t0 = Instant::now();
            let c0 = thread_cpu_ns();
            enc.send_frame(&f, pts, first).expect("encode");
            first = false;
            while let Some(p) = enc.receive_packet() {
                debug_assert_eq!(p.codec, Codec::H264);
                st.bytes += p.data.len() as u64;
            }
            st.encode_ns += t0.elapsed().as_nanos() as u64;
            st.cpu_encode_ns += thread_cpu_ns() - c0;
            s.recycle(f);
        }
    }
    st.cpu_total_ns = thread_cpu_ns() - cpu_start;
    st.dropped = s.dropped_frames();
    st.late += st.dropped;
    // The job's stats arrive when the pool drops it; a session's own pool ends with it.
    drop(handle);
    if let Some(p) = pool {
        if Arc::strong_count(&p) == 1 {
            p.shutdown();
        }
    }
    st
}

const USAGE: &str = "\
load: N concurrent avatar sessions, rendered + encoded as for WebRTC viewers, paced in real time

usage: load [SESSIONS] [SECONDS] [OPTIONS]
  SESSIONS            concurrent sessions (default 4)
  SECONDS             how long each session speaks (default 60)
  --size WxH          frame size (default 512x512)
  --fps N             frame rate (default 25)
  --audio FILE        speech to loop (default: the shared cmu_goforward.wav)
  --stagger           spread the sessions' start times over one frame interval
  --lead-ms N         hand frames to the video workers N ms before their pts (the server: 15)
  --pool K            K shared video workers, earliest deadline first (default: the core count)
  --threads-per-session   one video thread per session instead of the shared pool
  --inline            render and encode on each session's own thread";

/// A number from the command line, or `bad`.
fn num<T: std::str::FromStr>(v: Option<String>, what: &str) -> T {
    match v {
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| bad(&format!("{what} {v}: not a valid number"))),
        None => bad(&format!("{what} needs a number")),
    }
}

/// Bad command line: the problem and the usage on stderr, exit status 2.
fn bad(what: &str) -> ! {
    eprintln!("load: {what}\n\n{USAGE}");
    std::process::exit(2)
}

fn main() {
    let mut pos = Vec::new();
    let (mut w, mut h, mut fps) = (512u32, 512u32, 25u32);
    let mut audio = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/assets/audio/cmu_goforward.wav"
    )
    .to_string();
    let mut stagger = false;
    let mut lead_ms = 0u64;
    let mut pool_workers = facecast_server::pool::default_workers();
    let mut mode = "pool";
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--size" => {
                let v = args.next().unwrap_or_else(|| bad("--size needs WxH"));
                let (a, b) = v
                    .split_once('x')
                    .unwrap_or_else(|| bad(&format!("--size {v}: expected WxH")));
                (w, h) = match (a.parse(), b.parse()) {
                    (Ok(a), Ok(b)) => (a, b),
                    _ => bad(&format!("--size {v}: expected WxH")),
                };
            }
            "--fps" => fps = num(args.next(), "--fps"),
            "--audio" => audio = args.next().unwrap_or_else(|| bad("--audio needs a FILE")),
            "--stagger" => stagger = true,
            "--lead-ms" => lead_ms = num(args.next(), "--lead-ms"),
            "--pool" => {
                pool_workers = num(args.next(), "--pool");
                mode = "pool";
            }
            "--threads-per-session" => mode = "threads-per-session",
            "--inline" => mode = "inline",
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            _ => pos.push(a),
        }
    }
    let n: usize = pos
        .first()
        .map(|v| num(Some(v.clone()), "SESSIONS"))
        .unwrap_or(4);
    let secs: f64 = pos
        .get(1)
        .map(|v| num(Some(v.clone()), "SECONDS"))
        .unwrap_or(60.0);
    let speech = facecast_audio::decode_file(std::path::Path::new(&audio))
        .unwrap_or_else(|e| bad(&format!("--audio {audio}: {e}")));
    let avatar = facecast_avatar::builtin();
    let threading = match mode {
        "pool" => {
            format!("video on a pool of {pool_workers} shared workers, earliest deadline first")
        }
        "threads-per-session" => "video on one thread per session".to_string(),
        _ => "video rendered on the session's own thread".to_string(),
    };
    println!(
        "load: {n} sessions x {w}x{h} @ {fps} fps, H.264 + Opus, speech '{}' ({:.1} s) looped, {secs} s, start times {}, frames handed over {lead_ms} ms before their pts; {threading}",
        audio,
        speech.duration_secs(),
        if stagger {
            "staggered over one frame"
        } else {
            "aligned"
        }
    );
    let rss0 = rss_mb();
    let cpu0 = proc_cpu_secs();
    let start = Instant::now();
    let run = Run {
        w,
        h,
        fps,
        secs,
        lead_ms,
        index: 0,
    };
    let video = match mode {
        "pool" => Video::Pool(Arc::new(
            VideoPool::new(pool_workers, "render", n).expect("video workers"),
        )),
        "threads-per-session" => Video::OwnThread,
        _ => Video::Inline,
    };
    let video_stats: Vec<Arc<Mutex<Stats>>> = (0..n).map(|_| Default::default()).collect();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (a, sp, v, vs) = (
                avatar.clone(),
                speech.clone(),
                video.clone(),
                video_stats[i].clone(),
            );
            std::thread::Builder::new()
                .name(format!("load-{i}"))
                .spawn(move || {
                    // Session i's clock starts i/n of a frame interval late with --stagger.
                    let phase = if stagger {
                        Duration::from_secs_f64(i as f64 / n as f64 / fps as f64)
                    } else {
                        Duration::ZERO
                    };
                    run_session(a, sp, Run { index: i, ..run }, start + phase, v, vs)
                })
                .expect("thread")
        })
        .collect();
    let mut peak_rss = rss0;
    while start.elapsed().as_secs_f64() < secs {
        std::thread::sleep(Duration::from_millis(500));
        peak_rss = peak_rss.max(rss_mb());
    }
    let rss_end = rss_mb().max(peak_rss);
    let mut results: Vec<Stats> = handles
        .into_iter()
        .map(|h| h.join().expect("session thread"))
        .collect();
    if let Video::Pool(p) = &video {
        // Wait for the workers to drop the last jobs (their stats land on drop).
        p.shutdown();
    }
    // The workers' share of each session (their CPU counts in the totals too).
    for (r, v) in results.iter_mut().zip(&video_stats) {
        r.add(&v.lock().unwrap());
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = proc_cpu_secs() - cpu0;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let expected = (secs * fps as f64) as u64;
    println!(
        "session  frames  expected  onset  late  skipped  render_ms  encode_ms  video_kbps  segments"
    );
    let mut tot = Stats::default();
    for (i, s) in results.iter().enumerate() {
        println!(
            "{i:>7}  {:>6}  {:>8}  {:>5}  {:>4}  {:>7}  {:>9.2}  {:>9.2}  {:>10.0}  {:>8}",
            s.frames,
            expected,
            s.onset,
            s.late,
            s.skipped + s.dropped + s.superseded,
            s.render_ns as f64 / s.frames.max(1) as f64 / 1e6,
            s.encode_ns as f64 / (s.frames - s.skipped).max(1) as f64 / 1e6,
            s.bytes as f64 * 8.0 / wall / 1000.0,
            s.segments
        );
        tot.add(s);
    }
    println!(
        "total: {} frames rendered + {} skipped, {} late ({:.2} % of due frames), CPU {:.1} s over {:.1} s wall = {:.0} % of one core ({:.0} % of {cores} cores), {:.2} ms CPU per frame",
        tot.frames,
        tot.dropped + tot.superseded,
        tot.late,
        100.0 * tot.late as f64 / (tot.frames + tot.dropped + tot.superseded).max(1) as f64,
        cpu,
        wall,
        100.0 * cpu / wall,
        100.0 * cpu / wall / cores as f64,
        1000.0 * cpu / tot.frames.max(1) as f64
    );
    let per = |ns: u64, n: u64| ns as f64 / n.max(1) as f64 / 1e6;
    let encoded = tot.frames - tot.skipped;
    println!(
        "thread CPU per frame: render (animation + render) {:.2} ms, encode {:.2} ms per encoded frame, audio + Opus {:.2} ms, speak (lip-sync analysis) {:.2} ms, rest (pacing, polling) {:.2} ms; all but render {:.2} ms; sessions' threads {:.2} ms",
        per(tot.cpu_render_ns, tot.frames),
        per(tot.cpu_encode_ns, encoded),
        per(tot.cpu_audio_ns, tot.frames),
        per(tot.cpu_speak_ns, tot.frames),
        per(
            tot.cpu_total_ns
                - tot.cpu_render_ns
                - tot.cpu_encode_ns
                - tot.cpu_audio_ns
                - tot.cpu_speak_ns,
            tot.frames
        ),
        per(tot.cpu_total_ns - tot.cpu_render_ns, tot.frames),
        per(tot.cpu_total_ns, tot.frames)
    );
    println!(
        "memory: RSS {:.1} MB before, {:.1} MB peak with {n} sessions = {:.1} MB per session",
        rss0,
        rss_end,
        (rss_end - rss0) / n.max(1) as f64
    );
}
