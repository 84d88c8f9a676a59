//! The ARPAbet phone set (CMUdict without stress, plus `SIL`) and per-phone tables.

use facecast_core::Viseme;
use serde::{Deserialize, Serialize};

/// Number of phones in [`Phone`] (39 ARPAbet phones + `SIL`).
pub const PHONE_COUNT: usize = 40;

/// Phone names in [`Phone`] index order.
pub const PHONE_NAMES: [&str; PHONE_COUNT] = [
    "SIL", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
    "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH",
    "UH", "UW", "V", "W", "Y", "Z", "ZH",
];

/// One ARPAbet phone (no stress) or `Sil` (pause/silence). `index()` is fixed: `Sil` = 0, then the
/// 39 phones in alphabetical order (see [`PHONE_NAMES`]).
#[allow(missing_docs)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum Phone {
    #[serde(rename = "SIL")]
    Sil = 0,
    AA,
    AE,
    AH,
    AO,
    AW,
    AY,
    B,
    CH,
    D,
    DH,
    EH,
    ER,
    EY,
    F,
    G,
    HH,
    IH,
    IY,
    JH,
    K,
    L,
    M,
    N,
    NG,
    OW,
    OY,
    P,
    R,
    S,
    SH,
    T,
    TH,
    UH,
    UW,
    V,
    W,
    Y,
    Z,
    ZH,
}

/// Broad manner class, used for duration priors and the energy-only aligner.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    /// Pause / silence.
    Silence,
    /// Monophthong vowel.
    Vowel,
    /// Diphthong (AW AY EY OW OY).
    Diphthong,
    /// W Y R L.
    Approximant,
    /// M N NG.
    Nasal,
    /// B D G.
    VoicedStop,
    /// P T K.
    VoicelessStop,
    /// V DH Z ZH JH.
    VoicedFricative,
    /// F TH S SH CH.
    VoicelessFricative,
    /// HH.
    Aspirate,
}

impl Phone {
    /// All phones in index order.
    pub const ALL: [Phone; PHONE_COUNT] = {
        use Phone::*;
        [
            Sil, AA, AE, AH, AO, AW, AY, B, CH, D, DH, EH, ER, EY, F, G, HH, IH, IY, JH, K, L, M,
            N, NG, OW, OY, P, R, S, SH, T, TH, UH, UW, V, W, Y, Z, ZH,
        ]
    };

