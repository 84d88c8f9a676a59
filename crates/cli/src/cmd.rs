//! Subcommand implementations: build the stage objects from parsed arguments and run them.

use crate::args::{self, Cli, Command};
use anyhow::{anyhow, bail, Context, Result};
use facecast_anim::{AnimConfig, Animator};
use facecast_core::expr::{resolve_face, MaterialValues};
use facecast_core::model::Avatar;
use facecast_core::{
    ArkitShape, AudioChunk, Emotion, FaceWeights, HeadPose, I420Frame, MediaTime, RgbaFrame,
    Viseme, VisemeFrame,
};
use facecast_render::{Background, RenderConfig, Renderer};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(a) => serve(a),
        Command::Render(a) => render(a),
        Command::Lipsync(a) => lipsync(a),
        Command::Inspect(a) => inspect(a),
        Command::Snapshot(a) => snapshot(a),
        Command::Bench(a) => crate::bench::run(a),
    }
}

/// Load an avatar file, or the built-in one.
pub fn load_avatar(path: Option<&Path>) -> Result<Arc<Avatar>> {
    match path {
        None => Ok(facecast_avatar::builtin()),
        Some(p) => Ok(Arc::new(facecast_avatar::load(p)?)),
    }
}

/// A background: an image file when the value names an existing file, else a colour spec.
pub fn parse_background(spec: &str) -> Result<Background> {
    let p = Path::new(spec);
    if p.is_file() {
        let img = image::open(p)
            .with_context(|| format!("{}: cannot read background image", p.display()))?
            .to_rgba8();
        let (width, height) = img.dimensions();
        return Ok(Background::Image(RgbaFrame {
            width,
            height,
            data: img.into_raw(),
        }));
    }
    spec.parse::<Background>()
        .map_err(|e| anyhow!("background '{spec}': {e}"))
}

/// `NAME[:INTENSITY]`.
pub fn parse_emotion(spec: &str) -> Result<(Emotion, f32)> {
    let (name, intensity) = match spec.split_once(':') {
        Some((n, i)) => {
            let v: f32 = i
                .trim()
                .parse()
                .map_err(|_| anyhow!("emotion '{spec}': intensity '{i}' is not a number"))?;
            if !(0.0..=1.0).contains(&v) {
                bail!("emotion '{spec}': intensity must be between 0 and 1");
            }
            (n, v)
        }
        None => (spec, 1.0),
    };
    let e: Emotion = name.parse().map_err(|e: String| anyhow!(e))?;
    Ok((e, intensity))
}

fn inspect(a: args::InspectArgs) -> Result<()> {
    let avatar = facecast_avatar::load(&a.file)?;
    let report = facecast_avatar::inspect(&avatar);
    let mut out = std::io::stdout().lock();
    let written = if a.json {
        // serde_json hands back the io::Error it met (a closed pipe stays one).
        serde_json::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        write!(out, "{report}")
    };
    written.map_err(crate::out::error)
}

/// What `--set` values make of an avatar: a weight per morph channel and the values of its
/// materials.
pub struct SetWeights {
    /// One weight per `avatar.channels` entry.
    pub channels: Vec<f32>,
    /// One entry per avatar material (VRM expressions' material binds).
    pub materials: Vec<MaterialValues>,
}

/// Apply `--set NAME=WEIGHT` values: the avatar's own morph channel names directly, canonical
/// ARKit names and Oculus visemes through the rig, and VRM expressions (by name, then preset)
/// with VRM's rules (`isBinary`, overrides of the blink, look and mouth groups, material binds).
pub fn channel_weights(avatar: &Avatar, sets: &[String]) -> Result<SetWeights> {
    let mut face = FaceWeights::default();
    let mut direct = Vec::new();
    let mut expr = vec![0.0f32; avatar.expressions.len()];
    for s in sets {
        let (name, w) = s
            .split_once('=')
            .ok_or_else(|| anyhow!("--set '{s}': expected NAME=WEIGHT, e.g. jawOpen=1"))?;
        let w: f32 = w
            .trim()
            .parse()
            .map_err(|_| anyhow!("--set '{s}': weight '{w}' is not a number"))?;
        let name = name.trim();
        if let Some(c) = avatar.channel(name) {
            direct.push((c as usize, w));
        } else if let Some(shape) = ArkitShape::from_name(name) {
            if !avatar.rig.has_arkit(shape.index()) {
                facecast_core::diag!(
                    "facecast: warning: {} has no morph for ARKit shape {name}; ignored",
                    avatar.name
                );
            }
            face.set(shape, w);
        } else if let Some(v) = Viseme::from_name(name) {
            face.visemes[v.index()] = w;
        } else if let Some(i) = avatar
            .expressions
            .iter()
            .position(|e| e.name == name)
            .or_else(|| {
                avatar
                    .expressions
                    .iter()
                    .position(|e| e.preset.as_deref() == Some(name))
            })
        {
            expr[i] = w;
        } else {
            let mut names: Vec<&str> = avatar.channels.iter().map(|c| c.name.as_str()).collect();
            names.truncate(12);
            let mut exprs: Vec<&str> = avatar.expressions.iter().map(|e| e.name.as_str()).collect();
            exprs.truncate(12);
            bail!(
                "--set '{s}': '{name}' is neither an ARKit shape, an Oculus viseme, a morph nor an expression of {} (its morphs include: {}; its expressions: {})",
                avatar.name,
                if names.is_empty() { "none".to_string() } else { names.join(", ") },
                if exprs.is_empty() { "none".to_string() } else { exprs.join(", ") }
            );
        }
    }
    // Expressions' overrides also hold down the canonical blinks, eye looks and visemes.
    let (mut channels, mut materials) = (Vec::new(), Vec::new());
    resolve_face(avatar, &face, &expr, &mut channels, &mut materials);
    for (c, w) in direct {
        channels[c] = w.clamp(0.0, 1.0);
    }
    Ok(SetWeights {
        channels,
        materials,
    })
}

