//! Materials, textures (PNG / JPEG / WebP decoded to RGBA8, KTX2/Basis Universal transcoded to
//! RGBA8) and box-filtered mip chains.

use crate::container::{data_uri_mime, read_uri};
use crate::data::Data;
use crate::gltf;
use crate::vrm;
use facecast_core::model::{
    AlphaMode, Material, Outline, TexRef, TexTransform, Texture, Toon, Wrap,
};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Notes gathered by the loader for `ModelInfo`.
#[derive(Default)]
pub(crate) struct Notes {
    pub warnings: Vec<String>,
}

/// Largest accepted texture side.
const MAX_TEXTURE_SIDE: u32 = 16384;

/// Total texels decoded per avatar (level 0), bounding memory against decompression bombs.
const MAX_TOTAL_TEXELS: u64 = 128 << 20;

fn wrap(mode: u32) -> Wrap {
    match mode {
        33071 => Wrap::Clamp,
        33648 => Wrap::Mirror,
        _ => Wrap::Repeat,
    }
}

/// Image formats recognised by their first bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ImgFmt {
    Png,
    Jpeg,
    WebP,
    Ktx2,
    Other,
}

impl ImgFmt {
    fn sniff(b: &[u8]) -> ImgFmt {
        if b.starts_with(b"\x89PNG\r\n\x1a\n") {
            ImgFmt::Png
        } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
            ImgFmt::Jpeg
        } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
            ImgFmt::WebP
        } else if b.starts_with(crate::ktx2::MAGIC) {
            ImgFmt::Ktx2
        } else {
            ImgFmt::Other
        }
    }

    fn name(self) -> &'static str {
        match self {
            ImgFmt::Png => "PNG",
            ImgFmt::Jpeg => "JPEG",
            ImgFmt::WebP => "WebP",
            ImgFmt::Ktx2 => "KTX2",
            ImgFmt::Other => "unknown",
        }
    }
}

/// Which image a glTF texture shows: `EXT_texture_webp` first, then `source` (an exporter's PNG
/// or JPEG fallback is the lossless original), then `KHR_texture_basisu`'s KTX2 image. `None`
/// when the texture names no image.
fn texture_source(t: &gltf::Texture) -> Option<u64> {
    let ext = |name: &str| {
        t.extensions
            .as_ref()
            .and_then(|e| e.get(name))
            .and_then(|e| e.get("source"))
            .and_then(Value::as_u64)
    };
    ext("EXT_texture_webp")
        .or(t.source.map(|s| s as u64))
        .or_else(|| ext("KHR_texture_basisu"))
}

struct Request<'b> {
    name: String,
    bytes: Cow<'b, [u8]>,
    srgb: bool,
    wrap_s: Wrap,
    wrap_t: Wrap,
    nearest: bool,
}

