use super::*;
use facecast_core::model::{Mesh, MorphChannel, MorphTarget, Node, Primitive};

/// A tiny avatar: one quad whose lower edge a `jawOpen` morph pulls down.
fn test_avatar() -> Arc<Avatar> {
    let prim = Primitive {
        positions: vec![
            [-0.1, -0.1, 0.0],
            [0.1, -0.1, 0.0],
            [0.1, 0.1, 0.0],
            [-0.1, 0.1, 0.0],
        ],
        normals: vec![[0.0, 0.0, 1.0]; 4],
        indices: vec![0, 1, 2, 0, 2, 3],
        targets: vec![MorphTarget {
            indices: vec![0, 1],
            positions: vec![[0.0, -0.05, 0.0]; 2],
            normals: vec![],
        }],
        ..Default::default()
    };
    let mesh = Mesh {
        name: "face".into(),
        primitives: vec![prim],
        target_names: vec!["jawOpen".into()],
        default_weights: vec![0.0],
    };
    let mut av = Avatar {
        name: "test".into(),
        nodes: vec![Node {
            name: "head".into(),
            mesh: Some(0),
            ..Default::default()
        }],
        roots: vec![0],
        meshes: vec![mesh],
        channels: vec![MorphChannel {
            name: "jawOpen".into(),
            targets: vec![(0, 0)],
        }],
        ..Default::default()
    };
    av.rig.arkit[ArkitShape::JawOpen.index()] = vec![(0, 1.0)];
    Arc::new(av)
}

fn config() -> SessionConfig {
    let mut c = SessionConfig::new(test_avatar());
    c.width = 32;
    c.height = 32;
    c
}

fn session() -> Session {
    Session::new(config()).expect("session")
}

/// A loud voiced sound: 140 Hz with harmonics (mono).
fn voiced(rate: u32, secs: f64) -> AudioChunk {
    let n = (rate as f64 * secs).round() as usize;
    let samples = (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            let mut v = 0.0;
            for h in 1..8 {
                v += (std::f64::consts::TAU * 140.0 * h as f64 * t).sin() / h as f64;
            }
            (0.3 * v) as f32
        })
        .collect();
    AudioChunk::mono(rate, samples)
}

fn silence(rate: u32, secs: f64) -> AudioChunk {
    AudioChunk::mono(rate, vec![0.0; (rate as f64 * secs).round() as usize])
}

fn concat(parts: &[AudioChunk]) -> AudioChunk {
    let mut out = AudioChunk::mono(parts[0].rate, Vec::new());
    for p in parts {
        out.samples.extend_from_slice(&p.samples);
    }
    out
}

#[derive(Default)]
struct Collected {
    video: Vec<MediaTime>,
    /// (pts, jawOpen of the rendered face)
    jaw: Vec<(f64, f32)>,
    audio_pts: Vec<MediaTime>,
    pcm: Vec<i16>,
    events: Vec<Event>,
}

/// Advance the clock to `until` in `step` increments, draining all output.
fn drive(s: &mut Session, until: MediaTime, step: MediaTime, c: &mut Collected) {
    let mut t = s.now();
    loop {
        s.handle_timeout(t);
        while let Some(o) = s.poll_output() {
            match o {
                Output::Video { pts, frame } => {
                    assert!(
                        pts <= s.now(),
                        "video {pts} emitted before due ({})",
                        s.now()
                    );
                    c.video.push(pts);
                    c.jaw
                        .push((pts.as_secs_f64(), s.last_face().0.get(ArkitShape::JawOpen)));
                    s.recycle(frame);
                }
                Output::Audio { pts, pcm } => {
                    assert!(pts <= s.now());
                    assert_eq!(pcm.len(), AUDIO_FRAME);
                    c.audio_pts.push(pts);
                    c.pcm.extend_from_slice(&pcm);
                    s.recycle_pcm(pcm);
                }
                Output::Event(e) => c.events.push(e),
            }
        }
        assert!(s.poll_timeout() > s.now(), "everything due was drained");
        if t >= until {
            break;
        }
        t = (t + step).min(until);
    }
}

fn ms(v: u64) -> MediaTime {
    MediaTime::from_millis(v)
}

#[test]
fn idle_frames_keep_coming() {
    let mut s = session();
    let mut c = Collected::default();
    drive(&mut s, ms(10_000), ms(7), &mut c);
    assert_eq!(c.video.len(), 251, "frames 0..=250 at 25 fps");
    for (k, pts) in c.video.iter().enumerate() {
        assert_eq!(*pts, MediaTime::of_frame(k as u64, 25));
    }
    assert_eq!(c.audio_pts.len(), 501, "20 ms frames 0..=500");
    assert!(c.pcm.iter().all(|&x| x == 0), "silence");
    assert!(c.events.is_empty());
    assert!(c.jaw.iter().all(|&(_, j)| j < 0.01), "mouth at rest");
}

