//! Picture buffers. Owned by the stage that fills them and reused frame after frame.

/// An RGBA8 picture, rows packed (`stride == width * 4`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RgbaFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes, sRGB, straight alpha.
    pub data: Vec<u8>,
}

impl RgbaFrame {
    /// A black, opaque frame.
    pub fn new(width: u32, height: u32) -> Self {
        let mut data = vec![0u8; width as usize * height as usize * 4];
        for px in data.chunks_exact_mut(4) {
            px[3] = 255;
        }
        RgbaFrame {
            width,
            height,
            data,
        }
    }
}

/// A planar YUV 4:2:0 picture (BT.601 limited range), the encoders' input. Width and height are
/// even.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct I420Frame {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Luma, `width * height`.
    pub y: Vec<u8>,
    /// Cb, `width/2 * height/2`.
    pub u: Vec<u8>,
    /// Cr, `width/2 * height/2`.
    pub v: Vec<u8>,
}

impl I420Frame {
    /// A black frame. Width and height are rounded up to even numbers.
    pub fn new(width: u32, height: u32) -> Self {
        let (w, h) = ((width + 1) & !1, (height + 1) & !1);
        let (n, c) = (w as usize * h as usize, (w as usize / 2) * (h as usize / 2));
        I420Frame {
            width: w,
            height: h,
            y: vec![16; n],
            u: vec![128; c],
            v: vec![128; c],
        }
    }
}