/// Build materials and the textures they use.
pub(crate) fn build_materials(
    root: &gltf::Root,
    data: &Data<'_>,
    base_dir: Option<&Path>,
    v0_materials: &[(String, Value)],
    notes: &mut Notes,
) -> (Vec<Material>, Vec<Texture>) {
    // VRM: each material's MToon (1.0 extension, or the 0.x entry of the same name) or unlit
    let shaders: Vec<vrm::Shader> = root
        .materials
        .iter()
        .map(|m| vrm::material_shader(m, v0_materials))
        .collect();
    // 1. which (glTF texture, sRGB) pairs are used
    let mut wanted: Vec<(usize, bool)> = Vec::new();
    for (m, shader) in root.materials.iter().zip(&shaders) {
        if let vrm::Shader::Toon(toon) = shader {
            let t = &toon.1;
            wanted.extend(t.shade.as_ref().map(|t| (t.index, true)));
            wanted.extend(t.uv_mask.as_ref().map(|t| (t.index, false)));
            wanted.extend(t.outline_width.as_ref().map(|t| (t.index, false)));
            wanted.extend(t.shading_shift.as_ref().map(|t| (t.index, false)));
            wanted.extend(t.matcap.as_ref().map(|t| (t.index, true)));
            wanted.extend(t.rim.as_ref().map(|t| (t.index, true)));
        }
        if let Some(t) = m
            .pbr_metallic_roughness
            .as_ref()
            .and_then(|p| p.base_color_texture.as_ref())
        {
            wanted.push((t.index, true));
        }
        if let Some(t) = m.spec_gloss().and_then(|sg| sg.diffuse_texture) {
            wanted.push((t.index, true));
        }
        if let Some(t) = m
            .pbr_metallic_roughness
            .as_ref()
            .and_then(|p| p.metallic_roughness_texture.as_ref())
        {
            wanted.push((t.index, false));
        }
        for t in [&m.normal_texture, &m.occlusion_texture]
            .into_iter()
            .flatten()
        {
            wanted.push((t.index, false));
        }
        if let Some(t) = &m.emissive_texture {
            wanted.push((t.index, true));
        }
    }
    wanted.sort_unstable();
    wanted.dedup();

    // 2. resolve image bytes (on this thread: `Data` is not `Sync`)
    let mut requests: Vec<Request<'_>> = Vec::new();
    let mut req_index: HashMap<(usize, bool, u8, u8, bool), usize> = HashMap::new();
    let mut tex_to_req: HashMap<(usize, bool), usize> = HashMap::new();
    let mut image_bytes: HashMap<usize, Option<Cow<'_, [u8]>>> = HashMap::new();
    let mut texel_budget = MAX_TOTAL_TEXELS;
    for &(ti, srgb) in &wanted {
        let Some(t) = root.textures.get(ti) else {
            notes.warnings.push(format!(
                "material refers to texture {ti}, which does not exist; ignored"
            ));
            continue;
        };
        let Some(img) = texture_source(t) else {
            notes
                .warnings
                .push(format!("texture {ti} has no image source; dropped"));
            continue;
        };
        let Some(gi) = usize::try_from(img).ok().and_then(|i| root.images.get(i)) else {
            notes.warnings.push(format!(
                "texture {ti} refers to image {img}, which does not exist; dropped"
            ));
            continue;
        };
        let sampler = t.sampler.and_then(|s| root.samplers.get(s));
        let (ws, wt) = sampler
            .map(|s| (wrap(s.wrap_s), wrap(s.wrap_t)))
            .unwrap_or((Wrap::Repeat, Wrap::Repeat));
        // `NEAREST` (9728); anything else (`LINEAR` or unset) is bilinear.
        let nearest = sampler.is_some_and(|s| s.mag_filter == Some(9728));
        let img = img as usize;
        let key = (img, srgb, ws as u8, wt as u8, nearest);
        if let Some(&r) = req_index.get(&key) {
            tex_to_req.insert((ti, srgb), r);
            continue;
        }
        let bytes = image_bytes
            .entry(img)
            .or_insert_with(|| {
                let r: Result<Cow<'_, [u8]>, String> = if let Some(bv) = gi.buffer_view {
                    data.view(bv).map(Cow::Borrowed).map_err(|e| e.message())
                } else if let Some(uri) = &gi.uri {
                    read_uri(uri, base_dir, &format!("image {img}")).map(Cow::Owned)
                } else {
                    Err(format!("image {img} has neither a bufferView nor a uri"))
                };
                match r {
                    Ok(b) => Some(b),
                    Err(e) => {
                        notes
                            .warnings
                            .push(format!("image {img}: {e}; texture dropped"));
                        None
                    }
                }
            })
            .clone();
        let Some(bytes) = bytes else { continue };
        let fmt = ImgFmt::sniff(&bytes);
        let mime = gi
            .mime_type
            .as_deref()
            .or_else(|| gi.uri.as_deref().and_then(data_uri_mime));
        if fmt != ImgFmt::Ktx2 && mime == Some("image/ktx2") {
            notes.warnings.push(format!(
                "image {img}: declared image/ktx2 but is not a KTX2 file; texture dropped"
            ));
            continue;
        }
        let dims = match fmt {
            ImgFmt::Ktx2 => match crate::ktx2::header(&bytes) {
                Ok(h) => Some((h.width, h.height)),
                Err(e) => {
                    notes
                        .warnings
                        .push(format!("image {img}: {e}; texture dropped"));
                    continue;
                }
            },
            _ => image_format(fmt).and_then(|f| {
                image::ImageReader::with_format(std::io::Cursor::new(&bytes[..]), f)
                    .into_dimensions()
                    .ok()
            }),
        };
        if let Some((w, h)) = dims {
            let texels = w as u64 * h as u64;
            if w > MAX_TEXTURE_SIDE || h > MAX_TEXTURE_SIDE || texels > texel_budget {
                notes.warnings.push(format!(
                    "image {img}: {w}x{h} exceeds the texture size limit; texture dropped"
                ));
                continue;
            }
            texel_budget -= texels;
        }
        let base = gi
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| gi.uri.as_ref().filter(|u| !u.starts_with("data:")).cloned())
            .or_else(|| t.name.clone())
            .unwrap_or_else(|| format!("image {img}"));
        let name = format!("{base} [{}]", fmt.name());
        req_index.insert(key, requests.len());
        tex_to_req.insert((ti, srgb), requests.len());
        requests.push(Request {
            name,
            bytes,
            srgb,
            wrap_s: ws,
            wrap_t: wt,
            nearest,
        });
    }

    // 3. decode in parallel
    let decoded = decode_all(&requests);
    let mut textures = Vec::new();
    let mut req_to_tex: Vec<Option<u32>> = vec![None; requests.len()];
    for (ri, r) in decoded.into_iter().enumerate() {
        match r {
            Ok(t) => {
                req_to_tex[ri] = Some(textures.len() as u32);
                textures.push(t);
            }
            Err(e) => notes.warnings.push(format!(
                "{}: cannot decode ({e}); texture dropped",
                requests[ri].name
            )),
        }
    }
    let lookup = |ti: usize, srgb: bool| tex_to_req.get(&(ti, srgb)).and_then(|&r| req_to_tex[r]);

    // 4. materials
    let mut materials = Vec::with_capacity(root.materials.len());
    for (mi, m) in root.materials.iter().enumerate() {
        let name = m.name.clone().unwrap_or_default();
        let ext = |n: &str| m.extensions.as_ref().and_then(|e| e.get(n));
        let mut out = Material {
            name: name.clone(),
            ..Default::default()
        };
        let tex_ref = |ti: &gltf::TextureInfo, srgb: bool, notes: &mut Notes| -> Option<TexRef> {
            let texture = lookup(ti.index, srgb)?;
            let tt = ti
                .extensions
                .as_ref()
                .and_then(|e| e.get("KHR_texture_transform"));
            let transform = tt.map(|tt| {
                let arr2 = |k: &str, d: [f32; 2]| {
                    tt.get(k)
                        .and_then(Value::as_array)
                        .filter(|a| a.len() == 2)
                        .map(|a| {
                            [
                                a[0].as_f64().unwrap_or(d[0] as f64) as f32,
                                a[1].as_f64().unwrap_or(d[1] as f64) as f32,
                            ]
                        })
                        .unwrap_or(d)
                };
                TexTransform {
                    offset: arr2("offset", [0.0, 0.0]),
                    rotation: tt.get("rotation").and_then(Value::as_f64).unwrap_or(0.0) as f32,
                    scale: arr2("scale", [1.0, 1.0]),
                }
            });
            let mut texcoord = tt
                .and_then(|t| t.get("texCoord"))
                .and_then(Value::as_u64)
                .map(|v| v as u32)
                .unwrap_or(ti.tex_coord);
            if texcoord > 1 {
                notes.warnings.push(format!(
                    "material {mi}: TEXCOORD_{texcoord} is not supported; using TEXCOORD_1"
                ));
                texcoord = 1;
            }
            Some(TexRef {
                texture,
                texcoord,
                transform,
            })
        };
        if let Some(p) = &m.pbr_metallic_roughness {
            if let Some(f) = p
                .base_color_factor
                .filter(|f| f.iter().all(|x| x.is_finite()))
            {
                out.base_color = f;
            }
            out.base_color_tex = p
                .base_color_texture
                .as_ref()
                .and_then(|t| tex_ref(t, true, notes));
            out.metallic = unit(p.metallic_factor, 1.0);
            out.roughness = unit(p.roughness_factor, 1.0);
            out.metallic_roughness_tex = p
                .metallic_roughness_texture
                .as_ref()
                .and_then(|t| tex_ref(t, false, notes));
        }
        if let Some(sg) = m.spec_gloss() {
            // Diffuse is the base colour of a dielectric; glossiness is 1 - roughness.
            out.base_color = sg
                .diffuse_factor
                .filter(|f| f.iter().all(|x| x.is_finite()))
                .unwrap_or([1.0; 4]);
            out.base_color_tex = sg
                .diffuse_texture
                .as_ref()
                .and_then(|t| tex_ref(t, true, notes));
            out.metallic = 0.0;
            out.metallic_roughness_tex = None;
            out.roughness = 1.0 - unit(sg.glossiness_factor, 1.0);
        }
        if let Some(n) = &m.normal_texture {
            out.normal_tex = tex_ref(n, false, notes);
            out.normal_scale = n.scale.filter(|x| x.is_finite()).unwrap_or(1.0);
        }
        if let Some(o) = &m.occlusion_texture {
            out.occlusion_tex = tex_ref(o, false, notes);
            out.occlusion_strength = unit(o.strength, 1.0);
        }
        out.emissive_tex = m
            .emissive_texture
            .as_ref()
            .and_then(|t| tex_ref(t, true, notes));
        if let Some(e) = m
            .emissive_factor
            .filter(|f| f.iter().all(|x| x.is_finite()))
        {
            let strength = ext("KHR_materials_emissive_strength")
                .and_then(|s| s.get("emissiveStrength"))
                .and_then(Value::as_f64)
                .unwrap_or(1.0) as f32;
            out.emissive = [e[0] * strength, e[1] * strength, e[2] * strength];
        }
        out.alpha_mode = match m.alpha_mode.as_deref() {
            None | Some("OPAQUE") => AlphaMode::Opaque,
            Some("MASK") => {
                AlphaMode::Mask(m.alpha_cutoff.filter(|c| c.is_finite()).unwrap_or(0.5))
            }
            Some("BLEND") => AlphaMode::Blend,
            Some(other) => {
                notes.warnings.push(format!(
                    "material {mi}: unknown alphaMode '{other}', using OPAQUE"
                ));
                AlphaMode::Opaque
            }
        };
        out.double_sided = m.double_sided;
        match &shaders[mi] {
            vrm::Shader::Toon(b) => {
                let (toon, t) = &**b;
                out.toon = Some(Toon {
                    shade_tex: t.shade.as_ref().and_then(|t| tex_ref(t, true, notes)),
                    uv_mask_tex: t.uv_mask.as_ref().and_then(|t| tex_ref(t, false, notes)),
                    shading_shift_tex: (t.shading_shift.as_ref())
                        .and_then(|t| tex_ref(t, false, notes)),
                    shading_grade_tex: (t.shading_grade.as_ref())
                        .and_then(|t| tex_ref(t, false, notes)),
                    matcap_tex: t.matcap.as_ref().and_then(|t| tex_ref(t, true, notes)),
                    rim_tex: t.rim.as_ref().and_then(|t| tex_ref(t, true, notes)),
                    outline: toon.outline.as_ref().map(|o| Outline {
                        width_tex: t
                            .outline_width
                            .as_ref()
                            .and_then(|t| tex_ref(t, false, notes)),
                        ..o.clone()
                    }),
                    ..toon.clone()
                });
            }
            vrm::Shader::Unlit => out.unlit = true,
            vrm::Shader::None => out.unlit = ext("KHR_materials_unlit").is_some(),
        }
        materials.push(out);
    }
    (materials, textures)
}

