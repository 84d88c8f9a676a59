//! WHEP viewers: one UDP socket and one async task per [`facecast_rtc::WhepPeer`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdp};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use facecast_rtc::{PeerEvent, PeerOptions, PeerOutput, WhepPeer};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::session::{Cmd, PeerMsg, SessionShared};

/// A viewer that has not connected within this time is dropped.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Pick the address advertised in ICE host candidates when none is configured: the bind IP if
/// it is a concrete address, else the IP of the interface holding the default route, else
/// loopback.
pub fn default_advertise_ip(bind: IpAddr) -> IpAddr {
    if !bind.is_unspecified() {
        return bind;
    }
    // A UDP "connect" does a route lookup and sends nothing.
    StdUdp::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.1:9")?; // TEST-NET-1, never contacted
            s.local_addr()
        })
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// Create a viewer for `session` from an SDP offer; returns (peer id, SDP answer).
pub(crate) async fn create_viewer(
    session: &Arc<SessionShared>,
    offer: &str,
    bind_ip: IpAddr,
    advertise_ip: IpAddr,
    metrics: Arc<Metrics>,
) -> Result<(String, String), ApiError> {
    let std_sock = StdUdp::bind(SocketAddr::new(bind_ip, 0))
        .map_err(|e| ApiError::internal(format!("cannot bind a UDP socket on {bind_ip}: {e}")))?;
    std_sock
        .set_nonblocking(true)
        .map_err(|e| ApiError::internal(format!("UDP socket: {e}")))?;
    let port = std_sock
        .local_addr()
        .map_err(|e| ApiError::internal(format!("UDP socket: {e}")))?
        .port();
    let candidate = SocketAddr::new(advertise_ip, port);
    let opts = PeerOptions::new(candidate, session.epoch);
    let (peer, answer) = WhepPeer::accept(offer, &opts, Instant::now()).map_err(|e| {
        let code = match e {
            facecast_rtc::RtcError::BadOffer(_) => "bad_sdp",
            facecast_rtc::RtcError::NoVideoCodec | facecast_rtc::RtcError::NoAudioCodec => {
                "no_common_codec"
            }
            _ => "bad_sdp",
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, e.to_string())
    })?;
    let socket = UdpSocket::from_std(std_sock)
        .map_err(|e| ApiError::internal(format!("UDP socket: {e}")))?;
    let id = crate::new_id();
    let (tx, rx) = mpsc::channel(256);
    let codec = peer.codec();
    if !session.send(Cmd::AddPeer {
        id: id.clone(),
        codec,
        tx,
    }) {
        return Err(ApiError::no_session(&session.id));
    }
    metrics
        .viewers_created
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let sess = session.clone();
    let pid = id.clone();
    tokio::spawn(async move {
        run_peer(peer, socket, rx, &sess, &pid).await;
        sess.send(Cmd::PeerGone { id: pid });
    });
    Ok((id, answer))
}

async fn run_peer(
    mut peer: WhepPeer,
    socket: UdpSocket,
    mut rx: mpsc::Receiver<PeerMsg>,
    session: &SessionShared,
    id: &str,
) {
    let mut buf = vec![0u8; 2048];
    let started = Instant::now();
    loop {
        // Drain output.
        let deadline = loop {
            match peer.poll() {
                PeerOutput::Transmit { destination, data } => {
                    let _ = socket.send_to(&data, destination).await;
                }
                PeerOutput::Event(ev) => {
                    let gone = ev == PeerEvent::Disconnected;
                    if !matches!(ev, PeerEvent::ChannelText(_) | PeerEvent::ChannelOpen(_)) {
                        session.send(Cmd::Peer {
                            id: id.to_string(),
                            event: ev,
                        });
                    }
                    if gone {
                        // Flush the close (DTLS close_notify) and stop.
                        while let PeerOutput::Transmit { destination, data } = peer.poll() {
                            let _ = socket.send_to(&data, destination).await;
                        }
                        return;
                    }
                }
                PeerOutput::Timeout(t) => break t,
            }
        };
        if peer.is_closed() {
            return;
        }
        if !peer.is_connected() && started.elapsed() > CONNECT_TIMEOUT {
            tracing::info!("viewer {id}: no ICE connection after {CONNECT_TIMEOUT:?}, dropping");
            return;
        }
        let deadline = deadline.min(Instant::now() + Duration::from_secs(1));
        let r = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, src)) => peer.handle_datagram(Instant::now(), src, &buf[..n]),
                Err(_) => Ok(()),
            },
            m = rx.recv() => match m {
                Some(PeerMsg::Video(p)) => peer.write_video(&p).map(|_| ()),
                Some(PeerMsg::Audio(p)) => peer.write_audio(&p).map(|_| ()),
                Some(PeerMsg::Event(j)) => peer.send_event(&j).map(|_| ()),
                Some(PeerMsg::Close) | None => {
                    peer.close();
                    Ok(())
                }
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => peer.handle_timeout(Instant::now()),
        };
        if let Err(e) = r {
            tracing::debug!("viewer {id}: {e}");
        }
    }
}
