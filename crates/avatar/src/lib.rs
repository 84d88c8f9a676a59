//! facecast-avatar: loads glTF 2.0 / GLB / VRM avatars into [`facecast_core::model::Avatar`].
//!
//! - Containers: GLB and `.gltf` JSON with external files or base64 `data:` URIs (sniffed by the
//!   first bytes, not the extension). `.vrm` files are GLB.
//! - Geometry: every accessor component type (normalized or not), sparse accessors, indexed and
//!   non-indexed primitives, triangle strips and fans (points and lines are skipped with a
//!   warning), smooth normals generated when absent (and where a normal is zero-length or
//!   non-finite; normals more than 2 % off unit length are normalised).
//! - Morph targets: POSITION and NORMAL deltas, dense or sparse, stored sparse (zero deltas
//!   dropped); names from `mesh.extras.targetNames` (else `target_N`); default weights.
//! - Skins (`JOINTS_n` / `WEIGHTS_n`: the four largest influences of all sets, renormalised),
//!   node hierarchy (matrices decomposed to TRS), scene roots.
//! - Materials: base colour, normal map, emissive factor and texture, metallic/roughness factors
//!   and texture, occlusion texture and strength, alpha modes,
//!   double-sided, `KHR_texture_transform`, `KHR_materials_unlit`, VRM MToon
//!   (`VRMC_materials_mtoon`, VRM 0.x `materialProperties` converted to 1.0's terms),
//!   `KHR_materials_pbrSpecularGlossiness` (diffuse colour and texture as base colour, glossiness
//!   as 1 - roughness); PNG, JPEG, WebP and KTX2/Basis Universal textures decoded to RGBA8 with
//!   a full sRGB-aware box-filtered mip chain; samplers' wrap modes, and `magFilter: NEAREST`
//!   (pixel art) sampled nearest-neighbour.
//! - Extensions: `KHR_mesh_quantization`, `KHR_meshopt_compression` and its predecessor
//!   `EXT_meshopt_compression` (pure-Rust decoder, see [`meshopt`]), `KHR_draco_mesh_compression` (the pure-Rust `draco-core` decoder, its output
//!   capped by the same size budget), `EXT_texture_webp`, `KHR_texture_basisu` (ETC1S/BasisLZ
//!   and UASTC, plain or Zstandard-supercompressed, transcoded by the pure-Rust `basisu` crate
//!   after the KTX2 header's sizes are checked). Other required extensions are rejected with an
//!   error naming them.
//! - VRM 0.x and 1.0 expressions (morph binds, `isBinary`, `overrideBlink` / `overrideLookAt` /
//!   `overrideMouth`, material colour and texture-transform binds, VRM 0.x `materialValues`
//!   converted to VRM 1.0's linear colours and glTF UVs) and humanoid bones; humanoid nodes of
//!   other files are found by name. The face rig (ARKit 52 + Oculus visemes, and the emotions an
//!   avatar's own `happy` / `sad` / `angry` / `surprised` expressions show) is mapped by the data
//!   tables in [`rigmap`]; expressions are applied by [`facecast_core::expr`].
//! - VRM spring bones (`VRMC_springBone`, VRM 0.x `secondaryAnimation`) as
//!   [`facecast_core::model::SpringBones`]: joint pairs, colliders (with
//!   `VRMC_springBone_extended_collider` inside and plane shapes) and groups, `center`, with
//!   every index checked (nodes exist, tails are below their joints, no node twice); the
//!   renderer simulates them.
//! - VRM node constraints (`VRMC_node_constraint`: roll, aim, rotation) as
//!   [`facecast_core::model::NodeConstraint`]s in evaluation order (sources exist, no cycles);
//!   the renderer evaluates them after the head, eye and jaw pose, before the spring bones.
//!
//! Loading never panics and never hangs on malformed input: every offset and count is checked
//! and allocations are bounded by the input size.

mod constraint;
mod container;
mod data;
mod draco;
mod error;
mod gltf;
mod inspect;
mod ktx2;
mod material;
mod mesh;
pub mod meshopt;
mod pose;
pub mod rigmap;
mod scene;
mod spring;
mod vrm;

pub use container::write_glb;
pub use error::AvatarError;
pub use inspect::{
    inspect, ConstraintReport, ExpressionReport, HumanoidReport, InspectReport, MeshReport,
    SkinReport, TextureReport,
};

