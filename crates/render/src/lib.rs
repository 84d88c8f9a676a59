//! facecast-render: a CPU software renderer for talking avatars.
//!
//! [`Renderer`] turns a shared [`Avatar`] plus per-frame morph channel weights and a [`HeadPose`]
//! into an RGBA or I420 picture. The pipeline per frame:
//!
//! 1. **Pose**: node hierarchy world transforms with the head pose applied as extra rotations on
//!    the humanoid neck (40 %) and head (60 %), eye rotations on the eye nodes and an optional jaw
//!    rotation ([`Renderer::set_jaw_open`]); then VRM node constraints (`constraint.rs`: roll,
//!    aim, rotation, in dependency order) and VRM spring bones (`spring.rs`) run in fixed
//!    60 Hz steps up to the frame's time ([`Renderer::set_time`]); joint matrices = world ×
//!    inverse bind. Skipped when nothing changed since the previous frame (springs at rest and
//!    the pose unchanged).
//! 2. **Morph**: sparse targets; only targets with non-zero weight and only the vertices they
//!    touch are updated (positions and normals). Skipped per mesh when its weights are unchanged.
//! 3. **Vertex**: linear-blend skinning or the node transform, then view and projection; each
//!    vertex's clip codes and fixed-point screen position are computed once, eight at a time
//!    with AVX2 (bit-identical to the scalar reference, which a test checks).
//!
//! 3b. **Level of detail** (`lod.rs`, once per renderer, shared by renderers of the same
//!    avatar, camera and size): dense opaque primitives are simplified by meshoptimizer's edge
//!    collapse to at most [`DEFAULT_LOD_PX`] (0.25) pixels of error at this camera and size,
//!    with normals, vertex colours, texture coordinates, morph motion and skin joints weighed
//!    as attributes. The result is an index list over the unchanged vertices, so morphs and
//!    skinning work as before. At 512² the built-in avatar draws 14.5k of its 30k triangles and
//!    the picture moves by sub-pixel edge shifts ([`Renderer::set_lod`]; 0 draws every
//!    triangle).
//!
//! 4. **Setup + binning**: near/guard-band clipping, back-face culling (unless double-sided),
//!    fixed-point (1/16 px) edge functions with the top-left fill rule, binned into 64×64 tiles
//!    (with AVX2, eight triangles at a time; the same records as the plain path).
//!    Blended triangles are sorted back to front and drawn after the opaque ones without depth
//!    writes, composited per sample (each of a pixel's four samples blends the triangles that
//!    cover it, then the pixel takes their mean), so the triangles of one blended surface that
//!    share a pixel cover it together instead of each letting the background through.
//! 5. **Tiles**: a visibility buffer with 4 rotated-grid samples per pixel (depth + triangle id,
//!    SSE2 edge/depth test of the 4 samples at once), so every visible pixel is shaded once (edge
//!    pixels once per distinct triangle, weighted by its share of the samples). Back faces of
//!    double-sided materials are binned apart and rasterised in a late pass after the front
//!    faces, skipped when every 8×8 block under them already holds nearer samples (exact: such
//!    a triangle cannot win a depth test). Their shading records are written only for the few
//!    that win a sample, before the tile is shaded (set-up writes those of front faces; the same
//!    bits either way). Draws that showed under a quarter of their front faces in the first
//!    frame (teeth and tongue behind closed lips, eyeballs under the lids) go to the late pass
//!    whole, and stay there if its depth-block test turned away a third or more of their
//!    triangles in the second ([`Renderer::deferred_draws`]). An exact depth tie goes to the
//!    lowest triangle id in both passes, so the picture does not depend on what is drawn late.
//!    Then blended geometry, then the resolve to sRGB written straight into the RGBA frame or
//!    converted to I420 with [`facecast_core::convert`]'s row kernel (AVX2 when available) in
//!    the same pass.
//!
//! 5b. **Tile reuse**: every projected vertex gets a hash of its index and transformed data,
//!    every triangle one of its vertices, material and facing, every tile one of its triangles
//!    in drawing order. A tile whose signature equals the one its cached output was drawn with
//!    shows the same pixels, so it is not drawn again (a talking head's shoulders; the whole
//!    frame when nothing moved). Bit-identical to drawing every tile
//!    ([`Renderer::set_tile_reuse`] turns it off; [`Renderer::reused_tiles`] counts). For I420
//!    frames each tile's conversion is cached too (6 KB per tile, allocated with the first I420
//!    frame): a reused tile's luma and chroma are copied, not converted again.
//!
//! 6. **Deferred shading** (`shade.rs`): each tile row's visible pixels are queued as (pixel,
//!    triangle) pairs and shaded eight at a time by an AVX2 + FMA kernel (barycentrics, attribute
//!    interpolation, texture fetches by gather, normal mapping, lighting, all eight-wide; one or
//!    two triangles' records broadcast instead of gathered, as pixels come in runs), then
//!    encoded to sRGB eight at a time. The plain-Rust reference kernels run where the CPU lacks
//!    AVX2/FMA or when [`Renderer::set_simd`] turns them off; a test checks both draw the same
//!    picture (to one 8-bit step) on the real sample avatars.
//!
//! Shading: perspective-correct attributes, bilinear mip-mapped textures (LOD per triangle from the
//! UV/screen area ratio), `KHR_texture_transform`, wrap modes, sRGB decode, derivative-based
//! normal mapping, metallic-roughness, occlusion and emissive textures (per pixel, scaling their
//! factors), vertex colours, `KHR_materials_unlit`, VRM MToon toon shading (shade colour and
//! texture over a ramp from the key light's `n·l`, shading shift factor and texture, toony
//! factor, GI equalisation, the rim: matcap read at the view-space normal plus the parametric
//! rim, times the rim texture and the lighting mix; outlines as extra draws of the surface's turned-around triangles
//! pushed out along the normals; UV animation moving the texture coordinates with
//! [`Renderer::set_time`]), alpha MASK/BLEND. Lighting is
//! camera-relative: a warm key, a cool fill, a rim light and a sky/ground hemisphere with wrap
//! diffuse (soft skin; occlusion darkens the fill and the hemisphere), plus an analytic
//! Blinn-Phong highlight from the key light whose exponent and colour follow roughness and
//! metalness (skipped where it would add less than 1e-4); output goes through a soft filmic shoulder and the sRGB curve
//! (lookup tables). Normal maps use a per-triangle unit tangent frame.
//!
//! Memory: textures and meshes are read from the shared `Arc<Avatar>`, never copied; each
//! renderer owns only its per-frame buffers ([`Renderer::memory_bytes`]).
//!
//! No allocation happens per frame once the first frames have sized the triangle and bin lists.

