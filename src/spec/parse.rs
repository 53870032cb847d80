//! Parsing one spec file into a located tree, within budgets.
//!
//! The budgets make hostile input cheap to reject: a size cap before reading the text, a
//! nesting cap, and caps on alias expansion (a "billion laughs" file fails in
//! milliseconds). Duplicate keys and non-UTF-8 bytes are errors with a location.

use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;
use serde_saphyr::{Location, Spanned};

use super::diagnostic::Diagnostic;
use super::source::{Origin, SourceFile};
use super::tree::{Entry, Node, Value};

/// The largest spec file read, in bytes. A 500-service spec is about 150 KiB.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// The deepest nesting of lists and mappings accepted.
pub const MAX_DEPTH: usize = 64;

/// The most events aliases may replay in one file; shared anchors in a real spec replay a
/// few thousand.
pub const MAX_ALIAS_EVENTS: usize = 20_000;

/// The most values a file may expand to, aliases included.
pub const MAX_NODES: usize = 200_000;

/// Parses a file's bytes into a tree, or says why it cannot be parsed.
pub fn parse(file: &Arc<SourceFile>, bytes: &[u8]) -> Result<Node, Diagnostic> {
    if bytes.len() > MAX_FILE_BYTES {
        let message = format!(
            "spec file `{}` is {} bytes, larger than the {} byte limit",
            file.name,
            bytes.len(),
            MAX_FILE_BYTES
        );
        return Err(Diagnostic::error("spec::too-large", message)
            .help("a stack spec is a few hundred kilobytes at most; is this the right file?"));
    }
    if let Err(err) = std::str::from_utf8(bytes) {
        let at = err.valid_up_to();
        let (line, col) = file.line_col(at.min(file.text.len()));
        let message = format!(
            "spec file `{}` is not UTF-8 text: invalid byte 0x{:02x} at line {line}, column {col}",
            file.name, bytes[at]
        );
        return Err(Diagnostic::error("spec::not-utf8", message).help("save the file as UTF-8"));
    }
    if file.text.trim().is_empty() {
        let message = format!("spec file `{}` is empty", file.name);
        return Err(Diagnostic::error("spec::empty", message)
            .help("a spec needs at least `version: 1` and `name:`"));
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_events: 4 * MAX_NODES,
            max_aliases: 10_000,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_EVENTS,
        },
        strict_booleans: true,
        with_snippet: false,
        emit_comments: false,
    };
    let raw: Spanned<Raw> = serde_saphyr::from_str_with_options(&file.text, options)
        .map_err(|err| syntax_diagnostic(file, &err))?;
    Ok(convert(file, raw))
}

fn syntax_diagnostic(file: &Arc<SourceFile>, err: &serde_saphyr::Error) -> Diagnostic {
    let err = err.without_snippet();
    let location = err.location();
    let origin = location.map(|l| origin(file, &l));
    let text = err
        .render_with_options(serde_saphyr::render_options! {
            snippets: serde_saphyr::SnippetMode::Off,
        })
        .trim()
        .to_string();
    let message = strip_location_prefix(&text);
    let (message, help) = explain(&message);
    let mut diagnostic = Diagnostic::error("spec::syntax", message).at(origin, "here");
    if let Some(help) = help {
        diagnostic = diagnostic.help(help);
    }
    diagnostic
}

/// Removes the parser's own "error: line N column M: " prefix and location suffixes; the
/// diagnostic shows the location itself.
fn strip_location_prefix(text: &str) -> String {
    let text = text.strip_prefix("error: ").unwrap_or(text);
    let text = match text.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => rest,
        _ => text,
    };
    let text = text.lines().next().unwrap_or(text);
    let text = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => text,
    };
    text.trim_end_matches('.').to_string()
}

