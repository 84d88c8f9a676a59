//! facecast-text (work in progress).