// Fixed-size lane arithmetic reads best with index loops.
#![allow(clippy::needless_range_loop)]

mod camera;
mod constraint;
mod lod;
mod math;
mod raster;
mod scene;
mod shade;
mod spring;
mod stages;
mod texture;

use std::str::FromStr;
use std::sync::Arc;

use facecast_core::model::Avatar;
use facecast_core::{HeadPose, I420Frame, RgbaFrame};

pub use raster::TILE;
pub use stages::{reset_stage_cycles, stage_cycles, Stage, STAGE_COUNT, STAGE_CYCLES, STAGE_NAMES};

/// Errors of the renderer.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RenderError {
    /// Width or height out of range or odd.
    #[error("invalid output size {width}x{height}: width and height must be even and between 16 and 8192")]
    InvalidSize {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// A background image with no pixels or a data length not matching its size.
    #[error(
        "invalid background image {width}x{height} with {len} bytes (expected width*height*4 > 0)"
    )]
    InvalidBackground {
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
        /// Data length.
        len: usize,
    },
    /// A camera override with non-finite values, eye == target, or a field of view outside 1..170°.
    #[error("invalid camera override: {0}")]
    InvalidCamera(String),
    /// A level-of-detail error that is not a number of pixels from 0 to 4.
    #[error("lod_px {0} outside 0..=4 pixels")]
    InvalidLod(f32),
    /// Mesh data the renderer cannot draw safely.
    #[error("mesh {mesh} primitive {primitive}: {reason}")]
    BadMesh {
        /// Mesh index.
        mesh: usize,
        /// Primitive index.
        primitive: usize,
        /// What is wrong.
        reason: String,
    },
    /// A background string that is neither a colour nor a gradient.
    #[error("invalid background '{0}': expected #rrggbb, #rgb, a colour name (black, white, gray, navy, ...) or gradient:#top:#bottom")]
    BadBackground(String),
}

