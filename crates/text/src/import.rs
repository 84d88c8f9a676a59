//! Importers for word / phone / viseme timings returned by TTS services and lip-sync tools.
//!
//! Every importer takes the file or response body as text and returns seconds. [`auto`] sniffs
//! the format; [`to_phones`] turns any of them into [`TimedPhone`]s (word timings are expanded
//! with [`words_to_phones`]).

use crate::error::{malformed, TextError};
use crate::frames::TimedPhone;
use crate::g2p::g2p;
use crate::phone::Phone;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A word with its time span (s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WordTiming {
    /// The word as written (may carry punctuation or digits; it goes through [`g2p`]).
    pub word: String,
    /// Start, s.
    pub start: f64,
    /// End, s.
    pub end: f64,
}

/// What a timing file contained.
#[derive(Clone, Debug, PartialEq)]
pub enum Imported {
    /// Word timings.
    Words(Vec<WordTiming>),
    /// Phone timings (also viseme events mapped to a representative phone).
    Phones(Vec<TimedPhone>),
    /// Rhubarb mouth cues `(start, end, shape)`.
    Cues(Vec<(f64, f64, char)>),
}

fn parse_json(format: &'static str, text: &str) -> Result<Value, TextError> {
    serde_json::from_str(text).map_err(|source| TextError::Json { format, source })
}

/// A number, or a string like `"1.25"` / `"1.250s"` (Google Speech style).
fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().trim_end_matches('s').parse().ok(),
        _ => None,
    }
}

fn get_num(o: &Value, keys: &[&str]) -> Option<f64> {
    keys.iter().find_map(|k| o.get(*k).and_then(num))
}

fn get_str<'a>(o: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| o.get(*k).and_then(Value::as_str))
}

fn check_time(format: &'static str, what: &str, i: usize, t: f64) -> Result<f64, TextError> {
    if t.is_finite() && t >= 0.0 {
        Ok(t)
    } else {
        Err(malformed(
            format,
            format!("{what} {i} has invalid time {t}"),
        ))
    }
}

/// ElevenLabs `with-timestamps` responses: `{"alignment": {"characters": [...],
/// "character_start_times_seconds": [...], "character_end_times_seconds": [...]}}` (also
/// `normalized_alignment`, or the alignment object itself). Characters are grouped into words at
/// whitespace.
pub fn elevenlabs(json: &str) -> Result<Vec<WordTiming>, TextError> {
    const F: &str = "ElevenLabs alignment";
    let v = parse_json(F, json)?;
    let a = v
        .get("alignment")
        .filter(|a| !a.is_null())
        .or_else(|| v.get("normalized_alignment"))
        .unwrap_or(&v);
    let chars = a
        .get("characters")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(F, "missing array \"characters\""))?;
    let starts = a
        .get("character_start_times_seconds")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(F, "missing array \"character_start_times_seconds\""))?;
    let ends = a
        .get("character_end_times_seconds")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(F, "missing array \"character_end_times_seconds\""))?;
    if chars.len() != starts.len() || chars.len() != ends.len() {
        return Err(malformed(
            F,
            format!(
                "{} characters but {} start and {} end times",
                chars.len(),
                starts.len(),
                ends.len()
            ),
        ));
    }
    let mut out = Vec::new();
    let mut cur: Option<WordTiming> = None;
    for i in 0..chars.len() {
        let c = chars[i]
            .as_str()
            .ok_or_else(|| malformed(F, format!("character {i} is not a string: {}", chars[i])))?;
        let s = check_time(
            F,
            "character",
            i,
            num(&starts[i]).ok_or_else(|| {
                malformed(F, format!("start time {i} is not a number: {}", starts[i]))
            })?,
        )?;
        let e = check_time(
            F,
            "character",
            i,
            num(&ends[i]).ok_or_else(|| {
                malformed(F, format!("end time {i} is not a number: {}", ends[i]))
            })?,
        )?;
        if c.trim().is_empty() {
            if let Some(w) = cur.take() {
                out.push(w);
            }
            continue;
        }
        match cur.as_mut() {
            Some(w) => {
                w.word.push_str(c);
                w.end = w.end.max(e);
            }
            None => {
                cur = Some(WordTiming {
                    word: c.to_string(),
                    start: s,
                    end: e.max(s),
                })
            }
        }
    }
    out.extend(cur);
    out.retain(|w| w.word.chars().any(char::is_alphanumeric));
    Ok(out)
}

