//! `KHR_draco_mesh_compression`: a primitive whose vertex attributes and indices are one Draco
//! stream in a buffer view, decoded by the pure-Rust `draco-core` decoder.
//!
//! The primitive's accessors still give each attribute's type, component type and `normalized`
//! flag; the extension maps attribute names (`POSITION`, `TEXCOORD_0`, ...) to the stream's
//! attribute ids. Attributes the extension does not name are read from their accessors. The
//! decoded size is capped by the loader's budget for the file (see `Data::charge`), so a small
//! stream that claims millions of points fails with an error instead of exhausting memory.

use crate::data::{Data, I16, I8, U16, U32, U8};
use crate::error::{invalid, Res};
use crate::gltf;
use draco_core::{DataType, DecodeLimits, DecoderBuffer, MeshDecoder};
use std::collections::BTreeMap;

/// The extension's name, as it appears in `extensionsUsed` and on primitives.
pub(crate) const NAME: &str = "KHR_draco_mesh_compression";

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ext {
    buffer_view: usize,
    #[serde(default)]
    attributes: BTreeMap<String, u32>,
}

/// A decoded Draco primitive.
pub(crate) struct Decoded {
    mesh: draco_core::Mesh,
    attributes: BTreeMap<String, u32>,
    /// Triangle list (point indices, each below `points`).
    pub indices: Vec<u32>,
    pub points: usize,
    /// Edgebreaker connectivity: decoded points are not in the encoder's input order (sequential
    /// coding keeps it), so uncompressed morph targets may not line up.
    pub reordered: bool,
}

/// Byte of the Draco header ("DRACO", major, minor, encoder type) holding the connectivity
/// method: 0 sequential, 1 Edgebreaker.
const METHOD_BYTE: usize = 8;

/// Decode primitive `gp`'s Draco stream, if it has one.
pub(crate) fn decode(data: &Data<'_>, gp: &gltf::Primitive, what: &str) -> Res<Option<Decoded>> {
    let Some(v) = gp.extensions.as_ref().and_then(|e| e.get(NAME)) else {
        return Ok(None);
    };
    let ext: Ext = serde_json::from_value(v.clone())
        .map_err(|e| invalid!("{what}: malformed {NAME} object: {e}"))?;
    let bytes = data.view(ext.buffer_view)?;
    // The loader's remaining budget for decoded data; a point holds at least a position and a
    // face its three indices, 12 bytes each.
    let budget = data.budget_left() as u64;
    let limits = DecodeLimits::default()
        .with_max_decoded_bytes(budget)
        .with_max_points((budget / 12).min(u32::MAX as u64))
        .with_max_faces((budget / 12).min(u32::MAX as u64));
    let mut buf = DecoderBuffer::new(bytes).with_limits(limits);
    let mut mesh = draco_core::Mesh::new();
    MeshDecoder::new()
        .decode(&mut buf, &mut mesh)
        .map_err(|e| {
            invalid!(
                "{what}: {NAME} stream in buffer view {} ({} bytes) could not be decoded: {e}",
                ext.buffer_view,
                bytes.len()
            )
        })?;
    let points = mesh.num_points();
    if points > u32::MAX as usize {
        return Err(invalid!(
            "{what}: {NAME} stream has too many points ({points})"
        ));
    }
    for (name, &id) in &ext.attributes {
        if mesh.attribute_by_unique_id(id).is_none() {
            return Err(invalid!(
                "{what}: {NAME} maps {name} to attribute id {id}, which the stream does not have"
            ));
        }
    }
    data.charge(mesh.num_faces().saturating_mul(12), || {
        format!("{what}: {NAME} indices")
    })?;
    let mut indices = Vec::with_capacity(mesh.num_faces() * 3);
    for f in mesh.faces() {
        for p in f {
            if p.0 as usize >= points {
                return Err(invalid!(
                    "{what}: {NAME} stream has point index {} out of range ({points} points)",
                    p.0
                ));
            }
            indices.push(p.0);
        }
    }
    Ok(Some(Decoded {
        mesh,
        attributes: ext.attributes,
        indices,
        points,
        reordered: bytes.get(METHOD_BYTE) == Some(&1),
    }))
}

impl Decoded {
    /// Whether the stream holds attribute `name` (else it is read from its accessor).
    pub fn has(&self, name: &str) -> bool {
        self.attributes.contains_key(name)
    }

    /// Attribute `name` as floats, `comps` per point (from accessor `acc`'s type), normalised
    /// integers scaled to [0, 1] / [-1, 1] as the accessor's `normalized` flag says.
    pub fn read(
        &self,
        data: &Data<'_>,
        name: &str,
        acc: usize,
        what: &str,
    ) -> Res<(Vec<f32>, usize)> {
        let Some(att) = self
            .attributes
            .get(name)
            .and_then(|&id| self.mesh.attribute_by_unique_id(id))
        else {
            return Err(invalid!("{what}: {NAME} has no attribute {name}"));
        };
        let (count, comps) = data.shape(acc)?;
        let a = data.accessor(acc)?;
        if att.num_components() as usize != comps {
            return Err(invalid!(
                "{what}: {name} is {} components per point in the {NAME} stream but accessor {acc} has {comps}",
                att.num_components()
            ));
        }
        if count != self.points {
            return Err(invalid!(
                "{what}: {name} accessor {acc} has count {count} but the {NAME} stream decodes {} points",
                self.points
            ));
        }
        data.charge(self.points.saturating_mul(comps * 4), || {
            format!("{what}: {NAME} {name}")
        })?;
        let mut v = att.read_f32s(self.points, comps);
        let scale = match att.data_type() {
            DataType::Uint8 => 1.0 / 255.0,
            DataType::Uint16 => 1.0 / 65535.0,
            DataType::Uint32 => 1.0 / 4294967295.0,
            DataType::Int8 => 1.0 / 127.0,
            DataType::Int16 => 1.0 / 32767.0,
            DataType::Int32 => 1.0 / 2147483647.0,
            _ => 1.0,
        };
        // Integer values are scaled to [0, 1] or [-1, 1] when either the accessor (of an integer
        // component type) or the stream marks them normalised: encoders do not always set the
        // stream's flag, so the accessor's counts as well.
        let normalized = (a.normalized || att.normalized())
            && matches!(a.component_type, I8 | U8 | I16 | U16 | U32);
        if normalized && scale != 1.0 {
            for x in v.iter_mut() {
                *x = (*x * scale).max(-1.0);
            }
        }
        Ok((v, comps))
    }
}
