//! A small ISO BMFF (MP4) muxer: one H.264 video track (`avc1`/`avcC`) and one Opus audio track
//! (`Opus`/`dOps`, per "Encapsulation of Opus in ISO Base Media File Format"), samples streamed
//! into `mdat`, `moov` written at the end.
//!
//! Timing: both media timescales are 48 kHz (the session clock). The audio track has an edit
//! list that skips the Opus pre-skip and trims the padding of the last packet, so the presented
//! audio starts at 0 and lasts exactly the number of samples given to the encoder.

use crate::annexb::{nal, nal_type, nal_units};
use crate::EncodeError;
use facecast_core::OUTPUT_RATE;
use std::io::{Read, Seek, SeekFrom, Write};

const TIMESCALE: u32 = OUTPUT_RATE;

#[derive(Default)]
struct Track {
    sizes: Vec<u32>,
    /// Decode times (48 kHz) of the samples.
    times: Vec<u64>,
    /// (file offset, sample count) of each chunk.
    chunks: Vec<(u64, u32)>,
    /// 1-based sample numbers of sync samples.
    sync: Vec<u32>,
}

impl Track {
    fn add(&mut self, offset: u64, size: u32, time: u64, key: bool, contiguous: bool) {
        self.sizes.push(size);
        self.times.push(time);
        if key {
            self.sync.push(self.sizes.len() as u32);
        }
        match self.chunks.last_mut() {
            Some(last) if contiguous => last.1 += 1,
            _ => self.chunks.push((offset, 1)),
        }
    }
}

/// Streaming MP4 writer (H.264 + Opus).
pub struct Mp4Muxer<W: Write + Seek> {
    w: W,
    pos: u64,
    mdat_start: u64,
    width: u32,
    height: u32,
    frame_duration: u64,
    video: Track,
    audio: Track,
    last_written: u8,
    sps: Vec<u8>,
    pps: Vec<u8>,
    pre_skip: u16,
    scratch: Vec<u8>,
}

fn io(e: std::io::Error) -> EncodeError {
    EncodeError::Io {
        path: "mp4 output".into(),
        source: e,
    }
}

impl<W: Write + Seek> Mp4Muxer<W> {
    /// Starts a file: writes `ftyp` and the `mdat` header. `pre_skip` is the Opus encoder delay.
    pub fn new(
        mut w: W,
        width: u32,
        height: u32,
        fps: u32,
        pre_skip: u16,
    ) -> Result<Self, EncodeError> {
        let mut head = Vec::new();
        bx(&mut head, b"ftyp", |b| {
            b.extend_from_slice(b"isom");
            b.extend_from_slice(&512u32.to_be_bytes());
            for brand in [b"isom", b"iso2", b"avc1", b"mp41", b"Opus"] {
                b.extend_from_slice(brand);
            }
        });
        let mdat_start = head.len() as u64;
        // 64-bit mdat header: size field 1, type, then the real size (patched in finish).
        head.extend_from_slice(&1u32.to_be_bytes());
        head.extend_from_slice(b"mdat");
        head.extend_from_slice(&0u64.to_be_bytes());
        w.write_all(&head).map_err(io)?;
        Ok(Mp4Muxer {
            w,
            pos: head.len() as u64,
            mdat_start,
            width,
            height,
            frame_duration: (OUTPUT_RATE / fps.max(1)) as u64,
            video: Track::default(),
            audio: Track::default(),
            last_written: 0,
            sps: Vec::new(),
            pps: Vec::new(),
            pre_skip,
            scratch: Vec::new(),
        })
    }

