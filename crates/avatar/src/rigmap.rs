//! The face-rig mapping, as data in one place: which morph-target spellings drive which canonical
//! ARKit shape or Oculus viseme, how VRM expression presets map, and which node names are the
//! humanoid head / neck / eyes / jaw.
//!
//! To support a new naming convention, add spellings to the tables below; the code at the end of
//! this file only interprets them.
//!
//! Matching rules for morph names (first hit wins):
//! 1. the whole name, case-insensitively;
//! 2. the part after the last `.` (`blendShape1.jawOpen`, `h_expressions.AE_AA_h`);
//! 3. that part with one suffix from [`STRIP_SUFFIXES`] removed (`AE_AA_h` -> `AE_AA`).
//!
//! Every canonical Apple ARKit name (`eyeBlinkLeft`) and Oculus viseme name (`viseme_aa`) maps to
//! itself without being listed. Mirror convention: ARKit `Left` is the *subject's* left, and so are
//! Face Cap `_L`, VRM `blinkLeft` / `blink_l`, VRoid `_L` and Rocketbox `L...` names.

use facecast_core::model::{
    Bind, ColorTarget, ExprDrive, Expression, FaceRig, Humanoid, Material, MorphChannel, Node,
};
use facecast_core::Emotion;
use facecast_core::{ArkitShape, Viseme, ARKIT_NAMES, VISEME_NAMES};
use std::collections::HashMap;
use std::sync::OnceLock;

/// One mapping rule: canonical name `to` is driven by any morph spelled as in `from`, scaled by `weight`.
#[derive(Copy, Clone, Debug)]
pub struct Rule {
    /// Canonical ARKit (Apple spelling) or Oculus viseme name.
    pub to: &'static str,
    /// Factor applied to the canonical weight.
    pub weight: f32,
    /// Morph-target spellings (matched case-insensitively, after prefix/suffix stripping).
    pub from: &'static [&'static str],
}

