//! H.264 constrained baseline through OpenH264 (bundled source, nasm assembly on x86).

use crate::video::{EncoderOptions, VideoConfig};
use crate::EncodeError;
use facecast_core::I420Frame;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile,
    RateControlMode, SpsPpsStrategy, UsageType, VuiConfig,
};
use openh264::formats::YUVSlices;
use openh264::{OpenH264API, Timestamp};
use openh264_sys2::{
    SBitrateInfo, ENCODER_OPTION_BITRATE, ENCODER_OPTION_MAX_BITRATE, ENCODER_OPTION_TRACE_LEVEL,
    SPATIAL_LAYER_0, SPATIAL_LAYER_ALL, WELS_LOG_ERROR,
};

pub(crate) struct H264Encoder {
    enc: Encoder,
    width: usize,
    height: usize,
    bitrate: u32,
}

impl H264Encoder {
    pub(crate) fn new(cfg: &VideoConfig, opts: &EncoderOptions) -> Result<Self, EncodeError> {
        let gop = opts.keyframe_interval.unwrap_or(cfg.fps.saturating_mul(2));
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .profile(Profile::Baseline)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(cfg.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(cfg.fps as f32))
            .skip_frames(opts.allow_frame_drop)
            .intra_frame_period(IntraFramePeriod::from_num_frames(gop))
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            .complexity(if opts.fast || opts.h264_low_complexity {
                Complexity::Low
            } else {
                Complexity::Medium
            })
            .num_threads(1)
            .scene_change_detect(false)
            .vui(VuiConfig::bt601());
        let mut enc = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| EncodeError::H264(format!("creating the encoder: {e}")))?;
        // Only errors on stderr: OpenH264 otherwise warns on every init that rate control without
        // frame skipping is not strict (intended: files keep every frame).
        let mut level: u32 = WELS_LOG_ERROR as u32;
        // Safety: the encoder object exists (created above); TRACE_LEVEL is the one option
        // OpenH264 accepts before initialisation, and it reads one u32 through the pointer, which
        // points to a live local for the duration of the call.
        unsafe {
            enc.raw_api().set_option(
                ENCODER_OPTION_TRACE_LEVEL,
                std::ptr::addr_of_mut!(level).cast(),
            );
        }
        Ok(H264Encoder {
            enc,
            width: cfg.width as usize,
            height: cfg.height as usize,
            bitrate: cfg.bitrate_bps,
        })
    }

    /// Encodes one frame into `out` (Annex B, SPS/PPS before every IDR). Returns `None` when the
    /// rate control skipped the frame, else whether it is a key frame.
    pub(crate) fn encode(
        &mut self,
        frame: &I420Frame,
        pts_ms: u64,
        force_keyframe: bool,
        out: &mut Vec<u8>,
    ) -> Result<Option<bool>, EncodeError> {
        let (w, h) = (self.width, self.height);
        let src = YUVSlices::new((&frame.y, &frame.u, &frame.v), (w, h), (w, w / 2, w / 2));
        if force_keyframe {
            self.enc.force_intra_frame();
        }
        let bs = self
            .enc
            .encode_at(&src, Timestamp::from_millis(pts_ms))
            .map_err(|e| EncodeError::H264(format!("encoding a {w}x{h} frame: {e}")))?;
        let key = match bs.frame_type() {
            FrameType::Skip => return Ok(None),
            FrameType::Invalid => {
                return Err(EncodeError::H264(
                    "encoder returned an invalid frame".into(),
                ))
            }
            FrameType::IDR => true,
            _ => false,
        };
        out.clear();
        bs.write_vec(out);
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some(key))
    }

    pub(crate) fn set_bitrate(&mut self, bps: u32) -> Result<(), EncodeError> {
        let increase = bps > self.bitrate;
        let target = SBitrateInfo {
            iLayer: SPATIAL_LAYER_ALL,
            iBitrate: bps.min(i32::MAX as u32) as i32,
        };
        let max = SBitrateInfo {
            iLayer: SPATIAL_LAYER_0,
            iBitrate: target.iBitrate,
        };
        // The layer's max bitrate must stay >= its target, so raise the max first when increasing
        // and lower the target first when decreasing.
        let order = if increase {
            [
                (ENCODER_OPTION_MAX_BITRATE, max),
                (ENCODER_OPTION_BITRATE, target),
            ]
        } else {
            [
                (ENCODER_OPTION_BITRATE, target),
                (ENCODER_OPTION_MAX_BITRATE, max),
            ]
        };
        for (opt, mut info) in order {
            // Safety: the encoder is initialised (the first frame was encoded, see VideoEncoder)
            // and SetOption with ENCODER_OPTION_(MAX_)BITRATE reads one SBitrateInfo through the
            // pointer, which points to a live local for the duration of the call.
            let rc = unsafe {
                self.enc
                    .raw_api()
                    .set_option(opt, std::ptr::addr_of_mut!(info).cast())
            };
            if rc != 0 {
                return Err(EncodeError::H264(format!(
                    "setting bitrate {bps} bit/s failed (code {rc})"
                )));
            }
        }
        self.bitrate = bps;
        Ok(())
    }
}