/// Azure viseme id (0-21) -> a representative ARPAbet phone.
pub fn azure_viseme_phone(id: u64) -> Option<Phone> {
    use Phone::*;
    Some(match id {
        0 => Sil,
        1 => AE,
        2 => AA,
        3 => AO,
        4 => EH,
        5 => ER,
        6 => IY,
        7 => UW,
        8 => OW,
        9 => AW,
        10 => OY,
        11 => AY,
        12 => HH,
        13 => R,
        14 => L,
        15 => S,
        16 => SH,
        17 => DH,
        18 => F,
        19 => D,
        20 => K,
        21 => P,
        _ => return None,
    })
}

/// Azure Speech SDK events, as a JSON array (or `{"events"|"words"|"visemes": [...]}`) of
/// word-boundary events `{"audio_offset"|"AudioOffset"|"audioOffset"|"offset"|"Offset": ticks
/// (100 ns), "duration"|"Duration": ticks, "text"|"Text"|"word": ...}` and/or viseme events
/// `{"viseme_id"|"VisemeId"|"visemeId": 0..21, "audio_offset": ticks}`. Word events win when
/// both are present; viseme events become phones ending at the next event.
pub fn azure(json: &str) -> Result<Imported, TextError> {
    const F: &str = "Azure events";
    let v = parse_json(F, json)?;
    let arr = as_event_array(&v, &["events", "words", "visemes", "wordBoundaries"])
        .ok_or_else(|| malformed(F, "expected an array of events"))?;
    const OFF: [&str; 6] = [
        "audio_offset",
        "AudioOffset",
        "audioOffset",
        "offset",
        "Offset",
        "audioOffsetTicks",
    ];
    let mut words = Vec::new();
    let mut vis: Vec<(f64, Phone)> = Vec::new();
    for (i, e) in arr.iter().enumerate() {
        let Some(off) = get_num(e, &OFF) else {
            return Err(malformed(
                F,
                format!("event {i} has no audio_offset/offset: {e}"),
            ));
        };
        let t = check_time(F, "event", i, off / 1e7)?;
        if let Some(id) = get_num(e, &["viseme_id", "VisemeId", "visemeId"]) {
            let p = azure_viseme_phone(id as u64)
                .ok_or_else(|| malformed(F, format!("event {i}: viseme id {id} is not 0..21")))?;
            vis.push((t, p));
        } else if let Some(text) = get_str(e, &["text", "Text", "word", "Word"]) {
            if get_str(e, &["boundary_type", "BoundaryType", "boundaryType"])
                .is_some_and(|b| b.to_ascii_lowercase().contains("punct"))
                || !text.chars().any(char::is_alphanumeric)
            {
                continue;
            }
            let dur = get_num(e, &["duration", "Duration", "durationTicks"]).map(|d| d / 1e7);
            words.push((text.to_string(), t, dur));
        } else {
            return Err(malformed(
                F,
                format!("event {i} has neither text/word nor viseme_id: {e}"),
            ));
        }
    }
    if !words.is_empty() {
        let mut out: Vec<WordTiming> = Vec::with_capacity(words.len());
        for k in 0..words.len() {
            let (w, s, d) = &words[k];
            let next = words.get(k + 1).map(|x| x.1);
            let end = match d {
                Some(d) if *d > 0.0 => s + d,
                _ => next.unwrap_or(s + estimate_word_s(w)),
            };
            out.push(WordTiming {
                word: w.clone(),
                start: *s,
                end,
            });
        }
        return Ok(Imported::Words(out));
    }
    if vis.is_empty() {
        return Err(malformed(F, "no word or viseme events"));
    }
    Ok(Imported::Phones(events_to_phones(vis)))
}

