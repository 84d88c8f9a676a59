use super::*;
use facecast_core::model::{Mesh, MorphChannel, MorphTarget, Node, Primitive};
use facecast_core::{FaceWeights, HeadPose, VisemeFrame};

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
    /// Video may come out this early ([`Session::set_video_lead`]).
    lead: MediaTime,
    /// (pts, clock when it came out)
    emitted: Vec<(MediaTime, MediaTime)>,
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
                        pts <= s.now() + c.lead,
                        "video {pts} emitted before due ({})",
                        s.now()
                    );
                    c.video.push(pts);
                    c.emitted.push((pts, s.now()));
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
                Output::Face { .. } => panic!("renderer not detached, yet a Face output"),
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
    let clip = speech_clip();
    assert_eq!(clip.rate, 16_000);
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
    drive(&mut s, ms(8_000), ms(10), &mut c);
    // L after arrival, but not inside the 20 ms frame already sent at 500 ms.
    let start = (500 + s.lookahead().as_millis()).max(520);
    let dur = (clip.frames() as u64 * 1000).div_ceil(16_000);
    assert_eq!(
        c.events,
        vec![
            Event::SegmentStarted {
                segment: id,
                at_ms: start
            },
            Event::SegmentFinished {
                segment: id,
                at_ms: start + dur,
                played_ms: dur,
                interrupted: false
            },
        ]
    );
    // Visemes were there in time for every frame, even though audio trickled in.
    assert_matches_reference(&c, facecast_lipsync::analyze(&clip), start);
}

#[test]
fn fast_start_plays_a_whole_clip_at_the_next_audio_frame_in_sync() {
    let speech = speech_clip();
    let clip = concat(&[speech.clone(), silence(speech.rate, 0.3)]);
    let mut s = session();
    s.set_fast_start(true);
    let mut c = Collected::default();
    drive(&mut s, ms(310), ms(10), &mut c);
    s.speak(&clip).unwrap();
    drive(&mut s, ms(9_000), ms(10), &mut c);
    let start = match c.events[0] {
        Event::SegmentStarted { at_ms, .. } => at_ms,
        ref e => panic!("{e:?}"),
    };
    // The audio frame at 300 ms has gone out; the clip starts with the next one (320 ms), not
    // L later.
    assert_eq!(start, 320, "lookahead {} ms", s.lookahead().as_millis());
    // …and every frame still shows the visemes of its own time.
    assert_matches_reference(&c, facecast_lipsync::analyze(&clip), start);

    // A streamed segment still waits L: its later audio is not known yet.
    let id = s.begin_segment();
    s.push_audio(id, &voiced(48_000, 0.2)).unwrap();
    s.end_segment(id);
    drive(&mut s, ms(10_000), ms(10), &mut c);
    let started: Vec<u64> = c
        .events
        .iter()
        .filter_map(|e| match e {
            Event::SegmentStarted { segment, at_ms } if *segment == id => Some(*at_ms),
            _ => None,
        })
        .collect();
    assert_eq!(started, vec![9_000 + s.lookahead().as_millis()]);
}

#[test]
fn video_can_be_switched_off_without_stopping_audio_or_time() {
    let mut s = session();
    s.set_drop_late_video(true);
    let mut c = Collected::default();
    drive(&mut s, ms(200), ms(10), &mut c);
    let before = c.video.len();
    s.set_video_enabled(false);
    s.speak(&voiced(48_000, 0.3)).unwrap();
    drive(&mut s, ms(1_000), ms(10), &mut c);
    assert_eq!(c.video.len(), before, "no frames rendered while off");
    assert_eq!(
        c.audio_pts.len(),
        1_000 / 20 + 1,
        "audio frames keep coming"
    );
    assert!(
        c.events.len() >= 2,
        "segment events keep coming: {:?}",
        c.events
    );
    s.set_video_enabled(true);
    drive(&mut s, ms(1_200), ms(10), &mut c);
    // Back on: the next frame on the grid (the one at 1.0 s fell due while off), none of the
    // missed ones, nothing counted as dropped.
    assert_eq!(
        c.video[before..].first().copied(),
        Some(MediaTime::of_frame(26, 25))
    );
    assert_eq!(c.video.len(), before + 5);
    assert_eq!(s.dropped_frames(), 0);
}

fn speech_clip() -> AudioChunk {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/assets/audio/tts_kokoro_af_heart.wav"
    );
    facecast_audio::decode_file(std::path::Path::new(path)).expect("shared speech clip")
}

#[test]
fn video_frame_uses_the_visemes_of_its_time() {
    // Speech after 1 s of silence, in one burst.
    let speech = speech_clip();
    let clip = concat(&[
        silence(speech.rate, 1.0),
        speech.clone(),
        silence(speech.rate, 0.5),
    ]);
    let mut s = session();
    let mut c = Collected::default();
    drive(&mut s, ms(300), ms(10), &mut c);
    s.speak(&clip).unwrap();
    drive(&mut s, ms(9_000), ms(10), &mut c);
    let start = match c.events[0] {
        Event::SegmentStarted { at_ms, .. } => at_ms,
        ref e => panic!("{e:?}"),
    };
    assert_eq!(start, 300 + s.lookahead().as_millis());

    assert_matches_reference(&c, facecast_lipsync::analyze(&clip), start);
    for &(t, jaw) in &c.jaw {
        if t < start as f64 / 1000.0 + 0.9 {
            assert!(jaw < 0.02, "closed before the speech: {jaw} at {t}");
        }
    }
}

