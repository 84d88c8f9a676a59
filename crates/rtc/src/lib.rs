//! WebRTC egress for facecast, built on [str0m]'s sans-IO API.
//!
//! A [`WhepPeer`] is one viewer of one session, created from the viewer's SDP offer (WHEP,
//! RFC 9725: the viewer POSTs an offer, gets an answer). It sends:
//!
//! * one video track: H.264 constrained baseline (`profile-level-id=42e01f;packetization-mode=1`)
//!   by default, VP8 when the offer lists VP8 before H.264 or has no usable H.264 (see
//!   [`choose_video_codec`]);
//! * one Opus audio track (48 kHz, 20 ms packets);
//! * session events as JSON text on any data channel the viewer opened.
//!
//! ## Clocks
//!
//! The peer is told the session's *epoch*: the [`Instant`] at which media time 0 was (or would
//! have been) played out. A packet with presentation time `pts` on the session media clock gets
//! RTP timestamp `pts.at_rate(90_000)` (video) or `pts.samples()` (audio, 48 kHz), and wall clock
//! `epoch + pts`. str0m derives RTCP sender reports from those pairs, so both RTP streams map to
//! one wall clock and the browser lines audio and video up.
//!
//! ## I/O
//!
//! The peer does no I/O itself. The owner feeds it datagrams ([`WhepPeer::handle_datagram`]),
//! timeouts ([`WhepPeer::handle_timeout`]) and media ([`WhepPeer::write_video`],
//! [`WhepPeer::write_audio`], [`WhepPeer::send_event`]); after every such call it drains
//! [`WhepPeer::poll`] until [`PeerOutput::Timeout`], sending each [`PeerOutput::Transmit`] from
//! the UDP socket whose address was advertised as the host candidate. NACK/RTX retransmission,
//! RTCP reports, TWCC feedback and the bandwidth estimate are str0m's job.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use facecast_core::{Codec, EncodedPacket};
use str0m::bwe::{Bitrate, BweKind};
use str0m::change::SdpOffer;
use str0m::channel::ChannelId;
use str0m::media::{Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

/// H.264 profile-level-id we produce: constrained baseline, level 3.1.
pub const H264_PROFILE_LEVEL_ID: u32 = 0x42e01f;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum RtcError {
    /// The SDP offer could not be parsed.
    #[error("invalid SDP offer: {0}")]
    BadOffer(String),
    /// The offer has no video m-line with H.264 (42e01f, packetization-mode 1) or VP8.
    #[error("the SDP offer has no video section with a codec we send (H.264 constrained baseline or VP8)")]
    NoVideoCodec,
    /// The offer has no audio m-line with Opus.
    #[error("the SDP offer has no audio section with Opus")]
    NoAudioCodec,
    /// str0m rejected something.
    #[error("webrtc: {0}")]
    Str0m(#[from] str0m::RtcError),
    /// A host candidate could not be built from the advertised address.
    #[error("bad ICE host candidate address {addr}: {message}")]
    Candidate {
        /// The advertised address.
        addr: SocketAddr,
        /// What str0m said.
        message: String,
    },
}

/// What a peer tells its owner.
#[derive(Clone, Debug, PartialEq)]
pub enum PeerEvent {
    /// ICE connected and DTLS established: media flows from now on.
    Connected,
    /// The viewer went away (ICE disconnected, DTLS closed) or [`WhepPeer::close`] was called.
    Disconnected,
    /// The viewer asked for a keyframe (PLI or FIR).
    KeyframeRequest,
    /// A new egress bandwidth estimate, bits per second.
    BitrateEstimate(u64),
    /// The viewer opened a data channel; events are sent on it from now on.
    ChannelOpen(String),
    /// The viewer sent text on a data channel.
    ChannelText(String),
}

/// One step of output; see [`WhepPeer::poll`].
#[derive(Debug)]
pub enum PeerOutput {
    /// Send `data` to `destination` from the peer's socket.
    Transmit {
        /// Where to.
        destination: SocketAddr,
        /// The datagram.
        data: Vec<u8>,
    },
    /// Something happened.
    Event(PeerEvent),
    /// Nothing more until this instant (or until new input).
    Timeout(Instant),
}

/// Options for a new peer.
#[derive(Clone, Debug)]
pub struct PeerOptions {
    /// The address advertised as the ICE host candidate (the UDP socket's address as the viewer
    /// reaches it).
    pub candidate: SocketAddr,
    /// Media time zero as a wall-clock instant (see the crate docs).
    pub epoch: Instant,
    /// Bandwidth estimate to start from, bits per second.
    pub initial_bitrate_bps: u64,
    /// The bitrate BWE probes towards, bits per second.
    pub desired_bitrate_bps: u64,
}

impl PeerOptions {
    /// Defaults: start at 800 kbit/s, probe towards 2.5 Mbit/s.
    pub fn new(candidate: SocketAddr, epoch: Instant) -> Self {
        PeerOptions {
            candidate,
            epoch,
            initial_bitrate_bps: 800_000,
            desired_bitrate_bps: 2_500_000,
        }
    }
}

/// Which video codec to send to a viewer, from its SDP offer: the first of H.264 (with a
/// baseline-compatible profile and packetization-mode 1) and VP8 in the order the viewer listed
/// its payload types; `None` when it offers neither.
pub fn choose_video_codec(offer_sdp: &str) -> Option<Codec> {
    let mut in_video = false;
    let mut order: Vec<&str> = Vec::new();
    let mut rtpmap: Vec<(&str, String)> = Vec::new();
    let mut fmtp: Vec<(&str, String)> = Vec::new();
    for line in offer_sdp.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("m=") {
            if in_video {
                break; // only the first video section matters
            }
            in_video = rest.starts_with("video ");
            if in_video {
                order = rest.split_whitespace().skip(3).collect();
            }
            continue;
        }
        if !in_video {
            continue;
        }
        if let Some(rest) = line.strip_prefix("a=rtpmap:") {
            if let Some((pt, enc)) = rest.split_once(' ') {
                rtpmap.push((pt, enc.to_ascii_lowercase()));
            }
        } else if let Some(rest) = line.strip_prefix("a=fmtp:") {
            if let Some((pt, params)) = rest.split_once(' ') {
                fmtp.push((pt, params.to_ascii_lowercase()));
            }
        }
    }
    for pt in order {
        let Some((_, enc)) = rtpmap.iter().find(|(p, _)| *p == pt) else {
            continue;
        };
        if enc.starts_with("vp8/") {
            return Some(Codec::Vp8);
        }
        if enc.starts_with("h264/") {
            let params = fmtp
                .iter()
                .find(|(p, _)| *p == pt)
                .map(|(_, f)| f.as_str())
                .unwrap_or("");
            let pm1 = params
                .split(';')
                .any(|kv| kv.trim() == "packetization-mode=1");
            let baseline = params
                .split(';')
                .filter_map(|kv| kv.trim().strip_prefix("profile-level-id="))
                .any(|id| id.starts_with("42"));
            if pm1 && baseline {
                return Some(Codec::H264);
            }
        }
    }
    None
}

/// Whether the offer has an audio section offering Opus.
fn offers_opus(offer_sdp: &str) -> bool {
    let mut in_audio = false;
    for line in offer_sdp.lines() {
        if let Some(rest) = line.strip_prefix("m=") {
            in_audio = rest.starts_with("audio ");
        } else if in_audio
            && line.to_ascii_lowercase().starts_with("a=rtpmap:")
            && line.to_ascii_lowercase().contains(" opus/48000")
        {
            return true;
        }
    }
    false
}

/// One WHEP viewer: a str0m [`Rtc`] configured as a send-only endpoint.
pub struct WhepPeer {
    rtc: Rtc,
    codec: Codec,
    candidate: SocketAddr,
    epoch: Instant,
    video: Option<(Mid, Pt)>,
    audio: Option<(Mid, Pt)>,
    channel: Option<ChannelId>,
    connected: bool,
    closed: bool,
    pending: VecDeque<PeerEvent>,
    waiting_keyframe: bool,
    created: Instant,
    stats: PeerStats,
}

/// Counters a peer keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Video frames handed to str0m.
    pub video_frames: u64,
    /// Audio packets handed to str0m.
    pub audio_packets: u64,
    /// Bytes of datagrams produced.
    pub bytes_sent: u64,
    /// Keyframe requests received.
    pub keyframe_requests: u64,
    /// Last bandwidth estimate, bits per second (0 until one arrives).
    pub bitrate_estimate_bps: u64,
}

