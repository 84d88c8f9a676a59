//! facecast-audio (work in progress).
