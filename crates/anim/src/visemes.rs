//! Viseme → ARKit recipes: facecast's own mapping table (data, not code).
//!
//! Starting point: TalkingHead's "build visemes from ARKit" recipes (see `shared/VISEMES.md`),
//! reworked so each mouth reads correctly on an ARKit rig:
//!
//! | viseme | sounds | what the mouth does | shapes |
//! |---|---|---|---|
//! | sil | silence | relaxed, lips together | none |
//! | PP | p b m | lips pressed shut, jaw closed | mouthClose, mouthPress, mouthRollLower/Upper |
//! | FF | f v | lower lip rolled under the upper teeth | mouthRollLower, mouthUpperUp (small), jawOpen (small) |
//! | TH | th | tongue tip between the teeth | tongueOut, jawOpen (small) |
//! | DD | t d | teeth nearly closed, lips apart | jawOpen, mouthLowerDown (small) |
//! | kk | k g | slightly open, tongue back | jawOpen, mouthLowerDown, mouthStretch |
//! | CH | ch sh j | lips pushed forward, teeth close | mouthFunnel, mouthPucker, lip raise/lower |
//! | SS | s z | teeth together, lips spread | mouthStretch, mouthLowerDown, slight smile |
//! | nn | n l | slightly open | jawOpen, mouthLowerDown |
//! | RR | r | lips rounded a little | mouthPucker, mouthFunnel |
//! | aa | ah | jaw wide open | jawOpen |
//! | E | eh ae | open and spread | jawOpen, mouthStretch, mouthSmile |
//! | I | ih iy | nearly closed and spread | mouthStretch, mouthSmile |
//! | O | oh ao | open and rounded | mouthFunnel, mouthPucker, jawOpen |
//! | U | oo w | tightly rounded, protruded | mouthPucker, mouthFunnel |
//!
//! The `jawOpen` entries here are per-viseme targets; the animator mixes them with the
//! continuous `jaw_open` value of the lip-sync frames (see [`JAW_RECIPE_MIX`]), and closures
//! (PP, and FF for the jaw) override opening shapes.

use facecast_core::{ArkitShape as A, Viseme, VISEME_COUNT};

/// One recipe: the ARKit shapes a viseme drives at full weight.
pub type Recipe = &'static [(A, f32)];

/// Recipes in [`Viseme`] index order.
pub const RECIPES: [Recipe; VISEME_COUNT] = [
    // sil
    &[],
    // PP: firm closure. jawOpen is forced to 0 by the closure rule.
    &[
        (A::MouthClose, 0.25),
        (A::MouthPressLeft, 0.65),
        (A::MouthPressRight, 0.65),
        (A::MouthRollLower, 0.45),
        (A::MouthRollUpper, 0.35),
    ],
    // FF: lower lip under the upper teeth.
    &[
        (A::MouthRollLower, 0.85),
        (A::MouthUpperUpLeft, 0.25),
        (A::MouthUpperUpRight, 0.25),
        (A::MouthShrugUpper, 0.2),
        (A::JawOpen, 0.08),
    ],
    // TH
    &[
        (A::TongueOut, 0.35),
        (A::JawOpen, 0.16),
        (A::MouthUpperUpLeft, 0.1),
        (A::MouthUpperUpRight, 0.1),
    ],
    // DD
    &[
        (A::JawOpen, 0.16),
        (A::MouthLowerDownLeft, 0.15),
        (A::MouthLowerDownRight, 0.15),
        (A::MouthStretchLeft, 0.08),
        (A::MouthStretchRight, 0.08),
    ],
    // kk
    &[
        (A::JawOpen, 0.22),
        (A::MouthLowerDownLeft, 0.2),
        (A::MouthLowerDownRight, 0.2),
        (A::MouthStretchLeft, 0.12),
        (A::MouthStretchRight, 0.12),
    ],
    // CH
    &[
        (A::MouthFunnel, 0.45),
        (A::MouthPucker, 0.25),
        (A::JawOpen, 0.1),
        (A::MouthUpperUpLeft, 0.15),
        (A::MouthUpperUpRight, 0.15),
        (A::MouthLowerDownLeft, 0.12),
        (A::MouthLowerDownRight, 0.12),
    ],
    // SS
    &[
        (A::JawOpen, 0.05),
        (A::MouthStretchLeft, 0.3),
        (A::MouthStretchRight, 0.3),
        (A::MouthSmileLeft, 0.1),
        (A::MouthSmileRight, 0.1),
        (A::MouthLowerDownLeft, 0.2),
        (A::MouthLowerDownRight, 0.2),
        (A::MouthUpperUpLeft, 0.1),
        (A::MouthUpperUpRight, 0.1),
    ],
    // nn
    &[
        (A::JawOpen, 0.15),
        (A::MouthLowerDownLeft, 0.15),
        (A::MouthLowerDownRight, 0.15),
        (A::MouthStretchLeft, 0.08),
        (A::MouthStretchRight, 0.08),
    ],
    // RR
    &[
        (A::MouthPucker, 0.4),
        (A::MouthFunnel, 0.25),
        (A::JawOpen, 0.15),
    ],
    // aa
    &[
        (A::JawOpen, 0.62),
        (A::MouthLowerDownLeft, 0.2),
        (A::MouthLowerDownRight, 0.2),
        (A::MouthUpperUpLeft, 0.08),
        (A::MouthUpperUpRight, 0.08),
    ],
    // E
    &[
        (A::JawOpen, 0.35),
        (A::MouthStretchLeft, 0.35),
        (A::MouthStretchRight, 0.35),
        (A::MouthSmileLeft, 0.15),
        (A::MouthSmileRight, 0.15),
        (A::MouthLowerDownLeft, 0.2),
        (A::MouthLowerDownRight, 0.2),
    ],
    // I
    &[
        (A::JawOpen, 0.18),
        (A::MouthStretchLeft, 0.4),
        (A::MouthStretchRight, 0.4),
        (A::MouthSmileLeft, 0.25),
        (A::MouthSmileRight, 0.25),
        (A::MouthUpperUpLeft, 0.1),
        (A::MouthUpperUpRight, 0.1),
    ],
    // O
    &[
        (A::JawOpen, 0.35),
        (A::MouthFunnel, 0.6),
        (A::MouthPucker, 0.4),
    ],
    // U
    &[
        (A::MouthPucker, 0.85),
        (A::MouthFunnel, 0.4),
        (A::JawOpen, 0.12),
    ],
];

