use facecast_text::import::{self, Imported, WordTiming};
use facecast_text::{Phone, TextError};

const AUDIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/assets/audio");

#[test]
fn elevenlabs_characters_become_words() {
    let j = r#"{"audio_base64": "", "alignment": {"characters": ["H","i"," ","B","o","b","."],
      "character_start_times_seconds": [0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5],
      "character_end_times_seconds": [0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.55]}, "normalized_alignment": null}"#;
    let w = import::elevenlabs(j).unwrap();
    assert_eq!(
        w,
        vec![
            WordTiming {
                word: "Hi".into(),
                start: 0.0,
                end: 0.2
            },
            WordTiming {
                word: "Bob.".into(),
                start: 0.25,
                end: 0.55
            }
        ]
    );
    assert!(matches!(import::auto(j).unwrap(), Imported::Words(ref x) if x.len() == 2));
    let bad = r#"{"alignment": {"characters": ["a"], "character_start_times_seconds": [], "character_end_times_seconds": [0.1]}}"#;
    let e = import::elevenlabs(bad).unwrap_err().to_string();
    assert!(e.contains("1 characters but 0 start"), "{e}");
}

#[test]
fn azure_words_and_visemes() {
    let words = r#"[{"audio_offset": 500000, "duration": 3000000, "text": "Hello", "boundary_type": "Word"},
                    {"audio_offset": 3600000, "duration": 1000000, "text": ",", "boundary_type": "Punctuation"},
                    {"AudioOffset": 5000000, "Duration": 2000000, "Text": "world"}]"#;
    match import::azure(words).unwrap() {
        Imported::Words(w) => {
            assert_eq!(w.len(), 2);
            assert!((w[0].start - 0.05).abs() < 1e-9 && (w[0].end - 0.35).abs() < 1e-9);
            assert_eq!(w[1].word, "world");
        }
        other => panic!("{other:?}"),
    }
    let vis = r#"[{"viseme_id": 0, "audio_offset": 0}, {"viseme_id": 21, "audio_offset": 1000000}, {"viseme_id": 2, "audio_offset": 1500000}, {"viseme_id": 0, "audio_offset": 2500000}]"#;
    match import::auto(vis).unwrap() {
        Imported::Phones(p) => {
            assert_eq!(
                p.iter().map(|p| p.phone).collect::<Vec<_>>(),
                vec![Phone::Sil, Phone::P, Phone::AA, Phone::Sil]
            );
            assert!((p[1].start - 0.1).abs() < 1e-9 && (p[1].end - 0.15).abs() < 1e-9);
        }
        other => panic!("{other:?}"),
    }
    let e = import::azure(r#"[{"viseme_id": 30, "audio_offset": 0}]"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("viseme id 30"), "{e}");
    let e = import::azure(r#"[{"text": "hi"}]"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("audio_offset"), "{e}");
}

#[test]
fn polly_speech_marks() {
    let marks =
        "{\"time\":0,\"type\":\"sentence\",\"start\":0,\"end\":9,\"value\":\"Mary had.\"}\n\
                 {\"time\":6,\"type\":\"word\",\"start\":0,\"end\":4,\"value\":\"Mary\"}\n\
                 {\"time\":6,\"type\":\"viseme\",\"value\":\"p\"}\n\
                 {\"time\":400,\"type\":\"word\",\"start\":5,\"end\":8,\"value\":\"had\"}\n\
                 {\"time\":700,\"type\":\"viseme\",\"value\":\"sil\"}\n";
    match import::auto(marks).unwrap() {
        Imported::Words(w) => {
            assert_eq!(w.len(), 2);
            assert!((w[0].start - 0.006).abs() < 1e-9 && (w[0].end - 0.4).abs() < 1e-9);
            assert!((w[1].end - 0.7).abs() < 1e-9, "{w:?}");
        }
        other => panic!("{other:?}"),
    }
    let e = import::polly("{\"time\":0,\"type\":\"viseme\",\"value\":\"Q\"}\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown viseme \"Q\""), "{e}");
    let e = import::polly("{\"time\":0,\n").unwrap_err().to_string();
    assert!(e.contains("line 1"), "{e}");
}

