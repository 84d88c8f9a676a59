//! facecast-lipsync: speech audio -> 100 Hz viseme frames.
pub mod features;