fn events_to_phones(mut ev: Vec<(f64, Phone)>) -> Vec<TimedPhone> {
    ev.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = Vec::with_capacity(ev.len());
    for k in 0..ev.len() {
        let (t, p) = ev[k];
        let end = ev.get(k + 1).map_or(t + p.typical_duration(true), |n| n.0);
        if end > t {
            out.push(TimedPhone::new(p, t, end));
        }
    }
    out
}

fn estimate_word_s(w: &str) -> f64 {
    g2p(w)
        .iter()
        .flat_map(|w| w.phones.iter().zip(&w.stress))
        .map(|(p, &s)| p.typical_duration(s > 0))
        .sum::<f64>()
        .max(0.1)
}

fn as_event_array<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Vec<Value>> {
    v.as_array().or_else(|| {
        keys.iter()
            .find_map(|k| v.get(*k).and_then(Value::as_array))
    })
}

/// Amazon Polly viseme symbol -> a representative phone.
pub fn polly_viseme_phone(v: &str) -> Option<Phone> {
    use Phone::*;
    Some(match v {
        "p" => P,
        "t" => T,
        "S" => SH,
        "T" => TH,
        "f" => F,
        "k" => K,
        "i" => IY,
        "r" => R,
        "s" => S,
        "u" => UW,
        "@" => AH,
        "a" => AA,
        "e" => EY,
        "E" => EH,
        "o" => OW,
        "O" => AO,
        "sil" => Sil,
        _ => return None,
    })
}

/// Amazon Polly speech marks: JSON lines `{"time": ms, "type": "word"|"viseme"|"sentence"|"ssml",
/// "start": byte, "end": byte, "value": ...}` (a JSON array of the same objects is accepted too).
/// Word marks win when present (a word ends at the next word or `sil` viseme, the last one after
/// its estimated length); otherwise viseme marks become phones.
pub fn polly(marks: &str) -> Result<Imported, TextError> {
    const F: &str = "Polly speech marks";
    let items: Vec<Value> = if marks.trim_start().starts_with('[') {
        parse_json(F, marks)?
            .as_array()
            .cloned()
            .unwrap_or_default()
    } else {
        let mut v = Vec::new();
        for (ln, line) in marks.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            v.push(
                serde_json::from_str(line)
                    .map_err(|e| malformed(F, format!("line {}: invalid JSON: {e}", ln + 1)))?,
            );
        }
        v
    };
    let mut words = Vec::new();
    let mut vis = Vec::new();
    for (i, m) in items.iter().enumerate() {
        let t = get_num(m, &["time"])
            .ok_or_else(|| malformed(F, format!("mark {i} has no numeric \"time\": {m}")))?;
        let t = check_time(F, "mark", i, t / 1000.0)?;
        let ty = get_str(m, &["type"])
            .ok_or_else(|| malformed(F, format!("mark {i} has no \"type\": {m}")))?;
        let val = get_str(m, &["value"]).unwrap_or("");
        match ty {
            "word" => words.push((val.to_string(), t)),
            "viseme" => vis.push((
                t,
                polly_viseme_phone(val)
                    .ok_or_else(|| malformed(F, format!("mark {i}: unknown viseme {val:?}")))?,
            )),
            _ => {}
        }
    }
    if !words.is_empty() {
        let sil_times: Vec<f64> = vis
            .iter()
            .filter(|v| v.1 == Phone::Sil)
            .map(|v| v.0)
            .collect();
        let mut out = Vec::with_capacity(words.len());
        for k in 0..words.len() {
            let (w, s) = &words[k];
            let mut end = words.get(k + 1).map_or(f64::INFINITY, |n| n.1);
            if let Some(&st) = sil_times.iter().find(|&&t| t > *s && t < end) {
                end = st;
            }
            if !end.is_finite() {
                end = s + estimate_word_s(w);
            }
            out.push(WordTiming {
                word: w.clone(),
                start: *s,
                end,
            });
        }
        return Ok(Imported::Words(out));
    }
    if vis.is_empty() {
        return Err(malformed(F, "no word or viseme marks"));
    }
    Ok(Imported::Phones(events_to_phones(vis)))
}