#[test]
fn google_and_generic_words() {
    let g = r#"{"audioContent": "", "timepoints": [{"markName": "hello", "timeSeconds": 0.1}, {"markName": "there", "timeSeconds": 0.5}]}"#;
    let w = import::google(g).unwrap();
    assert_eq!(w[0].end, 0.5);
    assert!(w[1].end > 0.6);
    let a =
        r#"[{"word": "hi", "start": 0.1, "end": 0.3}, {"word": "you", "start": 0.3, "end": 0.6}]"#;
    assert_eq!(import::words_json(a).unwrap().len(), 2);
    let b = r#"{"words": [{"text": "hi", "start": 100, "end": 300, "confidence": 0.9}]}"#;
    let w = import::words_json(b).unwrap();
    assert!((w[0].end - 0.3).abs() < 1e-9, "ms detection: {w:?}");
    let c = r#"{"segments": [{"words": [{"word": " hi", "start": 0.1, "end": 0.2}]}, {"words": [{"word": "ho", "start_time": "0.3s", "end_time": "0.5s"}]}]}"#;
    assert_eq!(import::words_json(c).unwrap().len(), 2);
    let e = import::words_json(r#"[{"word": "x", "start": 0.5, "end": 0.2}]"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ends at 0.2 before it starts at 0.5"), "{e}");
    let e = import::words_json(r#"[{"start": 0.5}]"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("word 0"), "{e}");
    assert!(matches!(
        import::words_json("{"),
        Err(TextError::Json { .. })
    ));
}

#[test]
fn pocketsphinx_and_corpus_files() {
    let words = std::fs::read_to_string(format!(
        "{AUDIO}/librivox_sense_sensibility_0880.words.json"
    ))
    .unwrap();
    let w = match import::auto(&words).unwrap() {
        Imported::Words(w) => w,
        other => panic!("{other:?}"),
    };
    let text: Vec<&str> = w.iter().map(|w| w.word.as_str()).collect();
    assert_eq!(text.join(" "), "he was not an ill disposed young man");
    let phones = std::fs::read_to_string(format!(
        "{AUDIO}/librivox_sense_sensibility_0880.phones.json"
    ))
    .unwrap();
    let p = match import::auto(&phones).unwrap() {
        Imported::Phones(p) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(p[0].phone, Phone::Sil);
    assert_eq!(p[1].phone, Phone::HH);
    // words -> phones: G2P phones spread over each word, SIL in the gaps
    let spread = import::words_to_phones(&w, Some(2.99));
    assert_eq!(spread[0].phone, Phone::Sil);
    assert!((spread[0].end - 0.21).abs() < 1e-9);
    assert!((spread.last().unwrap().end - 2.99).abs() < 1e-9);
    for x in spread.windows(2) {
        assert!((x[0].end - x[1].start).abs() < 1e-9);
    }
    let corpus = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/fest_kal/s01.json"
    ))
    .unwrap();
    let c = import::phones_json(&corpus).unwrap();
    assert_eq!(c[1].phone, Phone::B);
    let e = import::phones_json(r#"[{"start": 0, "end": 1, "phone": "XQ"}]"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown phone \"XQ\""), "{e}");
}

#[test]
fn rhubarb_formats() {
    let j = r#"{"metadata": {"duration": 0.5}, "mouthCues": [{"start": 0.0, "end": 0.2, "value": "X"}, {"start": 0.2, "end": 0.5, "value": "A"}]}"#;
    let tsv = "0.00\tX\n0.20\tA\n0.50\tX\n";
    let xml = r#"<?xml version="1.0"?><rhubarbResult><mouthCues><mouthCue start="0.00" end="0.20">X</mouthCue><mouthCue start="0.20" end="0.50">A</mouthCue></mouthCues></rhubarbResult>"#;
    let a = import::rhubarb(j).unwrap();
    assert_eq!(a, vec![(0.0, 0.2, 'X'), (0.2, 0.5, 'A')]);
    assert_eq!(import::rhubarb(xml).unwrap(), a);
    assert_eq!(&import::rhubarb(tsv).unwrap()[..2], &a[..]);
    assert!(matches!(import::auto(tsv).unwrap(), Imported::Cues(_)));
    assert!(matches!(import::auto(xml).unwrap(), Imported::Cues(_)));
    let e = import::rhubarb("0.0\tQ\n").unwrap_err().to_string();
    assert!(e.contains("\"Q\""), "{e}");
    // cues -> phones -> cues round trip
    let p = import::to_phones(j, Some(0.6)).unwrap();
    let back = facecast_text::phones_to_rhubarb(&p);
    assert_eq!(back.iter().map(|c| c.2).collect::<String>(), "XAX");
    assert_eq!(import::rhubarb_dialog("Hello there.").len(), 2);
    assert!(matches!(
        import::auto("hello"),
        Err(TextError::UnknownFormat(_))
    ));
}

#[test]
fn truncated_inputs_never_panic() {
    let samples = [
        r#"{"alignment": {"characters": ["H","i"], "character_start_times_seconds": [0.0, 0.1], "character_end_times_seconds": [0.1, 0.2]}}"#,
        r#"[{"audio_offset": 500000, "duration": 3000000, "text": "Hello"}, {"viseme_id": 3, "audio_offset": 10}]"#,
        "{\"time\":6,\"type\":\"word\",\"start\":0,\"end\":4,\"value\":\"Mary\"}\n{\"time\":9,\"type\":\"viseme\",\"value\":\"p\"}\n",
        r#"<mouthCues><mouthCue start="0.00" end="0.20">X</mouthCue><mouthCue start='0.2' end="0.5">A</mouthCue></mouthCues>"#,
        "0.00\tX\n0.20\tA\n",
        r#"{"words": [{"word": "hi", "start": 0.1, "end": 0.3}], "segments": []}"#,
        r#"[{"start": 0.0, "end": 0.2, "phone": "SIL"}, {"start": 0.2, "end": 0.3, "phone": "B"}]"#,
    ];
    for s in samples {
        for cut in 0..=s.len() {
            if s.is_char_boundary(cut) {
                let _ = import::auto(&s[..cut]);
                let _ = import::to_phones(&s[..cut], Some(1.0));
            }
        }
    }
}
