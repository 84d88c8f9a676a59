//! Stand-in for `facecast serve` until/besides the CLI: `serve [serve] [--addr HOST:PORT] [--avatar FILE]...
//! [--rtc-ip IP] [--web-dir DIR]`.

use std::path::PathBuf;

#[tokio::main]
async fn main() {
    let mut cfg = facecast_server::ServerConfig::default();
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("serve") {
        args.next();
    }
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("error: {name} needs a value");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "--addr" => {
                let v = val("--addr");
                cfg.addr = v.parse().unwrap_or_else(|e| {
                    eprintln!("error: --addr '{v}': {e}");
                    std::process::exit(2)
                });
            }
            "--avatar" => cfg.avatars.push(PathBuf::from(val("--avatar"))),
            "--rtc-ip" => {
                let v = val("--rtc-ip");
                cfg.rtc_advertise_ip = Some(v.parse().unwrap_or_else(|e| {
                    eprintln!("error: --rtc-ip '{v}': {e}");
                    std::process::exit(2)
                }));
            }
            "--web-dir" => cfg.web_dir = Some(PathBuf::from(val("--web-dir"))),
            other => {
                eprintln!("error: unknown argument '{other}'");
                std::process::exit(2)
            }
        }
    }
    if let Err(e) = facecast_server::serve(cfg).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
