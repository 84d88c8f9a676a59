//! VRM expressions at run time: per-expression weights → morph channel weights and the material
//! values expressions change, with VRM 1.0's rules.
//!
//! - `isBinary`: a weight above 0.5 counts as 1, any other as 0.
//! - `overrideBlink` / `overrideLookAt` / `overrideMouth`: while an expression is active it
//!   turns the blink (`blink blinkLeft blinkRight`), look (`lookUp lookDown lookLeft lookRight`)
//!   or mouth (`aa ih ou ee oh`) expressions down: `block` to 0 at any weight above 0, `blend`
//!   by its weight. The overrides of all expressions add up; the multiplier is
//!   `max(0, 1 - sum)` ([`Suppression`]). [`Suppression::apply_to_face`] applies the same
//!   multipliers to the canonical blink, eye-look and viseme weights, so an expression such as
//!   a closed-eye smile also stops the animation's blinks.
//! - Morph binds add `weight × bind weight` to their channel; channels end clamped to 0..1.
//! - Material colour binds move a colour from the material's own value toward the bind's value
//!   by the weight, and texture-transform binds move the textures' scale and offset the same way
//!   ([`MaterialValues`]); several binds on one material add their moves.
//! - Blink, look and mouth presets reach the morphs through the face rig's slots; their
//!   material binds follow the canonical weights ([`crate::model::FaceRig::expr_drives`],
//!   applied by [`resolve_face`]).
//!
//! Allocation: [`apply_expressions`] resizes its output vectors to the avatar's sizes and
//! allocates nothing once they have those sizes.

use crate::face::{ArkitShape, FaceWeights};
use crate::model::{Avatar, ColorTarget, ExprOverride, Expression, Material};

/// What an expression belongs to, for the override rules.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExprGroup {
    /// `blink`, `blinkLeft`, `blinkRight`.
    Blink,
    /// `lookUp`, `lookDown`, `lookLeft`, `lookRight`.
    LookAt,
    /// `aa`, `ih`, `ou`, `ee`, `oh`.
    Mouth,
    /// Everything else (emotions, custom expressions).
    Other,
}

impl ExprGroup {
    /// The group of an expression, from its VRM 1.0 preset.
    pub fn of(e: &Expression) -> ExprGroup {
        match e.preset.as_deref() {
            Some("blink" | "blinkLeft" | "blinkRight") => ExprGroup::Blink,
            Some("lookUp" | "lookDown" | "lookLeft" | "lookRight") => ExprGroup::LookAt,
            Some("aa" | "ih" | "ou" | "ee" | "oh") => ExprGroup::Mouth,
            _ => ExprGroup::Other,
        }
    }
}

/// The weight an expression applies for input weight `w` (clamped to 0..1; rounded when binary).
pub fn output_weight(e: &Expression, w: f32) -> f32 {
    let w = if w.is_finite() {
        w.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if e.is_binary {
        if w > 0.5 {
            1.0
        } else {
            0.0
        }
    } else {
        w
    }
}

/// Multipliers the active expressions' overrides put on the blink, look and mouth groups.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Suppression {
    /// Multiplier of the blink expressions (and the canonical eye blinks).
    pub blink: f32,
    /// Multiplier of the look expressions (and the canonical eye-look shapes).
    pub look_at: f32,
    /// Multiplier of the mouth expressions (and the canonical visemes).
    pub mouth: f32,
}

impl Default for Suppression {
    fn default() -> Self {
        Suppression {
            blink: 1.0,
            look_at: 1.0,
            mouth: 1.0,
        }
    }
}

