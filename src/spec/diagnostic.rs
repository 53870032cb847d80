//! Diagnostics for spec problems: what is wrong, where, what was found, and a hint.
//!
//! Every problem the loader finds becomes one [`Diagnostic`]; a load reports all of them at
//! once. They render through miette with the file, line and column, the offending span
//! underlined, and the help text under it.

use std::fmt;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};

use super::source::Origin;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The spec cannot be used.
    Error,
    /// The spec can be used, but probably does not say what was meant.
    Warning,
}

/// One problem found in a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// A stable identifier, e.g. `spec::unknown-field`, for documentation and tests.
    pub code: &'static str,
    /// What is wrong, lowercase, naming the value found.
    pub message: String,
    /// Where, when known.
    pub origin: Option<Origin>,
    /// The short text under the underlined span.
    pub label: String,
    /// What is allowed, or how to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with a message and no location yet.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            level: Level::Error,
            code,
            message: message.into(),
            origin: None,
            label: String::new(),
            help: None,
        }
    }

    /// A warning with a message and no location yet.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            ..Self::error(code, message)
        }
    }

    /// Places the diagnostic at an origin, with the text shown under the span.
    pub fn at(mut self, origin: Option<Origin>, label: impl Into<String>) -> Self {
        self.origin = origin;
        self.label = label.into();
        self
    }

    /// Adds the hint shown under the snippet.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col` of the diagnostic, when it has a location.
    pub fn position(&self) -> Option<String> {
        self.origin.as_ref().map(Origin::position)
    }

    /// Renders the diagnostic as miette's report, `width` columns wide.
    pub fn render(&self, color: bool, width: usize) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme).with_width(width);
        let view = View::new(self);
        let mut out = String::new();
        if handler.render_report(&mut out, &view).is_err() {
            out = format!("{}: {}\n", self.level_word(), self.message);
        }
        out
    }

    fn level_word(&self) -> &'static str {
        match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }

    /// The sort key that puts diagnostics in reading order: file, then position.
    fn sort_key(&self) -> (String, usize, Level) {
        match &self.origin {
            Some(origin) => (origin.file.name.clone(), origin.offset, self.level),
            None => (String::new(), 0, self.level),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position() {
            Some(position) => write!(f, "{}: {position}: {}", self.level_word(), self.message),
            None => write!(f, "{}: {}", self.level_word(), self.message),
        }
    }
}

/// The miette view of a diagnostic: it owns the named source miette renders from.
struct View<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<NamedSource<Arc<str>>>,
}

impl<'a> View<'a> {
    fn new(diagnostic: &'a Diagnostic) -> Self {
        let source = diagnostic.origin.as_ref().map(|origin| {
            NamedSource::new(origin.file.name.clone(), origin.file.text.clone())
                .with_language("yaml")
        });
        Self { diagnostic, source }
    }
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for View<'_> {}

impl miette::Diagnostic for View<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.level {
            Level::Error => miette::Severity::Error,
            Level::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let origin = self.diagnostic.origin.as_ref()?;
        let label = Some(self.diagnostic.label.clone()).filter(|l| !l.is_empty());
        let span = LabeledSpan::new(label, origin.offset, origin.len);
        Some(Box::new(std::iter::once(span)))
    }
}

/// Every problem found in one load, in reading order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// Adds one diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Adds several diagnostics.
    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(diagnostics);
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.level == Level::Error)
    }

    /// How many errors and how many warnings.
    pub fn counts(&self) -> (usize, usize) {
        let errors = self.0.iter().filter(|d| d.level == Level::Error).count();
        (errors, self.0.len() - errors)
    }

    /// The diagnostics in reading order (file, then position), duplicates removed.
    pub fn sorted(mut self) -> Self {
        self.0.sort_by_key(Diagnostic::sort_key);
        self.0.dedup();
        self
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The diagnostics.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Renders every diagnostic, each followed by a blank line.
    pub fn render(&self, color: bool, width: usize) -> String {
        self.0
            .iter()
            .map(|d| d.render(color, width))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.0 {
            writeln!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
