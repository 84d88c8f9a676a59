//! facecast-anim (work in progress).