impl Suppression {
    /// The multipliers for expression weights `weights` (indexed like `exprs`; missing = 0).
    pub fn of(exprs: &[Expression], weights: &[f32]) -> Suppression {
        let amount = |o: ExprOverride, w: f32| match o {
            ExprOverride::None => 0.0,
            ExprOverride::Block => {
                if w > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            ExprOverride::Blend => w,
        };
        let (mut b, mut l, mut m) = (1.0f32, 1.0f32, 1.0f32);
        for (e, &w) in exprs.iter().zip(weights) {
            let w = output_weight(e, w);
            b -= amount(e.override_blink, w);
            l -= amount(e.override_look_at, w);
            m -= amount(e.override_mouth, w);
        }
        Suppression {
            blink: b.max(0.0),
            look_at: l.max(0.0),
            mouth: m.max(0.0),
        }
    }

    /// Multiplier for an expression of group `g`.
    pub fn factor(&self, g: ExprGroup) -> f32 {
        match g {
            ExprGroup::Blink => self.blink,
            ExprGroup::LookAt => self.look_at,
            ExprGroup::Mouth => self.mouth,
            ExprGroup::Other => 1.0,
        }
    }

    /// Scale the canonical weights the groups stand for: eye blinks, the eight eye-look shapes
    /// and the visemes.
    pub fn apply_to_face(&self, face: &mut FaceWeights) {
        use ArkitShape::*;
        for s in [EyeBlinkLeft, EyeBlinkRight] {
            face.set(s, face.get(s) * self.blink);
        }
        for s in [
            EyeLookDownLeft,
            EyeLookInLeft,
            EyeLookOutLeft,
            EyeLookUpLeft,
            EyeLookDownRight,
            EyeLookInRight,
            EyeLookOutRight,
            EyeLookUpRight,
        ] {
            face.set(s, face.get(s) * self.look_at);
        }
        for v in face.visemes.iter_mut() {
            *v *= self.mouth;
        }
    }
}

/// The values of one material that expressions change. [`MaterialValues::of`] is the material
/// at rest.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct MaterialValues {
    /// Base colour factor, linear RGBA.
    pub base_color: [f32; 4],
    /// Emissive factor, linear RGB.
    pub emissive: [f32; 3],
    /// Added to the scale of each of the material's textures' transforms.
    pub uv_scale_delta: [f32; 2],
    /// Added to the offset of each of the material's textures' transforms.
    pub uv_offset_delta: [f32; 2],
    /// MToon shade colour, linear RGB (zero for other materials).
    pub shade: [f32; 3],
    /// MToon parametric rim colour, linear RGB (zero for other materials).
    pub rim: [f32; 3],
    /// MToon matcap colour, linear RGB (zero for other materials).
    pub matcap: [f32; 3],
    /// MToon outline colour, linear RGB (zero for materials without an outline).
    pub outline: [f32; 3],
}

impl MaterialValues {
    /// The material's own values.
    pub fn of(m: &Material) -> MaterialValues {
        MaterialValues {
            base_color: m.base_color,
            emissive: m.emissive,
            uv_scale_delta: [0.0; 2],
            uv_offset_delta: [0.0; 2],
            shade: m.toon.as_ref().map_or([0.0; 3], |t| t.shade_color),
            rim: m.toon.as_ref().map_or([0.0; 3], |t| t.rim_color),
            matcap: m.toon.as_ref().map_or([0.0; 3], |t| t.matcap_color),
            outline: (m.toon.as_ref().and_then(|t| t.outline.as_ref()))
                .map_or([0.0; 3], |o| o.color),
        }
    }
}

/// The scale and offset a texture-transform bind starts from: those of the material's base
/// colour texture (else its first texture with a transform), or the identity.
fn rest_uv(m: &Material) -> ([f32; 2], [f32; 2]) {
    [
        &m.base_color_tex,
        &m.emissive_tex,
        &m.normal_tex,
        &m.metallic_roughness_tex,
        &m.occlusion_tex,
    ]
    .into_iter()
    .flatten()
    .find_map(|t| t.transform)
    .map(|t| (t.scale, t.offset))
    .unwrap_or(([1.0, 1.0], [0.0, 0.0]))
}

/// Apply expression weights `weights` (indexed like `avatar.expressions`; missing = 0) on top of
/// `channels` (one weight per morph channel, e.g. from [`crate::model::FaceRig::resolve`]; resized
/// to the channel count), and write every material's values into `materials`. Returns whether
/// any material differs from its rest values.
pub fn apply_expressions(
    avatar: &Avatar,
    weights: &[f32],
    channels: &mut Vec<f32>,
    materials: &mut Vec<MaterialValues>,
) -> bool {
    let sup = Suppression::of(&avatar.expressions, weights);
    apply_with(avatar, (weights, None), sup, channels, materials)
}

