//! Command-line parsing (kept apart from building objects, ripgrep-style).

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// facecast: speech audio in, a talking 3D avatar out (video file or live WebRTC).
#[derive(Parser, Debug)]
#[command(name = "facecast", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the HTTP/WebSocket API, WHEP streaming and the web demo.
    Serve(ServeArgs),
    /// Render a speech file to a talking-avatar video (MP4 or WebM).
    Render(RenderArgs),
    /// Turn speech audio into mouth shapes (Rhubarb-compatible JSON/TSV/XML, or 100 Hz frames).
    Lipsync(LipsyncArgs),
    /// Show what an avatar file offers: meshes, morphs, rig coverage, extensions, warnings.
    Inspect(InspectArgs),
    /// Render one frame of an avatar to a PNG.
    Snapshot(SnapshotArgs),
    /// Measure the speed of each stage (render, lip sync, encode) on this machine.
    Bench(BenchArgs),
}

#[derive(Parser, Debug)]
pub struct ServeArgs {
    /// Address to listen on. Binding to a non-loopback address requires FACECAST_API_KEY.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: String,
    /// Avatar file(s) (.glb/.gltf/.vrm) to offer, named by file stem; the built-in avatar is
    /// always available as "default".
    #[arg(long, value_name = "FILE")]
    pub avatar: Vec<PathBuf>,
    /// IP address advertised in ICE candidates (default: the bound address, or the host's
    /// primary address when bound to 0.0.0.0).
    #[arg(long, value_name = "IP")]
    pub public_ip: Option<String>,
    /// Maximum concurrent sessions.
    #[arg(long, default_value_t = 16)]
    pub max_sessions: usize,
    /// Speech engine for `{"text": ...}` speak requests: `auto` (espeak-ng when installed),
    /// `off` (text gets 501), or a command that reads text on stdin and writes WAV/MP3/FLAC/Ogg
    /// to stdout, e.g. "espeak-ng --stdin --stdout -v en-us". Default: FACECAST_TTS, else auto.
    #[arg(long, value_name = "auto|off|COMMAND")]
    pub tts: Option<String>,
    /// Video worker threads shared by all sessions: each renders, encodes and sends one
    /// session's frame at a time, always the frame due first (earliest deadline first). More
    /// threads than cores only adds switching; fewer leaves cores for audio and other work.
    /// Default: FACECAST_VIDEO_THREADS, else the number of cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub video_threads: Option<u16>,
    /// Level of detail for every session: simplify dense meshes where that moves the picture by
    /// at most PX pixels (0 draws every triangle, at more CPU per frame). Default: FACECAST_LOD,
    /// else 0.25.
    #[arg(long, value_name = "PX", value_parser = parse_lod)]
    pub lod: Option<f32>,
}

#[derive(Parser, Debug)]
pub struct RenderArgs {
    /// Speech audio: WAV (any PCM/float), MP3, FLAC or Ogg Vorbis, any sample rate.
    #[arg(long, value_name = "AUDIO")]
    pub audio: PathBuf,
    /// Avatar file (.glb/.gltf/.vrm); the built-in avatar when omitted.
    #[arg(long, value_name = "FILE")]
    pub avatar: Option<PathBuf>,
    /// The transcript of the audio, for more accurate text-assisted lip sync.
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// Emotion and optional intensity 0..1: neutral, happy, sad, angry, surprised, fearful,
    /// disgusted, concerned (e.g. `happy:0.6`).
    #[arg(long, value_name = "NAME[:INTENSITY]", default_value = "neutral")]
    pub emotion: String,
    /// Frame size, e.g. 640x480 (even numbers). Overrides --preset.
    #[arg(long, value_name = "WxH", conflicts_with = "preset")]
    pub size: Option<String>,
    /// Size preset.
    #[arg(long, value_enum, default_value_t = Preset::P512)]
    pub preset: Preset,
    /// Frames per second: 24, 25, 30 or 60.
    #[arg(long, default_value_t = 25, value_parser = parse_fps)]
    pub fps: u32,
    /// Background: a colour (`#1e2430`, `navy`), a gradient (`gradient:#top:#bottom`) or an image file.
    #[arg(
        long,
        value_name = "COLOR|FILE",
        default_value = "gradient:#3a4a63:#141a24"
    )]
    pub background: String,
    /// Random seed for blinks, gaze and head motion (same seed, same video).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Head motion amount: 0 = fixed head, 1 = natural.
    #[arg(long, default_value_t = 1.0)]
    pub head_motion: f32,
    /// Level of detail: simplify dense meshes where that moves the picture by at most PX pixels
    /// (0 draws every triangle).
    #[arg(long, value_name = "PX", default_value_t = facecast_render::DEFAULT_LOD_PX, value_parser = parse_lod)]
    pub lod: f32,
    /// Output file: .mp4 (H.264 + Opus) or .webm (VP8 + Opus).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum Preset {
    /// 512×512.
    #[value(name = "512")]
    P512,
    /// 1280×720.
    #[value(name = "720p")]
    P720,
    /// 1920×1080.
    #[value(name = "1080p")]
    P1080,
}

