//! The canonical face rig: ARKit's 52 blend shapes, head/eye pose and emotions.

use serde::{Deserialize, Serialize};

macro_rules! arkit_shapes {
    ($($variant:ident => $name:literal,)*) => {
        /// The 52 ARKit blend shapes, canonical across facecast (Apple spelling).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[repr(u8)]
        #[allow(missing_docs)]
        pub enum ArkitShape { $($variant,)* }

        /// ARKit names in [`ArkitShape`] index order.
        pub const ARKIT_NAMES: [&str; ARKIT_COUNT] = [$($name,)*];

        impl ArkitShape {
            /// All shapes in index order.
            pub const ALL: [ArkitShape; ARKIT_COUNT] = [$(ArkitShape::$variant,)*];
        }
    };
}

/// Number of ARKit blend shapes.
pub const ARKIT_COUNT: usize = 52;

arkit_shapes! {
    EyeBlinkLeft => "eyeBlinkLeft",
    EyeLookDownLeft => "eyeLookDownLeft",
    EyeLookInLeft => "eyeLookInLeft",
    EyeLookOutLeft => "eyeLookOutLeft",
    EyeLookUpLeft => "eyeLookUpLeft",
    EyeSquintLeft => "eyeSquintLeft",
    EyeWideLeft => "eyeWideLeft",
    EyeBlinkRight => "eyeBlinkRight",
    EyeLookDownRight => "eyeLookDownRight",
    EyeLookInRight => "eyeLookInRight",
    EyeLookOutRight => "eyeLookOutRight",
    EyeLookUpRight => "eyeLookUpRight",
    EyeSquintRight => "eyeSquintRight",
    EyeWideRight => "eyeWideRight",
    JawForward => "jawForward",
    JawLeft => "jawLeft",
    JawRight => "jawRight",
    JawOpen => "jawOpen",
    MouthClose => "mouthClose",
    MouthFunnel => "mouthFunnel",
    MouthPucker => "mouthPucker",
    MouthLeft => "mouthLeft",
    MouthRight => "mouthRight",
    MouthSmileLeft => "mouthSmileLeft",
    MouthSmileRight => "mouthSmileRight",
    MouthFrownLeft => "mouthFrownLeft",
    MouthFrownRight => "mouthFrownRight",
    MouthDimpleLeft => "mouthDimpleLeft",
    MouthDimpleRight => "mouthDimpleRight",
    MouthStretchLeft => "mouthStretchLeft",
    MouthStretchRight => "mouthStretchRight",
    MouthRollLower => "mouthRollLower",
    MouthRollUpper => "mouthRollUpper",
    MouthShrugLower => "mouthShrugLower",
    MouthShrugUpper => "mouthShrugUpper",
    MouthPressLeft => "mouthPressLeft",
    MouthPressRight => "mouthPressRight",
    MouthLowerDownLeft => "mouthLowerDownLeft",
    MouthLowerDownRight => "mouthLowerDownRight",
    MouthUpperUpLeft => "mouthUpperUpLeft",
    MouthUpperUpRight => "mouthUpperUpRight",
    BrowDownLeft => "browDownLeft",
    BrowDownRight => "browDownRight",
    BrowInnerUp => "browInnerUp",
    BrowOuterUpLeft => "browOuterUpLeft",
    BrowOuterUpRight => "browOuterUpRight",
    CheekPuff => "cheekPuff",
    CheekSquintLeft => "cheekSquintLeft",
    CheekSquintRight => "cheekSquintRight",
    NoseSneerLeft => "noseSneerLeft",
    NoseSneerRight => "noseSneerRight",
    TongueOut => "tongueOut",
}

impl ArkitShape {
    /// Index 0..52.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Apple spelling (`eyeBlinkLeft`).
    pub fn name(self) -> &'static str {
        ARKIT_NAMES[self as usize]
    }

    /// Parse the exact Apple spelling (case-insensitive).
    pub fn from_name(name: &str) -> Option<ArkitShape> {
        ARKIT_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .map(|i| ArkitShape::ALL[i])
    }
}