impl WhepPeer {
    /// Create a peer from a viewer's SDP offer; returns the peer and the SDP answer text.
    pub fn accept(
        offer_sdp: &str,
        opts: &PeerOptions,
        now: Instant,
    ) -> Result<(WhepPeer, String), RtcError> {
        let offer =
            SdpOffer::from_sdp_string(offer_sdp).map_err(|e| RtcError::BadOffer(e.to_string()))?;
        let codec = choose_video_codec(offer_sdp).ok_or(RtcError::NoVideoCodec)?;
        if !offers_opus(offer_sdp) {
            return Err(RtcError::NoAudioCodec);
        }
        let mut cfg = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_bwe(Some(Bitrate::bps(opts.initial_bitrate_bps)));
        match codec {
            Codec::Vp8 => cfg = cfg.enable_vp8(true),
            _ => {
                // Constrained baseline with packetization-mode 1, RTX on PT 109.
                cfg.codec_config().add_h264(
                    108.into(),
                    Some(109.into()),
                    true,
                    H264_PROFILE_LEVEL_ID,
                );
            }
        }
        let mut rtc = cfg.build(now);
        let cand = Candidate::host(opts.candidate, "udp").map_err(|e| RtcError::Candidate {
            addr: opts.candidate,
            message: e.to_string(),
        })?;
        rtc.add_local_candidate(cand);
        let answer = rtc.sdp_api().accept_offer(offer)?;
        rtc.bwe()
            .set_desired_bitrate(Bitrate::bps(opts.desired_bitrate_bps));
        let mut peer = WhepPeer {
            rtc,
            codec,
            candidate: opts.candidate,
            epoch: opts.epoch,
            video: None,
            audio: None,
            channel: None,
            connected: false,
            closed: false,
            pending: VecDeque::new(),
            waiting_keyframe: true,
            created: now,
            stats: PeerStats::default(),
        };
        let answer_sdp = answer.to_sdp_string();
        let mids: Vec<Mid> = answer_sdp
            .lines()
            .filter_map(|l| l.trim_end_matches('\r').strip_prefix("a=mid:"))
            .map(Mid::from)
            .collect();
        peer.resolve_mids(mids);
        if peer.video.is_none() {
            return Err(RtcError::NoVideoCodec);
        }
        if peer.audio.is_none() {
            return Err(RtcError::NoAudioCodec);
        }
        Ok((peer, answer_sdp))
    }

