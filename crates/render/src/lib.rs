//! facecast-render (work in progress).
