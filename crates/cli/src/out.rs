//! Writing to standard output when its reader may go away first (`facecast inspect X | head`).
//!
//! A closed pipe is not an error of ours: the command stops writing and exits successfully and
//! quietly, as `head`'s readers expect, instead of printing "Broken pipe" (or panicking, which
//! `println!` does).

use std::fmt;
use std::io::{self, Write};

/// The reader of standard output went away (`EPIPE`); `main` exits quietly with success.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Maps an error writing standard output: a closed pipe becomes [`StdoutClosed`], anything
/// else says it was standard output that failed.
pub fn error(e: io::Error) -> anyhow::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        anyhow::Error::new(StdoutClosed)
    } else {
        anyhow::Error::new(e).context("cannot write to standard output")
    }
}

/// Writes `args` and a newline to standard output (see [`outln!`](crate::outln)).
pub fn line(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(error)
}

/// Whether an error (or one of its causes) is [`StdoutClosed`].
pub fn closed(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<StdoutClosed>())
}

/// `println!` that returns from the enclosing function with [`StdoutClosed`] when the reader of
/// standard output went away, instead of panicking.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))?
    };
}