#[test]
fn burst_plays_out_in_real_time_sample_exact() {
    let mut s = session();
    let clip = voiced(OUTPUT_RATE, 10.0);
    let id = s.speak(&clip).unwrap();
    assert_eq!(s.queued_ms(), 10_000 + s.lookahead().as_millis());
    let mut c = Collected::default();
    drive(&mut s, ms(12_000), ms(10), &mut c);
    let l = s.lookahead().0 as usize;
    // Audio: frames keep their exact cadence; the clip comes out sample-exact, L after arrival.
    assert_eq!(c.audio_pts.len(), 12_000 / 20 + 1);
    for (k, pts) in c.audio_pts.iter().enumerate() {
        assert_eq!(pts.0, k as u64 * AUDIO_FRAME as u64);
    }
    assert!(c.pcm[..l].iter().all(|&x| x == 0));
    let expect: Vec<i16> = clip.samples.iter().map(|&x| to_i16(x)).collect();
    assert!(
        c.pcm[l..l + expect.len()] == expect[..],
        "sample-exact playout"
    );
    assert!(c.pcm[l + expect.len()..].iter().all(|&x| x == 0));
    let lm = s.lookahead().as_millis();
    assert_eq!(
        c.events,
        vec![
            Event::SegmentStarted {
                segment: id,
                at_ms: lm
            },
            Event::SegmentFinished {
                segment: id,
                at_ms: lm + 10_000,
                played_ms: 10_000,
                interrupted: false
            },
        ]
    );
    assert_eq!(s.queued_ms(), 0);
    assert_eq!(c.video.len(), 12 * 25 + 1);
}