const fn r(to: &'static str, weight: f32, from: &'static [&'static str]) -> Rule {
    Rule { to, weight, from }
}

/// Suffixes removed before matching (Rocketbox `_h` head / teeth morphs).
pub const STRIP_SUFFIXES: &[&str] = &["_h"];

/// ARKit shape <- morph spellings. Canonical Apple names need not be listed.
pub const ARKIT_RULES: &[Rule] = &[
    // Face Cap (`_L` / `_R`), VRoid (`Fcl_...`), Rocketbox / VALID (`h_expressions.*_h`, teeth `t_*`, tongue `*_tg`)
    r(
        "eyeBlinkLeft",
        1.0,
        &[
            "eyeBlink_L",
            "Fcl_EYE_Close_L",
            "LeyeClose",
            "EyeBlink_Left",
            "Eye_Blink_L",
        ],
    ),
    r(
        "eyeBlinkRight",
        1.0,
        &[
            "eyeBlink_R",
            "Fcl_EYE_Close_R",
            "ReyeClose",
            "EyeBlink_Right",
            "Eye_Blink_R",
        ],
    ),
    r("eyeLookDownLeft", 1.0, &["eyeLookDown_L"]),
    r("eyeLookDownRight", 1.0, &["eyeLookDown_R"]),
    r("eyeLookInLeft", 1.0, &["eyeLookIn_L"]),
    r("eyeLookInRight", 1.0, &["eyeLookIn_R"]),
    r("eyeLookOutLeft", 1.0, &["eyeLookOut_L"]),
    r("eyeLookOutRight", 1.0, &["eyeLookOut_R"]),
    r("eyeLookUpLeft", 1.0, &["eyeLookUp_L"]),
    r("eyeLookUpRight", 1.0, &["eyeLookUp_R"]),
    r("eyeSquintLeft", 1.0, &["eyeSquint_L", "Lsquint"]),
    r("eyeSquintRight", 1.0, &["eyeSquint_R", "Rsquint"]),
    r(
        "eyeWideLeft",
        1.0,
        &["eyeWide_L", "Fcl_EYE_Surprised_L", "LeyeOpen"],
    ),
    r(
        "eyeWideRight",
        1.0,
        &["eyeWide_R", "Fcl_EYE_Surprised_R", "ReyeOpen"],
    ),
    r("jawForward", 1.0, &["JawFront", "t_JawFront"]),
    r("jawLeft", 1.0, &["Ljaw", "t_Ljaw"]),
    r("jawRight", 1.0, &["Rjaw", "t_Rjaw"]),
    r("jawOpen", 1.0, &["MouthOpen", "t_MouthOpen", "Jaw_Open"]),
    r("mouthClose", 1.0, &[]),
    r("mouthFunnel", 1.0, &["UH_OO", "t_UH_OO"]),
    r("mouthPucker", 1.0, &["Kiss"]),
    r("mouthLeft", 1.0, &["LlipSide"]),
    r("mouthRight", 1.0, &["RlipSide"]),
    r(
        "mouthSmileLeft",
        1.0,
        &["mouthSmile_L", "LsmileClose", "Mouth_Smile_L"],
    ),
    r(
        "mouthSmileRight",
        1.0,
        &["mouthSmile_R", "RsmileClose", "Mouth_Smile_R"],
    ),
    r(
        "mouthFrownLeft",
        1.0,
        &["mouthFrown_L", "LmouthSad", "Mouth_Frown_L"],
    ),
    r(
        "mouthFrownRight",
        1.0,
        &["mouthFrown_R", "RmouthSad", "Mouth_Frown_R"],
    ),
    r("mouthDimpleLeft", 1.0, &["mouthDimple_L"]),
    r("mouthDimpleRight", 1.0, &["mouthDimple_R"]),
    r("mouthStretchLeft", 1.0, &["mouthStretch_L", "LlipCorner"]),
    r("mouthStretchRight", 1.0, &["mouthStretch_R", "RlipCorner"]),
    r("mouthRollLower", 1.0, &[]),
    r("mouthRollUpper", 1.0, &[]),
    r("mouthShrugLower", 1.0, &["Chin"]),
    r("mouthShrugUpper", 1.0, &[]),
    r("mouthPressLeft", 1.0, &["mouthPress_L"]),
    r("mouthPressRight", 1.0, &["mouthPress_R"]),
    r("mouthLowerDownLeft", 1.0, &["mouthLowerDown_L", "LlipDown"]),
    r(
        "mouthLowerDownRight",
        1.0,
        &["mouthLowerDown_R", "RlipDown"],
    ),
    r("mouthUpperUpLeft", 1.0, &["mouthUpperUp_L", "LlipUp"]),
    r("mouthUpperUpRight", 1.0, &["mouthUpperUp_R", "RlipUp"]),
    r(
        "browDownLeft",
        1.0,
        &["browDown_L", "LbrowDown", "LLbrowDown"],
    ),
    r(
        "browDownRight",
        1.0,
        &["browDown_R", "RbrowDown", "RRbrowDown"],
    ),
    r("browInnerUp", 1.0, &["LbrowUp", "RbrowUp"]),
    r("browOuterUpLeft", 1.0, &["browOuterUp_L", "LLbrowUp"]),
    r("browOuterUpRight", 1.0, &["browOuterUp_R", "RRbrowUp"]),
    r("cheekPuff", 1.0, &["Lblow", "Rblow"]),
    r("cheekSquintLeft", 1.0, &["cheekSquint_L", "LlowLid"]),
    r("cheekSquintRight", 1.0, &["cheekSquint_R", "RlowLid"]),
    r("noseSneerLeft", 1.0, &["noseSneer_L", "Ldisgust"]),
    r("noseSneerRight", 1.0, &["noseSneer_R", "Rdisgust"]),
    r("tongueOut", 1.0, &["OutMiddle_tg", "Tongue_Out"]),
];

/// Oculus viseme <- morph spellings. `viseme_xx` (Ready Player Me) and the bare Oculus names need
/// not be listed. VRM `aa ih ou ee oh` morphs and VRoid `Fcl_MTH_*` morphs are listed here;
/// Rocketbox / VALID visemes are listed with their teeth (`t_*`) counterparts.
///
/// Rocketbox / VALID choices, made from the morph deltas of `VALID_Hispanic_F_2_Busi` (vertical lip
/// opening, protrusion, spreading): `AE_AA` widest opening -> aa; `AO_a` open, lips drawn back -> O;
/// `Ax_E` small opening -> E; `H_EST` slightly open, lips spread -> I; `TD_I` teeth together, lips
/// spread -> DD, nn and TH; `UW_U` protruded, nearly closed -> U; `UH_OO` half-open and rounded -> RR
/// (and ARKit mouthFunnel); `SH_CH` protruded -> CH; `S` -> SS; `KG` -> kk; `FV` -> FF;
/// `MPB_Up` + `MPB_Down` (upper and lower lip press) -> PP. `sil` needs no morph.
pub const VISEME_RULES: &[Rule] = &[
    r("aa", 1.0, &["Fcl_MTH_A", "AE_AA", "t_AE_AA"]),
    r("I", 1.0, &["ih", "Fcl_MTH_I", "H_EST", "t_H_EST"]),
    r("U", 1.0, &["ou", "Fcl_MTH_U", "UW_U", "t_UW_U"]),
    r("E", 1.0, &["ee", "Fcl_MTH_E", "Ax_E", "t_Ax_E"]),
    r("O", 1.0, &["oh", "Fcl_MTH_O", "AO_a", "t_AO_a"]),
    // Rocketbox consonant visemes (SAPI-style groups); MPB is split into upper and lower lip
    r("PP", 1.0, &["MPB_Up", "MPB_Down", "t_MPB"]),
    r("FF", 1.0, &["FV", "t_FV"]),
    r("TH", 1.0, &["TD_I", "t_TD_I"]),
    r("DD", 1.0, &["TD_I", "t_TD_I"]),
    r("nn", 1.0, &["TD_I", "t_TD_I"]),
    r("kk", 1.0, &["KG", "t_KG"]),
    r("CH", 1.0, &["SH_CH", "t_SH_CH"]),
    r("SS", 1.0, &["S", "t_S"]),
    r("RR", 1.0, &["UH_OO", "t_UH_OO"]),
];

/// One canonical target of a VRM expression preset.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// An ARKit shape.
    Arkit(ArkitShape),
    /// An Oculus viseme.
    Viseme(Viseme),
}

