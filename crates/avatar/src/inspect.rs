//! `inspect`: a serialisable summary of a loaded avatar and its human-readable form.

use facecast_core::model::{Avatar, Humanoid};
use facecast_core::{ARKIT_COUNT, ARKIT_NAMES, VISEME_COUNT, VISEME_NAMES};
use serde::Serialize;
use std::fmt;

/// One mesh in the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MeshReport {
    /// Mesh name.
    pub name: String,
    /// Primitive count.
    pub primitives: usize,
    /// Vertex count.
    pub vertices: usize,
    /// Triangle count.
    pub triangles: usize,
    /// Morph target names of this mesh.
    pub morph_targets: Vec<String>,
}

/// One skin in the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SkinReport {
    /// Skin name.
    pub name: String,
    /// Joint count.
    pub joints: usize,
}

/// One decoded texture in the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TextureReport {
    /// Name (with the source format in brackets).
    pub name: String,
    /// Width of level 0.
    pub width: u32,
    /// Height of level 0.
    pub height: u32,
    /// Mip levels.
    pub mips: usize,
    /// Decoded pixel format.
    pub format: String,
    /// Sampled nearest-neighbour (the sampler's `magFilter` is `NEAREST`), else bilinear.
    pub nearest: bool,
}

/// One VRM expression in the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExpressionReport {
    /// Expression name.
    pub name: String,
    /// VRM 1.0 preset name.
    pub preset: Option<String>,
    /// Names of the channels it drives, with weights.
    pub binds: Vec<(String, f32)>,
    /// `isBinary`.
    pub is_binary: bool,
    /// Material colour and texture-transform binds.
    pub other_binds: usize,
    /// What each bind moves: `color`, `emissionColor`, `texture`, or an MToon colour
    /// (`shadeColor` and `rimColor` are drawn on MToon materials, `matcapColor` on those with a
    /// matcap texture, `outlineColor` on those with an outline), with the material's name.
    pub material_binds: Vec<String>,
    /// `overrideBlink`, `overrideLookAt`, `overrideMouth` (`none`, `block`, `blend`).
    pub overrides: [&'static str; 3],
}

/// VRM node constraints the renderer evaluates.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ConstraintReport {
    /// Roll constraints (twist bones).
    pub roll: usize,
    /// Aim constraints.
    pub aim: usize,
    /// Rotation constraints.
    pub rotation: usize,
    /// Names of the constrained nodes, in evaluation order (`node N` when unnamed).
    pub nodes: Vec<String>,
}

/// VRM spring bones the renderer simulates.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct SpringReport {
    /// Chains.
    pub chains: usize,
    /// Joints that swing, over all chains.
    pub joints: usize,
    /// Colliders.
    pub colliders: usize,
    /// Chain names (VRM 1.0 `name`, VRM 0.x `comment`), distinct and non-empty.
    pub names: Vec<String>,
}

/// Humanoid nodes by name.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct HumanoidReport {
    /// Head node name.
    pub head: Option<String>,
    /// Neck node name.
    pub neck: Option<String>,
    /// Left eye node name.
    pub left_eye: Option<String>,
    /// Right eye node name.
    pub right_eye: Option<String>,
    /// Jaw node name.
    pub jaw: Option<String>,
}

/// Summary of a loaded avatar (`facecast inspect`). Serialises to JSON with the keys below.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct InspectReport {
    /// Avatar name.
    pub name: String,
    /// Source path.
    pub source: String,
    /// Total vertices.
    pub vertices: usize,
    /// Total triangles.
    pub triangles: usize,
    /// Meshes.
    pub meshes: Vec<MeshReport>,
    /// Total primitives.
    pub primitives: usize,
    /// Morph channel names (distinct morph target names over all meshes).
    pub morph_targets: Vec<String>,
    /// ARKit shapes mapped (of 52).
    pub arkit_mapped: usize,
    /// ARKit shapes not mapped.
    pub arkit_missing: Vec<String>,
    /// Oculus visemes mapped directly (of 15).
    pub visemes_mapped: usize,
    /// Visemes not mapped.
    pub visemes_missing: Vec<String>,
    /// Canonical name -> channel names driving it.
    pub mapping: Vec<(String, Vec<String>)>,
    /// Skins.
    pub skins: Vec<SkinReport>,
    /// Distinct joint nodes over all skins.
    pub joints: usize,
    /// Decoded textures.
    pub textures: Vec<TextureReport>,
    /// Materials.
    pub materials: usize,
    /// VRM expressions.
    pub expressions: Vec<ExpressionReport>,
    /// Emotions shown with the avatar's own expressions instead of ARKit recipes, as
    /// (emotion, expression name).
    pub emotion_expressions: Vec<(String, String)>,
    /// VRM version, if any.
    pub vrm_version: Option<String>,
    /// `extensionsUsed`.
    pub extensions_used: Vec<String>,
    /// `extensionsRequired`.
    pub extensions_required: Vec<String>,
    /// Extensions ignored or partly supported, with reasons.
    pub unsupported: Vec<String>,
    /// Humanoid nodes.
    pub humanoid: HumanoidReport,
    /// Spring bones (zero chains when the avatar has none).
    pub spring_bones: SpringReport,
    /// Node constraints (all counts zero when the avatar has none).
    pub node_constraints: ConstraintReport,
    /// How a VRM avatar's eyes follow the gaze (its `lookAt` range maps), when it says.
    pub gaze: Option<String>,
    /// Nodes.
    pub nodes: usize,
    /// Animations in the file (not played).
    pub animations: usize,
    /// Loader warnings.
    pub warnings: Vec<String>,
}

