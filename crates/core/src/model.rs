//! The avatar data model: what a loaded glTF/GLB/VRM becomes.
//!
//! An [`Avatar`] is immutable once loaded and shared between sessions through `Arc`. Per-frame
//! state (morph channel weights, head pose) lives in the renderer and animation stages.
//!
//! Conventions:
//! - Right-handed, +Y up, +Z toward the viewer, metres (glTF).
//! - All primitives are indexed triangle lists (the loader builds indices for non-indexed ones
//!   and triangulates strips/fans).
//! - Morph targets are stored sparse: only the vertices a target moves.
//! - Morph targets of all meshes are gathered into named [`MorphChannel`]s: one channel name
//!   (e.g. `jawOpen`) drives the matching target in every mesh that has it (head, teeth, tongue).
//! - Textures are decoded to RGBA8 with a full mip chain.

use crate::{ARKIT_COUNT, VISEME_COUNT};
use serde::{Deserialize, Serialize};

/// Column-major 4×4 matrix (glTF layout).
pub type Mat4 = [f32; 16];

/// The identity matrix.
pub const IDENTITY: Mat4 = [
    1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1.,
];

/// A loaded avatar.
#[derive(Clone, Debug, Default)]
pub struct Avatar {
    /// Display name (file stem or the built-in avatar's name).
    pub name: String,
    /// All nodes; `parent` links form a forest.
    pub nodes: Vec<Node>,
    /// Root nodes of the displayed scene.
    pub roots: Vec<u32>,
    /// Meshes.
    pub meshes: Vec<Mesh>,
    /// Skins.
    pub skins: Vec<Skin>,
    /// Materials.
    pub materials: Vec<Material>,
    /// Decoded textures.
    pub textures: Vec<Texture>,
    /// Named morph channels (see module docs).
    pub channels: Vec<MorphChannel>,
    /// Canonical ARKit / viseme mapping onto `channels`.
    pub rig: FaceRig,
    /// Humanoid bones/nodes later stages drive.
    pub humanoid: Humanoid,
    /// VRM expressions (0.x blend-shape groups or 1.0 expressions).
    pub expressions: Vec<Expression>,
    /// VRM spring bones (hair, ears, clothes that sway), simulated by the renderer.
    pub springs: SpringBones,
    /// VRM eye-gaze settings (`VRMC_vrm.lookAt`, VRM 0.x `firstPerson`), when the file has them.
    pub look_at: Option<LookAt>,
    /// VRM node constraints (`VRMC_node_constraint`), in evaluation order: every constraint
    /// comes after those it depends on.
    pub constraints: Vec<NodeConstraint>,
    /// What the file declared, what was unsupported, warnings.
    pub info: ModelInfo,
}

/// A scene node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Node name ("" when unnamed).
    pub name: String,
    /// Parent node.
    pub parent: Option<u32>,
    /// Children.
    pub children: Vec<u32>,
    /// Local translation.
    pub translation: [f32; 3],
    /// Local rotation quaternion (x, y, z, w).
    pub rotation: [f32; 4],
    /// Local scale.
    pub scale: [f32; 3],
    /// Mesh drawn at this node.
    pub mesh: Option<u32>,
    /// Skin used by that mesh.
    pub skin: Option<u32>,
}

impl Default for Node {
    fn default() -> Self {
        Node {
            name: String::new(),
            parent: None,
            children: Vec::new(),
            translation: [0.0; 3],
            rotation: [0.0, 0.0, 0.0, 1.0],
            scale: [1.0; 3],
            mesh: None,
            skin: None,
        }
    }
}

/// A mesh: primitives sharing one morph-target list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mesh {
    /// Mesh name.
    pub name: String,
    /// Primitives.
    pub primitives: Vec<Primitive>,
    /// Morph target names (from `extras.targetNames`, or generated `target_N`).
    pub target_names: Vec<String>,
    /// Default morph weights (`mesh.weights`), one per target.
    pub default_weights: Vec<f32>,
}

/// One indexed triangle list with one material.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Primitive {
    /// Vertex positions.
    pub positions: Vec<[f32; 3]>,
    /// Vertex normals (generated smooth normals when the file has none).
    pub normals: Vec<[f32; 3]>,
    /// Tangents (xyz, w = handedness); empty when absent.
    pub tangents: Vec<[f32; 4]>,
    /// TEXCOORD_0; empty when absent.
    pub uv0: Vec<[f32; 2]>,
    /// TEXCOORD_1; empty when absent.
    pub uv1: Vec<[f32; 2]>,
    /// COLOR_0 as linear RGBA; empty when absent.
    pub colors: Vec<[f32; 4]>,
    /// JOINTS_0 (indices into the skin's joint list); empty when not skinned.
    pub joints: Vec<[u16; 4]>,
    /// WEIGHTS_0, renormalised to sum to 1; empty when not skinned.
    pub weights: Vec<[f32; 4]>,
    /// Triangle indices (length a multiple of 3).
    pub indices: Vec<u32>,
    /// Material index; `None` means the glTF default material.
    pub material: Option<u32>,
    /// Morph targets, one per entry of the mesh's target list.
    pub targets: Vec<MorphTarget>,
}

/// A sparse morph target: only the vertices it moves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MorphTarget {
    /// Vertex indices, ascending.
    pub indices: Vec<u32>,
    /// Position deltas, one per index.
    pub positions: Vec<[f32; 3]>,
    /// Normal deltas, one per index, or empty.
    pub normals: Vec<[f32; 3]>,
}

