//! The session media clock.
//!
//! Each session has one media clock counting audio samples at [`OUTPUT_RATE`] (48 kHz), starting
//! at 0. Every timestamp in a session (input audio, viseme frames, animation samples, video frames,
//! RTP timestamps, events) is on this clock.

use serde::{Deserialize, Serialize};

/// Output audio rate and media-clock rate, in Hz.
pub const OUTPUT_RATE: u32 = 48_000;

/// A point on the session media clock, in samples at [`OUTPUT_RATE`].
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct MediaTime(pub u64);

impl MediaTime {
    /// Time zero.
    pub const ZERO: MediaTime = MediaTime(0);

    /// From a number of samples at 48 kHz.
    pub const fn from_samples(n: u64) -> Self {
        MediaTime(n)
    }

    /// From seconds (negative values clamp to zero).
    pub fn from_secs_f64(s: f64) -> Self {
        MediaTime((s.max(0.0) * OUTPUT_RATE as f64).round() as u64)
    }

    /// From milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        MediaTime(ms * (OUTPUT_RATE as u64 / 1000))
    }

    /// Media time of video frame `k` at `fps` frames per second (exact, no drift).
    pub fn of_frame(k: u64, fps: u32) -> Self {
        MediaTime(k * OUTPUT_RATE as u64 / fps.max(1) as u64)
    }

    /// Samples at 48 kHz.
    pub const fn samples(self) -> u64 {
        self.0
    }

    /// Seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / OUTPUT_RATE as f64
    }

    /// Milliseconds (truncated).
    pub const fn as_millis(self) -> u64 {
        self.0 / (OUTPUT_RATE as u64 / 1000)
    }

    /// Timestamp at another clock rate (e.g. 90 000 for video RTP), exact integer arithmetic.
    pub fn at_rate(self, rate: u32) -> u64 {
        ((self.0 as u128 * rate as u128) / OUTPUT_RATE as u128) as u64
    }

    /// Saturating difference.
    pub fn saturating_sub(self, other: MediaTime) -> MediaTime {
        MediaTime(self.0.saturating_sub(other.0))
    }
}

impl std::ops::Add for MediaTime {
    type Output = MediaTime;
    fn add(self, o: MediaTime) -> MediaTime {
        MediaTime(self.0 + o.0)
    }
}

impl std::ops::AddAssign for MediaTime {
    fn add_assign(&mut self, o: MediaTime) {
        self.0 += o.0;
    }
}

impl std::fmt::Display for MediaTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_do_not_drift_over_an_hour() {
        let k = 25 * 3600;
        assert_eq!(MediaTime::of_frame(k, 25).as_secs_f64(), 3600.0);
        assert_eq!(MediaTime::of_frame(k, 25).at_rate(90_000), 3600 * 90_000);
        // 30 fps does not divide 48 kHz evenly per frame but must not accumulate error
        assert_eq!(MediaTime::of_frame(30 * 3600, 30).samples(), 3600 * 48_000);
    }
}
