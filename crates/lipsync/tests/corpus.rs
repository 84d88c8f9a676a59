//! Accuracy regression on the shared phone-timed corpus (`../shared/corpus`): streaming
//! audio-only lip sync must keep beating the anchors (Rhubarb 0.564 exact, cherry-lip-sync 0.915
//! bilabial), measured the way `lipsync_eval.py` measures (100 Hz grid, frame centres).
//! The floors are asserted; the measured figures are printed.

use facecast_core::AudioChunk;
use facecast_lipsync::{rhubarb, Analyzer};
use std::path::Path;

fn shape_at(cues: &[(f64, f64, char)], t: f64) -> char {
    cues.iter()
        .find(|c| c.0 <= t && t < c.1)
        .map(|c| c.2)
        .unwrap_or('X')
}

#[test]
fn corpus_accuracy_streaming_audio_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let manifest = std::fs::read_to_string(root.join("manifest.tsv")).expect("shared corpus");
    let (mut n, mut exact, mut group) = (0usize, 0usize, 0usize);
    let (mut bilabial_events, mut bilabial_hit) = (0usize, 0usize);
    let grp = |c: char| match c {
        'A' | 'X' => 0,
        'B' | 'F' | 'G' => 1,
        'C' | 'E' | 'H' => 2,
        _ => 3,
    };
    for line in manifest.lines().skip(1) {
        let id = line.split('\t').next().unwrap();
        let audio = facecast_audio::decode_file(&root.join(format!("{id}.wav"))).unwrap();
        let phones = facecast_text::import::phones_json(
            &std::fs::read_to_string(root.join(format!("{id}.json"))).unwrap(),
        )
        .unwrap();
        let truth = facecast_text::phones_to_rhubarb(&phones);
        // Stream in uneven chunks, as a TTS would deliver it.
        let mut a = Analyzer::new();
        let mut frames = Vec::new();
        let mut pos = 0;
        let mut k = 0;
        while pos < audio.samples.len() {
            let len = [160, 997, 3000, 41, 1600][k % 5].min(audio.samples.len() - pos);
            a.push(&AudioChunk::mono(
                audio.rate,
                audio.samples[pos..pos + len].to_vec(),
            ));
            while let Some(f) = a.pull() {
                frames.push(f);
            }
            pos += len;
            k += 1;
        }
        a.flush();
        while let Some(f) = a.pull() {
            frames.push(f);
        }
        let cues: Vec<(f64, f64, char)> = rhubarb::to_cues(&frames)
            .iter()
            .map(|c| (c.start, c.end, c.value.letter().chars().next().unwrap()))
            .collect();
        let dur = phones.last().unwrap().end;
        for i in 0..(dur * 100.0) as usize {
            let t = (i as f64 + 0.5) / 100.0;
            let (p, g) = (shape_at(&cues, t), shape_at(&truth, t));
            n += 1;
            exact += (p == g) as usize;
            group += (grp(p) == grp(g)) as usize;
        }
        for tp in &phones {
            if matches!(tp.phone.name(), "P" | "B" | "M") {
                bilabial_events += 1;
                // As the scorer: closed on a frame centred inside the phone, else at its middle.
                let is_closed = |t: f64| matches!(shape_at(&cues, t), 'A' | 'X');
                let first = (tp.start * 100.0 - 0.5).ceil().max(0.0) as usize;
                let centres = (first..)
                    .map(|i| (i as f64 + 0.5) / 100.0)
                    .take_while(|&t| t < tp.end);
                let mut any = false;
                let mut inside = 0;
                for t in centres {
                    inside += 1;
                    any |= is_closed(t);
                }
                let mid = (((tp.start + tp.end) / 2.0 * 100.0).floor() + 0.5) / 100.0;
                let closed = if inside > 0 { any } else { is_closed(mid) };
                bilabial_hit += closed as usize;
            }
        }
    }
    let exact = exact as f64 / n as f64;
    let group = group as f64 / n as f64;
    let bilabial = bilabial_hit as f64 / bilabial_events as f64;
    eprintln!(
        "corpus ({n} frames): exact {exact:.3}, group {group:.3}, bilabial events {bilabial:.3}"
    );
    assert!(exact >= 0.65, "exact {exact:.3} < 0.65");
    assert!(group >= 0.72, "group {group:.3} < 0.72");
    assert!(bilabial >= 0.92, "bilabial {bilabial:.3} < 0.92");
}
