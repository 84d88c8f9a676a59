mod common;
use std::sync::Arc;
use facecast_core::{HeadPose, RgbaFrame};
use facecast_render::{RenderConfig, Renderer};
#[test]
fn dbg() {
    let cfg = RenderConfig { width: 256, height: 256, background: "#000".parse().unwrap(), camera: None };
    let mut r = Renderer::new(Arc::new(common::cube_avatar()), cfg).unwrap();
    let mut out = RgbaFrame::default();
    r.render_rgba(&[], &HeadPose::default(), &mut out);
    for (x, y) in [(70, 120), (150, 150), (128, 60)] {
        let o = (y * 256 + x) * 4;
        eprintln!("{x},{y}: {:?}", &out.data[o..o + 4]);
    }
    eprintln!("{:?}", r.camera());
}