use error::{invalid, Problem, Res};
use facecast_core::model::{Avatar, Humanoid, Mesh, ModelInfo, MorphChannel};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Extensions implemented in full.
const SUPPORTED: &[&str] = &[
    "KHR_mesh_quantization",
    "KHR_meshopt_compression",
    "EXT_meshopt_compression",
    "KHR_draco_mesh_compression",
    "KHR_texture_transform",
    "KHR_materials_unlit",
    "KHR_materials_emissive_strength",
    "EXT_texture_webp",
    "KHR_texture_basisu",
    "VRM",
    "VRMC_vrm",
    "VRMC_springBone",
    "VRMC_springBone_extended_collider",
    "VRMC_node_constraint",
];

/// Extensions accepted even when required, but only partly supported (reason given).
const PARTIAL: &[(&str, &str)] = &[
    (
        "KHR_materials_pbrSpecularGlossiness",
        "diffuse colour and texture used as base colour and glossiness as 1 - roughness; the specular colour and specularGlossinessTexture are not read",
    ),
];

/// Used-only extensions with a specific note (everything else used and unknown is "ignored").
const NOTES: &[(&str, &str)] = &[
    (
        "VRMC_materials_mtoon",
        "MToon drawn with its lit and shade colours, shading shift (factor and texture) and toony factors, GI equalisation, rim (matcap, parametric rim, rim texture, lighting mix), emission, outlines (colour unlit below a lighting mix of 0.5, else toon-shaded) and UV animation (its mask texture read at the vertices), VRM 0.x's shading grade texture; expressions move the shade, rim, matcap and outline colours",
    ),
    ("KHR_animation_pointer", "animations are not played"),
];

/// Largest file `load` reads.
const MAX_FILE: u64 = 2 << 30;

/// Load an avatar from a `.glb`, `.gltf` or `.vrm` file (format sniffed from the content).
/// External buffers and images are resolved relative to the file's directory.
pub fn load(path: &Path) -> Result<Avatar, AvatarError> {
    let label = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Problem::Io(e).at(&label))?;
    if meta.len() > MAX_FILE {
        return Err(invalid!(
            "file is {} bytes, larger than the {} byte limit",
            meta.len(),
            MAX_FILE
        )
        .at(&label));
    }
    let bytes = std::fs::read(path).map_err(|e| Problem::Io(e).at(&label))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| label.clone());
    load_impl(&bytes, &name, &label, path.parent()).map_err(|p| p.at(&label))
}

/// Load an avatar from memory. `name` labels errors and becomes the avatar name (its file stem);
/// `base_dir` resolves external URIs (without it, only GLB / embedded data can be loaded).
pub fn load_bytes(
    bytes: &[u8],
    name: &str,
    base_dir: Option<&Path>,
) -> Result<Avatar, AvatarError> {
    let stem = Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string());
    load_impl(bytes, &stem, name, base_dir).map_err(|p| p.at(name))
}

/// The built-in default avatar, parsed once and shared.
pub fn builtin() -> Arc<Avatar> {
    static BUILTIN: OnceLock<Arc<Avatar>> = OnceLock::new();
    BUILTIN.get_or_init(|| Arc::new(builtin_avatar())).clone()
}

#[cfg(facecast_default_glb)]
fn builtin_avatar() -> Avatar {
    const GLB: &[u8] = include_bytes!("../assets/facecast_default.glb");
    match load_bytes(GLB, "builtin:facecast_default", None) {
        Ok(a) => a,
        Err(e) => placeholder(&format!("the built-in avatar failed to load ({e})")),
    }
}

#[cfg(not(facecast_default_glb))]
fn builtin_avatar() -> Avatar {
    placeholder("assets/facecast_default.glb was missing when facecast-avatar was built")
}

