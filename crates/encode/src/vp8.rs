//! VP8 through the system libvpx (`env-libvpx-sys`), configured like WebRTC's real-time encoder.

use crate::video::{EncoderOptions, VideoConfig};
use crate::EncodeError;
use facecast_core::{I420Frame, MediaTime, OUTPUT_RATE};
use std::ffi::{c_int, c_uint, CStr};
use std::mem::MaybeUninit;
use std::ptr;
use vpx_sys as vpx;

/// Encoder speed (`-cpu-used`, negative = fixed speed without timing-based auto adjustment).
const CPU_USED_DEFAULT: c_int = -8;
const CPU_USED_FAST: c_int = -12;

/// The libvpx context and the config it points to. Boxed: libvpx keeps a pointer to `cfg`
/// (`ctx.config.enc`), so neither may move after initialisation.
struct Ctx {
    ctx: vpx::vpx_codec_ctx_t,
    cfg: vpx::vpx_codec_enc_cfg_t,
}

pub(crate) struct Vp8Encoder {
    inner: Box<Ctx>,
    width: u32,
    height: u32,
    frame_duration: u64,
}

// Safety: the libvpx context is only used through `&mut self`, never shared between threads, and
// libvpx keeps no thread-local state for it.
unsafe impl Send for Vp8Encoder {}

fn err_string(
    ctx: *mut vpx::vpx_codec_ctx_t,
    res: vpx::vpx_codec_err_t,
    what: &str,
) -> EncodeError {
    // Safety: `vpx_codec_err_to_string` returns a static NUL-terminated string;
    // `vpx_codec_error_detail` returns NULL or a string owned by the live context.
    let msg = unsafe {
        let base = CStr::from_ptr(vpx::vpx_codec_err_to_string(res))
            .to_string_lossy()
            .into_owned();
        let detail = if ctx.is_null() {
            ptr::null()
        } else {
            vpx::vpx_codec_error_detail(ctx)
        };
        if detail.is_null() {
            base
        } else {
            format!("{base} ({})", CStr::from_ptr(detail).to_string_lossy())
        }
    };
    EncodeError::Vp8(format!("{what}: {msg}"))
}

/// WebRTC's rule for the max size of a key frame relative to the per-frame budget, in percent.
fn max_intra_pct(buffer_optimal_ms: u32, fps: u32) -> c_uint {
    let pct = 0.5 * buffer_optimal_ms as f32 * fps as f32 / 10.0;
    (pct as c_uint).max(300)
}

