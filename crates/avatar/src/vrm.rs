//! VRM 0.x (`extensions.VRM`) and VRM 1.0 (`extensions.VRMC_vrm`): expressions and humanoid bones.

use crate::gltf;
use crate::material::srgb_to_linear;
use facecast_core::model::{
    Bind, ColorBind, ColorTarget, ExprOverride, Expression, Humanoid, LookAt, Outline, OutlineMode,
    RangeMap, TextureBind, Toon,
};
use serde_json::Value;
use std::collections::HashMap;

/// What the VRM extension contributed.
#[derive(Default)]
pub(crate) struct VrmData {
    pub version: Option<String>,
    pub expressions: Vec<Expression>,
    pub humanoid: Humanoid,
    /// VRM 0.x `materialProperties` entries of MToon / unlit shaders, by material name.
    pub v0_materials: Vec<(String, Value)>,
    /// Eye-gaze settings.
    pub look_at: Option<LookAt>,
}

/// A range map from `v`'s `input` / `output` keys (VRM 1.0 `inputMaxValue` / `outputScale`,
/// VRM 0.x `xRange` / `yRange`), with `output` defaulting to `default_out`.
fn range_map(v: Option<&Value>, input: &str, output: &str, default_out: f32) -> RangeMap {
    let get = |k: &str| {
        v.and_then(|v| v.get(k))
            .and_then(Value::as_f64)
            .filter(|x| x.is_finite())
            .map(|x| x as f32)
    };
    RangeMap {
        input_max_deg: get(input).filter(|&x| x > 1e-3).unwrap_or(90.0).min(180.0),
        output_scale: get(output).unwrap_or(default_out).clamp(0.0, 90.0),
    }
}

/// Eye-gaze settings: bone rotations default to 10 degrees at 90 degrees of gaze, expression
/// weights to 1.
fn look_at(bones: bool, maps: [Option<&Value>; 4], input: &str, output: &str) -> LookAt {
    let d = if bones { 10.0 } else { 1.0 };
    let [hi, ho, vd, vu] = maps.map(|m| range_map(m, input, output, d));
    LookAt {
        bones,
        horizontal_inner: hi,
        horizontal_outer: ho,
        vertical_down: vd,
        vertical_up: vu,
    }
}

/// VRM 0.x preset names -> VRM 1.0 preset names (facecast stores the 1.0 spelling).
const VRM0_PRESETS: &[(&str, &str)] = &[
    ("a", "aa"),
    ("i", "ih"),
    ("u", "ou"),
    ("e", "ee"),
    ("o", "oh"),
    ("blink", "blink"),
    ("blink_l", "blinkLeft"),
    ("blink_r", "blinkRight"),
    ("joy", "happy"),
    ("angry", "angry"),
    ("sorrow", "sad"),
    ("fun", "relaxed"),
    ("surprised", "surprised"),
    ("lookup", "lookUp"),
    ("lookdown", "lookDown"),
    ("lookleft", "lookLeft"),
    ("lookright", "lookRight"),
    ("neutral", "neutral"),
];

/// VRM 1.0 preset names.
const VRM1_PRESETS: &[&str] = &[
    "happy",
    "angry",
    "sad",
    "relaxed",
    "surprised",
    "aa",
    "ih",
    "ou",
    "ee",
    "oh",
    "blink",
    "blinkLeft",
    "blinkRight",
    "lookUp",
    "lookDown",
    "lookLeft",
    "lookRight",
    "neutral",
];

fn node_index(v: Option<&Value>, n_nodes: usize) -> Option<u32> {
    v.and_then(Value::as_u64)
        .filter(|&i| (i as usize) < n_nodes)
        .map(|i| i as u32)
}

fn set_bone(h: &mut Humanoid, bone: &str, node: u32) {
    match bone {
        "head" => h.head = Some(node),
        "neck" => h.neck = Some(node),
        "leftEye" => h.left_eye = Some(node),
        "rightEye" => h.right_eye = Some(node),
        "jaw" => h.jaw = Some(node),
        _ => {}
    }
}

fn num(v: Option<&Value>) -> f32 {
    v.and_then(Value::as_f64)
        .filter(|x| x.is_finite())
        .unwrap_or(0.0) as f32
}