/// How a VRM avatar's eyes follow a gaze (VRM 1.0 `lookAt`, VRM 0.x `firstPerson.lookAt*`).
#[derive(Clone, Debug, PartialEq)]
pub struct LookAt {
    /// Whether the eye bones turn (`bone`) or the look expressions are weighted
    /// (`expression`, VRM 0.x `BlendShape`).
    pub bones: bool,
    /// Gaze toward the nose (left eye looking right, right eye looking left).
    pub horizontal_inner: RangeMap,
    /// Gaze away from the nose.
    pub horizontal_outer: RangeMap,
    /// Gaze down.
    pub vertical_down: RangeMap,
    /// Gaze up.
    pub vertical_up: RangeMap,
}

/// A gaze angle's range: `min(|angle|, input_max_deg) / input_max_deg * output_scale`
/// (degrees of eye-bone rotation, or an expression weight).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RangeMap {
    /// Gaze angle, degrees, at which the output stops growing (> 0).
    pub input_max_deg: f32,
    /// Output at that angle.
    pub output_scale: f32,
}

impl RangeMap {
    fn map(&self, deg: f32) -> f32 {
        deg.abs().min(self.input_max_deg) / self.input_max_deg * self.output_scale
    }
}

#[cfg(test)]
mod look_at_tests {
    use super::*;

    #[test]
    fn range_maps_split_by_eye_and_direction_and_saturate() {
        let m = |i: f32, o: f32| RangeMap {
            input_max_deg: i,
            output_scale: o,
        };
        let l = LookAt {
            bones: true,
            horizontal_inner: m(45.0, 15.0),
            horizontal_outer: m(90.0, 10.0),
            vertical_down: m(30.0, 6.0),
            vertical_up: m(60.0, 3.0),
        };
        let deg = |(y, p): (f32, f32)| (y.to_degrees(), p.to_degrees());
        let close = |a: (f32, f32), b: (f32, f32)| {
            assert!(
                (a.0 - b.0).abs() < 1e-3 && (a.1 - b.1).abs() < 1e-3,
                "{a:?} vs {b:?}"
            )
        };
        let r = |d: f32| d.to_radians();
        // Looking left (+yaw): the left eye turns outward, the right eye inward; down (+pitch).
        close(deg(l.bone_angles(r(18.0), r(15.0), true)), (2.0, 3.0));
        close(deg(l.bone_angles(r(18.0), r(15.0), false)), (6.0, 3.0));
        // Looking right and up; past the input maxima the output stops at the scale.
        close(deg(l.bone_angles(r(-120.0), r(-90.0), true)), (-15.0, -3.0));
        close(deg(l.bone_angles(r(-9.0), r(-20.0), false)), (-1.0, -1.0));
    }

    #[test]
    fn look_expressions_are_weighted_by_the_outer_and_vertical_maps() {
        let m = |i: f32, o: f32| RangeMap {
            input_max_deg: i,
            output_scale: o,
        };
        let l = LookAt {
            bones: false,
            horizontal_inner: m(10.0, 0.1),
            horizontal_outer: m(60.0, 0.8),
            vertical_down: m(30.0, 0.6),
            vertical_up: m(40.0, 1.0),
        };
        let r = |d: f32| d.to_radians();
        let close = |a: [f32; 4], b: [f32; 4]| {
            assert!(
                a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4),
                "{a:?} vs {b:?}"
            )
        };
        // Left by 15 deg (outer map: 15/60 * 0.8), down by 15 (15/30 * 0.6).
        close(l.expression_weights(r(15.0), r(15.0)), [0.2, 0.0, 0.3, 0.0]);
        // Right and up, past the maxima.
        close(
            l.expression_weights(r(-90.0), r(-50.0)),
            [0.0, 0.8, 0.0, 1.0],
        );
        let mut face = crate::FaceWeights::default();
        face.set(crate::ArkitShape::EyeLookInLeft, 0.7);
        let f = l.weigh_face([r(30.0), r(-20.0)], &face);
        use crate::ArkitShape as A;
        let got = [
            A::EyeLookOutLeft,
            A::EyeLookInRight,
            A::EyeLookInLeft,
            A::EyeLookUpLeft,
        ]
        .map(|s| f.get(s));
        close(got, [0.4, 0.4, 0.0, 0.5]);
    }
}

impl LookAt {
    /// Look expression weights `[lookLeft, lookRight, lookDown, lookUp]` for a gaze of `yaw`
    /// and `pitch` (radians; positive yaw toward the subject's left, positive pitch down), as
    /// VRM weighs them for `expression` avatars: both horizontal ones by the outer range map.
    pub fn expression_weights(&self, yaw: f32, pitch: f32) -> [f32; 4] {
        let (yd, pd) = (yaw.to_degrees(), pitch.to_degrees());
        let h = self.horizontal_outer.map(yd);
        let (down, up) = if pd > 0.0 {
            (self.vertical_down.map(pd), 0.0)
        } else {
            (0.0, self.vertical_up.map(pd))
        };
        let (left, right) = if yd > 0.0 { (h, 0.0) } else { (0.0, h) };
        [left, right, down, up].map(|w| if w.is_finite() { w } else { 0.0 })
    }