impl Vp8Encoder {
    pub(crate) fn new(cfg: &VideoConfig, opts: &EncoderOptions) -> Result<Self, EncodeError> {
        let gop = opts.keyframe_interval.unwrap_or(cfg.fps.saturating_mul(2));
        let mut raw_cfg = MaybeUninit::<vpx::vpx_codec_enc_cfg_t>::uninit();
        // Safety: vpx_codec_vp8_cx returns the static VP8 encoder interface; the config pointer is
        // valid for writes of one vpx_codec_enc_cfg_t.
        let res = unsafe {
            vpx::vpx_codec_enc_config_default(vpx::vpx_codec_vp8_cx(), raw_cfg.as_mut_ptr(), 0)
        };
        if res != vpx::VPX_CODEC_OK {
            return Err(err_string(ptr::null_mut(), res, "default config"));
        }
        let mut inner = Box::new(Ctx {
            // Safety: all-zero is a valid vpx_codec_ctx_t (null pointers, VPX_CODEC_OK, no flags);
            // vpx_codec_enc_init_ver fills it below.
            ctx: unsafe { MaybeUninit::zeroed().assume_init() },
            // Safety: vpx_codec_enc_config_default succeeded, so it assigned the whole struct.
            cfg: unsafe { raw_cfg.assume_init() },
        });
        let c = &mut inner.cfg;
        c.g_w = cfg.width;
        c.g_h = cfg.height;
        c.g_threads = 1;
        c.g_timebase = vpx::vpx_rational {
            num: 1,
            den: OUTPUT_RATE as c_int,
        };
        c.g_error_resilient = vpx::VPX_ERROR_RESILIENT_DEFAULT;
        c.g_pass = vpx::vpx_enc_pass::VPX_RC_ONE_PASS;
        c.g_lag_in_frames = 0;
        c.rc_end_usage = vpx::vpx_rc_mode::VPX_CBR;
        c.rc_target_bitrate = (cfg.bitrate_bps / 1000).max(1);
        c.rc_dropframe_thresh = if opts.allow_frame_drop { 30 } else { 0 };
        c.rc_resize_allowed = 0;
        c.rc_min_quantizer = 2;
        c.rc_max_quantizer = 56;
        c.rc_undershoot_pct = 100;
        c.rc_overshoot_pct = 15;
        c.rc_buf_initial_sz = 500;
        c.rc_buf_optimal_sz = 600;
        c.rc_buf_sz = 1000;
        c.kf_mode = vpx::vpx_kf_mode::VPX_KF_AUTO;
        c.kf_min_dist = 0;
        c.kf_max_dist = if gop == 0 { 1 << 30 } else { gop };

        let ctx_ptr: *mut vpx::vpx_codec_ctx_t = &mut inner.ctx;
        // Safety: ctx and cfg live in a Box that outlives the context (destroyed in Drop), the
        // ABI version is the one the bindings were generated for (libvpx checks it).
        let res = unsafe {
            vpx::vpx_codec_enc_init_ver(
                ctx_ptr,
                vpx::vpx_codec_vp8_cx(),
                &inner.cfg,
                0,
                vpx::VPX_ENCODER_ABI_VERSION as c_int,
            )
        };
        if res != vpx::VPX_CODEC_OK {
            return Err(err_string(ctx_ptr, res, "initialising the encoder"));
        }
        let mut enc = Vp8Encoder {
            inner,
            width: cfg.width,
            height: cfg.height,
            frame_duration: (OUTPUT_RATE / cfg.fps.max(1)) as u64,
        };
        let speed = if opts.fast {
            CPU_USED_FAST
        } else {
            CPU_USED_DEFAULT
        };
        enc.control_int(
            vpx::vp8e_enc_control_id::VP8E_SET_CPUUSED as c_int,
            speed,
            "cpu-used",
        )?;
        enc.control_uint(
            vpx::vp8e_enc_control_id::VP8E_SET_NOISE_SENSITIVITY as c_int,
            0,
            "noise sensitivity",
        )?;
        enc.control_uint(
            vpx::vp8e_enc_control_id::VP8E_SET_STATIC_THRESHOLD as c_int,
            1,
            "static threshold",
        )?;
        enc.control_int(
            vpx::vp8e_enc_control_id::VP8E_SET_TOKEN_PARTITIONS as c_int,
            vpx::vp8e_token_partitions::VP8_TWO_TOKENPARTITION as c_int,
            "token partitions",
        )?;
        enc.control_uint(
            vpx::vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT as c_int,
            max_intra_pct(600, cfg.fps),
            "max intra bitrate",
        )?;
        Ok(enc)
    }

    fn control_int(&mut self, id: c_int, value: c_int, what: &str) -> Result<(), EncodeError> {
        let ctx: *mut vpx::vpx_codec_ctx_t = &mut self.inner.ctx;
        // Safety: the context is initialised; every control used here takes an `int` vararg.
        let res = unsafe { vpx::vpx_codec_control_(ctx, id, value) };
        if res != vpx::VPX_CODEC_OK {
            return Err(err_string(ctx, res, what));
        }
        Ok(())
    }

    fn control_uint(&mut self, id: c_int, value: c_uint, what: &str) -> Result<(), EncodeError> {
        let ctx: *mut vpx::vpx_codec_ctx_t = &mut self.inner.ctx;
        // Safety: the context is initialised; every control used here takes an `unsigned int` vararg.
        let res = unsafe { vpx::vpx_codec_control_(ctx, id, value) };
        if res != vpx::VPX_CODEC_OK {
            return Err(err_string(ctx, res, what));
        }
        Ok(())
    }

