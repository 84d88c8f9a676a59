//! The loader's error type.

/// Why an avatar file could not be loaded. `Display` is one line naming the file and the problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AvatarError {
    /// The file could not be read.
    #[error("{file}: cannot read file: {source}")]
    Io {
        /// File name or path.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Neither a GLB container nor glTF JSON.
    #[error("{file}: not a glTF file (bad magic 0x{magic:08x})")]
    NotGltf {
        /// File name or path.
        file: String,
        /// The first four bytes, big-endian (so they read in file order).
        magic: u32,
    },
    /// The JSON chunk is not valid glTF JSON.
    #[error("{file}: invalid glTF JSON: {reason}")]
    Json {
        /// File name or path.
        file: String,
        /// What serde reported.
        reason: String,
    },
    /// `asset.version` is not 2.x.
    #[error("{file}: glTF version {version} is not supported (need 2.0)")]
    UnsupportedVersion {
        /// File name or path.
        file: String,
        /// The declared version.
        version: String,
    },
    /// A required extension the loader does not implement.
    #[error("{file}: required extension {extension} is not supported")]
    UnsupportedExtension {
        /// File name or path.
        file: String,
        /// Extension name.
        extension: String,
    },
    /// Structurally invalid content (out-of-range indices, reads past buffers, bad GLB chunks...).
    #[error("{file}: {reason}")]
    Invalid {
        /// File name or path.
        file: String,
        /// What is wrong, with the offending values.
        reason: String,
    },
}

/// Internal error without the file name; attached at the API boundary.
#[derive(Debug)]
pub(crate) enum Problem {
    Io(std::io::Error),
    NotGltf(u32),
    Json(String),
    Version(String),
    Extension(String),
    Invalid(String),
}

impl Problem {
    pub(crate) fn at(self, file: &str) -> AvatarError {
        let file = file.to_string();
        match self {
            Problem::Io(source) => AvatarError::Io { file, source },
            Problem::NotGltf(magic) => AvatarError::NotGltf { file, magic },
            Problem::Json(reason) => AvatarError::Json { file, reason },
            Problem::Version(version) => AvatarError::UnsupportedVersion { file, version },
            Problem::Extension(extension) => AvatarError::UnsupportedExtension { file, extension },
            Problem::Invalid(reason) => AvatarError::Invalid { file, reason },
        }
    }
}

/// Shorthand for an [`Problem::Invalid`] error.
macro_rules! invalid {
    ($($t:tt)*) => { $crate::error::Problem::Invalid(format!($($t)*)) };
}
pub(crate) use invalid;

pub(crate) type Res<T> = Result<T, Problem>;

impl Problem {
    /// The message without the file name.
    pub(crate) fn message(&self) -> String {
        match self {
            Problem::Io(e) => e.to_string(),
            Problem::NotGltf(m) => format!("not a glTF file (bad magic 0x{m:08x})"),
            Problem::Json(s) => format!("invalid glTF JSON: {s}"),
            Problem::Version(v) => format!("glTF version {v} is not supported"),
            Problem::Extension(e) => format!("required extension {e} is not supported"),
            Problem::Invalid(s) => s.clone(),
        }
    }
}

/// One warning for what a reader left out: `"WHAT: 2 name a node that does not exist, 1 ...;
/// those were left out"`, listing the non-zero counts with their reasons; nothing when all are
/// zero.
pub(crate) fn left_out(warnings: &mut Vec<String>, what: &str, counts: &[(usize, &str)]) {
    let issues: Vec<String> = counts
        .iter()
        .filter(|(k, _)| *k > 0)
        .map(|(k, why)| format!("{k} {why}"))
        .collect();
    if !issues.is_empty() {
        warnings.push(format!(
            "{what}: {}; those were left out",
            issues.join(", ")
        ));
    }
}