/// A factor in 0..1: `x` clamped, `default` when absent or not finite.
fn unit(x: Option<f32>, default: f32) -> f32 {
    x.filter(|x| x.is_finite())
        .unwrap_or(default)
        .clamp(0.0, 1.0)
}

/// Decode all requests, spreading them over a few threads.
fn decode_all(requests: &[Request<'_>]) -> Vec<Result<Texture, String>> {
    let n = requests.len();
    let results: Vec<Mutex<Option<Result<Texture, String>>>> =
        (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(r) = requests.get(i) else { break };
        let t = decode_texture(r);
        if let Ok(mut slot) = results[i].lock() {
            *slot = Some(t);
        }
    };
    let threads = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1)
        .min(4)
        .min(n);
    std::thread::scope(|s| {
        for _ in 1..threads {
            // on spawn failure the remaining work simply runs on this thread
            let _ = std::thread::Builder::new()
                .name("facecast-texture".into())
                .spawn_scoped(s, work);
        }
        work();
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err("decoder thread failed".into()))
        })
        .collect()
}

fn image_format(fmt: ImgFmt) -> Option<image::ImageFormat> {
    match fmt {
        ImgFmt::Png => Some(image::ImageFormat::Png),
        ImgFmt::Jpeg => Some(image::ImageFormat::Jpeg),
        ImgFmt::WebP => Some(image::ImageFormat::WebP),
        ImgFmt::Ktx2 | ImgFmt::Other => None,
    }
}

