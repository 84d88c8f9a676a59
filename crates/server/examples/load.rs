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
//! `--lead-ms N` hands each frame over N ms before its pts, as the server does (its video thread
//! gets frames 15 ms early, `VIDEO_LEAD_MS`, while every queued viseme is known, which is always
//! the case for the whole clips spoken here); default 0, i.e. rendering starts at the pts. A frame
//! counts late either way when its render ends more than one frame interval after its pts.
//!
//! Besides the process CPU, each session thread's CPU time is split into animation + render,
//! encode, audio frames + Opus, `speak` (lip-sync analysis) and the rest (pacing, polling).
//!
//! `--pool K` (an experiment for the server's next step): the frames of all sessions are rendered
//! and encoded by K shared worker threads, earliest deadline first, instead of each session
//! rendering on its own thread (what the server does today). With `--pin`, session `i` always
//! goes to worker `i % K` (warm caches, no balancing between workers).
//!
//! ```text
//! cargo run --release -p facecast-server --example load -- [SESSIONS] [SECONDS] [--size WxH] [--fps N] [--audio FILE] [--stagger] [--lead-ms N] [--pool K [--pin]]
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use facecast_core::{Codec, FaceWeights, HeadPose, I420Frame, MediaTime, OUTPUT_RATE};
use facecast_encode::{EncoderOptions, OpusEncoder, VideoCodec, VideoConfig, VideoEncoder};
use facecast_engine::{FrameRenderer, Output, Session, SessionConfig};

#[derive(Default, Debug, Clone)]
struct Stats {
    frames: u64,
    late: u64,
    skipped: u64,
    /// Overdue frames the engine skipped without rendering (also counted in `late`).
    dropped: u64,
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

/// `--pool K`: the sessions' frames are rendered and encoded by K shared workers, earliest
/// deadline first, instead of each on its session's own thread.
struct Pool {
    /// One shared queue, or with `--pin` one per worker (session `i` on worker `i % K`).
    queues: Vec<(Mutex<Queue>, Condvar)>,
    slots: Mutex<Vec<Arc<Mutex<Slot>>>>,
}

/// (deadline, slot) of the frames waiting, earliest first; `true` once the run is over.
type Queue = (BinaryHeap<Reverse<(Instant, usize)>>, bool);

/// A session's video side in pool mode.
struct Slot {
    renderer: FrameRenderer,
    enc: VideoEncoder,
    frame: I420Frame,
    /// The newest frame waiting (an older one still waiting is skipped, counted late).
    pending: Option<(MediaTime, FaceWeights, HeadPose, Instant)>,
    first: bool,
    interval: Duration,
    /// The session it belongs to.
    session: usize,
    st: Stats,
}

impl Pool {
    fn push(&self, slot: usize, due: Instant) {
        let (q, wake) = &self.queues[slot % self.queues.len()];
        q.lock().unwrap().0.push(Reverse((due, slot)));
        wake.notify_all();
    }

