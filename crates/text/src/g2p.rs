//! English grapheme-to-phoneme: text normalisation, CMUdict lookup, letter-to-sound fallback.

use crate::phone::Phone;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// A pause hint after a word, from punctuation.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Break {
    /// No punctuation: words run together (a short pause is still possible).
    #[default]
    None,
    /// Comma, semicolon, colon, dash, parenthesis: a short pause is likely.
    Short,
    /// Sentence end (`.`, `!`, `?`), blank line or `||`: a pause is very likely.
    Long,
}

/// Where a word's pronunciation came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    /// CMUdict entry.
    Dictionary,
    /// Letter-to-sound rules (out-of-vocabulary word).
    LetterToSound,
    /// Spelled out letter by letter (acronym).
    Spelled,
}

/// One spoken word with its phones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Word {
    /// The spoken word, lower case, after normalisation (`"42"` gives the words `forty`, `two`).
    pub text: String,
    /// Its phones (never contains [`Phone::Sil`]; never empty).
    pub phones: Vec<Phone>,
    /// Lexical stress per phone: 0 unstressed / consonant, 1 primary, 2 secondary.
    pub stress: Vec<u8>,
    /// Pause hint after this word.
    pub break_after: Break,
    /// Pronunciation source.
    pub source: Source,
}

struct Dict {
    /// word -> (offset, len) into `phones`.
    index: HashMap<Box<str>, (u32, u8)>,
    /// phone index | stress << 6.
    phones: Vec<u8>,
}

static CMUDICT_ZZ: &[u8] = include_bytes!("../data/cmudict.zz");
static LTS_ZZ: &[u8] = include_bytes!("../data/lts.zz");

fn inflate(bytes: &[u8]) -> String {
    // The data is built into the binary; failure would be a build defect, caught by the tests.
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(bytes).unwrap_or_default();
    String::from_utf8(raw).unwrap_or_default()
}

fn dict() -> &'static Dict {
    static D: OnceLock<Dict> = OnceLock::new();
    D.get_or_init(|| {
        let text = inflate(CMUDICT_ZZ);
        let mut index = HashMap::with_capacity(140_000);
        let mut phones = Vec::with_capacity(1_000_000);
        for line in text.lines() {
            let mut it = line.split(' ');
            let Some(w) = it.next() else { continue };
            let off = phones.len();
            let mut ok = true;
            for p in it {
                let stress = p
                    .bytes()
                    .last()
                    .filter(u8::is_ascii_digit)
                    .map_or(0, |d| d - b'0');
                match Phone::from_name(p) {
                    Some(ph) if ph != Phone::Sil => phones.push(ph as u8 | (stress << 6)),
                    _ => ok = false,
                }
            }
            let n = phones.len() - off;
            if !ok || n == 0 || n > 255 {
                phones.truncate(off);
                continue;
            }
            index.insert(w.into(), (off as u32, n as u8));
        }
        Dict { index, phones }
    })
}

type LtsTable = HashMap<Box<str>, Box<[Phone]>>;

fn lts() -> &'static (LtsTable, usize, usize) {
    static L: OnceLock<(LtsTable, usize, usize)> = OnceLock::new();
    L.get_or_init(|| {
        let text = inflate(LTS_ZZ);
        let mut t = HashMap::with_capacity(100_000);
        let (mut max_l, mut max_r) = (0, 0);
        for line in text.lines() {
            let Some((key, out)) = line.split_once('\t') else {
                continue;
            };
            let mut parts = key.splitn(3, ' ');
            let (Some(l), Some(r), Some(ctx)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let (Ok(l), Ok(r)) = (l.parse::<usize>(), r.parse::<usize>()) else {
                continue;
            };
            max_l = max_l.max(l);
            max_r = max_r.max(r);
            let phones: Vec<Phone> = if out == "_" {
                Vec::new()
            } else {
                out.split('.').filter_map(Phone::from_name).collect()
            };
            t.insert(
                format!("{l} {r} {ctx}").into_boxed_str(),
                phones.into_boxed_slice(),
            );
        }
        (t, max_l, max_r)
    })
}