/// A grey sphere "head" used when the default avatar asset is unavailable.
fn placeholder(why: &str) -> Avatar {
    use facecast_core::model::{Material, Node, Primitive};
    let (rings, segs, radius) = (24u32, 32u32, 0.11f32);
    let mut prim = Primitive::default();
    for r in 0..=rings {
        let th = std::f32::consts::PI * r as f32 / rings as f32;
        for s in 0..=segs {
            let ph = std::f32::consts::TAU * s as f32 / segs as f32;
            let n = [th.sin() * ph.sin(), th.cos(), th.sin() * ph.cos()];
            prim.positions
                .push([n[0] * radius, n[1] * radius * 1.15, n[2] * radius]);
            prim.normals.push(n);
            prim.uv0
                .push([s as f32 / segs as f32, r as f32 / rings as f32]);
        }
    }
    for r in 0..rings {
        for s in 0..segs {
            let a = r * (segs + 1) + s;
            let b = a + segs + 1;
            prim.indices
                .extend_from_slice(&[a, b, a + 1, a + 1, b, b + 1]);
        }
    }
    prim.material = Some(0);
    let neck = Node {
        name: "neck".into(),
        translation: [0.0, 1.5, 0.0],
        children: vec![1],
        ..Default::default()
    };
    let head = Node {
        name: "head".into(),
        parent: Some(0),
        translation: [0.0, 0.12, 0.0],
        mesh: Some(0),
        ..Default::default()
    };
    Avatar {
        name: "facecast_placeholder".into(),
        nodes: vec![neck, head],
        roots: vec![0],
        meshes: vec![Mesh {
            name: "head".into(),
            primitives: vec![prim],
            ..Default::default()
        }],
        materials: vec![Material {
            name: "skin".into(),
            base_color: [0.8, 0.65, 0.55, 1.0],
            metallic: 0.0,
            roughness: 0.6,
            ..Default::default()
        }],
        humanoid: Humanoid {
            head: Some(1),
            neck: Some(0),
            ..Default::default()
        },
        info: ModelInfo {
            source: "builtin:placeholder".into(),
            warnings: vec![format!("{why}; using a placeholder sphere")],
            ..Default::default()
        },
        ..Default::default()
    }
}

