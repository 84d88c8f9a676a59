//! `facecast`: a real-time talking-avatar engine.
//!
//! This binary only parses arguments and wires the library crates together; all behaviour lives
//! in the `facecast-*` crates. Errors are printed as one line on stderr with a non-zero exit code.

mod args;
mod bench;
mod cmd;
mod out;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of standard output went away (`facecast inspect X | head`): done.
        Err(e) if out::closed(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line: the outermost context, then the causes joined.
            let mut msg = e.to_string();
            for cause in e.chain().skip(1) {
                let c = cause.to_string();
                if !msg.contains(&c) {
                    msg.push_str(": ");
                    msg.push_str(&c);
                }
            }
            facecast_core::diag!("facecast: error: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}