/// What is drawn behind the avatar.
#[derive(Clone, Debug, PartialEq)]
pub enum Background {
    /// One sRGB colour.
    Solid([u8; 3]),
    /// Vertical gradient between two sRGB colours.
    Gradient {
        /// Top colour.
        top: [u8; 3],
        /// Bottom colour.
        bottom: [u8; 3],
    },
    /// A picture, scaled to cover the frame (centre crop).
    Image(RgbaFrame),
}

impl Default for Background {
    fn default() -> Self {
        Background::Gradient {
            top: [0x3a, 0x41, 0x4e],
            bottom: [0x16, 0x19, 0x1f],
        }
    }
}

const NAMED: &[(&str, [u8; 3])] = &[
    ("black", [0, 0, 0]),
    ("white", [255, 255, 255]),
    ("gray", [128, 128, 128]),
    ("grey", [128, 128, 128]),
    ("darkgray", [64, 64, 64]),
    ("darkgrey", [64, 64, 64]),
    ("lightgray", [211, 211, 211]),
    ("lightgrey", [211, 211, 211]),
    ("navy", [0, 0, 128]),
    ("blue", [0, 0, 255]),
    ("red", [255, 0, 0]),
    ("green", [0, 128, 0]),
    ("lime", [0, 255, 0]),
    ("teal", [0, 128, 128]),
    ("slate", [0x20, 0x24, 0x2c]),
    ("purple", [128, 0, 128]),
    ("beige", [245, 245, 220]),
    ("skyblue", [135, 206, 235]),
    ("chroma", [0, 177, 64]),
    ("greenscreen", [0, 177, 64]),
];

fn parse_colour(s: &str) -> Option<[u8; 3]> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix('#') {
        let v = |i: usize, n: usize| u8::from_str_radix(hex.get(i..i + n)?, 16).ok();
        return match hex.len() {
            6 => Some([v(0, 2)?, v(2, 2)?, v(4, 2)?]),
            3 => Some([v(0, 1)? * 17, v(1, 1)? * 17, v(2, 1)? * 17]),
            _ => None,
        };
    }
    NAMED
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|&(_, c)| c)
}

impl FromStr for Background {
    type Err = RenderError;
    fn from_str(s: &str) -> Result<Self, RenderError> {
        let bad = || RenderError::BadBackground(s.to_string());
        if let Some(rest) = s.trim().strip_prefix("gradient:") {
            let (a, b) = rest.split_once(':').ok_or_else(bad)?;
            return Ok(Background::Gradient {
                top: parse_colour(a).ok_or_else(bad)?,
                bottom: parse_colour(b).ok_or_else(bad)?,
            });
        }
        parse_colour(s).map(Background::Solid).ok_or_else(bad)
    }
}

/// A fixed camera instead of the automatic head-and-shoulders framing.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct CameraOverride {
    /// Eye position (world, metres).
    pub eye: [f32; 3],
    /// Point looked at.
    pub target: [f32; 3],
    /// Vertical field of view in degrees.
    pub fov_y_deg: f32,
}

/// Output configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderConfig {
    /// Width in pixels (even, 16..=8192).
    pub width: u32,
    /// Height in pixels (even, 16..=8192).
    pub height: u32,
    /// Background.
    pub background: Background,
    /// Camera override; `None` frames head and shoulders automatically.
    pub camera: Option<CameraOverride>,
    /// Level of detail: dense meshes are simplified where that moves the picture by at most
    /// this many pixels (0..=4; 0 draws every triangle). Default [`DEFAULT_LOD_PX`].
    pub lod_px: f32,
}

impl Default for RenderConfig {
    fn default() -> Self {
        RenderConfig {
            width: 512,
            height: 512,
            background: Background::default(),
            camera: None,
            lod_px: DEFAULT_LOD_PX,
        }
    }
}