/// Google Cloud TTS SSML timepoints: `{"timepoints": [{"markName": "...", "timeSeconds": 1.2}]}`.
/// Each mark is taken as the start of a word whose text is the mark name; a word ends at the next
/// mark (the last after its estimated length).
pub fn google(json: &str) -> Result<Vec<WordTiming>, TextError> {
    const F: &str = "Google timepoints";
    let v = parse_json(F, json)?;
    let arr = v
        .get("timepoints")
        .and_then(Value::as_array)
        .or(v.as_array())
        .ok_or_else(|| malformed(F, "missing array \"timepoints\""))?;
    let mut pts = Vec::new();
    for (i, p) in arr.iter().enumerate() {
        let name = get_str(p, &["markName", "mark_name"])
            .ok_or_else(|| malformed(F, format!("timepoint {i} has no markName: {p}")))?;
        let t = get_num(p, &["timeSeconds", "time_seconds"])
            .ok_or_else(|| malformed(F, format!("timepoint {i} has no timeSeconds: {p}")))?;
        pts.push((name.to_string(), check_time(F, "timepoint", i, t)?));
    }
    Ok((0..pts.len())
        .map(|k| {
            let (w, s) = &pts[k];
            let end = pts.get(k + 1).map_or(s + estimate_word_s(w), |n| n.1);
            WordTiming {
                word: w.clone(),
                start: *s,
                end,
            }
        })
        .collect())
}

const WORD_KEYS: [&str; 6] = ["word", "text", "token", "value", "t", "w"];
const START_KEYS: [&str; 7] = [
    "start",
    "start_time",
    "startTime",
    "begin",
    "b",
    "from",
    "start_s",
];
const END_KEYS: [&str; 6] = ["end", "end_time", "endTime", "to", "stop", "end_s"];

/// Generic word timings: `[{"word"|"text"|"token": w, "start": s, "end": s}]`, `{"words": [...]}`,
/// Whisper-style `{"segments": [{"words": [...]}]}`, pocketsphinx nodes
/// `{"b": start, "d": duration, "t": word, "w": [...]}` (`<sil>`, `<s>`, `</s>` skipped, `(2)`
/// variants stripped), and `"start_ms"`/`"end_ms"` keys. Times are seconds; when every time is a
/// JSON integer and some exceed 100 they are taken as milliseconds (AssemblyAI style).
pub fn words_json(json: &str) -> Result<Vec<WordTiming>, TextError> {
    const F: &str = "word timings";
    let v = parse_json(F, json)?;
    words_from_value(&v)
}

