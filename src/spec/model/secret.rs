//! Secret references and environment values that may hold them.
//!
//! A secret is never written in the spec: the spec names it, and apply reads it from the
//! environment or from a file at the last moment, handing it only to the container.

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `{ secret: NAME }` or `{ secret: NAME, file: PATH }`: a value read at apply time.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The secret's name; also the environment variable read when no `file` is given.
    pub secret: String,
    /// A file holding the value, relative to the spec file that names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the reference is shown; the value is never held here.
        write!(f, "SecretRef({})", self.secret)
    }
}

/// The value of an environment variable: plain text or a secret reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    /// A value read at apply time and never printed.
    Secret(SecretRef),
    /// Text written in the spec; numbers and booleans are kept as they were written.
    Plain(PlainScalar),
}

impl EnvValue {
    /// The secret reference, when the value is one.
    pub fn secret(&self) -> Option<&SecretRef> {
        match self {
            Self::Secret(secret) => Some(secret),
            Self::Plain(_) => None,
        }
    }

    /// The text, when the value is plain.
    pub fn plain(&self) -> Option<String> {
        match self {
            Self::Secret(_) => None,
            Self::Plain(scalar) => Some(scalar.to_string()),
        }
    }
}

/// A scalar environment value: text, a number or a boolean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PlainScalar {
    /// Text.
    Text(String),
    /// A number, kept as written.
    Number(serde_json::Number),
    /// A boolean, written `true` or `false`.
    Bool(bool),
}

impl fmt::Display for PlainScalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Number(number) => write!(f, "{number}"),
            Self::Bool(flag) => write!(f, "{flag}"),
        }
    }
}
