//! A str0m client (playing the browser) against a [`WhepPeer`], over an in-memory network on a
//! simulated clock.

use super::*;
use facecast_core::MediaTime as Mt;
use str0m::change::SdpAnswer;
use str0m::media::Direction;

const SERVER: &str = "10.0.0.1:5000";
const CLIENT: &str = "10.0.0.2:6000";

struct Client {
    rtc: Rtc,
    video: Vec<(u64, bool, usize)>, // rtp time (90k), keyframe, bytes
    audio: Vec<u64>,                // rtp time (48k)
    texts: Vec<String>,
    connected: bool,
    channel_open: bool,
}

fn client_offer(codecs: &[&str], now: Instant) -> (Client, String) {
    let mut cfg = Rtc::builder().clear_codecs().enable_opus(true, false);
    for c in codecs {
        match *c {
            "vp8" => cfg = cfg.enable_vp8(true),
            "h264" => cfg = cfg.enable_h264(true),
            _ => {}
        }
    }
    let mut rtc = cfg.build(now);
    rtc.add_local_candidate(Candidate::host(CLIENT.parse().unwrap(), "udp").unwrap());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    api.add_channel("events".into());
    let (offer, pending) = api.apply().unwrap();
    let sdp = offer.to_sdp_string();
    let mut c = Client {
        rtc,
        video: vec![],
        audio: vec![],
        texts: vec![],
        connected: false,
        channel_open: false,
    };
    // stash the pending offer inside a closure-free holder
    PENDING.with(|p| *p.borrow_mut() = Some(pending));
    c.connected = false;
    (c, sdp)
}

thread_local! {
    static PENDING: std::cell::RefCell<Option<str0m::change::SdpPendingOffer>> = const { std::cell::RefCell::new(None) };
}

struct Net {
    now: Instant,
    client: Client,
    peer: WhepPeer,
    peer_events: Vec<PeerEvent>,
}

impl Net {
    fn new(codecs: &[&str]) -> (Net, String) {
        let now = Instant::now();
        let (mut client, offer) = client_offer(codecs, now);
        let opts = PeerOptions::new(SERVER.parse().unwrap(), now);
        let (peer, answer) = WhepPeer::accept(&offer, &opts, now).expect("accept");
        let pending = PENDING.with(|p| p.borrow_mut().take()).unwrap();
        client
            .rtc
            .sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .unwrap();
        (
            Net {
                now,
                client,
                peer,
                peer_events: vec![],
            },
            answer,
        )
    }

    /// Shuttle datagrams and timeouts until `until`. Each side gets at most one input per round
    /// and is drained to its timeout after every input (str0m's single-mutation rule).
    fn run(&mut self, until: Instant) {
        let mut to_client: std::collections::VecDeque<Vec<u8>> = Default::default();
        let mut to_peer: std::collections::VecDeque<Vec<u8>> = Default::default();
        loop {
            let t_peer = loop {
                match self.peer.poll() {
                    PeerOutput::Transmit { data, .. } => to_client.push_back(data),
                    PeerOutput::Event(e) => self.peer_events.push(e),
                    PeerOutput::Timeout(t) => break t,
                }
            };
            let t_client = loop {
                match self.client.rtc.poll_output().unwrap() {
                    Output::Transmit(t) => to_peer.push_back(Vec::<u8>::from(t.contents)),
                    Output::Event(e) => match e {
                        Event::Connected => self.client.connected = true,
                        Event::ChannelOpen(..) => self.client.channel_open = true,
                        Event::ChannelData(d) => {
                            self.client.texts.push(String::from_utf8(d.data).unwrap())
                        }
                        Event::MediaData(m) => {
                            if m.params.spec().codec.is_video() {
                                self.client.video.push((
                                    m.time.numer(),
                                    m.is_keyframe(),
                                    m.data.len(),
                                ))
                            } else {
                                self.client.audio.push(m.time.numer())
                            }
                        }
                        _ => {}
                    },
                    Output::Timeout(t) => break t,
                }
            };
            if !to_client.is_empty() || !to_peer.is_empty() {
                if let Some(d) = to_client.pop_front() {
                    let input = Input::Receive(
                        self.now,
                        Receive {
                            proto: Protocol::Udp,
                            source: SERVER.parse().unwrap(),
                            destination: CLIENT.parse().unwrap(),
                            contents: d.as_slice().try_into().unwrap(),
                        },
                    );
                    self.client.rtc.handle_input(input).unwrap();
                }
                if let Some(d) = to_peer.pop_front() {
                    self.peer
                        .handle_datagram(self.now, CLIENT.parse().unwrap(), &d)
                        .unwrap();
                }
                continue;
            }
            let next = t_peer.min(t_client).max(self.now);
            if next >= until {
                self.now = until;
                self.peer.handle_timeout(until).unwrap();
                self.client.rtc.handle_input(Input::Timeout(until)).unwrap();
                // drain once more so nothing is left half-done
                while !matches!(self.peer.poll(), PeerOutput::Timeout(_)) {}
                while !matches!(self.client.rtc.poll_output().unwrap(), Output::Timeout(_)) {}
                return;
            }
            self.now = next.max(self.now + Duration::from_micros(100));
            self.peer.handle_timeout(self.now).unwrap();
            self.client
                .rtc
                .handle_input(Input::Timeout(self.now))
                .unwrap();
        }
    }
}