pub(crate) fn arr(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

/// `n` finite numbers from a JSON array of at least `n`.
fn floats<const N: usize>(v: Option<&Value>) -> Option<[f32; N]> {
    let a = v?.as_array()?;
    let mut out = [0.0f32; N];
    for (o, x) in out.iter_mut().zip(a) {
        *o = x.as_f64().filter(|x| x.is_finite())? as f32;
    }
    (a.len() >= N).then_some(out)
}

fn expr_override(v: Option<&Value>) -> ExprOverride {
    match v.and_then(Value::as_str) {
        Some("block") => ExprOverride::Block,
        Some("blend") => ExprOverride::Blend,
        _ => ExprOverride::None,
    }
}

/// VRM 1.0 `materialColorBinds` and `textureTransformBinds`; binds naming a material that does
/// not exist or holding malformed values are counted in `bad`.
fn material_binds_v1(
    e: &Value,
    n_materials: usize,
    bad: &mut usize,
) -> (Vec<ColorBind>, Vec<TextureBind>) {
    let material = |b: &Value| {
        b.get("material")
            .and_then(Value::as_u64)
            .filter(|&m| (m as usize) < n_materials)
            .map(|m| m as u32)
    };
    let mut colors = Vec::new();
    for b in arr(e.get("materialColorBinds")) {
        let target = match b.get("type").and_then(Value::as_str) {
            Some("color") => Some(ColorTarget::Color),
            Some("emissionColor") => Some(ColorTarget::Emission),
            Some("shadeColor") => Some(ColorTarget::Shade),
            Some("matcapColor") => Some(ColorTarget::Matcap),
            Some("rimColor") => Some(ColorTarget::Rim),
            Some("outlineColor") => Some(ColorTarget::Outline),
            _ => None,
        };
        let value = floats::<4>(b.get("targetValue"))
            .or_else(|| floats::<3>(b.get("targetValue")).map(|[r, g, b]| [r, g, b, 1.0]));
        match (material(b), target, value) {
            (Some(material), Some(target), Some(value)) => colors.push(ColorBind {
                material,
                target,
                value,
            }),
            _ => *bad += 1,
        }
    }
    let mut textures = Vec::new();
    for b in arr(e.get("textureTransformBinds")) {
        let scale = match b.get("scale") {
            None => Some([1.0, 1.0]),
            v => floats::<2>(v),
        };
        let offset = match b.get("offset") {
            None => Some([0.0, 0.0]),
            v => floats::<2>(v),
        };
        match (material(b), scale, offset) {
            (Some(material), Some(scale), Some(offset)) => textures.push(TextureBind {
                material,
                scale,
                offset,
            }),
            _ => *bad += 1,
        }
    }
    (colors, textures)
}

/// VRM 0.x `materialValues`: colours are Unity sRGB colours (made linear here) and `_MainTex_ST`
/// is Unity's (scale x, scale y, offset x, offset y) with V pointing up (flipped to glTF's).
fn material_binds_v0(
    g: &Value,
    root: &gltf::Root,
    bad: &mut usize,
) -> (Vec<ColorBind>, Vec<TextureBind>) {
    let (mut colors, mut textures) = (Vec::new(), Vec::new());
    for b in arr(g.get("materialValues")) {
        let material = b.get("materialName").and_then(Value::as_str).and_then(|n| {
            root.materials
                .iter()
                .position(|m| m.name.as_deref() == Some(n))
                .map(|i| i as u32)
        });
        let value = floats::<4>(b.get("targetValue"));
        let prop = b.get("propertyName").and_then(Value::as_str).unwrap_or("");
        let target = match prop {
            "_Color" => Some(ColorTarget::Color),
            "_EmissionColor" => Some(ColorTarget::Emission),
            "_ShadeColor" => Some(ColorTarget::Shade),
            "_RimColor" => Some(ColorTarget::Rim),
            "_OutlineColor" => Some(ColorTarget::Outline),
            _ => None,
        };
        match (material, value) {
            (Some(material), Some(v)) if prop == "_MainTex_ST" => textures.push(TextureBind {
                material,
                scale: [v[0], v[1]],
                offset: [v[2], 1.0 - v[3] - v[1]],
            }),
            (Some(material), Some(v)) if target.is_some() => colors.push(ColorBind {
                material,
                target: target.unwrap_or(ColorTarget::Color),
                value: [
                    srgb_to_linear(v[0]),
                    srgb_to_linear(v[1]),
                    srgb_to_linear(v[2]),
                    v[3],
                ],
            }),
            _ => *bad += 1,
        }
    }
    (colors, textures)
}

/// Read the VRM extension if present. `channel_of` maps (mesh, morph target) to a channel.
pub(crate) fn read(
    root: &gltf::Root,
    channel_of: &HashMap<(u32, u32), u32>,
    warnings: &mut Vec<String>,
) -> VrmData {
    let mut out = VrmData::default();
    let Some(ext) = root.extensions.as_ref() else {
        return out;
    };
    let n_nodes = root.nodes.len();
    let mut missing_binds = 0usize;
    let mut bad_material_binds = 0usize;
    let mut bind = |mesh: Option<u64>, index: Option<u64>, weight: f32, binds: &mut Vec<Bind>| {
        let ch = mesh
            .zip(index)
            .and_then(|(m, i)| Some((u32::try_from(m).ok()?, u32::try_from(i).ok()?)))
            .and_then(|k| channel_of.get(&k));
        match ch {
            Some(&c) => {
                let w = weight.clamp(0.0, 1.0);
                if let Some(b) = binds.iter_mut().find(|b| b.0 == c) {
                    b.1 = (b.1 + w).min(1.0);
                } else {
                    binds.push((c, w));
                }
            }
            None => missing_binds += 1,
        }
    };
    if let Some(v1) = ext.get("VRMC_vrm") {
        out.version = Some(
            v1.get("specVersion")
                .and_then(Value::as_str)
                .unwrap_or("1.0")
                .to_string(),
        );
        if let Some(bones) = v1
            .get("humanoid")
            .and_then(|h| h.get("humanBones"))
            .and_then(Value::as_object)
        {
            for (bone, b) in bones {
                if let Some(n) = node_index(b.get("node"), n_nodes) {
                    set_bone(&mut out.humanoid, bone, n);
                }
            }
        }
        if let Some(la) = v1.get("lookAt") {
            let bones = la.get("type").and_then(Value::as_str) != Some("expression");
            let m = |k: &str| la.get(k);
            out.look_at = Some(look_at(
                bones,
                [
                    m("rangeMapHorizontalInner"),
                    m("rangeMapHorizontalOuter"),
                    m("rangeMapVerticalDown"),
                    m("rangeMapVerticalUp"),
                ],
                "inputMaxValue",
                "outputScale",
            ));
        }
        let exprs = v1.get("expressions");
        for (group, is_preset) in [("preset", true), ("custom", false)] {
            let Some(map) = exprs.and_then(|e| e.get(group)).and_then(Value::as_object) else {
                continue;
            };
            for (name, e) in map {
                let mut binds = Vec::new();
                for b in e
                    .get("morphTargetBinds")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let mesh = b
                        .get("node")
                        .and_then(Value::as_u64)
                        .and_then(|n| root.nodes.get(n as usize))
                        .and_then(|n| n.mesh)
                        .map(|m| m as u64);
                    bind(
                        mesh,
                        b.get("index").and_then(Value::as_u64),
                        num(b.get("weight")),
                        &mut binds,
                    );
                }
                let preset =
                    (is_preset && VRM1_PRESETS.contains(&name.as_str())).then(|| name.clone());
                let (color_binds, texture_binds) =
                    material_binds_v1(e, root.materials.len(), &mut bad_material_binds);
                out.expressions.push(Expression {
                    name: name.clone(),
                    preset,
                    binds,
                    is_binary: e.get("isBinary").and_then(Value::as_bool).unwrap_or(false),
                    override_blink: expr_override(e.get("overrideBlink")),
                    override_look_at: expr_override(e.get("overrideLookAt")),
                    override_mouth: expr_override(e.get("overrideMouth")),
                    color_binds,
                    texture_binds,
                });
            }
        }
    } else if let Some(v0) = ext.get("VRM") {
        out.version = Some("0.x".to_string());
        for b in v0
            .get("humanoid")
            .and_then(|h| h.get("humanBones"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(bone), Some(n)) = (
                b.get("bone").and_then(Value::as_str),
                node_index(b.get("node"), n_nodes),
            ) {
                set_bone(&mut out.humanoid, bone, n);
            }
        }
        if let Some(fp) = v0.get("firstPerson") {
            let bones = fp.get("lookAtTypeName").and_then(Value::as_str) != Some("BlendShape");
            let m = |k: &str| fp.get(k);
            out.look_at = Some(look_at(
                bones,
                [
                    m("lookAtHorizontalInner"),
                    m("lookAtHorizontalOuter"),
                    m("lookAtVerticalDown"),
                    m("lookAtVerticalUp"),
                ],
                "xRange",
                "yRange",
            ));
        }
        let groups = v0
            .get("blendShapeMaster")
            .and_then(|m| m.get("blendShapeGroups"))
            .and_then(Value::as_array);
        for g in groups.into_iter().flatten() {
            let mut binds = Vec::new();
            for b in g
                .get("binds")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let w = num(b.get("weight")) / 100.0;
                bind(
                    b.get("mesh").and_then(Value::as_u64),
                    b.get("index").and_then(Value::as_u64),
                    w,
                    &mut binds,
                );
            }
            let raw_preset = g
                .get("presetName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let preset = VRM0_PRESETS
                .iter()
                .find(|(p, _)| *p == raw_preset)
                .map(|(_, p1)| p1.to_string());
            let name = g
                .get("name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .or_else(|| preset.clone())
                .unwrap_or_else(|| format!("expression {}", out.expressions.len()));
            let (color_binds, texture_binds) = material_binds_v0(g, root, &mut bad_material_binds);
            out.expressions.push(Expression {
                name,
                preset,
                binds,
                is_binary: g.get("isBinary").and_then(Value::as_bool).unwrap_or(false),
                color_binds,
                texture_binds,
                ..Default::default()
            });
        }
        for m in v0
            .get("materialProperties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let shader = m.get("shader").and_then(Value::as_str).unwrap_or("");
            if shader.starts_with("VRM/MToon") || shader.starts_with("VRM/Unlit") {
                if let Some(n) = m.get("name").and_then(Value::as_str) {
                    out.v0_materials.push((n.to_string(), m.clone()));
                }
            }
        }
    }
    if bad_material_binds > 0 {
        warnings.push(format!("{bad_material_binds} VRM expression material bind(s) name a material that does not exist or hold malformed values; ignored"));
    }
    if missing_binds > 0 {
        warnings.push(format!("{missing_binds} VRM expression bind(s) refer to morph targets that do not exist; ignored"));
    }
    out
}

/// An outline of `mode` and `width` (clamped to 0..0.1: 10 cm, or a tenth of the picture), or
/// none (no mode, or no width).
fn outline(mode: Option<OutlineMode>, width: f32, color: [f32; 3], mix: f32) -> Option<Outline> {
    let width = width.clamp(0.0, 0.1);
    (width > 0.0).then_some(())?;
    Some(Outline {
        mode: mode?,
        width,
        width_tex: None,
        color,
        lighting_mix: mix.clamp(0.0, 1.0),
    })
}

/// How a VRM file asks a material to be drawn.
pub(crate) enum Shader {
    /// Not a VRM material (glTF's own model, or `KHR_materials_unlit`).
    None,
    /// VRM 0.x `VRM/Unlit*`.
    Unlit,
    /// MToon, with its textures (drawn with `KHR_texture_transform` if they have one).
    Toon(Box<(Toon, ToonTextures)>),
}

/// The glTF textures an MToon material names besides the core glTF ones.
#[derive(Default)]
pub(crate) struct ToonTextures {
    /// `shadeMultiplyTexture` (sRGB).
    pub shade: Option<gltf::TextureInfo>,
    /// `uvAnimationMaskTexture` (linear).
    pub uv_mask: Option<gltf::TextureInfo>,
    /// `outlineWidthMultiplyTexture` (linear).
    pub outline_width: Option<gltf::TextureInfo>,
    /// `shadingShiftTexture` (linear).
    pub shading_shift: Option<gltf::TextureInfo>,
    /// VRM 0.x `_ShadingGradeTexture` (linear).
    pub shading_grade: Option<gltf::TextureInfo>,
    /// `matcapTexture` (sRGB).
    pub matcap: Option<gltf::TextureInfo>,
    /// `rimMultiplyTexture` (sRGB).
    pub rim: Option<gltf::TextureInfo>,
}

/// The shader of material `m`: VRM 1.0's `VRMC_materials_mtoon` (which takes the place of the
/// `KHR_materials_unlit` fallback MToon files carry), or VRM 0.x's `materialProperties` entry of
/// the same name.
pub(crate) fn material_shader(m: &gltf::Material, v0_materials: &[(String, Value)]) -> Shader {
    let num = |v: &Value, k: &str, d: f32| -> f32 {
        v.get(k)
            .and_then(Value::as_f64)
            .map(|x| x as f32)
            .filter(|x| x.is_finite())
            .unwrap_or(d)
    };
    // A colour of three or more numbers (more are ignored); malformed: the default.
    let rgb = |v: &Value, k: &str, d: [f32; 3], srgb: bool| -> [f32; 3] {
        floats::<3>(v.get(k)).map_or(d, |c| {
            c.map(|x| {
                if srgb {
                    srgb_to_linear(x.clamp(0.0, 1.0))
                } else {
                    x.max(0.0)
                }
            })
        })
    };
    // UV animation speeds: finite, at most 1000 (UV units or radians) per second.
    let speed = |v: &Value, k: &str| num(v, k, 0.0).clamp(-1000.0, 1000.0);
    if let Some(e) = m
        .extensions
        .as_ref()
        .and_then(|e| e.get("VRMC_materials_mtoon"))
    {
        let d = Toon::default();
        let tex = |k: &str| {
            e.get(k)
                .and_then(|t| serde_json::from_value::<gltf::TextureInfo>(t.clone()).ok())
        };
        let shading_shift = tex("shadingShiftTexture");
        let toon = Toon {
            shade_color: rgb(e, "shadeColorFactor", d.shade_color, false),
            shade_tex: None,
            shading_shift: num(e, "shadingShiftFactor", d.shading_shift).clamp(-1.0, 1.0),
            shading_shift_tex: None,
            shading_shift_scale: (shading_shift.as_ref())
                .and_then(|t| t.scale)
                .filter(|s| s.is_finite())
                .map_or(d.shading_shift_scale, |s| s.clamp(-2.0, 2.0)),
            shading_grade_tex: None,
            shading_grade_rate: d.shading_grade_rate,
            shading_toony: num(e, "shadingToonyFactor", d.shading_toony).clamp(0.0, 1.0),
            gi_equalization: num(e, "giEqualizationFactor", d.gi_equalization).clamp(0.0, 1.0),
            rim_color: rgb(e, "parametricRimColorFactor", d.rim_color, false),
            rim_fresnel_power: num(e, "parametricRimFresnelPowerFactor", d.rim_fresnel_power)
                .clamp(0.0, 100.0),
            rim_lift: num(e, "parametricRimLiftFactor", d.rim_lift).clamp(-1.0, 1.0),
            matcap_color: rgb(e, "matcapFactor", d.matcap_color, false),
            matcap_tex: None,
            rim_tex: None,
            rim_lighting_mix: num(e, "rimLightingMixFactor", d.rim_lighting_mix).clamp(0.0, 1.0),
            uv_scroll: [
                speed(e, "uvAnimationScrollXSpeedFactor"),
                speed(e, "uvAnimationScrollYSpeedFactor"),
            ],
            uv_rotation: speed(e, "uvAnimationRotationSpeedFactor"),
            uv_mask_tex: None,
            outline: outline(
                match e.get("outlineWidthMode").and_then(Value::as_str) {
                    Some("worldCoordinates") => Some(OutlineMode::World),
                    Some("screenCoordinates") => Some(OutlineMode::Screen),
                    _ => None,
                },
                num(e, "outlineWidthFactor", 0.0),
                rgb(e, "outlineColorFactor", [0.0; 3], false),
                num(e, "outlineLightingMixFactor", 1.0),
            ),
        };
        return Shader::Toon(Box::new((
            toon,
            ToonTextures {
                shade: tex("shadeMultiplyTexture"),
                uv_mask: tex("uvAnimationMaskTexture"),
                outline_width: tex("outlineWidthMultiplyTexture"),
                shading_shift,
                shading_grade: None,
                matcap: tex("matcapTexture"),
                rim: tex("rimMultiplyTexture"),
            },
        )));
    }
    let name = m.name.as_deref().unwrap_or("");
    let Some((_, p)) = v0_materials
        .iter()
        .find(|(n, _)| !name.is_empty() && n == name)
    else {
        return Shader::None;
    };
    let shader = p.get("shader").and_then(Value::as_str).unwrap_or("");
    if !shader.starts_with("VRM/MToon") {
        return Shader::Unlit;
    }
    // VRM 0.x MToon (Unity's colours are sRGB), converted as UniVRM's migration to 1.0 does:
    // 0.x lights from `_ShadeShift` to `lerp(1, _ShadeShift, _ShadeToony)`; 1.0's toony factor
    // is that range's margin and its shift the range's centre, negated.
    let null = Value::Null;
    let (fp, vp, tp) = (
        p.get("floatProperties").unwrap_or(&null),
        p.get("vectorProperties").unwrap_or(&null),
        p.get("textureProperties").unwrap_or(&null),
    );
    let toony0 = num(fp, "_ShadeToony", 0.9).clamp(0.0, 1.0);
    let shift0 = num(fp, "_ShadeShift", 0.0).clamp(-1.0, 1.0);
    let (lo, hi) = (shift0, 1.0 + (shift0 - 1.0) * toony0);
    let toon = Toon {
        shade_color: rgb(vp, "_ShadeColor", [0.97, 0.81, 0.86], true),
        shade_tex: None,
        shading_shift: (-(lo + hi) * 0.5).clamp(-1.0, 1.0),
        // 0.x's shading grade texture multiplies the light; it has no 1.0 shift (the texture
        // is kept as `shading_grade_tex`).
        shading_shift_tex: None,
        shading_shift_scale: 1.0,
        shading_grade_tex: None,
        shading_grade_rate: num(fp, "_ShadingGradeRate", 1.0).clamp(0.0, 1.0),
        shading_toony: ((2.0 - (hi - lo)) * 0.5).clamp(0.0, 1.0),
        gi_equalization: (1.0 - num(fp, "_IndirectLightIntensity", 0.1)).clamp(0.0, 1.0),
        rim_color: rgb(vp, "_RimColor", [0.0; 3], true),
        rim_fresnel_power: num(fp, "_RimFresnelPower", 1.0).clamp(0.0, 100.0),
        rim_lift: num(fp, "_RimLift", 0.0).clamp(-1.0, 1.0),
        // `_SphereAdd`, the 0.x matcap, is added as it is.
        matcap_color: [1.0; 3],
        matcap_tex: None,
        rim_tex: None,
        rim_lighting_mix: num(fp, "_RimLightingMix", 0.0).clamp(0.0, 1.0),
        // Unity's V grows upwards: 0.x's Y scroll is negated (as UniVRM's migration does).
        uv_scroll: [speed(fp, "_UvAnimScrollX"), -speed(fp, "_UvAnimScrollY")],
        uv_rotation: speed(fp, "_UvAnimRotation"),
        uv_mask_tex: None,
        // 0.x widths are centimetres (of world or of the picture's height); the colour is fixed
        // unless `_OutlineColorMode` is 1 (mixed with the lighting).
        outline: outline(
            match num(fp, "_OutlineWidthMode", 0.0) as i32 {
                1 => Some(OutlineMode::World),
                2 => Some(OutlineMode::Screen),
                _ => None,
            },
            num(fp, "_OutlineWidth", 0.0) * 0.01,
            rgb(vp, "_OutlineColor", [0.0; 3], true),
            if num(fp, "_OutlineColorMode", 0.0) as i32 == 1 {
                num(fp, "_OutlineLightingMix", 1.0)
            } else {
                0.0
            },
        ),
    };
    let tex = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| tp.get(*k).and_then(Value::as_u64))
            .map(|i| gltf::TextureInfo {
                index: i as usize,
                ..Default::default()
            })
    };
    Shader::Toon(Box::new((
        toon,
        ToonTextures {
            // No shade texture: UniVRM's migration multiplies the shade by the main texture.
            shade: tex(&["_ShadeTexture", "_MainTex"]),
            uv_mask: tex(&["_UvAnimMaskTexture"]),
            outline_width: tex(&["_OutlineWidthTexture"]),
            shading_shift: None,
            shading_grade: tex(&["_ShadingGradeTexture"]),
            matcap: tex(&["_SphereAdd"]),
            rim: tex(&["_RimTexture"]),
        },
    )))
}