fn load_impl(bytes: &[u8], name: &str, source: &str, base_dir: Option<&Path>) -> Res<Avatar> {
    let c = container::split(bytes)?;
    let root: gltf::Root =
        serde_json::from_slice(c.json).map_err(|e| Problem::Json(e.to_string()))?;
    let version = root.asset.version.trim();
    if !version.starts_with("2.") && version != "2" {
        return Err(Problem::Version(if version.is_empty() {
            "(missing)".into()
        } else {
            version.to_string()
        }));
    }
    if let Some(min) = &root.asset.min_version {
        if !min.trim().starts_with("2.0") && min.trim() != "2" {
            return Err(Problem::Version(format!("{version} (minVersion {min})")));
        }
    }
    for ext in &root.extensions_required {
        if !SUPPORTED.contains(&ext.as_str()) && !PARTIAL.iter().any(|(n, _)| n == ext) {
            return Err(Problem::Extension(ext.clone()));
        }
    }
    let buffers = container::load_buffers(&root, &c, base_dir)?;
    let input_len = bytes.len()
        + buffers
            .iter()
            .filter_map(|b| b.bytes())
            .map(<[u8]>::len)
            .sum::<usize>();
    let data = data::Data::new(&root, buffers, input_len);

    let mut notes = material::Notes::default();
    // meshes
    let mut stats = mesh::MeshStats::default();
    let mut meshes = Vec::with_capacity(root.meshes.len());
    for mi in 0..root.meshes.len() {
        meshes.push(mesh::build_mesh(&root, &data, mi, &mut stats)?);
    }
    node_weights(&root, &mut meshes, &mut notes.warnings);
    // nodes, skins
    let (mut nodes, roots) = scene::build_nodes(&root, &mut notes.warnings)?;
    let skins = scene::build_skins(&root, &data)?;
    fix_joint_ranges(&nodes, &skins, &mut meshes, &mut notes.warnings);
    {
        let mut is_joint = vec![false; nodes.len()];
        for &j in skins.iter().flat_map(|s| &s.joints) {
            if let Some(f) = is_joint.get_mut(j as usize) {
                *f = true;
            }
        }
        let lowered = pose::relax_arms(&mut nodes, &is_joint);
        if !lowered.is_empty() {
            notes.warnings.push(format!(
                "T-pose arms lowered for display ({})",
                lowered.join(", ")
            ));
        }
    }

    // channels: one per distinct morph name
    let mut channels: Vec<MorphChannel> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut channel_of: HashMap<(u32, u32), u32> = HashMap::new();
    for (mi, m) in meshes.iter().enumerate() {
        for (ti, tn) in m.target_names.iter().enumerate() {
            let ci = *by_name.entry(tn.clone()).or_insert_with(|| {
                channels.push(MorphChannel {
                    name: tn.clone(),
                    targets: Vec::new(),
                });
                channels.len() - 1
            });
            channels[ci].targets.push((mi as u32, ti as u32));
            channel_of.insert((mi as u32, ti as u32), ci as u32);
        }
    }

    // VRM
    let vrm = vrm::read(&root, &channel_of, &mut notes.warnings);
    let springs = spring::read(&root, &nodes, &mut notes.warnings);
    let constraints = constraint::read(&root, &nodes, &mut notes.warnings);
    if vrm.version.as_deref() == Some("0.x") {
        // VRM 0.x models face -Z; glTF (and facecast) expect +Z toward the viewer.
        for &r in &roots {
            if let Some(n) = nodes.get_mut(r as usize) {
                let [x, y, z, w] = n.rotation;
                n.rotation = [z, w, -x, -y]; // (0, 1, 0, 0) * q
                n.translation = [-n.translation[0], n.translation[1], -n.translation[2]];
            }
        }
        notes
            .warnings
            .push("VRM 0.x model rotated 180 degrees about Y to face +Z".into());
    }

    // materials and textures
    let (materials, textures) =
        material::build_materials(&root, &data, base_dir, &vrm.v0_materials, &mut notes);

    let mut humanoid = vrm.humanoid.clone();
    let vrm_eyes = humanoid.left_eye.is_some() || humanoid.right_eye.is_some();
    rigmap::find_humanoid(&nodes, &mut humanoid);
    if !vrm_eyes {
        orient_eyes(&nodes, &mut humanoid, &mut notes.warnings);
    }
    let rig = rigmap::build_rig(&channels, &vrm.expressions, &materials);

    // info
    let mut warnings = stats.primitive_notes;
    if stats.generated_normals > 0 {
        warnings.push(format!(
            "generated smooth normals for {} primitive(s) without NORMAL",
            stats.generated_normals
        ));
    }
    if stats.replaced_normals + stats.rescaled_normals > 0 {
        warnings.push(format!(
            "normals not of unit length: {} zero-length or non-finite replaced by smooth normals, \
             {} normalised",
            stats.replaced_normals, stats.rescaled_normals
        ));
    }
    if stats.renormalized_weights > 0 {
        warnings.push(format!(
            "renormalized {} skin weight(s) that did not sum to 1",
            stats.renormalized_weights
        ));
    }
    if stats.dropped_influences > 0 {
        warnings.push(format!(
            "{} vertices have more than 4 joint influences (JOINTS_1 / WEIGHTS_1 ...): the 4 \
             largest are kept and renormalised",
            stats.dropped_influences
        ));
    }
    if stats.zero_weights > 0 {
        warnings.push(format!(
            "{} vertex skin weight(s) were all zero; bound to the first joint",
            stats.zero_weights
        ));
    }
    warnings.append(&mut notes.warnings);
    if meshes.iter().all(|m| m.primitives.is_empty()) {
        warnings.push("the file contains no renderable triangles".into());
    }
    let mut unsupported = Vec::new();
    for ext in &root.extensions_used {
        if SUPPORTED.contains(&ext.as_str()) {
            continue;
        }
        if let Some((_, why)) = PARTIAL.iter().find(|(n, _)| n == ext) {
            unsupported.push(format!("{ext}: {why}"));
        } else if let Some((_, why)) = NOTES.iter().find(|(n, _)| n == ext) {
            unsupported.push(format!("{ext}: {why}"));
        } else {
            unsupported.push(format!("{ext}: ignored"));
        }
    }
    Ok(Avatar {
        name: name.to_string(),
        nodes: std::mem::take(&mut nodes),
        roots,
        meshes,
        skins,
        materials,
        textures,
        channels,
        rig,
        humanoid,
        expressions: vrm.expressions,
        springs,
        look_at: vrm.look_at,
        constraints,
        info: ModelInfo {
            source: source.to_string(),
            extensions_used: root.extensions_used.clone(),
            extensions_required: root.extensions_required.clone(),
            unsupported,
            vrm_version: vrm.version,
            warnings,
            animations: root.animations.len(),
        },
    })
}