fn words_from_value(v: &Value) -> Result<Vec<WordTiming>, TextError> {
    const F: &str = "word timings";
    // pocketsphinx node
    if v.get("b").is_some() && v.get("w").is_some_and(Value::is_array) {
        let mut out = Vec::new();
        for (i, n) in v["w"].as_array().into_iter().flatten().enumerate() {
            let t = get_str(n, &["t"])
                .ok_or_else(|| malformed(F, format!("node {i} has no \"t\": {n}")))?;
            let b = get_num(n, &["b"])
                .ok_or_else(|| malformed(F, format!("node {i} has no \"b\": {n}")))?;
            let d = get_num(n, &["d"])
                .ok_or_else(|| malformed(F, format!("node {i} has no \"d\": {n}")))?;
            let word = t.split('(').next().unwrap_or(t);
            if word.starts_with('<') || word.is_empty() {
                continue;
            }
            out.push(WordTiming {
                word: word.to_string(),
                start: check_time(F, "word", i, b)?,
                end: b + d.max(0.0),
            });
        }
        return Ok(out);
    }
    if let Some(segs) = v.get("segments").and_then(Value::as_array) {
        let mut out = Vec::new();
        for s in segs {
            if s.get("words").is_some() {
                out.extend(words_from_value(s)?);
            }
        }
        return Ok(out);
    }
    let arr = v
        .as_array()
        .or_else(|| v.get("words").and_then(Value::as_array))
        .ok_or_else(|| malformed(F, "expected an array of words or {\"words\": [...]}"))?;
    let ms_keys = arr.first().is_some_and(|w| w.get("start_ms").is_some());
    let all_int = arr.iter().all(|w| {
        START_KEYS
            .iter()
            .chain(END_KEYS.iter())
            .filter_map(|k| w.get(*k))
            .all(|x| x.is_i64() || x.is_u64())
    });
    let big = arr
        .iter()
        .any(|w| get_num(w, &END_KEYS).is_some_and(|e| e > 100.0));
    let scale = if ms_keys || (all_int && big) {
        1e-3
    } else {
        1.0
    };
    let mut out = Vec::with_capacity(arr.len());
    for (i, w) in arr.iter().enumerate() {
        let word = get_str(w, &WORD_KEYS).ok_or_else(|| {
            malformed(F, format!("word {i} has no \"word\"/\"text\" string: {w}"))
        })?;
        let s = get_num(w, &START_KEYS)
            .or_else(|| get_num(w, &["start_ms"]))
            .ok_or_else(|| malformed(F, format!("word {i} ({word:?}) has no start time")))?
            * scale;
        let e = match get_num(w, &END_KEYS).or_else(|| get_num(w, &["end_ms"])) {
            Some(e) => e * scale,
            None => {
                s + get_num(w, &["d", "duration", "dur"]).ok_or_else(|| {
                    malformed(
                        F,
                        format!("word {i} ({word:?}) has no end time or duration"),
                    )
                })? * scale
            }
        };
        let s = check_time(F, "word", i, s)?;
        if e.is_nan() || e < s {
            return Err(malformed(
                F,
                format!("word {i} ({word:?}) ends at {e} before it starts at {s}"),
            ));
        }
        let word = word.split('(').next().unwrap_or(word);
        if word.starts_with('<') && word.ends_with('>') {
            continue;
        }
        out.push(WordTiming {
            word: word.to_string(),
            start: s,
            end: e,
        });
    }
    Ok(out)
}

/// Phone timings: the corpus shape `[{"start": s, "end": s, "phone": "AA"}]` (also `"p"`,
/// `"phoneme"`; `{"phones": [...]}`), and pocketsphinx phone alignments (root -> words -> phones
/// nodes with `b`, `d`, `t`).
pub fn phones_json(json: &str) -> Result<Vec<TimedPhone>, TextError> {
    const F: &str = "phone timings";
    let v = parse_json(F, json)?;
    if v.get("b").is_some() && v.get("w").is_some() {
        let mut out = Vec::new();
        for w in v["w"].as_array().into_iter().flatten() {
            for n in w.get("w").and_then(Value::as_array).into_iter().flatten() {
                let t = get_str(n, &["t"])
                    .ok_or_else(|| malformed(F, format!("phone node has no \"t\": {n}")))?;
                let b = get_num(n, &["b"])
                    .ok_or_else(|| malformed(F, format!("phone node has no \"b\": {n}")))?;
                let d = get_num(n, &["d"])
                    .ok_or_else(|| malformed(F, format!("phone node has no \"d\": {n}")))?;
                let p = Phone::from_name(t)
                    .ok_or_else(|| malformed(F, format!("unknown phone {t:?}")))?;
                out.push(TimedPhone::new(p, b, b + d));
            }
        }
        if out.is_empty() {
            return Err(malformed(
                F,
                "pocketsphinx alignment has no phone nodes (is this a words file?)",
            ));
        }
        return Ok(out);
    }
    let arr = v
        .as_array()
        .or_else(|| v.get("phones").and_then(Value::as_array))
        .ok_or_else(|| malformed(F, "expected an array of {start, end, phone}"))?;
    let mut out = Vec::with_capacity(arr.len());
    for (i, x) in arr.iter().enumerate() {
        let name = get_str(x, &["phone", "p", "phoneme", "label"])
            .ok_or_else(|| malformed(F, format!("entry {i} has no \"phone\": {x}")))?;
        let p = Phone::from_name(name)
            .ok_or_else(|| malformed(F, format!("entry {i}: unknown phone {name:?}")))?;
        let s = get_num(x, &START_KEYS)
            .ok_or_else(|| malformed(F, format!("entry {i} has no start")))?;
        let e = match get_num(x, &END_KEYS) {
            Some(e) => e,
            None => {
                s + get_num(x, &["d", "duration"])
                    .ok_or_else(|| malformed(F, format!("entry {i} has no end or duration")))?
            }
        };
        let s = check_time(F, "entry", i, s)?;
        if e.is_nan() || e < s {
            return Err(malformed(
                F,
                format!("entry {i} ({name}) ends at {e} before it starts at {s}"),
            ));
        }
        out.push(TimedPhone::new(p, s, e));
    }
    Ok(out)
}