/// VRM 1.0 expression presets (VRM 0.x presets are renamed to these at load) -> canonical names
/// they provide when the avatar has no morph mapped by name. Applied in this order, and only to
/// slots still empty, so `blinkLeft` wins over `blink` for `eyeBlinkLeft`.
/// `lookLeft` turns the eyes toward the subject's left: left eye out, right eye in.
pub const VRM_PRESET_RULES: &[(&str, &[&str])] = &[
    ("aa", &["viseme:aa"]),
    ("ih", &["viseme:I"]),
    ("ou", &["viseme:U"]),
    ("ee", &["viseme:E"]),
    ("oh", &["viseme:O"]),
    ("blinkLeft", &["eyeBlinkLeft"]),
    ("blinkRight", &["eyeBlinkRight"]),
    ("blink", &["eyeBlinkLeft", "eyeBlinkRight"]),
    ("lookUp", &["eyeLookUpLeft", "eyeLookUpRight"]),
    ("lookDown", &["eyeLookDownLeft", "eyeLookDownRight"]),
    ("lookLeft", &["eyeLookOutLeft", "eyeLookInRight"]),
    ("lookRight", &["eyeLookInLeft", "eyeLookOutRight"]),
];

/// Humanoid node names (compared after lowercasing and removing ` _-.:|`), most specific first.
pub const HUMANOID_NAMES: &[(&str, &[&str])] = &[
    (
        "head",
        &[
            "head",
            "mixamorig:Head",
            "Bip01 Head",
            "Bip001 Head",
            "CC_Base_Head",
            "J_Bip_C_Head",
            "DEF-head",
            "Head_M",
        ],
    ),
    (
        "neck",
        &[
            "neck",
            "mixamorig:Neck",
            "Bip01 Neck",
            "Bip001 Neck",
            "CC_Base_NeckTwist01",
            "J_Bip_C_Neck",
            "DEF-neck",
            "neck_01",
            "Neck_M",
        ],
    ),
    (
        "leftEye",
        &[
            "LeftEye",
            "eye_L",
            "EyeLeft",
            "left_eye",
            "L_Eye",
            "mixamorig:LeftEye",
            "Bip01 L Eye",
            "CC_Base_L_Eye",
            "J_Adj_L_FaceEye",
            "DEF-eye.L",
            "Eye_Left",
        ],
    ),
    (
        "rightEye",
        &[
            "RightEye",
            "eye_R",
            "EyeRight",
            "right_eye",
            "R_Eye",
            "mixamorig:RightEye",
            "Bip01 R Eye",
            "CC_Base_R_Eye",
            "J_Adj_R_FaceEye",
            "DEF-eye.R",
            "Eye_Right",
        ],
    ),
    (
        "jaw",
        &[
            "jaw",
            "mixamorig:Jaw",
            "Bip01 Jaw",
            "CC_Base_JawRoot",
            "J_Bip_C_Jaw",
            "DEF-jaw",
            "jaw_master",
            "Jaw_M",
            "lowerJaw",
        ],
    ),
];