/// The session's mouth must equal the batch analysis of `clip`, shifted to the segment start,
/// through an identical animator sampled at the same frame times: the frame for `t` used the
/// visemes for `t`, with the full look-ahead.
fn assert_matches_reference(c: &Collected, frames: Vec<VisemeFrame>, start_ms: u64) {
    let open = assert_same_faces(c, frames, start_ms);
    // A sanity check only (the frame-by-frame equality is the test); how many 25 fps
    // samples land on an open vowel depends on the segment start's phase (300 ms + L).
    assert!(
        open > 15,
        "the mouth moves with the speech ({open} open frames)"
    );
}

/// Every collected frame shows the reference animation (the clip's visemes from `start_ms`) at
/// its pts. Returns how many frames have the jaw open more than 0.2.
fn assert_same_faces(c: &Collected, mut frames: Vec<VisemeFrame>, start_ms: u64) -> usize {
    let shift = start_ms as f64 / 1000.0;
    for f in frames.iter_mut() {
        f.t += shift;
    }
    let cfg = config();
    let mut reference = Animator::new(
        &cfg.avatar.rig,
        AnimConfig {
            seed: cfg.seed,
            head_motion: cfg.head_motion,
            emotion: cfg.emotion,
            emotion_intensity: cfg.emotion_intensity,
        },
    );
    reference.push_visemes(&frames);
    let (mut fw, mut hp) = (FaceWeights::default(), HeadPose::default());
    let mut open = 0;
    for &(t, jaw) in &c.jaw {
        reference.sample(t, &mut fw, &mut hp);
        assert!(
            (fw.get(ArkitShape::JawOpen) - jaw).abs() < 1e-4,
            "jaw {jaw} at {t}, reference {}",
            fw.get(ArkitShape::JawOpen)
        );
        if jaw > 0.2 {
            open += 1;
        }
    }
    open
}

#[test]
fn interrupt_mid_word() {
    let mut s = session();
    let id = s.speak(&speech_clip()).unwrap();
    let mut c = Collected::default();
    drive(&mut s, ms(2_000), ms(10), &mut c);
    assert!(c.jaw.iter().any(|&(_, j)| j > 0.2), "speaking");
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
    assert!(matches!(
        c.events.last(),
        Some(Event::SegmentFinished { segment, interrupted: false, .. }) if *segment == id2
    ));
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

/// A 5 fps 16×16 session with the given setup, driven for one hour of media time in 20 ms steps
/// with a 1 s voiced clip spoken every minute; every output is shown to `see`, then recycled.
fn hour_with_a_clip_each_minute(
    setup: impl FnOnce(&mut Session),
    mut see: impl FnMut(&Output),
) -> Session {
    let mut cfg = config();
    cfg.width = 16;
    cfg.height = 16;
    cfg.fps = 5;
    let mut s = Session::new(cfg).unwrap();
    setup(&mut s);
    let clip = voiced(16_000, 1.0);
    let hour = 3_600_000u64;
    let mut t = MediaTime::ZERO;
    while t <= ms(hour) {
        if t.as_millis().is_multiple_of(60_000) && t.as_millis() < hour {
            s.speak(&clip).unwrap();
        }
        s.handle_timeout(t);
        while let Some(o) = s.poll_output() {
            see(&o);
            match o {
                Output::Video { frame, .. } => s.recycle(frame),
                Output::Audio { pcm, .. } => s.recycle_pcm(pcm),
                _ => {}
            }
        }
        t += ms(20);
    }
    s
}

#[test]
fn long_session_does_not_drift() {
    let (mut next_video, mut next_audio, mut finished) = (0u64, 0u64, 0);
    let s = hour_with_a_clip_each_minute(
        |_| {},
        |o| match o {
            Output::Video { pts, .. } => {
                assert_eq!(*pts, MediaTime::of_frame(next_video, 5));
                next_video += 1;
            }
            Output::Audio { pts, .. } => {
                assert_eq!(pts.0, next_audio * AUDIO_FRAME as u64);
                next_audio += 1;
            }
            Output::Event(Event::SegmentFinished {
                played_ms,
                interrupted,
                ..
            }) => {
                assert_eq!((*played_ms, *interrupted), (1000, false));
                finished += 1;
            }
            _ => {}
        },
    );
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
    for bad in [-0.5, 4.5, f32::NAN] {
        let mut c = config();
        c.lod_px = bad;
        assert!(
            Session::new(c)
                .err()
                .unwrap()
                .to_string()
                .contains("lod_px"),
            "lod_px {bad}"
        );
    }
    let mut c = config();
    c.lod_px = 0.0;
    assert!(Session::new(c).is_ok());
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

#[test]
fn transcript_guides_the_visemes() {
    let clip = speech_clip();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/assets/audio/tts_kokoro_af_heart.txt"
    ))
    .unwrap();
    let with_text = facecast_lipsync::analyze_with_text(&clip, &text).unwrap();
    assert_ne!(
        with_text,
        facecast_lipsync::analyze(&clip),
        "the transcript changes the visemes"
    );
    let mut s = session();
    let mut c = Collected::default();
    drive(&mut s, ms(300), ms(10), &mut c);
    let id = s.speak_with_text(&clip, &text).unwrap();
    drive(&mut s, ms(8_000), ms(10), &mut c);
    let start = 300 + s.lookahead().as_millis();
    assert_eq!(
        c.events[0],
        Event::SegmentStarted {
            segment: id,
            at_ms: start
        }
    );
    assert_matches_reference(&c, with_text, start);

    // A transcript after the audio is refused clearly.
    let id2 = s.begin_segment();
    s.push_audio(id2, &voiced(48_000, 0.1)).unwrap();
    let e = s.set_text(id2, "hello").unwrap_err();
    assert!(e.to_string().contains("before push_audio"), "{e}");
}

