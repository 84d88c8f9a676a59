//! Opus audio encoder (system libopus): 48 kHz mono, 20 ms frames.

use crate::EncodeError;

/// Samples in one 20 ms mono frame at 48 kHz.
pub const OPUS_FRAME_SAMPLES: usize = 960;

/// Opus complexity for live (WebRTC) sessions: see [`OpusEncoder::set_complexity`].
pub const LIVE_COMPLEXITY: u8 = 5;

/// Largest packet we ask libopus for (its recommended maximum).
const MAX_PACKET: usize = 4000;

/// What the encoder optimises for.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum OpusApplication {
    /// Best fidelity for any signal (files; synthesized speech and music).
    #[default]
    Audio,
    /// Speech intelligibility over lossy networks (WebRTC).
    Voip,
}

/// Opus encoder for one mono 48 kHz stream, 20 ms per packet.
pub struct OpusEncoder {
    enc: opus::Encoder,
    scratch: Vec<u8>,
    bitrate: u32,
    pre_skip: u16,
}

fn opus_err(what: &str, e: opus::Error) -> EncodeError {
    EncodeError::Opus(format!("{what}: {e}"))
}

fn check_bitrate(bps: u32) -> Result<(), EncodeError> {
    if !(6_000..=510_000).contains(&bps) {
        return Err(EncodeError::InvalidBitrate {
            bps,
            reason: "Opus supports 6000..=510000 bit/s",
        });
    }
    Ok(())
}

impl OpusEncoder {
    /// An encoder for general audio ([`OpusApplication::Audio`]) at `bitrate_bps`
    /// (6 000..=510 000).
    pub fn new(bitrate_bps: u32) -> Result<Self, EncodeError> {
        Self::with_application(bitrate_bps, OpusApplication::Audio)
    }

    /// An encoder with an explicit application mode.
    pub fn with_application(bitrate_bps: u32, app: OpusApplication) -> Result<Self, EncodeError> {
        check_bitrate(bitrate_bps)?;
        let mode = match app {
            OpusApplication::Audio => opus::Application::Audio,
            OpusApplication::Voip => opus::Application::Voip,
        };
        let mut enc = opus::Encoder::new(48_000, opus::Channels::Mono, mode)
            .map_err(|e| opus_err("creating", e))?;
        enc.set_bitrate(opus::Bitrate::Bits(bitrate_bps as i32))
            .map_err(|e| opus_err("setting the bitrate", e))?;
        let lookahead = enc
            .get_lookahead()
            .map_err(|e| opus_err("reading the lookahead", e))?;
        Ok(OpusEncoder {
            enc,
            scratch: vec![0; MAX_PACKET],
            bitrate: bitrate_bps,
            pre_skip: lookahead.clamp(0, u16::MAX as i32) as u16,
        })
    }

    /// Encodes one 20 ms mono 48 kHz frame (exactly 960 samples) into `out` (cleared first).
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if pcm.len() != OPUS_FRAME_SAMPLES {
            return Err(EncodeError::OpusFrameSize {
                got: pcm.len(),
                expected: OPUS_FRAME_SAMPLES,
            });
        }
        let n = self
            .enc
            .encode(pcm, &mut self.scratch)
            .map_err(|e| opus_err("encoding", e))?;
        out.clear();
        out.extend_from_slice(&self.scratch[..n]);
        Ok(())
    }

    /// Changes the target bitrate for the next packets.
    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), EncodeError> {
        check_bitrate(bps)?;
        self.enc
            .set_bitrate(opus::Bitrate::Bits(bps as i32))
            .map_err(|e| opus_err("setting the bitrate", e))?;
        self.bitrate = bps;
        Ok(())
    }

    /// Sets the encoder's computational complexity, 0 (cheapest) ..= 10 (libopus' default, best
    /// quality per bit). Live sessions use [`LIVE_COMPLEXITY`]: speech stays clear and the
    /// encoder costs about half the CPU.
    pub fn set_complexity(&mut self, complexity: u8) -> Result<(), EncodeError> {
        if complexity > 10 {
            return Err(EncodeError::Opus(format!(
                "complexity {complexity} is out of range (0..=10)"
            )));
        }
        self.enc
            .set_complexity(complexity as i32)
            .map_err(|e| opus_err("setting the complexity", e))
    }

    /// Current target bitrate.
    pub fn bitrate(&self) -> u32 {
        self.bitrate
    }

    /// Encoder delay in samples at 48 kHz (the Ogg/MP4/WebM "pre-skip"): the decoder's output
    /// starts this many samples late and they must be discarded.
    pub fn pre_skip(&self) -> u16 {
        self.pre_skip
    }
}

/// The 19-byte `OpusHead` identification header (RFC 7845 §5.1), the WebM CodecPrivate.
pub fn opus_head(channels: u8, pre_skip: u16, input_rate: u32) -> [u8; 19] {
    let mut h = [0u8; 19];
    h[..8].copy_from_slice(b"OpusHead");
    h[8] = 1;
    h[9] = channels;
    h[10..12].copy_from_slice(&pre_skip.to_le_bytes());
    h[12..16].copy_from_slice(&input_rate.to_le_bytes());
    // output gain 0, channel mapping family 0
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_frame_size_is_an_error() {
        let mut e = OpusEncoder::new(32_000).unwrap();
        let mut out = Vec::new();
        let err = e.encode(&[0i16; 480], &mut out).unwrap_err();
        assert!(err.to_string().contains("480"), "{err}");
        assert!(OpusEncoder::new(1000).is_err());
    }

    #[test]
    fn complexity_out_of_range_is_an_error() {
        let mut e = OpusEncoder::new(32_000).unwrap();
        let err = e.set_complexity(11).unwrap_err();
        assert!(err.to_string().contains("11"), "{err}");
    }

    /// At libopus' default complexity and at the cheaper live one.
    #[test]
    fn roundtrip_through_libopus_decoder() {
        for complexity in [10, LIVE_COMPLEXITY] {
            roundtrip(complexity);
        }
    }

    fn roundtrip(complexity: u8) {
        let mut e = OpusEncoder::new(48_000).unwrap();
        e.set_complexity(complexity).unwrap();
        assert!(e.pre_skip() > 0 && e.pre_skip() < 1000);
        let mut d = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut out = Vec::new();
        let mut dec = vec![0i16; 960];
        let mut all = Vec::new();
        for k in 0..50 {
            let pcm: Vec<i16> = (0..960)
                .map(|i| {
                    ((((k * 960 + i) as f32) * 2.0 * std::f32::consts::PI * 440.0 / 48_000.0).sin()
                        * 10_000.0) as i16
                })
                .collect();
            e.encode(&pcm, &mut out).unwrap();
            assert!(!out.is_empty() && out.len() < 400);
            let n = d.decode(&out, &mut dec, false).unwrap();
            assert_eq!(n, 960);
            all.extend_from_slice(&dec);
        }
        // after the pre-skip the decoded tone matches the input closely
        let skip = e.pre_skip() as usize;
        let (mut err, mut sig) = (0.0f64, 0.0f64);
        for i in 4800..all.len() - skip {
            let x = ((i as f32) * 2.0 * std::f32::consts::PI * 440.0 / 48_000.0).sin() as f64
                * 10_000.0;
            let y = all[i + skip] as f64;
            err += (x - y) * (x - y);
            sig += x * x;
        }
        let snr = 10.0 * (sig / err).log10();
        assert!(snr > 15.0, "complexity {complexity}: snr {snr:.1} dB");
    }
}
