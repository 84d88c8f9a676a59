//! VRM 0.x (`extensions.VRM`) and VRM 1.0 (`extensions.VRMC_vrm`): expressions and humanoid bones.

use crate::gltf;
use facecast_core::model::{Bind, Expression, Humanoid};
use serde_json::Value;
use std::collections::HashMap;

/// What the VRM extension contributed.
#[derive(Default)]
pub(crate) struct VrmData {
    pub version: Option<String>,
    pub expressions: Vec<Expression>,
    pub humanoid: Humanoid,
    /// VRM 0.x material names using MToon / unlit shaders.
    pub mtoon_materials: Vec<String>,
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

fn arr_len(v: Option<&Value>) -> usize {
    v.and_then(Value::as_array).map_or(0, Vec::len)
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
                out.expressions.push(Expression {
                    name: name.clone(),
                    preset,
                    binds,
                    is_binary: e.get("isBinary").and_then(Value::as_bool).unwrap_or(false),
                    other_binds: arr_len(e.get("materialColorBinds"))
                        + arr_len(e.get("textureTransformBinds")),
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
            out.expressions.push(Expression {
                name,
                preset,
                binds,
                is_binary: g.get("isBinary").and_then(Value::as_bool).unwrap_or(false),
                other_binds: arr_len(g.get("materialValues")),
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
                    out.mtoon_materials.push(n.to_string());
                }
            }
        }
    }
    if missing_binds > 0 {
        warnings.push(format!("{missing_binds} VRM expression bind(s) refer to morph targets that do not exist; ignored"));
    }
    out
}