    /// Appends one H.264 access unit (Annex B) shown at `time` (48 kHz). Parameter sets are
    /// moved into `avcC` (kept in band if they change).
    pub fn write_video(
        &mut self,
        annexb: &[u8],
        time: u64,
        keyframe: bool,
    ) -> Result<(), EncodeError> {
        if let Some(&last) = self.video.times.last() {
            if time <= last {
                return Err(EncodeError::Mux(format!(
                    "video time {time} not after previous {last}"
                )));
            }
        }
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        for n in nal_units(annexb) {
            let keep = match nal_type(n) {
                nal::SPS if self.sps.is_empty() || self.sps == n => {
                    self.sps.clear();
                    self.sps.extend_from_slice(n);
                    false
                }
                nal::PPS if self.pps.is_empty() || self.pps == n => {
                    self.pps.clear();
                    self.pps.extend_from_slice(n);
                    false
                }
                nal::AUD => false,
                _ => true,
            };
            if keep {
                out.extend_from_slice(&(n.len() as u32).to_be_bytes());
                out.extend_from_slice(n);
            }
        }
        if self.video.sizes.is_empty() && (self.sps.is_empty() || self.pps.is_empty()) {
            self.scratch = out;
            return Err(EncodeError::Mux(
                "the first H.264 access unit carries no SPS/PPS".into(),
            ));
        }
        let res = self.append(1, &out, time, keyframe);
        self.scratch = out;
        res
    }

    /// Appends one Opus packet of 960 samples whose decoded samples start at `time` (48 kHz,
    /// counting the pre-skip: packet k at k*960).
    pub fn write_audio(&mut self, packet: &[u8], time: u64) -> Result<(), EncodeError> {
        self.append(2, packet, time, true)
    }

    fn append(&mut self, track: u8, data: &[u8], time: u64, key: bool) -> Result<(), EncodeError> {
        let size = u32::try_from(data.len())
            .map_err(|_| EncodeError::Mux("sample larger than 4 GiB".into()))?;
        self.w.write_all(data).map_err(io)?;
        let contiguous = self.last_written == track;
        let t = if track == 1 {
            &mut self.video
        } else {
            &mut self.audio
        };
        t.add(self.pos, size, time, key, contiguous);
        self.pos += data.len() as u64;
        self.last_written = track;
        Ok(())
    }

    /// Writes `moov`, patches the `mdat` size and returns the writer. `audio_samples` is the
    /// number of real (presented) audio samples.
    pub fn finish(mut self, audio_samples: u64) -> Result<W, EncodeError> {
        let mdat_size = self.pos - self.mdat_start;
        let moov = self.moov(audio_samples, 0);
        self.w.write_all(&moov).map_err(io)?;
        self.w
            .seek(SeekFrom::Start(self.mdat_start + 8))
            .map_err(io)?;
        self.w.write_all(&mdat_size.to_be_bytes()).map_err(io)?;
        self.w.seek(SeekFrom::End(0)).map_err(io)?;
        self.w.flush().map_err(io)?;
        Ok(self.w)
    }

    /// Like [`finish`](Self::finish) but puts `moov` before `mdat` ("fast start": players can
    /// start before the whole file is downloaded). The media data is moved in place, so the
    /// output must be readable: `to_rw` turns the writer into a `Read + Write + Seek` handle
    /// (e.g. `BufWriter::into_inner` for a file, identity for a `Cursor`).
    pub fn finish_faststart<F: Read + Write + Seek>(
        mut self,
        audio_samples: u64,
        to_rw: impl FnOnce(W) -> std::io::Result<F>,
    ) -> Result<F, EncodeError> {
        // The moov size depends on the offsets only through stco -> co64; iterate until stable.
        let mut moov = self.moov(audio_samples, 0);
        loop {
            let next = self.moov(audio_samples, moov.len() as u64);
            let done = next.len() == moov.len();
            moov = next;
            if done {
                break;
            }
        }
        let shift = moov.len() as u64;
        let mdat_size = self.pos - self.mdat_start;
        self.w.flush().map_err(io)?;
        let mut f = to_rw(self.w).map_err(io)?;
        // Move [mdat_start, pos) up by `shift`, last block first.
        let mut buf = vec![0u8; 1 << 20];
        let mut end = self.pos;
        while end > self.mdat_start {
            let start = end.saturating_sub(buf.len() as u64).max(self.mdat_start);
            let n = (end - start) as usize;
            f.seek(SeekFrom::Start(start)).map_err(io)?;
            f.read_exact(&mut buf[..n]).map_err(io)?;
            f.seek(SeekFrom::Start(start + shift)).map_err(io)?;
            f.write_all(&buf[..n]).map_err(io)?;
            end = start;
        }
        f.seek(SeekFrom::Start(self.mdat_start)).map_err(io)?;
        f.write_all(&moov).map_err(io)?;
        f.seek(SeekFrom::Start(self.mdat_start + shift + 8))
            .map_err(io)?;
        f.write_all(&mdat_size.to_be_bytes()).map_err(io)?;
        f.seek(SeekFrom::End(0)).map_err(io)?;
        f.flush().map_err(io)?;
        Ok(f)
    }

