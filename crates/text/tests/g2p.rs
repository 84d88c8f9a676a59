use facecast_text::{
    g2p, letter_to_sound, lookup, normalize, number_words, text_phones, Break, Phone, Source,
};

fn names(ps: &[Phone]) -> String {
    ps.iter().map(|p| p.name()).collect::<Vec<_>>().join(" ")
}

#[test]
fn dictionary_words() {
    assert!(facecast_text::dictionary_len() > 120_000);
    let w = g2p("Bob bought a big blue balloon");
    let got: Vec<String> = w.iter().map(|w| names(&w.phones)).collect();
    assert_eq!(
        got,
        ["B AA B", "B AA T", "AH", "B IH G", "B L UW", "B AH L UW N"]
    );
    assert!(w.iter().all(|w| w.source == Source::Dictionary));
    let (p, s) = lookup("Thought").unwrap();
    assert_eq!(names(&p), "TH AO T");
    assert_eq!(s, vec![0, 1, 0]);
    assert_eq!(names(&g2p("judge's")[0].phones), "JH AH JH IH Z");
}

#[test]
fn oov_words_get_plausible_phones() {
    for (w, must_start) in [
        ("Zorblax", Phone::Z),
        ("Kubernetes", Phone::K),
        ("Blorptastic", Phone::B),
        ("Thandiwe", Phone::TH),
    ] {
        let ws = g2p(w);
        assert_eq!(ws.len(), 1);
        assert_eq!(ws[0].source, Source::LetterToSound, "{w}");
        let p = &ws[0].phones;
        assert_eq!(p[0], must_start, "{w}: {}", names(p));
        // one vowel sound at least per written vowel group, roughly
        let vowels = p.iter().filter(|p| p.is_vowel()).count();
        assert!(vowels >= 2, "{w}: {}", names(p));
        assert!(!p.contains(&Phone::Sil));
    }
    assert_eq!(names(&letter_to_sound("zorblax")), "Z AA R B L AE K S");
    // "x" gives two phones, silent final e gives none
    let p = letter_to_sound("vexate");
    assert!(
        p.windows(2).any(|w| w == [Phone::K, Phone::S]),
        "{}",
        names(&p)
    );
    assert_eq!(*p.last().unwrap(), Phone::T, "{}", names(&p));
}

#[test]
fn acronyms_are_spelled() {
    let w = g2p("the NSA and the U.S.A.");
    let spelled: Vec<&str> = w
        .iter()
        .filter(|w| w.source == Source::Spelled)
        .map(|w| w.text.as_str())
        .collect();
    assert!(spelled.contains(&"nsa"), "{w:?}");
    assert_eq!(names(&w.last().unwrap().phones), "EY");
    assert_eq!(w.last().unwrap().break_after, Break::Long);
}

#[test]
fn numbers_and_abbreviations() {
    assert_eq!(number_words(42).join(" "), "forty two");
    assert_eq!(
        number_words(1_250_000).join(" "),
        "one million two hundred fifty thousand"
    );
    assert_eq!(number_words(0).join(" "), "zero");
    assert_eq!(normalize("42"), "forty two");
    assert_eq!(
        normalize("Dr. Smith lives on Main St. now."),
        "doctor smith lives on main saint now."
    );
    assert_eq!(normalize("$3.50"), "three dollars and fifty cents");
    assert_eq!(
        normalize("It costs 1,200 or 3.14%"),
        "it costs one thousand two hundred or three point one four percent"
    );
    assert_eq!(
        normalize("in 1984 and 2005, the 21st"),
        "in nineteen eighty four and two thousand five, the twenty first"
    );
    assert_eq!(normalize("at 10:30"), "at ten thirty");
    assert_eq!(normalize("-5 & co"), "minus five and co");
    assert_eq!(normalize("Tom & Jerry etc."), "tom and jerry et cetera.");
    // every generated word is pronounceable
    for w in g2p("On 3/4/2026 at 7:05 we sold 1,000,001 items for $99.99 (12% off).") {
        assert!(!w.phones.is_empty(), "{w:?}");
    }
}

#[test]
fn punctuation_breaks() {
    let w = g2p("Please pass the butter, but be careful. || It is very hot!");
    let br: Vec<(String, Break)> = w
        .iter()
        .filter(|w| w.break_after != Break::None)
        .map(|w| (w.text.clone(), w.break_after))
        .collect();
    assert_eq!(
        br,
        vec![
            ("butter".into(), Break::Short),
            ("careful".into(), Break::Long),
            ("hot".into(), Break::Long)
        ]
    );
    let p = text_phones("Hi, you.");
    assert_eq!(names(&p), "HH AY SIL Y UW");
    assert!(g2p("  ...!? ").is_empty());
}

#[test]
fn phone_names_round_trip() {
    for (i, p) in Phone::ALL.iter().enumerate() {
        assert_eq!(p.index(), i);
        assert_eq!(Phone::from_name(p.name()), Some(*p));
    }
    assert_eq!(Phone::from_name("ah0"), Some(Phone::AH));
    assert_eq!(Phone::from_name("pau"), Some(Phone::Sil));
    assert!(Phone::from_name("QQ").is_none());
    assert!("QQ"
        .parse::<Phone>()
        .unwrap_err()
        .to_string()
        .contains("QQ"));
}

#[test]
fn never_panics_on_odd_text() {
    let alphabet: Vec<char> = "aZ.9,:$£€%-−'’|\n &#@é日🙂0x.1st".chars().collect();
    let mut s = 0x9e3779b97f4a7c15u64;
    for _ in 0..5000 {
        let mut text = String::new();
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let len = (s % 24) as usize;
        for _ in 0..len {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            text.push(alphabet[(s % alphabet.len() as u64) as usize]);
        }
        for w in g2p(&text) {
            assert!(
                !w.phones.is_empty() && !w.phones.contains(&Phone::Sil),
                "{text:?}: {w:?}"
            );
            assert_eq!(w.phones.len(), w.stress.len());
        }
    }
    // huge numbers fall back to digits
    assert_eq!(normalize("123456789012345678901234"), "one two three four five six seven eight nine zero one two three four five six seven eight nine zero one two three four");
}
