//! Dump model input features for training: `featdump LIST.txt OUTDIR`.
//! LIST holds one WAV path per line, optionally followed by a space and a filterbank warp factor
//! (then the output is OUTDIR/<stem>_w.f32); writes OUTDIR/<stem>.f32 (little-endian f32, frames x FEAT_DIM).
use facecast_lipsync::features::{features_16k_warped, FEAT_DIM, RATE};
use std::io::Write;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: featdump LIST.txt OUTDIR");
        std::process::exit(2);
    }
    let list = std::fs::read_to_string(&args[1])?;
    let out = Path::new(&args[2]);
    std::fs::create_dir_all(out)?;
    eprintln!("feature dim {FEAT_DIM}");
    for line in list.lines().filter(|l| !l.trim().is_empty()) {
        let mut it = line.split_whitespace();
        let p = Path::new(it.next().unwrap_or(""));
        let warp: Option<f32> = it.next().and_then(|w| w.parse().ok());
        let a = facecast_audio::decode_file(p)?;
        let mono = facecast_audio::to_mono(&a);
        let x = facecast_audio::resample(&mono, a.rate, RATE)?;
        let f = features_16k_warped(&x, warp.unwrap_or(1.0));
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("x");
        let name = if warp.is_some() {
            format!("{stem}_w.f32")
        } else {
            format!("{stem}.f32")
        };
        let mut w = std::io::BufWriter::new(std::fs::File::create(out.join(name))?);
        for v in f {
            w.write_all(&v.to_le_bytes())?;
        }
    }
    Ok(())
}