    /// `face` with its eye-look weights replaced by [`LookAt::expression_weights`] for the
    /// gaze `eyes` (`[yaw, pitch]`, radians): what reaches an `expression` avatar's look
    /// expressions through the face rig (`lookLeft` = eyeLookOutLeft + eyeLookInRight, ...).
    pub fn weigh_face(&self, eyes: [f32; 2], face: &crate::FaceWeights) -> crate::FaceWeights {
        use crate::ArkitShape as A;
        let [left, right, down, up] = self.expression_weights(eyes[0], eyes[1]);
        let mut f = *face;
        for (s, w) in [
            (A::EyeLookOutLeft, left),
            (A::EyeLookInRight, left),
            (A::EyeLookInLeft, right),
            (A::EyeLookOutRight, right),
            (A::EyeLookDownLeft, down),
            (A::EyeLookDownRight, down),
            (A::EyeLookUpLeft, up),
            (A::EyeLookUpRight, up),
        ] {
            f.set(s, w);
        }
        f
    }

    /// Eye-bone yaw and pitch (radians; positive yaw toward the subject's left, positive pitch
    /// down) for a gaze of `yaw` and `pitch` (radians), for the left or the right eye.
    pub fn bone_angles(&self, yaw: f32, pitch: f32, left_eye: bool) -> (f32, f32) {
        let (yd, pd) = (yaw.to_degrees(), pitch.to_degrees());
        let h = if (yd > 0.0) == left_eye {
            &self.horizontal_outer
        } else {
            &self.horizontal_inner
        };
        let v = if pd > 0.0 {
            &self.vertical_down
        } else {
            &self.vertical_up
        };
        (
            h.map(yd).copysign(yd).to_radians(),
            v.map(pd).copysign(pd).to_radians(),
        )
    }
}

/// VRM spring bones (`VRMC_springBone`, or VRM 0.x `secondaryAnimation`): chains of joints
/// whose tails swing with inertia, return to their rest direction, fall with gravity and are
/// pushed out of colliders. Indices are checked by the loader (nodes, groups, colliders exist;
/// each joint's tail is a descendant of its node; no node is simulated twice).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpringBones {
    /// Chains, each simulated from its first joint to its last.
    pub chains: Vec<SpringChain>,
    /// Colliders.
    pub colliders: Vec<SpringCollider>,
    /// Collider groups: indices into `colliders`.
    pub groups: Vec<Vec<u32>>,
}

impl SpringBones {
    /// Simulated joints over all chains.
    pub fn joint_count(&self) -> usize {
        self.chains.iter().map(|c| c.joints.len()).sum()
    }
}

/// One chain of spring joints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpringChain {
    /// Name (VRM 1.0 `name`, VRM 0.x `comment`; may be empty).
    pub name: String,
    /// Joints from the root of the chain to its tip; each one's node rotates.
    pub joints: Vec<SpringJoint>,
    /// Collider groups (indices into [`SpringBones::groups`]) its tails collide with.
    pub groups: Vec<u32>,
    /// Node whose space the motion is evaluated in (world when `None`).
    pub center: Option<u32>,
}

/// A node that swings, with the point (its tail) that carries the inertia.
#[derive(Clone, Debug, PartialEq)]
pub struct SpringJoint {
    /// The node rotated.
    pub node: u32,
    /// Where the tail is at rest.
    pub tail: SpringTail,
    /// Radius of the tail's sphere against colliders, in metres.
    pub hit_radius: f32,
    /// Pull back toward the rest direction, per second.
    pub stiffness: f32,
    /// Gravity's pull, per second.
    pub gravity_power: f32,
    /// Gravity's direction, world space, unit length.
    pub gravity_dir: [f32; 3],
    /// Share of the last step's motion lost (0 keeps it all, 1 stops at once).
    pub drag: f32,
}

/// A spring joint's tail.
#[derive(Clone, Debug, PartialEq)]
pub enum SpringTail {
    /// A descendant node's origin (VRM 1.0: the next joint of the chain).
    Node(u32),
    /// A point in the joint node's local space (VRM 0.x joints without children: 7 cm along
    /// the bone).
    Local([f32; 3]),
}

/// A collider spring tails are pushed out of, attached to a node.
#[derive(Clone, Debug, PartialEq)]
pub struct SpringCollider {
    /// Node it moves with.
    pub node: u32,
    /// Shape, in the node's local space.
    pub shape: ColliderShape,
}

/// Collider shapes.
#[derive(Clone, Debug, PartialEq)]
pub enum ColliderShape {
    /// A sphere around `offset`.
    Sphere {
        /// Centre.
        offset: [f32; 3],
        /// Radius, metres.
        radius: f32,
    },
    /// A capsule from `offset` to `tail`.
    Capsule {
        /// One end's centre.
        offset: [f32; 3],
        /// Radius, metres.
        radius: f32,
        /// The other end's centre.
        tail: [f32; 3],
    },
    /// A sphere tails are kept inside (`VRMC_springBone_extended_collider`).
    InsideSphere {
        /// Centre.
        offset: [f32; 3],
        /// Radius, metres.
        radius: f32,
    },
    /// A capsule tails are kept inside (`VRMC_springBone_extended_collider`).
    InsideCapsule {
        /// One end's centre.
        offset: [f32; 3],
        /// Radius, metres.
        radius: f32,
        /// The other end's centre.
        tail: [f32; 3],
    },
    /// An infinite plane tails are kept on the `normal` side of
    /// (`VRMC_springBone_extended_collider`).
    Plane {
        /// A point of the plane.
        offset: [f32; 3],
        /// The side tails stay on, unit length.
        normal: [f32; 3],
    },
}

/// A VRM node constraint (`VRMC_node_constraint`): node `node`'s rotation follows node
/// `source`, blended from its rest rotation by `weight`. The loader checks that both nodes exist,
/// that they differ and that no constraint depends on itself.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeConstraint {
    /// The node rotated (the destination).
    pub node: u32,
    /// The node it follows.
    pub source: u32,
    /// How much of the constrained rotation is applied, 0 to 1.
    pub weight: f32,
    /// What is transferred.
    pub kind: ConstraintKind,
}

