//! Aligner speed on long synthetic input (prints x real time).
//! `cargo run --release -p facecast-text --example bench_align -- [minutes]`
use facecast_text::{
    align, align_energy, g2p, AlignConfig, ClassMap, EnergyFrame, Phone, PhoneSeq, Posteriors,
};
use std::time::Instant;

fn main() {
    let minutes: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5.0);
    let text = "Please pass the butter, but be careful. It is very hot! Who knew the blue moon would move so soon? ";
    let mut seed = 1u64;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as f32) / (1u64 << 31) as f32
    };
    let mut words = Vec::new();
    let mut frames = 0usize;
    // Build a phone truth with ~8 frames per phone and pauses at punctuation until long enough.
    let mut truth: Vec<(Phone, usize)> = Vec::new();
    while (frames as f64) < minutes * 6000.0 {
        for w in g2p(text) {
            for &p in &w.phones {
                let d = 4 + (rnd() * 9.0) as usize;
                truth.push((p, d));
                frames += d;
            }
            if w.break_after != facecast_text::Break::None {
                truth.push((Phone::Sil, 30));
                frames += 30;
            }
            words.push(w);
        }
    }
    let seq = PhoneSeq::from_words(&words);
    let map = ClassMap::visemes();
    let k = map.classes;
    let mut post = vec![0f32; frames * k];
    let mut feats = Vec::with_capacity(frames);
    let mut t = 0;
    for (i, &(p, d)) in truth.iter().enumerate() {
        let c = map.class(p, truth.get(i + 1).map(|x| x.0));
        for _ in 0..d {
            for j in 0..k {
                post[t * k + j] = 0.4 * rnd() / k as f32;
            }
            post[t * k + c] += 0.6;
            let db = if p == Phone::Sil {
                -60.0
            } else if p.is_vowel() {
                -5.0
            } else {
                -15.0
            } + 4.0 * rnd();
            feats.push(EnergyFrame {
                db,
                tilt: if p.is_vowel() { -16.0 } else { -5.0 },
                frame_rate: 100.0,
            });
            t += 1;
        }
    }
    let audio_s = frames as f64 / 100.0;
    println!("{} phones, {:.0} s of frames", seq.phones.len(), audio_s);
    let cfg = AlignConfig::default();
    let t0 = Instant::now();
    let r = align(
        &seq,
        &Posteriors {
            data: &post,
            classes: k,
            frame_rate: 100.0,
            log: false,
        },
        &map,
        &cfg,
    )
    .unwrap();
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "align (15-class posteriors): {:.3} s -> {:.0}x real time ({} segments)",
        dt,
        audio_s / dt,
        r.len()
    );
    let t0 = Instant::now();
    let r = align_energy(&seq, &feats, &cfg).unwrap();
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "align_energy:                {:.3} s -> {:.0}x real time ({} segments)",
        dt,
        audio_s / dt,
        r.len()
    );
}
