//! Fuzz loading *and rendering*: any bytes that load as an avatar must render (RGBA and I420,
//! eight-wide and reference kernels, every morph channel driven, with and without level of
//! detail) without a panic, an out-of-bounds read or a hang. The renderer's kernels index
//! textures and records with computed indices in `unsafe` code, so hostile geometry (NaN or
//! huge positions, degenerate UVs, odd texture sizes) is what this target is for.
//!
//! Run with `cargo fuzz run render_glb` from `fuzz/` (seed corpus: small models, e.g.
//! `cargo fuzz run render_glb corpus/render_glb ../../shared/assets/models/khronos/Fox`).
#![no_main]

use std::sync::Arc;

use facecast_core::{HeadPose, I420Frame, RgbaFrame};
use facecast_render::{RenderConfig, Renderer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(avatar) = facecast_avatar::load_bytes(data, "fuzz.glb", None) else {
        return;
    };
    // The last byte picks the variant, so one input exercises one configuration steadily.
    let knob = data.last().copied().unwrap_or(0);
    let cfg = RenderConfig {
        width: 48 + 16 * (knob & 3) as u32,
        height: 48,
        lod_px: if knob & 4 != 0 { 0.0 } else { 0.5 },
        ..RenderConfig::default()
    };
    let n = avatar.channels.len();
    let Ok(mut r) = Renderer::new(Arc::new(avatar), cfg) else {
        return;
    };
    r.set_simd(knob & 8 == 0);
    let mut rgba = RgbaFrame::new(1, 1);
    let mut yuv = I420Frame::new(2, 2);
    let full = vec![1.0f32; n];
    let half = vec![0.5f32; n];
    let mut pose = HeadPose::default();
    r.render_rgba(&full, &pose, &mut rgba);
    // Later frames on the session clock run spring bones (a gap longer than the renderer
    // simulates, then one step), then time goes back (a reset).
    pose.head = [0.3, -0.2, 0.1];
    r.set_time(0.5);
    r.render_i420(&half, &pose, &mut yuv);
    r.set_time(0.52);
    r.render_rgba(&[], &pose, &mut rgba);
    r.set_time(0.1);
    r.render_rgba(&[], &pose, &mut rgba);
});
