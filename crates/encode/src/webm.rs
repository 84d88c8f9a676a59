//! A small WebM (Matroska) muxer: one VP8 video track and one Opus audio track, SimpleBlocks in
//! Clusters (a new Cluster at every video key frame), Cues, Duration, per-track DURATION tags.
//!
//! Timing: TimestampScale is 1 ms. Opus blocks carry the encoder's raw timestamps (packet k at
//! k*20 ms); `CodecDelay` tells the demuxer to drop the pre-skip, and the last audio packet
//! carries `DiscardPadding`, so the presented audio starts at 0 and lasts exactly the samples
//! given to the encoder.

use crate::EncodeError;
use std::io::{Seek, SeekFrom, Write};

mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const EBML_VERSION: u32 = 0x4286;
    pub const EBML_READ_VERSION: u32 = 0x42F7;
    pub const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
    pub const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
    pub const DOC_TYPE: u32 = 0x4282;
    pub const DOC_TYPE_VERSION: u32 = 0x4287;
    pub const DOC_TYPE_READ_VERSION: u32 = 0x4285;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const SEEK_HEAD: u32 = 0x114D_9B74;
    pub const SEEK: u32 = 0x4DBB;
    pub const SEEK_ID: u32 = 0x53AB;
    pub const SEEK_POSITION: u32 = 0x53AC;
    pub const INFO: u32 = 0x1549_A966;
    pub const TIMECODE_SCALE: u32 = 0x2A_D7B1;
    pub const DURATION: u32 = 0x4489;
    pub const MUXING_APP: u32 = 0x4D80;
    pub const WRITING_APP: u32 = 0x5741;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const TRACK_NUMBER: u32 = 0xD7;
    pub const TRACK_UID: u32 = 0x73C5;
    pub const TRACK_TYPE: u32 = 0x83;
    pub const FLAG_LACING: u32 = 0x9C;
    pub const LANGUAGE: u32 = 0x22_B59C;
    pub const CODEC_ID: u32 = 0x86;
    pub const CODEC_PRIVATE: u32 = 0x63A2;
    pub const CODEC_DELAY: u32 = 0x56AA;
    pub const SEEK_PRE_ROLL: u32 = 0x56BB;
    pub const DEFAULT_DURATION: u32 = 0x23_E383;
    pub const VIDEO: u32 = 0xE0;
    pub const PIXEL_WIDTH: u32 = 0xB0;
    pub const PIXEL_HEIGHT: u32 = 0xBA;
    pub const COLOUR: u32 = 0x55B0;
    pub const MATRIX_COEFFICIENTS: u32 = 0x55B1;
    pub const RANGE: u32 = 0x55B9;
    pub const TRANSFER_CHARACTERISTICS: u32 = 0x55BA;
    pub const PRIMARIES: u32 = 0x55BB;
    pub const AUDIO: u32 = 0xE1;
    pub const SAMPLING_FREQUENCY: u32 = 0xB5;
    pub const CHANNELS: u32 = 0x9F;
    pub const CLUSTER: u32 = 0x1F43_B675;
    pub const TIMECODE: u32 = 0xE7;
    pub const SIMPLE_BLOCK: u32 = 0xA3;
    pub const BLOCK_GROUP: u32 = 0xA0;
    pub const BLOCK: u32 = 0xA1;
    pub const DISCARD_PADDING: u32 = 0x75A2;
    pub const CUES: u32 = 0x1C53_BB6B;
    pub const CUE_POINT: u32 = 0xBB;
    pub const CUE_TIME: u32 = 0xB3;
    pub const CUE_TRACK_POSITIONS: u32 = 0xB7;
    pub const CUE_TRACK: u32 = 0xF7;
    pub const CUE_CLUSTER_POSITION: u32 = 0xF1;
    pub const TAGS: u32 = 0x1254_C367;
    pub const TAG: u32 = 0x7373;
    pub const TARGETS: u32 = 0x63C0;
    pub const TAG_TRACK_UID: u32 = 0x63C5;
    pub const SIMPLE_TAG: u32 = 0x67C8;
    pub const TAG_NAME: u32 = 0x45A3;
    pub const TAG_STRING: u32 = 0x4487;
}