// ---------------------------------------------------------------------------------------------
// Interpretation of the tables.

/// Lookup from lowercased spelling to (slot, weight).
fn lookup_table() -> &'static HashMap<String, Vec<(Slot, f32)>> {
    static T: OnceLock<HashMap<String, Vec<(Slot, f32)>>> = OnceLock::new();
    T.get_or_init(|| {
        let mut t: HashMap<String, Vec<(Slot, f32)>> = HashMap::new();
        let mut add = |name: &str, slot: Slot, w: f32| {
            let e = t.entry(name.to_ascii_lowercase()).or_default();
            if !e.iter().any(|(s, _)| *s == slot) {
                e.push((slot, w));
            }
        };
        for (i, n) in ARKIT_NAMES.iter().enumerate() {
            add(n, Slot::Arkit(ArkitShape::ALL[i]), 1.0);
        }
        for (i, n) in VISEME_NAMES.iter().enumerate() {
            add(&format!("viseme_{n}"), Slot::Viseme(Viseme::ALL[i]), 1.0);
            add(n, Slot::Viseme(Viseme::ALL[i]), 1.0);
        }
        for rule in ARKIT_RULES {
            if let Some(s) = ArkitShape::from_name(rule.to) {
                for f in rule.from {
                    add(f, Slot::Arkit(s), rule.weight);
                }
            }
        }
        for rule in VISEME_RULES {
            if let Some(v) = Viseme::from_name(rule.to) {
                for f in rule.from {
                    add(f, Slot::Viseme(v), rule.weight);
                }
            }
        }
        t
    })
}

/// The canonical slots a morph name drives (empty when it maps to nothing).
pub fn map_morph_name(name: &str) -> &'static [(Slot, f32)] {
    let t = lookup_table();
    let mut candidates: Vec<String> = vec![name.to_ascii_lowercase()];
    let tail = name.rsplit('.').next().unwrap_or(name);
    candidates.push(tail.to_ascii_lowercase());
    for s in STRIP_SUFFIXES {
        if let Some(stripped) = tail.strip_suffix(s) {
            candidates.push(stripped.to_ascii_lowercase());
        }
    }
    candidates
        .iter()
        .find_map(|c| t.get(c))
        .map(|v| v.as_slice())
        .unwrap_or(&[])
}

fn parse_slot(s: &str) -> Option<Slot> {
    match s.strip_prefix("viseme:") {
        Some(v) => Viseme::from_name(v).map(Slot::Viseme),
        None => ArkitShape::from_name(s).map(Slot::Arkit),
    }
}

fn push_bind(binds: &mut Vec<Bind>, b: Bind) {
    if let Some(e) = binds.iter_mut().find(|e| e.0 == b.0) {
        e.1 = e.1.max(b.1);
    } else {
        binds.push(b);
    }
}

