//! Fuzz the avatar loader: any bytes must load or fail with an error, never panic or hang.
//!
//! Run with `cargo fuzz run load_glb` from `fuzz/` (seed corpus: the shared test models, e.g.
//! `cargo fuzz run load_glb ../../shared/assets/models/facecap`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(avatar) = facecast_avatar::load_bytes(data, "fuzz.glb", None) {
        // exercise the report too
        let report = facecast_avatar::inspect(&avatar);
        let _ = report.to_string();
    }
});