fn decode_texture(r: &Request<'_>) -> Result<Texture, String> {
    let fmt = ImgFmt::sniff(&r.bytes);
    if fmt == ImgFmt::Ktx2 {
        // Side and texel budget were checked against the header before the request was made.
        let (w, h, rgba) = crate::ktx2::decode(&r.bytes)?;
        return Ok(Texture {
            wrap_s: r.wrap_s,
            wrap_t: r.wrap_t,
            nearest: r.nearest,
            ..Texture::from_levels(r.name.clone(), build_mips(w, h, rgba, r.srgb))
        });
    }
    let format = image_format(fmt).ok_or_else(|| {
        "unsupported image format (only PNG, JPEG, WebP and KTX2/Basis Universal are decoded)"
            .to_string()
    })?;
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(&r.bytes[..]), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_TEXTURE_SIDE);
    limits.max_image_height = Some(MAX_TEXTURE_SIDE);
    limits.max_alloc = Some(MAX_TOTAL_TEXELS * 4);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| e.to_string())?;
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    if w == 0 || h == 0 {
        return Err("image has zero size".into());
    }
    Ok(Texture {
        wrap_s: r.wrap_s,
        wrap_t: r.wrap_t,
        nearest: r.nearest,
        ..Texture::from_levels(r.name.clone(), build_mips(w, h, rgba.into_raw(), r.srgb))
    })
}