/// Build the face rig from channel names, then fill empty slots from VRM expression presets.
pub fn build_rig(
    channels: &[MorphChannel],
    expressions: &[Expression],
    materials: &[Material],
) -> FaceRig {
    let mut rig = FaceRig::default();
    for (ci, ch) in channels.iter().enumerate() {
        for &(slot, w) in map_morph_name(&ch.name) {
            let binds = match slot {
                Slot::Arkit(a) => &mut rig.arkit[a.index()],
                Slot::Viseme(v) => &mut rig.visemes[v.index()],
            };
            push_bind(binds, (ci as u32, w));
        }
    }
    for (preset, slots) in VRM_PRESET_RULES {
        let Some(e) = expressions
            .iter()
            .find(|e| e.preset.as_deref() == Some(preset) && !e.binds.is_empty())
        else {
            continue;
        };
        for slot in slots.iter().filter_map(|s| parse_slot(s)) {
            let binds = match slot {
                Slot::Arkit(a) => &mut rig.arkit[a.index()],
                Slot::Viseme(v) => &mut rig.visemes[v.index()],
            };
            if binds.is_empty() {
                binds.extend_from_slice(&e.binds);
            }
        }
    }
    // Presets whose material binds facecast draws follow the canonical weights of their slots.
    // A `blink` that has them stands for both eyes (its single and per-eye binds would add up
    // on one eye texture); `blinkLeft` / `blinkRight` are driven only without it.
    let drawn = |preset: &str| {
        expressions
            .iter()
            .position(|e| e.preset.as_deref() == Some(preset) && draws_materials(e, materials))
    };
    let both_eyes = drawn("blink").is_some();
    for (preset, slots) in VRM_PRESET_RULES {
        if both_eyes && matches!(*preset, "blinkLeft" | "blinkRight") {
            continue;
        }
        let Some(i) = drawn(preset) else { continue };
        let mut d = ExprDrive {
            expression: i as u32,
            ..Default::default()
        };
        for slot in slots.iter().filter_map(|s| parse_slot(s)) {
            match slot {
                Slot::Arkit(a) => d.arkit.push(a.index() as u16),
                Slot::Viseme(v) => d.visemes.push(v.index() as u16),
            }
        }
        rig.expr_drives.push(d);
    }
    for (emotion, preset) in VRM_EMOTION_PRESETS {
        rig.emotion_exprs[emotion.index()] = expressions
            .iter()
            .position(|e| e.preset.as_deref() == Some(preset) && shows_something(e, materials))
            .map(|i| i as u32);
    }
    rig
}

/// Whether facecast draws anything of expression `e`: morph binds, texture-transform binds,
/// base / emissive colour binds, shade / rim colour binds of MToon materials, matcap colour
/// binds of MToon materials with a matcap texture, or outline colour binds of MToon materials
/// with an outline.
fn shows_something(e: &Expression, materials: &[Material]) -> bool {
    !e.binds.is_empty() || draws_materials(e, materials)
}

/// Whether facecast draws any of expression `e`'s material binds.
fn draws_materials(e: &Expression, materials: &[Material]) -> bool {
    !e.texture_binds.is_empty()
        || e.color_binds.iter().any(|b| match b.target {
            ColorTarget::Color | ColorTarget::Emission => true,
            ColorTarget::Shade | ColorTarget::Rim => materials
                .get(b.material as usize)
                .is_some_and(|m| m.toon.is_some()),
            ColorTarget::Matcap => materials
                .get(b.material as usize)
                .and_then(|m| m.toon.as_ref())
                .is_some_and(|t| t.matcap_tex.is_some()),
            ColorTarget::Outline => materials
                .get(b.material as usize)
                .and_then(|m| m.toon.as_ref())
                .is_some_and(|t| t.outline.is_some()),
        })
}

/// Emotions an avatar's own VRM expression presets show, instead of facecast's ARKit recipes
/// (the avatar's author made them for that face). `relaxed` has no facecast emotion; `fearful`,
/// `disgusted` and `concerned` have no VRM preset and keep their recipes.
pub const VRM_EMOTION_PRESETS: &[(Emotion, &str)] = &[
    (Emotion::Happy, "happy"),
    (Emotion::Sad, "sad"),
    (Emotion::Angry, "angry"),
    (Emotion::Surprised, "surprised"),
];