const VIDEO_TRACK: u64 = 1;
const AUDIO_TRACK: u64 = 2;
const VIDEO_UID: u64 = 0x5643_4656_4944_0001;
const AUDIO_UID: u64 = 0x5643_4641_5544_0002;
/// Start a new cluster after this long even without a key frame (block offsets are i16 ms).
const MAX_CLUSTER_MS: u64 = 5_000;

fn put_id(b: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|&&x| x == 0).count().min(3);
    b.extend_from_slice(&bytes[skip..]);
}

fn put_size(b: &mut Vec<u8>, size: u64) {
    let mut len = 1;
    while len < 8 && size >= (1u64 << (7 * len)) - 1 {
        len += 1;
    }
    put_size_len(b, size, len);
}

fn put_size_len(b: &mut Vec<u8>, size: u64, len: usize) {
    let v = size | (1u64 << (7 * len));
    b.extend_from_slice(&v.to_be_bytes()[8 - len..]);
}

fn el(b: &mut Vec<u8>, id: u32, f: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    f(&mut inner);
    put_id(b, id);
    put_size(b, inner.len() as u64);
    b.extend_from_slice(&inner);
}

fn uint(b: &mut Vec<u8>, id: u32, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&x| x == 0).count().min(7);
    put_id(b, id);
    put_size(b, (8 - skip) as u64);
    b.extend_from_slice(&bytes[skip..]);
}

/// An unsigned integer always stored in 8 bytes (to be patched later).
fn uint8(b: &mut Vec<u8>, id: u32, v: u64) -> usize {
    put_id(b, id);
    put_size(b, 8);
    let at = b.len();
    b.extend_from_slice(&v.to_be_bytes());
    at
}

fn sint(b: &mut Vec<u8>, id: u32, v: i64) {
    put_id(b, id);
    put_size(b, 8);
    b.extend_from_slice(&v.to_be_bytes());
}

fn float(b: &mut Vec<u8>, id: u32, v: f64) -> usize {
    put_id(b, id);
    put_size(b, 8);
    let at = b.len();
    b.extend_from_slice(&v.to_be_bytes());
    at
}

fn string(b: &mut Vec<u8>, id: u32, s: &str) {
    put_id(b, id);
    put_size(b, s.len() as u64);
    b.extend_from_slice(s.as_bytes());
}

fn binary(b: &mut Vec<u8>, id: u32, d: &[u8]) {
    put_id(b, id);
    put_size(b, d.len() as u64);
    b.extend_from_slice(d);
}

fn io(e: std::io::Error) -> EncodeError {
    EncodeError::Io {
        path: "webm output".into(),
        source: e,
    }
}

/// Audio track parameters.
#[derive(Clone, Debug)]
pub struct WebmAudio {
    /// The 19-byte OpusHead (CodecPrivate).
    pub opus_head: Vec<u8>,
    /// Encoder delay in 48 kHz samples.
    pub pre_skip: u16,
}

/// Streaming WebM writer (VP8 + Opus). Blocks must be handed over in timestamp order.
pub struct WebmMuxer<W: Write + Seek> {
    w: W,
    pos: u64,
    segment_size_at: u64,
    segment_data: u64,
    duration_at: u64,
    cues_pos_at: u64,
    tags_pos_at: u64,
    cluster: Option<(u64, u64)>, // (file position of the cluster, timecode ms)
    cues: Vec<(u64, u64)>,
    last_ms: u64,
    fps: u32,
    video_end_ms: f64,
    has_audio: bool,
    buf: Vec<u8>,
}