/// sRGB-encoded value (0..1) -> linear.
pub(crate) fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// sRGB byte -> linear lookup.
fn srgb_to_linear_lut() -> &'static [f32; 256] {
    static LUT: OnceLock<[f32; 256]> = OnceLock::new();
    LUT.get_or_init(|| {
        let mut t = [0.0f32; 256];
        for (i, v) in t.iter_mut().enumerate() {
            *v = srgb_to_linear(i as f32 / 255.0);
        }
        t
    })
}

const ENC_STEPS: usize = 8192;

/// Linear [0, 1] (quantised to 1/8192) -> sRGB byte.
fn linear_to_srgb_lut() -> &'static [u8] {
    static LUT: OnceLock<Vec<u8>> = OnceLock::new();
    LUT.get_or_init(|| {
        (0..=ENC_STEPS)
            .map(|i| {
                let l = i as f32 / ENC_STEPS as f32;
                let c = if l <= 0.003_130_8 {
                    l * 12.92
                } else {
                    1.055 * l.powf(1.0 / 2.4) - 0.055
                };
                (c * 255.0 + 0.5).clamp(0.0, 255.0) as u8
            })
            .collect()
    })
}

/// Full mip chain down to 1x1 with a 2x2 box filter (colour averaged in linear light when `srgb`):
/// `(width, height, RGBA8 rows)` per level, `rgba` first.
pub(crate) fn build_mips(w: u32, h: u32, rgba: Vec<u8>, srgb: bool) -> Vec<(u32, u32, Vec<u8>)> {
    let mut mips = vec![(w, h, rgba)];
    let dec = srgb_to_linear_lut();
    let enc = linear_to_srgb_lut();
    loop {
        let (pw, ph, src) = &mips[mips.len() - 1];
        let (pw, ph) = (*pw as usize, *ph as usize);
        if pw == 1 && ph == 1 {
            break;
        }
        let (nw, nh) = ((pw / 2).max(1), (ph / 2).max(1));
        let mut data = vec![0u8; nw * nh * 4];
        for y in 0..nh {
            let y0 = (2 * y).min(ph - 1);
            let y1 = (2 * y + 1).min(ph - 1);
            for x in 0..nw {
                let x0 = (2 * x).min(pw - 1);
                let x1 = (2 * x + 1).min(pw - 1);
                let p = [
                    (y0 * pw + x0) * 4,
                    (y0 * pw + x1) * 4,
                    (y1 * pw + x0) * 4,
                    (y1 * pw + x1) * 4,
                ];
                let o = (y * nw + x) * 4;
                for c in 0..4 {
                    if srgb && c < 3 {
                        let s: f32 =
                            p.iter().map(|&i| dec[src[i + c] as usize]).sum::<f32>() * 0.25;
                        data[o + c] = enc[((s * ENC_STEPS as f32 + 0.5) as usize).min(ENC_STEPS)];
                    } else {
                        let s: u32 = p.iter().map(|&i| src[i + c] as u32).sum();
                        data[o + c] = ((s + 2) / 4) as u8;
                    }
                }
            }
        }
        mips.push((nw as u32, nh as u32, data));
    }
    mips
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mip_chain_is_complete_and_srgb_aware() {
        // 4x2 checker of black and white: linear average is 0.5 -> sRGB ~188, not 128
        let mut px = Vec::new();
        for i in 0..8 {
            let v = if i % 2 == 0 { 0 } else { 255 };
            px.extend_from_slice(&[v, v, v, 255]);
        }
        let m = build_mips(4, 2, px.clone(), true);
        assert_eq!(
            m.iter().map(|l| (l.0, l.1)).collect::<Vec<_>>(),
            vec![(4, 2), (2, 1), (1, 1)]
        );
        assert_eq!(m[0].2, px, "level 0 is the image");
        assert!((186..=190).contains(&m[1].2[0]), "{}", m[1].2[0]);
        assert_eq!(m[1].2[3], 255);
        let lin = build_mips(4, 2, px, false);
        assert_eq!(lin[1].2[0], 128);
    }

    #[test]
    fn odd_sizes_reach_1x1() {
        let m = build_mips(5, 3, vec![7u8; 5 * 3 * 4], true);
        assert_eq!(m.last().map(|l| (l.0, l.1)), Some((1, 1)));
        assert!(m
            .iter()
            .all(|l| l.2.len() == (l.0 * l.1 * 4) as usize && l.2.iter().all(|&v| v == 7)));
    }
}
