//! Shared types of the facecast pipeline.
//!
//! Every stage crate depends on this crate only; `engine` wires the stages together.
//!
//! | module | what it holds |
//! |---|---|
//! | [`time`] | [`MediaTime`], the session's one media clock (48 kHz samples) |
//! | [`audio`] | [`AudioChunk`], interleaved `f32` PCM at any rate |
//! | [`viseme`] | the 15 Oculus visemes, [`VisemeFrame`] |
//! | [`face`] | the 52 ARKit blend shapes, [`FaceWeights`], [`HeadPose`], [`Emotion`] |
//! | [`frame`] | [`RgbaFrame`] and [`I420Frame`] picture buffers |
//! | [`packet`] | [`EncodedPacket`] |
//! | [`event`] | [`Event`], what a session reports |
//! | [`model`] | [`model::Avatar`], the immutable avatar data model shared (`Arc`) by all sessions |
//! | [`expr`] | VRM expressions at run time: weights → morph weights and material values |
//! | [`mod@diag`] | [`diag!`], a diagnostic line on standard error that never panics |

pub mod audio;
pub mod convert;
pub mod diag;
pub mod event;
pub mod expr;
pub mod face;
pub mod frame;
pub mod model;
pub mod packet;
pub mod time;
pub mod viseme;

pub use audio::AudioChunk;
pub use event::Event;
pub use face::{
    ArkitShape, Emotion, FaceWeights, HeadPose, ARKIT_COUNT, ARKIT_NAMES, EMOTION_COUNT,
};
pub use frame::{I420Frame, RgbaFrame};
pub use packet::{Codec, EncodedPacket};
pub use time::{MediaTime, OUTPUT_RATE};
pub use viseme::{Viseme, VisemeFrame, VISEME_COUNT, VISEME_NAMES};
