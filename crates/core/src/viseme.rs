//! The 15 Oculus/Meta visemes and viseme frames.

use serde::{Deserialize, Serialize};

/// Number of visemes.
pub const VISEME_COUNT: usize = 15;

/// Viseme names, in [`Viseme`] index order (the Oculus order).
pub const VISEME_NAMES: [&str; VISEME_COUNT] = [
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U",
];

/// The 15 Oculus visemes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum Viseme {
    Sil = 0,
    PP,
    FF,
    TH,
    DD,
    Kk,
    CH,
    SS,
    Nn,
    RR,
    Aa,
    E,
    I,
    O,
    U,
}

impl Viseme {
    /// All visemes in index order.
    pub const ALL: [Viseme; VISEME_COUNT] = [
        Viseme::Sil,
        Viseme::PP,
        Viseme::FF,
        Viseme::TH,
        Viseme::DD,
        Viseme::Kk,
        Viseme::CH,
        Viseme::SS,
        Viseme::Nn,
        Viseme::RR,
        Viseme::Aa,
        Viseme::E,
        Viseme::I,
        Viseme::O,
        Viseme::U,
    ];

    /// Index 0..15.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Oculus name (`sil`, `PP`, ...).
    pub fn name(self) -> &'static str {
        VISEME_NAMES[self as usize]
    }

    /// Parse an Oculus name, case-insensitively, with or without a `viseme_` prefix.
    pub fn from_name(name: &str) -> Option<Viseme> {
        let n = name.strip_prefix("viseme_").unwrap_or(name);
        VISEME_NAMES
            .iter()
            .position(|v| v.eq_ignore_ascii_case(n))
            .map(|i| Viseme::ALL[i])
    }
}

/// Viseme weights for one analysis frame (100 Hz in the lip-sync crate).
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisemeFrame {
    /// Centre time of the frame, in seconds of the input audio.
    pub t: f64,
    /// Weight per viseme (index order of [`Viseme`]), each 0..1.
    pub weights: [f32; VISEME_COUNT],
    /// Continuous jaw opening 0 (closed) .. 1 (widest).
    pub jaw_open: f32,
}

impl VisemeFrame {
    /// A silent frame (closed mouth) at time `t`.
    pub fn silent(t: f64) -> Self {
        let mut weights = [0.0; VISEME_COUNT];
        weights[0] = 1.0;
        VisemeFrame {
            t,
            weights,
            jaw_open: 0.0,
        }
    }

    /// The viseme with the largest weight.
    pub fn dominant(&self) -> Viseme {
        let mut best = 0;
        for i in 1..VISEME_COUNT {
            if self.weights[i] > self.weights[best] {
                best = i;
            }
        }
        Viseme::ALL[best]
    }
}