/// One instant's whole face: the canonical weights `face` through the avatar's rig, held down by
/// the expressions' overrides ([`Suppression::apply_to_face`]), then the expression weights
/// `weights` ([`apply_expressions`]). The material binds of the presets in
/// [`crate::model::FaceRig::expr_drives`] (e.g. a `blink` that moves an eye texture) follow
/// `face`: they get the expression's weight plus the drive's ([`crate::model::ExprDrive::weight`]),
/// while their morph binds stay with the rig (not applied twice). Returns whether any material
/// differs from its rest values.
pub fn resolve_face(
    avatar: &Avatar,
    face: &FaceWeights,
    weights: &[f32],
    channels: &mut Vec<f32>,
    materials: &mut Vec<MaterialValues>,
) -> bool {
    let sup = Suppression::of(&avatar.expressions, weights);
    let mut held = *face;
    sup.apply_to_face(&mut held);
    avatar.rig.resolve(&held, avatar.channels.len(), channels);
    apply_with(avatar, (weights, Some(face)), sup, channels, materials)
}

/// `weights` per expression; with a face, the rig's preset drives add to the weights of their
/// expressions' material binds.
fn apply_with(
    avatar: &Avatar,
    (weights, face): (&[f32], Option<&FaceWeights>),
    sup: Suppression,
    channels: &mut Vec<f32>,
    materials: &mut Vec<MaterialValues>,
) -> bool {
    channels.resize(avatar.channels.len(), 0.0);
    materials.clear();
    materials.extend(avatar.materials.iter().map(MaterialValues::of));
    let mut changed = false;
    for (i, e) in avatar.expressions.iter().enumerate() {
        let raw = weights.get(i).copied().unwrap_or(0.0);
        let driven = match face {
            Some(f) => avatar
                .rig
                .expr_drives
                .iter()
                .filter(|d| d.expression as usize == i)
                .map(|d| d.weight(f))
                .sum(),
            None => 0.0,
        };
        let factor = sup.factor(ExprGroup::of(e));
        let w = output_weight(e, raw) * factor;
        let wm = if driven > 0.0 {
            output_weight(e, raw + driven) * factor
        } else {
            w
        };
        if w == 0.0 && wm == 0.0 {
            continue;
        }
        for &(c, f) in &e.binds {
            if let Some(o) = channels.get_mut(c as usize) {
                *o += w * f;
            }
        }
        for b in &e.color_binds {
            let (Some(m), Some(out)) = (
                avatar.materials.get(b.material as usize),
                materials.get_mut(b.material as usize),
            ) else {
                continue;
            };
            match (b.target, &m.toon) {
                (ColorTarget::Color, _) => {
                    for k in 0..4 {
                        out.base_color[k] += (b.value[k] - m.base_color[k]) * wm;
                    }
                    changed = true;
                }
                (ColorTarget::Emission, _) => {
                    for k in 0..3 {
                        out.emissive[k] += (b.value[k] - m.emissive[k]) * wm;
                    }
                    changed = true;
                }
                (_, Some(t)) => {
                    let (out, rest) = match (b.target, &t.outline) {
                        (ColorTarget::Shade, _) => (&mut out.shade, t.shade_color),
                        (ColorTarget::Rim, _) => (&mut out.rim, t.rim_color),
                        (ColorTarget::Matcap, _) => (&mut out.matcap, t.matcap_color),
                        (_, Some(o)) => (&mut out.outline, o.color),
                        // An outline colour of a material without an outline.
                        (_, None) => continue,
                    };
                    for k in 0..3 {
                        out[k] += (b.value[k] - rest[k]) * wm;
                    }
                    changed = true;
                }
                // MToon colours of a material that is not MToon.
                _ => {}
            }
        }
        for b in &e.texture_binds {
            let (Some(m), Some(out)) = (
                avatar.materials.get(b.material as usize),
                materials.get_mut(b.material as usize),
            ) else {
                continue;
            };
            let (scale, offset) = rest_uv(m);
            for k in 0..2 {
                out.uv_scale_delta[k] += (b.scale[k] - scale[k]) * wm;
                out.uv_offset_delta[k] += (b.offset[k] - offset[k]) * wm;
            }
            changed = true;
        }
    }
    for o in channels.iter_mut() {
        *o = o.clamp(0.0, 1.0);
    }
    for m in materials.iter_mut() {
        for c in &mut m.base_color {
            *c = c.clamp(0.0, 1.0);
        }
        for c in m.emissive.iter_mut().chain(&mut m.rim) {
            *c = c.max(0.0);
        }
        for c in &mut m.shade {
            *c = c.clamp(0.0, 1.0);
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ColorBind, TexRef, TexTransform, TextureBind};

    fn expr(name: &str, binds: Vec<(u32, f32)>) -> Expression {
        Expression {
            name: name.into(),
            preset: Some(name.into()),
            binds,
            ..Default::default()
        }
    }

    fn avatar(exprs: Vec<Expression>, channels: usize) -> Avatar {
        let mut a = Avatar {
            expressions: exprs,
            ..Default::default()
        };
        a.channels = (0..channels)
            .map(|i| crate::model::MorphChannel {
                name: format!("m{i}"),
                ..Default::default()
            })
            .collect();
        a
    }

    #[test]
    fn binary_expressions_round_at_one_half() {
        let mut e = expr("happy", vec![]);
        e.is_binary = true;
        assert_eq!(output_weight(&e, 0.5), 0.0);
        assert_eq!(output_weight(&e, 0.51), 1.0);
        e.is_binary = false;
        assert_eq!(output_weight(&e, 0.3), 0.3);
        assert_eq!(output_weight(&e, f32::NAN), 0.0);
        assert_eq!(output_weight(&e, 7.0), 1.0);
    }

    #[test]
    fn overrides_block_and_blend_the_groups() {
        let mut happy = expr("happy", vec![(0, 1.0)]);
        happy.override_blink = ExprOverride::Blend;
        happy.override_mouth = ExprOverride::Block;
        let blink = expr("blink", vec![(1, 1.0)]);
        let aa = expr("aa", vec![(2, 1.0)]);
        let a = avatar(vec![happy, blink, aa], 3);
        let (mut ch, mut mats) = (Vec::new(), Vec::new());
        apply_expressions(&a, &[0.25, 1.0, 1.0], &mut ch, &mut mats);
        assert_eq!(ch, vec![0.25, 0.75, 0.0]);
        ch.clear();
        apply_expressions(&a, &[0.0, 1.0, 1.0], &mut ch, &mut mats);
        assert_eq!(ch, vec![0.0, 1.0, 1.0]);
        let s = Suppression::of(&a.expressions, &[0.25]);
        assert_eq!((s.blink, s.look_at, s.mouth), (0.75, 1.0, 0.0));
        let mut face = FaceWeights::default();
        face.set(ArkitShape::EyeBlinkLeft, 1.0);
        face.set(ArkitShape::JawOpen, 1.0);
        face.visemes[3] = 1.0;
        s.apply_to_face(&mut face);
        assert_eq!(face.get(ArkitShape::EyeBlinkLeft), 0.75);
        assert_eq!(face.get(ArkitShape::JawOpen), 1.0);
        assert_eq!(face.visemes[3], 0.0);
    }

    #[test]
    fn material_binds_move_from_the_material_toward_the_target() {
        let mut e = expr("angry", vec![]);
        e.color_binds.push(ColorBind {
            material: 0,
            target: ColorTarget::Color,
            value: [1.0, 0.0, 0.0, 1.0],
        });
        e.texture_binds.push(TextureBind {
            material: 0,
            scale: [0.5, 0.5],
            offset: [0.5, 0.0],
        });
        let mut a = avatar(vec![e], 0);
        a.materials.push(Material {
            base_color: [0.2, 0.4, 0.6, 1.0],
            base_color_tex: Some(TexRef {
                texture: 0,
                texcoord: 0,
                transform: Some(TexTransform {
                    offset: [0.0, 0.0],
                    rotation: 0.0,
                    scale: [0.25, 0.25],
                }),
            }),
            ..Default::default()
        });
        let (mut ch, mut mats) = (Vec::new(), Vec::new());
        assert!(!apply_expressions(&a, &[0.0], &mut ch, &mut mats));
        assert_eq!(mats[0], MaterialValues::of(&a.materials[0]));
        assert!(apply_expressions(&a, &[0.5], &mut ch, &mut mats));
        let m = mats[0];
        assert!((m.base_color[0] - 0.6).abs() < 1e-6, "{m:?}");
        assert!((m.base_color[2] - 0.3).abs() < 1e-6, "{m:?}");
        assert_eq!(m.uv_scale_delta, [0.125, 0.125]);
        assert_eq!(m.uv_offset_delta, [0.25, 0.0]);
    }

    /// An `outlineColor` bind moves the outline colour of an MToon material with an outline, and
    /// nothing on a material without one.
    #[test]
    fn outline_colour_binds_move_outlined_materials_only() {
        use crate::model::{Outline, OutlineMode, Toon};
        let mut e = expr("angry", vec![]);
        for material in [0, 1] {
            e.color_binds.push(ColorBind {
                material,
                target: ColorTarget::Outline,
                value: [1.0, 0.0, 0.0, 1.0],
            });
        }
        let mut a = avatar(vec![e], 0);
        let line = Outline {
            mode: OutlineMode::World,
            width: 0.01,
            width_tex: None,
            color: [0.0, 0.0, 0.5],
            lighting_mix: 1.0,
        };
        for outline in [Some(line), None] {
            a.materials.push(Material {
                toon: Some(Toon {
                    outline,
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        let (mut ch, mut mats) = (Vec::new(), Vec::new());
        assert!(apply_expressions(&a, &[0.5], &mut ch, &mut mats));
        assert_eq!(mats[0].outline, [0.5, 0.0, 0.25]);
        assert_eq!(mats[1], MaterialValues::of(&a.materials[1]));
        assert_eq!(mats[1].outline, [0.0; 3]);
    }

    /// A binary `blink` preset with a morph bind and a texture bind, driven by the canonical
    /// eye blinks: the rig moves the morph once (not again through the expression), the texture
    /// follows the blinks' mean (rounded: binary), and an expression blending blinks out holds
    /// both down.
    #[test]
    fn preset_drives_move_material_binds_from_the_face() {
        let mut blink = expr("blink", vec![(0, 1.0)]);
        blink.is_binary = true;
        blink.texture_binds.push(TextureBind {
            material: 0,
            scale: [1.0, 1.0],
            offset: [0.0, 0.5],
        });
        let mut happy = expr("happy", vec![]);
        happy.override_blink = ExprOverride::Block;
        let mut a = avatar(vec![blink, happy], 1);
        a.materials.push(Material::default());
        use ArkitShape::*;
        for s in [EyeBlinkLeft, EyeBlinkRight] {
            a.rig.arkit[s.index()] = vec![(0, 1.0)];
        }
        a.rig.expr_drives.push(crate::model::ExprDrive {
            expression: 0,
            arkit: vec![EyeBlinkLeft.index() as u16, EyeBlinkRight.index() as u16],
            visemes: vec![],
        });
        let (mut ch, mut mats) = (Vec::new(), Vec::new());
        let mut face = FaceWeights::default();
        face.set(EyeBlinkLeft, 0.8);
        face.set(EyeBlinkRight, 0.6);
        assert!(resolve_face(&a, &face, &[], &mut ch, &mut mats));
        assert_eq!(ch, vec![1.0], "rig: 0.8 + 0.6, clamped");
        assert_eq!(
            mats[0].uv_offset_delta,
            [0.0, 0.5],
            "mean 0.7 > 0.5: binary 1"
        );
        face.set(EyeBlinkLeft, 0.2);
        face.set(EyeBlinkRight, 0.4);
        assert!(!resolve_face(&a, &face, &[], &mut ch, &mut mats));
        assert_eq!(mats[0].uv_offset_delta, [0.0, 0.0], "mean 0.3: binary 0");
        // Morph once: a half blink is 0.2 + 0.4 through the rig, nothing more.
        assert!((ch[0] - 0.6).abs() < 1e-6, "{ch:?}");
        a.expressions[0].is_binary = false;
        assert!(resolve_face(&a, &face, &[], &mut ch, &mut mats));
        assert!((ch[0] - 0.6).abs() < 1e-6, "{ch:?}");
        assert!((mats[0].uv_offset_delta[1] - 0.15).abs() < 1e-6, "{mats:?}");
        a.expressions[0].is_binary = true;
        face.set(EyeBlinkLeft, 1.0);
        face.set(EyeBlinkRight, 1.0);
        assert!(!resolve_face(&a, &face, &[0.0, 1.0], &mut ch, &mut mats));
        assert_eq!(
            (ch[0], mats[0].uv_offset_delta),
            (0.0, [0.0, 0.0]),
            "happy blocks blinks"
        );
        // Without a face (apply_expressions) the drive does nothing.
        assert!(!apply_expressions(&a, &[], &mut ch, &mut mats));
    }
}
