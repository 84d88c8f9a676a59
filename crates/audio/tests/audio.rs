use facecast_audio::{decode_bytes, resample, wav::encode_wav_i16, AudioError, Resampler};
use facecast_core::AudioChunk;

fn wav_bytes(
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    data: &[u8],
    extensible: bool,
    extra_chunk: bool,
) -> Vec<u8> {
    let mut fmt = Vec::new();
    let block = channels * bits.div_ceil(8);
    fmt.extend_from_slice(&(if extensible { 0xFFFEu16 } else { tag }).to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * block as u32).to_le_bytes());
    fmt.extend_from_slice(&block.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    if extensible {
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt.extend_from_slice(&0u32.to_le_bytes());
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
    }
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(b"WAVE");
    if extra_chunk {
        // odd-sized chunk with a pad byte before fmt
        b.extend_from_slice(b"LIST");
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&[1, 2, 3, 0]);
    }
    b.extend_from_slice(b"fmt ");
    b.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    b.extend_from_slice(&fmt);
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(data);
    let n = (b.len() - 8) as u32;
    b[4..8].copy_from_slice(&n.to_le_bytes());
    b
}

const VALUES: [f64; 5] = [0.0, 0.5, -0.5, 0.25, -1.0];

#[test]
fn decodes_every_pcm_kind() {
    let cases: Vec<(u16, u16, Vec<u8>)> = vec![
        (
            1,
            8,
            VALUES
                .iter()
                .map(|&v| ((v * 128.0) + 128.0).clamp(0.0, 255.0) as u8)
                .collect(),
        ),
        (
            1,
            16,
            VALUES
                .iter()
                .flat_map(|&v| ((v * 32768.0) as i16).to_le_bytes())
                .collect(),
        ),
        (
            1,
            24,
            VALUES
                .iter()
                .flat_map(|&v| {
                    let x = (v * 8388608.0) as i32;
                    let b = x.to_le_bytes();
                    [b[0], b[1], b[2]]
                })
                .collect(),
        ),
        (
            1,
            32,
            VALUES
                .iter()
                .flat_map(|&v| ((v * 2147483648.0).max(-2147483648.0) as i32).to_le_bytes())
                .collect(),
        ),
        (
            3,
            32,
            VALUES
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect(),
        ),
        (
            3,
            64,
            VALUES.iter().flat_map(|&v| v.to_le_bytes()).collect(),
        ),
    ];
    for (tag, bits, data) in cases {
        for (ext, extra) in [(false, false), (true, false), (false, true)] {
            let b = wav_bytes(tag, 1, 22050, bits, &data, ext, extra);
            let a = decode_bytes(&b, None).unwrap_or_else(|e| panic!("tag {tag} bits {bits}: {e}"));
            assert_eq!(a.rate, 22050);
            assert_eq!(a.channels, 1);
            assert_eq!(a.samples.len(), VALUES.len(), "tag {tag} bits {bits}");
            for (x, v) in a.samples.iter().zip(VALUES) {
                assert!(
                    (*x as f64 - v).abs() < 0.01,
                    "tag {tag} bits {bits}: {x} vs {v}"
                );
            }
        }
    }
}

#[test]
fn stereo_round_trip_and_mono_mix() {
    let c = AudioChunk {
        rate: 48000,
        channels: 2,
        samples: vec![0.5, -0.5, 0.25, 0.25],
    };
    let a = decode_bytes(&encode_wav_i16(&c), Some("wav")).unwrap();
    assert_eq!(a.channels, 2);
    let m = facecast_audio::to_mono(&a);
    assert_eq!(m.len(), 2);
    assert!(m[0].abs() < 1e-3 && (m[1] - 0.25).abs() < 1e-3);
}

