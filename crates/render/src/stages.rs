//! Per-stage cycle counters for profiling the renderer on machines without hardware
//! performance counters (such as the VMs this project is measured on).
//!
//! Built only with the cargo feature `stage-cycles` (off by default: without it every call here
//! is empty and compiles away). With it, the renderer adds the CPU's time-stamp counter
//! (`rdtsc`) between stage boundaries to one process-wide counter per [`Stage`]; the render
//! example prints them (`BENCH_STAGES=1`). Instruction counts (cachegrind) can mislead: a
//! change that removed a third of VALID's set-up instructions and 8 % of the frame's simulated
//! last-level misses cost 10-65 % more cycles in set-up, because it turned sequential writes
//! into random ones. The counters are shared by every renderer of the process: measure one
//! renderer at a time.

/// A stage of a frame, in drawing order.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Morphs, skinning, view transform (`Geometry::vertex_stage`).
    Vertex,
    /// Projection, clipping, culling, triangle records, binning.
    Setup,
    /// Clearing a tile's visibility buffer.
    Clear,
    /// Rasterising front faces into the visibility buffer.
    Raster,
    /// The late pass: back faces (double-sided materials) and deferred draws, with the
    /// per-block occlusion test.
    RasterBack,
    /// Shading records of the triangles a tile newly shows (`raster::fill`).
    Fill,
    /// Classifying pixels and queueing them for shading.
    Classify,
    /// Shading the queued pixels.
    Shade,
    /// Alpha-blended triangles.
    Blend,
    /// sRGB encoding of a tile.
    Encode,
}

/// Number of [`Stage`]s.
pub const STAGE_COUNT: usize = 10;

/// Names of the stages, indexed by `Stage as usize`.
pub const STAGE_NAMES: [&str; STAGE_COUNT] = [
    "vertex",
    "setup",
    "clear",
    "raster",
    "raster_back",
    "fill",
    "classify",
    "shade",
    "blend",
    "encode",
];

#[cfg(feature = "stage-cycles")]
static COUNTERS: [std::sync::atomic::AtomicU64; STAGE_COUNT] =
    [const { std::sync::atomic::AtomicU64::new(0) }; STAGE_COUNT];

/// A time stamp in CPU reference cycles (0 without the feature or off x86-64).
#[inline(always)]
pub(crate) fn now() -> u64 {
    #[cfg(all(feature = "stage-cycles", target_arch = "x86_64"))]
    {
        // Safety: `rdtsc` only reads the time-stamp counter; every x86-64 CPU has it.
        unsafe { std::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(all(feature = "stage-cycles", target_arch = "x86_64")))]
    0
}

/// Charges the cycles since `since` to `stage` and returns the current time stamp (the start
/// of the next stage).
#[inline(always)]
pub(crate) fn lap(stage: Stage, since: u64) -> u64 {
    let t = now();
    #[cfg(feature = "stage-cycles")]
    COUNTERS[stage as usize].fetch_add(t.wrapping_sub(since), std::sync::atomic::Ordering::Relaxed);
    #[cfg(not(feature = "stage-cycles"))]
    let _ = (stage, since);
    t
}

/// Cycles charged to each stage since the last [`reset_stage_cycles`] (all zero without the
/// feature `stage-cycles`).
pub fn stage_cycles() -> [u64; STAGE_COUNT] {
    #[cfg(feature = "stage-cycles")]
    {
        std::array::from_fn(|i| COUNTERS[i].load(std::sync::atomic::Ordering::Relaxed))
    }
    #[cfg(not(feature = "stage-cycles"))]
    [0; STAGE_COUNT]
}

/// Sets every stage's counter to zero.
pub fn reset_stage_cycles() {
    #[cfg(feature = "stage-cycles")]
    for c in &COUNTERS {
        c.store(0, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether the counters are built in (the feature `stage-cycles` on an x86-64 CPU).
pub const STAGE_CYCLES: bool = cfg!(all(feature = "stage-cycles", target_arch = "x86_64"));

#[cfg(test)]
mod tests {
    use super::*;

    /// With the feature, a rendered frame charges cycles to the stages that ran; without it the
    /// counters stay zero.
    #[test]
    fn rendering_charges_the_stages_it_runs() {
        use facecast_core::{HeadPose, RgbaFrame};
        reset_stage_cycles();
        let av = facecast_avatar::builtin();
        let cfg = crate::RenderConfig {
            width: 96,
            height: 96,
            ..Default::default()
        };
        let mut r = crate::Renderer::new(av, cfg).expect("renderer");
        let mut out = RgbaFrame::default();
        r.render_rgba(&[], &HeadPose::default(), &mut out);
        let c = stage_cycles();
        if STAGE_CYCLES {
            for s in [Stage::Setup, Stage::Raster, Stage::Classify, Stage::Shade] {
                assert!(c[s as usize] > 0, "{:?} charged nothing: {c:?}", s);
            }
        } else {
            assert_eq!(c, [0; STAGE_COUNT]);
        }
    }
}