#[test]
fn session_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Session>();
    assert_send::<Output>();
}

#[test]
fn speaking_tracks_segments() {
    let mut s = session();
    assert!(!s.speaking());
    s.speak(&voiced(48_000, 0.3)).unwrap();
    assert!(s.speaking());
    let mut c = Collected::default();
    drive(&mut s, ms(1_000), ms(10), &mut c);
    assert!(!s.speaking());
}

#[test]
fn late_video_can_be_dropped() {
    let mut s = session();
    s.set_drop_late_video(true);
    let mut c = Collected::default();
    // The caller wakes only every 200 ms: 5 frames due each time, only the newest is rendered.
    drive(&mut s, ms(2_000), ms(200), &mut c);
    assert_eq!(c.video.len(), 11);
    for (i, pts) in c.video.iter().enumerate() {
        assert_eq!(pts.as_millis(), i as u64 * 200);
    }
    assert_eq!(s.dropped_frames(), 40);
    assert_eq!(c.audio_pts.len(), 101, "audio is never dropped");
}

#[test]
fn random_api_sequences_keep_the_invariants() {
    // Deterministic pseudo-random driver (xorshift).
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n.max(1)
    };
    let rates = [
        8_000u32, 16_000, 22_050, 24_000, 44_100, 48_000, 0, 1_000_000,
    ];
    // Rounds 4..8: live settings (onset frames, fast start, drop late video, lead).
    for round in 0..8 {
        let live = round >= 4;
        let mut s = session();
        if live {
            s.set_onset_frames(true);
            s.set_fast_start(true);
            s.set_drop_late_video(true);
            s.set_video_lead(ms(15));
        }
        let mut last_video = None;
        let mut ids: Vec<u64> = Vec::new();
        let (mut next_audio, mut next_video) = (0u64, 0u64);
        let mut started = std::collections::HashSet::new();
        let mut finished = std::collections::HashSet::new();
        let mut t = 0u64;
        for _ in 0..400 {
            match rnd(10) {
                0 => ids.push(s.begin_segment()),
                1..=3 => {
                    let id = if ids.is_empty() || rnd(8) == 0 {
                        rnd(20)
                    } else {
                        *ids.last().unwrap()
                    };
                    let rate = rates[rnd(rates.len() as u64) as usize];
                    let ch = 1 + rnd(3) as u16;
                    let n = rnd(3000) as usize * ch as usize + rnd(2) as usize;
                    let samples = (0..n).map(|i| ((i as f32) * 0.05).sin() * 0.5).collect();
                    let _ = s.push_audio(
                        id,
                        &AudioChunk {
                            rate,
                            channels: ch,
                            samples,
                        },
                    );
                }
                4 => {
                    if let Some(&id) = ids.last() {
                        s.end_segment(id);
                    }
                }
                5 => {
                    if rnd(4) == 0 {
                        s.interrupt();
                        assert_eq!(s.queued_ms(), 0);
                    }
                }
                6 => s.set_emotion(Emotion::ALL[rnd(8) as usize], rnd(11) as f32 / 10.0),
                7 => {
                    let _ = s.speak(&voiced(16_000, rnd(500) as f64 / 1000.0));
                }
                _ => t += rnd(300),
            }
            s.handle_timeout(MediaTime::from_millis(t));
            while let Some(o) = s.poll_output() {
                match o {
                    Output::Audio { pts, pcm } => {
                        assert_eq!(pts.0, next_audio * AUDIO_FRAME as u64);
                        next_audio += 1;
                        s.recycle_pcm(pcm);
                    }
                    Output::Video { pts, frame } => {
                        assert!(last_video < Some(pts), "video pts increase");
                        last_video = Some(pts);
                        if live {
                            // Grid frames stay on k/fps (some skipped as late); onset frames
                            // fall between them.
                            while MediaTime::of_frame(next_video, 25) < pts {
                                next_video += 1;
                            }
                            if MediaTime::of_frame(next_video, 25) == pts {
                                next_video += 1;
                            }
                        } else {
                            assert_eq!(pts, MediaTime::of_frame(next_video, 25));
                            next_video += 1;
                        }
                        s.recycle(frame);
                    }
                    Output::Event(Event::SegmentStarted { segment, .. }) => {
                        assert!(started.insert(segment), "started twice: {segment}");
                        assert!(!finished.contains(&segment), "started after finishing");
                    }
                    Output::Event(Event::SegmentFinished { segment, .. }) => {
                        assert!(finished.insert(segment), "finished twice: {segment}");
                    }
                    Output::Event(_) | Output::Face { .. } => {}
                }
            }
            assert!(s.poll_timeout() > s.now());
        }
    }
}

#[test]
fn streamed_lookahead_is_the_analyzer_look_ahead_plus_one_frame_step() {
    // ARCHITECTURE: L <= 40 ms-ish. The animator reads nothing ahead of the sample time, so a
    // streamed segment waits only for the analyzer (35 ms) and the next 10 ms viseme frame.
    assert_eq!(facecast_anim::LOOKAHEAD_SECS, 0.0);
    let s = session();
    let expect = ((Analyzer::lookahead_ms() + 10.0) * SAMPLES_PER_MS as f64).ceil() as u64;
    assert_eq!(s.lookahead().0, expect);
    assert!(
        s.lookahead().as_millis() <= 45,
        "L = {} ms",
        s.lookahead().as_millis()
    );
}