/// Final ARKit `jawOpen` during speech = `JAW_RECIPE_MIX` × (recipe jaw) + (1 − `JAW_RECIPE_MIX`)
/// × [`JAW_CONTINUOUS_GAIN`] × (continuous `jaw_open` of the frames): the viseme gives the shape
/// of the opening, the signal energy how far the jaw drops.
pub const JAW_RECIPE_MIX: f32 = 0.45;

/// Gain on the lip-sync frames' continuous `jaw_open` (0..1) before mixing.
pub const JAW_CONTINUOUS_GAIN: f32 = 0.7;

/// Shapes that open the mouth: fully suppressed while the lips are closed (PP), in speech and in
/// emotions alike.
pub const OPENING: [A; 7] = [
    A::JawOpen,
    A::MouthLowerDownLeft,
    A::MouthLowerDownRight,
    A::MouthUpperUpLeft,
    A::MouthUpperUpRight,
    A::MouthFunnel,
    A::TongueOut,
];

/// Other mouth-region shapes an emotion may carry; attenuated (not removed) while the lips close
/// so a smile stays visible on /m/ without prying the lips apart.
pub const MOUTH_SHAPING: [A; 14] = [
    A::MouthSmileLeft,
    A::MouthSmileRight,
    A::MouthFrownLeft,
    A::MouthFrownRight,
    A::MouthDimpleLeft,
    A::MouthDimpleRight,
    A::MouthStretchLeft,
    A::MouthStretchRight,
    A::MouthPucker,
    A::MouthShrugLower,
    A::MouthShrugUpper,
    A::MouthLeft,
    A::MouthRight,
    A::JawForward,
];

/// Fraction of [`MOUTH_SHAPING`] emotion weight removed at full lip closure.
pub const CLOSURE_SHAPING_ATTENUATION: f32 = 0.6;

/// The recipe of one viseme.
pub fn recipe(v: Viseme) -> Recipe {
    RECIPES[v.index()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pp_closes_and_aa_opens() {
        let jaw = |v: Viseme| {
            recipe(v)
                .iter()
                .find(|(s, _)| *s == A::JawOpen)
                .map(|&(_, w)| w)
                .unwrap_or(0.0)
        };
        assert_eq!(jaw(Viseme::PP), 0.0);
        assert!(jaw(Viseme::Aa) > 0.5);
        assert!(jaw(Viseme::FF) < 0.15);
        assert!(recipe(Viseme::Sil).is_empty());
        for r in RECIPES {
            for &(_, w) in r {
                assert!((0.0..=1.0).contains(&w));
            }
        }
    }
}
