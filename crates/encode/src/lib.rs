//! facecast-encode (work in progress).