    /// Fixed index 0..40.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Upper-case ARPAbet name (`"SIL"` for silence).
    pub fn name(self) -> &'static str {
        PHONE_NAMES[self as usize]
    }

    /// Parse an ARPAbet name: case-insensitive, stress digits ignored (`"ah0"` -> AH). Pause
    /// spellings `SIL`, `sp`, `spn`, `pau`, `<sil>`, `_` and the empty string give [`Phone::Sil`].
    pub fn from_name(name: &str) -> Option<Phone> {
        let n = name.trim().trim_end_matches(|c: char| c.is_ascii_digit());
        if n.is_empty()
            || ["sil", "sp", "spn", "pau", "<sil>", "_", "sil0"]
                .iter()
                .any(|s| s.eq_ignore_ascii_case(n))
        {
            return Some(Phone::Sil);
        }
        PHONE_NAMES
            .iter()
            .position(|p| p.eq_ignore_ascii_case(n))
            .map(|i| Phone::ALL[i])
    }

    /// The phone with this index, if `< PHONE_COUNT`.
    pub fn from_index(i: usize) -> Option<Phone> {
        Phone::ALL.get(i).copied()
    }

    /// Broad manner class.
    pub fn kind(self) -> PhoneKind {
        use Phone::*;
        match self {
            Sil => PhoneKind::Silence,
            AA | AE | AH | AO | EH | ER | IH | IY | UH | UW => PhoneKind::Vowel,
            AW | AY | EY | OW | OY => PhoneKind::Diphthong,
            W | Y | R | L => PhoneKind::Approximant,
            M | N | NG => PhoneKind::Nasal,
            B | D | G => PhoneKind::VoicedStop,
            P | T | K => PhoneKind::VoicelessStop,
            V | DH | Z | ZH | JH => PhoneKind::VoicedFricative,
            F | TH | S | SH | CH => PhoneKind::VoicelessFricative,
            HH => PhoneKind::Aspirate,
        }
    }

    /// True for vowels and diphthongs (the scorer's `VOWELS`).
    pub fn is_vowel(self) -> bool {
        matches!(self.kind(), PhoneKind::Vowel | PhoneKind::Diphthong)
    }

    /// Oculus viseme of this phone. `HH` has no shape of its own: it returns [`Viseme::Sil`] here;
    /// sequence-aware functions ([`crate::visemes_of`]) give it the next vowel's viseme.
    pub fn viseme(self) -> Viseme {
        use Phone::*;
        match self {
            Sil | HH => Viseme::Sil,
            P | B | M => Viseme::PP,
            F | V => Viseme::FF,
            TH | DH => Viseme::TH,
            T | D => Viseme::DD,
            K | G | NG => Viseme::Kk,
            CH | JH | SH | ZH => Viseme::CH,
            S | Z => Viseme::SS,
            N | L => Viseme::Nn,
            R | ER => Viseme::RR,
            AA | AE | AH | AY | AW => Viseme::Aa,
            EH | EY => Viseme::E,
            IH | IY | Y => Viseme::I,
            AO | OW | OY => Viseme::O,
            UW | UH | W => Viseme::U,
        }
    }

    /// Rhubarb mouth shape (A-H, X) exactly as the corpus scorer's `PHONE2SHAPE`. `HH` gives `B`
    /// here; [`crate::phones_to_rhubarb`] applies the "HH before a vowel takes the vowel's shape" rule.
    pub fn rhubarb(self) -> char {
        use Phone::*;
        match self {
            Sil => 'X',
            P | B | M => 'A',
            F | V => 'G',
            UW | OW | W => 'F',
            AO | ER | OY | UH => 'E',
            AA | AY | AW => 'D',
            AE | EH | AH | EY => 'C',
            L => 'H',
            _ => 'B',
        }
    }

    /// Jaw openness target 0..1, exactly the corpus scorer's `PHONE_OPEN` (HH: 0.2 here; the
    /// sequence functions give it the next vowel's value).
    pub fn openness(self) -> f32 {
        use Phone::*;
        match self {
            Sil | P | B | M => 0.0,
            F | V => 0.1,
            W => 0.15,
            UW | IY | Y => 0.2,
            R => 0.3,
            L | IH | UH => 0.35,
            ER => 0.4,
            OW => 0.45,
            EY => 0.5,
            EH => 0.55,
            AH | OY => 0.6,
            AO => 0.7,
            AE => 0.75,
            AY | AW => 0.8,
            AA => 0.9,
            _ => 0.2,
        }
    }

    /// Typical duration in seconds at a normal speaking rate (duration prior of the aligner and the
    /// weights used to spread a word's phones over its time span). `stressed` matters for vowels.
    pub fn typical_duration(self, stressed: bool) -> f64 {
        use Phone::*;
        let base = match self.kind() {
            PhoneKind::Silence => 0.15,
            PhoneKind::Vowel => match self {
                AH | IH | UH => 0.060,
                _ => 0.090,
            },
            PhoneKind::Diphthong => 0.130,
            PhoneKind::Approximant => 0.060,
            PhoneKind::Nasal => 0.065,
            PhoneKind::VoicedStop => 0.065,
            PhoneKind::VoicelessStop => 0.080,
            PhoneKind::VoicedFricative => match self {
                DH => 0.040,
                JH => 0.080,
                _ => 0.070,
            },
            PhoneKind::VoicelessFricative => 0.095,
            PhoneKind::Aspirate => 0.055,
        };
        if self.is_vowel() {
            if stressed {
                base * 1.25
            } else {
                base * 0.75
            }
        } else {
            base
        }
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Phone {
    type Err = crate::TextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::from_name(s).ok_or_else(|| crate::TextError::UnknownPhone(s.to_string()))
    }
}

/// Rhubarb shape per phone of a sequence, with the scorer's HH rule (HH followed by a vowel takes
/// that vowel's shape).
pub fn rhubarb_of(phones: &[Phone]) -> Vec<char> {
    (0..phones.len())
        .map(|i| effective(phones, i).rhubarb())
        .collect()
}

/// Oculus viseme per phone of a sequence; HH takes the viseme of the phone after it (`Sil` at the
/// end or before another HH).
pub fn visemes_of(phones: &[Phone]) -> Vec<Viseme> {
    (0..phones.len())
        .map(|i| {
            if phones[i] == Phone::HH {
                match phones.get(i + 1) {
                    Some(&n) if n != Phone::HH => n.viseme(),
                    _ => Viseme::Sil,
                }
            } else {
                phones[i].viseme()
            }
        })
        .collect()
}

/// The phone whose mouth shape phone `i` shows: HH before a vowel is that vowel (scorer rule).
pub fn effective(phones: &[Phone], i: usize) -> Phone {
    let p = phones[i];
    if p == Phone::HH {
        if let Some(&n) = phones.get(i + 1) {
            if n.is_vowel() {
                return n;
            }
        }
    }
    p
}
