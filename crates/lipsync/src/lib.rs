//! facecast-lipsync (work in progress).
