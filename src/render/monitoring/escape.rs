//! Escaping for the languages that spec values reach inside monitoring files.
//!
//! Names in a spec are validated as DNS labels before rendering, but these files are read by
//! programs that would act on a stray quote or brace, so every spec value is escaped for the
//! language it lands in: PromQL string literals, RE2 regular expressions, Go templates
//! (Prometheus annotations, Alertmanager fields), relabel replacements and Markdown.

use std::borrow::Cow;
use std::fmt::Write as _;

/// A PromQL (and Alertmanager matcher) double-quoted string literal holding exactly `value`.
///
/// PromQL reads string literals with Go's escape rules, so quotes, backslashes and control
/// characters are escaped and everything else is kept as UTF-8.
pub fn promql_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_promql_string(&mut out, value);
    out
}

/// Appends [`promql_string`]`(value)` to `out`.
pub fn push_promql_string(out: &mut String, value: &str) {
    out.push('"');
    let plain = !value
        .bytes()
        .any(|b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f);
    if plain {
        out.push_str(value);
        out.push('"');
        return;
    }
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// An RE2 pattern matching exactly `value`, for label matchers (`=~`) and relabel regexes.
pub fn regex_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A relabel `replacement` that yields exactly `value`: `$` starts a group reference there.
pub fn relabel_replacement(value: &str) -> String {
    value.replace('$', "$$")
}

/// Go template text that prints exactly `value`.
///
/// Only `{{` starts an action in Go's text/template, so text without it is kept as is;
/// otherwise the whole value becomes one action printing a Go string literal.
pub fn go_template_literal(value: &str) -> Cow<'_, str> {
    if !value.contains("{{") {
        return Cow::Borrowed(value);
    }
    Cow::Owned(format!("{{{{ {} }}}}", promql_string(value)))
}

/// Markdown text that shows `value` literally, on one line, placed after other text on
/// that line (so line-start constructs such as lists need no escaping).
pub fn markdown_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if "\\`*_[]#|~".contains(c) => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown code span showing `value` literally, with a fence longer than any run of
/// backticks inside it.
pub fn markdown_code(value: &str) -> String {
    let one_line: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let longest = one_line
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A space pads content that starts or ends with a backtick; Markdown strips it again.
    let pad = if one_line.starts_with('`') || one_line.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{one_line}{pad}{fence}")
}

/// A file-name-safe form of `value`: ASCII letters, digits, `-` and `_` are kept, anything
/// else becomes `_`; never empty and never starting with a dot.
pub fn file_stem(value: &str) -> String {
    let stem: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() { "_".into() } else { stem }
}

/// A stable 64-bit FNV-1a hash, for identifiers that must not change between releases
/// (the standard library's hasher makes no such promise).
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(promql_string("backend"), r#""backend""#);
        assert_eq!(
            promql_string("a\"} or vector(1) #\\"),
            r#""a\"} or vector(1) #\\""#
        );
        assert_eq!(promql_string("x\ny\u{1}"), r#""x\ny\x01""#);
        assert_eq!(promql_string("café"), "\"café\"");
    }

    #[test]
    fn regex_literals_escape_every_metacharacter() {
        assert_eq!(regex_literal("a.b|c(d)*"), r"a\.b\|c\(d\)\*");
        assert_eq!(regex_literal("uns"), "uns");
    }

    #[test]
    fn template_literals_only_change_text_with_braces() {
        assert_eq!(go_template_literal("#ops"), "#ops");
        assert_eq!(
            go_template_literal("{{ template \"x\" }}"),
            r#"{{ "{{ template \"x\" }}" }}"#
        );
    }

    #[test]
    fn markdown_text_cannot_open_links_headings_or_html() {
        assert_eq!(
            markdown_text("[x](http://e) <b>\n# h"),
            r"\[x\](http://e) &lt;b&gt; \# h"
        );
        assert_eq!(markdown_code("a `b` c"), "``a `b` c``");
        assert_eq!(markdown_code("`b`"), "`` `b` ``");
    }

    #[test]
    fn file_stems_never_leave_their_directory() {
        assert_eq!(file_stem("../etc/passwd"), "___etc_passwd");
        assert_eq!(file_stem(""), "_");
        assert_eq!(file_stem("ops-board_1"), "ops-board_1");
    }

    #[test]
    fn stable_hashes_separate_their_parts() {
        assert_ne!(stable_hash(&["ab", "c"]), stable_hash(&["a", "bc"]));
        assert_eq!(stable_hash(&["uns"]), stable_hash(&["uns"]));
    }
}