/// Number of CMUdict entries loaded (first pronunciation of each word).
pub fn dictionary_len() -> usize {
    dict().index.len()
}

/// CMUdict pronunciation of one word (case-insensitive), with stress per phone.
pub fn lookup(word: &str) -> Option<(Vec<Phone>, Vec<u8>)> {
    let d = dict();
    let w = word.to_lowercase();
    let &(off, n) = d.index.get(w.as_str())?;
    let codes = &d.phones[off as usize..off as usize + n as usize];
    Some((
        codes
            .iter()
            .map(|&c| Phone::ALL[(c & 63) as usize])
            .collect(),
        codes.iter().map(|&c| c >> 6).collect(),
    ))
}

/// Letter-to-sound prediction for a word of letters a-z (other characters are ignored). Uses a
/// pruned context table trained on CMUdict (see `tools/build_data.py`). Returns at least one phone
/// for any word containing a letter.
pub fn letter_to_sound(word: &str) -> Vec<Phone> {
    let letters: Vec<u8> = word
        .bytes()
        .filter(u8::is_ascii_alphabetic)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    let (table, max_l, max_r) = lts();
    let (max_l, max_r) = (*max_l, *max_r);
    let pad = max_l.max(max_r).max(1);
    let mut padded = vec![b'#'; pad];
    padded.extend_from_slice(&letters);
    padded.extend(std::iter::repeat_n(b'#', pad));
    const LEVELS: [(usize, usize); 8] = [
        (4, 4),
        (3, 3),
        (2, 3),
        (2, 2),
        (1, 2),
        (1, 1),
        (0, 1),
        (0, 0),
    ];
    let mut per_letter: Vec<&[Phone]> = Vec::with_capacity(letters.len());
    let mut key = String::new();
    for i in 0..letters.len() {
        let c = i + pad;
        let mut found: &[Phone] = &[];
        for &(l, r) in LEVELS.iter().filter(|(l, r)| *l <= max_l && *r <= max_r) {
            key.clear();
            use std::fmt::Write;
            let _ = write!(key, "{l} {r} ");
            key.extend(padded[c - l..c].iter().map(|&b| b as char));
            key.push('[');
            key.push(padded[c] as char);
            key.push(']');
            key.extend(padded[c + 1..c + 1 + r].iter().map(|&b| b as char));
            if let Some(ph) = table.get(key.as_str()) {
                found = ph;
                break;
            }
        }
        per_letter.push(found);
    }
    // Every written vowel group must give a vowel sound (sparse contexts sometimes map it to
    // nothing), except a word-final "e" / "es" / "ed" (silent e).
    let is_v = |b: u8| b"aeiouy".contains(&b);
    let mut out = Vec::new();
    let mut i = 0;
    while i < letters.len() {
        if !is_v(letters[i])
            || (i == 0 && letters[i] == b'y' && letters.len() > 1 && is_v(letters[1]))
        {
            out.extend_from_slice(per_letter[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < letters.len() && is_v(letters[i]) {
            i += 1;
        }
        let run_has_vowel = per_letter[start..i]
            .iter()
            .any(|ph| ph.iter().any(|p| p.is_vowel()));
        let next_has_vowel = per_letter
            .get(i)
            .is_some_and(|ph| ph.iter().any(|p| p.is_vowel()));
        let tail = &letters[start..];
        let silent_e = start > 0 && (tail == b"e" || tail == b"es" || tail == b"ed");
        for ph in &per_letter[start..i] {
            out.extend_from_slice(ph);
        }
        if !run_has_vowel && !next_has_vowel && !silent_e {
            out.push(match letters[start] {
                b'a' => Phone::AE,
                b'e' => Phone::EH,
                b'i' => Phone::IH,
                b'o' => Phone::AA,
                b'u' => Phone::AH,
                _ => Phone::IY,
            });
        }
    }
    // Collapse doubled phones the context table may emit across letter boundaries.
    out.dedup();
    if out.is_empty() && !letters.is_empty() {
        out.push(Phone::AH);
    }
    out
}

fn letter_name(c: char) -> &'static str {
    match c.to_ascii_lowercase() {
        'a' => "EY1",
        'b' => "B IY1",
        'c' => "S IY1",
        'd' => "D IY1",
        'e' => "IY1",
        'f' => "EH1 F",
        'g' => "JH IY1",
        'h' => "EY1 CH",
        'i' => "AY1",
        'j' => "JH EY1",
        'k' => "K EY1",
        'l' => "EH1 L",
        'm' => "EH1 M",
        'n' => "EH1 N",
        'o' => "OW1",
        'p' => "P IY1",
        'q' => "K Y UW1",
        'r' => "AA1 R",
        's' => "EH1 S",
        't' => "T IY1",
        'u' => "Y UW1",
        'v' => "V IY1",
        'w' => "D AH1 B AH0 L Y UW0",
        'x' => "EH1 K S",
        'y' => "W AY1",
        'z' => "Z IY1",
        _ => "",
    }
}

fn push_arpabet(s: &str, phones: &mut Vec<Phone>, stress: &mut Vec<u8>) {
    for p in s.split_whitespace() {
        if let Some(ph) = Phone::from_name(p) {
            phones.push(ph);
            stress.push(
                p.bytes()
                    .last()
                    .filter(u8::is_ascii_digit)
                    .map_or(0, |d| d - b'0'),
            );
        }
    }
}

/// Heuristic stress for LTS output: primary on the first vowel, none elsewhere.
fn default_stress(phones: &[Phone]) -> Vec<u8> {
    let mut first = true;
    phones
        .iter()
        .map(|p| {
            if p.is_vowel() && first {
                first = false;
                1
            } else {
                0
            }
        })
        .collect()
}

/// Pronounce one normalised token (letters and apostrophes).
fn pronounce(word: &str) -> (Vec<Phone>, Vec<u8>, Source) {
    let lower = word.to_lowercase();
    if let Some((p, s)) = lookup(&lower) {
        return (p, s, Source::Dictionary);
    }
    let core: String = lower
        .chars()
        .filter(|c| c.is_ascii_alphabetic() || *c == '\'')
        .collect();
    if core != lower {
        if let Some((p, s)) = lookup(&core) {
            return (p, s, Source::Dictionary);
        }
    }
    // Possessive / contraction on an unknown stem.
    if let Some(stem) = core.strip_suffix("'s") {
        if let Some((mut p, mut s)) = lookup(stem) {
            let last = p.last().copied().unwrap_or(Phone::AH);
            if matches!(
                last,
                Phone::S | Phone::Z | Phone::SH | Phone::ZH | Phone::CH | Phone::JH
            ) {
                p.extend([Phone::IH, Phone::Z]);
                s.extend([0, 0]);
            } else if matches!(last, Phone::P | Phone::T | Phone::K | Phone::F | Phone::TH) {
                p.push(Phone::S);
                s.push(0);
            } else {
                p.push(Phone::Z);
                s.push(0);
            }
            return (p, s, Source::Dictionary);
        }
    }
    let letters: String = core.chars().filter(char::is_ascii_alphabetic).collect();
    let all_caps = word
        .chars()
        .filter(|c| c.is_alphabetic())
        .all(|c| c.is_uppercase());
    let has_vowel = letters.chars().any(|c| "aeiouy".contains(c));
    if (all_caps && letters.len() >= 2 && letters.len() <= 4) || (!has_vowel && letters.len() <= 5)
    {
        let mut p = Vec::new();
        let mut s = Vec::new();
        for c in letters.chars() {
            push_arpabet(letter_name(c), &mut p, &mut s);
        }
        if !p.is_empty() {
            return (p, s, Source::Spelled);
        }
    }
    let p = letter_to_sound(&letters);
    let s = default_stress(&p);
    (p, s, Source::LetterToSound)
}

// ------------------------------------------------------------------------------------------------
// Numbers

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

fn below_thousand(n: u64, out: &mut Vec<String>) {
    let h = n / 100;
    let r = n % 100;
    if h > 0 {
        out.push(ONES[h as usize].into());
        out.push("hundred".into());
    }
    if r >= 20 {
        out.push(TENS[(r / 10) as usize].into());
        if !r.is_multiple_of(10) {
            out.push(ONES[(r % 10) as usize].into());
        }
    } else if r > 0 || h == 0 {
        out.push(ONES[r as usize].into());
    }
}

/// Cardinal number in words: `42` -> `["forty", "two"]`.
pub fn number_words(n: u64) -> Vec<String> {
    let mut out = Vec::new();
    if n == 0 {
        out.push("zero".into());
        return out;
    }
    const SCALES: [(u64, &str); 6] = [
        (1_000_000_000_000_000_000, "quintillion"),
        (1_000_000_000_000_000, "quadrillion"),
        (1_000_000_000_000, "trillion"),
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ];
    let mut rest = n;
    for (v, name) in SCALES {
        if rest >= v {
            below_thousand(rest / v, &mut out);
            out.push(name.into());
            rest %= v;
        }
    }
    if rest > 0 {
        below_thousand(rest, &mut out);
    }
    out
}

/// A four-digit year read the usual way: 1984 -> nineteen eighty four, 2005 -> two thousand five,
/// 2026 -> twenty twenty six, 1900 -> nineteen hundred.
fn year_words(n: u64) -> Vec<String> {
    if (2000..2010).contains(&n) || n.is_multiple_of(1000) {
        return number_words(n);
    }
    let (hi, lo) = (n / 100, n % 100);
    let mut out = number_words(hi);
    if lo == 0 {
        out.push("hundred".into());
    } else if lo < 10 {
        out.push("oh".into());
        out.extend(number_words(lo));
    } else {
        out.extend(number_words(lo));
    }
    out
}

fn ordinalize(words: &mut [String]) {
    if let Some(last) = words.last_mut() {
        let o = match last.as_str() {
            "one" => "first".to_string(),
            "two" => "second".to_string(),
            "three" => "third".to_string(),
            "five" => "fifth".to_string(),
            "eight" => "eighth".to_string(),
            "nine" => "ninth".to_string(),
            "twelve" => "twelfth".to_string(),
            w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
            w => format!("{w}th"),
        };
        *last = o;
    }
}

fn digits_words(d: &str) -> Vec<String> {
    d.chars()
        .filter_map(|c| c.to_digit(10))
        .map(|v| ONES[v as usize].to_string())
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Tokenisation and normalisation

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    /// A letter spoken by its name (from a dotted initialism).
    Letter(char),
    Break(Break),
}

fn abbreviation(lower: &str) -> Option<&'static str> {
    Some(match lower {
        "dr" => "doctor",
        "mr" => "mister",
        "mrs" => "missus",
        "ms" => "miz",
        "prof" => "professor",
        "st" => "saint",
        "jr" => "junior",
        "sr" => "senior",
        "vs" => "versus",
        "etc" => "et cetera",
        "inc" => "incorporated",
        "ltd" => "limited",
        "co" => "company",
        "corp" => "corporation",
        "ave" => "avenue",
        "mt" => "mount",
        "gen" => "general",
        "gov" => "governor",
        "sgt" => "sergeant",
        "capt" => "captain",
        "lt" => "lieutenant",
        "col" => "colonel",
        "approx" => "approximately",
        "dept" => "department",
        "fig" => "figure",
        "no" => "number",
        _ => return None,
    })
}

fn fold_char(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'è' | 'é' | 'ê' | 'ë' | 'ē' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'O',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ç' => 'c',
        'Ç' => 'C',
        'ý' | 'ÿ' => 'y',
        '’' | '‘' | '`' | 'ʼ' => '\'',
        _ => c,
    }
}