impl RenderConfig {
    /// Check sizes, the background image and the camera.
    pub fn validate(&self) -> Result<(), RenderError> {
        if !(0.0..=4.0).contains(&self.lod_px) {
            return Err(RenderError::InvalidLod(self.lod_px));
        }
        let ok = |v: u32| (16..=8192).contains(&v) && v & 1 == 0;
        if !ok(self.width) || !ok(self.height) {
            return Err(RenderError::InvalidSize {
                width: self.width,
                height: self.height,
            });
        }
        if let Background::Image(img) = &self.background {
            if img.width == 0
                || img.height == 0
                || img.data.len() != img.width as usize * img.height as usize * 4
            {
                return Err(RenderError::InvalidBackground {
                    width: img.width,
                    height: img.height,
                    len: img.data.len(),
                });
            }
        }
        if let Some(c) = &self.camera {
            let finite = c.eye.iter().chain(c.target.iter()).all(|v| v.is_finite());
            if !finite {
                return Err(RenderError::InvalidCamera(format!(
                    "non-finite eye {:?} or target {:?}",
                    c.eye, c.target
                )));
            }
            if math::length(math::sub(c.eye, c.target)) < 1e-6 {
                return Err(RenderError::InvalidCamera(format!(
                    "eye and target are the same point {:?}",
                    c.eye
                )));
            }
            if !(1.0..=170.0).contains(&c.fov_y_deg) {
                return Err(RenderError::InvalidCamera(format!(
                    "fov_y_deg {} outside 1..170",
                    c.fov_y_deg
                )));
            }
        }
        Ok(())
    }
}

/// The renderer: owns every per-frame buffer. One per session; `Send`.
pub struct Renderer {
    avatar: Arc<Avatar>,
    cfg: RenderConfig,
    scene: scene::Scene,
    morph: scene::MorphState,
    geo: scene::Geometry,
    cam: camera::Camera,
    rast: raster::Raster,
    jaw_open: f32,
    /// Seconds since the session started (MToon UV animation).
    time: f64,
}

/// Default level-of-detail error in pixels ([`Renderer::set_lod`]).
pub const DEFAULT_LOD_PX: f32 = 0.25;

impl Renderer {
    /// Prepare a renderer for `avatar` at `cfg`'s size. Validates the config and the mesh data
    /// (index ranges, attribute lengths) so rendering never panics.
    pub fn new(avatar: Arc<Avatar>, cfg: RenderConfig) -> Result<Renderer, RenderError> {
        cfg.validate()?;
        scene::validate_avatar(&avatar)?;
        let mut scene = scene::Scene::new(&avatar);
        let mut morph = scene::MorphState::new(&avatar);
        // Rest pose, default weights: world-space geometry for the framing.
        scene.update(&avatar, &HeadPose::default(), 0.0, true, None);
        let geo = scene::Geometry::new(&avatar, &scene);
        morph.update(&avatar, &[]);
        let rest = geo.world_positions(&avatar, &scene, &morph);
        let cam = match &cfg.camera {
            Some(o) => camera::Camera::from_override(o, cfg.width, cfg.height),
            None => camera::Camera::auto(&avatar, &scene, &geo, &rest, cfg.width, cfg.height),
        };
        let rast = raster::Raster::new(&avatar, &cfg, &geo);
        let mut r = Renderer {
            avatar,
            cfg,
            scene,
            morph,
            geo,
            cam,
            rast,
            jaw_open: 0.0,
            time: 0.0,
        };
        r.build_lod();
        Ok(r)
    }

    /// Change the level of detail ([`RenderConfig::lod_px`]): draw simplified triangle lists
    /// where that moves the picture by at most `error_px` pixels (clamped to 0..=4; 0 and NaN draw
    /// every triangle of the avatar). The lists are made here, for this renderer's camera and
    /// size (tens of milliseconds for a dense avatar, once per avatar and size), not per frame.
    /// Morphs, skinning and attributes work as before on the vertices that remain.
    pub fn set_lod(&mut self, error_px: f32) {
        let px = if error_px.is_finite() {
            error_px.clamp(0.0, 4.0)
        } else {
            0.0
        };
        if px != self.cfg.lod_px {
            self.cfg.lod_px = px;
            self.build_lod();
        }
    }

    /// Triangles drawn per frame before culling: the level-of-detail lists where there are
    /// some, else the avatar's own.
    pub fn lod_triangles(&self) -> usize {
        self.geo
            .draws
            .iter()
            .enumerate()
            .map(
                |(di, d)| match self.rast.lod.get(di).and_then(|l| l.as_ref()) {
                    Some(l) => l.len() / 3,
                    None => {
                        self.avatar.meshes[d.mesh as usize].primitives[d.prim as usize]
                            .indices
                            .len()
                            / 3
                    }
                },
            )
            .sum()
    }

