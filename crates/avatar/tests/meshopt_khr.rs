//! `KHR_meshopt_compression`: the version 1 attribute codec and the COLOR filter against the
//! bytes meshoptimizer's own decoders produce, and a whole file written by `gltfpack -cz`.
//!
//! Fixtures (`tests/fixtures/`, written by `tools/meshopt-fixtures/make.mjs`):
//! - `meshopt_v1.json`: streams from meshoptimizer 1.3's encoder (every compression level,
//!   strides 4 to 256, float, 16-bit and mixed constant/noisy data, 8- and 16-bit COLOR, one
//!   version 0 stream), each with the decoded bytes of meshoptimizer's decoder, which its
//!   reference decoder reproduces (to one unit in 16-bit COLOR values, a rounding difference);
//! - `builtin_gltfpack_cz.glb`: the built-in avatar through `gltfpack -cz` (version 1
//!   attributes, COLOR and OCTAHEDRAL filters, `KHR_meshopt_compression` required).

use base64::Engine;
use facecast_avatar::meshopt::{decode, Filter, Mode};
use facecast_avatar::{inspect, load};
use serde_json::Value;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

struct Case {
    name: String,
    count: usize,
    stride: usize,
    filter: Filter,
    encoded: Vec<u8>,
    decoded: Vec<u8>,
    tolerance: u32,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(fixture("meshopt_v1.json")).expect("meshopt_v1.json");
    let doc: Value = serde_json::from_str(&text).expect("json");
    let b64 = |v: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 string"))
            .expect("base64")
    };
    doc.as_array()
        .expect("array")
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().expect("name").to_string(),
            count: c["count"].as_u64().expect("count") as usize,
            stride: c["stride"].as_u64().expect("stride") as usize,
            filter: Filter::parse(c["filter"].as_str()).expect("filter"),
            encoded: b64(&c["encoded"]),
            decoded: b64(&c["decoded"]),
            tolerance: c["tolerance"].as_u64().unwrap_or(0) as u32,
        })
        .collect()
}

#[test]
fn version1_streams_decode_as_meshoptimizer_decodes_them() {
    let all = cases();
    assert!(all.len() >= 14, "{} cases", all.len());
    let mut seen_v1 = 0;
    for c in &all {
        seen_v1 += (c.encoded[0] == 0xa1) as usize;
        let got = decode(Mode::Attributes, c.filter, c.count, c.stride, &c.encoded)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(got.len(), c.decoded.len(), "{}", c.name);
        if c.tolerance == 0 {
            assert!(got == c.decoded, "{}: bytes differ", c.name);
        } else {
            // 16-bit COLOR values: meshoptimizer rounds its last scale in single precision.
            for (i, (a, b)) in got
                .chunks_exact(2)
                .zip(c.decoded.chunks_exact(2))
                .enumerate()
            {
                let (a, b) = (
                    u16::from_le_bytes([a[0], a[1]]),
                    u16::from_le_bytes([b[0], b[1]]),
                );
                assert!(
                    a.abs_diff(b) as u32 <= c.tolerance,
                    "{}: value {i} is {a}, meshoptimizer {b}",
                    c.name
                );
            }
        }
    }
    assert!(seen_v1 >= 13, "{seen_v1} version 1 streams");
}

/// Damaged streams decode to something or fail with an error; no panic, no hang.
#[test]
fn damaged_version1_streams_fail_cleanly() {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut ok, mut err) = (0, 0);
    for c in cases() {
        for k in 0..60 {
            let mut b = c.encoded.clone();
            for _ in 0..1 + k % 5 {
                let at = next() as usize % b.len();
                b[at] = next() as u8;
            }
            if k % 7 == 6 {
                b.truncate(next() as usize % b.len());
            }
            match decode(Mode::Attributes, c.filter, c.count, c.stride, &b) {
                Ok(v) => {
                    assert_eq!(v.len(), c.count * c.stride, "{}", c.name);
                    ok += 1;
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    err += 1;
                }
            }
        }
    }
    println!("damaged streams: {ok} decoded, {err} rejected");
    assert!(err > 0);
    // Version 1 needs whole 4-byte channels.
    let e = decode(Mode::Attributes, Filter::None, 1, 6, &[0xa1; 40]).expect_err("stride 6");
    assert!(e.to_string().contains("divisible by 4"), "{e}");
}

#[test]
fn gltfpack_cz_file_loads_like_the_original() {
    let a = load(&fixture("builtin_gltfpack_cz.glb")).unwrap_or_else(|e| panic!("{e}"));
    let b = facecast_avatar::builtin();
    assert!(
        a.info
            .extensions_required
            .iter()
            .any(|e| e == "KHR_meshopt_compression"),
        "{:?}",
        a.info.extensions_required
    );
    let r = inspect(&a);
    assert!(r.unsupported.is_empty(), "{:?}", r.unsupported);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(
        (a.vertex_count(), a.triangle_count()),
        (b.vertex_count(), b.triangle_count())
    );
    assert_eq!(a.rig.arkit_mapped(), 52);
    // COLOR-filtered vertex colours decode to colours the original has (gltfpack keeps 8 bits).
    let colours = |av: &facecast_core::model::Avatar| {
        let mut v: Vec<[u8; 3]> = av
            .meshes
            .iter()
            .flat_map(|m| &m.primitives)
            .flat_map(|p| &p.colors)
            .map(|c| [c[0], c[1], c[2]].map(|x| (x * 255.0).round() as u8))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (ca, cb) = (colours(&a), colours(&b));
    assert!(!ca.is_empty());
    for c in &ca {
        let near = cb.iter().any(|o| (0..3).all(|i| c[i].abs_diff(o[i]) <= 2));
        assert!(near, "colour {c:?} is none of the original's");
    }
}
