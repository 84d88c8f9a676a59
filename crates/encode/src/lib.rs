//! Real-time media encoding and file output for facecast.
//!
//! | item | what it does |
//! |---|---|
//! | [`VideoEncoder`] | I420 frames -> H.264 constrained baseline (OpenH264, Annex B) or VP8 (libvpx) packets; bitrate changes on the fly, key frames on request |
//! | [`OpusEncoder`] | 20 ms mono 48 kHz PCM -> Opus packets (libopus) |
//! | [`MediaWriter`] | frames + PCM -> `.mp4` (H.264 + Opus) or `.webm` (VP8 + Opus), written by the muxers in [`mp4`] and [`webm`] (no ffmpeg) |
//!
//! Both video encoders run single-threaded with zero frame delay and real-time settings (no
//! B-frames, CBR rate control, SPS/PPS before each IDR, error-resilient VP8). All timestamps are
//! on the session media clock ([`facecast_core::MediaTime`], 48 kHz).
//!
//! `unsafe` is confined to the libvpx calls in the VP8 encoder and the OpenH264 bitrate option.

#![warn(missing_docs)]

mod annexb;
mod error;
mod h264;
pub mod mp4;
mod opus;
mod video;
mod vp8;
pub mod webm;
mod writer;

pub use annexb::{nal, nal_type, nal_units};
pub use error::EncodeError;
pub use opus::{opus_head, OpusApplication, OpusEncoder, LIVE_COMPLEXITY, OPUS_FRAME_SAMPLES};
pub use video::{EncoderOptions, VideoCodec, VideoConfig, VideoEncoder};
pub use writer::{Container, MediaWriter, WriterConfig};

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send<T: Send>() {}

    #[test]
    fn encoders_and_writer_can_move_between_threads() {
        is_send::<VideoEncoder>();
        is_send::<OpusEncoder>();
        is_send::<MediaWriter>();
        is_send::<mp4::Mp4Muxer<std::io::Cursor<Vec<u8>>>>();
        is_send::<webm::WebmMuxer<std::io::Cursor<Vec<u8>>>>();
    }

    #[test]
    fn finishing_an_empty_writer_does_not_panic() {
        let dir = std::env::temp_dir();
        for ext in ["mp4", "webm"] {
            let p = dir.join(format!(
                "facecast-encode-empty-{}.{ext}",
                std::process::id()
            ));
            MediaWriter::create(&p, 64, 64, 25)
                .unwrap()
                .finish()
                .unwrap();
            let _ = std::fs::remove_file(&p);
        }
    }
}