fn shape(format: &'static str, s: &str) -> Result<char, TextError> {
    let s = s.trim();
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c @ ('A'..='H' | 'X')), None) => Ok(c),
        _ => Err(malformed(
            format,
            format!("unknown mouth shape {s:?} (expected A-H or X)"),
        )),
    }
}

/// Rhubarb Lip Sync output in any of its formats: JSON (`{"mouthCues": [...]}`), TSV (`time\tshape`
/// per line, each cue ending at the next line's time) or XML (`<mouthCue start=".." end="..">X</mouthCue>`).
pub fn rhubarb(text: &str) -> Result<Vec<(f64, f64, char)>, TextError> {
    let t = text.trim_start();
    if t.starts_with('{') {
        const F: &str = "Rhubarb JSON";
        let v = parse_json(F, t)?;
        let cues = v
            .get("mouthCues")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed(F, "missing array \"mouthCues\""))?;
        let mut out = Vec::with_capacity(cues.len());
        for (i, c) in cues.iter().enumerate() {
            let s = get_num(c, &["start"])
                .ok_or_else(|| malformed(F, format!("cue {i} has no start: {c}")))?;
            let e = get_num(c, &["end"])
                .ok_or_else(|| malformed(F, format!("cue {i} has no end: {c}")))?;
            let v = get_str(c, &["value"])
                .ok_or_else(|| malformed(F, format!("cue {i} has no value: {c}")))?;
            if e.is_nan() || e < s || s < 0.0 {
                return Err(malformed(F, format!("cue {i} has bad times {s}..{e}")));
            }
            out.push((s, e, shape(F, v)?));
        }
        return Ok(out);
    }
    if t.starts_with('<') {
        const F: &str = "Rhubarb XML";
        let mut out = Vec::new();
        let mut rest = t;
        while let Some(p) = rest.find("<mouthCue") {
            rest = &rest[p + 9..];
            if !rest.starts_with(|c: char| c.is_whitespace()) {
                continue; // <mouthCues>
            }
            let close = rest
                .find('>')
                .ok_or_else(|| malformed(F, "unterminated <mouthCue"))?;
            let attrs = &rest[..close];
            let attr = |name: &str| -> Result<f64, TextError> {
                let k = attrs
                    .find(&format!("{name}="))
                    .ok_or_else(|| malformed(F, format!("<mouthCue> without {name}: {attrs}")))?;
                let v = &attrs[k + name.len() + 1..];
                let q = v
                    .chars()
                    .next()
                    .ok_or_else(|| malformed(F, format!("{name}= without a value")))?;
                let v = &v[q.len_utf8()..];
                let end = v
                    .find(q)
                    .ok_or_else(|| malformed(F, format!("unterminated {name} attribute")))?;
                v[..end]
                    .trim()
                    .parse()
                    .map_err(|_| malformed(F, format!("{name}={:?} is not a number", &v[..end])))
            };
            let (s, e) = (attr("start")?, attr("end")?);
            rest = &rest[close + 1..];
            let endtag = rest
                .find("</mouthCue>")
                .ok_or_else(|| malformed(F, "missing </mouthCue>"))?;
            out.push((s, e, shape(F, &rest[..endtag])?));
            rest = &rest[endtag..];
        }
        if out.is_empty() {
            return Err(malformed(F, "no <mouthCue> elements"));
        }
        return Ok(out);
    }
    const F: &str = "Rhubarb TSV";
    let mut pts = Vec::new();
    for (ln, line) in t.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (a, b) = line.split_once(['\t', ' ']).ok_or_else(|| {
            malformed(
                F,
                format!("line {}: expected \"time<TAB>shape\", got {line:?}", ln + 1),
            )
        })?;
        let time: f64 = a
            .trim()
            .parse()
            .map_err(|_| malformed(F, format!("line {}: time {a:?} is not a number", ln + 1)))?;
        pts.push((time, shape(F, b)?));
    }
    if pts.is_empty() {
        return Err(malformed(F, "empty cue list"));
    }
    let mut out = Vec::with_capacity(pts.len());
    for k in 0..pts.len() {
        let end = pts.get(k + 1).map_or(pts[k].0, |n| n.0);
        if end > pts[k].0 || k + 1 == pts.len() {
            out.push((pts[k].0, end, pts[k].1));
        }
    }
    Ok(out)
}

