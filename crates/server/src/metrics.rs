//! Prometheus metrics, hand-written text exposition (format 0.0.4).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Bucket upper bounds in seconds for the timing histograms.
const BUCKETS: [f64; 10] = [
    0.001, 0.002, 0.004, 0.006, 0.008, 0.012, 0.016, 0.025, 0.040, 0.080,
];

/// A lock-free histogram of durations.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Histogram {
    /// Record one observation.
    pub fn observe(&self, d: std::time::Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.counts[i].fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(d.as_nanos() as u64, Relaxed);
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{b}\"}} {}",
                self.counts[i].load(Relaxed)
            );
        }
        let n = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {n}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_ns.load(Relaxed) as f64 / 1e9);
        let _ = writeln!(out, "{name}_count {n}");
    }
}

/// All server metrics.
#[derive(Default)]
pub struct Metrics {
    /// Sessions created since start.
    pub sessions_created: AtomicU64,
    /// Frames rendered.
    pub frames_rendered: AtomicU64,
    /// Frames rendered after their due time plus one frame interval, or skipped.
    pub frames_late: AtomicU64,
    /// Video frames encoded (all codecs).
    pub frames_encoded: AtomicU64,
    /// Audio packets encoded.
    pub audio_packets: AtomicU64,
    /// Render time (engine `poll_output` producing a frame).
    pub render_seconds: Histogram,
    /// Encode time per video frame.
    pub encode_seconds: Histogram,
    /// How long after its pts each audio frame was sent to viewers (send jitter; the browser's
    /// audio jitter buffer grows with it).
    pub audio_send_late_seconds: Histogram,
    /// Sum over sessions and codecs of the target video bitrate, bit/s.
    pub video_bitrate_bps: AtomicU64,
    /// Speech segments queued.
    pub segments: AtomicU64,
    /// WebSocket binary frames accepted.
    pub ws_frames: AtomicU64,
    /// WHEP viewers created since start.
    pub viewers_created: AtomicU64,
    /// Errors by code.
    errors: Mutex<Vec<(String, u64)>>,
}

impl Metrics {
    /// Count an error with a code (API error codes, WebSocket frame error codes, engine errors).
    pub fn error(&self, code: &str) {
        let mut e = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        match e.iter_mut().find(|(c, _)| c == code) {
            Some((_, n)) => *n += 1,
            None => e.push((code.to_string(), 1)),
        }
    }

    /// Errors counted with `code`.
    pub fn errors_with(&self, code: &str) -> u64 {
        let e = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        e.iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }

    /// Render the exposition; `sessions` and `viewers` are current gauges.
    pub fn render(&self, sessions: usize, viewers: usize, ws_clients: usize) -> String {
        let mut o = String::with_capacity(4096);
        let gauge = |o: &mut String, name: &str, help: &str, kind: &str, v: u64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        gauge(
            &mut o,
            "facecast_sessions",
            "Live sessions.",
            "gauge",
            sessions as u64,
        );
        gauge(
            &mut o,
            "facecast_viewers",
            "Connected-or-connecting WHEP viewers.",
            "gauge",
            viewers as u64,
        );
        gauge(
            &mut o,
            "facecast_websocket_clients",
            "Open session WebSockets.",
            "gauge",
            ws_clients as u64,
        );
        gauge(
            &mut o,
            "facecast_sessions_created_total",
            "Sessions created.",
            "counter",
            self.sessions_created.load(Relaxed),
        );
        gauge(
            &mut o,
            "facecast_viewers_created_total",
            "WHEP viewers created.",
            "counter",
            self.viewers_created.load(Relaxed),
        );
        gauge(
            &mut o,
            "facecast_frames_rendered_total",
            "Video frames rendered.",
            "counter",
            self.frames_rendered.load(Relaxed),
        );
        gauge(
            &mut o,
            "facecast_frames_late_total",
            "Frames produced more than one frame interval after their due time (or skipped).",
            "counter",
            self.frames_late.load(Relaxed),
        );
        gauge(
            &mut o,
            "facecast_frames_encoded_total",
            "Video frames encoded.",
            "counter",
            self.frames_encoded.load(Relaxed),
        );
        gauge(
            &mut o,
            "facecast_audio_packets_total",
            "Opus packets encoded.",
            "counter",
            self.audio_packets.load(Relaxed),
        );
        gauge(
            &mut o,
            "facecast_segments_total",
            "Speech segments queued.",
            "counter",
            self.segments.load(Relaxed),
        );
        gauge(
            &mut o,
            "facecast_ws_frames_total",
            "Binary audio frames accepted on WebSockets.",
            "counter",
            self.ws_frames.load(Relaxed),
        );
        gauge(
            &mut o,
            "facecast_video_bitrate_bps",
            "Target video bitrate summed over sessions and codecs (driven by the bandwidth estimate).",
            "gauge",
            self.video_bitrate_bps.load(Relaxed),
        );
        self.render_seconds.write(
            &mut o,
            "facecast_render_seconds",
            "Time to render one frame (render + convert, on a shared video worker).",
        );
        self.encode_seconds.write(
            &mut o,
            "facecast_encode_seconds",
            "Time to encode one video frame.",
        );
        self.audio_send_late_seconds.write(
            &mut o,
            "facecast_audio_send_late_seconds",
            "Delay from an audio frame's due time to its send to the viewers (send jitter).",
        );
        let _ = writeln!(
            o,
            "# HELP facecast_errors_total Errors by code.\n# TYPE facecast_errors_total counter"
        );
        let e = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        for (code, n) in e.iter() {
            let _ = writeln!(o, "facecast_errors_total{{code=\"{code}\"}} {n}");
        }
        o
    }
}

/// Append the video pool gauges: worker threads and sessions waiting for one.
pub fn render_video_pool(o: &mut String, workers: usize, queued: usize) {
    let _ = writeln!(
        o,
        "# HELP facecast_video_workers Video worker threads shared by all sessions.\n# TYPE facecast_video_workers gauge\nfacecast_video_workers {workers}"
    );
    let _ = writeln!(
        o,
        "# HELP facecast_video_queue_depth Sessions with a frame or control message waiting for a free video worker (sampled at scrape time).\n# TYPE facecast_video_queue_depth gauge\nfacecast_video_queue_depth {queued}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_is_well_formed() {
        let m = Metrics::default();
        m.render_seconds
            .observe(std::time::Duration::from_micros(3500));
        m.error("bad_crc");
        m.error("bad_crc");
        let mut t = m.render(2, 1, 0);
        render_video_pool(&mut t, 2, 1);
        assert!(t.contains("facecast_video_workers 2\n"));
        assert!(t.contains("facecast_video_queue_depth 1\n"));
        assert!(t.contains("facecast_sessions 2\n"));
        assert!(t.contains("facecast_render_seconds_bucket{le=\"0.004\"} 1\n"));
        assert!(t.contains("facecast_render_seconds_bucket{le=\"0.002\"} 0\n"));
        assert!(t.contains("facecast_render_seconds_count 1\n"));
        assert!(t.contains("facecast_errors_total{code=\"bad_crc\"} 2\n"));
        for line in t.lines().filter(|l| !l.starts_with('#')) {
            let v = line.rsplit(' ').next().unwrap();
            assert!(v.parse::<f64>().is_ok(), "bad sample line {line}");
        }
    }
}