    fn resolve_mids(&mut self, answer_mids: Vec<Mid>) {
        for mid in answer_mids {
            let Some(media) = self.rtc.media(mid) else {
                continue;
            };
            let kind = media.kind();
            let Some(writer) = self.rtc.writer(mid) else {
                continue;
            };
            let want = match (kind, self.codec) {
                (MediaKind::Audio, _) => str0m::format::Codec::Opus,
                (MediaKind::Video, Codec::Vp8) => str0m::format::Codec::Vp8,
                (MediaKind::Video, _) => str0m::format::Codec::H264,
            };
            let pt = writer
                .payload_params()
                .find(|p| p.spec().codec == want)
                .map(|p| p.pt());
            if let Some(pt) = pt {
                match kind {
                    MediaKind::Audio if self.audio.is_none() => self.audio = Some((mid, pt)),
                    MediaKind::Video if self.video.is_none() => self.video = Some((mid, pt)),
                    _ => {}
                }
            }
        }
    }

    /// The video codec this viewer gets.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The advertised host candidate.
    pub fn candidate(&self) -> SocketAddr {
        self.candidate
    }

    /// Whether ICE+DTLS are up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Whether the peer is finished (disconnected or closed); the owner drops it.
    pub fn is_closed(&self) -> bool {
        self.closed || !self.rtc.is_alive()
    }

    /// When the peer was created.
    pub fn created(&self) -> Instant {
        self.created
    }

    /// Counters.
    pub fn stats(&self) -> PeerStats {
        self.stats
    }

    /// Whether the peer needs a keyframe before video can be decoded (new viewer or PLI/FIR).
    /// Cleared by writing a keyframe.
    pub fn wants_keyframe(&self) -> bool {
        self.waiting_keyframe
    }

