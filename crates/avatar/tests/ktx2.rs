//! `KHR_texture_basisu`: KTX2/Basis Universal textures are transcoded, checked against the
//! picture they were encoded from, and bad KTX2 data costs the texture, never the model.
//!
//! The fixtures in `tests/fixtures/` are a synthetic pattern (see [`pattern`]) encoded by the
//! Basis Universal encoder (`tools/ktx2-fixtures/make.mjs`): ETC1S/BasisLZ with mipmaps, UASTC
//! with Zstandard supercompression and alpha, and plain UASTC at a size that is not a multiple
//! of the 4×4 block.

use facecast_avatar::{inspect, load_bytes, write_glb};
use facecast_core::model::{Avatar, Texture};
use serde_json::json;

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The pattern `make.mjs` encodes (same formula): red grows to the right, green downwards, blue
/// waves, alpha (when `alpha`) grows along the diagonal.
fn pattern(w: usize, h: usize, alpha: bool, x: usize, y: usize) -> [u8; 4] {
    let (xf, yf) = (x as f64, y as f64);
    [
        (255.0 * xf / (w - 1) as f64).round() as u8,
        (255.0 * yf / (h - 1) as f64).round() as u8,
        (128.0 + 100.0 * (xf / 6.0).sin() * (yf / 5.0).cos()).round() as u8,
        if alpha {
            (255.0 * (xf + yf) / (w + h - 2) as f64).round() as u8
        } else {
            255
        },
    ]
}

/// A one-triangle GLB whose base colour texture is `images` (JSON image objects, the bytes of
/// each in `data`) shown through texture `texture`.
fn glb(texture: serde_json::Value, images: Vec<serde_json::Value>, data: &[&[u8]]) -> Vec<u8> {
    let mut bin = Vec::new();
    let mut views = Vec::new();
    // Positions, then normals (+Z), of the triangle: views 0 and 1; images from view 2.
    for v in [0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0] {
        bin.extend(v.to_le_bytes());
    }
    for _ in 0..3 {
        for v in [0f32, 0.0, 1.0] {
            bin.extend(v.to_le_bytes());
        }
    }
    views.push(json!({"buffer": 0, "byteOffset": 0, "byteLength": 36}));
    views.push(json!({"buffer": 0, "byteOffset": 36, "byteLength": 36}));
    for d in data {
        views.push(json!({"buffer": 0, "byteOffset": bin.len(), "byteLength": d.len()}));
        bin.extend_from_slice(d);
        bin.resize(bin.len().next_multiple_of(4), 0);
    }
    let doc = json!({
        "asset": {"version": "2.0"},
        "extensionsUsed": ["KHR_texture_basisu"],
        "extensionsRequired": ["KHR_texture_basisu"],
        "buffers": [{"byteLength": bin.len()}],
        "bufferViews": views,
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
            "min": [0.0, 0.0, 0.0], "max": [1.0, 1.0, 0.0]},
            {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC3"}],
        "images": images,
        "textures": [texture],
        "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}, "material": 0}]}],
        "nodes": [{"mesh": 0}],
    });
    write_glb(&serde_json::to_vec(&doc).expect("json"), &bin)
}

/// A GLB whose only texture is `ktx2`, through `KHR_texture_basisu`.
fn basisu_glb(ktx2: &[u8]) -> Vec<u8> {
    glb(
        json!({"extensions": {"KHR_texture_basisu": {"source": 0}}}),
        vec![json!({"bufferView": 2, "mimeType": "image/ktx2", "name": "pattern"})],
        &[ktx2],
    )
}

fn base_texture(a: &Avatar) -> &Texture {
    let t = a.materials[0]
        .base_color_tex
        .unwrap_or_else(|| panic!("no base colour texture; warnings {:?}", a.info.warnings));
    &a.textures[t.texture as usize]
}

#[test]
fn each_basis_variant_transcodes_to_the_encoded_pattern() {
    // (file, width, height, alpha, largest mean and single-channel error the codec may leave)
    let cases = [
        ("etc1s_rgb_72x40.ktx2", 72, 40, false, 8.0, 60),
        ("uastc_zstd_rgba_72x40.ktx2", 72, 40, true, 2.5, 24),
        ("uastc_rgb_30x18.ktx2", 30, 18, false, 2.5, 24),
    ];
    for (file, w, h, alpha, mean_max, worst_max) in cases {
        let a = load_bytes(&basisu_glb(&fixture(file)), file, None)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(a.info.warnings.is_empty(), "{file}: {:?}", a.info.warnings);
        let report = inspect(&a);
        assert!(
            report.unsupported.is_empty(),
            "{file}: {:?}",
            report.unsupported
        );
        let t = base_texture(&a);
        assert_eq!((t.mips[0].width, t.mips[0].height), (w, h), "{file}");
        assert_eq!(t.name, "pattern [KTX2]", "{file}");
        let (mut sum, mut worst) = (0u64, 0u8);
        for y in 0..h as usize {
            for x in 0..w as usize {
                let got = t.texel(0, x, y);
                let want = pattern(w as usize, h as usize, alpha, x, y);
                for c in 0..4 {
                    let d = got[c].abs_diff(want[c]);
                    sum += d as u64;
                    worst = worst.max(d);
                }
            }
        }
        let mean = sum as f64 / (w * h * 4) as f64;
        println!("{file}: mean error {mean:.2}, largest {worst}");
        assert!(
            mean <= mean_max && worst <= worst_max,
            "{file}: mean error {mean:.2} (limit {mean_max}), largest {worst} (limit {worst_max})"
        );
        // Orientation: glTF's first texel is the top left (no red, no green), the last the
        // bottom right.
        let (tl, br) = (t.texel(0, 0, 0), t.texel(0, w as usize - 1, h as usize - 1));
        assert!(
            tl[0] < 30 && tl[1] < 30 && br[0] > 225 && br[1] > 225,
            "{file}: {tl:?} {br:?}"
        );
        // The renderer's own mip chain, down to 1x1.
        assert_eq!(t.mips.last().map(|m| (m.width, m.height)), Some((1, 1)));
    }
}