/// What a node constraint transfers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConstraintKind {
    /// The source's rotation from its rest about one axis of the destination's rest frame
    /// (0 = X, 1 = Y, 2 = Z): twist bones.
    Roll {
        /// Axis index.
        axis: u8,
    },
    /// The destination turns so that this axis of its own (a unit vector of its rest frame)
    /// points at the source's origin: sleeves, collars.
    Aim {
        /// Axis, unit length.
        axis: [f32; 3],
    },
    /// The source's rotation from its rest, local to local (Blender's Copy Rotation).
    Rotation,
}

impl ConstraintKind {
    /// Name as in the file: `roll`, `aim` or `rotation`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConstraintKind::Roll { .. } => "roll",
            ConstraintKind::Aim { .. } => "aim",
            ConstraintKind::Rotation => "rotation",
        }
    }
}

/// A skin.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Skin {
    /// Skin name.
    pub name: String,
    /// Joint nodes.
    pub joints: Vec<u32>,
    /// Inverse bind matrices, one per joint (identity when the file has none).
    pub inverse_bind: Vec<Mat4>,
}

/// How a material's alpha is used.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum AlphaMode {
    /// Alpha ignored.
    #[default]
    Opaque,
    /// Pixels with alpha below the cutoff are discarded.
    Mask(f32),
    /// Blended over what is behind.
    Blend,
}

/// `KHR_texture_transform`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TexTransform {
    /// UV offset.
    pub offset: [f32; 2],
    /// Rotation in radians.
    pub rotation: f32,
    /// UV scale.
    pub scale: [f32; 2],
}

impl TexTransform {
    /// The transform as `[a, b, c, d, e, f]`: `u' = a·u + c·v + e`, `v' = b·u + d·v + f`
    /// (offset · rotation · scale). The rotation turns UVs counter-clockwise with V down, as
    /// the extension's example, the Khronos sample model and the main implementations do (the
    /// GLSL listing in the extension's README has the sign of the sine flipped; KhronosGroup/glTF
    /// issue 1563).
    pub fn matrix(&self) -> [f32; 6] {
        let (s, c) = self.rotation.sin_cos();
        let [sx, sy] = self.scale;
        [
            c * sx,
            -s * sx,
            s * sy,
            c * sy,
            self.offset[0],
            self.offset[1],
        ]
    }

    /// Coordinates `uv` transformed (see [`TexTransform::matrix`]).
    pub fn apply(&self, [u, v]: [f32; 2]) -> [f32; 2] {
        let m = self.matrix();
        [m[0] * u + m[2] * v + m[4], m[1] * u + m[3] * v + m[5]]
    }
}

/// A material's reference to a texture.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TexRef {
    /// Index into [`Avatar::textures`].
    pub texture: u32,
    /// Which TEXCOORD set (0 or 1).
    pub texcoord: u32,
    /// Optional UV transform.
    pub transform: Option<TexTransform>,
}

/// A material (metallic-roughness subset facecast shades with).
#[derive(Clone, Debug, PartialEq)]
pub struct Material {
    /// Name.
    pub name: String,
    /// Base colour factor, linear RGBA.
    pub base_color: [f32; 4],
    /// Base colour texture (sRGB).
    pub base_color_tex: Option<TexRef>,
    /// Tangent-space normal map.
    pub normal_tex: Option<TexRef>,
    /// Normal map scale.
    pub normal_scale: f32,
    /// Emissive factor, linear RGB.
    pub emissive: [f32; 3],
    /// Emissive texture (sRGB), multiplied by the emissive factor.
    pub emissive_tex: Option<TexRef>,
    /// Metallic factor.
    pub metallic: f32,
    /// Roughness factor.
    pub roughness: f32,
    /// Metallic-roughness texture (linear): green scales the roughness factor, blue the
    /// metallic factor.
    pub metallic_roughness_tex: Option<TexRef>,
    /// Ambient occlusion texture (linear, red channel): darkens the indirect light.
    pub occlusion_tex: Option<TexRef>,
    /// How much of the occlusion texture applies (glTF `occlusionTexture.strength`, 0..1).
    pub occlusion_strength: f32,
    /// Alpha mode.
    pub alpha_mode: AlphaMode,
    /// Render back faces too.
    pub double_sided: bool,
    /// `KHR_materials_unlit` (or VRM 0.x `VRM/Unlit*`): base colour and emission, no light.
    pub unlit: bool,
    /// VRM MToon toon shading (`VRMC_materials_mtoon`, VRM 0.x `VRM/MToon`): when present it
    /// takes the place of the lit model (and of `unlit`, which MToon files set as a fallback).
    pub toon: Option<Toon>,
}