#[test]
fn a_detached_renderer_draws_the_frames_the_session_would_have() {
    let clip = concat(&[silence(16_000, 0.2), speech_clip()]);
    let mut attached = session();
    let mut detached = session();
    let mut renderer = detached.detach_renderer().expect("renderer");
    assert!(detached.detach_renderer().is_none(), "only once");
    attached.speak(&clip).unwrap();
    detached.speak(&clip).unwrap();
    let mut frame = I420Frame::new(32, 32);
    let (mut faces, mut compared) = (0, 0);
    let mut t = 0;
    while t <= 3_000 {
        attached.handle_timeout(ms(t));
        detached.handle_timeout(ms(t));
        loop {
            let (a, d) = (attached.poll_output(), detached.poll_output());
            match (a, d) {
                (None, None) => break,
                (
                    Some(Output::Video { pts, frame: want }),
                    Some(Output::Face { pts: p, face, pose }),
                ) => {
                    assert_eq!(pts, p);
                    renderer.render(p, &face, &pose, &mut frame);
                    assert_eq!(frame, want, "frame at {pts}");
                    assert_eq!(detached.last_face().0, &face);
                    if face.get(ArkitShape::JawOpen) > 0.05 {
                        compared += 1;
                    }
                    faces += 1;
                    attached.recycle(want);
                }
                (a, d) => {
                    // Audio and events are unchanged by detaching.
                    assert!(
                        !matches!(d, Some(Output::Video { .. })),
                        "detached session rendered"
                    );
                    assert_eq!(a, d);
                }
            }
        }
        t += 10;
    }
    assert_eq!(faces, 76, "frames 0..=75 at 25 fps");
    assert!(compared > 10, "speech frames compared: {compared}");
}

#[test]
fn video_lead_emits_frames_early_only_when_their_visemes_are_known() {
    let lead = ms(15);
    let speech = speech_clip();
    let clip = concat(&[speech.clone(), silence(speech.rate, 0.3)]);
    let mut s = session();
    s.set_fast_start(true);
    s.set_video_lead(lead);
    let mut c = Collected {
        lead,
        ..Default::default()
    };
    // Idle: every frame comes out 15 ms before its pts.
    drive(&mut s, ms(290), ms(1), &mut c);
    assert!(c.emitted.len() >= 7);
    for &(pts, at) in &c.emitted[1..] {
        assert_eq!(at + lead, pts, "idle frame {pts} emitted at {at}");
    }
    // A whole clip: all its visemes are known, frames still come early and match the reference.
    s.speak(&clip).unwrap();
    drive(&mut s, ms(8_000), ms(1), &mut c);
    let start = match c.events[0] {
        Event::SegmentStarted { at_ms, .. } => at_ms,
        ref e => panic!("{e:?}"),
    };
    assert_eq!(start, 300);
    assert!(c.emitted[1..].iter().all(|&(pts, at)| at + lead == pts));
    assert_matches_reference(&c, facecast_lipsync::analyze(&clip), start);

    // A streamed segment: no lead while it is open (its later visemes are unknown)…
    let mut c2 = Collected {
        lead,
        ..Default::default()
    };
    let id = s.begin_segment();
    for (i, chunk) in clip.samples.chunks(320).enumerate() {
        s.push_audio(id, &AudioChunk::mono(16_000, chunk.to_vec()))
            .unwrap();
        drive(&mut s, ms(8_000 + 20 * (i as u64 + 1)), ms(1), &mut c2);
    }
    let open_frames = c2.emitted.len();
    assert!(open_frames > 50);
    // (the first frame may have been emitted before the segment began)
    assert!(c2.emitted[1..].iter().all(|&(pts, at)| at == pts));
    s.end_segment(id);
    drive(&mut s, ms(20_000), ms(1), &mut c2);
    // …and early again once it has ended (all its visemes known).
    assert!(c2.emitted[open_frames + 2..]
        .iter()
        .all(|&(pts, at)| at + lead == pts));
    let start2 = match c2.events[0] {
        Event::SegmentStarted { at_ms, .. } => at_ms,
        ref e => panic!("{e:?}"),
    };
    assert_eq!(start2, 8_000 + s.lookahead().as_millis());
    assert_matches_reference(&c2, facecast_lipsync::analyze(&clip), start2);
}

/// The browser test's burst: 120 Hz harmonics, 10 ms ramp, 4 Hz envelope (16 kHz).
fn browser_burst(ms_len: u64) -> AudioChunk {
    let rate = 16_000u32;
    let n = (rate as u64 * ms_len / 1000) as usize;
    let samples = (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            let env = (i as f64 / (0.01 * rate as f64))
                .min((n - i) as f64 / (0.01 * rate as f64))
                .min(1.0)
                * (0.6 + 0.4 * (std::f64::consts::TAU * 4.0 * t).sin());
            let mut s = 0.0;
            for h in 1..=12 {
                let g = if h == 6 || h == 7 { 2.5 } else { 1.0 };
                s += (std::f64::consts::TAU * 120.0 * h as f64 * t).sin() / h as f64 * g;
            }
            ((s * 6000.0 * env).clamp(-32767.0, 32767.0) / 32768.0) as f32
        })
        .collect();
    AudioChunk::mono(rate, samples)
}

/// Time (s) of the first viseme frame with speech in a clip (what the engine's analyzer finds).
fn first_speech(clip: &AudioChunk) -> f64 {
    facecast_lipsync::analyze(clip)
        .iter()
        .find(|f| f.weights[0] < 0.5)
        .expect("speech in the clip")
        .t
}

