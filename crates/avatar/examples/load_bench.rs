//! Load-time benchmark: loads each file several times and prints wall-clock and CPU time.
//!
//! `cargo run --release -p facecast-avatar --example load_bench -- [--runs N] FILE...`
//! (defaults to the shared test models). CPU time (all threads) comes from
//! `CLOCK_PROCESS_CPUTIME_ID`, so it is meaningful even on a busy machine where wall time is
//! inflated.

use std::path::PathBuf;
use std::time::Instant;

/// CPU time of the process, all threads (`CLOCK_PROCESS_CPUTIME_ID`, exact to the nanosecond;
/// `/proc/self/stat` counts only in 10 ms ticks, coarse against a load of tens of ms).
fn cpu_seconds() -> Option<f64> {
    cpu_time::ProcessTime::try_now()
        .ok()
        .map(|t| t.as_duration().as_secs_f64())
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 5usize;
    if let Some(i) = args.iter().position(|a| a == "--runs") {
        runs = args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(5)
            .max(1);
        args.drain(i..(i + 2).min(args.len()));
    }
    let default_files = args.is_empty();
    let files: Vec<PathBuf> = if args.is_empty() {
        let m = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/assets/models"
        ));
        [
            "valid/VALID_Hispanic_F_2_Busi_plain.glb",
            "valid/VALID_Hispanic_F_2_Busi.glb",
            "facecap/facecap_plain.glb",
            "facecap/facecap.glb",
            "khronos/FlightHelmet/FlightHelmet.gltf",
        ]
        .iter()
        .map(|f| m.join(f))
        .collect()
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    println!(
        "{:<40} {:>10} {:>10} {:>12}",
        "file", "wall min", "wall med", "cpu / load"
    );
    for f in files {
        let mut walls = Vec::new();
        let cpu0 = cpu_seconds();
        for _ in 0..runs {
            let t = Instant::now();
            match facecast_avatar::load(&f) {
                Ok(a) => std::hint::black_box(a),
                Err(e) => {
                    println!("{e}");
                    break;
                }
            };
            walls.push(t.elapsed().as_secs_f64() * 1e3);
        }
        if walls.is_empty() {
            continue;
        }
        let cpu = cpu0
            .zip(cpu_seconds())
            .map(|(a, b)| (b - a) * 1e3 / walls.len() as f64);
        walls.sort_by(f64::total_cmp);
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{:<40} {:>8.1}ms {:>8.1}ms {:>10}",
            name,
            walls[0],
            walls[walls.len() / 2],
            cpu.map(|c| format!("{c:.0}ms"))
                .unwrap_or_else(|| "n/a".into())
        );
    }
    if default_files {
        meshopt_throughput(runs);
    }
}

/// Decode every EXT_meshopt_compression view of the VALID original and print the throughput.
fn meshopt_throughput(runs: usize) {
    use facecast_avatar::meshopt::{decode, Filter, Mode};
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/assets/models/valid/VALID_Hispanic_F_2_Busi.glb"
    );
    let Ok(bytes) = std::fs::read(p) else { return };
    let json_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let bin = &bytes[20 + json_len + 8..];
    let Ok(root) = serde_json::from_slice::<serde_json::Value>(&bytes[20..20 + json_len]) else {
        return;
    };
    let mut jobs = Vec::new();
    for v in root["bufferViews"].as_array().into_iter().flatten() {
        let Some(m) = v
            .get("extensions")
            .and_then(|e| e.get("EXT_meshopt_compression"))
        else {
            continue;
        };
        let g = |k: &str| m[k].as_u64().unwrap_or(0) as usize;
        let (Some(mode), Some(filter)) = (
            Mode::parse(m["mode"].as_str().unwrap_or("")),
            Filter::parse(m.get("filter").and_then(|f| f.as_str())),
        ) else {
            continue;
        };
        jobs.push((
            mode,
            filter,
            g("count"),
            g("byteStride"),
            &bin[g("byteOffset")..g("byteOffset") + g("byteLength")],
        ));
    }
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let mut out_bytes = 0usize;
    for _ in 0..runs {
        for &(mode, filter, count, stride, src) in &jobs {
            out_bytes += decode(mode, filter, count, stride, src)
                .map(|v| v.len())
                .unwrap_or(0);
        }
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu0
        .zip(cpu_seconds())
        .map(|(a, b)| b - a)
        .unwrap_or(wall)
        .max(1e-3);
    println!(
        "meshopt decode (VALID, {} views): {:.1} MB out per run, {:.0} MB/s per CPU second ({:.0} MB/s wall)",
        jobs.len(),
        out_bytes as f64 / runs as f64 / 1e6,
        out_bytes as f64 / cpu / 1e6,
        out_bytes as f64 / wall / 1e6
    );
}
