//! `decode_info FILE...`: print rate, channels and duration of each file, or the decode error.
fn main() {
    for p in std::env::args().skip(1) {
        match facecast_audio::decode_file(std::path::Path::new(&p)) {
            Ok(a) => println!(
                "{p}: {} Hz, {} ch, {:.3} s",
                a.rate,
                a.channels,
                a.duration_secs()
            ),
            Err(e) => println!("{p}: error: {e}"),
        }
    }
}