    /// (Re)build the level-of-detail lists from the rest pose seen by the camera.
    fn build_lod(&mut self) {
        let av = &*self.avatar;
        self.rast.lod = Default::default();
        if self.cfg.lod_px > 0.0 {
            let (h, px) = (self.cfg.height, self.cfg.lod_px);
            if let Some(l) = lod::cached(&self.avatar, &self.cam, h, px) {
                self.rast.lod = l;
            } else {
                self.morph.update(av, &[]);
                // How skinning moves each vertex: view-space positions under the probe poses
                // (head turned, tilted and rolled, jaw open), rest pose last (what `geo` keeps).
                // (Without skins, nothing but rigid node motion: no probes.)
                let probes_needed = if av.skins.is_empty() {
                    0
                } else {
                    lod::PROBES.len()
                };
                let mut probes = Vec::with_capacity(probes_needed);
                for &(head, jaw) in &lod::PROBES[..probes_needed] {
                    let pose = HeadPose {
                        head,
                        ..HeadPose::default()
                    };
                    self.scene.update(av, &pose, jaw, true, None);
                    self.geo
                        .vertex_stage(av, &self.scene, &self.morph, &self.cam);
                    probes.push(self.geo.verts.iter().map(|v| v.vp).collect::<Vec<_>>());
                }
                self.scene.update(av, &HeadPose::default(), 0.0, true, None);
                self.geo
                    .vertex_stage(av, &self.scene, &self.morph, &self.cam);
                self.rast.lod = lod::make(&self.avatar, &self.geo, &probes, &self.cam, h, px);
            }
        }
        // The next frame transforms and sets up again.
        self.geo.valid = false;
    }

    /// Use the SIMD (AVX2 + FMA) kernels where the CPU has them (the default), or force the
    /// plain-Rust reference kernels. Both draw the same picture (to rounding); the switch exists
    /// to compare them and to measure what the SIMD kernels buy.
    pub fn set_simd(&mut self, on: bool) {
        self.rast.simd = on;
    }

    /// Reuse the output of tiles whose triangles did not change since the previous frame (the
    /// default): a talking head's shoulders, and the hair and background around a still head,
    /// are not drawn again. Off draws every tile every frame; both give the same pictures.
    pub fn set_tile_reuse(&mut self, on: bool) {
        self.rast.reuse = on;
    }

    /// Of the last frame's tiles that show part of the avatar: how many were reused from the
    /// previous frame, and how many there were (background-only tiles are cheap and not
    /// counted).
    pub fn reused_tiles(&self) -> (usize, usize) {
        self.rast.reused_tiles()
    }

    /// How many of the avatar's draws have their front faces drawn late, after the other opaque
    /// triangles, with shading records written only for the triangles that show. After the
    /// first frame: the draws that showed under a quarter of their front faces, such as teeth
    /// behind closed lips; after the second, those of them whose triangles the depth blocks
    /// mostly turned away (a third or more). The pictures are the same either way.
    pub fn deferred_draws(&self) -> usize {
        self.rast.deferred_draws()
    }

    /// The avatar being drawn.
    pub fn avatar(&self) -> &Arc<Avatar> {
        &self.avatar
    }

    /// The configuration.
    pub fn config(&self) -> &RenderConfig {
        &self.cfg
    }

    /// The camera in use (automatic framing or the override).
    pub fn camera(&self) -> CameraOverride {
        self.cam.as_override()
    }

