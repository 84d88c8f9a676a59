//! Run the analyzer over a corpus: `eval CORPUS OUTDIR [--text] [--seed N]`.
//! Writes OUTDIR/<voice>/<id>.json (Rhubarb mouthCues + frames) for every CORPUS/<voice>/<id>.wav,
//! streaming the audio in random chunk sizes (audio-only mode) or aligning the transcript (--text).
use facecast_lipsync::{rhubarb, Analyzer};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: eval CORPUS OUTDIR [--text]");
        std::process::exit(2);
    }
    let text_mode = args.iter().any(|a| a == "--text");
    let corpus = Path::new(&args[1]);
    let out = Path::new(&args[2]);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut n = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(corpus)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let mut wavs: Vec<_> = std::fs::read_dir(&d)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().map(|e| e == "wav").unwrap_or(false))
            .collect();
        wavs.sort();
        let voice = d
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("x")
            .to_string();
        std::fs::create_dir_all(out.join(&voice))?;
        for w in wavs {
            let audio = facecast_audio::decode_file(&w)?;
            let frames = if text_mode {
                let txt = std::fs::read_to_string(w.with_extension("txt"))?;
                facecast_lipsync::analyze_with_text(&audio, &txt.replace("||", " "))?
            } else {
                let mut a =
                    Analyzer::with_config(facecast_lipsync::decode::DecoderConfig::from_env());
                let mut frames = Vec::new();
                let ch = audio.channels.max(1) as usize;
                let mut pos = 0;
                let total = audio.frames();
                while pos < total {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let len = 1 + (seed % 3000) as usize;
                    let end = (pos + len).min(total);
                    let chunk = facecast_core::AudioChunk {
                        rate: audio.rate,
                        channels: audio.channels,
                        samples: audio.samples[pos * ch..end * ch].to_vec(),
                    };
                    a.push(&chunk);
                    while let Some(f) = a.pull() {
                        frames.push(f);
                    }
                    pos = end;
                }
                a.flush();
                while let Some(f) = a.pull() {
                    frames.push(f);
                }
                frames
            };
            let stem = w.file_stem().and_then(|s| s.to_str()).unwrap_or("x");
            let name = w.file_name().and_then(|s| s.to_str()).unwrap_or("");
            let js = rhubarb::combined_json(&frames, name, audio.duration_secs());
            std::fs::write(out.join(&voice).join(format!("{stem}.json")), js)?;
            n += 1;
        }
    }
    eprintln!("wrote {n} predictions to {}", out.display());
    Ok(())
}
