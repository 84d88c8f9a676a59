//! Text to speech through a local command (`POST /v1/sessions/{id}/speak` with `{"text"}`).
//!
//! facecast ships no voice of its own. A speech engine is any program that reads text on stdin
//! and writes an audio file (WAV, MP3, FLAC or Ogg) to stdout, e.g. `espeak-ng --stdin --stdout`
//! (Debian package `espeak-ng`) or a wrapper script around a neural TTS. `facecast serve --tts`
//! picks one: `auto` (the default) uses `espeak-ng` when it is on `PATH`, `off` disables text,
//! anything else is the command line to run (split on whitespace, no shell). The synthesized
//! audio is spoken as one segment, with the text used for text-assisted lip sync.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest text accepted in one request (characters).
pub const MAX_TEXT_CHARS: usize = 5000;
/// Largest audio a speech engine may return (bytes).
const MAX_AUDIO_BYTES: usize = 64 << 20;

/// A text-to-speech command.
#[derive(Clone, Debug, PartialEq)]
pub struct Tts {
    /// Program to run.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Longest time a synthesis may take before the program is killed.
    pub timeout: Duration,
}

/// Why synthesis failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TtsError {
    /// The program could not be started.
    #[error("cannot run the speech engine '{program}': {reason}")]
    Spawn {
        /// The program.
        program: String,
        /// OS error text.
        reason: String,
    },
    /// The program exited with an error.
    #[error("the speech engine '{program}' failed ({status}): {stderr}")]
    Failed {
        /// The program.
        program: String,
        /// Exit status.
        status: String,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// The program ran longer than the timeout.
    #[error("the speech engine '{program}' took longer than {secs} s and was stopped")]
    Timeout {
        /// The program.
        program: String,
        /// The timeout.
        secs: u64,
    },
    /// The program wrote nothing, or more than the limit.
    #[error("the speech engine '{program}' {what}")]
    Output {
        /// The program.
        program: String,
        /// What was wrong.
        what: String,
    },
}

impl Tts {
    /// A command line (program and arguments separated by whitespace; no shell).
    pub fn command(line: &str) -> Option<Tts> {
        let mut parts = line.split_whitespace().map(str::to_string);
        let program = parts.next()?;
        Some(Tts {
            program,
            args: parts.collect(),
            timeout: Duration::from_secs(30),
        })
    }

    /// `espeak-ng` when it is on `PATH`.
    pub fn detect() -> Option<Tts> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .any(|d| is_executable(&d.join("espeak-ng")))
            .then(|| Tts::command("espeak-ng --stdin --stdout").expect("non-empty"))
    }

    /// Parses `--tts` / `FACECAST_TTS`: `auto` (or empty), `off`, or a command line.
    pub fn from_setting(s: &str) -> Option<Tts> {
        match s.trim() {
            "" | "auto" => Tts::detect(),
            "off" | "none" => None,
            cmd => Tts::command(cmd),
        }
    }

    /// Runs the command with `text` on stdin; returns what it wrote to stdout.
    pub fn synthesize(&self, text: &str) -> Result<Vec<u8>, TtsError> {
        let program = self.program.clone();
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| TtsError::Spawn {
                program: program.clone(),
                reason: e.to_string(),
            })?;
        // Feed stdin and drain stdout/stderr on their own threads so no pipe can fill up.
        let mut stdin = child.stdin.take().expect("piped");
        let input = text.as_bytes().to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
            let _ = stdin.write_all(b"\n");
        });
        let mut stdout = child.stdout.take().expect("piped");
        let overflow = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let over = overflow.clone();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let r = (&mut stdout)
                .take(MAX_AUDIO_BYTES as u64 + 1)
                .read_to_end(&mut out);
            if out.len() > MAX_AUDIO_BYTES {
                over.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            r.map(|_| out)
        });
        let too_much = |program: String| TtsError::Output {
            program,
            what: format!("wrote more than {} MB of audio", MAX_AUDIO_BYTES >> 20),
        };
        let mut stderr = child.stderr.take().expect("piped");
        let err_reader = std::thread::spawn(move || {
            let mut e = Vec::new();
            let _ = (&mut stderr).take(64 << 10).read_to_end(&mut e);
            e
        });
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                // The reader stopped at the limit: the program would block on a full pipe.
                Ok(None) if overflow.load(std::sync::atomic::Ordering::Relaxed) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(too_much(program));
                }
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(TtsError::Timeout {
                        program,
                        secs: self.timeout.as_secs(),
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => {
                    return Err(TtsError::Spawn {
                        program,
                        reason: e.to_string(),
                    })
                }
            }
        };
        let _ = writer.join();
        let out = reader.join().ok().and_then(|r| r.ok()).unwrap_or_default();
        let err = err_reader.join().unwrap_or_default();
        // Checked first: a program cut off at the limit may die of the closed pipe (SIGPIPE).
        if overflow.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(too_much(program));
        }
        if !status.success() {
            let e = String::from_utf8_lossy(&err);
            let e = e.trim();
            let tail: String = e
                .chars()
                .rev()
                .take(300)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(TtsError::Failed {
                program,
                status: status.to_string(),
                stderr: if tail.is_empty() {
                    "(no message)".into()
                } else {
                    tail
                },
            });
        }
        if out.is_empty() {
            return Err(TtsError::Output {
                program,
                what: "wrote no audio to stdout".into(),
            });
        }
        Ok(out)
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings() {
        assert_eq!(Tts::from_setting("off"), None);
        let t = Tts::from_setting("my-tts --voice en").unwrap();
        assert_eq!(t.program, "my-tts");
        assert_eq!(t.args, vec!["--voice", "en"]);
    }

    fn sh(script: &str) -> Tts {
        Tts {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn failures_are_named() {
        let e = Tts::command("/nonexistent/tts")
            .unwrap()
            .synthesize("hi")
            .unwrap_err();
        assert!(matches!(e, TtsError::Spawn { .. }), "{e}");
        let e = sh("echo broken voice >&2; exit 7")
            .synthesize("hi")
            .unwrap_err();
        assert!(
            matches!(e, TtsError::Failed { .. }) && e.to_string().contains("broken voice"),
            "{e}"
        );
        // Reads its input, writes nothing.
        let e = sh("cat >/dev/null").synthesize("hi").unwrap_err();
        assert!(matches!(e, TtsError::Output { .. }), "{e}");
        // Echoes the text: what it writes comes back.
        assert_eq!(sh("cat").synthesize("hi").unwrap(), b"hi\n");
        // Endless output: stopped at the limit, not left to the timeout.
        let t0 = Instant::now();
        let e = sh("cat /dev/zero").synthesize("hi").unwrap_err();
        assert!(e.to_string().contains("more than 64 MB"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(5));
        let mut slow = sh("sleep 5");
        slow.timeout = Duration::from_millis(200);
        let t0 = Instant::now();
        assert!(matches!(
            slow.synthesize("hi"),
            Err(TtsError::Timeout { .. })
        ));
        assert!(t0.elapsed() < Duration::from_secs(3));
    }
}