/// Rhubarb's `--dialog` file is plain text: its words (for text-assisted alignment).
pub fn rhubarb_dialog(text: &str) -> Vec<crate::g2p::Word> {
    g2p(text)
}

/// A phone representing each Rhubarb shape (`phones_to_rhubarb` maps it back to the same shape).
pub fn shape_phone(shape: char) -> Option<Phone> {
    use Phone::*;
    Some(match shape {
        'A' => M,
        'B' => T,
        'C' => EH,
        'D' => AA,
        'E' => AO,
        'F' => UW,
        'G' => F,
        'H' => L,
        'X' => Sil,
        _ => return None,
    })
}

/// Sniff the format and import: Rhubarb (JSON/TSV/XML), Polly JSON lines, ElevenLabs, Google
/// timepoints, Azure events, phone JSON (corpus / pocketsphinx phones) or generic word JSON.
pub fn auto(text: &str) -> Result<Imported, TextError> {
    let t = text.trim_start();
    if t.starts_with('<')
        || t.lines().next().is_some_and(|l| {
            l.split_once(['\t', ' '])
                .is_some_and(|(a, _)| a.trim().parse::<f64>().is_ok())
        })
    {
        return rhubarb(t).map(Imported::Cues);
    }
    let first_line = t.lines().next().unwrap_or("");
    if first_line.trim_start().starts_with('{')
        && t.lines().filter(|l| !l.trim().is_empty()).count() > 1
        && serde_json::from_str::<Value>(first_line).is_ok()
    {
        return polly(t);
    }
    let v: Value = serde_json::from_str(t)
        .map_err(|e| TextError::UnknownFormat(format!("not JSON, Rhubarb TSV or XML ({e})")))?;
    if v.get("mouthCues").is_some() {
        return rhubarb(t).map(Imported::Cues);
    }
    if v.get("alignment").is_some()
        || v.get("normalized_alignment").is_some()
        || v.get("characters").is_some()
    {
        return elevenlabs(t).map(Imported::Words);
    }
    if v.get("timepoints").is_some() {
        return google(t).map(Imported::Words);
    }
    if v.get("b").is_some() && v.get("w").is_some() {
        let phones = v["w"]
            .as_array()
            .is_some_and(|ws| ws.iter().any(|w| w.get("w").is_some()));
        return if phones {
            phones_json(t).map(Imported::Phones)
        } else {
            words_json(t).map(Imported::Words)
        };
    }
    let arr = v.as_array().or_else(|| {
        ["events", "words", "phones", "visemes"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_array))
    });
    if let Some(first) = arr.and_then(|a| a.first()) {
        if [
            "audio_offset",
            "AudioOffset",
            "audioOffset",
            "offset",
            "Offset",
            "viseme_id",
            "VisemeId",
        ]
        .iter()
        .any(|k| first.get(*k).is_some())
        {
            return azure(t);
        }
        if first.get("type").is_some() && first.get("time").is_some() {
            return polly(t);
        }
        if ["phone", "phoneme"].iter().any(|k| first.get(*k).is_some()) {
            return phones_json(t).map(Imported::Phones);
        }
        return words_json(t).map(Imported::Words);
    }
    if v.get("segments").is_some() {
        return words_json(t).map(Imported::Words);
    }
    Err(TextError::UnknownFormat(format!(
        "JSON with keys {:?}",
        v.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    )))
}