    fn video_duration(&self) -> u64 {
        match (self.video.times.first(), self.video.times.last()) {
            (Some(_), Some(&last)) => last + self.frame_duration,
            _ => 0,
        }
    }

    fn moov(&self, audio_samples: u64, shift: u64) -> Vec<u8> {
        let has_video = !self.video.sizes.is_empty();
        let has_audio = !self.audio.sizes.is_empty();
        let vdur = self.video_duration();
        let adur = if has_audio { audio_samples } else { 0 };
        let mut m = Vec::new();
        bx(&mut m, b"moov", |m| {
            let movie_dur = vdur.max(adur);
            full(m, b"mvhd", 1, 0, |b| {
                b.extend_from_slice(&0u64.to_be_bytes()); // creation
                b.extend_from_slice(&0u64.to_be_bytes()); // modification
                b.extend_from_slice(&TIMESCALE.to_be_bytes());
                b.extend_from_slice(&movie_dur.to_be_bytes());
                b.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
                b.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
                b.extend_from_slice(&[0; 10]);
                matrix(b);
                b.extend_from_slice(&[0; 24]);
                b.extend_from_slice(&3u32.to_be_bytes()); // next track id
            });
            if has_video {
                self.video_trak(m, vdur, shift);
            }
            if has_audio {
                self.audio_trak(m, adur, shift);
            }
        });
        m
    }

    fn video_trak(&self, m: &mut Vec<u8>, dur: u64, shift: u64) {
        bx(m, b"trak", |t| {
            tkhd(t, 1, dur, false, self.width, self.height);
            bx(t, b"mdia", |md| {
                mdhd(md, dur);
                hdlr(md, b"vide", "VideoHandler");
                bx(md, b"minf", |mi| {
                    full(mi, b"vmhd", 0, 1, |b| b.extend_from_slice(&[0; 8]));
                    dinf(mi);
                    bx(mi, b"stbl", |s| {
                        full(s, b"stsd", 0, 0, |b| {
                            b.extend_from_slice(&1u32.to_be_bytes());
                            self.avc1(b);
                        });
                        stts(s, &self.video.times, self.frame_duration);
                        full(s, b"stss", 0, 0, |b| {
                            b.extend_from_slice(&(self.video.sync.len() as u32).to_be_bytes());
                            for &n in &self.video.sync {
                                b.extend_from_slice(&n.to_be_bytes());
                            }
                        });
                        sample_tables(s, &self.video, shift);
                    });
                });
            });
        });
    }

    fn avc1(&self, b: &mut Vec<u8>) {
        bx(b, b"avc1", |e| {
            e.extend_from_slice(&[0; 6]);
            e.extend_from_slice(&1u16.to_be_bytes()); // data reference index
            e.extend_from_slice(&[0; 16]);
            e.extend_from_slice(&(self.width as u16).to_be_bytes());
            e.extend_from_slice(&(self.height as u16).to_be_bytes());
            e.extend_from_slice(&0x0048_0000u32.to_be_bytes());
            e.extend_from_slice(&0x0048_0000u32.to_be_bytes());
            e.extend_from_slice(&0u32.to_be_bytes());
            e.extend_from_slice(&1u16.to_be_bytes()); // frame count
            let mut name = [0u8; 32];
            let label = b"OpenH264";
            name[0] = label.len() as u8;
            name[1..=label.len()].copy_from_slice(label);
            e.extend_from_slice(&name);
            e.extend_from_slice(&0x0018u16.to_be_bytes());
            e.extend_from_slice(&(-1i16).to_be_bytes());
            bx(e, b"avcC", |c| {
                let sps = &self.sps;
                c.push(1);
                c.push(sps.get(1).copied().unwrap_or(66));
                c.push(sps.get(2).copied().unwrap_or(0xc0));
                c.push(sps.get(3).copied().unwrap_or(30));
                c.push(0xff); // 4-byte lengths
                c.push(0xe1); // one SPS
                c.extend_from_slice(&(sps.len() as u16).to_be_bytes());
                c.extend_from_slice(sps);
                c.push(1);
                c.extend_from_slice(&(self.pps.len() as u16).to_be_bytes());
                c.extend_from_slice(&self.pps);
            });
            // BT.601 limited range, as produced by facecast_core::convert.
            bx(e, b"colr", |c| {
                c.extend_from_slice(b"nclx");
                c.extend_from_slice(&6u16.to_be_bytes());
                c.extend_from_slice(&6u16.to_be_bytes());
                c.extend_from_slice(&6u16.to_be_bytes());
                c.push(0);
            });
            bx(e, b"pasp", |c| {
                c.extend_from_slice(&1u32.to_be_bytes());
                c.extend_from_slice(&1u32.to_be_bytes());
            });
        });
    }

