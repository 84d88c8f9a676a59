//! Writes facecast's default avatar GLB: `avatargen <out.glb>`
//! (default `crates/avatar/assets/facecast_default.glb`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "crates/avatar/assets/facecast_default.glb".to_string());
    for m in avatargen::self_check() {
        eprintln!("warning: {m}");
    }
    let bytes = avatargen::generate();
    if let Some(dir) = std::path::Path::new(&out).parent() {
        if !dir.as_os_str().is_empty() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                eprintln!("error: cannot create {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
    }
    match std::fs::write(&out, &bytes) {
        Ok(()) => {
            println!("wrote {out} ({} bytes)", bytes.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {out}: {e}");
            ExitCode::FAILURE
        }
    }
}