fn parse_head(spec: &Option<String>) -> Result<HeadPose> {
    let mut pose = HeadPose::default();
    if let Some(s) = spec {
        let v: Vec<f32> = s
            .split(',')
            .map(|x| x.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                anyhow!("--head '{s}': expected three numbers YAW,PITCH,ROLL in degrees")
            })?;
        if v.len() != 3 {
            bail!("--head '{s}': expected three numbers YAW,PITCH,ROLL in degrees");
        }
        pose.head = [v[0].to_radians(), v[1].to_radians(), v[2].to_radians()];
    }
    Ok(pose)
}

fn snapshot(a: args::SnapshotArgs) -> Result<()> {
    let (width, height) = args::parse_size(&a.size).map_err(|e| anyhow!(e))?;
    let avatar = load_avatar(a.avatar.as_deref())?;
    let set = channel_weights(&avatar, &a.set)?;
    let pose = parse_head(&a.head)?;
    let cfg = RenderConfig {
        width,
        height,
        background: parse_background(&a.background)?,
        camera: None,
        lod_px: a.lod,
    };
    let mut r = Renderer::new(avatar, cfg)?;
    r.set_material_values(&set.materials);
    r.run_springs(a.time, &pose);
    let mut frame = RgbaFrame::new(width, height);
    r.render_rgba(&set.channels, &pose, &mut frame);
    write_png(&a.output, &frame)
}

pub fn write_png(path: &Path, frame: &RgbaFrame) -> Result<()> {
    image::save_buffer(
        path,
        &frame.data,
        frame.width,
        frame.height,
        image::ExtendedColorType::Rgba8,
    )
    .with_context(|| format!("{}: cannot write PNG", path.display()))
}

/// Decode an audio file; the error names the file.
pub fn decode_audio(path: &Path) -> Result<AudioChunk> {
    facecast_audio::decode_file(path).map_err(|e| {
        let msg = e.to_string();
        let name = path.display().to_string();
        if msg.contains(&name) {
            anyhow!(msg)
        } else {
            anyhow!("{name}: {msg}")
        }
    })
}

fn read_transcript(
    text: &Option<String>,
    dialog: &Option<std::path::PathBuf>,
) -> Result<Option<String>> {
    if let Some(t) = text {
        return Ok(Some(t.clone()));
    }
    if let Some(p) = dialog {
        let t = std::fs::read_to_string(p)
            .with_context(|| format!("{}: cannot read dialog file", p.display()))?;
        return Ok(Some(t));
    }
    Ok(None)
}

/// Visemes for a whole clip: text-assisted when a transcript is known, else audio only.
pub fn visemes_for(audio: &AudioChunk, text: Option<&str>) -> Result<Vec<VisemeFrame>> {
    match text {
        Some(t) if !t.trim().is_empty() => Ok(facecast_lipsync::analyze_with_text(audio, t)?),
        _ => Ok(facecast_lipsync::analyze(audio)),
    }
}

fn lipsync(a: args::LipsyncArgs) -> Result<()> {
    let audio = decode_audio(&a.audio)?;
    let text = read_transcript(&a.text, &a.dialog)?;
    let frames = visemes_for(&audio, text.as_deref())?;
    let sound_file = a.audio.display().to_string();
    let duration = audio.duration_secs();
    use facecast_lipsync::rhubarb;
    let cues = rhubarb::to_cues(&frames);
    let text = match a.format {
        args::LipsyncFormat::Json => rhubarb::write_json(&cues, &sound_file, duration),
        args::LipsyncFormat::Tsv => rhubarb::write_tsv(&cues),
        args::LipsyncFormat::Xml => rhubarb::write_xml(&cues, &sound_file, duration),
        args::LipsyncFormat::Frames => rhubarb::frames_json(&frames),
    };
    match &a.output {
        Some(p) => std::fs::write(p, text.as_bytes())
            .with_context(|| format!("{}: cannot write", p.display()))?,
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(crate::out::error)?,
    }
    Ok(())
}

