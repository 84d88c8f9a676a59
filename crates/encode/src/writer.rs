//! [`MediaWriter`]: frames and PCM in, a finished `.mp4` (H.264 + Opus) or `.webm` (VP8 + Opus)
//! file out.

use crate::mp4::Mp4Muxer;
use crate::opus::{opus_head, OpusEncoder, OPUS_FRAME_SAMPLES};
use crate::video::{EncoderOptions, VideoCodec, VideoConfig, VideoEncoder};
use crate::webm::{WebmAudio, WebmMuxer};
use crate::EncodeError;
use facecast_core::{EncodedPacket, I420Frame, MediaTime, RgbaFrame};
use std::collections::VecDeque;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Output container.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Container {
    /// ISO BMFF with H.264 video and Opus audio.
    Mp4,
    /// WebM with VP8 video and Opus audio.
    Webm,
}

impl Container {
    /// The container named by a path's extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Container, EncodeError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("mp4") | Some("m4v") | Some("mov") => Ok(Container::Mp4),
            Some("webm") | Some("mkv") => Ok(Container::Webm),
            _ => Err(EncodeError::UnsupportedContainer {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// Optional settings of a [`MediaWriter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterConfig {
    /// Video bitrate; `None`: [`VideoConfig::default_bitrate`].
    pub video_bitrate_bps: Option<u32>,
    /// Opus bitrate (default 48 kbit/s).
    pub audio_bitrate_bps: u32,
    /// Video encoder options (default: key frame every 2 s, no frame dropping).
    pub encoder: EncoderOptions,
    /// MP4 only: put the index (`moov`) before the media data so players can start while
    /// downloading (default true; costs one in-place copy of the media data at `finish`).
    pub faststart: bool,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            video_bitrate_bps: None,
            audio_bitrate_bps: 48_000,
            encoder: EncoderOptions::default(),
            faststart: true,
        }
    }
}

type Out = BufWriter<File>;

enum Mux {
    Mp4(Mp4Muxer<Out>),
    /// WebM writes its track list up front, so it starts once we know whether there is audio.
    WebmPending(Out),
    Webm(WebmMuxer<Out>),
    Done,
}

/// Writes a video file frame by frame. Video frame `k` is shown at `k / fps`; audio starts at 0
/// and is appended in any amounts. On [`finish`](Self::finish) the Opus encoder delay and
/// padding are recorded (MP4 edit list / WebM CodecDelay + DiscardPadding) so audio and video of
/// equal length have equal durations.
pub struct MediaWriter {
    path: PathBuf,
    width: u32,
    height: u32,
    fps: u32,
    video: VideoEncoder,
    audio: OpusEncoder,
    mux: Mux,
    frames: u64,
    pcm: Vec<i16>,
    audio_samples: u64,
    audio_packets: u64,
    vq: VecDeque<EncodedPacket>,
    aq: VecDeque<(Vec<u8>, u64)>,
    spare: Vec<Vec<u8>>,
    rgba_tmp: I420Frame,
    faststart: bool,
}

impl MediaWriter {
    /// Creates `path` (`.mp4`: H.264 + Opus, `.webm`: VP8 + Opus) with default settings.
    pub fn create(path: &Path, width: u32, height: u32, fps: u32) -> Result<Self, EncodeError> {
        Self::create_with(path, width, height, fps, WriterConfig::default())
    }

