//! The subset of the glTF 2.0 JSON schema the loader reads (serde).
//!
//! Everything is `default`ed so that optional properties may be absent; unknown properties are
//! ignored. Extensions the loader understands are parsed from `serde_json::Value`s on demand.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// glTF root object.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Root {
    pub asset: Asset,
    pub extensions_used: Vec<String>,
    pub extensions_required: Vec<String>,
    pub buffers: Vec<Buffer>,
    pub buffer_views: Vec<BufferView>,
    pub accessors: Vec<Accessor>,
    pub meshes: Vec<Mesh>,
    pub nodes: Vec<Node>,
    pub skins: Vec<Skin>,
    pub scenes: Vec<Scene>,
    pub scene: Option<usize>,
    pub materials: Vec<Material>,
    pub textures: Vec<Texture>,
    pub images: Vec<Image>,
    pub samplers: Vec<Sampler>,
    pub animations: Vec<serde::de::IgnoredAny>,
    pub extensions: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Asset {
    pub version: String,
    pub min_version: Option<String>,
    pub generator: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Buffer {
    pub uri: Option<String>,
    pub byte_length: usize,
    pub extensions: Option<Value>,
}

impl Buffer {
    /// `KHR_meshopt_compression.fallback` (or `EXT_…`): a placeholder only filled by
    /// decompressed views.
    pub fn is_meshopt_fallback(&self) -> bool {
        ["KHR_meshopt_compression", "EXT_meshopt_compression"]
            .iter()
            .any(|name| {
                self.extensions
                    .as_ref()
                    .and_then(|e| e.get(*name))
                    .and_then(|m| m.get("fallback"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct BufferView {
    pub buffer: usize,
    pub byte_offset: usize,
    pub byte_length: usize,
    pub byte_stride: Option<usize>,
    pub extensions: BufferViewExtensions,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BufferViewExtensions {
    #[serde(rename = "KHR_meshopt_compression")]
    pub khr_meshopt: Option<MeshoptView>,
    #[serde(rename = "EXT_meshopt_compression")]
    pub ext_meshopt: Option<MeshoptView>,
}

impl BufferViewExtensions {
    /// The view's meshopt compression and the extension's name (the ratified
    /// `KHR_meshopt_compression` first; a view may not carry both).
    pub fn meshopt(&self) -> Option<(&MeshoptView, &'static str)> {
        self.khr_meshopt
            .as_ref()
            .map(|m| (m, "KHR_meshopt_compression"))
            .or_else(|| {
                self.ext_meshopt
                    .as_ref()
                    .map(|m| (m, "EXT_meshopt_compression"))
            })
    }
}

/// `KHR_meshopt_compression` / `EXT_meshopt_compression` on a buffer view (same fields).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MeshoptView {
    pub buffer: usize,
    pub byte_offset: usize,
    pub byte_length: usize,
    pub byte_stride: usize,
    pub count: usize,
    pub mode: String,
    pub filter: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Accessor {
    pub buffer_view: Option<usize>,
    pub byte_offset: usize,
    pub component_type: u32,
    pub normalized: bool,
    pub count: usize,
    #[serde(rename = "type")]
    pub kind: String,
    pub sparse: Option<Sparse>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Sparse {
    pub count: usize,
    pub indices: SparseIndices,
    pub values: SparseValues,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SparseIndices {
    pub buffer_view: usize,
    pub byte_offset: usize,
    pub component_type: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SparseValues {
    pub buffer_view: usize,
    pub byte_offset: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Mesh {
    pub name: Option<String>,
    pub primitives: Vec<Primitive>,
    pub weights: Vec<f32>,
    pub extras: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Primitive {
    pub attributes: BTreeMap<String, usize>,
    pub indices: Option<usize>,
    pub material: Option<usize>,
    pub mode: u32,
    pub targets: Vec<BTreeMap<String, usize>>,
    pub extras: Option<Value>,
    pub extensions: Option<Value>,
}

impl Default for Primitive {
    fn default() -> Self {
        Primitive {
            attributes: BTreeMap::new(),
            indices: None,
            material: None,
            mode: 4,
            targets: Vec::new(),
            extras: None,
            extensions: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Node {
    pub name: Option<String>,
    pub children: Vec<usize>,
    pub matrix: Option<[f32; 16]>,
    pub translation: Option<[f32; 3]>,
    pub rotation: Option<[f32; 4]>,
    pub scale: Option<[f32; 3]>,
    pub mesh: Option<usize>,
    pub skin: Option<usize>,
    /// The instance's morph weights (override the mesh's `weights`).
    pub weights: Option<Vec<f32>>,
    /// Extensions (read: `VRMC_node_constraint`).
    pub extensions: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Skin {
    pub name: Option<String>,
    pub inverse_bind_matrices: Option<usize>,
    pub joints: Vec<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Scene {
    pub nodes: Vec<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Material {
    pub name: Option<String>,
    pub pbr_metallic_roughness: Option<Pbr>,
    pub normal_texture: Option<TextureInfo>,
    pub occlusion_texture: Option<TextureInfo>,
    pub emissive_texture: Option<TextureInfo>,
    pub emissive_factor: Option<[f32; 3]>,
    pub alpha_mode: Option<String>,
    pub alpha_cutoff: Option<f32>,
    pub double_sided: bool,
    pub extensions: Option<Value>,
}

impl Material {
    /// `KHR_materials_pbrSpecularGlossiness` (archived by Khronos, still common in older
    /// exports): when present it describes the material instead of `pbrMetallicRoughness`.
    /// A malformed object is treated as absent.
    pub fn spec_gloss(&self) -> Option<SpecGloss> {
        let v = self
            .extensions
            .as_ref()?
            .get("KHR_materials_pbrSpecularGlossiness")?;
        serde_json::from_value(v.clone()).ok()
    }
}

/// The parts of `KHR_materials_pbrSpecularGlossiness` the renderer uses: the diffuse colour
/// and texture (as base colour) and the glossiness (as 1 - roughness). The specular colour and
/// the specular-glossiness texture are not read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SpecGloss {
    pub diffuse_factor: Option<[f32; 4]>,
    pub diffuse_texture: Option<TextureInfo>,
    pub glossiness_factor: Option<f32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Pbr {
    pub base_color_factor: Option<[f32; 4]>,
    pub base_color_texture: Option<TextureInfo>,
    pub metallic_factor: Option<f32>,
    pub roughness_factor: Option<f32>,
    pub metallic_roughness_texture: Option<TextureInfo>,
}

/// A `textureInfo` / `normalTextureInfo` / `occlusionTextureInfo`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct TextureInfo {
    pub index: usize,
    pub tex_coord: u32,
    pub scale: Option<f32>,
    /// `occlusionTextureInfo.strength`.
    pub strength: Option<f32>,
    pub extensions: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Texture {
    pub name: Option<String>,
    pub sampler: Option<usize>,
    pub source: Option<usize>,
    pub extensions: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Image {
    pub name: Option<String>,
    pub uri: Option<String>,
    pub mime_type: Option<String>,
    pub buffer_view: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Sampler {
    pub wrap_s: u32,
    pub wrap_t: u32,
    pub mag_filter: Option<u32>,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler {
            wrap_s: 10497,
            wrap_t: 10497,
            mag_filter: None,
        }
    }
}