fn push_break(toks: &mut Vec<Tok>, b: Break) {
    if let Some(Tok::Break(prev)) = toks.last_mut() {
        *prev = (*prev).max(b);
    } else if !toks.is_empty() {
        toks.push(Tok::Break(b));
    }
}

fn push_words(toks: &mut Vec<Tok>, words: impl IntoIterator<Item = String>) {
    for w in words {
        for part in w.split(' ') {
            if !part.is_empty() {
                toks.push(Tok::Word(part.to_string()));
            }
        }
    }
}

/// Text -> tokens: words with numbers/abbreviations expanded, and breaks.
fn tokenize(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().map(fold_char).collect();
    let n = chars.len();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < n {
        let c = chars[i];
        if c.is_alphabetic() {
            // Dotted initialisms: "e.g.", "U.S.A."
            if i + 3 < n + 1
                && chars.get(i + 1) == Some(&'.')
                && chars.get(i + 2).is_some_and(|c| c.is_alphabetic())
                && chars.get(i + 3) == Some(&'.')
            {
                let mut j = i;
                let mut letters = String::new();
                while j + 1 < n
                    && chars[j].is_alphabetic()
                    && chars[j + 1] == '.'
                    && (j == 0 || !chars[j - 1].is_alphabetic() || j > i)
                {
                    letters.push(chars[j]);
                    j += 2;
                    if j < n && !chars[j].is_alphabetic() {
                        break;
                    }
                }
                let lower = letters.to_lowercase();
                match lower.as_str() {
                    "eg" => push_words(&mut toks, ["for example".to_string()]),
                    "ie" => push_words(&mut toks, ["that is".to_string()]),
                    "am" => push_words(&mut toks, ["ay em".to_string()]),
                    "pm" => push_words(&mut toks, ["pee em".to_string()]),
                    _ => {
                        for l in letters.chars() {
                            toks.push(Tok::Letter(l));
                        }
                    }
                }
                // A dotted initialism at the end of a sentence: the last dot also ends it.
                if j >= n || (j + 1 < n && chars[j].is_whitespace() && chars[j + 1].is_uppercase())
                {
                    push_break(&mut toks, Break::Long);
                }
                i = j;
                continue;
            }
            let start = i;
            while i < n
                && (chars[i].is_alphabetic()
                    || (chars[i] == '\'' && i + 1 < n && chars[i + 1].is_alphabetic()))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let lower = word.to_lowercase();
            if i < n && chars[i] == '.' {
                if let Some(exp) = abbreviation(&lower) {
                    // "No." only before a number; "St." and titles never end a sentence here.
                    let next_digit = chars[i + 1..]
                        .iter()
                        .find(|c| !c.is_whitespace())
                        .is_some_and(|c| c.is_ascii_digit());
                    if lower != "no" || next_digit {
                        push_words(&mut toks, [exp.to_string()]);
                        i += 1;
                        let ends = matches!(lower.as_str(), "etc" | "inc" | "ltd" | "co" | "corp");
                        let at_end = chars[i..].iter().all(|c| c.is_whitespace());
                        let next_upper = chars[i..]
                            .iter()
                            .find(|c| !c.is_whitespace())
                            .is_some_and(|c| c.is_uppercase());
                        if at_end || (ends && next_upper) {
                            push_break(&mut toks, Break::Long);
                        }
                        continue;
                    }
                }
            }
            toks.push(Tok::Word(word));
            continue;
        }
        if c.is_ascii_digit()
            || ((c == '-' || c == '−')
                && chars.get(i + 1).is_some_and(char::is_ascii_digit)
                && (i == 0 || !chars[i - 1].is_alphanumeric()))
        {
            let negative = !c.is_ascii_digit();
            if negative {
                i += 1;
            }
            let currency = if i > 0 {
                match chars[i - 1 - usize::from(negative && i > 1).min(i - 1)] {
                    '$' => Some(("dollar", "dollars", "cent", "cents")),
                    '£' => Some(("pound", "pounds", "penny", "pence")),
                    '€' => Some(("euro", "euros", "cent", "cents")),
                    _ => None,
                }
            } else {
                None
            };
            let start = i;
            let mut int = String::new();
            while i < n
                && (chars[i].is_ascii_digit()
                    || (chars[i] == ','
                        && i + 3 < n
                        && chars[i + 1..i + 4].iter().all(char::is_ascii_digit)
                        && !chars.get(i + 4).is_some_and(char::is_ascii_digit)))
            {
                if chars[i] != ',' {
                    int.push(chars[i]);
                }
                i += 1;
            }
            let had_commas = chars[start..i].contains(&',');
            let mut frac = String::new();
            if i + 1 < n && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
                i += 1;
                while i < n && chars[i].is_ascii_digit() {
                    frac.push(chars[i]);
                    i += 1;
                }
            }
            // Time of day 10:30
            let mut minutes = None;
            if frac.is_empty()
                && i + 2 < n
                && chars[i] == ':'
                && chars[i + 1].is_ascii_digit()
                && chars[i + 2].is_ascii_digit()
                && !chars.get(i + 3).is_some_and(char::is_ascii_digit)
            {
                minutes = Some(format!("{}{}", chars[i + 1], chars[i + 2]));
                i += 3;
            }
            // Suffixes: ordinals, percent
            let mut suffix = String::new();
            let sfx_start = i;
            while i < n && chars[i].is_ascii_alphabetic() {
                suffix.push(chars[i].to_ascii_lowercase());
                i += 1;
            }
            let ordinal = matches!(suffix.as_str(), "st" | "nd" | "rd" | "th");
            if !ordinal && !suffix.is_empty() {
                i = sfx_start; // e.g. "3D", "10am": the letters become their own token
            }
            let mut words = Vec::new();
            if negative {
                words.push("minus".to_string());
            }
            let value = if int.len() > 19 {
                None
            } else {
                int.parse::<u64>().ok()
            };
            match value {
                None => words.extend(digits_words(&int)),
                Some(v) => {
                    let mut w = if int.len() == 4
                        && !had_commas
                        && frac.is_empty()
                        && currency.is_none()
                        && minutes.is_none()
                        && !ordinal
                        && (1100..=2099).contains(&v)
                    {
                        year_words(v)
                    } else {
                        number_words(v)
                    };
                    if ordinal {
                        ordinalize(&mut w);
                    }
                    words.extend(w);
                    if let Some(m) = &minutes {
                        let mv: u64 = m.parse().unwrap_or(0);
                        if mv == 0 {
                            words.push("o'clock".into());
                        } else {
                            if mv < 10 {
                                words.push("oh".into());
                            }
                            words.extend(number_words(mv));
                        }
                    }
                    if let Some((one, many, sub1, subn)) = currency {
                        words.push(if v == 1 { one } else { many }.into());
                        let cents: u64 = if frac.is_empty() {
                            0
                        } else {
                            format!("{:0<2}", &frac[..frac.len().min(2)])
                                .parse()
                                .unwrap_or(0)
                        };
                        if cents > 0 {
                            words.push("and".into());
                            words.extend(number_words(cents));
                            words.push(if cents == 1 { sub1 } else { subn }.into());
                        }
                        frac.clear();
                    }
                }
            }
            if !frac.is_empty() {
                words.push("point".into());
                words.extend(digits_words(&frac));
            }
            if i < n && chars[i] == '%' {
                words.push("percent".into());
                i += 1;
            }
            push_words(&mut toks, words);
            continue;
        }
        match c {
            '.' | '!' | '?' | '…' => push_break(&mut toks, Break::Long),
            '|' if chars.get(i + 1) == Some(&'|') => {
                push_break(&mut toks, Break::Long);
                i += 1;
            }
            ',' | ';' | ':' | '—' | '–' | '(' | ')' | '[' | ']' | '"' | '“' | '”'
                if c != '"' && c != '“' && c != '”' =>
            {
                push_break(&mut toks, Break::Short)
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                push_break(&mut toks, Break::Short);
                i += 1;
            }
            '-' if i > 0
                && chars[i - 1].is_whitespace()
                && chars.get(i + 1).is_some_and(|c| c.is_whitespace()) =>
            {
                push_break(&mut toks, Break::Short)
            }
            '\n' if chars.get(i + 1) == Some(&'\n') => push_break(&mut toks, Break::Long),
            '&' => toks.push(Tok::Word("and".into())),
            '+' => toks.push(Tok::Word("plus".into())),
            '=' => toks.push(Tok::Word("equals".into())),
            '@' => toks.push(Tok::Word("at".into())),
            '%' => toks.push(Tok::Word("percent".into())),
            '#' => toks.push(Tok::Word("number".into())),
            _ => {}
        }
        i += 1;
    }
    toks
}