/// The MToon terms facecast draws (VRM 1.0's `VRMC_materials_mtoon` vocabulary; VRM 0.x values
/// are converted on load). The key light's `n·l + shading_shift` runs through a ramp from
/// `-1 + shading_toony` to `1 - shading_toony`, mixing the shade colour (0) into the lit colour
/// (1); a parametric rim and the emission are added. Defaults are the extension schema's.
#[derive(Clone, Debug, PartialEq)]
pub struct Toon {
    /// `shadeColorFactor`, linear RGB.
    pub shade_color: [f32; 3],
    /// `shadeMultiplyTexture` (sRGB), multiplied by `shade_color`.
    pub shade_tex: Option<TexRef>,
    /// `shadingShiftFactor` (-1..1; VRM's default 0).
    pub shading_shift: f32,
    /// `shadingShiftTexture` (linear): its red channel times [`Toon::shading_shift_scale`] is
    /// added to the shading shift.
    pub shading_shift_tex: Option<TexRef>,
    /// `shadingShiftTexture.scale` (default 1).
    pub shading_shift_scale: f32,
    /// VRM 0.x `_ShadingGradeTexture` (linear; 1.0 has no equivalent): with `g = 1 -
    /// shading_grade_rate · (1 - red)`, the key light's `n·l` becomes `g · (n·l + 1) - 1`
    /// before the ramp, so where red is low the surface turns to shade sooner. Ignored when
    /// [`Toon::shading_shift_tex`] is set.
    pub shading_grade_tex: Option<TexRef>,
    /// VRM 0.x `_ShadingGradeRate` (0..1, default 1).
    pub shading_grade_rate: f32,
    /// `shadingToonyFactor` (0..1; 1 is a hard edge; VRM's default 0.9).
    pub shading_toony: f32,
    /// `giEqualizationFactor` (0..1): 1 lights every direction alike, 0 follows the sky above
    /// and the ground below.
    pub gi_equalization: f32,
    /// `parametricRimColorFactor`, linear RGB (black: no rim).
    pub rim_color: [f32; 3],
    /// `parametricRimFresnelPowerFactor`.
    pub rim_fresnel_power: f32,
    /// `parametricRimLiftFactor`.
    pub rim_lift: f32,
    /// `matcapFactor`, linear RGB (default white): multiplies the matcap texture.
    pub matcap_color: [f32; 3],
    /// `matcapTexture` (sRGB): read where the view-space normal points (x right, y up) and added
    /// to the rim. Not moved by UV animation.
    pub matcap_tex: Option<TexRef>,
    /// `rimMultiplyTexture` (sRGB): multiplies the rim (matcap and parametric).
    pub rim_tex: Option<TexRef>,
    /// `rimLightingMixFactor` (0..1): 0 adds the rim as it is (like emission), 1 multiplies it
    /// by the light the surface gets.
    pub rim_lighting_mix: f32,
    /// UV animation's scroll speeds (`uvAnimationScrollXSpeedFactor` / `...Y...`): UV units per
    /// second, in glTF's convention (V grows downwards).
    pub uv_scroll: [f32; 2],
    /// UV animation's rotation speed (`uvAnimationRotationSpeedFactor`): radians per second
    /// around UV (0.5, 0.5), in `KHR_texture_transform`'s direction.
    pub uv_rotation: f32,
    /// `uvAnimationMaskTexture` (linear): its blue channel scales the UV animation's speeds.
    pub uv_mask_tex: Option<TexRef>,
    /// The outline drawn around the surface (`outlineWidthMode` other than `none`, with a
    /// width above zero).
    pub outline: Option<Outline>,
}

/// An MToon outline: the surface's back faces pushed out along its normals, in one colour.
#[derive(Clone, Debug, PartialEq)]
pub struct Outline {
    /// How [`Outline::width`] is measured.
    pub mode: OutlineMode,
    /// `outlineWidthFactor`: metres ([`OutlineMode::World`]) or a fraction of the picture's
    /// height ([`OutlineMode::Screen`]).
    pub width: f32,
    /// `outlineWidthMultiplyTexture` (linear): its green channel scales the width (0: no
    /// outline there).
    pub width_tex: Option<TexRef>,
    /// `outlineColorFactor`, linear RGB.
    pub color: [f32; 3],
    /// `outlineLightingMixFactor` (0..1): 0 draws the colour as is, 1 multiplies it by the
    /// surface's shading.
    pub lighting_mix: f32,
}

/// How an MToon outline's width is measured (`outlineWidthMode`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OutlineMode {
    /// `worldCoordinates`: metres, thinner on screen with distance.
    World,
    /// `screenCoordinates`: a fraction of the picture's height, whatever the distance.
    Screen,
}

impl Toon {
    /// Whether the material's textures move with time (MToon UV animation).
    pub fn uv_animated(&self) -> bool {
        self.uv_scroll != [0.0; 2] || self.uv_rotation != 0.0
    }
}

impl Default for Toon {
    fn default() -> Self {
        Toon {
            shade_color: [1.0; 3],
            shade_tex: None,
            shading_shift: 0.0,
            shading_shift_tex: None,
            shading_shift_scale: 1.0,
            shading_grade_tex: None,
            shading_grade_rate: 1.0,
            shading_toony: 0.9,
            gi_equalization: 0.9,
            rim_color: [0.0; 3],
            rim_fresnel_power: 1.0,
            rim_lift: 0.0,
            matcap_color: [1.0; 3],
            matcap_tex: None,
            rim_tex: None,
            rim_lighting_mix: 1.0,
            uv_scroll: [0.0; 2],
            uv_rotation: 0.0,
            uv_mask_tex: None,
            outline: None,
        }
    }
}

impl Default for Material {
    fn default() -> Self {
        Material {
            name: String::new(),
            base_color: [1.0; 4],
            base_color_tex: None,
            normal_tex: None,
            normal_scale: 1.0,
            emissive: [0.0; 3],
            emissive_tex: None,
            metallic: 1.0,
            roughness: 1.0,
            metallic_roughness_tex: None,
            occlusion_tex: None,
            occlusion_strength: 1.0,
            alpha_mode: AlphaMode::Opaque,
            double_sided: false,
            unlit: false,
            toon: None,
        }
    }
}