    /// Creates `path` with explicit settings.
    pub fn create_with(
        path: &Path,
        width: u32,
        height: u32,
        fps: u32,
        cfg: WriterConfig,
    ) -> Result<Self, EncodeError> {
        let container = Container::from_path(path)?;
        let codec = match container {
            Container::Mp4 => VideoCodec::H264,
            Container::Webm => VideoCodec::Vp8,
        };
        let mut vcfg = VideoConfig::new(codec, width, height, fps);
        if let Some(b) = cfg.video_bitrate_bps {
            vcfg.bitrate_bps = b;
        }
        vcfg.validate()?;
        let video = VideoEncoder::with_options(vcfg, cfg.encoder.clone())?;
        let audio = OpusEncoder::new(cfg.audio_bitrate_bps)?;
        // read access too: the MP4 fast-start pass moves the media data in place
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| EncodeError::io(path, e))?;
        let out = BufWriter::with_capacity(1 << 20, file);
        let mux = match container {
            Container::Mp4 => Mux::Mp4(
                Mp4Muxer::new(out, width, height, fps, audio.pre_skip())
                    .map_err(|e| at(path, e))?,
            ),
            Container::Webm => Mux::WebmPending(out),
        };
        Ok(MediaWriter {
            path: path.to_path_buf(),
            width,
            height,
            fps,
            video,
            audio,
            mux,
            frames: 0,
            pcm: Vec::with_capacity(OPUS_FRAME_SAMPLES * 2),
            audio_samples: 0,
            audio_packets: 0,
            vq: VecDeque::new(),
            aq: VecDeque::new(),
            spare: Vec::new(),
            rgba_tmp: I420Frame::default(),
            faststart: cfg.faststart,
        })
    }

    /// The video encoder (e.g. to change its bitrate).
    pub fn video_encoder(&mut self) -> &mut VideoEncoder {
        &mut self.video
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Audio samples (48 kHz) written so far.
    pub fn audio_samples(&self) -> u64 {
        self.audio_samples
    }

    /// Encodes and queues the next video frame (frame `k` is shown at `k / fps`).
    pub fn write_video(&mut self, frame: &I420Frame) -> Result<(), EncodeError> {
        self.write_video_keyframe(frame, false)
    }

    /// Converts an RGBA frame (BT.601 limited range, `facecast_core::convert`) and writes it.
    pub fn write_rgba(&mut self, frame: &RgbaFrame) -> Result<(), EncodeError> {
        let mut tmp = std::mem::take(&mut self.rgba_tmp);
        facecast_core::convert::rgba_to_i420(frame, &mut tmp);
        let res = self.write_video(&tmp);
        self.rgba_tmp = tmp;
        res
    }

    /// Like [`write_video`](Self::write_video), optionally forcing a key frame.
    pub fn write_video_keyframe(
        &mut self,
        frame: &I420Frame,
        force_keyframe: bool,
    ) -> Result<(), EncodeError> {
        let pts = MediaTime::of_frame(self.frames, self.fps);
        self.video.send_frame(frame, pts, force_keyframe)?;
        self.frames += 1;
        while let Some(p) = self.video.receive_packet() {
            self.vq.push_back(p);
        }
        self.drain(false)
    }

    /// Appends mono 48 kHz PCM in [-1, 1] (any amount).
    pub fn write_audio(&mut self, pcm48k_mono: &[f32]) -> Result<(), EncodeError> {
        for &x in pcm48k_mono {
            let s = if x.is_finite() {
                (x.clamp(-1.0, 1.0) * 32767.0).round() as i16
            } else {
                0
            };
            self.pcm.push(s);
            if self.pcm.len() == OPUS_FRAME_SAMPLES {
                self.encode_audio_frame()?;
            }
        }
        self.audio_samples += pcm48k_mono.len() as u64;
        self.drain(false)
    }

    /// Appends mono 48 kHz 16-bit PCM (any amount), e.g. the engine's 20 ms audio outputs.
    pub fn write_audio_i16(&mut self, pcm48k_mono: &[i16]) -> Result<(), EncodeError> {
        let mut rest = pcm48k_mono;
        while !rest.is_empty() {
            let n = (OPUS_FRAME_SAMPLES - self.pcm.len()).min(rest.len());
            self.pcm.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.pcm.len() == OPUS_FRAME_SAMPLES {
                self.encode_audio_frame()?;
            }
        }
        self.audio_samples += pcm48k_mono.len() as u64;
        self.drain(false)
    }

    fn encode_audio_frame(&mut self) -> Result<(), EncodeError> {
        let mut buf = self.spare.pop().unwrap_or_default();
        self.audio.encode(&self.pcm, &mut buf)?;
        self.pcm.clear();
        self.aq
            .push_back((buf, self.audio_packets * OPUS_FRAME_SAMPLES as u64));
        self.audio_packets += 1;
        Ok(())
    }

    /// Writes queued packets in timestamp order (all of them when `all`).
    fn drain(&mut self, all: bool) -> Result<(), EncodeError> {
        loop {
            // MP4 needs no global order: when one kind runs more than ~4 s ahead (e.g. a
            // video-only file), write it rather than hold it. WebM blocks must be in time order.
            let mp4 = matches!(self.mux, Mux::Mp4(_));
            let video_ahead = mp4 && self.vq.len() > 4 * self.fps as usize;
            let audio_ahead = mp4 && self.aq.len() > 200;
            let take_video = match (self.vq.front(), self.aq.front()) {
                (Some(v), Some(a)) => v.pts.samples() <= a.1,
                (Some(_), None) if all || video_ahead => true,
                (None, Some(_)) if all || audio_ahead => false,
                _ => break,
            };
            self.start_webm()?;
            if take_video {
                let Some(p) = self.vq.pop_front() else { break };
                let res = match &mut self.mux {
                    Mux::Mp4(m) => m.write_video(&p.data, p.pts.samples(), p.keyframe),
                    Mux::Webm(m) => m.write_video(&p.data, p.pts.samples(), p.keyframe),
                    _ => Err(EncodeError::Mux("writer already finished".into())),
                };
                self.video.recycle(p);
                res.map_err(|e| at(&self.path, e))?;
            } else {
                let Some((data, t)) = self.aq.pop_front() else {
                    break;
                };
                let last = all && self.aq.is_empty();
                let res = match &mut self.mux {
                    Mux::Mp4(m) => m.write_audio(&data, t),
                    Mux::Webm(m) => {
                        let padding = if last {
                            let covered = self.audio_packets * OPUS_FRAME_SAMPLES as u64;
                            covered
                                .saturating_sub(self.audio.pre_skip() as u64 + self.audio_samples)
                        } else {
                            0
                        };
                        m.write_audio(&data, t, padding)
                    }
                    _ => Err(EncodeError::Mux("writer already finished".into())),
                };
                self.spare.push(data);
                res.map_err(|e| at(&self.path, e))?;
            }
        }
        Ok(())
    }

    fn start_webm(&mut self) -> Result<(), EncodeError> {
        if !matches!(self.mux, Mux::WebmPending(_)) {
            return Ok(());
        }
        let Mux::WebmPending(out) = std::mem::replace(&mut self.mux, Mux::Done) else {
            unreachable!()
        };
        let audio = (self.audio_packets > 0).then(|| WebmAudio {
            opus_head: opus_head(1, self.audio.pre_skip(), 48_000).to_vec(),
            pre_skip: self.audio.pre_skip(),
        });
        let m = WebmMuxer::new(out, self.width, self.height, self.fps, audio)
            .map_err(|e| at(&self.path, e))?;
        self.mux = Mux::Webm(m);
        Ok(())
    }

    /// Encodes the remaining audio (padding the last packet), writes the index and closes the
    /// file.
    pub fn finish(mut self) -> Result<(), EncodeError> {
        if self.audio_samples > 0 {
            // Enough packets that the decoder outputs pre-skip + every real sample.
            let needed = (self.audio.pre_skip() as u64 + self.audio_samples)
                .div_ceil(OPUS_FRAME_SAMPLES as u64);
            while self.audio_packets < needed {
                self.pcm.resize(OPUS_FRAME_SAMPLES, 0);
                self.encode_audio_frame()?;
            }
        }
        self.drain(true)?;
        self.start_webm()?;
        let path = self.path.clone();
        match std::mem::replace(&mut self.mux, Mux::Done) {
            Mux::Mp4(m) if self.faststart => m
                .finish_faststart(self.audio_samples, |w| {
                    w.into_inner().map_err(|e| e.into_error())
                })
                .map(drop),
            Mux::Mp4(m) => m.finish(self.audio_samples).map(drop),
            Mux::Webm(m) => m.finish(self.audio_samples).map(drop),
            _ => Ok(()),
        }
        .map_err(|e| at(&path, e))
    }
}

/// Names the file in muxer I/O errors.
fn at(path: &Path, e: EncodeError) -> EncodeError {
    match e {
        EncodeError::Io { source, .. } => EncodeError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    }
}
