//! End-to-end tests of the `facecast` binary: real files in, real files out, checked with real
//! decoders (ffmpeg/ffprobe) where video is involved.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn exe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_facecast"))
}

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
}

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-tests");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run facecast")
}

fn ok(cmd: &mut Command) -> Output {
    let o = run(cmd);
    assert!(
        o.status.success(),
        "command failed: {:?}\nstderr: {}",
        cmd,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The failure contract: non-zero exit, exactly one line on stderr naming `needle`.
fn fails_with_one_line(cmd: &mut Command, needle: &str) -> String {
    let o = run(cmd);
    assert!(!o.status.success(), "expected failure: {cmd:?}");
    let err = String::from_utf8_lossy(&o.stderr).trim_end().to_string();
    assert_eq!(err.lines().count(), 1, "expected one line, got: {err}");
    assert!(err.contains(needle), "error should name {needle}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn all_models() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![shared("assets/models")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("glb") | Some("gltf") | Some("vrm")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn inspect_json_on_every_shared_model() {
    let models = all_models();
    assert!(models.len() >= 12, "shared models missing: {models:?}");
    for m in models {
        let o = ok(exe().arg("inspect").arg(&m).arg("--json"));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{}: inspect --json is not JSON: {e}", m.display()));
        for key in [
            "vertices",
            "triangles",
            "morph_targets",
            "arkit_mapped",
            "visemes_mapped",
            "warnings",
        ] {
            assert!(v.get(key).is_some(), "{}: key {key} missing", m.display());
        }
        assert!(v["vertices"].as_u64().unwrap() > 0, "{}", m.display());
        assert!(v["morph_targets"].is_array() && v["warnings"].is_array());
        // The human form works too.
        let o = ok(exe().arg("inspect").arg(&m));
        assert!(!o.stdout.is_empty());
    }
}

#[test]
fn inspect_reports_rig_coverage() {
    let o = ok(exe()
        .args(["inspect", "--json"])
        .arg(shared("assets/models/facecap/facecap_plain.glb")));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["arkit_mapped"], 52);
    assert_eq!(v["morph_targets"].as_array().unwrap().len(), 52);
    let o = ok(exe().args(["inspect", "--json"]).arg(shared(
        "assets/models/valid/VALID_Hispanic_F_2_Busi_plain.glb",
    )));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["visemes_mapped"].as_u64().unwrap() >= 12,
        "VALID visemes: {}",
        v["visemes_mapped"]
    );
}

#[test]
fn bad_avatar_files_fail_with_one_line() {
    let missing = tmp("does-not-exist.glb");
    fails_with_one_line(exe().arg("inspect").arg(&missing), "does-not-exist.glb");

    let junk = tmp("junk.glb");
    std::fs::write(&junk, b"this is not a glTF file at all").unwrap();
    fails_with_one_line(exe().arg("inspect").arg(&junk), "junk.glb");

    // A real GLB cut in half.
    let bytes = std::fs::read(shared("assets/models/khronos/Fox/Fox.glb")).unwrap();
    let cut = tmp("cut.glb");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    fails_with_one_line(exe().arg("inspect").arg(&cut), "cut.glb");
    fails_with_one_line(
        exe()
            .arg("snapshot")
            .arg("--avatar")
            .arg(&cut)
            .arg("-o")
            .arg(tmp("x.png")),
        "cut.glb",
    );

    // Malformed JSON inside a .gltf.
    let bad = tmp("bad.gltf");
    std::fs::write(
        &bad,
        b"{\"asset\": {\"version\": \"2.0\"}, \"meshes\": [ {\"primitives\": 7} ]",
    )
    .unwrap();
    fails_with_one_line(exe().arg("inspect").arg(&bad), "bad.gltf");
}

fn read_png_luma(p: &Path) -> (u32, u32, Vec<f32>) {
    let img = image::open(p).unwrap().to_rgba8();
    let (w, h) = img.dimensions();
    let l = img
        .pixels()
        .map(|px| 0.299 * px[0] as f32 + 0.587 * px[1] as f32 + 0.114 * px[2] as f32)
        .collect();
    (w, h, l)
}

#[test]
fn snapshot_open_and_closed_mouth_differ() {
    let closed = tmp("snap_closed.png");
    let open = tmp("snap_open.png");
    ok(exe()
        .args(["snapshot", "--size", "256x256", "-o"])
        .arg(&closed));
    ok(exe()
        .args(["snapshot", "--size", "256x256", "--set", "jawOpen=1", "-o"])
        .arg(&open));
    let (w, h, a) = read_png_luma(&closed);
    let (_, _, b) = read_png_luma(&open);
    assert_eq!((w, h), (256, 256));
    let changed: Vec<usize> = (0..a.len())
        .filter(|&i| (a[i] - b[i]).abs() > 24.0)
        .collect();
    assert!(
        changed.len() > 150,
        "jawOpen=1 should visibly open the mouth ({} px changed)",
        changed.len()
    );
    // The change is in the lower-middle part of the face, not all over the picture.
    let cy = changed
        .iter()
        .map(|&i| (i / w as usize) as f32)
        .sum::<f32>()
        / changed.len() as f32;
    let cx = changed
        .iter()
        .map(|&i| (i % w as usize) as f32)
        .sum::<f32>()
        / changed.len() as f32;
    assert!((cx - 128.0).abs() < 40.0, "mouth centre x {cx}");
    assert!(cy > 80.0 && cy < 230.0, "mouth centre y {cy}");
    // Unknown names are rejected clearly.
    fails_with_one_line(
        exe()
            .args(["snapshot", "--set", "noSuchShape=1", "-o"])
            .arg(tmp("n.png")),
        "noSuchShape",
    );
}

#[test]
fn snapshot_every_shared_model() {
    for m in all_models() {
        let out = tmp(&format!(
            "snap_{}.png",
            m.file_stem().unwrap().to_string_lossy()
        ));
        ok(exe()
            .args(["snapshot", "--size", "128x128", "--avatar"])
            .arg(&m)
            .arg("-o")
            .arg(&out));
        let (w, h, l) = read_png_luma(&out);
        assert_eq!((w, h), (128, 128));
        // Something was drawn over the background: the picture is not uniform.
        let mean = l.iter().sum::<f32>() / l.len() as f32;
        let var = l.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / l.len() as f32;
        assert!(var > 4.0, "{}: picture looks empty", m.display());
    }
}

/// Pixels of `p` that are green, red and yellow, and the rows of the yellow ones.
fn validation_colours(p: &Path) -> (usize, usize, Vec<u32>) {
    let img = image::open(p).unwrap().to_rgb8();
    let (mut green, mut red, mut yellow) = (0, 0, Vec::new());
    for (_, y, px) in img.enumerate_pixels() {
        let [r, g, b] = px.0.map(i32::from);
        if g > r + 8 && g > b + 15 {
            green += 1;
        }
        if r > g + 40 {
            red += 1;
        }
        if r > b + 50 && g > b + 30 {
            yellow.push(y);
        }
    }
    (green, red, yellow)
}

/// pixiv's VRM 1.0 conformance model for `isBinary` and `overrideBlink`: `happy` (binary,
/// blends blink) and `blink` move texture transforms only. Its window shows green check marks
/// when the expressions were applied by the rules and red crosses otherwise (e.g. happy at 0.7
/// not rounded to 1, or blink not held down by happy); two meters show each expression's
/// applied weight.
#[test]
fn snapshot_applies_vrm_expression_rules_and_texture_binds() {
    let model = shared("assets/models/vrm/VRMC_vrm_expressions_isBinary_Overrides.vrm");
    let snap = |name: &str, sets: &[&str]| {
        let out = tmp(name);
        let mut cmd = exe();
        cmd.args(["snapshot", "--size", "384x384", "--avatar"])
            .arg(&model)
            .arg("-o")
            .arg(&out);
        for s in sets {
            cmd.args(["--set", s]);
        }
        ok(&mut cmd);
        validation_colours(&out)
    };
    let (g0, r0, y0) = snap("vrm_rest.png", &[]);
    assert!(
        g0 > 20_000 && r0 == 0 && y0.is_empty(),
        "at rest: green {g0}, red {r0}, yellow {}",
        y0.len()
    );
    // happy 0.7 counts as 1 (binary) and blends blink fully away: the happy meter is full, the
    // blink meter empty, the window green.
    let (g1, r1, y1) = snap("vrm_happy.png", &["happy=0.7", "blink=1"]);
    assert!(g1 > 20_000 && r1 < 50, "happy+blink: green {g1}, red {r1}");
    assert!(
        y1.len() > 1500,
        "happy meter not full: {} yellow pixels",
        y1.len()
    );
    // happy 0.4 counts as 0: blink shows at 0.6 on the lower meter.
    let (g2, r2, y2) = snap("vrm_blink.png", &["happy=0.4", "blink=0.6"]);
    assert!(g2 > 20_000 && r2 < 50, "blink: green {g2}, red {r2}");
    let ratio = y2.len() as f32 / y1.len() as f32;
    assert!(
        (0.5..0.7).contains(&ratio),
        "blink meter at 0.6 shows {ratio:.2} of a full one"
    );
    let mean = |v: &[u32]| v.iter().sum::<u32>() as f32 / v.len() as f32;
    assert!(
        mean(&y2) > mean(&y1) + 10.0,
        "blink meter is below the happy meter"
    );
    eprintln!(
        "vrm expressions: rest green {g0}; happy+blink green {g1} red {r1} meter {} px; blink 0.6 meter {} px ({ratio:.2})",
        y1.len(),
        y2.len()
    );
    // Expression names the avatar lacks are rejected, naming its expressions.
    let msg = fails_with_one_line(
        exe()
            .args(["snapshot", "--set", "sad=1", "--avatar"])
            .arg(&model)
            .arg("-o")
            .arg(tmp("n.png")),
        "sad",
    );
    assert!(msg.contains("its expressions: blink, happy"), "{msg}");
}

/// `snapshot --time`: the MToon UV animation sample's textures move with time (pixiv's sample:
/// quads whose pictures scroll and turn), the same time draws the same picture, and a time that
/// is not a number of seconds is refused, naming the value.
#[test]
fn snapshot_time_moves_mtoon_uv_animation() {
    let model = shared("assets/models/vrm/VRMC_materials_mtoon_UV_Animation_Test.vrm");
    let snap = |name: &str, time: &str| {
        let out = tmp(name);
        ok(exe()
            .args(["snapshot", "--size", "256x256", "--time", time, "--avatar"])
            .arg(&model)
            .arg("-o")
            .arg(&out));
        image::open(&out).unwrap().to_rgba8().into_raw()
    };
    let (a, b, c) = (
        snap("uv_t0.png", "0"),
        snap("uv_t0b.png", "0.0"),
        snap("uv_t1.png", "0.3"),
    );
    assert!(a == b, "the same time drew different pictures");
    let moved = a
        .chunks(4)
        .zip(c.chunks(4))
        .filter(|(p, q)| (0..3).any(|k| (p[k] as i32 - q[k] as i32).abs() > 64))
        .count();
    assert!(moved > 500, "0.3 s later only {moved} px changed");
    eprintln!("uv animation: {moved} px changed after 0.3 s");
    let o = run(exe()
        .args(["snapshot", "--time=-1", "--avatar"])
        .arg(&model)
        .arg("-o")
        .arg(tmp("uv_bad.png")));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("'-1' is not a time in seconds"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// lipsync

#[test]
fn lipsync_formats() {
    let wav = shared("assets/audio/cmu_goforward.wav");
    let o = ok(exe().arg("lipsync").arg(&wav));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cues = v["mouthCues"].as_array().unwrap();
    assert!(cues.len() > 5);
    assert!(v["metadata"]["duration"].as_f64().unwrap() > 1.0);
    for c in cues {
        let s = c["value"].as_str().unwrap();
        assert!("ABCDEFGHX".contains(s) && s.len() == 1, "bad shape {s}");
        assert!(c["end"].as_f64().unwrap() > c["start"].as_f64().unwrap());
    }
    assert!(
        cues.iter().any(|c| c["value"] == "A"),
        "no closed mouth in 'go forward ten meters'?"
    );

    let o = ok(exe().arg("lipsync").arg(&wav).args(["-f", "tsv"]));
    let tsv = String::from_utf8(o.stdout).unwrap();
    assert!(tsv.lines().all(|l| l.split('\t').count() == 2), "{tsv}");

    let o = ok(exe().arg("lipsync").arg(&wav).args(["-f", "xml"]));
    let xml = String::from_utf8(o.stdout).unwrap();
    assert!(xml.contains("<mouthCues>") && xml.contains("<mouthCue "));

    let out = tmp("frames.json");
    ok(exe()
        .arg("lipsync")
        .arg(&wav)
        .args(["-f", "frames", "-o"])
        .arg(&out));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let frames = v["frames"].as_array().unwrap();
    let dt = frames[1]["t"].as_f64().unwrap() - frames[0]["t"].as_f64().unwrap();
    assert!((dt - 0.01).abs() < 1e-6, "frames must be 100 Hz");
    assert_eq!(frames[0]["visemes"].as_object().unwrap().len(), 15);

    // Text-assisted mode runs too.
    ok(exe()
        .arg("lipsync")
        .arg(&wav)
        .args(["--text", "Go forward ten meters."]));
}

#[test]
fn lipsync_bad_input() {
    let junk = tmp("junk.wav");
    std::fs::write(&junk, b"RIFF\x10\x00\x00\x00WAVEjunkjunk").unwrap();
    fails_with_one_line(exe().arg("lipsync").arg(&junk), "junk.wav");
    let empty = tmp("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    fails_with_one_line(exe().arg("lipsync").arg(&empty), "empty.wav");
    let text = tmp("notes.txt");
    std::fs::write(&text, "hello, this is text").unwrap();
    fails_with_one_line(exe().arg("lipsync").arg(&text), "notes.txt");
}

// ---------------------------------------------------------------------------------------------
// render

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ffprobe(p: &Path) -> serde_json::Value {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-count_frames",
            "-of",
            "json",
        ])
        .arg(p)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ffprobe failed on {}: {}",
        p.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn write_wav(path: &Path, rate: u32, samples: &[i16]) {
    let mut b = Vec::new();
    let data_len = (samples.len() * 2) as u32;
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        b.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, b).unwrap();
}

/// 16-bit mono PCM of a WAV file (only what these tests write or the shared corpus holds).
fn read_wav_i16(path: &Path) -> (u32, Vec<i16>) {
    let b = std::fs::read(path).unwrap();
    let rate = u32::from_le_bytes(b[24..28].try_into().unwrap());
    let mut i = 12;
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().unwrap()) as usize;
        if id == b"data" {
            let d = &b[i + 8..(i + 8 + len).min(b.len())];
            return (
                rate,
                d.chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            );
        }
        i += 8 + len + (len & 1);
    }
    panic!("no data chunk in {}", path.display());
}