impl Preset {
    pub fn size(self) -> (u32, u32) {
        match self {
            Preset::P512 => (512, 512),
            Preset::P720 => (1280, 720),
            Preset::P1080 => (1920, 1080),
        }
    }
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum LipsyncFormat {
    /// Rhubarb JSON (`{"metadata", "mouthCues": [{"start","end","value"}]}`).
    Json,
    /// Rhubarb TSV (`start<TAB>shape` per line).
    Tsv,
    /// Rhubarb XML.
    Xml,
    /// 100 Hz frames with jaw_open and all 15 viseme weights.
    Frames,
}

#[derive(Parser, Debug)]
pub struct LipsyncArgs {
    /// Speech audio: WAV, MP3, FLAC or Ogg Vorbis, any sample rate.
    pub audio: PathBuf,
    /// The transcript, for text-assisted lip sync.
    #[arg(long, value_name = "TEXT", conflicts_with = "dialog")]
    pub text: Option<String>,
    /// A text file holding the transcript (Rhubarb's --dialog).
    #[arg(long, value_name = "FILE")]
    pub dialog: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'f', long = "format", value_enum, default_value_t = LipsyncFormat::Json)]
    pub format: LipsyncFormat,
    /// Output file (stdout when omitted).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}

#[derive(Parser, Debug)]
pub struct InspectArgs {
    /// Avatar file (.glb, .gltf or .vrm).
    pub file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Parser, Debug)]
pub struct SnapshotArgs {
    /// Avatar file; the built-in avatar when omitted.
    #[arg(long, value_name = "FILE")]
    pub avatar: Option<PathBuf>,
    /// Image size.
    #[arg(long, value_name = "WxH", default_value = "512x512")]
    pub size: String,
    /// Set a shape: one of the avatar's own morph names, a canonical ARKit name (`jawOpen=1`),
    /// an Oculus viseme (`aa=1`) or a VRM expression by name or preset (`happy=1`; with its
    /// material binds, `isBinary` and overrides). Repeatable.
    #[arg(long = "set", value_name = "NAME=WEIGHT")]
    pub set: Vec<String>,
    /// Head pose in degrees: yaw,pitch,roll.
    #[arg(long, value_name = "YAW,PITCH,ROLL")]
    pub head: Option<String>,
    /// Background: a colour (`#1e2430`, `navy`), a gradient (`gradient:#top:#bottom`) or an image file.
    #[arg(
        long,
        value_name = "COLOR|FILE",
        default_value = "gradient:#3a4a63:#141a24"
    )]
    pub background: String,
    /// Level of detail: simplify dense meshes where that moves the picture by at most PX pixels
    /// (0 draws every triangle).
    #[arg(long, value_name = "PX", default_value_t = facecast_render::DEFAULT_LOD_PX, value_parser = parse_lod)]
    pub lod: f32,
    /// Seconds into a session the picture shows: moves textures with UV animation (VRM MToon
    /// `uvAnimation*`) and lets VRM spring bones (hair, clothes) swing and settle that long with
    /// the head held at --head (0: at rest).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0, value_parser = parse_time)]
    pub time: f64,
    /// Output PNG.
    #[arg(short, long, value_name = "OUT.png")]
    pub output: PathBuf,
}

