//! Print the G2P result of the text given on the command line.
//! `cargo run -p facecast-text --example g2p -- "Dr. Smith paid $42.50 on 3/4."`
fn main() {
    let text = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    println!("normalized: {}", facecast_text::normalize(&text));
    for w in facecast_text::g2p(&text) {
        let ph: Vec<&str> = w.phones.iter().map(|p| p.name()).collect();
        println!(
            "{:14} {:?} {:?} {}",
            w.text,
            w.source,
            w.break_after,
            ph.join(" ")
        );
    }
}
