//! Parsing one spec file into a located tree, within budgets.
//!
//! The tree is built from the YAML parser's events (granit-parser, the parser under
//! serde-saphyr), so every node gets its exact byte span at no extra cost. The budgets make
//! hostile input cheap to refuse: a size cap before reading the text, caps on nesting and
//! on the number of values, and a cap on what aliases may expand to (a "billion laughs"
//! file fails in milliseconds). Duplicate keys, a second document and non-UTF-8 bytes are
//! errors with a location. Plain scalars are typed by the YAML 1.2 core schema, with
//! `true` and `false` as the only booleans.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Number;
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, Span, Tag};

use super::diagnostic::Diagnostic;
use super::source::{Origin, SourceFile};
use super::tree::{Entry, Node, Value};

/// The largest spec file read, in bytes. A 500-service spec is about 300 KiB.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// The deepest nesting of lists and mappings accepted.
pub const MAX_DEPTH: usize = 64;

/// The most values aliases may expand to in one file; shared anchors in a real spec expand
/// to a few thousand.
pub const MAX_ALIAS_EVENTS: usize = 20_000;

/// The most values a file may hold, aliases included.
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
    Builder::new(file).run()
}

/// A collection being built, innermost last on the builder's stack.
enum Frame {
    Seq {
        origin: Origin,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        origin: Origin,
        anchor: usize,
        entries: Vec<Entry>,
        keys: HashSet<String>,
        key: Option<(String, Origin)>,
        merges: Vec<Node>,
    },
}

/// Builds the tree from parser events with an explicit stack, so depth never recurses.
struct Builder<'a> {
    file: &'a Arc<SourceFile>,
    stack: Vec<Frame>,
    root: Option<Node>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    replayed: usize,
    documents: usize,
}

impl<'a> Builder<'a> {
    fn new(file: &'a Arc<SourceFile>) -> Self {
        Self {
            file,
            stack: Vec::new(),
            root: None,
            anchors: HashMap::new(),
            nodes: 0,
            replayed: 0,
            documents: 0,
        }
    }