#[test]
fn audio_of_any_rate_and_layout_is_resampled() {
    let mut s = session();
    // 1 s of stereo 44.1 kHz.
    let mono = voiced(44_100, 1.0);
    let stereo: Vec<f32> = mono.samples.iter().flat_map(|&x| [x, x]).collect();
    let id = s
        .speak(&AudioChunk {
            rate: 44_100,
            channels: 2,
            samples: stereo,
        })
        .unwrap();
    let mut c = Collected::default();
    drive(&mut s, ms(1_500), ms(20), &mut c);
    match c.events.last() {
        Some(Event::SegmentFinished {
            segment, played_ms, ..
        }) => {
            assert_eq!(*segment, id);
            assert_eq!(*played_ms, 1000);
        }
        other => panic!("{other:?}"),
    }
    // Same loudness as the input (a 48 kHz resample of the same sound).
    let l = s.lookahead().0 as usize;
    let rms =
        |x: &[i16]| (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    let out = rms(&c.pcm[l + 4800..l + 43_200]);
    let reference: Vec<i16> = voiced(48_000, 1.0)
        .samples
        .iter()
        .map(|&x| to_i16(x))
        .collect();
    let r = rms(&reference[4800..43_200]);
    assert!((out / r - 1.0).abs() < 0.02, "rms {out} vs {r}");
}

#[test]
fn streamed_audio_plays_without_gaps() {
    let mut s = session();
    let clip = voiced(16_000, 3.0);
    let mut c = Collected::default();
    drive(&mut s, ms(500), ms(10), &mut c);
    let id = s.begin_segment();
    // 20 ms chunks arriving in real time.
    for (i, chunk) in clip.samples.chunks(320).enumerate() {
        s.push_audio(id, &AudioChunk::mono(16_000, chunk.to_vec()))
            .unwrap();
        drive(&mut s, ms(500 + 20 * (i as u64 + 1)), ms(10), &mut c);
    }
    s.end_segment(id);
    drive(&mut s, ms(4_000), ms(10), &mut c);
    // L after arrival, but not inside the 20 ms frame already sent at 500 ms.
    let start = (500 + s.lookahead().as_millis()).max(520);
    assert_eq!(
        c.events,
        vec![
            Event::SegmentStarted {
                segment: id,
                at_ms: start
            },
            Event::SegmentFinished {
                segment: id,
                at_ms: start + 3_000,
                played_ms: 3_000,
                interrupted: false
            },
        ]
    );
}

#[test]
fn video_frame_uses_the_visemes_of_its_time() {
    let mut s = session();
    // 1 s silence, 0.5 s loud, 1 s silence.
    let clip = concat(&[
        silence(48_000, 1.0),
        voiced(48_000, 0.5),
        silence(48_000, 1.0),
    ]);
    s.speak(&clip).unwrap();
    let mut c = Collected::default();
    drive(&mut s, ms(3_000), ms(10), &mut c);
    let l = s.lookahead().as_secs_f64();
    let (on, off) = (1.0 + l, 1.5 + l);
    for &(t, jaw) in &c.jaw {
        if t > on + 0.06 && t < off - 0.06 {
            assert!(jaw > 0.2, "open while loud: {jaw} at {t}");
        }
        if t < on - 0.06 || t > off + 0.1 {
            assert!(jaw < 0.02, "closed while silent: {jaw} at {t}");
        }
    }
}

#[test]
fn interrupt_mid_word() {
    let mut s = session();
    let id = s.speak(&voiced(48_000, 5.0)).unwrap();
    let mut c = Collected::default();
    drive(&mut s, ms(2_000), ms(10), &mut c);
    assert!(c.jaw.iter().any(|&(_, j)| j > 0.3), "speaking");
    s.interrupt();
    assert_eq!(s.queued_ms(), 0);
    let before = c.events.len();
    drive(&mut s, ms(3_000), ms(10), &mut c);
    let lm = s.lookahead().as_millis();
    let fin = c.events[before..].iter().find_map(|e| match e {
        Event::SegmentFinished {
            segment,
            at_ms,
            played_ms,
            interrupted,
        } => Some((*segment, *at_ms, *played_ms, *interrupted)),
        _ => None,
    });
    let (seg, at_ms, played_ms, interrupted) = fin.expect("finished event");
    assert_eq!((seg, at_ms, interrupted), (id, 2_000, true));
    let expect = 2_000 - lm;
    assert!(
        played_ms.abs_diff(expect) <= 20,
        "played {played_ms} ms, expected ~{expect}"
    );
    // Audio after the interrupt is silent (the frame already sent may carry the last samples).
    let first_silent = (2_000 / 20 + 1) * AUDIO_FRAME;
    assert!(c.pcm[first_silent..].iter().all(|&x| x == 0));
    // Mouth at rest within 150 ms.
    for &(t, jaw) in &c.jaw {
        if t >= 2.15 {
            assert!(jaw < 0.02, "jaw {jaw} at {t}");
        }
    }
    // Pushing to the interrupted segment is a clear error; the session goes on.
    let e = s.push_audio(id, &voiced(48_000, 0.1)).unwrap_err();
    assert!(e.to_string().contains("interrupted"), "{e}");
    let id2 = s.speak(&voiced(48_000, 0.5)).unwrap();
    drive(&mut s, ms(4_000), ms(10), &mut c);
    assert!(
        matches!(c.events.last(), Some(Event::SegmentFinished { segment, interrupted: false, .. }) if *segment == id2)
    );
}

#[test]
fn back_to_back_segments_have_no_gap() {
    let mut s = session();
    let a = s.speak(&voiced(48_000, 1.0)).unwrap();
    let b = s.speak(&voiced(24_000, 0.5)).unwrap();
    let mut c = Collected::default();
    drive(&mut s, ms(400), ms(10), &mut c);
    // A third one pushed while the first plays still follows without a gap.
    let d = s.begin_segment();
    s.push_audio(d, &voiced(48_000, 0.25)).unwrap();
    s.end_segment(d);
    drive(&mut s, ms(3_000), ms(10), &mut c);
    let l = s.lookahead().as_millis();
    assert_eq!(
        c.events,
        vec![
            Event::SegmentStarted {
                segment: a,
                at_ms: l
            },
            Event::SegmentFinished {
                segment: a,
                at_ms: l + 1000,
                played_ms: 1000,
                interrupted: false
            },
            Event::SegmentStarted {
                segment: b,
                at_ms: l + 1000
            },
            Event::SegmentFinished {
                segment: b,
                at_ms: l + 1500,
                played_ms: 500,
                interrupted: false
            },
            Event::SegmentStarted {
                segment: d,
                at_ms: l + 1500
            },
            Event::SegmentFinished {
                segment: d,
                at_ms: l + 1750,
                played_ms: 250,
                interrupted: false
            },
        ]
    );
    // No silent hole between segments.
    let lo = s.lookahead().0 as usize;
    let quiet_runs = c.pcm[lo..lo + 84_000]
        .windows(480)
        .filter(|w| w.iter().all(|&x| x == 0))
        .count();
    assert_eq!(quiet_runs, 0);
}

#[test]
fn long_session_does_not_drift() {
    let mut cfg = config();
    cfg.width = 16;
    cfg.height = 16;
    cfg.fps = 5;
    let mut s = Session::new(cfg).unwrap();
    let clip = voiced(16_000, 1.0);
    let mut next_video = 0u64;
    let mut next_audio = 0u64;
    let mut finished = 0;
    let step = ms(20);
    let hour = 3_600_000u64;
    let mut t = MediaTime::ZERO;
    while t <= ms(hour) {
        if t.as_millis().is_multiple_of(60_000) && t.as_millis() < hour {
            s.speak(&clip).unwrap();
        }
        s.handle_timeout(t);
        while let Some(o) = s.poll_output() {
            match o {
                Output::Video { pts, frame } => {
                    assert_eq!(pts, MediaTime::of_frame(next_video, 5));
                    next_video += 1;
                    s.recycle(frame);
                }
                Output::Audio { pts, pcm } => {
                    assert_eq!(pts.0, next_audio * AUDIO_FRAME as u64);
                    next_audio += 1;
                    s.recycle_pcm(pcm);
                }
                Output::Event(Event::SegmentFinished {
                    played_ms,
                    interrupted,
                    ..
                }) => {
                    assert_eq!((played_ms, interrupted), (1000, false));
                    finished += 1;
                }
                Output::Event(_) => {}
            }
        }
        t += step;
    }
    assert_eq!(next_video, 3600 * 5 + 1);
    assert_eq!(next_audio, 3600 * 50 + 1);
    assert_eq!(finished, 60);
    assert_eq!(s.queued_ms(), 0);
}

#[test]
fn bad_audio_is_refused_and_the_session_goes_on() {
    let mut s = session();
    let id = s.begin_segment();
    let e = s
        .push_audio(
            id,
            &AudioChunk {
                rate: 0,
                channels: 1,
                samples: vec![0.0; 10],
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("sample rate 0"), "{e}");
    let e = s
        .push_audio(
            id,
            &AudioChunk {
                rate: 48_000,
                channels: 9,
                samples: vec![0.0; 18],
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("9 channels"), "{e}");
    let e = s
        .push_audio(
            id,
            &AudioChunk {
                rate: 48_000,
                channels: 2,
                samples: vec![0.0; 3],
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("not a multiple"), "{e}");
    let e = s.push_audio(99, &voiced(48_000, 0.1)).unwrap_err();
    assert_eq!(e, EngineError::UnknownSegment { segment: 99 });
    // NaNs become silence.
    s.push_audio(id, &AudioChunk::mono(48_000, vec![f32::NAN; 960]))
        .unwrap();
    s.end_segment(id);
    let e = s.push_audio(id, &voiced(48_000, 0.1)).unwrap_err();
    assert!(e.to_string().contains("ended"), "{e}");
    let mut c = Collected::default();
    drive(&mut s, ms(1_000), ms(10), &mut c);
    assert_eq!(c.video.len(), 26);
    assert!(c.pcm.iter().all(|&x| x == 0));
    assert_eq!(c.events.len(), 2);
}

#[test]
fn queue_limit() {
    let mut cfg = config();
    cfg.max_queue_ms = 1_000;
    let mut s = Session::new(cfg).unwrap();
    let e = s.speak(&voiced(48_000, 2.0)).unwrap_err();
    assert!(
        matches!(
            e,
            EngineError::QueueFull {
                pushed_ms: 2000,
                max_ms: 1000,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("max_queue_ms 1000"), "{e}");
    let mut c = Collected::default();
    drive(&mut s, ms(100), ms(10), &mut c);
    assert!(c.events.is_empty(), "a refused speak reports nothing");
    s.speak(&voiced(48_000, 0.8)).unwrap();
}

#[test]
fn config_is_validated() {
    let mut c = config();
    c.fps = 0;
    assert!(Session::new(c).err().unwrap().to_string().contains("fps 0"));
    let mut c = config();
    c.width = 33;
    assert!(matches!(
        Session::new(c).err().unwrap(),
        EngineError::Render(_)
    ));
    let mut c = config();
    c.emotion_intensity = 2.0;
    assert!(Session::new(c).is_err());
    assert!(SessionConfig::new(test_avatar()).validate().is_ok());
}

#[test]
fn video_buffers_are_reused() {
    let mut s = session();
    let mut ptrs = Vec::new();
    for k in 0..20u64 {
        s.handle_timeout(MediaTime::of_frame(k, 25));
        while let Some(o) = s.poll_output() {
            if let Output::Video { frame, .. } = o {
                assert_eq!((frame.width, frame.height), (32, 32));
                ptrs.push(frame.y.as_ptr() as usize);
                s.recycle(frame);
            }
        }
    }
    ptrs.sort();
    ptrs.dedup();
    assert_eq!(ptrs.len(), 1, "one buffer circulates");
}

#[test]
fn emotion_change_is_reported() {
    let mut s = session();
    s.set_emotion(Emotion::Happy, 0.7);
    assert_eq!(s.poll_timeout(), s.now());
    assert_eq!(
        s.poll_output(),
        Some(Output::Event(Event::EmotionChanged {
            emotion: "happy".into(),
            intensity: 0.7
        }))
    );
}
