//! The router, driven with requests (tower `oneshot`) and, for the WebSocket, a real client.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use facecast_server::protocol::{encode_frame, TYPE_AUDIO, TYPE_END};
use facecast_server::{router, AppState, ServerConfig, Tts};
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

fn config() -> ServerConfig {
    let mut c = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    c.api_key = None;
    c.limits.max_upload_bytes = 1024 * 1024;
    c.limits.max_sessions = 3;
    c.limits.max_queue_ms = 10_000;
    // Text speak requests get 501 unless a test sets an engine.
    c.tts = None;
    c
}

fn state(cfg: ServerConfig) -> AppState {
    let mut avatars = BTreeMap::new();
    avatars.insert("default".to_string(), facecast_avatar::builtin());
    AppState::with_avatars(cfg, avatars)
}

async fn call(st: &AppState, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = router(st.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

fn json_of(b: &[u8]) -> Value {
    serde_json::from_slice(b)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(b)))
}

/// Asserts a JSON error with `code`.
fn assert_err(status: StatusCode, body: &[u8], want_status: StatusCode, code: &str) {
    assert_eq!(status, want_status, "{}", String::from_utf8_lossy(body));
    let j = json_of(body);
    assert_eq!(j["error"]["code"], code, "{j}");
    assert!(j["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

fn req(method: &str, uri: &str, ct: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(ct) = ct {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(body.into()).unwrap()
}

const SMALL: &str = r#"{"width":64,"height":64,"fps":10}"#;

async fn create(st: &AppState) -> String {
    let (s, h, b) = call(
        st,
        req("POST", "/v1/sessions", Some("application/json"), SMALL),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&b));
    let id = json_of(&b)["id"].as_str().unwrap().to_string();
    assert_eq!(h[header::LOCATION], format!("/v1/sessions/{id}"));
    id
}

/// Posts `ms` milliseconds of 16 kHz test audio (`wav`) to session `id`.
async fn speak_wav(st: &AppState, id: &str, ms: u32) -> StatusCode {
    let r = req(
        "POST",
        &format!("/v1/sessions/{id}/speak"),
        Some("audio/wav"),
        wav(16000, ms),
    );
    call(st, r).await.0
}

/// A 16-bit mono WAV: `ms` of a 220 Hz tone at `rate`.
fn wav(rate: u32, ms: u32) -> Vec<u8> {
    let n = rate * ms / 1000;
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + n * 2).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * 2).to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(n * 2).to_le_bytes());
    for i in 0..n {
        let s = ((i as f32 * 220.0 * std::f32::consts::TAU / rate as f32).sin() * 12000.0) as i16;
        v.extend_from_slice(&s.to_le_bytes());
    }
    v
}