    fn audio_trak(&self, m: &mut Vec<u8>, dur: u64, shift: u64) {
        let media_dur = self.audio.sizes.len() as u64 * 960;
        bx(m, b"trak", |t| {
            tkhd(t, 2, dur, true, 0, 0);
            bx(t, b"edts", |e| {
                full(e, b"elst", 1, 0, |b| {
                    b.extend_from_slice(&1u32.to_be_bytes());
                    b.extend_from_slice(&dur.to_be_bytes()); // segment duration (movie timescale)
                    b.extend_from_slice(&(self.pre_skip as i64).to_be_bytes()); // media time
                    b.extend_from_slice(&1u16.to_be_bytes());
                    b.extend_from_slice(&0u16.to_be_bytes());
                });
            });
            bx(t, b"mdia", |md| {
                mdhd(md, media_dur);
                hdlr(md, b"soun", "SoundHandler");
                bx(md, b"minf", |mi| {
                    full(mi, b"smhd", 0, 0, |b| b.extend_from_slice(&[0; 4]));
                    dinf(mi);
                    bx(mi, b"stbl", |s| {
                        full(s, b"stsd", 0, 0, |b| {
                            b.extend_from_slice(&1u32.to_be_bytes());
                            bx(b, b"Opus", |e| {
                                e.extend_from_slice(&[0; 6]);
                                e.extend_from_slice(&1u16.to_be_bytes());
                                e.extend_from_slice(&[0; 8]);
                                e.extend_from_slice(&1u16.to_be_bytes()); // channel count
                                e.extend_from_slice(&16u16.to_be_bytes()); // sample size
                                e.extend_from_slice(&[0; 4]);
                                e.extend_from_slice(&(OUTPUT_RATE << 16).to_be_bytes());
                                bx(e, b"dOps", |d| {
                                    d.push(0); // version
                                    d.push(1); // output channel count
                                    d.extend_from_slice(&self.pre_skip.to_be_bytes());
                                    d.extend_from_slice(&OUTPUT_RATE.to_be_bytes());
                                    d.extend_from_slice(&0i16.to_be_bytes()); // output gain
                                    d.push(0); // channel mapping family
                                });
                            });
                        });
                        stts(s, &self.audio.times, 960);
                        sample_tables(s, &self.audio, shift);
                    });
                });
            });
        });
    }
}

/// Writes a box: size, type, contents.
fn bx(out: &mut Vec<u8>, typ: &[u8; 4], f: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(typ);
    f(out);
    let size = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// Writes a full box (version + flags).
fn full(out: &mut Vec<u8>, typ: &[u8; 4], version: u8, flags: u32, f: impl FnOnce(&mut Vec<u8>)) {
    bx(out, typ, |b| {
        b.push(version);
        b.extend_from_slice(&flags.to_be_bytes()[1..]);
        f(b);
    });
}

fn matrix(b: &mut Vec<u8>) {
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        b.extend_from_slice(&v.to_be_bytes());
    }
}