fn render(a: args::RenderArgs) -> Result<()> {
    let (width, height) = match &a.size {
        Some(s) => args::parse_size(s).map_err(|e| anyhow!(e))?,
        None => a.preset.size(),
    };
    let ext = a
        .output
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext != "mp4" && ext != "webm" {
        bail!(
            "{}: output must end in .mp4 (H.264 + Opus) or .webm (VP8 + Opus)",
            a.output.display()
        );
    }
    let (emotion, intensity) = parse_emotion(&a.emotion)?;
    if !(0.0..=2.0).contains(&a.head_motion) {
        bail!("--head-motion {} is out of range (0..2)", a.head_motion);
    }
    let background = parse_background(&a.background)?;
    let audio = decode_audio(&a.audio)?;
    if audio.frames() == 0 {
        bail!("{}: the audio holds no samples", a.audio.display());
    }
    let avatar = load_avatar(a.avatar.as_deref())?;

    let frames = visemes_for(&audio, a.text.as_deref())?;
    let mut anim = Animator::new(
        &avatar.rig,
        AnimConfig {
            seed: a.seed,
            head_motion: a.head_motion,
            emotion,
            emotion_intensity: intensity,
        },
    );
    anim.push_visemes(&frames);

    // A session's renderer: VRM expressions (emotions, blink / mouth presets' material binds),
    // jaw bones and animated textures as in live sessions.
    let mut renderer = facecast_engine::FrameRenderer::for_avatar(
        avatar.clone(),
        RenderConfig {
            width,
            height,
            background,
            camera: None,
            lod_px: a.lod,
        },
    )?;
    let mut writer = facecast_encode::MediaWriter::create(&a.output, width, height, a.fps)?;
    let pcm48 = facecast_audio::resample(
        &facecast_audio::to_mono(&audio),
        audio.rate,
        facecast_core::OUTPUT_RATE,
    )?;
    writer.write_audio(&pcm48)?;

    let duration = pcm48.len() as f64 / 48_000.0;
    let n_frames = (duration * a.fps as f64).round().max(1.0) as u64;
    let bar = progress(n_frames);
    let (mut face, mut pose) = (FaceWeights::default(), HeadPose::default());
    let mut frame = I420Frame::new(width, height);
    for k in 0..n_frames {
        let t = k as f64 / a.fps as f64;
        anim.sample(t, &mut face, &mut pose);
        renderer.render(MediaTime::from_secs_f64(t), &face, &pose, &mut frame);
        writer.write_video(&frame)?;
        bar.inc(1);
    }
    writer.finish()?;
    bar.finish_and_clear();
    facecast_core::diag!(
        "facecast: wrote {} ({} frames, {width}x{height} @ {} fps, {:.2} s)",
        a.output.display(),
        n_frames,
        a.fps,
        duration
    );
    Ok(())
}

/// A progress bar on a terminal; hidden when stderr is piped.
pub fn progress(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} rendering [{bar:40}] {pos}/{len} frames ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

fn serve(a: args::ServeArgs) -> Result<()> {
    let addr: std::net::SocketAddr = a.addr.parse().map_err(|_| {
        anyhow!(
            "--addr '{}' is not HOST:PORT with an IP address (e.g. 127.0.0.1:8080)",
            a.addr
        )
    })?;
    let mut cfg = facecast_server::ServerConfig::new(addr);
    cfg.avatars = a.avatar.clone();
    if let Some(ip) = &a.public_ip {
        cfg.rtc_advertise_ip = Some(
            ip.parse()
                .map_err(|_| anyhow!("--public-ip '{ip}' is not an IP address"))?,
        );
    }
    cfg.limits.max_sessions = a.max_sessions;
    if let Some(n) = a.video_threads {
        cfg.video_threads = n as usize;
    }
    if let Some(px) = a.lod {
        cfg.lod_px = px;
    }
    if let Some(t) = &a.tts {
        cfg.tts = facecast_server::Tts::from_setting(t);
        if cfg.tts.is_none() && t.trim() == "auto" {
            facecast_core::diag!(
                "facecast: --tts auto: espeak-ng is not installed; text speak requests get 501"
            );
        }
    }
    match &cfg.tts {
        Some(t) => facecast_core::diag!(
            "facecast: speech engine for text: {} {}",
            t.program,
            t.args.join(" ")
        ),
        None => facecast_core::diag!(
            "facecast: no speech engine: text speak requests get 501 (see --tts)"
        ),
    }
    facecast_core::diag!(
        "facecast: {} video worker thread(s) shared by all sessions (see --video-threads)",
        cfg.video_threads
    );
    cfg.check()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(facecast_server::serve(cfg))?;
    Ok(())
}