/// The video pts that are not on the 25 fps grid.
fn off_grid(c: &Collected) -> Vec<MediaTime> {
    c.video
        .iter()
        .copied()
        .filter(|p| MediaTime::of_frame(p.0 * 25 / OUTPUT_RATE as u64, 25) != *p)
        .collect()
}

/// Every grid frame from the first to the last one is there, and pts only increase.
fn assert_grid_intact(c: &Collected) {
    assert!(c.video.windows(2).all(|w| w[0] < w[1]), "pts increase");
    let grid: Vec<MediaTime> = c
        .video
        .iter()
        .copied()
        .filter(|p| !off_grid(c).contains(p))
        .collect();
    let k0 = grid[0].0 * 25 / OUTPUT_RATE as u64;
    for (i, p) in grid.iter().enumerate() {
        assert_eq!(*p, MediaTime::of_frame(k0 + i as u64, 25));
    }
}

#[test]
fn onset_frame_shows_a_clip_starting_between_grid_frames() {
    let clip = browser_burst(600);
    let tv = MediaTime::from_secs_f64(first_speech(&clip));
    assert!(tv <= ms(10), "the burst is voiced from its start: {tv}");
    let mut s = session();
    s.set_fast_start(true);
    s.set_onset_frames(true);
    let mut c = Collected::default();
    drive(&mut s, ms(300), ms(10), &mut c);
    // Starts with the next audio frame at 320 ms; the grid has frames at 320 and 360 ms.
    s.speak(&clip).unwrap();
    drive(&mut s, ms(2_000), ms(1), &mut c);
    assert_eq!(
        c.events[0],
        Event::SegmentStarted {
            segment: 1,
            at_ms: 320
        }
    );
    let onset = ms(320) + tv + ONSET_DELAY;
    assert_eq!(
        off_grid(&c),
        vec![onset],
        "one extra frame, at the speech onset"
    );
    assert_grid_intact(&c);
    assert_eq!(c.video.len(), 2_000 / 40 + 2);
    // The mouth has moved in it: most of the way to the next grid frame's opening.
    let jaw = |t: MediaTime| c.jaw.iter().find(|j| j.0 == t.as_secs_f64()).unwrap().1;
    assert!(jaw(onset) > 0.15, "onset frame jaw {}", jaw(onset));
    assert!(
        jaw(onset) > 0.7 * jaw(ms(360)),
        "{} vs {}",
        jaw(onset),
        jaw(ms(360))
    );
    assert!(jaw(ms(280)) < 0.01, "at rest before");
    // Same clip, next grid frame within ONSET_MIN_GAP: no extra frame. Start at 2340 ms (speech
    // from ~2345, onset pts ~2350, grid frame at 2360).
    drive(&mut s, ms(2_320), ms(10), &mut c);
    s.speak(&clip).unwrap();
    drive(&mut s, ms(4_000), ms(1), &mut c);
    assert!(c.events.contains(&Event::SegmentStarted {
        segment: 2,
        at_ms: 2_340
    }));
    assert_eq!(
        off_grid(&c),
        vec![onset],
        "no extra frame for the second clip"
    );
    assert_grid_intact(&c);
}

#[test]
fn onset_frame_of_a_clip_with_leading_silence_is_at_its_speech() {
    let speech = speech_clip();
    let tv = MediaTime::from_secs_f64(first_speech(&speech));
    assert!(tv > ms(100), "the clip starts with silence: {tv}");
    let mut s = session();
    s.set_fast_start(true);
    s.set_onset_frames(true);
    let mut c = Collected::default();
    drive(&mut s, ms(280), ms(10), &mut c);
    s.speak(&speech).unwrap();
    drive(&mut s, ms(9_000), ms(5), &mut c);
    let onset = ms(300) + tv + ONSET_DELAY;
    let grid_after = (tv + ms(300)).0.div_ceil(1920) * 1920;
    if grid_after > (onset + ONSET_MIN_GAP).0 {
        assert_eq!(off_grid(&c), vec![onset]);
    } else {
        assert!(off_grid(&c).is_empty());
    }
    assert_grid_intact(&c);
    // The picture stays in sync: every frame still shows the visemes of its own time.
    assert_matches_reference(&c, facecast_lipsync::analyze(&speech), 300);
}

