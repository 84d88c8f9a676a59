//! facecast-engine (work in progress).