/// Texture wrap mode.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Wrap {
    /// Repeat.
    #[default]
    Repeat,
    /// Mirrored repeat.
    Mirror,
    /// Clamp to edge.
    Clamp,
}

/// Texels of a [`Texture`] are stored in blocks of 4×4 (RGBA8, row by row inside the block):
/// 64 bytes, one cache line, so a bilinear footprint and the footprints of neighbouring pixels
/// mostly fall in one line whatever the direction the texture runs across the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct TexelBlock(pub [u8; 64]);

impl Default for TexelBlock {
    fn default() -> Self {
        TexelBlock([0; 64])
    }
}

/// One mip level: its size and where its blocks lie in [`Texture::blocks`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MipLevel {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Index of the level's first block in [`Texture::blocks`]. Its blocks follow row by row
    /// (`blocks_wide` per row); blocks past the right or bottom edge are padded with zeros.
    pub block: usize,
}

impl MipLevel {
    /// Blocks per row of blocks.
    pub fn blocks_wide(&self) -> usize {
        (self.width as usize).div_ceil(4)
    }

    /// Blocks of the level.
    pub fn blocks(&self) -> usize {
        self.blocks_wide() * (self.height as usize).div_ceil(4)
    }

    /// Index of texel (`x`, `y`) counted in texels from the level's first texel (`x < width`,
    /// `y < height`).
    pub fn texel_index(&self, x: usize, y: usize) -> usize {
        ((y >> 2) * self.blocks_wide() + (x >> 2)) * 16 + (y & 3) * 4 + (x & 3)
    }
}

/// A decoded texture with its full mip chain (level 0 is the image).
///
/// All levels share one cache-line aligned allocation of [`TexelBlock`]s, so a renderer can
/// address a texel of any level from the start of [`blocks`](Texture::blocks) (the eight-wide
/// shading kernel samples pixels of one group from different levels with one set of gathers).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Texture {
    /// Name or URI.
    pub name: String,
    /// Every level's texels in 4×4 blocks, largest level first.
    pub blocks: Vec<TexelBlock>,
    /// Mip levels, largest first, down to 1×1.
    pub mips: Vec<MipLevel>,
    /// Wrap in U.
    pub wrap_s: Wrap,
    /// Wrap in V.
    pub wrap_t: Wrap,
    /// The sampler's `magFilter` is `NEAREST` (pixel art): each sample reads the one texel it
    /// falls in (of the mip level chosen), not a bilinear mix of four.
    pub nearest: bool,
}

impl Texture {
    /// A texture of one level per `(width, height, rgba)` entry, largest first, each given as
    /// RGBA8 rows (`rgba` holds `width * height * 4` bytes; missing bytes read as zero).
    pub fn from_levels(name: impl Into<String>, levels: Vec<(u32, u32, Vec<u8>)>) -> Texture {
        let mut t = Texture {
            name: name.into(),
            ..Default::default()
        };
        for (width, height, rgba) in levels {
            let lv = MipLevel {
                width,
                height,
                block: t.blocks.len(),
            };
            t.blocks
                .resize(lv.block + lv.blocks(), TexelBlock::default());
            let (w, h) = (width as usize, height as usize);
            for (y, row) in rgba.chunks(w.max(1) * 4).take(h).enumerate() {
                for (x, px) in row.chunks_exact(4).enumerate() {
                    let i = lv.texel_index(x, y);
                    t.blocks[lv.block + i / 16].0[(i % 16) * 4..][..4].copy_from_slice(px);
                }
            }
            t.mips.push(lv);
        }
        t
    }

    /// Texel (`x`, `y`) of level `l` as RGBA8, or zeros outside the texture.
    pub fn texel(&self, l: usize, x: usize, y: usize) -> [u8; 4] {
        let Some(lv) = self.mips.get(l) else {
            return [0; 4];
        };
        if x >= lv.width as usize || y >= lv.height as usize {
            return [0; 4];
        }
        let i = lv.block * 16 + lv.texel_index(x, y);
        match self.blocks.get(i / 16) {
            Some(b) => {
                let p = &b.0[(i % 16) * 4..][..4];
                [p[0], p[1], p[2], p[3]]
            }
            None => [0; 4],
        }
    }

    /// Level `l` as RGBA8 rows (`width * height * 4` bytes; empty when there is no such level).
    pub fn level_rgba(&self, l: usize) -> Vec<u8> {
        let Some(lv) = self.mips.get(l) else {
            return Vec::new();
        };
        let (w, h) = (lv.width as usize, lv.height as usize);
        let mut out = Vec::with_capacity(w * h * 4);
        for y in 0..h {
            for x in 0..w {
                out.extend_from_slice(&self.texel(l, x, y));
            }
        }
        out
    }
}

/// A named morph channel: drives target `target` of mesh `mesh` for each entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MorphChannel {
    /// The avatar's own name (`jawOpen`, `eyeBlink_L`, `viseme_aa`, `h_expressions.AE_AA_h`...).
    pub name: String,
    /// (mesh, target) pairs.
    pub targets: Vec<(u32, u32)>,
}

/// One mapped contribution: channel index and weight factor.
pub type Bind = (u32, f32);