#[test]
fn onset_frame_for_a_streamed_segment_once_per_segment() {
    // Speech, 400 ms of silence, speech again: one onset frame, at the first speech.
    let burst = browser_burst(300);
    let clip = concat(&[burst.clone(), silence(16_000, 0.4), burst.clone()]);
    let tv = MediaTime::from_secs_f64(first_speech(&clip));
    let mut s = session();
    s.set_onset_frames(true);
    s.set_video_lead(ms(15));
    let mut c = Collected {
        lead: ms(15),
        ..Default::default()
    };
    drive(&mut s, ms(485), ms(5), &mut c);
    let id = s.begin_segment();
    for (i, chunk) in clip.samples.chunks(320).enumerate() {
        s.push_audio(id, &AudioChunk::mono(16_000, chunk.to_vec()))
            .unwrap();
        drive(&mut s, ms(485 + 20 * (i as u64 + 1)), ms(1), &mut c);
    }
    s.end_segment(id);
    drive(&mut s, ms(3_000), ms(1), &mut c);
    // Starts L after its first audio (485 + 45 = 530 ms), the grid has frames at 520 and 560.
    let start = 485 + s.lookahead().as_millis();
    assert_eq!(
        c.events[0],
        Event::SegmentStarted {
            segment: id,
            at_ms: start
        }
    );
    let onset = ms(start) + tv + ONSET_DELAY;
    assert!(onset + ONSET_MIN_GAP < ms(560), "test setup: {onset}");
    assert_eq!(off_grid(&c), vec![onset]);
    // A streamed segment is open: no lead, the onset frame comes out at its pts (its visemes
    // are known by then).
    let at = c.emitted.iter().find(|e| e.0 == onset).unwrap().1;
    assert_eq!(at, onset);
    assert_grid_intact(&c);
    assert!(assert_same_faces(&c, facecast_lipsync::analyze(&clip), start) >= 4);

    // A second segment queued right behind a first one that still speaks at its end: the mouth
    // is already moving, no onset frame.
    // Clip a plays 3120..3400 ms (onset frame ~3130, grid 3160), clip b 3400..3680 ms (speech
    // from ~3405: an onset frame ~3410 would be due before the 3440 grid frame, but a's speech
    // runs into it).
    let a = voiced(16_000, 0.28);
    let tv = MediaTime::from_secs_f64(first_speech(&a));
    let mut c2 = Collected {
        lead: ms(15),
        ..Default::default()
    };
    s.set_fast_start(true);
    drive(&mut s, ms(3_100), ms(1), &mut c2);
    s.speak(&a).unwrap();
    s.speak(&a).unwrap();
    drive(&mut s, ms(5_000), ms(1), &mut c2);
    assert!(c2.events.contains(&Event::SegmentStarted {
        segment: id + 2,
        at_ms: 3_400
    }));
    assert_eq!(off_grid(&c2), vec![ms(3_120) + tv + ONSET_DELAY]);
}

#[test]
fn onset_frame_follows_the_video_rules() {
    let clip = browser_burst(600);
    let tv = MediaTime::from_secs_f64(first_speech(&clip));
    let onset = ms(320) + tv + ONSET_DELAY;
    let run = |setup: &dyn Fn(&mut Session), step: u64| {
        let mut s = session();
        s.set_fast_start(true);
        s.set_onset_frames(true);
        setup(&mut s);
        let mut c = Collected {
            lead: ms(40),
            ..Default::default()
        };
        drive(&mut s, ms(300), ms(1), &mut c);
        s.speak(&clip).unwrap();
        drive(&mut s, ms(1_000), ms(step), &mut c);
        (s, c)
    };
    // Off by default: the plain grid.
    let (_, c) = run(&|s| s.set_onset_frames(false), 1);
    assert!(off_grid(&c).is_empty());
    // Video lead: emitted `lead` before its pts, like every frame.
    let (_, c) = run(&|s| s.set_video_lead(ms(15)), 1);
    assert_eq!(off_grid(&c), vec![onset]);
    assert!(c
        .emitted
        .iter()
        .all(|&(p, at)| at + ms(15) == p || p < ms(100)));
    // Video off while the onset falls due: never emitted; back on, the grid goes on.
    // (with a lead, too: nothing comes out early while off either)
    let (mut s, mut c) = run(
        &|s| {
            s.set_video_enabled(false);
            s.set_video_lead(ms(15));
        },
        1,
    );
    assert!(c.video.is_empty());
    s.set_video_enabled(true);
    drive(&mut s, ms(1_200), ms(1), &mut c);
    assert!(off_grid(&c).is_empty());
    assert_eq!(c.video.first(), Some(&ms(1_040)));
    // A caller waking only every 50 ms with drop_late_video: when it wakes after the next grid
    // frame's pts too, the stale onset frame is skipped (counted dropped).
    let (s, c) = run(&|s| s.set_drop_late_video(true), 70);
    assert!(off_grid(&c).is_empty(), "{:?}", c.video);
    assert!(s.dropped_frames() >= 1);
    assert!(c.video.windows(2).all(|w| w[0] < w[1]));
    // Interrupted before it is due: cancelled.
    let mut s = session();
    s.set_fast_start(true);
    s.set_onset_frames(true);
    let mut c = Collected::default();
    drive(&mut s, ms(300), ms(10), &mut c);
    s.speak(&clip).unwrap();
    s.interrupt();
    drive(&mut s, ms(1_000), ms(1), &mut c);
    assert!(off_grid(&c).is_empty());
    // Detached renderer: the onset comes out as a Face at its pts.
    let mut s = session();
    let _renderer = s.detach_renderer().unwrap();
    s.set_fast_start(true);
    s.set_onset_frames(true);
    let mut faces = Vec::new();
    let mut t = 0;
    while t <= 1_000 {
        if t == 310 {
            s.speak(&clip).unwrap();
        }
        s.handle_timeout(ms(t));
        while let Some(o) = s.poll_output() {
            if let Output::Face { pts, face, .. } = o {
                faces.push((pts, face.get(ArkitShape::JawOpen)));
            }
        }
        t += 1;
    }
    let extra: Vec<_> = faces.iter().filter(|f| f.0 .0 % 1920 != 0).collect();
    assert_eq!(extra.len(), 1);
    assert_eq!(extra[0].0, onset);
    assert!(extra[0].1 > 0.15);
}

#[test]
fn onset_frames_over_an_hour_leave_the_grid_exact() {
    let (mut next_video, mut extra, mut last) = (0u64, 0u64, None);
    let s = hour_with_a_clip_each_minute(
        |s| {
            s.set_onset_frames(true);
            s.set_drop_late_video(true);
        },
        |o| {
            if let Output::Video { pts, .. } = o {
                assert!(last < Some(*pts), "pts increase");
                last = Some(*pts);
                if *pts == MediaTime::of_frame(next_video, 5) {
                    next_video += 1;
                } else {
                    assert!(*pts < MediaTime::of_frame(next_video, 5));
                    extra += 1;
                }
            }
        },
    );
    assert_eq!(
        next_video,
        3600 * 5 + 1,
        "every grid frame, exactly on k/fps"
    );
    assert_eq!(extra, 60, "one onset frame per clip");
    assert_eq!(s.dropped_frames(), 0);
}