/// Rewrites the parser's messages that users meet most into our own words with a hint.
fn explain(message: &str) -> (String, Option<&'static str>) {
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(", set DuplicateKeyPolicy").next().unwrap_or(key);
        return (
            format!("duplicate key `{key}`"),
            Some("each key may appear once in a mapping; remove or rename one of them"),
        );
    }
    if message.contains("tabs disallowed") {
        return (
            "tab character used for indentation".into(),
            Some("YAML indents with spaces only; replace the tabs with spaces"),
        );
    }
    if message.contains("alias replay limit exceeded") {
        return (
            format!("aliases in this file expand to more than {MAX_ALIAS_EVENTS} values"),
            Some("an alias bomb is refused; a real spec reuses anchors a few hundred times"),
        );
    }
    if message.to_lowercase().contains("budget") {
        let what = message.split(':').next().unwrap_or(message);
        return (
            format!("the file is too large or deep to read safely ({what})"),
            Some("specs nest at most 64 levels and hold at most 200000 values; simplify it"),
        );
    }
    if message.contains("did not find expected key") {
        return (
            message.to_string(),
            Some("check this line's indentation against the lines above it"),
        );
    }
    (message.to_string(), None)
}

fn origin(file: &Arc<SourceFile>, location: &Location) -> Origin {
    let span = location.span();
    let (offset, len) = match (span.byte_offset(), span.byte_len()) {
        (Some(offset), Some(len)) if (offset as usize) <= file.text.len() => {
            (offset as usize, len as usize)
        }
        _ => {
            let line = location.line() as usize;
            let column = location.column() as usize;
            (file.offset_of(line, column), 0)
        }
    };
    let len = len.min(file.text.len().saturating_sub(offset));
    Origin {
        file: file.clone(),
        offset,
        len,
    }
}

/// A scalar map key of any type, kept as text.
struct RawKey(String);

impl<'de> Deserialize<'de> for RawKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = RawKey;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping key that is text or a number")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<RawKey, E> {
                Ok(RawKey(v))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }

            fn visit_unit<E: de::Error>(self) -> Result<RawKey, E> {
                Ok(RawKey("null".into()))
            }
        }

        deserializer.deserialize_any(KeyVisitor)
    }
}

/// A value as the parser hands it over, before origins are attached.
enum Raw {
    Null,
    Bool(bool),
    Number(Number),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<RawKey>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Raw, E> {
        Err(E::custom("number out of range"))
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Raw, E> {
        Err(E::custom("number out of range"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Number::from_f64(v)
            .map(Raw::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Raw, D::Error> {
        Raw::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Raw::Map(entries))
    }
}

fn convert(file: &Arc<SourceFile>, raw: Spanned<Raw>) -> Node {
    let origin = origin(file, &raw.referenced);
    let value = match raw.value {
        Raw::Null => Value::Null,
        Raw::Bool(flag) => Value::Bool(flag),
        Raw::Number(number) => Value::Number(number),
        Raw::Str(text) => Value::Str(text),
        Raw::Seq(items) => Value::Seq(items.into_iter().map(|i| convert(file, i)).collect()),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(key, value)| Entry {
                    key_origin: self::origin(file, &key.referenced),
                    key: key.value.0,
                    value: convert(file, value),
                })
                .collect(),
        ),
    };
    Node { value, origin }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse_text(text: &str) -> Result<Node, Diagnostic> {
        let file = Arc::new(SourceFile::new(Path::new("t.yaml"), text));
        parse(&file, text.as_bytes())
    }

    #[test]
    fn values_keep_their_types_and_origins() {
        let node = parse_text("name: \"123\"\nreplicas: 3\nflag: yes\n").unwrap();
        let json = node.to_json();
        assert_eq!(json["name"], "123");
        assert_eq!(json["replicas"], 3);
        assert_eq!(json["flag"], "yes", "only true/false are booleans");
        let Value::Map(entries) = &node.value else {
            panic!("not a map")
        };
        assert_eq!(entries[1].key_origin.line_col(), (2, 1));
        assert_eq!(entries[1].value.origin.line_col(), (2, 11));
        assert_eq!(entries[1].value.origin.text(), "3");
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_second_key() {
        let err = parse_text("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.message, "duplicate key `a`");
        assert_eq!(err.position().unwrap(), "t.yaml:3:1");
    }

    #[test]
    fn a_billion_laughs_is_refused_quickly() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let err = parse_text(&text).unwrap_err();
        assert_eq!(err.code, "spec::syntax");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_text(&text).is_err());
    }
}