/// Canonical face weights for one instant: ARKit shapes plus direct viseme weights.
///
/// Speech reaches the avatar either through `visemes` (when the avatar has its own viseme morphs,
/// see [`crate::model::FaceRig::has_viseme`]) or folded into `arkit` through a recipe; the
/// animation stage decides which so nothing is driven twice.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct FaceWeights {
    /// ARKit weights, 0..1, in [`ArkitShape`] order.
    pub arkit: [f32; ARKIT_COUNT],
    /// Direct viseme weights, 0..1, in [`crate::Viseme`] order.
    pub visemes: [f32; crate::VISEME_COUNT],
    /// Weights, 0..1, in [`Emotion::ALL`] order, of the emotions the avatar shows with its own
    /// expressions ([`crate::model::FaceRig::emotion_exprs`], e.g. a VRM `happy`); the other
    /// emotions arrive as ARKit weights in `arkit`.
    pub emotions: [f32; EMOTION_COUNT],
}

/// Number of emotions ([`Emotion::ALL`]).
pub const EMOTION_COUNT: usize = 8;

impl Default for FaceWeights {
    fn default() -> Self {
        FaceWeights {
            arkit: [0.0; ARKIT_COUNT],
            visemes: [0.0; crate::VISEME_COUNT],
            emotions: [0.0; EMOTION_COUNT],
        }
    }
}

impl FaceWeights {
    /// Weight of one ARKit shape.
    pub fn get(&self, s: ArkitShape) -> f32 {
        self.arkit[s as usize]
    }

    /// Set one ARKit shape.
    pub fn set(&mut self, s: ArkitShape, w: f32) {
        self.arkit[s as usize] = w;
    }
}

/// Head and eye pose, in radians, relative to the avatar's rest pose.
///
/// Positive yaw turns the face to the avatar's left (viewer's right), positive pitch looks down
/// (nod), positive roll tilts the head toward the avatar's right shoulder.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HeadPose {
    /// Head yaw, pitch, roll.
    pub head: [f32; 3],
    /// Eye yaw and pitch (both eyes; positive pitch looks down).
    pub eyes: [f32; 2],
}

/// Emotions the animation stage can show, each an ARKit preset with an intensity.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Emotion {
    /// Relaxed, attentive.
    #[default]
    Neutral,
    Happy,
    Sad,
    Angry,
    Surprised,
    Fearful,
    Disgusted,
    /// Empathetic listening (care settings).
    Concerned,
}

impl Emotion {
    /// All emotions.
    pub const ALL: [Emotion; EMOTION_COUNT] = [
        Emotion::Neutral,
        Emotion::Happy,
        Emotion::Sad,
        Emotion::Angry,
        Emotion::Surprised,
        Emotion::Fearful,
        Emotion::Disgusted,
        Emotion::Concerned,
    ];

    /// Position in [`Emotion::ALL`] (and [`FaceWeights::emotions`]).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Emotion::Neutral => "neutral",
            Emotion::Happy => "happy",
            Emotion::Sad => "sad",
            Emotion::Angry => "angry",
            Emotion::Surprised => "surprised",
            Emotion::Fearful => "fearful",
            Emotion::Disgusted => "disgusted",
            Emotion::Concerned => "concerned",
        }
    }

    /// Parse a name (case-insensitive).
    pub fn from_name(s: &str) -> Option<Emotion> {
        Emotion::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::str::FromStr for Emotion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Emotion::from_name(s).ok_or_else(|| {
            let names: Vec<_> = Emotion::ALL.iter().map(|e| e.name()).collect();
            format!(
                "unknown emotion '{s}' (expected one of: {})",
                names.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arkit_names_round_trip() {
        for s in ArkitShape::ALL {
            assert_eq!(ArkitShape::from_name(s.name()), Some(s));
        }
        assert_eq!(ArkitShape::JawOpen.name(), "jawOpen");
        assert_eq!(ArkitShape::TongueOut.index(), 51);
    }
}