/// An emotion the avatar has its own expression for is shown with it: pixiv's VRM 1.0
/// conformance model has a `happy` expression that moves the texture of a meter (and no ARKit
/// shapes at all), so the happy emotion fills the meter, and going back to neutral empties it.
#[test]
fn emotion_drives_the_avatars_own_expression() {
    let avatar = shared_vrm("VRMC_vrm_expressions_isBinary_Overrides.vrm");
    assert!(avatar.rig.emotion_exprs[Emotion::Happy.index()].is_some());
    let mut cfg = SessionConfig::new(avatar);
    (cfg.width, cfg.height, cfg.head_motion) = (128, 128, 0.0);
    let mut s = Session::new(cfg).expect("session");
    // The session's faces, drawn with the idle blinks left out (this model's blink moves a
    // texture too; see `canonical_blinks_drive_a_texture_blink_preset`).
    let mut r = s.detach_renderer().expect("renderer");
    let mut out = I420Frame::new(128, 128);
    let mut run_to = |s: &mut Session, until: MediaTime| -> Vec<u8> {
        let mut t = s.now();
        while t < until {
            t = (t + ms(20)).min(until);
            s.handle_timeout(t);
            while let Some(o) = s.poll_output() {
                match o {
                    Output::Face {
                        pts,
                        mut face,
                        pose,
                        ..
                    } => {
                        face.set(ArkitShape::EyeBlinkLeft, 0.0);
                        face.set(ArkitShape::EyeBlinkRight, 0.0);
                        r.render(pts, &face, &pose, &mut out);
                    }
                    Output::Audio { pcm, .. } => s.recycle_pcm(pcm),
                    _ => {}
                }
            }
        }
        out.y.clone()
    };
    let rest = run_to(&mut s, ms(500));
    s.set_emotion(Emotion::Happy, 1.0);
    let happy = run_to(&mut s, ms(1500));
    s.set_emotion(Emotion::Neutral, 1.0);
    let back = run_to(&mut s, ms(2500));
    let differ = |a: &[u8], b: &[u8]| {
        a.iter()
            .zip(b)
            .filter(|(x, y)| (**x as i32 - **y as i32).abs() > 20)
            .count()
    };
    let (on, off) = (differ(&rest, &happy), differ(&rest, &back));
    assert!(on > 40, "happy changed {on} pixels");
    assert_eq!(off, 0, "back at neutral, {off} pixels still differ");
    eprintln!("happy expression: {on} of {} pixels changed", rest.len());
}

/// A VRM `blink` preset that closes the eyes by moving a texture (no morph binds) blinks in
/// sessions: the canonical eye blinks drive its texture binds. pixiv's conformance model shows
/// it in its blink meter; its binary `happy` (overrideBlink: blend) holds the blink down.
#[test]
fn canonical_blinks_drive_a_texture_blink_preset() {
    let avatar = shared_vrm("VRMC_vrm_expressions_isBinary_Overrides.vrm");
    assert_eq!(
        avatar.rig.expr_drives.len(),
        1,
        "{:?}",
        avatar.rig.expr_drives
    );
    let mut cfg = SessionConfig::new(avatar);
    (cfg.width, cfg.height) = (128, 128);
    let mut r = FrameRenderer::new(&cfg).expect("renderer");
    let frame = |r: &mut FrameRenderer, blink: f32, happy: f32| {
        let mut face = FaceWeights::default();
        face.set(ArkitShape::EyeBlinkLeft, blink);
        face.set(ArkitShape::EyeBlinkRight, blink);
        face.emotions[Emotion::Happy.index()] = happy;
        let mut out = I420Frame::new(128, 128);
        r.render(MediaTime::ZERO, &face, &HeadPose::default(), &mut out);
        out.y
    };
    let differ = |a: &[u8], b: &[u8]| {
        a.iter()
            .zip(b)
            .filter(|(x, y)| (**x as i32 - **y as i32).abs() > 20)
            .count()
    };
    let rest = frame(&mut r, 0.0, 0.0);
    let closed = frame(&mut r, 1.0, 0.0);
    let half = frame(&mut r, 0.5, 0.0);
    let (full, part) = (differ(&rest, &closed), differ(&rest, &half));
    assert!(full > 40, "closing the eyes changed {full} px");
    assert!(
        part > 5 && part < full,
        "half a blink changed {part} px (closed: {full})"
    );
    let happy = frame(&mut r, 0.0, 1.0);
    let happy_blink = frame(&mut r, 1.0, 1.0);
    assert_eq!(
        differ(&happy, &happy_blink),
        0,
        "happy blends the blink out"
    );
    assert_eq!(differ(&rest, &frame(&mut r, 0.0, 0.0)), 0, "back at rest");
    eprintln!("texture blink: {full} px closed, {part} px half");
}