fn fake_video(k: u64, keyframe: bool, codec: Codec) -> EncodedPacket {
    let data = match codec {
        // Annex B: SPS, PPS, IDR slice (not decodable; payloaders only need NAL structure)
        Codec::H264 if keyframe => {
            vec![
                0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0xaa, 0, 0, 0, 1, 0x68, 0xce, 0x38, 0x80, 0, 0,
                0, 1, 0x65, 0x88, 0x84, 1, 2, 3,
            ]
        }
        Codec::H264 => vec![0, 0, 0, 1, 0x41, 0x9a, 0x00, 1, 2, 3, 4],
        // VP8 frame tag: bit0 = 0 means keyframe
        _ if keyframe => vec![
            0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x02, 0x00, 0x02, 1, 2, 3,
        ],
        _ => vec![0x11, 0x02, 0x00, 1, 2, 3, 4],
    };
    EncodedPacket {
        codec,
        pts: Mt::of_frame(k, 25),
        duration: Mt::of_frame(1, 25),
        keyframe,
        data,
    }
}

fn stream(net: &mut Net, codec: Codec, frames: u64) {
    for k in 0..frames {
        let t = net.now;
        // two 20 ms audio packets per 40 ms frame
        for a in 0..2 {
            let pts = Mt::from_samples(k * 1920 + a * 960);
            let pkt = EncodedPacket {
                codec: Codec::Opus,
                pts,
                duration: Mt(960),
                keyframe: true,
                data: std::iter::once(0x78u8)
                    .chain((0..60).map(|i| (i * 37 % 251) as u8))
                    .collect(),
            };
            net.peer.write_audio(&pkt).unwrap();
            net.run(t);
        }
        net.peer.write_video(&fake_video(k, k == 0, codec)).unwrap();
        net.run(t + Duration::from_millis(40));
    }
}

#[test]
fn chooses_codec_from_offer_order() {
    let vp8_first = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n";
    assert_eq!(choose_video_codec(vp8_first), Some(Codec::Vp8));
    let h264_first = vp8_first.replace("SAVPF 96 102", "SAVPF 102 96");
    assert_eq!(choose_video_codec(&h264_first), Some(Codec::H264));
    // H.264 without packetization-mode 1 is not usable: VP8 it is
    let h264_pm0 = h264_first.replace("packetization-mode=1", "packetization-mode=0");
    assert_eq!(choose_video_codec(&h264_pm0), Some(Codec::Vp8));
    // High profile only and no VP8: nothing we can send
    let high_only = "m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=640c1f\r\n";
    assert_eq!(choose_video_codec(high_only), None);
    assert_eq!(choose_video_codec("v=0\r\n"), None);
}

#[test]
fn garbage_offer_is_an_error() {
    let opts = PeerOptions::new(SERVER.parse().unwrap(), Instant::now());
    let e = WhepPeer::accept("this is not sdp", &opts, Instant::now())
        .err()
        .expect("error");
    assert!(
        matches!(e, RtcError::BadOffer(_) | RtcError::NoVideoCodec),
        "{e}"
    );
}

fn connects_and_streams(codecs: &[&str], expect: Codec) {
    let (mut net, answer) = Net::new(codecs);
    assert!(answer.contains("a=sendonly"), "{answer}");
    assert_eq!(net.peer.codec(), expect);
    let start = net.now;
    net.run(start + Duration::from_secs(2));
    assert!(
        net.client.connected && net.peer.is_connected(),
        "ICE/DTLS did not connect"
    );
    assert!(net.peer_events.contains(&PeerEvent::Connected));
    net.run(net.now + Duration::from_millis(500));
    assert!(net.client.channel_open, "data channel did not open");
    assert!(net
        .peer
        .send_event(r#"{"type":"position","at_ms":0}"#)
        .unwrap());
    stream(&mut net, expect, 25);
    net.run(net.now + Duration::from_millis(300));

    assert_eq!(
        net.client.texts,
        vec![r#"{"type":"position","at_ms":0}"#.to_string()]
    );
    // every frame arrives, with RTP time = media time at 90 kHz
    assert!(
        net.client.video.len() >= 24,
        "video frames received: {:?}",
        net.client.video.len()
    );
    for (i, (t, _, _)) in net.client.video.iter().enumerate() {
        assert_eq!(*t, Mt::of_frame(i as u64, 25).at_rate(90_000), "frame {i}");
    }
    assert!(net.client.video[0].1, "first frame is a keyframe");
    // Audio: every Opus packet was handed to str0m on the 48 kHz session clock. (This in-memory
    // str0m client does not surface the audio as MediaData; audio receipt over real UDP is
    // asserted in facecast-server's tests/api.rs and in Chromium by tests/browser.)
    assert_eq!(net.peer.stats().audio_packets, 50);
    for (i, t) in net.client.audio.iter().enumerate() {
        assert_eq!(*t, i as u64 * 960);
    }
}

#[test]
fn h264_viewer_connects_and_receives_media_on_the_session_clock() {
    connects_and_streams(&["h264", "vp8"], Codec::H264);
}

#[test]
fn vp8_viewer_connects_and_receives_media_on_the_session_clock() {
    connects_and_streams(&["vp8"], Codec::Vp8);
}

#[test]
fn non_keyframes_wait_for_a_keyframe_and_close_reports_disconnect() {
    let (mut net, _) = Net::new(&["h264"]);
    let start = net.now;
    net.run(start + Duration::from_secs(2));
    assert!(net.peer.wants_keyframe());
    assert!(!net
        .peer
        .write_video(&fake_video(1, false, Codec::H264))
        .unwrap());
    net.run(net.now);
    assert!(net
        .peer
        .write_video(&fake_video(2, true, Codec::H264))
        .unwrap());
    net.run(net.now);
    assert!(!net.peer.wants_keyframe());
    net.peer.close();
    net.run(net.now + Duration::from_millis(100));
    assert!(net.peer.is_closed());
    assert!(net.peer_events.contains(&PeerEvent::Disconnected));
}