/// Node-name normalisation for humanoid matching.
fn norm_node(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.' | ':' | '|'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Fill humanoid slots that are still empty from node names.
pub fn find_humanoid(nodes: &[Node], h: &mut Humanoid) {
    let normed: Vec<String> = nodes.iter().map(|n| norm_node(&n.name)).collect();
    for (slot, names) in HUMANOID_NAMES {
        let target = match *slot {
            "head" => &mut h.head,
            "neck" => &mut h.neck,
            "leftEye" => &mut h.left_eye,
            "rightEye" => &mut h.right_eye,
            _ => &mut h.jaw,
        };
        if target.is_some() {
            continue;
        }
        *target = names.iter().find_map(|n| {
            let n = norm_node(n);
            normed.iter().position(|x| *x == n).map(|i| i as u32)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_target_is_canonical() {
        for rule in ARKIT_RULES {
            assert!(ArkitShape::from_name(rule.to).is_some(), "{}", rule.to);
        }
        assert_eq!(ARKIT_RULES.len(), 52);
        for rule in VISEME_RULES {
            assert!(Viseme::from_name(rule.to).is_some(), "{}", rule.to);
        }
        for (_, slots) in VRM_PRESET_RULES {
            for s in *slots {
                assert!(parse_slot(s).is_some(), "{s}");
            }
        }
    }

    #[test]
    fn spellings() {
        let arkit = |n: &str| {
            map_morph_name(n).iter().find_map(|(s, _)| match s {
                Slot::Arkit(a) => Some(a.name()),
                _ => None,
            })
        };
        let vis = |n: &str| {
            map_morph_name(n).iter().find_map(|(s, _)| match s {
                Slot::Viseme(v) => Some(v.name()),
                _ => None,
            })
        };
        assert_eq!(arkit("eyeBlinkLeft"), Some("eyeBlinkLeft"));
        assert_eq!(arkit("EYEBLINKLEFT"), Some("eyeBlinkLeft"));
        assert_eq!(arkit("eyeBlink_L"), Some("eyeBlinkLeft"));
        assert_eq!(arkit("mouthSmile_R"), Some("mouthSmileRight"));
        assert_eq!(arkit("blendShape1.jawOpen"), Some("jawOpen"));
        assert_eq!(arkit("Face.eyeBlink_L"), Some("eyeBlinkLeft"));
        assert_eq!(arkit("h_expressions.MouthOpen_h"), Some("jawOpen"));
        assert_eq!(arkit("h_expressions.LeyeClose_h"), Some("eyeBlinkLeft"));
        assert_eq!(vis("viseme_sil"), Some("sil"));
        assert_eq!(vis("viseme_aa"), Some("aa"));
        assert_eq!(vis("viseme_U"), Some("U"));
        assert_eq!(vis("ou"), Some("U"));
        assert_eq!(vis("h_expressions.AE_AA_h"), Some("aa"));
        assert_eq!(vis("t_AE_AA_h"), Some("aa"));
        assert_eq!(vis("h_expressions.FV_h"), Some("FF"));
        assert!(map_morph_name("h_expressions.Glotis_h").is_empty());
        assert!(map_morph_name("").is_empty());
        // MPB_Up and MPB_Down both drive PP
        assert_eq!(vis("h_expressions.MPB_Up_h"), Some("PP"));
        assert_eq!(vis("h_expressions.MPB_Down_h"), Some("PP"));
    }

    #[test]
    fn vrm_presets_fill_empty_slots_only() {
        let channels = vec![
            MorphChannel {
                name: "eyeBlink_L".into(),
                targets: vec![(0, 0)],
            },
            MorphChannel {
                name: "Fcl_ALL_Close".into(),
                targets: vec![(0, 1)],
            },
            MorphChannel {
                name: "A".into(),
                targets: vec![(0, 2)],
            },
        ];
        let ex = |name: &str, ch: u32| Expression {
            name: name.into(),
            preset: Some(name.into()),
            binds: vec![(ch, 1.0)],
            is_binary: false,
            ..Default::default()
        };
        // `sad` only moves the shade colour of a material that is not MToon, which facecast
        // does not draw: sad keeps its ARKit recipe; on an MToon material it is drawn.
        use facecast_core::model::ColorBind;
        let mut sad = ex("sad", 0);
        sad.binds.clear();
        sad.color_binds.push(ColorBind {
            material: 0,
            target: ColorTarget::Shade,
            value: [0.0; 4],
        });
        let exprs = [ex("blink", 1), ex("aa", 2), ex("happy", 1), sad];
        let plain = [Material::default()];
        let rig = build_rig(&channels, &exprs, &plain);
        assert_eq!(rig.emotion_exprs[Emotion::Happy.index()], Some(2));
        assert_eq!(rig.emotion_exprs[Emotion::Sad.index()], None);
        let toon = [Material {
            toon: Some(Default::default()),
            ..Default::default()
        }];
        let toon_rig = build_rig(&channels, &exprs, &toon);
        assert_eq!(toon_rig.emotion_exprs[Emotion::Sad.index()], Some(3));
        assert_eq!(rig.arkit[ArkitShape::EyeBlinkLeft.index()], vec![(0, 1.0)]);
        assert_eq!(rig.arkit[ArkitShape::EyeBlinkRight.index()], vec![(1, 1.0)]);
        assert_eq!(rig.visemes[Viseme::Aa.index()], vec![(2, 1.0)]);
    }

    /// Presets whose material binds are drawn follow the canonical weights: `blink` for both
    /// eyes (the per-eye presets then stay undriven), `aa` by its viseme, which then counts as
    /// shown; a preset with only a matcap colour bind on a material without a matcap texture
    /// is not driven.
    #[test]
    fn presets_with_drawn_material_binds_are_driven() {
        use facecast_core::model::{ColorBind, TextureBind};
        let tex = |name: &str| {
            let mut e = Expression {
                name: name.into(),
                preset: Some(name.into()),
                ..Default::default()
            };
            e.texture_binds.push(TextureBind {
                material: 0,
                scale: [1.0; 2],
                offset: [0.0, 0.5],
            });
            e
        };
        let mut matcap = tex("lookUp");
        matcap.texture_binds.clear();
        matcap.color_binds.push(ColorBind {
            material: 0,
            target: ColorTarget::Matcap,
            value: [1.0; 4],
        });
        let exprs = [tex("blinkLeft"), tex("blink"), tex("aa"), matcap];
        let rig = build_rig(&[], &exprs, &[Material::default()]);
        let drives: Vec<(u32, usize, usize)> = rig
            .expr_drives
            .iter()
            .map(|d| (d.expression, d.arkit.len(), d.visemes.len()))
            .collect();
        assert_eq!(drives, vec![(2, 0, 1), (1, 2, 0)]);
        assert!(rig.has_viseme(Viseme::Aa.index()));
        assert!(!rig.has_viseme(Viseme::O.index()));
        // On a material with a matcap texture the matcap colour bind is drawn: `lookUp` shows.
        let matcapped = Material {
            toon: Some(facecast_core::model::Toon {
                matcap_tex: Some(facecast_core::model::TexRef {
                    texture: 0,
                    texcoord: 0,
                    transform: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(shows_something(&exprs[3], std::slice::from_ref(&matcapped)));
        assert!(!shows_something(&exprs[3], &[Material::default()]));
        // An outline colour bind shows only on a material with an outline.
        let mut outline = exprs[3].clone();
        outline.color_binds[0].target = ColorTarget::Outline;
        assert!(!shows_something(&outline, &[matcapped]));
        let outlined = Material {
            toon: Some(facecast_core::model::Toon {
                outline: Some(facecast_core::model::Outline {
                    mode: facecast_core::model::OutlineMode::World,
                    width: 0.01,
                    width_tex: None,
                    color: [0.0; 3],
                    lighting_mix: 1.0,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(shows_something(&outline, &[outlined]));
        // Without `blink`, each eye's preset follows its own blink.
        let rig = build_rig(&[], &exprs[..1], &[Material::default()]);
        assert_eq!(rig.expr_drives.len(), 1);
        assert_eq!(
            rig.expr_drives[0].arkit,
            vec![ArkitShape::EyeBlinkLeft.index() as u16]
        );
    }

    #[test]
    fn humanoid_names() {
        let mk = |n: &str| Node {
            name: n.into(),
            ..Default::default()
        };
        let nodes = vec![
            mk("grp_eyeLeft"),
            mk("eyeLeft"),
            mk("head"),
            mk("Bip01 Neck"),
            mk("eye_R"),
            mk("mixamorig:Jaw"),
        ];
        let mut h = Humanoid::default();
        find_humanoid(&nodes, &mut h);
        assert_eq!(
            (h.head, h.neck, h.left_eye, h.right_eye, h.jaw),
            (Some(2), Some(3), Some(1), Some(4), Some(5))
        );
        let nodes = vec![mk("neck"), mk("jaw"), mk("eye_L"), mk("eye_R"), mk("head")];
        let mut h = Humanoid::default();
        find_humanoid(&nodes, &mut h);
        assert_eq!(
            (h.head, h.neck, h.left_eye, h.right_eye, h.jaw),
            (Some(4), Some(0), Some(2), Some(3), Some(1))
        );
    }
}