/// A frame's pts moves the avatar's animated textures (VRM MToon UV animation; pixiv's sample
/// of scrolling and turning pictures): the same face and pose at another time is another picture,
/// at the same time the same picture, from a renderer made outside a session as from one inside.
#[test]
fn frame_pts_moves_mtoon_uv_animation() {
    let avatar = shared_vrm("VRMC_materials_mtoon_UV_Animation_Test.vrm");
    let mut cfg = SessionConfig::new(avatar.clone());
    (cfg.width, cfg.height) = (128, 128);
    let mut r = FrameRenderer::new(&cfg).expect("renderer");
    let mut outside =
        FrameRenderer::for_avatar(avatar, cfg.render_config()).expect("renderer outside");
    let face = FaceWeights::default();
    let frame = |r: &mut FrameRenderer, ms: u64| {
        let mut out = I420Frame::new(128, 128);
        r.render(
            MediaTime::from_millis(ms),
            &face,
            &HeadPose::default(),
            &mut out,
        );
        out.y
    };
    let (a, b, c) = (frame(&mut r, 0), frame(&mut r, 300), frame(&mut r, 0));
    assert!(a == c, "the same time drew different pictures");
    let moved = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| (**x as i32 - **y as i32).abs() > 40)
        .count();
    assert!(moved > 200, "300 ms later only {moved} px changed");
    assert!(
        frame(&mut outside, 300) == b,
        "a renderer outside a session drew another picture"
    );
    eprintln!("uv animation: {moved} of {} px changed in 300 ms", a.len());
}

/// A VRM sample from `../shared/assets/models/vrm/`.
fn shared_vrm(name: &str) -> Arc<Avatar> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/assets/models/vrm")
        .join(name);
    Arc::new(facecast_avatar::load(&path).expect("load"))
}

/// A one-triangle VRM whose `lookLeft` expression turns its unlit white material red, with a
/// `lookAt` of type `type_` (outer range map: 90 degrees to a weight of 1).
fn look_expression_vrm(type_: &str) -> Arc<Avatar> {
    let bin: Vec<u8> = [-3.0f32, -3.0, 0.0, 3.0, -3.0, 0.0, 0.0, 4.0, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let json = format!(
        r#"{{"asset": {{"version": "2.0"}},
        "extensionsUsed": ["VRMC_vrm", "KHR_materials_unlit"],
        "buffers": [{{"byteLength": 36}}],
        "bufferViews": [{{"buffer": 0, "byteLength": 36}}],
        "accessors": [{{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
            "min": [-3, -3, 0], "max": [3, 4, 0]}}],
        "materials": [{{"pbrMetallicRoughness": {{"baseColorFactor": [1, 1, 1, 1]}},
            "doubleSided": true, "extensions": {{"KHR_materials_unlit": {{}}}}}}],
        "meshes": [{{"primitives": [{{"attributes": {{"POSITION": 0}}, "material": 0}}]}}],
        "nodes": [{{"name": "head", "mesh": 0}}],
        "scenes": [{{"nodes": [0]}}],
        "extensions": {{"VRMC_vrm": {{"specVersion": "1.0",
            "humanoid": {{"humanBones": {{"head": {{"node": 0}}}}}},
            "lookAt": {{"type": "{type_}",
                "rangeMapHorizontalOuter": {{"inputMaxValue": 90, "outputScale": 1}}}},
            "expressions": {{"preset": {{"lookLeft": {{"materialColorBinds": [
                {{"material": 0, "type": "color", "targetValue": [1, 0, 0, 1]}}]}}}}}}}}}}}}"#
    );
    let glb = facecast_avatar::write_glb(json.as_bytes(), &bin);
    Arc::new(facecast_avatar::load_bytes(&glb, "look.vrm", None).expect("load"))
}

/// An avatar whose look expressions move its eyes (`lookAt` type `expression`) gets them
/// weighted by its range maps from the gaze angle, not by facecast's own eye-look scale: a
/// 0.3 rad gaze over a 90-degree map is a `lookLeft` of 0.19, drawn as a `bone`-type avatar
/// (whose face weights pass unchanged) draws an eye look of 0.19, and not as one of 0.5.
#[test]
fn look_expressions_follow_the_avatar_range_maps() {
    let frame = |avatar: Arc<Avatar>, look: f32, yaw: f32| {
        let mut cfg = SessionConfig::new(avatar);
        (cfg.width, cfg.height) = (64, 64);
        let mut r = FrameRenderer::new(&cfg).expect("renderer");
        let mut face = FaceWeights::default();
        face.set(ArkitShape::EyeLookOutLeft, look);
        face.set(ArkitShape::EyeLookInRight, look);
        let pose = HeadPose {
            eyes: [yaw, 0.0],
            ..Default::default()
        };
        let mut out = I420Frame::new(64, 64);
        r.render(MediaTime::ZERO, &face, &pose, &mut out);
        out.y
    };
    let mapped = frame(look_expression_vrm("expression"), 0.5, 0.3);
    let weight = 0.3f32.to_degrees() / 90.0;
    let same = frame(look_expression_vrm("bone"), weight, 0.3);
    let unmapped = frame(look_expression_vrm("bone"), 0.5, 0.3);
    let rest = frame(look_expression_vrm("bone"), 0.0, 0.3);
    let centre = |y: &[u8]| y[32 * 64 + 32] as i32;
    let (m, s, u, r) = (
        centre(&mapped),
        centre(&same),
        centre(&unmapped),
        centre(&rest),
    );
    eprintln!("centre luma: rest {r}, lookLeft {weight:.3} {s}, 0.5 {u}; expression avatar {m}");
    assert!(
        (m - s).abs() <= 1,
        "mapped {m} vs a weight of {weight}: {s}"
    );
    assert!((m - u).abs() > 10, "mapped {m} vs a weight of 0.5: {u}");
    assert!(
        r - s > 4,
        "the look expression barely moved the colour: {r} -> {s}"
    );
}