/// Canonical rig → the avatar's morph channels.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceRig {
    /// For each ARKit shape (index order), the channels it drives.
    pub arkit: Vec<Vec<Bind>>,
    /// For each viseme (index order), the avatar's own viseme channels, if it has them.
    pub visemes: Vec<Vec<Bind>>,
    /// For each emotion ([`crate::Emotion::ALL`] order), the expression (index into
    /// [`Avatar::expressions`]) that shows it, if the avatar has one (VRM `happy`, `sad`,
    /// `angry`, `surprised`). Such emotions are driven through
    /// [`crate::FaceWeights::emotions`] and the expression, not through ARKit recipes.
    pub emotion_exprs: [Option<u32>; crate::face::EMOTION_COUNT],
    /// VRM blink, look and mouth presets whose material binds (a texture moved to close the
    /// eyes, a colour change) follow the canonical weights: their morph binds drive the
    /// `arkit` / `visemes` slots above, their material binds are applied by
    /// [`crate::expr::resolve_face`] with the weight [`ExprDrive::weight`] gives.
    pub expr_drives: Vec<ExprDrive>,
}

/// A VRM preset expression whose material binds follow canonical weights ([`FaceRig::expr_drives`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExprDrive {
    /// Index into [`Avatar::expressions`].
    pub expression: u32,
    /// ARKit shapes (index order) whose mean weight drives it (`blink`: both eye blinks).
    pub arkit: Vec<u16>,
    /// Visemes (index order) whose mean weight drives it (`aa`: the `aa` viseme).
    pub visemes: Vec<u16>,
}

impl ExprDrive {
    /// The expression's weight in face `w`: the mean of its shapes' and visemes' weights.
    pub fn weight(&self, w: &crate::FaceWeights) -> f32 {
        let n = self.arkit.len() + self.visemes.len();
        if n == 0 {
            return 0.0;
        }
        let sum: f32 = self
            .arkit
            .iter()
            .filter_map(|&i| w.arkit.get(i as usize))
            .chain(
                self.visemes
                    .iter()
                    .filter_map(|&i| w.visemes.get(i as usize)),
            )
            .sum();
        sum / n as f32
    }
}

impl Default for FaceRig {
    fn default() -> Self {
        FaceRig {
            arkit: vec![Vec::new(); ARKIT_COUNT],
            visemes: vec![Vec::new(); VISEME_COUNT],
            emotion_exprs: [None; crate::face::EMOTION_COUNT],
            expr_drives: Vec::new(),
        }
    }
}

impl FaceRig {
    /// Whether the avatar shows viseme `i` itself: a channel of its own, or a mouth preset
    /// whose material binds follow the viseme ([`FaceRig::expr_drives`], e.g. a mouth drawn by
    /// moving a texture).
    pub fn has_viseme(&self, i: usize) -> bool {
        self.visemes.get(i).is_some_and(|b| !b.is_empty())
            || self
                .expr_drives
                .iter()
                .any(|d| d.visemes.iter().any(|&v| v as usize == i))
    }

    /// Whether the avatar has a channel for ARKit shape `i`.
    pub fn has_arkit(&self, i: usize) -> bool {
        self.arkit.get(i).is_some_and(|b| !b.is_empty())
    }

    /// Number of ARKit shapes mapped.
    pub fn arkit_mapped(&self) -> usize {
        (0..ARKIT_COUNT).filter(|&i| self.has_arkit(i)).count()
    }

    /// Number of visemes mapped directly.
    pub fn visemes_mapped(&self) -> usize {
        (0..VISEME_COUNT).filter(|&i| self.has_viseme(i)).count()
    }

    /// Resolve canonical weights to channel weights. `out` is resized to `n_channels` and
    /// overwritten; contributions add and clamp to 0..1. No allocation once `out` has capacity.
    pub fn resolve(&self, w: &crate::FaceWeights, n_channels: usize, out: &mut Vec<f32>) {
        out.clear();
        out.resize(n_channels, 0.0);
        for (i, binds) in self.arkit.iter().enumerate() {
            let v = w.arkit[i];
            if v != 0.0 {
                for &(c, f) in binds {
                    if let Some(o) = out.get_mut(c as usize) {
                        *o += v * f;
                    }
                }
            }
        }
        for (i, binds) in self.visemes.iter().enumerate() {
            let v = w.visemes[i];
            if v != 0.0 {
                for &(c, f) in binds {
                    if let Some(o) = out.get_mut(c as usize) {
                        *o += v * f;
                    }
                }
            }
        }
        for o in out.iter_mut() {
            *o = o.clamp(0.0, 1.0);
        }
    }
}

/// Humanoid nodes the animation drives (VRM humanoid, or found by name).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Humanoid {
    /// Head bone/node.
    pub head: Option<u32>,
    /// Neck bone/node.
    pub neck: Option<u32>,
    /// Left eye bone/node.
    pub left_eye: Option<u32>,
    /// Right eye bone/node.
    pub right_eye: Option<u32>,
    /// Jaw bone/node (rotated when the avatar has no jaw morph).
    pub jaw: Option<u32>,
}

/// A VRM expression / blend-shape group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expression {
    /// Name (`happy`, `aa`, `blink`, custom...).
    pub name: String,
    /// VRM preset name when it is one.
    pub preset: Option<String>,
    /// Morph binds: channel index and weight 0..1.
    pub binds: Vec<Bind>,
    /// `isBinary`: the weight is rounded to 0 or 1 (above 0.5 is 1).
    pub is_binary: bool,
    /// What this expression does to the blink expressions while it is active.
    pub override_blink: ExprOverride,
    /// What this expression does to the look expressions while it is active.
    pub override_look_at: ExprOverride,
    /// What this expression does to the mouth expressions (`aa ih ou ee oh`) while it is active.
    pub override_mouth: ExprOverride,
    /// Material colour binds.
    pub color_binds: Vec<ColorBind>,
    /// Texture-transform binds.
    pub texture_binds: Vec<TextureBind>,
}