/// Import any supported timing file and return phones covering `0..duration_s` (when given; pauses
/// as `SIL`). Word timings are expanded with [`words_to_phones`]; Rhubarb cues become one
/// representative phone per cue ([`shape_phone`]).
pub fn to_phones(text: &str, duration_s: Option<f64>) -> Result<Vec<TimedPhone>, TextError> {
    Ok(match auto(text)? {
        Imported::Words(w) => words_to_phones(&w, duration_s),
        Imported::Phones(p) => fill_gaps(p, duration_s),
        Imported::Cues(c) => fill_gaps(
            c.into_iter()
                .filter_map(|(s, e, ch)| shape_phone(ch).map(|p| TimedPhone::new(p, s, e)))
                .filter(|p| p.end > p.start)
                .collect(),
            duration_s,
        ),
    })
}

fn fill_gaps(mut phones: Vec<TimedPhone>, duration_s: Option<f64>) -> Vec<TimedPhone> {
    phones.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out = Vec::with_capacity(phones.len() + 4);
    let mut t = 0.0;
    for p in phones {
        let s = p.start.max(t);
        if s > t + 1e-6 {
            out.push(TimedPhone::new(Phone::Sil, t, s));
        }
        if p.end > s {
            out.push(TimedPhone::new(p.phone, s, p.end));
            t = p.end;
        }
    }
    if let Some(d) = duration_s {
        if d > t + 1e-6 {
            out.push(TimedPhone::new(Phone::Sil, t, d));
        }
    }
    out
}

/// Spread each word's G2P phones over its time span, proportionally to
/// [`Phone::typical_duration`]; gaps between words (and before the first word / after the last,
/// up to `duration_s`) become `SIL`. Overlapping words are clipped to start at the previous end.
pub fn words_to_phones(words: &[WordTiming], duration_s: Option<f64>) -> Vec<TimedPhone> {
    let mut ws: Vec<&WordTiming> = words.iter().collect();
    ws.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out = Vec::new();
    let mut t = 0.0f64;
    for (k, w) in ws.iter().enumerate() {
        let start = w.start.max(t);
        let next = ws.get(k + 1).map_or(f64::INFINITY, |n| n.start);
        let mut end = w.end;
        if end <= start {
            end = (start + 0.05).min(next.max(start + 0.01));
        }
        let mut phones = Vec::new();
        let mut weights = Vec::new();
        for sw in g2p(&w.word) {
            for (p, s) in sw.phones.iter().zip(&sw.stress) {
                phones.push(*p);
                weights.push(p.typical_duration(*s > 0));
            }
        }
        if phones.is_empty() {
            continue;
        }
        if start > t + 1e-6 {
            out.push(TimedPhone::new(Phone::Sil, t, start));
        }
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let span = end - start;
        for (p, wgt) in phones.iter().zip(&weights) {
            let s = start + span * acc / total;
            acc += wgt;
            let e = start + span * acc / total;
            out.push(TimedPhone::new(*p, s, e));
        }
        t = end;
    }
    if let Some(d) = duration_s {
        if d > t + 1e-6 {
            out.push(TimedPhone::new(Phone::Sil, t, d));
        }
    }
    out
}
