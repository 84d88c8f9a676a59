//! The facecast server: HTTP JSON API, session WebSocket, WHEP egress, metrics and the static
//! web client.
//!
//! ```no_run
//! # async fn f() -> Result<(), facecast_server::ServerError> {
//! let cfg = facecast_server::ServerConfig::new("127.0.0.1:8080".parse().unwrap());
//! facecast_server::serve(cfg).await
//! # }
//! ```
//!
//! Threads: each session has one OS thread (`session`: engine clock, audio + Opus, events); its
//! video frames are rendered, encoded and sent by [`pool`], K worker threads shared by all
//! sessions that always take the frame due first ([`ServerConfig::video_threads`],
//! `--video-threads`, default the number of cores). HTTP, WebSockets and WebRTC run on the tokio
//! runtime.
//!
//! Routes (all JSON errors are `{"error": {"code", "message"}}`, see [`ApiError`]):
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/sessions` | create `{"avatar"?, "width"?, "height"?, "fps"?, "emotion"?, "background"?}` → 201 `{"id"}` |
//! | `GET /v1/sessions`, `GET/DELETE /v1/sessions/{id}` | list, describe, end |
//! | `POST /v1/sessions/{id}/whep` | WHEP: `application/sdp` offer → 201 answer + `Location` |
//! | `DELETE /v1/sessions/{id}/whep/{viewer}` | end a viewer |
//! | `POST /v1/sessions/{id}/speak` | audio file body (WAV/MP3/FLAC/Ogg), or `{"text"}` spoken by the [`tts`] engine (501 without one) → 202 `{"segment","duration_ms"}` |
//! | `POST /v1/sessions/{id}/emotion`, `/interrupt` | control |
//! | `GET /v1/sessions/{id}/ws` | WebSocket, binary audio frames + JSON (`docs/PROTOCOL.md`) |
//! | `GET /v1/avatars` | avatars this server offers |
//! | `GET /healthz`, `GET /metrics`, `GET /v1/openapi.json` | health, Prometheus, OpenAPI 3 |
//! | `GET /` | the web demo (`web/`) |

pub mod error;
pub mod metrics;
mod openapi;
pub mod pool;
pub mod protocol;
mod session;
pub mod tts;
mod whep;
mod ws;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Request, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use facecast_core::model::Avatar;
use facecast_core::Emotion;
use serde::Deserialize;

pub use error::{ApiError, ServerError};
pub use metrics::Metrics;
pub use session::{SessionShared, SpeakOk};
pub use tts::{Tts, TtsError};
pub use whep::default_advertise_ip;

/// Limits with clear errors.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Live sessions per server (beyond: 503 `too_many_sessions`).
    pub max_sessions: usize,
    /// Request body size (beyond: 413 `payload_too_large`).
    pub max_upload_bytes: usize,
    /// Audio queued ahead of playout per session, ms (beyond: 429 `queue_full`).
    pub max_queue_ms: u64,
    /// WHEP viewers per session (beyond: 503 `too_many_viewers`).
    pub max_viewers_per_session: usize,
    /// Largest width/height accepted for a session.
    pub max_dimension: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sessions: 16,
            max_upload_bytes: 20 * 1024 * 1024,
            max_queue_ms: 120_000,
            max_viewers_per_session: 8,
            max_dimension: 1920,
        }
    }
}

/// Server configuration.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// HTTP listen address.
    pub addr: SocketAddr,
    /// Extra avatar files (`--avatar FILE`), offered under their file stem. The built-in avatar is
    /// always offered as `default`.
    pub avatars: Vec<PathBuf>,
    /// API key; when set, `/v1/*` and `/metrics` need `Authorization: Bearer <key>` (or
    /// `?token=<key>`, for WebSockets from browsers). [`ServerConfig::new`] reads
    /// `FACECAST_API_KEY`.
    pub api_key: Option<String>,
    /// IP the per-viewer UDP sockets bind to (`None`: the HTTP address's IP).
    pub rtc_bind_ip: Option<IpAddr>,
    /// IP advertised in ICE host candidates (`None`: see [`default_advertise_ip`]).
    /// [`ServerConfig::new`] reads `FACECAST_RTC_IP`.
    pub rtc_advertise_ip: Option<IpAddr>,
    /// Serve `web/` from this directory instead of the copy built into the binary.
    pub web_dir: Option<PathBuf>,
    /// Limits.
    pub limits: Limits,
    /// Speech engine for `{"text"}` speak requests (`None`: such requests get 501).
    /// [`ServerConfig::new`] reads `FACECAST_TTS` (`auto`, the default: `espeak-ng` when it is
    /// installed; `off`; or a command line), see [`tts`].
    pub tts: Option<Tts>,
    /// Video worker threads shared by all sessions (render, encode and send each frame, the one
    /// due first first; see [`pool`]). [`ServerConfig::new`] reads `FACECAST_VIDEO_THREADS`,
    /// default [`pool::default_workers`] (the cores this process may use).
    pub video_threads: usize,
    /// Level-of-detail error in pixels for every session's renderer (0 draws every triangle;
    /// 0..=4). [`ServerConfig::new`] reads `FACECAST_LOD`, default
    /// [`facecast_render::DEFAULT_LOD_PX`].
    pub lod_px: f32,
}

impl ServerConfig {
    /// Defaults for `addr`, with the API key from `FACECAST_API_KEY` and the advertised RTC IP
    /// from `FACECAST_RTC_IP` (both optional).
    pub fn new(addr: SocketAddr) -> Self {
        let api_key = std::env::var("FACECAST_API_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty());
        let rtc_advertise_ip = std::env::var("FACECAST_RTC_IP")
            .ok()
            .and_then(|s| s.trim().parse().ok());
        ServerConfig {
            addr,
            avatars: Vec::new(),
            api_key,
            rtc_bind_ip: None,
            rtc_advertise_ip,
            web_dir: None,
            limits: Limits::default(),
            tts: Tts::from_setting(&std::env::var("FACECAST_TTS").unwrap_or_default()),
            video_threads: std::env::var("FACECAST_VIDEO_THREADS")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(pool::default_workers),
            lod_px: std::env::var("FACECAST_LOD")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(facecast_render::DEFAULT_LOD_PX),
        }
    }

    /// The startup rule: a non-loopback address needs an API key.
    pub fn check(&self) -> Result<(), ServerError> {
        if !self.addr.ip().is_loopback() && self.api_key.is_none() {
            return Err(ServerError::ApiKeyRequired { addr: self.addr });
        }
        if self.limits.max_sessions == 0 {
            return Err(ServerError::Config(
                "max_sessions must be at least 1".into(),
            ));
        }
        if self.video_threads == 0 {
            return Err(ServerError::Config(
                "video_threads must be at least 1".into(),
            ));
        }
        if !(0.0..=4.0).contains(&self.lod_px) {
            return Err(ServerError::Config(format!(
                "lod_px {} outside 0..=4 pixels",
                self.lod_px
            )));
        }
        Ok(())
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 8080)))
    }
}

/// Shared state of the router.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: ServerConfig,
    avatars: BTreeMap<String, Arc<Avatar>>,
    sessions: Mutex<BTreeMap<String, Arc<SessionShared>>>,
    metrics: Arc<Metrics>,
    rtc_bind: IpAddr,
    rtc_advertise: IpAddr,
    /// The shared video workers, started with the first session.
    video: Mutex<Option<Arc<session::ServerPool>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Session threads hold their own handle: end them explicitly.
        let sessions = self.sessions.get_mut().unwrap_or_else(|p| p.into_inner());
        for s in sessions.values() {
            s.close();
        }
    }
}

impl AppState {
    /// Load the avatars and build the state.
    pub fn new(cfg: ServerConfig) -> Result<AppState, ServerError> {
        let mut avatars = BTreeMap::new();
        avatars.insert("default".to_string(), facecast_avatar::builtin());
        for path in &cfg.avatars {
            let a = facecast_avatar::load(path).map_err(|e| ServerError::Avatar(e.to_string()))?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| a.name.clone());
            avatars.insert(name, Arc::new(a));
        }
        Ok(Self::with_avatars(cfg, avatars))
    }

    /// State with explicit avatars (tests).
    pub fn with_avatars(cfg: ServerConfig, avatars: BTreeMap<String, Arc<Avatar>>) -> AppState {
        let rtc_bind = cfg.rtc_bind_ip.unwrap_or(cfg.addr.ip());
        let rtc_advertise = cfg
            .rtc_advertise_ip
            .unwrap_or_else(|| default_advertise_ip(rtc_bind));
        AppState {
            inner: Arc::new(Inner {
                cfg,
                avatars,
                sessions: Mutex::new(BTreeMap::new()),
                metrics: Arc::new(Metrics::default()),
                rtc_bind,
                rtc_advertise,
                video: Mutex::new(None),
            }),
        }
    }

    /// Metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// A live session.
    pub fn session(&self, id: &str) -> Option<Arc<SessionShared>> {
        self.sessions().get(id).cloned()
    }

    /// Live session count.
    pub fn session_count(&self) -> usize {
        self.sessions().len()
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<SessionShared>>> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, id: &str) -> Result<Arc<SessionShared>, ApiError> {
        self.session(id).ok_or_else(|| ApiError::no_session(id))
    }

    /// The video pool, started on first use with `video_threads` workers.
    /// The shared video pool slot (`None` until the first session). A panic while it was held
    /// cannot leave it half-changed, so a poisoned lock is used as is.
    fn video(&self) -> std::sync::MutexGuard<'_, Option<Arc<session::ServerPool>>> {
        self.inner.video.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn video_pool(&self) -> Result<Arc<session::ServerPool>, ApiError> {
        let mut v = self.video();
        if let Some(p) = v.as_ref() {
            return Ok(p.clone());
        }
        let cfg = &self.inner.cfg;
        let p = Arc::new(
            pool::VideoPool::new(cfg.video_threads, "facecast-video", cfg.limits.max_sessions)
                .map_err(|e| ApiError::internal(e.to_string()))?,
        );
        *v = Some(p.clone());
        Ok(p)
    }

    /// Sessions whose video state is alive in the video pool (0 before the first session).
    pub fn video_sessions(&self) -> usize {
        self.video().as_ref().map_or(0, |p| p.sessions())
    }

    /// End every session and stop the video workers.
    fn shutdown(&self) {
        let sessions = std::mem::take(&mut *self.sessions());
        for s in sessions.values() {
            s.close();
        }
        let pool = self.video().take();
        if let Some(p) = pool {
            p.shutdown();
        }
    }
}

/// A fresh random id (16 hex digits).
pub(crate) fn new_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// Build the router.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/sessions", post(create_session).get(list_sessions))
        .route("/v1/sessions/{id}", get(get_session).delete(delete_session))
        .route("/v1/sessions/{id}/whep", post(whep_offer))
        .route(
            "/v1/sessions/{id}/whep/{viewer}",
            delete(whep_delete).patch(whep_patch),
        )
        .route("/v1/sessions/{id}/speak", post(speak))
        .route("/v1/sessions/{id}/emotion", post(emotion))
        .route("/v1/sessions/{id}/interrupt", post(interrupt))
        .route("/v1/sessions/{id}/ws", get(websocket))
        .route("/v1/avatars", get(list_avatars))
        .route("/metrics", get(metrics_text))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .merge(api)
        .route("/healthz", get(healthz))
        .route("/v1/openapi.json", get(openapi_doc))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/", get(web_file))
        .route("/{file}", get(web_file))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
        .with_state(state)
}

/// Run the server until Ctrl-C.
pub async fn serve(cfg: ServerConfig) -> Result<(), ServerError> {
    cfg.check()?;
    let addr = cfg.addr;
    let state = AppState::new(cfg)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    facecast_core::diag!(
        "facecast listening on http://{local} (WebRTC host candidates on {}, avatars: {})",
        state.inner.rtc_advertise,
        state
            .inner
            .avatars
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let app = router(state.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    tokio::task::spawn_blocking(move || state.shutdown())
        .await
        .map_err(|e| ServerError::Io(std::io::Error::other(e.to_string())))?;
    Ok(())
}

// ---------------------------------------------------------------- auth

async fn auth(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(key) = &st.inner.cfg.api_key {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let query = req
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
        let ok = [bearer, query]
            .into_iter()
            .flatten()
            .any(|k| ct_eq(k.as_bytes(), key.as_bytes()));
        if !ok {
            st.inner.metrics.error("unauthorized");
            return ApiError::unauthorized().into_response();
        }
    }
    next.run(req).await
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---------------------------------------------------------------- helpers

fn content_type(h: &HeaderMap) -> String {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

async fn read_body(st: &AppState, h: &HeaderMap, body: Body) -> Result<bytes::Bytes, ApiError> {
    let limit = st.inner.cfg.limits.max_upload_bytes;
    if let Some(len) = h
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(ApiError::too_large(limit));
        }
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large(limit))
}

async fn read_json<T: for<'de> Deserialize<'de>>(
    st: &AppState,
    h: &HeaderMap,
    body: Body,
    allow_empty: bool,
) -> Result<T, ApiError> {
    let ct = content_type(h);
    let bytes = read_body(st, h, body).await?;
    if bytes.is_empty() && allow_empty {
        return serde_json::from_str("{}")
            .map_err(|e| ApiError::bad_request("bad_json", e.to_string()));
    }
    if ct != "application/json" {
        return Err(ApiError::unsupported_media_type(&ct, "application/json"));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("bad_json", format!("invalid JSON body: {e}")))
}

/// Wrap handler results so every error is counted once.
fn counted<T: IntoResponse>(st: &AppState, r: Result<T, ApiError>) -> Response {
    match r {
        Ok(v) => v.into_response(),
        Err(e) => {
            st.inner.metrics.error(e.code);
            e.into_response()
        }
    }
}

// ---------------------------------------------------------------- sessions

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSession {
    avatar: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    fps: Option<u32>,
    emotion: Option<String>,
    background: Option<String>,
    /// Additive extension: 0 = fixed head, 1 = default idle head motion.
    head_motion: Option<f32>,
    /// Additive extension: seed of the idle animation.
    seed: Option<u64>,
}

async fn create_session(State(st): State<AppState>, h: HeaderMap, body: Body) -> Response {
    let r = create_session_inner(&st, h, body).await;
    counted(&st, r)
}

async fn create_session_inner(
    st: &AppState,
    h: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let req: CreateSession = read_json(st, &h, body, true).await?;
    let lim = &st.inner.cfg.limits;
    let name = req.avatar.unwrap_or_else(|| "default".into());
    let avatar = st.inner.avatars.get(&name).cloned().ok_or_else(|| {
        let names: Vec<_> = st.inner.avatars.keys().cloned().collect();
        ApiError::invalid(
            "avatar",
            format!("unknown avatar '{name}' (available: {})", names.join(", ")),
        )
    })?;
    let (width, height, fps) = (
        req.width.unwrap_or(512),
        req.height.unwrap_or(512),
        req.fps.unwrap_or(25),
    );
    if width < 16
        || height < 16
        || width > lim.max_dimension
        || height > lim.max_dimension
        || width % 2 == 1
        || height % 2 == 1
    {
        return Err(ApiError::invalid(
            "width/height",
            format!(
                "{width}x{height} must be even and within 16..={}",
                lim.max_dimension
            ),
        ));
    }
    if !(1..=60).contains(&fps) {
        return Err(ApiError::invalid("fps", format!("{fps} is outside 1..=60")));
    }
    let emotion = match req.emotion.as_deref() {
        Some(e) => e
            .parse::<Emotion>()
            .map_err(|m| ApiError::invalid("emotion", m))?,
        None => Emotion::Neutral,
    };
    if let Some(h) = req.head_motion {
        if !(0.0..=2.0).contains(&h) {
            return Err(ApiError::invalid(
                "head_motion",
                format!("{h} is outside 0..=2"),
            ));
        }
    }
    if st.session_count() >= lim.max_sessions {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_sessions",
            format!(
                "the server already runs {} sessions (limit {})",
                st.session_count(),
                lim.max_sessions
            ),
        ));
    }
    let id = new_id();
    let params = session::SessionParams {
        avatar_name: name,
        avatar,
        width,
        height,
        fps,
        emotion,
        background: req.background,
        max_queue_ms: lim.max_queue_ms,
        head_motion: req.head_motion,
        seed: req.seed,
        lod_px: st.inner.cfg.lod_px,
    };
    let pool = st.video_pool()?;
    let shared = session::spawn(id.clone(), params, st.inner.metrics.clone(), pool).await?;
    {
        let mut s = st.sessions();
        if s.len() >= lim.max_sessions {
            shared.close();
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_sessions",
                "session limit reached",
            ));
        }
        s.insert(id.clone(), shared);
    }
    st.inner.metrics.sessions_created.fetch_add(1, Relaxed);
    let mut resp = (StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/sessions/{id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

async fn list_sessions(State(st): State<AppState>) -> Response {
    let list: Vec<_> = st.sessions().values().map(|s| s.info()).collect();
    Json(serde_json::json!({ "sessions": list })).into_response()
}

async fn get_session(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let r = st.get(&id).map(|s| Json(s.info()));
    counted(&st, r)
}

async fn delete_session(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let removed = st.sessions().remove(&id);
    // Closing the command channel ends the session thread; it closes its viewers and drops its
    // video handle, which frees the video state (renderer, encoders) in the pool.
    let r = removed
        .map(|s| {
            s.close();
            StatusCode::NO_CONTENT
        })
        .ok_or_else(|| ApiError::no_session(&id));
    counted(&st, r)
}

// ---------------------------------------------------------------- WHEP

async fn whep_offer(
    State(st): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let s = st.get(&id)?;
        let ct = content_type(&h);
        if ct != "application/sdp" {
            return Err(ApiError::unsupported_media_type(&ct, "application/sdp"));
        }
        let bytes = read_body(&st, &h, body).await?;
        let offer = std::str::from_utf8(&bytes)
            .map_err(|_| ApiError::bad_request("bad_sdp", "SDP offer is not UTF-8"))?;
        if offer.trim().is_empty() {
            return Err(ApiError::bad_request("bad_sdp", "empty SDP offer"));
        }
        let lim = st.inner.cfg.limits.max_viewers_per_session;
        if s.viewers.load(Relaxed) >= lim {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_viewers",
                format!("session '{id}' already has {lim} viewers"),
            ));
        }
        let (viewer, answer) = whep::create_viewer(
            &s,
            offer,
            st.inner.rtc_bind,
            st.inner.rtc_advertise,
            st.inner.metrics.clone(),
        )
        .await?;
        let mut resp = (StatusCode::CREATED, answer).into_response();
        let hd = resp.headers_mut();
        hd.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/sdp"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("/v1/sessions/{id}/whep/{viewer}")) {
            hd.insert(header::LOCATION, v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("\"{viewer}\"")) {
            hd.insert(header::ETAG, v);
        }
        Ok(resp)
    }
    .await;
    counted(&st, r)
}

async fn whep_delete(
    State(st): State<AppState>,
    Path((id, viewer)): Path<(String, String)>,
) -> Response {
    let r = async {
        let s = st.get(&id)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        s.send(session::Cmd::ClosePeer {
            id: viewer.clone(),
            reply: tx,
        });
        if rx.await.unwrap_or(false) {
            Ok(StatusCode::OK)
        } else {
            Err(ApiError::not_found(format!(
                "session '{id}' has no viewer '{viewer}'"
            )))
        }
    }
    .await;
    counted(&st, r)
}

async fn whep_patch() -> Response {
    // Trickle ICE / ICE restart are not supported: the server's host candidate is in the answer
    // and the viewer's address is learnt from its connectivity checks (RFC 9725 section 4.3.1).
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "trickle_not_supported",
        "trickle ICE (PATCH) is not supported; send a complete offer",
    )
    .into_response()
}

// ---------------------------------------------------------------- speech and control

async fn speak(
    State(st): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let s = st.get(&id)?;
        let ct = content_type(&h);
        if ct == "application/json" {
            #[derive(Deserialize)]
            struct Text {
                text: String,
            }
            let bytes = read_body(&st, &h, body).await?;
            let t: Text = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::bad_request("bad_json", format!("expected {{\"text\": \"...\"}}: {e}")))?;
            let text = t.text.trim().to_string();
            if text.is_empty() {
                return Err(ApiError::bad_request("empty_text", "text is empty"));
            }
            let Some(tts) = st.inner.cfg.tts.clone() else {
                return Err(ApiError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    "no_speech_engine",
                    "this server has no text-to-speech engine configured (start it with --tts or install espeak-ng): POST an audio file (audio/wav, audio/mpeg, audio/flac, audio/ogg) instead",
                ));
            };
            let n = text.chars().count();
            if n > tts::MAX_TEXT_CHARS {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "text_too_long",
                    format!("the text has {n} characters; at most {} per request", tts::MAX_TEXT_CHARS),
                ));
            }
            let said = text.clone();
            let chunk = tokio::task::spawn_blocking(move || {
                let audio = tts.synthesize(&said).map_err(|e| {
                    ApiError::new(StatusCode::BAD_GATEWAY, "tts_failed", e.to_string())
                })?;
                facecast_audio::decode_bytes(&audio, None).map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "tts_failed",
                        format!("the speech engine '{}' wrote audio that cannot be decoded: {e}", tts.program),
                    )
                })
            })
            .await
            .map_err(|e| ApiError::internal(format!("speech task failed: {e}")))??;
            if chunk.frames() == 0 {
                return Err(ApiError::new(StatusCode::BAD_GATEWAY, "tts_failed", "the speech engine returned no samples"));
            }
            let ok = s
                .ask(|reply| session::Cmd::Speak { chunk, text: Some(text), reply })
                .await?;
            return Ok((StatusCode::ACCEPTED, Json(ok)));
        }
        let hint = match ct.as_str() {
            "audio/wav" | "audio/wave" | "audio/x-wav" | "audio/vnd.wave" => Some("wav"),
            "audio/mpeg" | "audio/mp3" => Some("mp3"),
            "audio/flac" | "audio/x-flac" => Some("flac"),
            "audio/ogg" | "application/ogg" | "audio/opus" => Some("ogg"),
            "application/octet-stream" | "audio/*" => None,
            other => {
                return Err(ApiError::unsupported_media_type(
                    other,
                    "an audio file (audio/wav, audio/mpeg, audio/flac, audio/ogg) or application/json {\"text\": ...}",
                ))
            }
        };
        let bytes = read_body(&st, &h, body).await?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request("empty_body", "the request body is empty: send an audio file"));
        }
        let chunk = tokio::task::spawn_blocking(move || facecast_audio::decode_bytes(&bytes, hint))
            .await
            .map_err(|e| ApiError::internal(format!("decoder task failed: {e}")))?
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_audio", format!("cannot decode the audio: {e}")))?;
        if chunk.frames() == 0 {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_audio", "the audio file holds no samples"));
        }
        let ok = s
            .ask(|reply| session::Cmd::Speak { chunk, text: None, reply })
            .await?;
        Ok((StatusCode::ACCEPTED, Json(ok)))
    }
    .await;
    counted(&st, r)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmotionReq {
    emotion: String,
    intensity: Option<f32>,
}

async fn emotion(
    State(st): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let s = st.get(&id)?;
        let req: EmotionReq = read_json(&st, &h, body, false).await?;
        let e = req
            .emotion
            .parse::<Emotion>()
            .map_err(|m| ApiError::invalid("emotion", m))?;
        let intensity = req.intensity.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&intensity) || intensity.is_nan() {
            return Err(ApiError::invalid(
                "intensity",
                format!("{intensity} is outside 0..=1"),
            ));
        }
        s.send(session::Cmd::Emotion {
            emotion: e,
            intensity,
        });
        Ok(Json(
            serde_json::json!({ "emotion": e.name(), "intensity": intensity }),
        ))
    }
    .await;
    counted(&st, r)
}

async fn interrupt(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let r = st.get(&id).map(|s| {
        let queued = s.queued_ms.load(Relaxed);
        s.send(session::Cmd::Interrupt);
        Json(serde_json::json!({ "interrupted": true, "dropped_ms": queued }))
    });
    counted(&st, r)
}

async fn websocket(State(st): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let s = match st.get(&id) {
        Ok(s) => s,
        Err(e) => return counted::<Response>(&st, Err(e)),
    };
    let (mut parts, _) = req.into_parts();
    match WebSocketUpgrade::from_request_parts(&mut parts, &st).await {
        Ok(up) => {
            let m = st.inner.metrics.clone();
            up.max_message_size(1 << 20)
                .on_upgrade(move |sock| ws::serve_socket(sock, s, m))
        }
        Err(rej) => counted::<Response>(
            &st,
            Err(ApiError::bad_request("not_a_websocket", rej.body_text())),
        ),
    }
}

async fn list_avatars(State(st): State<AppState>) -> Response {
    let list: Vec<_> = st
        .inner
        .avatars
        .iter()
        .map(|(k, a)| serde_json::json!({ "name": k, "model": a.name, "channels": a.channels.len() }))
        .collect();
    Json(serde_json::json!({ "avatars": list })).into_response()
}

// ---------------------------------------------------------------- ops

async fn healthz(State(st): State<AppState>) -> Response {
    Json(serde_json::json!({ "status": "ok", "sessions": st.session_count(), "version": env!("CARGO_PKG_VERSION") })).into_response()
}

async fn metrics_text(State(st): State<AppState>) -> Response {
    let (mut viewers, mut ws) = (0, 0);
    let n = {
        let s = st.sessions();
        for x in s.values() {
            viewers += x.viewers.load(Relaxed);
            ws += x.ws_clients.load(Relaxed);
        }
        s.len()
    };
    let mut body = st.inner.metrics.render(n, viewers, ws);
    let pool = st.video().clone();
    let (workers, queued) = pool.map_or((st.inner.cfg.video_threads, 0), |p| {
        (p.workers(), p.queued())
    });
    metrics::render_video_pool(&mut body, workers, queued);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn openapi_doc() -> Response {
    Json(openapi::document()).into_response()
}

// ---------------------------------------------------------------- static web client

const WEB: [(&str, &str, &str); 4] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../../web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/app.js"),
    ),
    (
        "facecast-client.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/facecast-client.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/style.css"),
    ),
];

async fn web_file(State(st): State<AppState>, file: Option<Path<String>>) -> Response {
    let name = file.map(|Path(f)| f).unwrap_or_else(|| "index.html".into());
    let Some((_, ctype, builtin)) = WEB.iter().find(|(n, _, _)| *n == name) else {
        return ApiError::not_found(format!("no such file '{name}'")).into_response();
    };
    let body = match &st.inner.cfg.web_dir {
        Some(dir) => match tokio::fs::read_to_string(dir.join(&name)).await {
            Ok(s) => s,
            Err(_) => builtin.to_string(),
        },
        None => builtin.to_string(),
    };
    (
        [
            (header::CONTENT_TYPE, *ctype),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