impl<W: Write + Seek> WebmMuxer<W> {
    /// Writes the EBML header, SeekHead, Info and Tracks. `audio: None` writes a video-only file.
    pub fn new(
        mut w: W,
        width: u32,
        height: u32,
        fps: u32,
        audio: Option<WebmAudio>,
    ) -> Result<Self, EncodeError> {
        let mut b = Vec::new();
        el(&mut b, id::EBML, |e| {
            uint(e, id::EBML_VERSION, 1);
            uint(e, id::EBML_READ_VERSION, 1);
            uint(e, id::EBML_MAX_ID_LENGTH, 4);
            uint(e, id::EBML_MAX_SIZE_LENGTH, 8);
            string(e, id::DOC_TYPE, "webm");
            uint(e, id::DOC_TYPE_VERSION, 4);
            uint(e, id::DOC_TYPE_READ_VERSION, 2);
        });
        put_id(&mut b, id::SEGMENT);
        let segment_size_at = b.len() as u64;
        put_size_len(&mut b, 0, 8);
        let segment_data = b.len() as u64;

        // SeekHead with fixed-size positions patched in finish().
        let mut seek = Vec::new();
        let mut info = Vec::new();
        let mut tracks = Vec::new();
        el(&mut info, id::INFO, |i| {
            uint(i, id::TIMECODE_SCALE, 1_000_000);
            string(i, id::MUXING_APP, "facecast");
            string(i, id::WRITING_APP, "facecast");
            float(i, id::DURATION, 0.0);
        });
        el(&mut tracks, id::TRACKS, |t| {
            el(t, id::TRACK_ENTRY, |e| {
                uint(e, id::TRACK_NUMBER, VIDEO_TRACK);
                uint(e, id::TRACK_UID, VIDEO_UID);
                uint(e, id::TRACK_TYPE, 1);
                uint(e, id::FLAG_LACING, 0);
                string(e, id::LANGUAGE, "und");
                string(e, id::CODEC_ID, "V_VP8");
                uint(e, id::DEFAULT_DURATION, 1_000_000_000 / fps.max(1) as u64);
                el(e, id::VIDEO, |v| {
                    uint(v, id::PIXEL_WIDTH, width as u64);
                    uint(v, id::PIXEL_HEIGHT, height as u64);
                    el(v, id::COLOUR, |c| {
                        uint(c, id::MATRIX_COEFFICIENTS, 6);
                        uint(c, id::RANGE, 1);
                        uint(c, id::TRANSFER_CHARACTERISTICS, 6);
                        uint(c, id::PRIMARIES, 6);
                    });
                });
            });
            if let Some(a) = &audio {
                el(t, id::TRACK_ENTRY, |e| {
                    uint(e, id::TRACK_NUMBER, AUDIO_TRACK);
                    uint(e, id::TRACK_UID, AUDIO_UID);
                    uint(e, id::TRACK_TYPE, 2);
                    uint(e, id::FLAG_LACING, 0);
                    string(e, id::LANGUAGE, "und");
                    string(e, id::CODEC_ID, "A_OPUS");
                    binary(e, id::CODEC_PRIVATE, &a.opus_head);
                    uint(
                        e,
                        id::CODEC_DELAY,
                        a.pre_skip as u64 * 1_000_000_000 / 48_000,
                    );
                    uint(e, id::SEEK_PRE_ROLL, 80_000_000);
                    el(e, id::AUDIO, |x| {
                        float(x, id::SAMPLING_FREQUENCY, 48_000.0);
                        uint(x, id::CHANNELS, 1);
                    });
                });
            }
        });
        // Layout: SeekHead | Info | Tracks | Clusters... | Cues | Tags
        let seekhead_len_guess = {
            let mut tmp = Vec::new();
            Self::seekhead(&mut tmp, 0, 0, 0, 0);
            tmp.len() as u64
        };
        let info_pos = seekhead_len_guess;
        let tracks_pos = info_pos + info.len() as u64;
        let (cues_off, tags_off) = Self::seekhead(&mut seek, info_pos, tracks_pos, 0, 0);
        let seek_start = b.len() as u64;
        b.extend_from_slice(&seek);
        let info_start = b.len() as u64;
        b.extend_from_slice(&info);
        b.extend_from_slice(&tracks);
        // position of the Duration float inside info: its last 8 bytes
        let duration_at = info_start + info.len() as u64 - 8;
        w.write_all(&b).map_err(io)?;
        Ok(WebmMuxer {
            w,
            pos: b.len() as u64,
            segment_size_at,
            segment_data,
            duration_at,
            cues_pos_at: seek_start + cues_off as u64,
            tags_pos_at: seek_start + tags_off as u64,
            cluster: None,
            cues: Vec::new(),
            last_ms: 0,
            fps: fps.max(1),
            video_end_ms: 0.0,
            has_audio: audio.is_some(),
            buf: Vec::new(),
        })
    }