fn humanoid(a: &Avatar, h: &Humanoid) -> HumanoidReport {
    let name = |i: Option<u32>| {
        i.and_then(|i| a.nodes.get(i as usize)).map(|n| {
            if n.name.is_empty() {
                "(unnamed)".to_string()
            } else {
                n.name.clone()
            }
        })
    };
    HumanoidReport {
        head: name(h.head),
        neck: name(h.neck),
        left_eye: name(h.left_eye),
        right_eye: name(h.right_eye),
        jaw: name(h.jaw),
    }
}

/// Summarise a loaded avatar.
pub fn inspect(a: &Avatar) -> InspectReport {
    let ch_name = |c: u32| {
        a.channels
            .get(c as usize)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| format!("#{c}"))
    };
    let mut joints: Vec<u32> = a
        .skins
        .iter()
        .flat_map(|s| s.joints.iter().copied())
        .collect();
    joints.sort_unstable();
    joints.dedup();
    let mut mapping = Vec::new();
    for (i, n) in ARKIT_NAMES.iter().enumerate() {
        if let Some(b) = a.rig.arkit.get(i).filter(|b| !b.is_empty()) {
            mapping.push((n.to_string(), b.iter().map(|&(c, _)| ch_name(c)).collect()));
        }
    }
    for (i, n) in VISEME_NAMES.iter().enumerate() {
        if let Some(b) = a.rig.visemes.get(i).filter(|b| !b.is_empty()) {
            mapping.push((
                format!("viseme_{n}"),
                b.iter().map(|&(c, _)| ch_name(c)).collect(),
            ));
        }
    }
    InspectReport {
        name: a.name.clone(),
        source: a.info.source.clone(),
        vertices: a.vertex_count(),
        triangles: a.triangle_count(),
        meshes: a
            .meshes
            .iter()
            .map(|m| MeshReport {
                name: m.name.clone(),
                primitives: m.primitives.len(),
                vertices: m.primitives.iter().map(|p| p.positions.len()).sum(),
                triangles: m.primitives.iter().map(|p| p.indices.len() / 3).sum(),
                morph_targets: m.target_names.clone(),
            })
            .collect(),
        primitives: a.meshes.iter().map(|m| m.primitives.len()).sum(),
        morph_targets: a.channels.iter().map(|c| c.name.clone()).collect(),
        arkit_mapped: a.rig.arkit_mapped(),
        arkit_missing: (0..ARKIT_COUNT)
            .filter(|&i| !a.rig.has_arkit(i))
            .map(|i| ARKIT_NAMES[i].to_string())
            .collect(),
        visemes_mapped: a.rig.visemes_mapped(),
        visemes_missing: (0..VISEME_COUNT)
            .filter(|&i| !a.rig.has_viseme(i))
            .map(|i| VISEME_NAMES[i].to_string())
            .collect(),
        mapping,
        skins: a
            .skins
            .iter()
            .map(|s| SkinReport {
                name: s.name.clone(),
                joints: s.joints.len(),
            })
            .collect(),
        joints: joints.len(),
        textures: a
            .textures
            .iter()
            .map(|t| TextureReport {
                name: t.name.clone(),
                width: t.mips.first().map_or(0, |m| m.width),
                height: t.mips.first().map_or(0, |m| m.height),
                mips: t.mips.len(),
                format: "RGBA8".to_string(),
                nearest: t.nearest,
            })
            .collect(),
        materials: a.materials.len(),
        emotion_expressions: facecast_core::Emotion::ALL
            .iter()
            .zip(&a.rig.emotion_exprs)
            .filter_map(|(e, x)| {
                let x = a.expressions.get((*x)? as usize)?;
                Some((e.name().to_string(), x.name.clone()))
            })
            .collect(),
        expressions: a
            .expressions
            .iter()
            .map(|e| ExpressionReport {
                name: e.name.clone(),
                preset: e.preset.clone(),
                binds: e.binds.iter().map(|&(c, w)| (ch_name(c), w)).collect(),
                is_binary: e.is_binary,
                other_binds: e.material_binds(),
                material_binds: {
                    let mat = |m: u32| {
                        a.materials
                            .get(m as usize)
                            .map(|m| m.name.clone())
                            .filter(|n| !n.is_empty())
                            .unwrap_or_else(|| format!("material {m}"))
                    };
                    e.color_binds
                        .iter()
                        .map(|b| format!("{} of {}", b.target.as_str(), mat(b.material)))
                        .chain(
                            e.texture_binds
                                .iter()
                                .map(|b| format!("texture of {}", mat(b.material))),
                        )
                        .collect()
                },
                overrides: [
                    e.override_blink.as_str(),
                    e.override_look_at.as_str(),
                    e.override_mouth.as_str(),
                ],
            })
            .collect(),
        vrm_version: a.info.vrm_version.clone(),
        extensions_used: a.info.extensions_used.clone(),
        extensions_required: a.info.extensions_required.clone(),
        unsupported: a.info.unsupported.clone(),
        humanoid: humanoid(a, &a.humanoid),
        gaze: a.look_at.as_ref().map(|l| {
            let m = |r: &facecast_core::model::RangeMap| {
                format!("{:.3} at {:.0} deg", r.output_scale, r.input_max_deg)
            };
            format!(
                "{}: outward {}, inward {}, down {}, up {}",
                if l.bones {
                    "eye bones turn (degrees)"
                } else {
                    "look expressions weighted"
                },
                m(&l.horizontal_outer),
                m(&l.horizontal_inner),
                m(&l.vertical_down),
                m(&l.vertical_up)
            )
        }),
        spring_bones: SpringReport {
            chains: a.springs.chains.len(),
            joints: a.springs.joint_count(),
            colliders: a.springs.colliders.len(),
            names: a.springs.chains.iter().fold(Vec::new(), |mut v, c| {
                if !c.name.is_empty() && !v.contains(&c.name) {
                    v.push(c.name.clone());
                }
                v
            }),
        },
        node_constraints: ConstraintReport {
            roll: count(a, "roll"),
            aim: count(a, "aim"),
            rotation: count(a, "rotation"),
            nodes: a
                .constraints
                .iter()
                .map(|c| match a.nodes.get(c.node as usize) {
                    Some(n) if !n.name.is_empty() => n.name.clone(),
                    _ => format!("node {}", c.node),
                })
                .collect(),
        },
        nodes: a.nodes.len(),
        animations: a.info.animations,
        warnings: a.info.warnings.clone(),
    }
}