/// An exporter that writes both a PNG `source` and a KTX2 alternative: the PNG (the lossless
/// original) is shown.
#[test]
fn png_fallback_source_wins_over_ktx2() {
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbaImage::from_pixel(4, 4, image::Rgba([9, 8, 7, 255]))
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("png");
    let bytes = glb(
        json!({"source": 1, "extensions": {"KHR_texture_basisu": {"source": 0}}}),
        vec![
            json!({"bufferView": 2, "mimeType": "image/ktx2"}),
            json!({"bufferView": 3, "mimeType": "image/png", "name": "fallback"}),
        ],
        &[&fixture("uastc_rgb_30x18.ktx2"), png.get_ref()],
    );
    let a = load_bytes(&bytes, "both.glb", None).expect("load");
    let t = base_texture(&a);
    assert_eq!(t.name, "fallback [PNG]");
    assert_eq!(t.texel(0, 0, 0), [9, 8, 7, 255]);
}

/// Broken KTX2 data drops the texture with a warning naming the image and the problem; the
/// model still loads.
#[test]
fn broken_ktx2_costs_the_texture_not_the_model() {
    let good = fixture("uastc_zstd_rgba_72x40.ktx2");
    // Level 0's index entry is at byte 80: offset, length, inflated length (u64 each).
    let mut huge = good.clone();
    huge[96..104].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let mut past_end = good.clone();
    past_end[88..96].copy_from_slice(&(1u64 << 20).to_le_bytes());
    let mut cube = good.clone();
    cube[36..40].copy_from_slice(&6u32.to_le_bytes());
    let mut garbled = good.clone();
    let n = garbled.len();
    for b in &mut garbled[n - 200..] {
        *b ^= 0x5a;
    }
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("inflated size", huge, "claims 1099511627776 bytes"),
        ("level past the end", past_end, "beyond the end"),
        ("cube map", cube, "6 faces"),
        ("cut header", good[..50].to_vec(), "not a KTX2 file"),
        ("garbled data", garbled, "texture dropped"),
        (
            "PNG bytes called KTX2",
            b"\x89PNG\r\n\x1a\n0000".to_vec(),
            "texture dropped",
        ),
    ];
    for (what, ktx2, want) in cases {
        let a = load_bytes(&basisu_glb(&ktx2), "bad.glb", None)
            .unwrap_or_else(|e| panic!("{what}: the model must still load: {e}"));
        assert!(a.materials[0].base_color_tex.is_none(), "{what}");
        let w = a.info.warnings.join("\n");
        // Named by index before decoding, by name ("pattern [KTX2]") when decoding fails.
        let named = w.contains("image 0") || w.contains("pattern [KTX2]");
        assert!(named && w.contains(want), "{what}: {w}");
    }
}

/// Random damage to every byte region of each fixture: always a texture or a warning, never a
/// panic (the fuzz target `load_glb` goes further).
#[test]
fn damaged_ktx2_never_panics() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for file in [
        "etc1s_rgb_72x40.ktx2",
        "uastc_zstd_rgba_72x40.ktx2",
        "uastc_rgb_30x18.ktx2",
    ] {
        let good = fixture(file);
        let (mut decoded, mut dropped) = (0, 0);
        for k in 0..150 {
            let mut b = good.clone();
            for _ in 0..1 + k % 4 {
                let at = next() as usize % b.len();
                b[at] = next() as u8;
            }
            if k % 10 == 9 {
                b.truncate(next() as usize % b.len());
            }
            let a = load_bytes(&basisu_glb(&b), file, None).expect("the model loads");
            if a.materials[0].base_color_tex.is_some() {
                decoded += 1;
            } else {
                assert!(
                    !a.info.warnings.is_empty(),
                    "{file}: dropped without a warning"
                );
                dropped += 1;
            }
        }
        println!("{file}: {decoded} damaged copies decoded, {dropped} dropped with a warning");
    }
}

/// An input the fuzz target `load_glb` found (a damaged copy of the ETC1S fixture): the
/// transcoder's ETC1S slice decoder overflows a counter on it. In every build (overflow checks
/// off for the `basisu` crate, see the workspace `Cargo.toml`) the texture is dropped with a
/// warning and the model loads.
#[test]
fn fuzzer_found_etc1s_overflow_drops_the_texture() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz_basisu_overflow.glb");
    let a = facecast_avatar::load(&p).unwrap_or_else(|e| panic!("{e}"));
    assert!(a.textures.is_empty());
    let w = a.info.warnings.join("\n");
    assert!(w.contains("[KTX2]: cannot decode"), "{w}");
}