impl Expression {
    /// Number of material colour and texture-transform binds.
    pub fn material_binds(&self) -> usize {
        self.color_binds.len() + self.texture_binds.len()
    }
}

/// VRM 1.0 `overrideBlink` / `overrideLookAt` / `overrideMouth`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ExprOverride {
    /// No effect.
    #[default]
    None,
    /// Any weight above 0 turns the overridden expressions off.
    Block,
    /// The overridden expressions are scaled by `1 - weight`.
    Blend,
}

impl ExprOverride {
    /// The VRM spelling (`none`, `block`, `blend`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExprOverride::None => "none",
            ExprOverride::Block => "block",
            ExprOverride::Blend => "blend",
        }
    }
}

/// Which colour of a material a [`ColorBind`] moves (VRM `materialColorBinds.type`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ColorTarget {
    /// Base colour factor (`color`, VRM 0.x `_Color`).
    Color,
    /// Emissive factor (`emissionColor`, `_EmissionColor`).
    Emission,
    /// MToon shade colour (`shadeColor`, `_ShadeColor`): drawn on MToon materials.
    Shade,
    /// MToon matcap colour (`matcapColor`; VRM 0.x has none): drawn on MToon materials.
    Matcap,
    /// MToon parametric rim colour (`rimColor`, `_RimColor`): drawn on MToon materials.
    Rim,
    /// MToon outline colour (`outlineColor`, `_OutlineColor`): drawn on MToon materials with an
    /// outline.
    Outline,
}

impl ColorTarget {
    /// The VRM 1.0 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ColorTarget::Color => "color",
            ColorTarget::Emission => "emissionColor",
            ColorTarget::Shade => "shadeColor",
            ColorTarget::Matcap => "matcapColor",
            ColorTarget::Rim => "rimColor",
            ColorTarget::Outline => "outlineColor",
        }
    }
}

/// An expression's material colour bind: at weight 1 the colour is `value` (linear RGBA).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ColorBind {
    /// Index into [`Avatar::materials`].
    pub material: u32,
    /// Which colour.
    pub target: ColorTarget,
    /// Target value, linear RGBA (RGB for emission; alpha then unused).
    pub value: [f32; 4],
}

/// An expression's texture-transform bind: at weight 1 the material's textures have this scale
/// and offset (glTF UV convention, as in `KHR_texture_transform`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TextureBind {
    /// Index into [`Avatar::materials`].
    pub material: u32,
    /// Target UV scale.
    pub scale: [f32; 2],
    /// Target UV offset.
    pub offset: [f32; 2],
}

/// What the file declared and what the loader noticed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelInfo {
    /// Source path or `builtin:<name>`.
    pub source: String,
    /// `extensionsUsed`.
    pub extensions_used: Vec<String>,
    /// `extensionsRequired`.
    pub extensions_required: Vec<String>,
    /// Used extensions facecast ignores or supports only in part, each with a reason.
    pub unsupported: Vec<String>,
    /// `"0.x"`, `"1.0"`, or `None` for plain glTF.
    pub vrm_version: Option<String>,
    /// Loader warnings (renormalised skin weights, missing textures, ...).
    pub warnings: Vec<String>,
    /// Number of animations in the file (not played; informational).
    pub animations: usize,
}

impl Avatar {
    /// Index of the channel with this exact name.
    pub fn channel(&self, name: &str) -> Option<u32> {
        self.channels
            .iter()
            .position(|c| c.name == name)
            .map(|i| i as u32)
    }

    /// Total vertices over all primitives.
    pub fn vertex_count(&self) -> usize {
        self.meshes
            .iter()
            .flat_map(|m| &m.primitives)
            .map(|p| p.positions.len())
            .sum()
    }

    /// Total triangles over all primitives.
    pub fn triangle_count(&self) -> usize {
        self.meshes
            .iter()
            .flat_map(|m| &m.primitives)
            .map(|p| p.indices.len() / 3)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texels_round_trip_through_blocks() {
        // Odd sizes: levels whose sides are not multiples of four are padded inside the blocks.
        let levels: Vec<(u32, u32, Vec<u8>)> = [(7u32, 5u32), (3, 2), (1, 1)]
            .iter()
            .map(|&(w, h)| (w, h, (0..w * h * 4).map(|i| (i * 7 + w) as u8).collect()))
            .collect();
        let t = Texture::from_levels("t", levels.clone());
        assert_eq!(
            t.mips.iter().map(|m| m.block).collect::<Vec<_>>(),
            vec![0, 4, 5],
            "7x5 takes 2x2 blocks, 3x2 and 1x1 one each"
        );
        assert_eq!(t.blocks.len(), 6);
        for (l, (w, _, rgba)) in levels.iter().enumerate() {
            assert_eq!(&t.level_rgba(l), rgba, "level {l}");
            let x = *w as usize - 1;
            assert_eq!(
                t.texel(l, x, 0),
                [
                    rgba[x * 4],
                    rgba[x * 4 + 1],
                    rgba[x * 4 + 2],
                    rgba[x * 4 + 3]
                ]
            );
        }
        assert_eq!(t.texel(0, 7, 0), [0; 4], "outside the level");
        assert_eq!(t.texel(3, 0, 0), [0; 4], "no such level");
        assert_eq!(std::mem::align_of::<TexelBlock>(), 64);
        assert_eq!(t.blocks.as_ptr() as usize % 64, 0, "blocks are cache lines");
    }
}