    /// Encodes one frame into `out`. Returns `None` when rate control dropped the frame, else
    /// whether it is a key frame.
    pub(crate) fn encode(
        &mut self,
        frame: &I420Frame,
        pts: MediaTime,
        force_keyframe: bool,
        out: &mut Vec<u8>,
    ) -> Result<Option<bool>, EncodeError> {
        let (w, h) = (self.width, self.height);
        // Safety: all-zero is a valid vpx_image_t; the fields libvpx reads are set below.
        let mut img: vpx::vpx_image_t = unsafe { MaybeUninit::zeroed().assume_init() };
        img.fmt = vpx::vpx_img_fmt::VPX_IMG_FMT_I420;
        img.cs = vpx::vpx_color_space::VPX_CS_BT_601;
        img.range = vpx::vpx_color_range::VPX_CR_STUDIO_RANGE;
        img.w = w;
        img.h = h;
        img.d_w = w;
        img.d_h = h;
        img.r_w = w;
        img.r_h = h;
        img.bit_depth = 8;
        img.bps = 12;
        img.x_chroma_shift = 1;
        img.y_chroma_shift = 1;
        // libvpx only reads the source planes (the pointer is *mut in the C API).
        img.planes = [
            frame.y.as_ptr().cast_mut(),
            frame.u.as_ptr().cast_mut(),
            frame.v.as_ptr().cast_mut(),
            ptr::null_mut(),
        ];
        img.stride = [w as c_int, (w / 2) as c_int, (w / 2) as c_int, 0];
        let flags = if force_keyframe {
            vpx::VPX_EFLAG_FORCE_KF as vpx::vpx_enc_frame_flags_t
        } else {
            0
        };
        let ctx: *mut vpx::vpx_codec_ctx_t = &mut self.inner.ctx;
        // Safety: the context is initialised; `img` describes three planes of exactly w*h and
        // (w/2)*(h/2) bytes (checked by VideoEncoder::send_frame) that stay borrowed for the call;
        // with lag 0 libvpx does not keep the image after vpx_codec_encode returns.
        let res = unsafe {
            vpx::vpx_codec_encode(
                ctx,
                &img,
                pts.samples() as vpx::vpx_codec_pts_t,
                self.frame_duration as _,
                flags,
                vpx::VPX_DL_REALTIME as _,
            )
        };
        if res != vpx::VPX_CODEC_OK {
            return Err(err_string(ctx, res, "encoding a frame"));
        }
        out.clear();
        let mut key = false;
        let mut got = false;
        let mut iter: vpx::vpx_codec_iter_t = ptr::null();
        loop {
            // Safety: standard iteration over the packets of the last encode call; each packet
            // and its buffer stay valid until the next call on the context.
            let pkt = unsafe { vpx::vpx_codec_get_cx_data(ctx, &mut iter) };
            if pkt.is_null() {
                break;
            }
            // Safety: non-null packet from libvpx; `data.frame` is the active union member for
            // VPX_CODEC_CX_FRAME_PKT, and buf/sz describe a readable buffer.
            unsafe {
                if (*pkt).kind == vpx::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                    let f = (*pkt).data.frame;
                    out.extend_from_slice(std::slice::from_raw_parts(
                        f.buf as *const u8,
                        f.sz as usize,
                    ));
                    key |= f.flags & vpx::VPX_FRAME_IS_KEY != 0;
                    got = true;
                }
            }
        }
        Ok(if got { Some(key) } else { None })
    }

    pub(crate) fn set_bitrate(&mut self, bps: u32, fps: u32) -> Result<(), EncodeError> {
        self.inner.cfg.rc_target_bitrate = (bps / 1000).max(1);
        let inner = &mut *self.inner;
        // Safety: the context is initialised and `cfg` lives in the same Box as the context, so
        // the pointer libvpx keeps stays valid.
        let res = unsafe { vpx::vpx_codec_enc_config_set(&mut inner.ctx, &inner.cfg) };
        if res != vpx::VPX_CODEC_OK {
            return Err(err_string(&mut inner.ctx, res, "changing the bitrate"));
        }
        self.control_uint(
            vpx::vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT as c_int,
            max_intra_pct(600, fps),
            "max intra bitrate",
        )
    }
}

impl Drop for Vp8Encoder {
    fn drop(&mut self) {
        // Safety: the context was successfully initialised in `new` (else no Vp8Encoder exists)
        // and is destroyed exactly once here.
        unsafe {
            vpx::vpx_codec_destroy(&mut self.inner.ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The pre-generated bindings must match the system headers (libvpx 1.12, x86_64).
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn binding_layout_matches_libvpx_1_12() {
        use vpx_sys as vpx;
        assert_eq!(std::mem::size_of::<vpx::vpx_codec_enc_cfg_t>(), 504);
        assert_eq!(std::mem::size_of::<vpx::vpx_image_t>(), 136);
        assert_eq!(std::mem::size_of::<vpx::vpx_codec_cx_pkt_t>(), 136);
        assert_eq!(std::mem::size_of::<vpx::vpx_codec_ctx_t>(), 56);
    }
}