/// Eye nodes found by name must be the subject's left / right (as in ARKit and VRM). Some
/// exporters (Face Cap) name them from the viewer's side; the front of a glTF asset faces +Z, so
/// the subject's left eye has the larger world X. Swap when the names say otherwise.
fn orient_eyes(nodes: &[facecast_core::model::Node], h: &mut Humanoid, warnings: &mut Vec<String>) {
    let (Some(l), Some(r)) = (h.left_eye, h.right_eye) else {
        return;
    };
    let world = scene::world_matrices(nodes);
    let (Some(lw), Some(rw)) = (world.get(l as usize), world.get(r as usize)) else {
        return;
    };
    if lw[12] < rw[12] - 1e-6 {
        std::mem::swap(&mut h.left_eye, &mut h.right_eye);
        warnings.push(format!(
            "eye nodes '{}' / '{}' are named from the viewer's side; swapped so leftEye is the subject's left",
            nodes[l as usize].name, nodes[r as usize].name
        ));
    }
}

/// Nodes' own morph `weights` (glTF: they override the mesh's for that instance) become the
/// mesh's default weights. The model keeps one set of defaults per mesh, so a mesh instanced by
/// nodes with different weights keeps the first node's, with a warning.
fn node_weights(root: &gltf::Root, meshes: &mut [Mesh], warnings: &mut Vec<String>) {
    let mut from: Vec<Option<usize>> = vec![None; meshes.len()];
    for (ni, n) in root.nodes.iter().enumerate() {
        let (Some(mi), Some(w)) = (n.mesh, n.weights.as_ref()) else {
            continue;
        };
        let Some(m) = meshes.get_mut(mi) else {
            continue;
        };
        let mut w: Vec<f32> = w
            .iter()
            .map(|w| if w.is_finite() { *w } else { 0.0 })
            .collect();
        if w.len() != m.default_weights.len() {
            warnings.push(format!(
                "node {ni} gives {} morph weights for mesh {mi} with {} morph targets; \
                 missing ones are 0, extra ones ignored",
                w.len(),
                m.default_weights.len()
            ));
        }
        w.resize(m.default_weights.len(), 0.0);
        match from[mi] {
            None => {
                from[mi] = Some(ni);
                m.default_weights = w;
            }
            Some(first) if m.default_weights != w => warnings.push(format!(
                "mesh {mi} is drawn by nodes {first} and {ni} with different morph weights; \
                 both use node {first}'s"
            )),
            Some(_) => {}
        }
    }
    for (ni, n) in root.nodes.iter().enumerate() {
        if let (Some(mi), None) = (n.mesh, &n.weights) {
            if let Some(Some(first)) = from.get(mi) {
                warnings.push(format!(
                    "mesh {mi} is drawn by nodes {first} and {ni} with different morph weights; \
                     both use node {first}'s"
                ));
            }
        }
    }
}

/// Zero skin weights whose joint index is outside the skin used by the node drawing the mesh.
fn fix_joint_ranges(
    nodes: &[facecast_core::model::Node],
    skins: &[facecast_core::model::Skin],
    meshes: &mut [Mesh],
    warnings: &mut Vec<String>,
) {
    let mut bad = 0usize;
    for n in nodes {
        let (Some(m), Some(s)) = (n.mesh, n.skin) else {
            continue;
        };
        let (Some(mesh), Some(skin)) = (meshes.get_mut(m as usize), skins.get(s as usize)) else {
            continue;
        };
        let nj = skin.joints.len();
        for p in &mut mesh.primitives {
            for (j, w) in p.joints.iter_mut().zip(p.weights.iter_mut()) {
                let mut changed = false;
                for k in 0..4 {
                    if j[k] as usize >= nj {
                        j[k] = 0;
                        if w[k] != 0.0 {
                            w[k] = 0.0;
                            changed = true;
                        }
                    }
                }
                if changed {
                    bad += 1;
                    let s: f32 = w.iter().sum();
                    if s > 0.0 {
                        w.iter_mut().for_each(|x| *x /= s);
                    } else {
                        *w = [1.0, 0.0, 0.0, 0.0];
                    }
                }
            }
        }
    }
    if bad > 0 {
        warnings.push(format!(
            "{bad} vertex skin weight(s) referenced joints outside their skin; dropped"
        ));
    }
}
