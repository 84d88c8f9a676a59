//! facecast-rtc (work in progress).
