//! Truncated and corrupted real files never panic: they load (possibly with warnings) or return
//! a one-line error naming the file.

use facecast_avatar::load_bytes;
use std::path::{Path, PathBuf};

fn model(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/assets/models"
    ))
    .join(rel)
}

/// Deterministic pseudo-random numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn check(bytes: &[u8], name: &str, base: Option<&Path>) -> bool {
    match load_bytes(bytes, name, base) {
        Ok(a) => {
            // whatever loaded must be internally consistent
            for m in &a.meshes {
                for p in &m.primitives {
                    assert!(
                        p.indices.iter().all(|&i| (i as usize) < p.positions.len()),
                        "{name}: index in range"
                    );
                    assert_eq!(p.normals.len(), p.positions.len());
                    for t in &p.targets {
                        assert!(t.indices.iter().all(|&i| (i as usize) < p.positions.len()));
                    }
                }
            }
            true
        }
        Err(e) => {
            let s = e.to_string();
            assert!(s.starts_with(name), "error names the file: {s}");
            assert!(!s.contains('\n'), "one line: {s}");
            false
        }
    }
}

fn torture(rel: &str, truncations: usize, corruptions: usize, seed: u64) {
    let path = model(rel);
    let bytes = std::fs::read(&path).expect("read model");
    let base = path.parent();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("model");
    assert!(check(&bytes, name, base), "{rel} loads intact");
    let mut rng = Rng(seed);
    // truncations: a few fixed points (header, JSON, first bytes of BIN) plus random ones
    let mut cuts = vec![
        0,
        1,
        4,
        11,
        12,
        19,
        20,
        21,
        bytes.len() / 2,
        bytes.len() - 1,
    ];
    cuts.extend((0..truncations).map(|_| rng.below(bytes.len())));
    for cut in cuts {
        check(&bytes[..cut.min(bytes.len())], name, base);
    }
    // corruptions: overwrite 1-8 bytes with random values (JSON region and binary region alike)
    for k in 0..corruptions {
        let mut b = bytes.clone();
        for _ in 0..1 + k % 8 {
            let at = if k % 2 == 0 {
                rng.below(b.len().min(4096))
            } else {
                rng.below(b.len())
            };
            b[at] = rng.next() as u8;
        }
        check(&b, name, base);
    }
}

#[test]
fn truncated_and_corrupted_meshopt_glb() {
    torture("facecap/facecap.glb", 20, 40, 0x9e37_79b9_7f4a_7c15);
}

#[test]
fn truncated_and_corrupted_skinned_glb() {
    torture("khronos/Fox/Fox.glb", 20, 40, 12345);
}

#[test]
fn truncated_and_corrupted_gltf_with_data_uris() {
    torture("khronos/SimpleSkin/SimpleSkin.gltf", 40, 80, 777);
}

#[test]
fn truncated_and_corrupted_gltf_with_external_files() {
    torture(
        "khronos/MorphPrimitivesTest/MorphPrimitivesTest.gltf",
        30,
        60,
        4242,
    );
}

#[test]
fn truncated_and_corrupted_vrm() {
    torture(
        "vrm/VRMC_vrm_expressions_isBinary_Overrides.vrm",
        20,
        40,
        99,
    );
}

/// Every meshopt buffer view of the VALID original, corrupted inside its compressed bytes.
#[test]
fn corrupted_meshopt_streams_in_valid() {
    let path = model("valid/VALID_Hispanic_F_2_Busi.glb");
    let mut bytes = std::fs::read(&path).expect("read");
    let json_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let bin_start = 20 + json_len + 8;
    let root: serde_json::Value = serde_json::from_slice(&bytes[20..20 + json_len]).expect("json");
    // skip texture decoding (same-length rename of the "textures" key) to keep the test fast
    let key = b"\"textures\":";
    let at = bytes[20..20 + json_len]
        .windows(key.len())
        .position(|w| w == key)
        .expect("textures key")
        + 20;
    bytes[at + 8] = b'x';
    let mut rng = Rng(31337);
    let views = root["bufferViews"].as_array().expect("views");
    let mut hit = 0;
    for v in views {
        let Some(m) = v
            .get("extensions")
            .and_then(|e| e.get("EXT_meshopt_compression"))
        else {
            continue;
        };
        let off = m["byteOffset"].as_u64().unwrap_or(0) as usize;
        let len = m["byteLength"].as_u64().unwrap_or(0) as usize;
        for _ in 0..4 {
            let mut b = bytes.clone();
            for _ in 0..4 {
                let at = bin_start + off + rng.below(len);
                b[at] ^= (rng.next() as u8) | 1;
            }
            check(&b, "VALID.glb", None);
            hit += 1;
        }
    }
    assert!(hit >= 20, "{hit} meshopt views corrupted");
}