    fn run(mut self) -> Result<Node, Diagnostic> {
        let mut options = serde_saphyr::granit_parser::Options::default();
        options.flow_nesting_limit = MAX_DEPTH;
        options.block_nesting_limit = MAX_DEPTH;
        options.emit_comments = false;
        let text = self.file.text.clone();
        let parser = Parser::new_from_str_with_options(&text, options);
        for event in parser {
            let (event, span) = event.map_err(|err| self.scan_error(&err))?;
            self.event(event, span)?;
        }
        let end = Origin {
            file: self.file.clone(),
            offset: self.file.text.len(),
            len: 0,
        };
        Ok(self.root.unwrap_or(Node {
            value: Value::Null,
            origin: end,
        }))
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Diagnostic> {
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(self
                        .error(&span, "a second YAML document in one file")
                        .help(
                            "a spec file holds one document; remove the `---` and what follows, or \
                         split it into files merged with several `-f`",
                        ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = self.scalar(&text, style, tag.as_deref(), &span)?;
                self.count(&span, 1)?;
                let node = Node {
                    value,
                    origin: self.origin(&span),
                };
                self.remember(anchor, &node, 1);
                self.finish(node)?;
            }
            Event::SequenceStart(_, anchor, tag) => {
                self.container_tag(tag.as_deref(), "seq", &span)?;
                self.open(&span)?;
                self.stack.push(Frame::Seq {
                    origin: self.origin(&span),
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(_, anchor, tag) => {
                self.container_tag(tag.as_deref(), "map", &span)?;
                self.open(&span)?;
                self.stack.push(Frame::Map {
                    origin: self.origin(&span),
                    anchor,
                    entries: Vec::new(),
                    keys: HashSet::new(),
                    key: None,
                    merges: Vec::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(&span)?,
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id).cloned() else {
                    return Err(self.error(&span, "alias to an anchor that is not defined"));
                };
                self.replayed += size;
                if self.replayed > MAX_ALIAS_EVENTS {
                    let message = format!(
                        "aliases in this file expand to more than {MAX_ALIAS_EVENTS} values"
                    );
                    return Err(self.error(&span, &message).help(
                        "an alias bomb is refused; a real spec reuses anchors a few hundred times",
                    ));
                }
                self.count(&span, size)?;
                let origin = self.origin(&span);
                self.finish(Node { origin, ..node })?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            // The parser's event type is non-exhaustive; anchors arrive on their nodes,
            // and comments and unresolved aliases are not emitted with these options.
            _ => {}
        }
        Ok(())
    }

    fn open(&mut self, span: &Span) -> Result<(), Diagnostic> {
        self.count(span, 1)?;
        if self.stack.len() >= MAX_DEPTH {
            return Err(self
                .error(
                    span,
                    &format!("lists and mappings nest deeper than {MAX_DEPTH} levels"),
                )
                .help(
                    "a spec nests a few levels deep; this file is refused as hostile or broken",
                ));
        }
        Ok(())
    }

    fn close(&mut self, span: &Span) -> Result<(), Diagnostic> {
        let Some(frame) = self.stack.pop() else {
            return Err(self.error(span, "a list or mapping closes that was never opened"));
        };
        let (node, anchor) = match frame {
            Frame::Seq {
                origin,
                anchor,
                items,
            } => (
                Node {
                    value: Value::Seq(items),
                    origin,
                },
                anchor,
            ),
            Frame::Map {
                origin,
                anchor,
                mut entries,
                keys,
                merges,
                ..
            } => {
                merge_keys(&mut entries, keys, merges);
                (
                    Node {
                        value: Value::Map(entries),
                        origin,
                    },
                    anchor,
                )
            }
        };
        if anchor != 0 {
            let size = size_of(&node);
            self.remember(anchor, &node, size);
        }
        self.finish(node)
    }

    /// Places a finished node into its parent, or makes it the document.
    fn finish(&mut self, node: Node) -> Result<(), Diagnostic> {
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                key: key @ None, ..
            }) => {
                let text = match &node.value {
                    Value::Str(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    Value::Bool(flag) => flag.to_string(),
                    Value::Null => "null".to_string(),
                    Value::Seq(_) | Value::Map(_) => {
                        return Err(Diagnostic::error(
                            "spec::syntax",
                            "a mapping key that is a list or mapping",
                        )
                        .at(Some(node.origin), "here")
                        .help("keys are text, e.g. `name:`"));
                    }
                };
                *key = Some((text, node.origin));
                Ok(())
            }
            Some(Frame::Map {
                key: key @ Some(_),
                entries,
                keys,
                merges,
                ..
            }) => {
                let Some((name, key_origin)) = key.take() else {
                    return Ok(());
                };
                if name == "<<" {
                    merges.push(node);
                    return Ok(());
                }
                if !keys.insert(name.clone()) {
                    return Err(Diagnostic::error(
                        "spec::syntax",
                        format!("duplicate key `{name}`"),
                    )
                    .at(Some(key_origin), "here")
                    .help("each key may appear once in a mapping; remove or rename one of them"));
                }
                entries.push(Entry {
                    key: name,
                    key_origin,
                    value: node,
                });
                Ok(())
            }
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node, size: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
    }

    fn count(&mut self, span: &Span, nodes: usize) -> Result<(), Diagnostic> {
        self.nodes += nodes;
        if self.nodes > MAX_NODES {
            return Err(self
                .error(
                    span,
                    &format!("the file holds more than {MAX_NODES} values"),
                )
                .help(
                    "a spec of 500 services holds about 20000; this file is refused as hostile",
                ));
        }
        Ok(())
    }

    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: &Span,
    ) -> Result<Value, Diagnostic> {
        let core = tag
            .filter(|t| t.handle() == "tag:yaml.org,2002:")
            .map(Tag::suffix);
        match (tag, core) {
            (None, _) if style == ScalarStyle::Plain => self.plain(text, span),
            (None, _) | (Some(_), Some("str")) => Ok(Value::Str(text.to_string())),
            (Some(t), _) if t.handle() == "!" && t.suffix().is_empty() => {
                Ok(Value::Str(text.to_string()))
            }
            (Some(_), Some("int" | "float" | "bool" | "null")) => {
                let value = self.plain(text, span)?;
                let fits = matches!(
                    (core, &value),
                    (Some("int"), Value::Number(n)) if !n.is_f64()
                ) || matches!((core, &value), (Some("float"), Value::Number(_)))
                    || matches!((core, &value), (Some("bool"), Value::Bool(_)))
                    || matches!((core, &value), (Some("null"), Value::Null));
                if fits {
                    return Ok(value);
                }
                Err(self.error(
                    span,
                    &format!("`{text}` is not a valid `!!{}`", core.unwrap_or_default()),
                ))
            }
            (Some(t), _) => Err(self
                .error(
                    span,
                    &format!(
                        "the tag `{}{}` is not supported",
                        t.original_handle(),
                        t.suffix()
                    ),
                )
                .help("specs use plain YAML values; remove the tag")),
        }
    }

    /// Types a plain scalar by the YAML 1.2 core schema, with strict booleans.
    fn plain(&self, text: &str, span: &Span) -> Result<Value, Diagnostic> {
        match text {
            "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
            "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
            "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
            ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf"
            | "-.INF" | ".nan" | ".NaN" | ".NAN" => {
                return Err(self
                    .error(span, &format!("`{text}` is not a finite number"))
                    .help("quote it if it is text: `\"{text}\"`".replace("{text}", text)));
            }
            _ => {}
        }
        if let Some(number) = integer(text) {
            return number.map(Value::Number).ok_or_else(|| {
                self.error(span, &format!("the number {text} is too large"))
                    .help("numbers in a spec fit in 64 bits; quote it if it is text")
            });
        }
        if is_float(text)
            && let Some(number) = text.parse::<f64>().ok().and_then(Number::from_f64)
        {
            return Ok(Value::Number(number));
        }
        Ok(Value::Str(text.to_string()))
    }

    fn container_tag(&self, tag: Option<&Tag>, kind: &str, span: &Span) -> Result<(), Diagnostic> {
        let Some(tag) = tag else { return Ok(()) };
        if tag.handle() == "tag:yaml.org,2002:" && tag.suffix() == kind {
            return Ok(());
        }
        Err(self
            .error(
                span,
                &format!(
                    "the tag `{}{}` is not supported",
                    tag.original_handle(),
                    tag.suffix()
                ),
            )
            .help("specs use plain YAML values; remove the tag"))
    }

    fn origin(&self, span: &Span) -> Origin {
        let start = self.offset(&span.start);
        let end = self.offset(&span.end).max(start);
        Origin {
            file: self.file.clone(),
            offset: start,
            len: end - start,
        }
    }

    fn offset(&self, marker: &Marker) -> usize {
        let offset = marker
            .byte_offset()
            .unwrap_or_else(|| self.file.offset_of(marker.line(), marker.col() + 1));
        offset.min(self.file.text.len())
    }

    fn error(&self, span: &Span, message: &str) -> Diagnostic {
        Diagnostic::error("spec::syntax", message).at(Some(self.origin(span)), "here")
    }

    fn scan_error(&self, err: &serde_saphyr::granit_parser::ScanError) -> Diagnostic {
        let marker = err.marker();
        let offset = self.offset(marker);
        let origin = Origin {
            file: self.file.clone(),
            offset,
            len: 0,
        };
        let (message, help) = explain(&err.info());
        let diagnostic = Diagnostic::error("spec::syntax", message).at(Some(origin), "here");
        match help {
            Some(help) => diagnostic.help(help),
            None => diagnostic,
        }
    }
}

/// Applies `<<` merge keys: entries of the merged mappings that the mapping does not set
/// itself are added, the first merged mapping winning.
fn merge_keys(entries: &mut Vec<Entry>, keys: HashSet<String>, merges: Vec<Node>) {
    if merges.is_empty() {
        return;
    }
    let mut seen = keys;
    for merge in merges {
        let sources = match merge.value {
            Value::Map(map) => vec![map],
            Value::Seq(items) => items
                .into_iter()
                .filter_map(|item| match item.value {
                    Value::Map(map) => Some(map),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for source in sources {
            for entry in source {
                if seen.insert(entry.key.clone()) {
                    entries.push(entry);
                }
            }
        }
    }
}

/// How many values a node holds, itself included.
fn size_of(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(size_of).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|e| 1 + size_of(&e.value)).sum::<usize>(),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::Str(_) => 1,
    }
}

/// A core-schema integer: `Some(Some(n))`, `Some(None)` when it is one but out of range, or
/// `None` when the text is not an integer.
fn integer(text: &str) -> Option<Option<Number>> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(octal) = digits.strip_prefix("0o") {
        (8, octal)
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    if radix != 10 && text.starts_with(['-', '+']) {
        return None;
    }
    let Ok(magnitude) = u64::from_str_radix(digits, radix) else {
        return Some(None);
    };
    if !negative {
        return Some(Some(magnitude.into()));
    }
    Some(i64::try_from(magnitude).ok().map(|m| Number::from(-m)))
}

/// Whether text is a core-schema float: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match fraction {
        Some(fraction) => {
            digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty())
        }
        None => !whole.is_empty() && digits(whole),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Rewrites the parser's messages that users meet most into our own words with a hint.
fn explain(message: &str) -> (String, Option<&'static str>) {
    let message = message
        .lines()
        .next()
        .unwrap_or(message)
        .trim_end_matches('.');
    if message.contains("tabs disallowed") || message.contains("tab") && message.contains("indent")
    {
        return (
            "tab character used for indentation".into(),
            Some("YAML indents with spaces only; replace the tabs with spaces"),
        );
    }
    if message.contains("did not find expected key") {
        return (
            message.to_string(),
            Some("check this line's indentation against the lines above it"),
        );
    }
    if message.contains("nesting") || message.contains("recursion limit") {
        return (
            format!("lists and mappings nest deeper than {MAX_DEPTH} levels"),
            Some("a spec nests a few levels deep; this file is refused as hostile or broken"),
        );
    }
    (message.to_string(), None)
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
