//! facecast-server (work in progress).