#[tokio::test]
async fn health_openapi_and_metrics() {
    let st = state(config());
    let (s, _, b) = call(&st, req("GET", "/healthz", None, Body::empty())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&b)["status"], "ok");

    let (s, _, b) = call(&st, req("GET", "/v1/openapi.json", None, Body::empty())).await;
    assert_eq!(s, StatusCode::OK);
    let doc = json_of(&b);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/v1/sessions",
        "/v1/sessions/{id}",
        "/v1/sessions/{id}/whep",
        "/v1/sessions/{id}/whep/{viewer}",
        "/v1/sessions/{id}/speak",
        "/v1/sessions/{id}/emotion",
        "/v1/sessions/{id}/interrupt",
        "/v1/sessions/{id}/ws",
        "/healthz",
        "/metrics",
        "/v1/openapi.json",
    ] {
        assert!(doc["paths"][p].is_object(), "OpenAPI misses {p}");
    }

    let (s, h, b) = call(&st, req("GET", "/metrics", None, Body::empty())).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = String::from_utf8(b).unwrap();
    for m in [
        "facecast_sessions 0",
        "facecast_frames_rendered_total",
        "facecast_frames_late_total",
        "facecast_render_seconds_bucket",
        "facecast_encode_seconds_count",
        "facecast_audio_send_late_seconds_count",
        "facecast_video_bitrate_bps",
    ] {
        assert!(text.contains(m), "metrics miss {m}:\n{text}");
    }

    let (s, h, b) = call(&st, req("GET", "/", None, Body::empty())).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(String::from_utf8_lossy(&b).contains("facecast"));
    let (s, h, _) = call(&st, req("GET", "/facecast-client.js", None, Body::empty())).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .contains("javascript"));

    let (s, _, b) = call(&st, req("GET", "/nope/nope", None, Body::empty())).await;
    assert_err(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (s, _, b) = call(&st, req("PUT", "/v1/sessions", None, Body::empty())).await;
    assert_err(s, &b, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn session_lifecycle_and_bad_input() {
    let st = state(config());
    // empty body = all defaults would be 512x512; use small sessions throughout
    let id = create(&st).await;
    let (s, _, b) = call(
        &st,
        req("GET", &format!("/v1/sessions/{id}"), None, Body::empty()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let info = json_of(&b);
    assert_eq!(
        (
            info["width"].as_u64(),
            info["fps"].as_u64(),
            info["viewers"].as_u64()
        ),
        (Some(64), Some(10), Some(0))
    );
    let (_, _, b) = call(&st, req("GET", "/v1/sessions", None, Body::empty())).await;
    assert_eq!(json_of(&b)["sessions"].as_array().unwrap().len(), 1);

    // the session runs on its own clock; with no viewer it renders nothing (saves the CPU)
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, _, b) = call(
        &st,
        req("GET", &format!("/v1/sessions/{id}"), None, Body::empty()),
    )
    .await;
    let info = json_of(&b);
    assert!(
        info["media_time_ms"].as_u64().unwrap() >= 300,
        "{}",
        String::from_utf8_lossy(&b)
    );
    assert_eq!(
        info["frames_rendered"].as_u64(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&b)
    );

    // bad creations
    let bad = [
        (
            Some("application/json"),
            "{not json",
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            Some("text/plain"),
            "{}",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Some("application/json"),
            r#"{"avatar":"nobody"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parameter",
        ),
        (
            Some("application/json"),
            r#"{"fps":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parameter",
        ),
        (
            Some("application/json"),
            r#"{"width":99999}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parameter",
        ),
        (
            Some("application/json"),
            r#"{"emotion":"bored"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parameter",
        ),
        (
            Some("application/json"),
            r#"{"background":"no-such-colour-xyz"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parameter",
        ),
        (
            Some("application/json"),
            r#"{"colour":"red"}"#,
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
    ];
    for (ct, body, status, code) in bad {
        let (s, _, b) = call(&st, req("POST", "/v1/sessions", ct, body)).await;
        assert_err(s, &b, status, code);
    }
    // huge body
    let big = vec![b' '; 2 * 1024 * 1024];
    let (s, _, b) = call(
        &st,
        req("POST", "/v1/sessions", Some("application/json"), big),
    )
    .await;
    assert_err(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    // session limit (3)
    let _b = create(&st).await;
    let _c = create(&st).await;
    let (s, _, b) = call(
        &st,
        req("POST", "/v1/sessions", Some("application/json"), SMALL),
    )
    .await;
    assert_err(s, &b, StatusCode::SERVICE_UNAVAILABLE, "too_many_sessions");

    // unknown session on every route
    let u = "/v1/sessions/ffffffffffffffff";
    for (m, path, ct, body) in [
        ("GET", u.to_string(), None, Body::empty()),
        ("DELETE", u.to_string(), None, Body::empty()),
        (
            "POST",
            format!("{u}/whep"),
            Some("application/sdp"),
            Body::from("v=0"),
        ),
        ("DELETE", format!("{u}/whep/abc"), None, Body::empty()),
        (
            "POST",
            format!("{u}/speak"),
            Some("audio/wav"),
            Body::from(wav(16000, 100)),
        ),
        (
            "POST",
            format!("{u}/emotion"),
            Some("application/json"),
            Body::from(r#"{"emotion":"happy"}"#),
        ),
        ("POST", format!("{u}/interrupt"), None, Body::empty()),
        ("GET", format!("{u}/ws"), None, Body::empty()),
    ] {
        let (s, _, b) = call(&st, req(m, &path, ct, body)).await;
        assert_err(s, &b, StatusCode::NOT_FOUND, "session_not_found");
    }

    // the first session is untouched by all of that
    let (s, _, _) = call(
        &st,
        req("GET", &format!("/v1/sessions/{id}"), None, Body::empty()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(
        &st,
        req("DELETE", &format!("/v1/sessions/{id}"), None, Body::empty()),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, b) = call(
        &st,
        req("GET", &format!("/v1/sessions/{id}"), None, Body::empty()),
    )
    .await;
    assert_err(s, &b, StatusCode::NOT_FOUND, "session_not_found");
    assert_eq!(st.session_count(), 2);
    let (_, _, b) = call(&st, req("GET", "/metrics", None, Body::empty())).await;
    assert!(
        String::from_utf8_lossy(&b).contains("facecast_errors_total{code=\"session_not_found\"}")
    );
}

#[tokio::test]
async fn speak_emotion_interrupt() {
    let st = state(config());
    let id = create(&st).await;
    let other = create(&st).await;
    let p = |s: &str| format!("/v1/sessions/{id}/{s}");

    let (s, _, b) = call(
        &st,
        req("POST", &p("speak"), Some("audio/wav"), wav(16000, 1000)),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&b));
    let j = json_of(&b);
    assert!(j["segment"].is_u64());
    assert!(
        (990..=1010).contains(&j["duration_ms"].as_u64().unwrap()),
        "{j}"
    );

    let (s, _, b) = call(
        &st,
        req(
            "POST",
            &p("speak"),
            Some("audio/wav"),
            b"RIFF\x10\0\0\0WAVEjunkjunkjunk".to_vec(),
        ),
    )
    .await;
    assert_err(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "bad_audio");
    let (s, _, b) = call(
        &st,
        req("POST", &p("speak"), Some("audio/mpeg"), vec![0u8; 3000]),
    )
    .await;
    assert_err(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "bad_audio");
    let (s, _, b) = call(
        &st,
        req("POST", &p("speak"), Some("audio/wav"), Body::empty()),
    )
    .await;
    assert_err(s, &b, StatusCode::BAD_REQUEST, "empty_body");
    let (s, _, b) = call(&st, req("POST", &p("speak"), Some("text/plain"), "hello")).await;
    assert_err(
        s,
        &b,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let (s, _, b) = call(
        &st,
        req(
            "POST",
            &p("speak"),
            Some("application/json"),
            r#"{"text":"hello there"}"#,
        ),
    )
    .await;
    assert_err(s, &b, StatusCode::NOT_IMPLEMENTED, "no_speech_engine");
    let (s, _, b) = call(
        &st,
        req(
            "POST",
            &p("speak"),
            Some("application/json"),
            r#"{"txt":1}"#,
        ),
    )
    .await;
    assert_err(s, &b, StatusCode::BAD_REQUEST, "bad_json");
    let (s, _, b) = call(
        &st,
        req(
            "POST",
            &p("speak"),
            Some("audio/wav"),
            vec![0u8; 2 * 1024 * 1024],
        ),
    )
    .await;
    assert_err(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // queue limit 10 s: 6 s + 6 s does not fit
    let (s, _, _) = call(
        &st,
        req("POST", &p("speak"), Some("audio/wav"), wav(8000, 6000)),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _, b) = call(
        &st,
        req("POST", &p("speak"), Some("audio/wav"), wav(8000, 6000)),
    )
    .await;
    assert_err(s, &b, StatusCode::TOO_MANY_REQUESTS, "queue_full");

    let (s, _, b) = call(
        &st,
        req(
            "POST",
            &p("emotion"),
            Some("application/json"),
            r#"{"emotion":"happy","intensity":0.5}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    for (body, status, code) in [
        (
            r#"{"emotion":"bored"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parameter",
        ),
        (
            r#"{"emotion":"happy","intensity":3}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parameter",
        ),
        ("nope", StatusCode::BAD_REQUEST, "bad_json"),
    ] {
        let (s, _, b) = call(
            &st,
            req("POST", &p("emotion"), Some("application/json"), body),
        )
        .await;
        assert_err(s, &b, status, code);
    }
    let (s, _, b) = call(
        &st,
        req(
            "POST",
            &p("emotion"),
            Some("text/plain"),
            r#"{"emotion":"happy"}"#,
        ),
    )
    .await;
    assert_err(
        s,
        &b,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, _, b) = call(
        &st,
        req("GET", &format!("/v1/sessions/{id}"), None, Body::empty()),
    )
    .await;
    let info = json_of(&b);
    assert_eq!(info["emotion"], "happy");
    assert!(info["queued_ms"].as_u64().unwrap() > 1000, "{info}");

    let (s, _, b) = call(&st, req("POST", &p("interrupt"), None, Body::empty())).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, _, b) = call(
        &st,
        req("GET", &format!("/v1/sessions/{id}"), None, Body::empty()),
    )
    .await;
    assert_eq!(
        json_of(&b)["queued_ms"].as_u64(),
        Some(0),
        "interrupt drops the queue"
    );

    // the other session saw none of it
    let (_, _, b) = call(
        &st,
        req("GET", &format!("/v1/sessions/{other}"), None, Body::empty()),
    )
    .await;
    let o = json_of(&b);
    assert_eq!(
        (o["segments"].as_u64(), o["emotion"].as_str()),
        (Some(0), Some("neutral"))
    );
}

/// Text is spoken by the configured speech engine (Debian's espeak-ng, installed by
/// scripts/setup.sh): the segment's duration is the synthesized audio's; a broken engine gets a
/// clear 502 naming it, too much text a 413, and the session keeps working.
#[tokio::test]
async fn text_is_spoken_by_the_speech_engine() {
    let mut cfg = config();
    cfg.tts =
        Some(Tts::detect().expect("espeak-ng is not installed (scripts/setup.sh installs it)"));
    let st = state(cfg);
    let id = create(&st).await;
    let p = |s: &str| format!("/v1/sessions/{id}/{s}");
    let speak = |text: String| {
        req(
            "POST",
            &p("speak"),
            Some("application/json"),
            serde_json::json!({ "text": text }).to_string(),
        )
    };
    let (s, _, b) = call(
        &st,
        speak("Hello, I am your avatar. How can I help you today?".into()),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&b));
    let j = json_of(&b);
    let ms = j["duration_ms"].as_u64().unwrap();
    // About a dozen words: a few seconds of speech, not a click and not a minute.
    assert!((1500..=8000).contains(&ms), "{j}");
    let (s, _, b) = call(&st, speak("a".repeat(6000))).await;
    assert_err(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "text_too_long");

    // A broken engine: its own message comes back, and the session still takes audio.
    let mut cfg = config();
    cfg.tts = Some(Tts {
        program: "sh".into(),
        args: vec!["-c".into(), "echo no voice installed >&2; exit 3".into()],
        timeout: Duration::from_secs(10),
    });
    let st = state(cfg);
    let id = create(&st).await;
    let (s, _, b) = call(
        &st,
        req(
            "POST",
            &format!("/v1/sessions/{id}/speak"),
            Some("application/json"),
            r#"{"text":"hello"}"#,
        ),
    )
    .await;
    assert_err(s, &b, StatusCode::BAD_GATEWAY, "tts_failed");
    assert!(String::from_utf8_lossy(&b).contains("no voice installed"));
    assert_eq!(speak_wav(&st, &id, 500).await, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn whep_bad_input() {
    let st = state(config());
    let id = create(&st).await;
    let w = format!("/v1/sessions/{id}/whep");
    let (s, _, b) = call(&st, req("POST", &w, Some("application/json"), "{}")).await;
    assert_err(
        s,
        &b,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let (s, _, b) = call(&st, req("POST", &w, Some("application/sdp"), "garbage\r\n")).await;
    assert_err(s, &b, StatusCode::BAD_REQUEST, "bad_sdp");
    let (s, _, b) = call(&st, req("POST", &w, Some("application/sdp"), "")).await;
    assert_err(s, &b, StatusCode::BAD_REQUEST, "bad_sdp");
    let (s, _, b) = call(
        &st,
        req("DELETE", &format!("{w}/nobody"), None, Body::empty()),
    )
    .await;
    assert_err(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (s, _, b) = call(
        &st,
        req(
            "PATCH",
            &format!("{w}/nobody"),
            Some("application/trickle-ice-sdpfrag"),
            "a=x",
        ),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        String::from_utf8_lossy(&b)
    );
}

#[tokio::test]
async fn api_key_is_enforced() {
    let mut cfg = config();
    cfg.api_key = Some("s3cret".into());
    let st = state(cfg);
    let (s, h, b) = call(&st, req("GET", "/v1/sessions", None, Body::empty())).await;
    assert_err(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(h[header::WWW_AUTHENTICATE], "Bearer");
    let (s, _, b) = call(
        &st,
        Request::get("/v1/sessions")
            .header("Authorization", "Bearer wrong")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_err(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, _, _) = call(
        &st,
        Request::get("/v1/sessions")
            .header("Authorization", "Bearer s3cret")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(
        &st,
        Request::get("/v1/sessions?token=s3cret")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, b) = call(&st, req("GET", "/metrics", None, Body::empty())).await;
    assert_err(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, _, _) = call(&st, req("GET", "/healthz", None, Body::empty())).await;
    assert_eq!(s, StatusCode::OK);

    // refusing to start on a public address without a key
    let mut c = ServerConfig::new("0.0.0.0:8080".parse().unwrap());
    c.api_key = None;
    let e = c.check().unwrap_err().to_string();
    assert!(
        e.contains("FACECAST_API_KEY") && e.contains("0.0.0.0:8080"),
        "{e}"
    );
    c.api_key = Some("k".into());
    assert!(c.check().is_ok());
    assert!(
        ServerConfig {
            api_key: None,
            ..config()
        }
        .check()
        .is_ok(),
        "loopback needs no key"
    );
}

// ------------------------------------------------------------------ WebSocket, real client

async fn spawn_server(st: AppState) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(st)).await.unwrap() });
    addr
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws, want_type: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no '{want_type}' message in 5 s"));
        let m = m.expect("socket closed").expect("socket error");
        if let tokio_tungstenite::tungstenite::Message::Text(t) = m {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == want_type {
                return v;
            }
        }
    }
}

async fn send_bin(ws: &mut Ws, b: Vec<u8>) {
    ws.send(tokio_tungstenite::tungstenite::Message::Binary(b.into()))
        .await
        .unwrap();
}

#[tokio::test]
async fn websocket_garbage_gets_typed_errors_and_the_connection_lives() {
    let st = state(config());
    let id = create(&st).await;
    let other = create(&st).await;
    let addr = spawn_server(st.clone()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/sessions/{id}/ws"))
        .await
        .unwrap();
    let hello = next_json(&mut ws, "hello").await;
    assert_eq!(hello["session"], id.as_str());
    assert_eq!(
        st.session(&id)
            .unwrap()
            .ws_clients
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    let pcm: Vec<i16> = (0..320)
        .map(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16)
        .collect();
    let good = encode_frame(TYPE_AUDIO, 0, 0, 16_000, 1, &pcm);
    let mut bad_crc = good.clone();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 0x55;
    let mut bad_ver = good.clone();
    bad_ver[4] = 7;
    let mut bad_len = good.clone();
    bad_len.truncate(n - 10);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"xx".to_vec(), "short_frame"),
        (
            b"RIFF0000WAVEfmt 0000000000000000000000000000000".to_vec(),
            "bad_magic",
        ),
        (bad_ver, "bad_version"),
        (bad_len, "length_mismatch"),
        (bad_crc, "bad_crc"),
        (encode_frame(TYPE_AUDIO, 0, 0, 1234, 1, &pcm), "bad_rate"),
    ];
    for (frame, code) in cases {
        send_bin(&mut ws, frame).await;
        let e = next_json(&mut ws, "error").await;
        assert_eq!(e["code"], code, "{e}");
    }
    for (text, code) in [
        ("{{{", "bad_json"),
        (r#"{"type":"dance"}"#, "unknown_type"),
        (r#"{"type":"emotion","emotion":"bored"}"#, "bad_emotion"),
    ] {
        ws.send(tokio_tungstenite::tungstenite::Message::Text(text.into()))
            .await
            .unwrap();
        assert_eq!(next_json(&mut ws, "error").await["code"], code);
    }

    // still alive: a real frame opens a segment, then the audio plays
    send_bin(&mut ws, good).await;
    let started = next_json(&mut ws, "speak_started").await;
    let seg = started["segment"].as_u64().unwrap();
    for k in 1..10u32 {
        send_bin(
            &mut ws,
            encode_frame(TYPE_AUDIO, k, k as u64 * 320, 16_000, 1, &pcm),
        )
        .await;
    }
    // a replayed sequence number is dropped with an error
    send_bin(&mut ws, encode_frame(TYPE_AUDIO, 3, 0, 16_000, 1, &pcm)).await;
    assert_eq!(next_json(&mut ws, "error").await["code"], "stale_sequence");
    send_bin(&mut ws, encode_frame(TYPE_END, 10, 0, 16_000, 1, &[])).await;
    assert_eq!(
        next_json(&mut ws, "segment_ended").await["segment"].as_u64(),
        Some(seg)
    );
    let fin = next_json(&mut ws, "segment_finished").await;
    assert_eq!(fin["segment"].as_u64(), Some(seg));
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        r#"{"type":"ping","id":5}"#.into(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws, "pong").await["id"], 5);

    // debug JSON audio mode
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        r#"{"type":"audio","sample_rate":8000,"pcm":"AAAQAAAAEAA=","sequence":1}"#.into(),
    ))
    .await
    .unwrap();
    next_json(&mut ws, "speak_started").await;

    // the other session was untouched
    let o = st.session(&other).unwrap();
    assert_eq!(o.segments.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert_eq!(o.ws_clients.load(std::sync::atomic::Ordering::Relaxed), 0);

    // vanish without a close handshake: resources are freed
    drop(ws);
    let s = st.session(&id).unwrap();
    let t0 = Instant::now();
    while s.ws_clients.load(std::sync::atomic::Ordering::Relaxed) != 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "websocket count did not go back down"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn whep_viewer_connects_gets_media_and_is_freed_when_it_vanishes() {
    let st = state(config());
    let id = create(&st).await;
    let addr = spawn_server(st.clone()).await;
    let client = whep_client::Client::start(&format!("http://{addr}/v1/sessions/{id}/whep")).await;
    let sess: Arc<_> = st.session(&id).unwrap();
    // The session thread takes the new viewer on its next turn.
    let t0 = Instant::now();
    while sess.viewers.load(std::sync::atomic::Ordering::Relaxed) != 1 {
        assert!(t0.elapsed() < Duration::from_secs(5), "viewer not counted");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // speech while watching
    assert_eq!(speak_wav(&st, &id, 500).await, StatusCode::ACCEPTED);
    let got = client.wait_media(Duration::from_secs(8)).await;
    assert!(got.video_frames >= 5, "video frames received: {got:?}");
    assert!(got.audio_packets >= 10, "audio packets received: {got:?}");
    assert!(
        got.keyframe_first,
        "first video frame must be a keyframe: {got:?}"
    );
    // Audio sent to the viewer is timed (its send delay is what the browser's jitter buffer
    // sees); video came from the shared video workers.
    let (_, _, b) = call(&st, req("GET", "/metrics", None, Body::empty())).await;
    let text = String::from_utf8(b).unwrap();
    let sent = text
        .lines()
        .find_map(|l| l.strip_prefix("facecast_audio_send_late_seconds_count "))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(sent >= 10, "audio sends timed: {sent}\n{text}");

    // WHEP DELETE frees the viewer
    let (s, _, b) = call(&st, req("DELETE", &client.location, None, Body::empty())).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let t0 = Instant::now();
    while sess.viewers.load(std::sync::atomic::Ordering::Relaxed) != 0 {
        assert!(t0.elapsed() < Duration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.stop();

    // a second viewer that simply vanishes (no DELETE) is dropped once ICE gives up
    let client2 = whep_client::Client::start(&format!("http://{addr}/v1/sessions/{id}/whep")).await;
    client2.wait_media(Duration::from_secs(8)).await;
    assert_eq!(sess.viewers.load(std::sync::atomic::Ordering::Relaxed), 1);
    client2.stop();
    let t0 = Instant::now();
    while sess.viewers.load(std::sync::atomic::Ordering::Relaxed) != 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "vanished viewer was not freed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A minimal WHEP viewer on str0m over a real UDP socket (plays the browser).
mod whep_client {
    use std::net::UdpSocket;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use str0m::change::SdpAnswer;
    use str0m::media::{Direction, MediaKind};
    use str0m::net::{Protocol, Receive};
    use str0m::{Candidate, Event, Input, Output, Rtc};

    #[derive(Debug, Default, Clone, Copy)]
    pub struct Got {
        pub video_frames: u64,
        pub audio_packets: u64,
        pub keyframe_first: bool,
    }

    pub struct Client {
        pub location: String,
        stop: Arc<AtomicBool>,
        video: Arc<AtomicU64>,
        audio: Arc<AtomicU64>,
        first_key: Arc<AtomicU64>,
    }

    impl Client {
        pub async fn start(url: &str) -> Client {
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            let local = sock.local_addr().unwrap();
            let mut rtc = Rtc::builder()
                .clear_codecs()
                .enable_opus(true, false)
                .enable_h264(true)
                .build(Instant::now());
            rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
            let mut api = rtc.sdp_api();
            api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
            let (offer, pending) = api.apply().unwrap();
            let resp = post_sdp(url, &offer.to_sdp_string()).await;
            let (location, answer) = resp;
            rtc.sdp_api()
                .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
                .unwrap();
            let c = Client {
                location,
                stop: Arc::new(AtomicBool::new(false)),
                video: Arc::new(AtomicU64::new(0)),
                audio: Arc::new(AtomicU64::new(0)),
                first_key: Arc::new(AtomicU64::new(2)),
            };
            let (stop, video, audio, first_key) = (
                c.stop.clone(),
                c.video.clone(),
                c.audio.clone(),
                c.first_key.clone(),
            );
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 2000];
                while !stop.load(Relaxed) {
                    let timeout = loop {
                        match rtc.poll_output().unwrap() {
                            Output::Timeout(t) => break t,
                            Output::Transmit(t) => {
                                let _ = sock.send_to(&t.contents, t.destination);
                            }
                            Output::Event(Event::MediaData(m)) => {
                                if m.params.spec().codec.is_video() {
                                    if video.fetch_add(1, Relaxed) == 0 {
                                        first_key.store(m.is_keyframe() as u64, Relaxed);
                                    }
                                } else {
                                    audio.fetch_add(1, Relaxed);
                                }
                            }
                            Output::Event(_) => {}
                        }
                    };
                    let d = timeout
                        .saturating_duration_since(Instant::now())
                        .clamp(Duration::from_millis(1), Duration::from_millis(50));
                    sock.set_read_timeout(Some(d)).unwrap();
                    let input = match sock.recv_from(&mut buf) {
                        Ok((n, src)) => match buf[..n].try_into() {
                            Ok(contents) => Input::Receive(
                                Instant::now(),
                                Receive {
                                    proto: Protocol::Udp,
                                    source: src,
                                    destination: local,
                                    contents,
                                },
                            ),
                            Err(_) => continue,
                        },
                        Err(_) => Input::Timeout(Instant::now()),
                    };
                    if rtc.handle_input(input).is_err() {
                        break;
                    }
                }
            });
            c
        }

        pub async fn wait_media(&self, max: Duration) -> Got {
            let t0 = Instant::now();
            while t0.elapsed() < max
                && (self.video.load(Relaxed) < 10 || self.audio.load(Relaxed) < 20)
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Got {
                video_frames: self.video.load(Relaxed),
                audio_packets: self.audio.load(Relaxed),
                keyframe_first: self.first_key.load(Relaxed) == 1,
            }
        }

        pub fn stop(&self) {
            self.stop.store(true, Relaxed);
        }
    }

    async fn post_sdp(url: &str, sdp: &str) -> (String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let u = url.strip_prefix("http://").unwrap();
        let (host, path) = u.split_at(u.find('/').unwrap());
        let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{sdp}",
            sdp.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).await.unwrap();
        assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
        let (head, body) = resp.split_once("\r\n\r\n").unwrap();
        let loc = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("location: ")
                    .or_else(|| l.strip_prefix("Location: "))
            })
            .unwrap()
            .trim()
            .to_string();
        (loc, body.to_string())
    }
}

#[tokio::test]
async fn one_video_worker_serves_three_watched_sessions_and_deleting_frees_them() {
    let mut cfg = config();
    cfg.video_threads = 1;
    let st = state(cfg);
    let ids = [create(&st).await, create(&st).await, create(&st).await];
    let addr = spawn_server(st.clone()).await;
    let mut clients = Vec::new();
    for id in &ids {
        clients.push(
            whep_client::Client::start(&format!("http://{addr}/v1/sessions/{id}/whep")).await,
        );
        assert_eq!(speak_wav(&st, id, 500).await, StatusCode::ACCEPTED);
    }
    assert_eq!(
        st.video_sessions(),
        3,
        "each session has its video job on the pool"
    );
    // Every session's viewer gets advancing video from the one shared worker.
    for (id, c) in ids.iter().zip(&clients) {
        let got = c.wait_media(Duration::from_secs(10)).await;
        assert!(got.video_frames >= 10, "session {id}: {got:?}");
        assert!(got.keyframe_first, "session {id}: {got:?}");
    }
    let frames = |id: &str| {
        st.session(id)
            .unwrap()
            .frames
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before: Vec<u64> = ids.iter().map(|id| frames(id)).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (id, b) in ids.iter().zip(&before) {
        assert!(frames(id) >= b + 3, "session {id} stalled at {b} frames");
    }
    let (_, _, b) = call(&st, req("GET", "/metrics", None, Body::empty())).await;
    let text = String::from_utf8(b).unwrap();
    assert!(text.contains("facecast_video_workers 1\n"), "{text}");
    assert!(text.contains("\nfacecast_video_queue_depth "), "{text}");

    // DELETE ends each session: its thread stops, its video job is dropped and nothing holds
    // the session any more (viewer tasks end on Close).
    delete_and_expect_freed(&st, &ids).await;
    for c in &clients {
        c.stop();
    }
}

/// DELETEs the sessions `ids`, then waits (at most 5 s) until their threads ended, their video
/// jobs were dropped and nothing holds the sessions any more.
async fn delete_and_expect_freed(st: &AppState, ids: &[String]) {
    let sessions: Vec<_> = ids.iter().map(|id| st.session(id).unwrap()).collect();
    for id in ids {
        let (s, _, _) = call(
            st,
            req("DELETE", &format!("/v1/sessions/{id}"), None, Body::empty()),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    let t0 = Instant::now();
    while st.video_sessions() != 0 || sessions.iter().any(|s| Arc::strong_count(s) > 1) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "not freed: {} video jobs, session refs {:?}",
            st.video_sessions(),
            sessions.iter().map(Arc::strong_count).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn deleting_an_unwatched_session_frees_its_video_job() {
    let st = state(config());
    let id = create(&st).await;
    assert_eq!(st.video_sessions(), 1);
    delete_and_expect_freed(&st, &[id]).await;
}

#[test]
fn zero_video_threads_is_a_config_error() {
    let mut cfg = config();
    cfg.video_threads = 0;
    let e = cfg.check().unwrap_err().to_string();
    assert!(e.contains("video_threads"), "{e}");
    cfg.video_threads = 1;
    assert!(cfg.check().is_ok());
}

#[test]
fn level_of_detail_outside_0_to_4_pixels_is_a_config_error() {
    let mut cfg = config();
    for bad in [-1.0, 4.5, f32::NAN] {
        cfg.lod_px = bad;
        let e = cfg.check().unwrap_err().to_string();
        assert!(e.contains("lod_px"), "{e}");
    }
    cfg.lod_px = 0.0;
    assert!(cfg.check().is_ok());
}
