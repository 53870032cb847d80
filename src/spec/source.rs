//! Spec source files and origins: which file, and which bytes of it, a value came from.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One spec file as read from disk (or given as text), kept for diagnostics.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The name shown in diagnostics: the path as the user gave it.
    pub name: String,
    /// The path, for resolving relative paths written in the file.
    pub path: PathBuf,
    /// The text. Empty when the file could not be read as UTF-8 text.
    pub text: Arc<str>,
    /// The byte offset where each line starts, for turning positions into offsets cheaply.
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// A source with its display name taken from the path.
    pub fn new(path: &Path, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            name: path.display().to_string(),
            path: path.to_path_buf(),
            text,
            line_starts,
        }
    }

    /// The directory relative paths in this file are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// The byte offset of a 1-based line and character column, clamped to the text.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let Some(&start) = line.checked_sub(1).and_then(|i| self.line_starts.get(i)) else {
            return self.text.len();
        };
        let within: usize = self.text[start..]
            .chars()
            .take_while(|c| *c != '\n')
            .take(column.saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        start + within
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Where a value was written: a file and a byte range in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: Arc<SourceFile>,
    /// The byte offset of the value's first character.
    pub offset: usize,
    /// The length in bytes of the value's text (0 when unknown).
    pub len: usize,
}

impl Origin {
    /// The 1-based line and column of the start.
    pub fn line_col(&self) -> (usize, usize) {
        self.file.line_col(self.offset)
    }

    /// `file:line:col`, as shown in diagnostics.
    pub fn position(&self) -> String {
        let (line, col) = self.line_col();
        format!("{}:{line}:{col}", self.file.name)
    }

    /// The text the origin covers.
    pub fn text(&self) -> &str {
        let end = (self.offset + self.len).min(self.file.text.len());
        self.file.text.get(self.offset..end).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_positions_agree_on_multibyte_text() {
        let file = SourceFile::new(Path::new("a.yaml"), "é: 1\nname: x\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(4), (1, 4));
        assert_eq!(file.offset_of(2, 7), 12);
        assert_eq!(file.line_col(12), (2, 7));
        assert_eq!(file.base_dir(), PathBuf::from("."));
    }
}