    /// Open the jaw bone (0 = rest, 1 = fully open, about 18°) on avatars that have a
    /// `humanoid.jaw` node; used when the avatar has no `jawOpen` morph. No effect otherwise.
    pub fn set_jaw_open(&mut self, v: f32) {
        self.jaw_open = if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.0
        };
    }

    /// Set the material values expressions give (VRM material colour and texture-transform
    /// binds; see [`facecast_core::expr::apply_expressions`]), one entry per avatar material;
    /// missing entries are the materials' own values. Takes effect from the next frame. When
    /// the values changed, that frame sets every triangle up again and draws every tile; when
    /// they did not, this costs one comparison per draw.
    pub fn set_material_values(&mut self, values: &[facecast_core::expr::MaterialValues]) {
        if self
            .rast
            .set_material_values(&self.avatar, &self.geo, values)
        {
            self.geo.valid = false;
        }
    }

    /// Set the time the next frame shows, in seconds from the start of the session (not
    /// finite: 0). It moves the textures of VRM MToon materials with UV animation and runs the
    /// avatar's spring bones (hair, ears, clothes) in fixed steps up to it: the first frame, and
    /// any frame whose time is earlier than the last one's, shows them at rest in that frame's
    /// pose. Starts at 0, so renderers that never set it (snapshots) show the rest pose.
    pub fn set_time(&mut self, seconds: f64) {
        self.time = if seconds.is_finite() { seconds } else { 0.0 };
    }

    /// Run the spring bones from the current time (see [`Renderer::set_time`]) to `seconds`
    /// with the head held at `pose`, without drawing, and set the time to `seconds`: the next
    /// frame shows the avatar `seconds` into a session whose head held still (hair and clothes
    /// settled under gravity). At most the last 60 s are simulated; on avatars without spring
    /// bones this only sets the time. Costs one pose update per 0.2 s simulated.
    pub fn run_springs(&mut self, seconds: f64, pose: &HeadPose) {
        let target = if seconds.is_finite() { seconds } else { 0.0 };
        if self.scene.has_springs() {
            let av = &*self.avatar;
            let mut t = self.time.max(target - 60.0);
            self.scene.update(av, pose, self.jaw_open, false, Some(t));
            while t < target {
                t = (t + 0.2).min(target);
                self.scene.update(av, pose, self.jaw_open, false, Some(t));
            }
            // The next frame poses the vertices from the scene as it now is.
            self.geo.valid = false;
        }
        self.time = target;
    }

    /// Whether the avatar has VRM spring bones this renderer simulates (see
    /// [`Renderer::set_time`]).
    pub fn has_spring_bones(&self) -> bool {
        self.scene.has_springs()
    }

    /// Whether [`Renderer::set_jaw_open`] moves anything on this avatar.
    pub fn has_jaw_bone(&self) -> bool {
        self.avatar
            .humanoid
            .jaw
            .is_some_and(|j| (j as usize) < self.avatar.nodes.len())
    }

    fn prepare(&mut self, channels: &[f32], pose: &HeadPose) {
        let av = &*self.avatar;
        let pose_changed = self
            .scene
            .update(av, pose, self.jaw_open, false, Some(self.time));
        let t = stages::now();
        let morph_changed = self.morph.update(av, channels);
        if self.geo.animate_uvs(self.time) {
            for a in &self.geo.uv_anims {
                self.rast.touch_draw(a.draw as usize);
            }
            self.geo.valid = false;
        }
        if pose_changed || morph_changed || !self.geo.valid {
            self.geo
                .vertex_stage(av, &self.scene, &self.morph, &self.cam);
            let t = stages::lap(Stage::Vertex, t);
            self.rast.setup(av, &mut self.geo, &self.cam);
            stages::lap(Stage::Setup, t);
        }
    }

    /// Render one frame into `out` (resized to the configured size if needed; no allocation when
    /// it already has that size). `channels` holds one weight per `avatar.channels` entry; missing
    /// entries count as 0.
    pub fn render_rgba(&mut self, channels: &[f32], pose: &HeadPose, out: &mut RgbaFrame) {
        self.prepare(channels, pose);
        let (w, h) = (self.cfg.width, self.cfg.height);
        if out.width != w || out.height != h || out.data.len() != (w * h * 4) as usize {
            out.width = w;
            out.height = h;
            out.data.resize((w * h * 4) as usize, 255);
        }
        self.rast
            .draw(&self.avatar, &self.geo, raster::Target::Rgba(out));
    }

    /// Render one frame as I420 (BT.601 limited range), converting inside the resolve pass.
    pub fn render_i420(&mut self, channels: &[f32], pose: &HeadPose, out: &mut I420Frame) {
        self.prepare(channels, pose);
        let (w, h) = (self.cfg.width as usize, self.cfg.height as usize);
        if out.width as usize != w || out.height as usize != h {
            out.width = w as u32;
            out.height = h as u32;
        }
        out.y.resize(w * h, 16);
        out.u.resize(w / 2 * (h / 2), 128);
        out.v.resize(w / 2 * (h / 2), 128);
        self.rast
            .draw(&self.avatar, &self.geo, raster::Target::I420(out));
    }

    /// Heap bytes owned by this renderer (triangles, bins, tile buffers, transformed vertices,
    /// morph state, lookup tables, background). Textures and meshes are not copied: they are read
    /// from the shared `Arc<Avatar>`, so another session on the same avatar costs only this.
    pub fn memory_bytes(&self) -> usize {
        self.rast.memory_bytes() + self.geo.memory_bytes() + self.morph.memory_bytes()
    }

    /// Capacities of every growable per-frame buffer (for allocation tests).
    #[doc(hidden)]
    pub fn buffer_capacities(&self) -> Vec<usize> {
        let mut v = self.geo.capacities();
        v.extend(self.rast.capacities());
        v.extend(self.morph.capacities());
        v
    }
}

