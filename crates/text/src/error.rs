//! The crate's error type.

/// Errors of facecast-text. Messages name the offending value.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// A phone name that is not ARPAbet.
    #[error("unknown phone {0:?} (expected an ARPAbet phone such as AA, B, SIL)")]
    UnknownPhone(String),
    /// A Rhubarb shape letter outside A-H, X.
    #[error("unknown Rhubarb mouth shape {0:?} (expected A-H or X)")]
    UnknownShape(String),
    /// Input that is not valid JSON.
    #[error("{format}: invalid JSON: {source}")]
    Json {
        /// The format being parsed.
        format: &'static str,
        /// The parser error.
        source: serde_json::Error,
    },
    /// JSON / text that does not have the expected shape.
    #[error("{format}: {problem}")]
    Malformed {
        /// The format being parsed.
        format: &'static str,
        /// What is wrong, with the offending value.
        problem: String,
    },
    /// The input matched none of the known timing formats.
    #[error("unrecognised timing format: {0}")]
    UnknownFormat(String),
    /// Bad arguments to the aligner.
    #[error("align: {0}")]
    Align(String),
}

pub(crate) fn malformed(format: &'static str, problem: impl Into<String>) -> TextError {
    TextError::Malformed {
        format,
        problem: problem.into(),
    }
}
