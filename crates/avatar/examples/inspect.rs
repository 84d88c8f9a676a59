//! Load avatar files and print their inspect report and load time.
//!
//! `cargo run --release -p facecast-avatar --example inspect -- FILE... [--json]`

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    for a in args.iter().filter(|a| !a.starts_with("--")) {
        let t = Instant::now();
        match facecast_avatar::load(std::path::Path::new(a)) {
            Ok(av) => {
                let ms = t.elapsed().as_secs_f64() * 1e3;
                let r = facecast_avatar::inspect(&av);
                if json {
                    println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                } else {
                    print!("{r}");
                }
                println!("load time   {ms:.1} ms\n");
            }
            Err(e) => println!("error: {e}\n"),
        }
    }
}