    /// Writes the SeekHead; returns the offsets (within `b`) of the Cues and Tags positions.
    fn seekhead(b: &mut Vec<u8>, info: u64, tracks: u64, cues: u64, tags: u64) -> (usize, usize) {
        let mut inner = Vec::new();
        let mut offs = [0usize; 2];
        for (k, (target, pos)) in [
            (id::INFO, info),
            (id::TRACKS, tracks),
            (id::CUES, cues),
            (id::TAGS, tags),
        ]
        .into_iter()
        .enumerate()
        {
            let mut s = Vec::new();
            let mut idb = Vec::new();
            put_id(&mut idb, target);
            binary(&mut s, id::SEEK_ID, &idb);
            let at = uint8(&mut s, id::SEEK_POSITION, pos);
            put_id(&mut inner, id::SEEK);
            put_size(&mut inner, s.len() as u64);
            let base = inner.len();
            inner.extend_from_slice(&s);
            if k >= 2 {
                offs[k - 2] = base + at;
            }
        }
        put_id(b, id::SEEK_HEAD);
        put_size(b, inner.len() as u64);
        let base = b.len();
        b.extend_from_slice(&inner);
        (base + offs[0], base + offs[1])
    }

    fn close_cluster(&mut self) -> Result<(), EncodeError> {
        if let Some((start, _)) = self.cluster.take() {
            let size = self.pos - (start + 4 + 8);
            let mut s = Vec::new();
            put_size_len(&mut s, size, 8);
            self.w.seek(SeekFrom::Start(start + 4)).map_err(io)?;
            self.w.write_all(&s).map_err(io)?;
            self.w.seek(SeekFrom::Start(self.pos)).map_err(io)?;
        }
        Ok(())
    }

    fn open_cluster(&mut self, ms: u64, cue: bool) -> Result<(), EncodeError> {
        self.close_cluster()?;
        let mut b = Vec::new();
        put_id(&mut b, id::CLUSTER);
        put_size_len(&mut b, 0, 8);
        uint(&mut b, id::TIMECODE, ms);
        self.w.write_all(&b).map_err(io)?;
        if cue {
            self.cues.push((ms, self.pos - self.segment_data));
        }
        self.cluster = Some((self.pos, ms));
        self.pos += b.len() as u64;
        Ok(())
    }

    fn block(
        &mut self,
        track: u64,
        ms: u64,
        key: bool,
        data: &[u8],
        discard_ns: Option<i64>,
    ) -> Result<(), EncodeError> {
        if ms < self.last_ms {
            return Err(EncodeError::Mux(format!(
                "block at {ms} ms after one at {} ms",
                self.last_ms
            )));
        }
        self.last_ms = ms;
        let video_key = track == VIDEO_TRACK && key;
        let need_new = match self.cluster {
            None => true,
            Some((_, c)) => video_key || ms - c >= MAX_CLUSTER_MS,
        };
        if need_new {
            self.open_cluster(ms, video_key)?;
        }
        let rel = (ms - self.cluster.map_or(0, |c| c.1)) as i16;
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        let header = |h: &mut Vec<u8>, flags: u8| {
            put_size(h, track);
            h.extend_from_slice(&rel.to_be_bytes());
            h.push(flags);
        };
        match discard_ns {
            None => {
                put_id(&mut b, id::SIMPLE_BLOCK);
                put_size(&mut b, data.len() as u64 + 4);
                header(&mut b, if key { 0x80 } else { 0 });
                b.extend_from_slice(data);
            }
            Some(ns) => {
                let mut g = Vec::new();
                put_id(&mut g, id::BLOCK);
                put_size(&mut g, data.len() as u64 + 4);
                header(&mut g, 0);
                g.extend_from_slice(data);
                sint(&mut g, id::DISCARD_PADDING, ns);
                put_id(&mut b, id::BLOCK_GROUP);
                put_size(&mut b, g.len() as u64);
                b.extend_from_slice(&g);
            }
        }
        let res = self.w.write_all(&b).map_err(io);
        self.pos += b.len() as u64;
        self.buf = b;
        res
    }

    /// Writes a VP8 frame shown at `time` (48 kHz samples).
    pub fn write_video(
        &mut self,
        data: &[u8],
        time: u64,
        keyframe: bool,
    ) -> Result<(), EncodeError> {
        self.block(VIDEO_TRACK, time / 48, keyframe, data, None)?;
        let end = (time + 48_000 / self.fps as u64) as f64 / 48.0;
        self.video_end_ms = self.video_end_ms.max(end);
        Ok(())
    }

