//! Emotion presets (data): ARKit weights at intensity 1, plus a small head-pose offset.

use facecast_core::{ArkitShape as A, Emotion, ARKIT_COUNT};

/// One preset: ARKit shapes at full intensity and a head offset (yaw, pitch, roll in radians;
/// positive pitch looks down) applied when head motion is enabled.
pub struct Preset {
    /// Shapes and weights at intensity 1.
    pub shapes: &'static [(A, f32)],
    /// Head offset at intensity 1.
    pub head: [f32; 3],
}

/// Presets in [`Emotion::ALL`] order.
pub const PRESETS: [Preset; 8] = [
    // neutral: relaxed, attentive.
    Preset {
        shapes: &[],
        head: [0.0, 0.0, 0.0],
    },
    // happy: Duchenne smile (cheeks and eyes take part).
    Preset {
        shapes: &[
            (A::MouthSmileLeft, 0.7),
            (A::MouthSmileRight, 0.7),
            (A::CheekSquintLeft, 0.45),
            (A::CheekSquintRight, 0.45),
            (A::EyeSquintLeft, 0.3),
            (A::EyeSquintRight, 0.3),
            (A::MouthDimpleLeft, 0.2),
            (A::MouthDimpleRight, 0.2),
            (A::BrowOuterUpLeft, 0.1),
            (A::BrowOuterUpRight, 0.1),
        ],
        head: [0.0, -0.03, 0.02],
    },
    // sad: inner brows up, mouth corners down, heavy lids.
    Preset {
        shapes: &[
            (A::BrowInnerUp, 0.7),
            (A::BrowDownLeft, 0.1),
            (A::BrowDownRight, 0.1),
            (A::MouthFrownLeft, 0.55),
            (A::MouthFrownRight, 0.55),
            (A::MouthShrugLower, 0.3),
            (A::MouthPressLeft, 0.1),
            (A::MouthPressRight, 0.1),
            (A::EyeBlinkLeft, 0.18),
            (A::EyeBlinkRight, 0.18),
        ],
        head: [0.0, 0.07, 0.0],
    },
    // angry: lowered brows, sneer, pressed lips.
    Preset {
        shapes: &[
            (A::BrowDownLeft, 0.8),
            (A::BrowDownRight, 0.8),
            (A::NoseSneerLeft, 0.35),
            (A::NoseSneerRight, 0.35),
            (A::EyeSquintLeft, 0.35),
            (A::EyeSquintRight, 0.35),
            (A::MouthPressLeft, 0.3),
            (A::MouthPressRight, 0.3),
            (A::MouthFrownLeft, 0.25),
            (A::MouthFrownRight, 0.25),
            (A::JawForward, 0.1),
        ],
        head: [0.0, 0.035, 0.0],
    },
    // surprised: brows up, eyes wide, jaw drops.
    Preset {
        shapes: &[
            (A::BrowInnerUp, 0.8),
            (A::BrowOuterUpLeft, 0.75),
            (A::BrowOuterUpRight, 0.75),
            (A::EyeWideLeft, 0.7),
            (A::EyeWideRight, 0.7),
            (A::JawOpen, 0.25),
            (A::MouthFunnel, 0.1),
        ],
        head: [0.0, -0.04, 0.0],
    },
    // fearful: brows up and together, eyes wide, lips stretched.
    Preset {
        shapes: &[
            (A::BrowInnerUp, 0.85),
            (A::BrowOuterUpLeft, 0.3),
            (A::BrowOuterUpRight, 0.3),
            (A::BrowDownLeft, 0.15),
            (A::BrowDownRight, 0.15),
            (A::EyeWideLeft, 0.55),
            (A::EyeWideRight, 0.55),
            (A::MouthStretchLeft, 0.45),
            (A::MouthStretchRight, 0.45),
            (A::JawOpen, 0.08),
        ],
        head: [0.0, 0.03, 0.0],
    },
    // disgusted: nose wrinkle, upper lip raised.
    Preset {
        shapes: &[
            (A::NoseSneerLeft, 0.7),
            (A::NoseSneerRight, 0.7),
            (A::MouthUpperUpLeft, 0.4),
            (A::MouthUpperUpRight, 0.4),
            (A::BrowDownLeft, 0.45),
            (A::BrowDownRight, 0.45),
            (A::EyeSquintLeft, 0.3),
            (A::EyeSquintRight, 0.3),
            (A::CheekSquintLeft, 0.25),
            (A::CheekSquintRight, 0.25),
            (A::MouthFrownLeft, 0.25),
            (A::MouthFrownRight, 0.25),
        ],
        head: [0.03, 0.0, -0.02],
    },
    // concerned: empathetic listening: soft inner-brow raise, gentle pressed lips, head tilt.
    Preset {
        shapes: &[
            (A::BrowInnerUp, 0.55),
            (A::BrowDownLeft, 0.15),
            (A::BrowDownRight, 0.15),
            (A::MouthFrownLeft, 0.12),
            (A::MouthFrownRight, 0.12),
            (A::MouthPressLeft, 0.15),
            (A::MouthPressRight, 0.15),
            (A::EyeSquintLeft, 0.1),
            (A::EyeSquintRight, 0.1),
        ],
        head: [0.0, 0.02, 0.07],
    },
];

/// The preset of an emotion.
pub fn preset(e: Emotion) -> &'static Preset {
    &PRESETS[Emotion::ALL.iter().position(|&x| x == e).unwrap_or(0)]
}

/// Dense ARKit weights of an emotion at an intensity, and its head offset.
pub(crate) fn dense(e: Emotion, intensity: f32) -> ([f32; ARKIT_COUNT], [f32; 3]) {
    let p = preset(e);
    let mut out = [0.0; ARKIT_COUNT];
    for &(s, w) in p.shapes {
        out[s.index()] = w * intensity;
    }
    (out, p.head.map(|h| h * intensity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_emotion_but_neutral_has_a_face() {
        for e in Emotion::ALL {
            let (w, _) = dense(e, 1.0);
            let total: f32 = w.iter().sum();
            assert_eq!(total == 0.0, e == Emotion::Neutral, "{e:?}");
        }
        assert!(dense(Emotion::Happy, 1.0).0[A::MouthSmileLeft.index()] > 0.5);
    }
}