#[test]
fn clear_errors() {
    assert!(matches!(decode_bytes(&[], None), Err(AudioError::Empty)));
    let e = decode_bytes(b"hello world, this is text", None).unwrap_err();
    assert!(matches!(e, AudioError::NotAudio(_)), "{e}");
    assert!(e.to_string().contains("not an audio file"));
    let full = wav_bytes(1, 1, 16000, 16, &[0u8; 200], false, false);
    let e = decode_bytes(&full[..100], None).unwrap_err();
    assert!(matches!(e, AudioError::Truncated { .. }), "{e}");
    let e = decode_bytes(&full[..20], None).unwrap_err();
    assert!(matches!(e, AudioError::Truncated { .. }), "{e}");
    // Streamed to a pipe (espeak-ng, sox): placeholder sizes mean "up to the end".
    for placeholder in [0xFFFF_FFFFu32, 0x7FFF_F000] {
        let mut streamed = full.clone();
        let at = streamed.len() - 200 - 4;
        streamed[at..at + 4].copy_from_slice(&placeholder.to_le_bytes());
        let c = decode_bytes(&streamed, None).unwrap();
        assert_eq!(c.frames(), 100, "placeholder {placeholder:#x}");
    }
    let e = decode_bytes(&wav_bytes(7, 1, 8000, 8, &[0u8; 10], false, false), None).unwrap_err();
    assert!(
        matches!(e, AudioError::Unsupported(_)) && e.to_string().contains("mu-law"),
        "{e}"
    );
    let e = decode_bytes(&wav_bytes(1, 0, 8000, 16, &[0u8; 10], false, false), None).unwrap_err();
    assert!(matches!(e, AudioError::BadParams { .. }), "{e}");
    let mut ogg = b"OggS".to_vec();
    ogg.extend_from_slice(&[0u8; 24]);
    ogg.extend_from_slice(b"OpusHead");
    let e = decode_bytes(&ogg, None).unwrap_err();
    assert!(e.to_string().contains("Opus"), "{e}");
    for e in [AudioError::Empty, AudioError::Unsupported("x".into())] {
        assert!(!e.to_string().contains('\n'));
    }
}

fn sine(rate: u32, f: f32, secs: f32) -> Vec<f32> {
    (0..(rate as f32 * secs) as usize)
        .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / rate as f32).sin() * 0.5)
        .collect()
}

#[test]
fn resampler_preserves_a_tone_for_common_rates() {
    for &rate in &[8000u32, 16000, 22050, 24000, 44100, 48000] {
        let x = sine(rate, 1000.0, 0.5);
        let y = resample(&x, rate, 16000).unwrap();
        let expect = (x.len() as u64 * 16000).div_ceil(rate as u64) as usize;
        assert_eq!(y.len(), expect, "rate {rate}");
        let r = sine(16000, 1000.0, 0.5);
        // compare away from the edges
        let err: f32 = (400..7600).map(|i| (y[i] - r[i]).abs()).fold(0.0, f32::max);
        assert!(err < 0.01, "rate {rate}: max error {err}");
    }
}

#[test]
fn resampler_rejects_above_nyquist_tone() {
    let x = sine(48000, 12000.0, 0.5);
    let y = resample(&x, 48000, 16000).unwrap();
    let rms = (y[500..7500].iter().map(|v| v * v).sum::<f32>() / 7000.0).sqrt();
    assert!(rms < 0.01, "aliased energy {rms}");
}

#[test]
fn resampler_is_chunking_invariant() {
    let x = sine(44100, 440.0, 0.3);
    let whole = resample(&x, 44100, 16000).unwrap();
    let mut r = Resampler::new(44100, 16000).unwrap();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut n = 1;
    while pos < x.len() {
        let end = (pos + n).min(x.len());
        r.process(&x[pos..end], &mut out);
        pos = end;
        n = (n * 7 + 3) % 997 + 1;
    }
    r.flush(&mut out);
    assert_eq!(out, whole);
    assert!(Resampler::new(0, 16000).is_err());
}

#[test]
fn features_basics() {
    use facecast_audio::features::{mfcc, rms, zcr, MelBank, Spectrum};
    assert!((rms(&[0.5, -0.5]) - 0.5).abs() < 1e-6);
    assert!(zcr(&[1.0, -1.0, 1.0]) > 0.99);
    let mut s = Spectrum::new(400, 512);
    let x = sine(16000, 1000.0, 0.025);
    let mut p = vec![0.0; s.bins()];
    s.power(&x, &mut p);
    let peak = p
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(peak, 32); // 1000 Hz * 512 / 16000
    let mel = MelBank::new(26, 512, 16000, 0.0, 8000.0);
    let mut m = vec![0.0; 26];
    mel.apply_log(&p, 1e-10, &mut m);
    let mut c = vec![0.0; 13];
    mfcc(&m, &mut c);
    assert!(c.iter().all(|v| v.is_finite()));
}