#[test]
fn render_mp4_and_webm_probe_clean() {
    if !have("ffprobe") {
        eprintln!("SKIP: ffprobe not installed");
        return;
    }
    let wav = shared("assets/audio/cmu_goforward.wav");
    for (ext, vcodec, fps) in [("mp4", "h264", 25u32), ("webm", "vp8", 30)] {
        let out = tmp(&format!("render.{ext}"));
        ok(exe()
            .args(["render", "--audio"])
            .arg(&wav)
            .args(["--size", "192x192", "--fps", &fps.to_string(), "-o"])
            .arg(&out));
        let v = ffprobe(&out);
        let streams = v["streams"].as_array().unwrap();
        let video: Vec<_> = streams
            .iter()
            .filter(|s| s["codec_type"] == "video")
            .collect();
        let audio: Vec<_> = streams
            .iter()
            .filter(|s| s["codec_type"] == "audio")
            .collect();
        assert_eq!(
            (video.len(), audio.len()),
            (1, 1),
            "{ext}: one video and one audio stream"
        );
        assert_eq!(video[0]["codec_name"], vcodec);
        assert_eq!(audio[0]["codec_name"], "opus");
        assert_eq!(video[0]["width"], 192);
        let rate = video[0]["r_frame_rate"].as_str().unwrap();
        assert_eq!(rate, format!("{fps}/1"), "{ext}: frame rate");
        // Video duration equals audio duration within one frame.
        let (r, pcm) = read_wav_i16(&wav);
        let audio_dur = pcm.len() as f64 / r as f64;
        let frames: f64 = video[0]["nb_read_frames"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let video_dur = frames / fps as f64;
        assert!(
            (video_dur - audio_dur).abs() <= 1.0 / fps as f64 + 1e-6,
            "{ext}: video {video_dur:.3}s vs audio {audio_dur:.3}s"
        );
        let a_dur: f64 = audio[0]["duration"]
            .as_str()
            .map(|d| d.parse().unwrap())
            .unwrap_or_else(|| v["format"]["duration"].as_str().unwrap().parse().unwrap());
        assert!(
            (a_dur - audio_dur).abs() < 0.05,
            "{ext}: audio stream lasts {a_dur} s, input {audio_dur} s"
        );
    }
}

#[test]
fn render_bad_inputs_fail_with_one_line() {
    let wav = shared("assets/audio/cmu_goforward.wav");
    fails_with_one_line(
        exe()
            .args(["render", "--audio"])
            .arg(&wav)
            .arg("-o")
            .arg(tmp("x.avi")),
        "x.avi",
    );
    fails_with_one_line(
        exe()
            .args(["render", "--audio"])
            .arg(tmp("nope.wav"))
            .arg("-o")
            .arg(tmp("x.mp4")),
        "nope.wav",
    );
    fails_with_one_line(
        exe()
            .args(["render", "--emotion", "grumpy", "--audio"])
            .arg(&wav)
            .arg("-o")
            .arg(tmp("x.mp4")),
        "grumpy",
    );
}

/// Decode a video to 8-bit luma frames with ffmpeg.
fn decode_gray(p: &Path, w: usize, h: usize) -> Vec<Vec<u8>> {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(p)
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout.chunks_exact(w * h).map(|c| c.to_vec()).collect()
}

/// Lip sync in the file: mouth-region change per frame follows the audio envelope with a best lag
/// within ±1 frame of zero, and the mouth rests in silence.
#[test]
fn rendered_mouth_follows_the_audio() {
    if !have("ffmpeg") {
        eprintln!("SKIP: ffmpeg not installed");
        return;
    }
    const W: usize = 256;
    const FPS: usize = 25;
    // 1.2 s silence + speech + 1.2 s silence.
    let (rate, speech) = read_wav_i16(&shared("assets/audio/cmu_goforward.wav"));
    let pad = vec![0i16; rate as usize * 6 / 5];
    let pcm: Vec<i16> = pad.iter().chain(&speech).chain(&pad).copied().collect();
    let wav = tmp("padded.wav");
    write_wav(&wav, rate, &pcm);

    // Where the mouth is: pixels that change between jawOpen 0 and 1 at this size.
    let (c, o) = (tmp("mask_closed.png"), tmp("mask_open.png"));
    ok(exe().args(["snapshot", "--size", "256x256", "-o"]).arg(&c));
    ok(exe()
        .args(["snapshot", "--size", "256x256", "--set", "jawOpen=1", "-o"])
        .arg(&o));
    let (_, _, a) = read_png_luma(&c);
    let (_, _, b) = read_png_luma(&o);
    let mask: Vec<usize> = (0..a.len())
        .filter(|&i| (a[i] - b[i]).abs() > 16.0)
        .collect();
    assert!(mask.len() > 100, "mouth mask too small: {}", mask.len());

    let out = tmp("lipsync.mp4");
    ok(exe()
        .args([
            "render",
            "--head-motion",
            "0",
            "--size",
            "256x256",
            "--fps",
            "25",
            "--audio",
        ])
        .arg(&wav)
        .arg("-o")
        .arg(&out));
    let frames = decode_gray(&out, W, W);
    let n = frames.len();
    assert!((n as f64 - pcm.len() as f64 / rate as f64 * FPS as f64).abs() <= 1.0);
    // The settled rest face, once the encoder's first frames have converged.
    let rest = &frames[FPS * 4 / 5];
    let mouth: Vec<f64> = frames
        .iter()
        .map(|f| {
            mask.iter()
                .map(|&i| (f[i] as f64 - rest[i] as f64).abs())
                .sum::<f64>()
                / mask.len() as f64
        })
        .collect();
    let spf = rate as usize / FPS;
    let env: Vec<f64> = (0..n)
        .map(|k| {
            let s = &pcm[(k * spf).min(pcm.len())..((k + 1) * spf).min(pcm.len())];
            (s.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / s.len().max(1) as f64).sqrt()
        })
        .collect();
    let corr = |lag: i64| -> f64 {
        // positive lag: mouth later than audio
        let pairs: Vec<(f64, f64)> = (0..n as i64)
            .filter(|&k| k + lag >= 0 && k + lag < n as i64)
            .map(|k| (env[k as usize], mouth[(k + lag) as usize]))
            .collect();
        let m = pairs.len() as f64;
        let (ma, mb) = (
            pairs.iter().map(|p| p.0).sum::<f64>() / m,
            pairs.iter().map(|p| p.1).sum::<f64>() / m,
        );
        let cov: f64 = pairs.iter().map(|p| (p.0 - ma) * (p.1 - mb)).sum();
        let va: f64 = pairs.iter().map(|p| (p.0 - ma).powi(2)).sum();
        let vb: f64 = pairs.iter().map(|p| (p.1 - mb).powi(2)).sum();
        cov / (va * vb).sqrt().max(1e-9)
    };
    let lags: Vec<(i64, f64)> = (-4..=4).map(|l| (l, corr(l))).collect();
    let best = lags
        .iter()
        .cloned()
        .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
    eprintln!("mouth/audio correlation by lag (frames): {lags:?}");
    assert!(
        best.1 > 0.3,
        "mouth does not follow the audio (best r {:.2})",
        best.1
    );
    assert!(
        best.0.abs() <= 1,
        "mouth lags the audio by {} frames",
        best.0
    );

    // In the silent stretches (0.3 s from the start and from the speech), the mouth is at rest:
    // what remains is coding noise, far below the change speech makes.
    let speak_peak = mouth.iter().cloned().fold(0.0, f64::max);
    let quiet = FPS * 9 / 10; // 0.9 s of each 1.2 s pad
    for k in (FPS * 3 / 10..quiet).chain(n - quiet..n) {
        assert!(
            mouth[k] < 0.2 * speak_peak,
            "frame {k}: mouth moves in silence ({:.1} vs peak {:.1})",
            mouth[k],
            speak_peak
        );
    }
}

/// A 30 s render of silence: the avatar blinks at a natural rate and its head keeps moving
/// (idle life), and with `--head-motion 0` the head holds still.
#[test]
fn idle_render_blinks_and_moves() {
    if !have("ffmpeg") {
        eprintln!("SKIP: ffmpeg not installed");
        return;
    }
    const W: usize = 128;
    let wav = tmp("silence30.wav");
    write_wav(&wav, 16_000, &vec![0i16; 16_000 * 30]);
    // Where the eyes are: pixels that change when both eyes close.
    let (o, c) = (tmp("eyes_open.png"), tmp("eyes_closed.png"));
    ok(exe().args(["snapshot", "--size", "128x128", "-o"]).arg(&o));
    ok(exe()
        .args([
            "snapshot",
            "--size",
            "128x128",
            "--set",
            "eyeBlinkLeft=1",
            "--set",
            "eyeBlinkRight=1",
            "-o",
        ])
        .arg(&c));
    let (_, _, a) = read_png_luma(&o);
    let (_, _, b) = read_png_luma(&c);
    let eyes: Vec<usize> = (0..a.len())
        .filter(|&i| (a[i] - b[i]).abs() > 20.0)
        .collect();
    assert!(eyes.len() >= 6, "eye mask too small: {}", eyes.len());
    let closed_ref: Vec<f32> = eyes.iter().map(|&i| b[i]).collect();
    let open_ref: Vec<f32> = eyes.iter().map(|&i| a[i]).collect();

    let out = tmp("idle.mp4");
    ok(exe()
        .args([
            "render",
            "--head-motion",
            "0",
            "--size",
            "128x128",
            "--fps",
            "25",
            "--seed",
            "7",
            "--audio",
        ])
        .arg(&wav)
        .arg("-o")
        .arg(&out));
    let frames = decode_gray(&out, W, W);
    assert_eq!(frames.len(), 750);
    // A frame is "closed" when its eye pixels are nearer the closed snapshot than the open one.
    let closed: Vec<bool> = frames
        .iter()
        .map(|f| {
            let dc: f32 = eyes
                .iter()
                .zip(&closed_ref)
                .map(|(&i, r)| (f[i] as f32 - r).abs())
                .sum();
            let dopen: f32 = eyes
                .iter()
                .zip(&open_ref)
                .map(|(&i, r)| (f[i] as f32 - r).abs())
                .sum();
            dc < dopen
        })
        .collect();
    let blinks = (1..closed.len())
        .filter(|&k| closed[k] && !closed[k - 1])
        .count();
    let longest = closed.split(|c| !c).map(<[bool]>::len).max().unwrap_or(0);
    eprintln!("30 s idle: {blinks} blinks, longest closure {longest} frames");
    assert!(
        (4..=16).contains(&blinks),
        "{blinks} blinks in 30 s (natural: about 8-30 a minute)"
    );
    assert!(
        longest <= 8,
        "eyes stayed closed {longest} frames; a blink lasts ~150 ms"
    );
    // With --head-motion 0 the head holds still: away from the eyes (lids and gaze), at most a
    // few pixels change between frames (coding noise).
    let near_eyes: Vec<bool> = (0..W * W)
        .map(|i| {
            let (x, y) = ((i % W) as i64, (i / W) as i64);
            eyes.iter()
                .any(|&e| ((e % W) as i64 - x).abs() <= 4 && ((e / W) as i64 - y).abs() <= 4)
        })
        .collect();
    let moving = frames
        .windows(2)
        .filter(|p| {
            (0..W * W)
                .filter(|&i| !near_eyes[i] && (p[0][i] as i32 - p[1][i] as i32).abs() > 12)
                .count()
                > W * W / 200
        })
        .count();
    assert!(
        moving < 10,
        "head moved in {moving} frames although --head-motion 0"
    );

    // Default head motion: the head is never frozen for long.
    let out = tmp("idle_moving.mp4");
    ok(exe()
        .args([
            "render", "--size", "128x128", "--fps", "25", "--seed", "7", "--audio",
        ])
        .arg(&wav)
        .arg("-o")
        .arg(&out));
    let frames = decode_gray(&out, W, W);
    let first = &frames[0];
    let moved = frames
        .iter()
        .filter(|f| {
            let d: u64 = f
                .iter()
                .zip(first)
                .map(|(&x, &y)| (x as i64 - y as i64).unsigned_abs())
                .sum();
            d as f64 / (W * W) as f64 > 0.5
        })
        .count();
    assert!(
        moved > 500,
        "head looks frozen: only {moved}/750 frames differ from the first"
    );
}

#[test]
fn bench_render_prints_a_row_per_size_with_budget() {
    // The built-in avatar only (`--avatar` given), a few frames: the table's shape and values,
    // not the speed.
    let builtin =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../avatar/assets/facecast_default.glb");
    let o = ok(exe()
        .args(["bench", "--what", "render", "--frames", "4", "--avatar"])
        .arg(&builtin));
    let out = String::from_utf8_lossy(&o.stdout);
    let header = out
        .lines()
        .find(|l| l.starts_with("avatar "))
        .unwrap_or_else(|| panic!("no header: {out}"));
    let cols: Vec<&str> = header
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cols,
        [
            "avatar", "size", "tris", "drawn", "mean ms", "p50 ms", "p95 ms", "live ms",
            "reused %", "i420 ms", "budget"
        ],
        "{out}"
    );
    let rows: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| l.starts_with("facecast_default"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    for (row, size) in rows.iter().zip(["512x512", "1280x720"]) {
        assert_eq!(row.len(), 11, "{row:?}");
        assert_eq!(row[1], size);
        let n = |i: usize| row[i].parse::<f64>().unwrap_or_else(|_| panic!("{row:?}"));
        assert!(
            n(3) > 1000.0 && n(3) <= n(2),
            "drawn within the avatar's triangles: {row:?}"
        );
        let (mean, p50, p95) = (n(4), n(5), n(6));
        assert!(mean > 0.0 && p50 > 0.0 && p50 <= p95, "{row:?}");
        assert!((0.0..=100.0).contains(&n(8)), "{row:?}");
        let budget = if size == "512x512" { 3.0 } else { 8.0 };
        let want = if p50 <= budget {
            "met"
        } else if n(7).max(n(9)) <= budget {
            "live"
        } else {
            "over"
        };
        assert_eq!(row[10], want, "{row:?}");
    }
}

/// Runs facecast with its standard output's reader gone before anything is written (as in
/// `facecast inspect X | head -0`).
fn with_stdout_closed(args: &[&str]) -> Output {
    let mut child = spawn_piped(args);
    drop(child.stdout.take());
    child.wait_with_output().expect("wait for facecast")
}

/// Runs `facecast ARGS` with its standard output and error piped to this test.
fn spawn_piped(args: &[&str]) -> std::process::Child {
    exe()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run facecast")
}

/// `facecast inspect X | head` and the like: a reader that goes away ends the command quietly
/// and successfully (no "Broken pipe" line, no panic), while a real error still reports.
#[test]
fn closed_stdout_ends_quietly() {
    let model = shared("assets/models/facecap/facecap_plain.glb");
    let wav = shared("assets/audio/cmu_goforward.wav");
    let (model, wav) = (model.to_str().unwrap(), wav.to_str().unwrap());
    for args in [
        vec!["inspect", model],
        vec!["inspect", model, "--json"],
        vec!["lipsync", wav, "-f", "tsv"],
        vec!["bench", "--what", "lipsync"],
    ] {
        let o = with_stdout_closed(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success(),
            "{args:?}: {:?}, stderr: {err}",
            o.status
        );
        assert!(
            !err.contains("Broken pipe") && !err.contains("panicked") && !err.contains("error"),
            "{args:?}: stderr: {err}"
        );
    }
    let o = with_stdout_closed(&["inspect", "/nonexistent/avatar.glb"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "a missing file still fails");
    assert!(err.contains("/nonexistent/avatar.glb"), "stderr: {err}");
}

/// Runs `facecast ARGS` with the reader of its standard error gone before the first write.
fn spawn_stderr_closed(args: &[&str]) -> std::process::Child {
    let mut child = spawn_piped(args);
    drop(child.stderr.take());
    child
}

/// `facecast serve 2>&1 | head`, or a log pipe a supervisor closed: diagnostics nobody reads are
/// dropped, never a panic (exit status 101). An error still fails with status 1, and the
/// server, whose first act is a line on standard error, keeps serving.
#[test]
fn closed_stderr_never_panics() {
    let mut child = spawn_stderr_closed(&["inspect", "/nonexistent/avatar.glb"]);
    let status = child.wait().expect("wait for facecast");
    assert_eq!(
        status.code(),
        Some(1),
        "a missing file fails cleanly: {status:?}"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = spawn_stderr_closed(&["serve", "--addr", &addr, "--tts", "off"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let answer = loop {
        if let Some(status) = child.try_wait().expect("poll the server") {
            panic!("the server exited with its standard error closed: {status:?}");
        }
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            use std::io::{Read, Write};
            let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut resp = String::new();
            if s.write_all(req.as_bytes()).is_ok() && s.read_to_string(&mut resp).is_ok() {
                break resp;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server never answered on {addr}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let alive = child.try_wait().expect("poll the server").is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "healthz: {answer}");
    assert!(alive, "the server kept running");
}
