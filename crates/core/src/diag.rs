//! Diagnostic lines on standard error that never panic.
//!
//! `eprintln!` panics when standard error cannot be written (its reader went away, as with
//! `facecast serve 2>&1 | head`, or a log pipe a supervisor closed). A server must not die, nor
//! a command turn a clear error into a panic, because nobody is reading its diagnostics any
//! more: [`diag!`](crate::diag!) writes the line if it can and drops it if not.

use std::fmt;
use std::io::Write;

/// Writes `args` and a newline to standard error while holding its lock (lines of several
/// threads do not interleave); a failure to write (closed pipe, full disk) is ignored.
pub fn line(args: fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// `eprintln!` that drops the line instead of panicking when standard error cannot be written.
///
/// ```
/// facecast_core::diag!("facecast: loaded {} avatars", 2);
/// ```
#[macro_export]
macro_rules! diag {
    ($($arg:tt)*) => {
        $crate::diag::line(format_args!($($arg)*))
    };
}
