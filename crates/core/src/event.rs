//! Events a session reports (over the WebSocket, the data channel and the API).

use serde::{Deserialize, Serialize};

/// A session event. Times are media-clock milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A speech segment started playing.
    SegmentStarted {
        /// Segment id.
        segment: u64,
        /// Media time it started, ms.
        at_ms: u64,
    },
    /// A speech segment finished playing (or was interrupted).
    SegmentFinished {
        /// Segment id.
        segment: u64,
        /// Media time it ended, ms.
        at_ms: u64,
        /// How much of it was actually played, ms.
        played_ms: u64,
        /// Whether it was cut short by an interrupt.
        interrupted: bool,
    },
    /// Periodic playout position.
    Position {
        /// Current media time, ms.
        at_ms: u64,
    },
    /// The emotion changed.
    EmotionChanged {
        /// Emotion name.
        emotion: String,
        /// Intensity 0..1.
        intensity: f32,
    },
    /// Something went wrong; the session goes on.
    Error {
        /// Machine-readable code.
        code: String,
        /// Human-readable message.
        message: String,
    },
}
