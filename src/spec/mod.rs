//! The stack spec: typed model, loading from YAML, and checks with located diagnostics.
//!
//! `load` is the entry point: it reads the `-f` files, merges them in order, interpolates
//! `${VAR}` references, checks the result against the schema and the semantic rules, and
//! returns the typed [`Stack`] or every problem found, each located in its file.

pub mod diagnostic;
pub mod interpolate;
mod load;
pub mod merge;
pub mod model;
pub mod names;
pub mod parse;
pub mod schema;
pub mod source;
pub mod tree;
mod validate;
pub mod values;

pub use diagnostic::{Diagnostic, Diagnostics, Level};
pub use load::{LoadOptions, Loaded, load, load_bytes, load_str, load_with};
pub use model::*;