/// Normalise `text` to the spoken word sequence (numbers, abbreviations and symbols expanded),
/// lower case, with punctuation breaks as `,` (short) and `.` (long). Mostly for inspection.
pub fn normalize(text: &str) -> String {
    let mut s = String::new();
    for t in tokenize(text) {
        match t {
            Tok::Word(w) => {
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(&w.to_lowercase());
            }
            Tok::Letter(c) => {
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push(c.to_ascii_lowercase());
            }
            Tok::Break(Break::Long) => s.push('.'),
            Tok::Break(Break::Short) => s.push(','),
            Tok::Break(Break::None) => {}
        }
    }
    s
}

/// English text -> spoken words with phones and pause hints.
///
/// Numbers, currency, percentages, times, ordinals, common abbreviations (`Dr.`, `Mr.`, `etc.`)
/// and symbols (`&`, `%`) are expanded; words are looked up in CMUdict (first pronunciation, stress
/// kept in [`Word::stress`]); short all-caps words without a dictionary entry are spelled
/// (`"FBI"`); anything else goes through the trained letter-to-sound table
/// ([`letter_to_sound`]). Punctuation becomes [`Word::break_after`] on the preceding word.
pub fn g2p(text: &str) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    for t in tokenize(text) {
        match t {
            Tok::Word(w) => {
                let (phones, stress, source) = pronounce(&w);
                if phones.is_empty() {
                    continue;
                }
                out.push(Word {
                    text: w.to_lowercase(),
                    phones,
                    stress,
                    break_after: Break::None,
                    source,
                });
            }
            Tok::Letter(c) => {
                let (mut phones, mut stress) = (Vec::new(), Vec::new());
                push_arpabet(letter_name(c), &mut phones, &mut stress);
                if !phones.is_empty() {
                    out.push(Word {
                        text: c.to_ascii_lowercase().to_string(),
                        phones,
                        stress,
                        break_after: Break::None,
                        source: Source::Spelled,
                    });
                }
            }
            Tok::Break(b) => {
                if let Some(last) = out.last_mut() {
                    last.break_after = last.break_after.max(b);
                }
            }
        }
    }
    out
}

/// Phones of a whole text with `SIL` at every short or long break (and nowhere else).
pub fn text_phones(text: &str) -> Vec<Phone> {
    let mut out = Vec::new();
    for w in g2p(text) {
        out.extend_from_slice(&w.phones);
        if w.break_after != Break::None {
            out.push(Phone::Sil);
        }
    }
    if out.last() == Some(&Phone::Sil) {
        out.pop();
    }
    out
}
