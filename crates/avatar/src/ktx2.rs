//! `KHR_texture_basisu`: KTX2 images holding Basis Universal data (ETC1S/BasisLZ or UASTC,
//! optionally Zstandard-supercompressed), transcoded to RGBA8 by the pure-Rust `basisu` crate.
//!
//! Only the base level is transcoded; the renderer builds its own mip chain from it, as it does
//! for PNG, JPEG and WebP. Before the transcoder sees a file, [`header`] reads the fixed KTX2
//! header and level index and turns away what a glTF texture cannot be (arrays, cube maps,
//! volumes) and any level whose stated sizes could make the transcoder allocate more than the
//! image's own blocks need: the transcoder allocates a Zstandard level's output from the size the
//! file states, so a corrupt 40-byte level claiming terabytes must be caught here.

use basisu::{DecodeFlags, Error, TargetFormat, Transcoder};

/// File identifier of KTX 2.0.
pub(crate) const MAGIC: &[u8; 12] = b"\xABKTX 20\xBB\r\n\x1A\n";

/// What the fixed part of a KTX2 file says about its base level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub width: u32,
    pub height: u32,
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(w)
}

/// Bytes of 4×4 blocks (16 bytes each, the most any Basis format stores per block) covering a
/// `w` × `h` level: the most a Zstandard-supercompressed level can inflate to.
fn block_bytes(w: u64, h: u64) -> u64 {
    w.div_ceil(4) * h.div_ceil(4) * 16
}

/// Reads and checks the KTX2 header and level index (the checks a glTF texture needs and the
/// sizes the transcoder will trust).
pub(crate) fn header(b: &[u8]) -> Result<Header, String> {
    if b.len() < 80 || &b[..12] != MAGIC {
        return Err("not a KTX2 file (identifier or 80-byte header missing)".into());
    }
    let (w, h, depth) = (u32_at(b, 20), u32_at(b, 24), u32_at(b, 28));
    let (layers, faces, levels) = (u32_at(b, 32), u32_at(b, 36), u32_at(b, 40));
    let scheme = u32_at(b, 44);
    if w == 0 || h == 0 || depth != 0 {
        return Err(format!(
            "KTX2 image is {w}x{h}x{depth}; a glTF texture is a 2D image"
        ));
    }
    if layers > 1 || faces != 1 {
        return Err(format!(
            "KTX2 image has {layers} array layers and {faces} faces; a glTF texture has one of each"
        ));
    }
    // Level count 0 means "one level, generate the rest"; a full chain of a 2^32 image has 33.
    let n = levels.max(1) as usize;
    if n > 32 {
        return Err(format!(
            "KTX2 image declares {levels} mip levels (at most 32 exist)"
        ));
    }
    if b.len() < 80 + 24 * n {
        return Err(format!(
            "KTX2 level index of {n} levels is cut off ({} bytes in the file)",
            b.len()
        ));
    }
    for l in 0..n {
        let o = 80 + 24 * l;
        let (off, len, raw) = (u64_at(b, o), u64_at(b, o + 8), u64_at(b, o + 16));
        if off.checked_add(len).is_none_or(|end| end > b.len() as u64) {
            return Err(format!(
                "KTX2 level {l} ({len} bytes at {off}) lies beyond the end of the image ({} bytes)",
                b.len()
            ));
        }
        let (lw, lh) = ((w as u64 >> l).max(1), (h as u64 >> l).max(1));
        // Zstandard (scheme 2) levels state the size they inflate to.
        if scheme == 2 && raw > block_bytes(lw, lh) {
            return Err(format!(
                "KTX2 level {l} claims {raw} bytes once inflated; a {lw}x{lh} level holds at most {}",
                block_bytes(lw, lh)
            ));
        }
    }
    Ok(Header {
        width: w,
        height: h,
    })
}

fn describe(e: &Error) -> String {
    match e {
        Error::InvalidData => "not valid Basis Universal data".into(),
        Error::Truncated => "Basis Universal data is cut off".into(),
        Error::Unsupported { source, .. } => {
            format!("Basis Universal {source:?} data has no 8-bit RGBA transcode (HDR formats are not supported)")
        }
        Error::UnsupportedFeature(what) => format!("Basis Universal feature not supported: {what}"),
        Error::VideoRequiresState => "KTX2 file is a Basis Universal video, not an image".into(),
        other => format!("Basis Universal transcoding failed: {other:?}"),
    }
}

/// The base level of a KTX2/Basis Universal image as `(width, height, RGBA8 rows)`.
///
/// The transcoder is a young port of C++ code: should it panic on some input (fuzzing found an
/// integer overflow in its ETC1S slice decoder, a panic only where overflow checks are on; see
/// the workspace `Cargo.toml`), the panic costs this texture, not the process.
pub(crate) fn decode(b: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    std::panic::catch_unwind(|| transcode(b)).unwrap_or_else(|_| {
        Err("the Basis Universal transcoder failed on this image (an internal error)".into())
    })
}

fn transcode(b: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    let hd = header(b)?;
    let t = Transcoder::new(b).map_err(|e| describe(&e))?;
    let (w, h) = t.base_dimensions();
    if (w, h) != (hd.width, hd.height) {
        return Err(format!(
            "KTX2 header says {}x{}, its Basis data {w}x{h}",
            hd.width, hd.height
        ));
    }
    let rgba = t
        .transcode(0, TargetFormat::Rgba32, DecodeFlags::NONE)
        .map_err(|e| describe(&e))?;
    if rgba.len() != w as usize * h as usize * 4 {
        return Err(format!(
            "Basis Universal transcoder returned {} bytes for a {w}x{h} image",
            rgba.len()
        ));
    }
    Ok((w, h, rgba))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(w: u32, h: u32, layers: u32, faces: u32, levels: &[(u64, u64, u64)]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        for v in [0, 1, w, h, 0, layers, faces, levels.len() as u32, 2] {
            b.extend(v.to_le_bytes());
        }
        b.resize(80, 0);
        for &(off, len, raw) in levels {
            for v in [off, len, raw] {
                b.extend(v.to_le_bytes());
            }
        }
        b.resize(b.len() + 64, 0);
        b
    }

    #[test]
    fn header_checks_name_the_problem() {
        let ok = file(8, 8, 0, 1, &[(104, 16, 64)]);
        assert_eq!(
            header(&ok),
            Ok(Header {
                width: 8,
                height: 8
            })
        );
        let cases: [(Vec<u8>, &str); 6] = [
            (ok[..60].to_vec(), "not a KTX2 file"),
            (file(8, 8, 6, 1, &[(104, 16, 64)]), "6 array layers"),
            (file(8, 8, 0, 6, &[(104, 16, 64)]), "6 faces"),
            (file(0, 8, 0, 1, &[(104, 16, 64)]), "0x8x0"),
            // 8x8 is four 16-byte blocks: 64 bytes at most once inflated.
            (
                file(8, 8, 0, 1, &[(104, 16, 1 << 40)]),
                "claims 1099511627776 bytes",
            ),
            (file(8, 8, 0, 1, &[(104, 1 << 20, 64)]), "beyond the end"),
        ];
        for (bytes, want) in cases {
            let e = header(&bytes).expect_err(want);
            assert!(e.contains(want), "{e:?} should say {want:?}");
        }
        let mut cut = file(8, 8, 0, 1, &[(104, 16, 64), (120, 16, 16)]);
        cut.truncate(110);
        assert!(header(&cut).expect_err("cut").contains("cut off"));
        // A header that passes but data that is not Basis: an error, not a panic.
        assert!(decode(&ok).is_err());
    }
}
