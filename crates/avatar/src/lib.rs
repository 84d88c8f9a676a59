//! facecast-avatar (work in progress).
