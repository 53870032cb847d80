//! Semantic checks of a typed stack: rules no schema can express, all reported at once.
//!
//! Each check reads the typed [`Stack`] and reports through [`Report`], which finds the
//! YAML origin of the path it is given. Checks never stop at the first problem.

mod gateway;
mod monitoring;
mod services;
#[cfg(test)]
mod tests;
mod workloads;

use super::diagnostic::{Diagnostic, Level};
use super::names::NameError;
use super::tree::{Node, Path};
use super::values::Date;
use super::{Stack, names};

/// Runs every semantic check; `today` dates the waivers.
pub fn check(stack: &Stack, tree: &Node, today: Date) -> Vec<Diagnostic> {
    let mut report = Report {
        tree,
        found: Vec::new(),
    };
    let root = Path::root();
    if stack.version != 1 {
        report.error(
            "spec::version",
            &root.key("version"),
            format!("spec version {} is not supported", stack.version),
            "unsupported version",
            "this Stackwright reads `version: 1`",
        );
    }
    report.name(
        &root.key("name"),
        names::dns_label("stack", &stack.name, names::MAX_STACK_NAME),
    );
    services::check(stack, &mut report);
    gateway::check(stack, &mut report);
    monitoring::check(stack, &mut report);
    workloads::check(stack, &mut report, today);
    report.found
}

/// Collects diagnostics, placing each at the YAML origin of a path.
pub(crate) struct Report<'a> {
    tree: &'a Node,
    found: Vec<Diagnostic>,
}

impl Report<'_> {
    /// An error at the value of `path`.
    pub fn error(
        &mut self,
        code: &'static str,
        path: &Path,
        message: impl Into<String>,
        label: &str,
        help: impl Into<String>,
    ) {
        self.push(
            Level::Error,
            code,
            path,
            false,
            message.into(),
            label,
            help.into(),
        );
    }

    /// A warning at the value of `path`.
    pub fn warning(
        &mut self,
        code: &'static str,
        path: &Path,
        message: impl Into<String>,
        label: &str,
        help: impl Into<String>,
    ) {
        self.push(
            Level::Warning,
            code,
            path,
            false,
            message.into(),
            label,
            help.into(),
        );
    }

    /// An error at the key that ends `path` (for problems with a mapping's key itself).
    pub fn key_error(
        &mut self,
        code: &'static str,
        path: &Path,
        message: impl Into<String>,
        label: &str,
        help: impl Into<String>,
    ) {
        self.push(
            Level::Error,
            code,
            path,
            true,
            message.into(),
            label,
            help.into(),
        );
    }

    /// Whether the spec wrote a value at `path` (rather than leaving it to its default).
    pub fn written(&self, path: &Path) -> bool {
        self.tree.get(path).is_some()
    }

    /// Reports a refused name or path at the value of `path`.
    pub fn name(&mut self, path: &Path, result: Result<(), NameError>) {
        if let Err(err) = result {
            self.error(
                "spec::bad-name",
                path,
                err.message,
                "not allowed here",
                err.help,
            );
        }
    }

    /// Reports a refused mapping key at the key itself.
    pub fn key_name(&mut self, path: &Path, result: Result<(), NameError>) {
        if let Err(err) = result {
            self.key_error(
                "spec::bad-name",
                path,
                err.message,
                "not allowed here",
                err.help,
            );
        }
    }

    #[allow(clippy::too_many_arguments)] // One private constructor behind the named helpers.
    fn push(
        &mut self,
        level: Level,
        code: &'static str,
        path: &Path,
        at_key: bool,
        message: String,
        label: &str,
        help: String,
    ) {
        let origin = if at_key {
            self.tree.key_origin_of(path)
        } else {
            self.tree.origin_of(path)
        };
        let diagnostic = match level {
            Level::Error => Diagnostic::error(code, message),
            Level::Warning => Diagnostic::warning(code, message),
        };
        self.found
            .push(diagnostic.at(Some(origin), label).help(help));
    }
}

/// "did you mean `x`?" or the list of names that exist.
pub(crate) fn suggest<'a>(word: &str, known: impl IntoIterator<Item = &'a str> + Clone) -> String {
    match names::did_you_mean(word, known.clone()) {
        Some(guess) => format!("did you mean `{guess}`?"),
        None => {
            let all: Vec<String> = known.into_iter().map(|k| format!("`{k}`")).collect();
            if all.is_empty() {
                "the stack defines none".into()
            } else {
                format!("defined: {}", all.join(", "))
            }
        }
    }
}

/// Refuses text that would need escaping in every output format: control characters.
pub(crate) fn plain_text(kind: &str, text: &str) -> Result<(), NameError> {
    match text.chars().find(|c| c.is_control() && *c != '\n') {
        Some(c) => Err(NameError {
            message: format!("{kind} contains the control character U+{:04X}", c as u32),
            help: format!("a {kind} is printable text"),
        }),
        None => Ok(()),
    }
}
