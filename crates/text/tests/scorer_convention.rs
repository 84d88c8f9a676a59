//! The phone -> Rhubarb shape and openness tables must equal the corpus scorer's, and the corpus
//! phone timings pushed through `phones_to_rhubarb` must reproduce the scorer's ground truth.
use facecast_text::{import, phones_to_rhubarb, Phone};
use std::collections::HashMap;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// Parse PHONE2SHAPE / PHONE_OPEN out of the python scorer source.
fn scorer_table(name: &str) -> Option<HashMap<String, String>> {
    let src = std::fs::read_to_string(format!("{SHARED}/lipsync_eval.py")).ok()?;
    let start = src.find(&format!("{name} = {{"))? + name.len() + 4;
    let body = &src[start..start + src[start..].find('}')?];
    let mut m = HashMap::new();
    for item in body.split(',') {
        let Some((k, v)) = item.split_once(':') else {
            continue;
        };
        m.insert(
            k.trim().trim_matches('"').to_string(),
            v.trim().trim_matches('"').to_string(),
        );
    }
    // the "for p in "...".split(): NAME[p] = X" line
    let pat = format!("{name}[p] = ");
    let line_end = src.find(&pat)?;
    let line_start = src[..line_end].rfind("for p in \"")? + 10;
    let list = &src[line_start..line_start + src[line_start..].find('"')?];
    let val = src[line_end + pat.len()..]
        .lines()
        .next()?
        .trim()
        .trim_matches('"')
        .to_string();
    for p in list.split_whitespace() {
        m.insert(p.to_string(), val.clone());
    }
    Some(m)
}

#[test]
fn tables_match_scorer() {
    let Some(shapes) = scorer_table("PHONE2SHAPE") else {
        eprintln!("scorer not found, skipping");
        return;
    };
    let open = scorer_table("PHONE_OPEN").unwrap();
    for p in Phone::ALL {
        assert_eq!(shapes[p.name()], p.rhubarb().to_string(), "shape of {p}");
        let o: f32 = open[p.name()].parse().unwrap();
        assert!(
            (o - p.openness()).abs() < 1e-6,
            "openness of {p}: {o} vs {}",
            p.openness()
        );
    }
}

#[test]
fn corpus_phones_to_rhubarb_is_exact() {
    let Some(shapes) = scorer_table("PHONE2SHAPE") else {
        return;
    };
    let mut files = 0;
    let (mut frames, mut same) = (0usize, 0usize);
    for voice in std::fs::read_dir(format!("{SHARED}/corpus"))
        .unwrap()
        .flatten()
        .filter(|d| d.path().is_dir())
    {
        for f in std::fs::read_dir(voice.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
        {
            let text = std::fs::read_to_string(&f).unwrap();
            let phones = import::phones_json(&text).unwrap();
            let cues = phones_to_rhubarb(&phones);
            files += 1;
            let dur = phones.last().unwrap().end;
            for i in 0..(dur * 100.0) as usize {
                let t = (i as f64 + 0.5) / 100.0;
                // ground truth, the scorer's way
                let k = phones
                    .iter()
                    .position(|p| p.start <= t && t < p.end)
                    .unwrap();
                let mut p = phones[k].phone;
                if p == Phone::HH && phones.get(k + 1).is_some_and(|n| n.phone.is_vowel()) {
                    p = phones[k + 1].phone;
                }
                let gt = &shapes[p.name()];
                let pred = cues
                    .iter()
                    .find(|c| c.0 <= t && t < c.1)
                    .map_or('X', |c| c.2);
                frames += 1;
                same += usize::from(gt.starts_with(pred));
            }
        }
    }
    assert_eq!(files, 56);
    assert_eq!(same, frames, "exact = {}", same as f64 / frames as f64);
}