fn tkhd(t: &mut Vec<u8>, id: u32, dur: u64, audio: bool, w: u32, h: u32) {
    full(t, b"tkhd", 1, 3, |b| {
        b.extend_from_slice(&0u64.to_be_bytes());
        b.extend_from_slice(&0u64.to_be_bytes());
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&dur.to_be_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&0u16.to_be_bytes()); // layer
        b.extend_from_slice(&(if audio { 1u16 } else { 0 }).to_be_bytes()); // alternate group
        b.extend_from_slice(&(if audio { 0x0100u16 } else { 0 }).to_be_bytes()); // volume
        b.extend_from_slice(&0u16.to_be_bytes());
        matrix(b);
        b.extend_from_slice(&(w << 16).to_be_bytes());
        b.extend_from_slice(&(h << 16).to_be_bytes());
    });
}

fn mdhd(md: &mut Vec<u8>, dur: u64) {
    full(md, b"mdhd", 1, 0, |b| {
        b.extend_from_slice(&0u64.to_be_bytes());
        b.extend_from_slice(&0u64.to_be_bytes());
        b.extend_from_slice(&TIMESCALE.to_be_bytes());
        b.extend_from_slice(&dur.to_be_bytes());
        b.extend_from_slice(&0x55c4u16.to_be_bytes()); // language "und"
        b.extend_from_slice(&0u16.to_be_bytes());
    });
}

fn hdlr(md: &mut Vec<u8>, typ: &[u8; 4], name: &str) {
    full(md, b"hdlr", 0, 0, |b| {
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(typ);
        b.extend_from_slice(&[0; 12]);
        b.extend_from_slice(name.as_bytes());
        b.push(0);
    });
}

fn dinf(mi: &mut Vec<u8>) {
    bx(mi, b"dinf", |d| {
        full(d, b"dref", 0, 0, |b| {
            b.extend_from_slice(&1u32.to_be_bytes());
            full(b, b"url ", 0, 1, |_| {});
        });
    });
}

/// Time-to-sample table from the sample times; the last sample lasts `last_dur`.
fn stts(s: &mut Vec<u8>, times: &[u64], last_dur: u64) {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for (i, &t) in times.iter().enumerate() {
        let d = times.get(i + 1).map_or(last_dur, |&n| n - t) as u32;
        match runs.last_mut() {
            Some((n, dd)) if *dd == d => *n += 1,
            _ => runs.push((1, d)),
        }
    }
    full(s, b"stts", 0, 0, |b| {
        b.extend_from_slice(&(runs.len() as u32).to_be_bytes());
        for (n, d) in runs {
            b.extend_from_slice(&n.to_be_bytes());
            b.extend_from_slice(&d.to_be_bytes());
        }
    });
}

/// stsc, stsz and stco/co64 (chunk offsets moved by `shift` bytes).
fn sample_tables(s: &mut Vec<u8>, t: &Track, shift: u64) {
    let mut runs: Vec<(u32, u32)> = Vec::new(); // (first chunk, samples per chunk)
    for (i, &(_, n)) in t.chunks.iter().enumerate() {
        if runs.last().map(|r| r.1) != Some(n) {
            runs.push((i as u32 + 1, n));
        }
    }
    full(s, b"stsc", 0, 0, |b| {
        b.extend_from_slice(&(runs.len() as u32).to_be_bytes());
        for (first, n) in runs {
            b.extend_from_slice(&first.to_be_bytes());
            b.extend_from_slice(&n.to_be_bytes());
            b.extend_from_slice(&1u32.to_be_bytes());
        }
    });
    full(s, b"stsz", 0, 0, |b| {
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&(t.sizes.len() as u32).to_be_bytes());
        for &z in &t.sizes {
            b.extend_from_slice(&z.to_be_bytes());
        }
    });
    let large = t
        .chunks
        .last()
        .is_some_and(|c| c.0 + shift > u32::MAX as u64);
    full(s, if large { b"co64" } else { b"stco" }, 0, 0, |b| {
        b.extend_from_slice(&(t.chunks.len() as u32).to_be_bytes());
        for &(off, _) in &t.chunks {
            let off = off + shift;
            if large {
                b.extend_from_slice(&off.to_be_bytes());
            } else {
                b.extend_from_slice(&(off as u32).to_be_bytes());
            }
        }
    });
}