fn count(a: &Avatar, kind: &str) -> usize {
    a.constraints
        .iter()
        .filter(|c| c.kind.as_str() == kind)
        .count()
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

impl fmt::Display for InspectReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "avatar      {} ({})", self.name, self.source)?;
        if let Some(v) = &self.vrm_version {
            writeln!(f, "VRM         {v}")?;
        }
        writeln!(
            f,
            "geometry    {} meshes, {} primitives, {} vertices, {} triangles, {} nodes, {} materials",
            self.meshes.len(),
            self.primitives,
            self.vertices,
            self.triangles,
            self.nodes,
            self.materials
        )?;
        for m in &self.meshes {
            writeln!(
                f,
                "  mesh '{}': {} primitive(s), {} vertices, {} triangles, {} morph targets",
                m.name,
                m.primitives,
                m.vertices,
                m.triangles,
                m.morph_targets.len()
            )?;
        }
        writeln!(
            f,
            "morphs      {} channel(s): {}",
            self.morph_targets.len(),
            list(&self.morph_targets)
        )?;
        writeln!(
            f,
            "ARKit       mapped {}/{}; missing: {}",
            self.arkit_mapped,
            ARKIT_COUNT,
            list(&self.arkit_missing)
        )?;
        writeln!(
            f,
            "visemes     mapped {}/{}; missing: {}",
            self.visemes_mapped,
            VISEME_COUNT,
            list(&self.visemes_missing)
        )?;
        for (to, from) in &self.mapping {
            writeln!(f, "  {to:<20} <- {}", from.join(" + "))?;
        }
        if self.skins.is_empty() {
            writeln!(f, "skins       none")?;
        } else {
            let s: Vec<String> = self
                .skins
                .iter()
                .map(|s| format!("'{}' ({} joints)", s.name, s.joints))
                .collect();
            writeln!(
                f,
                "skins       {} skin(s), {} distinct joints: {}",
                self.skins.len(),
                self.joints,
                s.join(", ")
            )?;
        }
        if self.textures.is_empty() {
            writeln!(f, "textures    none decoded")?;
        }
        for t in &self.textures {
            writeln!(
                f,
                "texture     {} {}x{} {} ({} mips{})",
                t.name,
                t.width,
                t.height,
                t.format,
                t.mips,
                if t.nearest { ", nearest" } else { "" }
            )?;
        }
        if !self.expressions.is_empty() {
            writeln!(f, "expressions {}", self.expressions.len())?;
            for e in &self.expressions {
                let binds: Vec<String> =
                    e.binds.iter().map(|(n, w)| format!("{n}*{w:.2}")).collect();
                let overrides: Vec<String> = ["blink", "lookAt", "mouth"]
                    .iter()
                    .zip(e.overrides)
                    .filter(|(_, o)| *o != "none")
                    .map(|(g, o)| format!("{o}s {g}"))
                    .collect();
                writeln!(
                    f,
                    "  {}{}{}: {} morph bind(s) [{}], {} material/texture bind(s) [{}]{}",
                    e.name,
                    e.preset
                        .as_ref()
                        .map(|p| format!(" (preset {p})"))
                        .unwrap_or_default(),
                    if e.is_binary { " binary" } else { "" },
                    e.binds.len(),
                    binds.join(", "),
                    e.other_binds,
                    e.material_binds.join(", "),
                    if overrides.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", overrides.join(", "))
                    }
                )?;
            }
            if !self.emotion_expressions.is_empty() {
                let list: Vec<String> = self
                    .emotion_expressions
                    .iter()
                    .map(|(e, x)| format!("{e} by '{x}'"))
                    .collect();
                writeln!(
                    f,
                    "  emotions shown by the avatar's expressions: {} (the others by ARKit recipes)",
                    list.join(", ")
                )?;
            }
        }
        let h = &self.humanoid;
        let o = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".to_string());
        writeln!(
            f,
            "humanoid    head {}, neck {}, leftEye {}, rightEye {}, jaw {}",
            o(&h.head),
            o(&h.neck),
            o(&h.left_eye),
            o(&h.right_eye),
            o(&h.jaw)
        )?;
        if let Some(g) = &self.gaze {
            writeln!(f, "gaze        {g}")?;
        }
        let s = &self.spring_bones;
        if s.chains > 0 {
            writeln!(
                f,
                "springs     {} chain(s), {} joint(s), {} collider(s){}: swing on the session clock \
                 (snapshots show the rest pose)",
                s.chains,
                s.joints,
                s.colliders,
                if s.names.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", s.names.join(", "))
                }
            )?;
        }
        let c = &self.node_constraints;
        if !c.nodes.is_empty() {
            const SHOWN: usize = 6;
            let more = c.nodes.len().saturating_sub(SHOWN);
            writeln!(
                f,
                "constraints {} roll, {} aim, {} rotation [{}{}]: follow the head, eye and jaw pose",
                c.roll,
                c.aim,
                c.rotation,
                c.nodes[..c.nodes.len().min(SHOWN)].join(", "),
                if more > 0 {
                    format!(", and {more} more")
                } else {
                    String::new()
                }
            )?;
        }
        writeln!(f, "extensions  used: {}", list(&self.extensions_used))?;
        writeln!(
            f,
            "            required: {}",
            list(&self.extensions_required)
        )?;
        for u in &self.unsupported {
            writeln!(f, "            unsupported: {u}")?;
        }
        if self.animations > 0 {
            writeln!(f, "animations  {} (not played)", self.animations)?;
        }
        if self.warnings.is_empty() {
            writeln!(f, "warnings    none")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning     {w}")?;
        }
        Ok(())
    }
}