/// Experiment switch for paired measurements: the render example's `BENCH_AB=1` alternates it
/// between 0 and 1 frame by frame and prints the CPU time of each, so that two variants of a
/// kernel (one behind `ab() == 1`) meet the same machine load. Nothing reads it in committed
/// code; it costs one relaxed load where an experiment reads it.
#[doc(hidden)]
pub static AB: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The current [`AB`] variant.
#[doc(hidden)]
#[inline(always)]
pub fn ab() -> u32 {
    AB.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renderer_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Renderer>();
    }

    #[test]
    fn background_parses_hex_names_and_gradients() {
        assert_eq!(
            "#20242c".parse::<Background>(),
            Ok(Background::Solid([0x20, 0x24, 0x2c]))
        );
        assert_eq!(
            "#fff".parse::<Background>(),
            Ok(Background::Solid([255, 255, 255]))
        );
        assert_eq!(
            "Navy".parse::<Background>(),
            Ok(Background::Solid([0, 0, 128]))
        );
        assert_eq!(
            "gradient:#000000:white".parse::<Background>(),
            Ok(Background::Gradient {
                top: [0, 0, 0],
                bottom: [255, 255, 255]
            })
        );
        let e = "#12345".parse::<Background>().unwrap_err();
        assert!(e.to_string().contains("#12345"), "{e}");
        assert!("gradient:#000".parse::<Background>().is_err());
    }

    #[test]
    fn config_validation_names_bad_values() {
        let mut c = RenderConfig {
            width: 513,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("513x512"));
        c.width = 512;
        assert!(c.validate().is_ok());
        c.camera = Some(CameraOverride {
            eye: [0.0; 3],
            target: [0.0; 3],
            fov_y_deg: 25.0,
        });
        assert!(matches!(c.validate(), Err(RenderError::InvalidCamera(_))));
        c.camera = None;
        c.background = Background::Image(RgbaFrame {
            width: 2,
            height: 2,
            data: vec![0; 3],
        });
        assert!(matches!(
            c.validate(),
            Err(RenderError::InvalidBackground { .. })
        ));
        for bad in [-0.1, 4.5, f32::NAN] {
            let c = RenderConfig {
                lod_px: bad,
                ..Default::default()
            };
            let e = c.validate().unwrap_err();
            assert!(e.to_string().contains("lod_px"), "{e}");
        }
    }

    #[test]
    fn level_of_detail_lists_are_made_once_per_avatar_camera_and_size() {
        let av = facecast_avatar::builtin();
        let cfg = RenderConfig::default();
        let a = Renderer::new(av.clone(), cfg.clone()).unwrap();
        let b = Renderer::new(av.clone(), cfg.clone()).unwrap();
        assert!(a.lod_triangles() < av.triangle_count());
        assert!(
            Arc::ptr_eq(&a.rast.lod, &b.rast.lod),
            "a second session on the same avatar and size shares the lists"
        );
        let wide = RenderConfig {
            width: 1280,
            height: 720,
            ..cfg
        };
        let c = Renderer::new(av, wide).unwrap();
        assert!(!Arc::ptr_eq(&a.rast.lod, &c.rast.lod));
        assert_ne!(a.lod_triangles(), c.lod_triangles());
        let mut d = b;
        d.set_lod(0.0);
        assert!(d.rast.lod.is_empty() && d.lod_triangles() > a.lod_triangles());
    }
}