#[derive(Parser, Debug)]
pub struct BenchArgs {
    /// Which stages to measure.
    #[arg(long, value_enum, default_value_t = BenchWhat::All)]
    pub what: BenchWhat,
    /// Avatar files to render (default: the built-in avatar plus the shared sample avatars when
    /// present).
    #[arg(long, value_name = "FILE")]
    pub avatar: Vec<PathBuf>,
    /// Frames per measurement.
    #[arg(long, default_value_t = 100)]
    pub frames: u32,
    /// Level-of-detail error in pixels for the render measurement (0 draws every triangle).
    #[arg(long, value_name = "PX", default_value_t = facecast_render::DEFAULT_LOD_PX, value_parser = parse_lod)]
    pub lod: f32,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum BenchWhat {
    All,
    Render,
    Lipsync,
    Encode,
}

fn parse_fps(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(v @ (24 | 25 | 30 | 60)) => Ok(v),
        _ => Err(format!(
            "'{s}' is not a supported frame rate (use 24, 25, 30 or 60)"
        )),
    }
}

/// Parse `WxH` into even dimensions within 16..=4096.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("size '{s}' is not of the form WIDTHxHEIGHT (e.g. 512x512)"))?;
    let w: u32 = w
        .trim()
        .parse()
        .map_err(|_| format!("size '{s}': bad width"))?;
    let h: u32 = h
        .trim()
        .parse()
        .map_err(|_| format!("size '{s}': bad height"))?;
    if !(16..=4096).contains(&w) || !(16..=4096).contains(&h) {
        return Err(format!(
            "size '{s}': width and height must be between 16 and 4096"
        ));
    }
    if w % 2 == 1 || h % 2 == 1 {
        return Err(format!(
            "size '{s}': width and height must be even (video encoders need 4:2:0)"
        ));
    }
    Ok((w, h))
}

/// `--lod PX`: a number of pixels from 0 to 4.
fn parse_time(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0e7).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a time in seconds from 0 to 10000000")),
    }
}

fn parse_lod(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (0.0..=4.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a pixel error from 0 to 4")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `facecast serve EXTRA...` parsed.
    fn serve(extra: &[&str]) -> Result<ServeArgs, clap::Error> {
        let mut v = vec!["facecast", "serve"];
        v.extend_from_slice(extra);
        Cli::try_parse_from(v).map(|c| match c.command {
            Command::Serve(a) => a,
            _ => unreachable!("serve parses as serve"),
        })
    }

    #[test]
    fn video_threads() {
        let threads = |extra: &[&str]| serve(extra).map(|a| a.video_threads);
        assert_eq!(threads(&[]).unwrap(), None);
        assert_eq!(threads(&["--video-threads", "3"]).unwrap(), Some(3));
        assert!(threads(&["--video-threads", "0"]).is_err());
    }

    #[test]
    fn lod_takes_pixels_from_0_to_4() {
        let lod = |extra: &[&str]| serve(extra).map(|a| a.lod);
        assert_eq!(lod(&[]).unwrap(), None);
        assert_eq!(lod(&["--lod", "0"]).unwrap(), Some(0.0));
        assert_eq!(lod(&["--lod", "0.5"]).unwrap(), Some(0.5));
        for bad in ["-1", "5", "NaN", "x"] {
            assert!(lod(&["--lod", bad]).is_err(), "--lod {bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("640x480"), Ok((640, 480)));
        assert!(parse_size("641x480").unwrap_err().contains("even"));
        assert!(parse_size("big").is_err());
        assert!(parse_size("0x0").is_err());
    }
}