    /// Writes an Opus packet whose decoded samples start at `time` (48 kHz samples, pre-skip
    /// included: packet k at k*960). The last packet gives the number of padding samples at its
    /// end that the decoder must discard.
    pub fn write_audio(
        &mut self,
        data: &[u8],
        time: u64,
        discard_padding: u64,
    ) -> Result<(), EncodeError> {
        if !self.has_audio {
            return Err(EncodeError::Mux(
                "audio packet for a file without an audio track".into(),
            ));
        }
        let ns = (discard_padding * 1_000_000_000 / 48_000) as i64;
        self.block(AUDIO_TRACK, time / 48, true, data, (ns > 0).then_some(ns))
    }

    /// Writes Cues and Tags, patches sizes and Duration, and returns the writer.
    /// `audio_samples`: presented audio samples at 48 kHz.
    pub fn finish(mut self, audio_samples: u64) -> Result<W, EncodeError> {
        self.close_cluster()?;
        let audio_ms = audio_samples as f64 * 1000.0 / 48_000.0;
        let mut b = Vec::new();
        let cues_pos = self.pos - self.segment_data;
        el(&mut b, id::CUES, |c| {
            for &(ms, pos) in &self.cues {
                el(c, id::CUE_POINT, |p| {
                    uint(p, id::CUE_TIME, ms);
                    el(p, id::CUE_TRACK_POSITIONS, |t| {
                        uint(t, id::CUE_TRACK, VIDEO_TRACK);
                        uint(t, id::CUE_CLUSTER_POSITION, pos);
                    });
                });
            }
        });
        let tags_pos = self.pos + b.len() as u64 - self.segment_data;
        let has_audio = self.has_audio;
        let video_end = self.video_end_ms;
        el(&mut b, id::TAGS, |t| {
            let mut tag = |uid: u64, ms: f64| {
                el(t, id::TAG, |g| {
                    el(g, id::TARGETS, |x| uint(x, id::TAG_TRACK_UID, uid));
                    el(g, id::SIMPLE_TAG, |s| {
                        string(s, id::TAG_NAME, "DURATION");
                        string(s, id::TAG_STRING, &hms(ms));
                    });
                });
            };
            tag(VIDEO_UID, video_end);
            if has_audio {
                tag(AUDIO_UID, audio_ms);
            }
        });
        self.w.write_all(&b).map_err(io)?;
        self.pos += b.len() as u64;
        let end = self.pos;
        let duration = if has_audio {
            video_end.max(audio_ms)
        } else {
            video_end
        };
        let patches: [(u64, Vec<u8>); 4] = [
            (self.segment_size_at, {
                let mut s = Vec::new();
                put_size_len(&mut s, end - self.segment_data, 8);
                s
            }),
            (self.duration_at, duration.to_be_bytes().to_vec()),
            (self.cues_pos_at, cues_pos.to_be_bytes().to_vec()),
            (self.tags_pos_at, tags_pos.to_be_bytes().to_vec()),
        ];
        for (at, bytes) in patches {
            self.w.seek(SeekFrom::Start(at)).map_err(io)?;
            self.w.write_all(&bytes).map_err(io)?;
        }
        self.w.seek(SeekFrom::Start(end)).map_err(io)?;
        self.w.flush().map_err(io)?;
        Ok(self.w)
    }
}

/// "HH:MM:SS.nnnnnnnnn" as written by mkvmerge/ffmpeg for DURATION tags.
fn hms(ms: f64) -> String {
    let ns = (ms * 1e6).round() as u64;
    let s = ns / 1_000_000_000;
    format!(
        "{:02}:{:02}:{:02}.{:09}",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        ns % 1_000_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ebml_sizes_and_ids() {
        let mut b = Vec::new();
        put_size(&mut b, 5);
        assert_eq!(b, [0x85]);
        b.clear();
        put_size(&mut b, 127); // 0x7f is reserved (unknown) in 1 byte
        assert_eq!(b, [0x40, 0x7f]);
        b.clear();
        put_id(&mut b, id::SEGMENT);
        assert_eq!(b, [0x18, 0x53, 0x80, 0x67]);
        b.clear();
        uint(&mut b, id::TRACK_NUMBER, 1);
        assert_eq!(b, [0xD7, 0x81, 0x01]);
        assert_eq!(hms(3_723_500.0), "01:02:03.500000000");
    }
}
