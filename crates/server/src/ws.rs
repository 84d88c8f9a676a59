//! `GET /v1/sessions/{id}/ws`: the session WebSocket (protocol in `docs/PROTOCOL.md`).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use facecast_core::{AudioChunk, Emotion};
use tokio::sync::broadcast::error::RecvError;

use crate::metrics::Metrics;
use crate::protocol::{self, ClientMessage, TYPE_END};
use crate::session::{Cmd, SessionShared};

struct Conn {
    session: Arc<SessionShared>,
    metrics: Arc<Metrics>,
    segment: Option<u64>,
    last_seq: Option<u32>,
}

fn text(s: String) -> Message {
    Message::Text(Utf8Bytes::from(s))
}

/// Serve one WebSocket until the client goes away.
pub(crate) async fn serve_socket(
    mut ws: WebSocket,
    session: Arc<SessionShared>,
    metrics: Arc<Metrics>,
) {
    session.ws_clients.fetch_add(1, Relaxed);
    let mut events = session.events.subscribe();
    let hello = serde_json::json!({
        "type": "hello",
        "session": session.id,
        "protocol": protocol::VERSION,
        "magic": "FCAU",
        "fps": session.fps,
        "width": session.width,
        "height": session.height,
    });
    let mut conn = Conn {
        session: session.clone(),
        metrics,
        segment: None,
        last_seq: None,
    };
    if ws.send(text(hello.to_string())).await.is_ok() {
        loop {
            tokio::select! {
                m = ws.recv() => {
                    let Some(Ok(m)) = m else { break };
                    let replies = match m {
                        Message::Binary(b) => conn.binary(&b).await,
                        Message::Text(t) => conn.json(t.as_str()).await,
                        Message::Ping(_) | Message::Pong(_) => vec![],
                        Message::Close(_) => break,
                    };
                    let mut failed = false;
                    for r in replies {
                        if ws.send(text(r)).await.is_err() {
                            failed = true;
                            break;
                        }
                    }
                    if failed {
                        break;
                    }
                }
                e = events.recv() => match e {
                    Ok(json) => {
                        if ws.send(text(json.to_string())).await.is_err() {
                            break;
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        let m = protocol::error_json("events_dropped", &format!("{n} events were dropped: the client reads too slowly"), None);
                        if ws.send(text(m)).await.is_err() {
                            break;
                        }
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
    }
    // A client vanishing mid-segment ends its segment: what was sent still plays.
    if let Some(s) = conn.segment.take() {
        session.send(Cmd::EndSegment { segment: s });
    }
    session.ws_clients.fetch_sub(1, Relaxed);
}

impl Conn {
    fn err(&self, code: &str, message: &str, seq: Option<u32>) -> String {
        self.metrics.error(code);
        protocol::error_json(code, message, seq)
    }

    async fn ensure_segment(&mut self) -> Result<(u64, Option<String>), String> {
        if let Some(s) = self.segment {
            return Ok((s, None));
        }
        match self.session.ask(|reply| Cmd::BeginSegment { reply }).await {
            Ok(s) => {
                self.segment = Some(s);
                Ok((
                    s,
                    Some(serde_json::json!({"type": "speak_started", "segment": s}).to_string()),
                ))
            }
            Err(e) => Err(self.err(e.code, &e.message, None)),
        }
    }

    async fn push(&mut self, chunk: AudioChunk, seq: Option<u32>) -> Vec<String> {
        let mut out = vec![];
        let seg = match self.ensure_segment().await {
            Ok((s, started)) => {
                out.extend(started);
                s
            }
            Err(e) => return vec![e],
        };
        match self
            .session
            .ask(|reply| Cmd::PushAudio {
                segment: seg,
                chunk,
                reply,
            })
            .await
        {
            Ok(()) => self.metrics.ws_frames.fetch_add(1, Relaxed),
            Err(e) => {
                out.push(self.err(e.code, &e.message, seq));
                return out;
            }
        };
        out
    }

    fn end_segment(&mut self) -> Vec<String> {
        match self.segment.take() {
            Some(s) => {
                self.session.send(Cmd::EndSegment { segment: s });
                vec![serde_json::json!({"type": "segment_ended", "segment": s}).to_string()]
            }
            None => vec![self.err(
                "no_open_segment",
                "segment_end without an open segment",
                None,
            )],
        }
    }

    async fn binary(&mut self, b: &[u8]) -> Vec<String> {
        let f = match protocol::parse_frame(b) {
            Ok(f) => f,
            Err(e) => {
                let seq = (b.len() >= 10).then(|| u32::from_le_bytes([b[6], b[7], b[8], b[9]]));
                return vec![self.err(e.code(), &e.to_string(), seq)];
            }
        };
        let mut out = vec![];
        if let Some(last) = self.last_seq {
            if f.sequence <= last && !(last > u32::MAX - 1000 && f.sequence < 1000) {
                return vec![self.err(
                    "stale_sequence",
                    &format!("sequence {} is not after {last}: frame dropped", f.sequence),
                    Some(f.sequence),
                )];
            }
            if f.sequence != last.wrapping_add(1) {
                out.push(self.err(
                    "sequence_gap",
                    &format!(
                        "sequence jumped from {last} to {}: frames were lost (frame accepted)",
                        f.sequence
                    ),
                    Some(f.sequence),
                ));
            }
        }
        self.last_seq = Some(f.sequence);
        if f.kind == TYPE_END {
            out.extend(self.end_segment());
            return out;
        }
        if f.pcm.is_empty() {
            return out;
        }
        out.extend(self.push(f.to_chunk(), Some(f.sequence)).await);
        out
    }

    async fn json(&mut self, t: &str) -> Vec<String> {
        let m = match protocol::parse_message(t) {
            Ok(m) => m,
            Err(e) => return vec![self.err(e.code, &e.message, None)],
        };
        match m {
            ClientMessage::SpeakStart => {
                if let Some(s) = self.segment.take() {
                    self.session.send(Cmd::EndSegment { segment: s });
                }
                match self.ensure_segment().await {
                    Ok((_, started)) => started.into_iter().collect(),
                    Err(e) => vec![e],
                }
            }
            ClientMessage::SegmentEnd => self.end_segment(),
            ClientMessage::Emotion { emotion, intensity } => {
                let Some(e) = Emotion::from_name(&emotion) else {
                    let names: Vec<_> = Emotion::ALL.iter().map(|e| e.name()).collect();
                    return vec![self.err(
                        "bad_emotion",
                        &format!(
                            "unknown emotion '{emotion}' (expected one of: {})",
                            names.join(", ")
                        ),
                        None,
                    )];
                };
                if !(0.0..=1.0).contains(&intensity) {
                    return vec![self.err(
                        "bad_intensity",
                        &format!("intensity {intensity} is outside 0..=1"),
                        None,
                    )];
                }
                self.session.send(Cmd::Emotion {
                    emotion: e,
                    intensity,
                });
                vec![]
            }
            ClientMessage::Interrupt => {
                self.segment = None;
                self.session.send(Cmd::Interrupt);
                vec![]
            }
            ClientMessage::Audio {
                sample_rate,
                channels,
                pcm,
                sequence,
            } => match protocol::decode_base64_pcm(sample_rate, channels, &pcm) {
                Ok(chunk) => self.push(chunk, sequence).await,
                Err(e) => vec![self.err(e.code, &e.message, sequence)],
            },
            ClientMessage::Ping { id } => {
                vec![serde_json::json!({"type": "pong", "id": id}).to_string()]
            }
        }
    }
}