    /// Feed one datagram received on the peer's socket.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        data: &[u8],
    ) -> Result<(), RtcError> {
        let Ok(contents) = data.try_into() else {
            return Ok(()); // not STUN/DTLS/RTP: ignore
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.candidate,
                contents,
            },
        );
        if self.rtc.accepts(&input) {
            self.rtc.handle_input(input)?;
        }
        Ok(())
    }

    /// Advance time.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), RtcError> {
        self.rtc.handle_input(Input::Timeout(now))?;
        Ok(())
    }

    fn wallclock(&self, pts: facecast_core::MediaTime) -> Instant {
        self.epoch
            + Duration::from_nanos(
                pts.samples() * 1_000_000_000 / facecast_core::OUTPUT_RATE as u64,
            )
    }

    /// Send one encoded video access unit (H.264 Annex B or a VP8 frame). Until the peer is
    /// connected, and until the first keyframe after a join or a PLI/FIR, frames are dropped
    /// (the decoder could not use them). Returns whether it was sent.
    pub fn write_video(&mut self, pkt: &EncodedPacket) -> Result<bool, RtcError> {
        if !self.connected || self.closed {
            return Ok(false);
        }
        if self.waiting_keyframe && !pkt.keyframe {
            return Ok(false);
        }
        let Some((mid, pt)) = self.video else {
            return Ok(false);
        };
        let wallclock = self.wallclock(pkt.pts);
        let rtp_time = MediaTime::new(pkt.pts.at_rate(90_000), Frequency::NINETY_KHZ);
        let Some(writer) = self.rtc.writer(mid) else {
            return Ok(false);
        };
        writer.write(pt, wallclock, rtp_time, pkt.data.as_slice())?;
        if pkt.keyframe {
            self.waiting_keyframe = false;
        }
        self.stats.video_frames += 1;
        Ok(true)
    }

    /// Send one Opus packet. Dropped until connected. Returns whether it was sent.
    pub fn write_audio(&mut self, pkt: &EncodedPacket) -> Result<bool, RtcError> {
        if !self.connected || self.closed {
            return Ok(false);
        }
        let Some((mid, pt)) = self.audio else {
            return Ok(false);
        };
        let wallclock = self.wallclock(pkt.pts);
        let rtp_time = MediaTime::new(pkt.pts.samples(), Frequency::FORTY_EIGHT_KHZ);
        let Some(writer) = self.rtc.writer(mid) else {
            return Ok(false);
        };
        writer.write(pt, wallclock, rtp_time, pkt.data.as_slice())?;
        self.stats.audio_packets += 1;
        Ok(true)
    }

    /// Send a JSON text message on the viewer's data channel (dropped when none is open).
    /// Returns whether it was queued.
    pub fn send_event(&mut self, json: &str) -> Result<bool, RtcError> {
        let Some(id) = self.channel else {
            return Ok(false);
        };
        let Some(mut ch) = self.rtc.channel(id) else {
            return Ok(false);
        };
        Ok(ch.write(false, json.as_bytes())?)
    }

    /// End the peer (WHEP DELETE or server shutdown). Drain [`WhepPeer::poll`] afterwards to
    /// flush the DTLS close.
    pub fn close(&mut self) {
        if !self.closed {
            self.rtc.disconnect();
            self.closed = true;
            self.pending.push_back(PeerEvent::Disconnected);
        }
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::Connected => {
                self.connected = true;
                self.waiting_keyframe = true;
                self.pending.push_back(PeerEvent::Connected);
                self.pending.push_back(PeerEvent::KeyframeRequest);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) | Event::Closed
                if !self.closed =>
            {
                self.closed = true;
                self.pending.push_back(PeerEvent::Disconnected);
            }
            Event::KeyframeRequest(_) => {
                self.waiting_keyframe = true;
                self.stats.keyframe_requests += 1;
                self.pending.push_back(PeerEvent::KeyframeRequest);
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate: b, .. })
            | Event::EgressBitrateEstimate(BweKind::Remb { estimate: b, .. }) => {
                self.stats.bitrate_estimate_bps = b.as_u64();
                self.pending
                    .push_back(PeerEvent::BitrateEstimate(b.as_u64()));
            }
            Event::ChannelOpen(id, label) => {
                self.channel = Some(id);
                self.pending.push_back(PeerEvent::ChannelOpen(label));
            }
            Event::ChannelData(d) if !d.binary => {
                if let Ok(s) = String::from_utf8(d.data) {
                    self.pending.push_back(PeerEvent::ChannelText(s));
                }
            }
            Event::ChannelClose(id) if self.channel == Some(id) => self.channel = None,
            _ => {}
        }
    }

    /// Next output. Call repeatedly after every input until it returns
    /// [`PeerOutput::Timeout`]. A str0m error closes the peer (reported as
    /// [`PeerEvent::Disconnected`]).
    pub fn poll(&mut self) -> PeerOutput {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return PeerOutput::Event(e);
            }
            match self.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    let data: Vec<u8> = t.contents.into();
                    self.stats.bytes_sent += data.len() as u64;
                    return PeerOutput::Transmit {
                        destination: t.destination,
                        data,
                    };
                }
                Ok(Output::Event(e)) => self.on_event(e),
                Ok(Output::Timeout(t)) => {
                    if let Some(e) = self.pending.pop_front() {
                        return PeerOutput::Event(e);
                    }
                    return PeerOutput::Timeout(t);
                }
                Err(e) => {
                    tracing::debug!("peer error: {e}");
                    if !self.closed {
                        self.closed = true;
                        return PeerOutput::Event(PeerEvent::Disconnected);
                    }
                    return PeerOutput::Timeout(Instant::now() + Duration::from_secs(3600));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