    /// A worker: until the run is over, render + encode the frame due first.
    fn work(&self, k: usize) {
        let (queue, wake) = &self.queues[k % self.queues.len()];
        loop {
            let idx = {
                let mut q = queue.lock().unwrap();
                loop {
                    if let Some(Reverse((_, i))) = q.0.pop() {
                        break i;
                    }
                    if q.1 {
                        return;
                    }
                    q = wake.wait(q).unwrap();
                }
            };
            let slot = self.slots.lock().unwrap()[idx].clone();
            let mut g = slot.lock().unwrap();
            let sl = &mut *g;
            let Some((pts, face, pose, due)) = sl.pending.take() else {
                continue;
            };
            let (t0, c0) = (Instant::now(), thread_cpu_ns());
            sl.renderer.render(&face, &pose, &mut sl.frame);
            sl.st.render_ns += t0.elapsed().as_nanos() as u64;
            sl.st.cpu_render_ns += thread_cpu_ns() - c0;
            sl.st.frames += 1;
            if Instant::now().saturating_duration_since(due) > sl.interval {
                sl.st.late += 1;
            }
            let (t0, c0) = (Instant::now(), thread_cpu_ns());
            sl.enc.send_frame(&sl.frame, pts, sl.first).expect("encode");
            sl.first = false;
            while let Some(p) = sl.enc.receive_packet() {
                sl.st.bytes += p.data.len() as u64;
            }
            sl.st.encode_ns += t0.elapsed().as_nanos() as u64;
            sl.st.cpu_encode_ns += thread_cpu_ns() - c0;
            sl.st.cpu_total_ns = sl.st.cpu_render_ns + sl.st.cpu_encode_ns;
        }
    }
}

fn run_session(
    avatar: Arc<facecast_core::model::Avatar>,
    speech: facecast_core::AudioChunk,
    run: Run,
    start: Instant,
    pool: Option<Arc<Pool>>,
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
    let slot = pool.as_ref().map(|p| {
        let renderer = s.detach_renderer().expect("renderer");
        let vc = VideoConfig::new(VideoCodec::H264, w, h, fps);
        let sl = Slot {
            renderer,
            enc: VideoEncoder::with_options(vc, EncoderOptions::realtime(fps)).expect("encoder"),
            frame: I420Frame::new(w, h),
            pending: None,
            first: true,
            interval,
            session: run.index,
            st: Stats::default(),
        };
        let mut slots = p.slots.lock().unwrap();
        slots.push(Arc::new(Mutex::new(sl)));
        (slots.len() - 1, slots[slots.len() - 1].clone())
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
                    let (Some(p), Some((idx, sl))) = (&pool, &slot) else {
                        continue;
                    };
                    let k = pts.samples() * fps as u64 / OUTPUT_RATE as u64;
                    if MediaTime::of_frame(k, fps) != pts {
                        st.onset += 1;
                    }
                    let due = wall(pts);
                    if sl
                        .lock()
                        .unwrap()
                        .pending
                        .replace((pts, face, pose, due))
                        .is_some()
                    {
                        st.skipped += 1;
                        st.late += 1;
                    }
                    p.push(*idx, due);
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
    st
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
    let mut pool_workers = 0usize;
    let mut pin = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--size" => {
                let v = args.next().expect("--size WxH");
                let (a, b) = v.split_once('x').expect("--size WxH");
                (w, h) = (a.parse().expect("width"), b.parse().expect("height"));
            }
            "--fps" => fps = args.next().expect("--fps N").parse().expect("fps"),
            "--audio" => audio = args.next().expect("--audio FILE"),
            "--stagger" => stagger = true,
            "--lead-ms" => lead_ms = args.next().expect("--lead-ms N").parse().expect("lead ms"),
            "--pool" => pool_workers = args.next().expect("--pool K").parse().expect("workers"),
            "--pin" => pin = true,
            _ => pos.push(a),
        }
    }
    let n: usize = pos
        .first()
        .map(|v| v.parse().expect("SESSIONS"))
        .unwrap_or(4);
    let secs: f64 = pos
        .get(1)
        .map(|v| v.parse().expect("SECONDS"))
        .unwrap_or(60.0);
    let speech = facecast_audio::decode_file(std::path::Path::new(&audio)).expect("speech audio");
    let avatar = facecast_avatar::builtin();
    println!(
        "load: {n} sessions x {w}x{h} @ {fps} fps, H.264 + Opus, speech '{}' ({:.1} s) looped, {secs} s, start times {}, frames handed over {lead_ms} ms before their pts",
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
    let pool = (pool_workers > 0).then(|| {
        Arc::new(Pool {
            queues: (0..if pin { pool_workers } else { 1 })
                .map(|_| (Mutex::new((BinaryHeap::new(), false)), Condvar::new()))
                .collect(),
            slots: Mutex::new(Vec::new()),
        })
    });
    let workers: Vec<_> = (0..pool_workers)
        .map(|k| {
            let p = pool.clone().expect("pool");
            std::thread::Builder::new()
                .name(format!("render-{k}"))
                .spawn(move || p.work(k))
                .expect("thread")
        })
        .collect();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (a, sp, pl) = (avatar.clone(), speech.clone(), pool.clone());
            std::thread::Builder::new()
                .name(format!("load-{i}"))
                .spawn(move || {
                    // Session i's clock starts i/n of a frame interval late with --stagger.
                    let phase = if stagger {
                        Duration::from_secs_f64(i as f64 / n as f64 / fps as f64)
                    } else {
                        Duration::ZERO
                    };
                    run_session(a, sp, Run { index: i, ..run }, start + phase, pl)
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
    if let Some(p) = &pool {
        for (q, wake) in &p.queues {
            q.lock().unwrap().1 = true;
            wake.notify_all();
        }
        for w in workers {
            w.join().expect("render worker");
        }
        // The workers' share of each session (their CPU counts in the totals too).
        for sl in p.slots.lock().unwrap().iter() {
            let sl = sl.lock().unwrap();
            results[sl.session].add(&sl.st);
        }
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
            s.skipped + s.dropped,
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
        tot.dropped,
        tot.late,
        100.0 * tot.late as f64 / (tot.frames + tot.dropped).max(1) as f64,
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
