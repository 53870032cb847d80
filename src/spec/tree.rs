//! The located YAML tree: every value and key with the file and bytes it came from.
//!
//! Parsing produces one tree per file; merging and interpolation work on trees, so every
//! value keeps its origin until the typed model is built and diagnostics can point at the
//! right file, line and column.

use std::fmt;

use serde_json::{Map, Number};

use super::source::Origin;

/// A value with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written.
    pub origin: Origin,
}

/// A YAML value after the core schema has decided its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A finite number.
    Number(Number),
    /// Text.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, in the order written; keys are unique.
    Map(Vec<Entry>),
}

/// One key and its value in a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key's text.
    pub key: String,
    /// Where the key was written.
    pub key_origin: Origin,
    /// The value.
    pub value: Node,
}

/// One step of a path into the tree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A path into the tree, printed like `services.backend.ports[0]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(pub Vec<Seg>);

impl Path {
    /// The empty path: the document itself.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path followed by a key.
    pub fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_string()));
        Self(segs)
    }

    /// This path followed by a list index.
    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Self(segs)
    }

    /// Reads a JSON pointer (`/services/backend/ports/0`) against the tree, so numeric
    /// steps become indexes only where the tree has a list.
    pub fn from_pointer(pointer: &str, root: &Node) -> Self {
        let mut path = Self::root();
        let mut node = Some(root);
        for raw in pointer.split('/').skip(1) {
            let step = raw.replace("~1", "/").replace("~0", "~");
            let seg = match (node.map(|n| &n.value), step.parse::<usize>()) {
                (Some(Value::Seq(_)), Ok(index)) => Seg::Index(index),
                _ => Seg::Key(step),
            };
            node = node.and_then(|n| n.child(&seg));
            path.0.push(seg);
        }
        path
    }

    /// The last key of the path, if it ends with one.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Seg::Key(key)) => Some(key),
            Some(Seg::Index(_)) | None => None,
        }
    }

    /// The path without its last step.
    pub fn parent(&self) -> Self {
        let mut segs = self.0.clone();
        segs.pop();
        Self(segs)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("the document");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(key) if i == 0 => write!(f, "{key}")?,
                Seg::Key(key) if is_plain_key(key) => write!(f, ".{key}")?,
                Seg::Key(key) => write!(f, "[{key:?}]")?,
                Seg::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Node {
    /// The child at one step, if any.
    pub fn child(&self, seg: &Seg) -> Option<&Node> {
        match (&self.value, seg) {
            (Value::Map(entries), Seg::Key(key)) => {
                entries.iter().find(|e| &e.key == key).map(|e| &e.value)
            }
            (Value::Seq(items), Seg::Index(index)) => items.get(*index),
            _ => None,
        }
    }

    /// The node at a path, if it exists.
    pub fn get(&self, path: &Path) -> Option<&Node> {
        path.0.iter().try_fold(self, |node, seg| node.child(seg))
    }

    /// The best origin for a path: the value's when it exists, otherwise the origin of the
    /// deepest existing ancestor.
    pub fn origin_of(&self, path: &Path) -> Origin {
        let mut node = self;
        for seg in &path.0 {
            match node.child(seg) {
                Some(child) => node = child,
                None => break,
            }
        }
        node.origin.clone()
    }

    /// The origin of a mapping key at a path (the path ends with the key), falling back to
    /// the value's origin.
    pub fn key_origin_of(&self, path: &Path) -> Origin {
        let (Some(key), Some(parent)) = (path.last_key(), self.get(&path.parent())) else {
            return self.origin_of(path);
        };
        match &parent.value {
            Value::Map(entries) => entries
                .iter()
                .find(|e| e.key == key)
                .map_or_else(|| parent.origin.clone(), |e| e.key_origin.clone()),
            _ => self.origin_of(path),
        }
    }

    /// The JSON form of the tree, for schema validation and typed deserialization.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(flag) => serde_json::Value::Bool(*flag),
            Value::Number(number) => serde_json::Value::Number(number.clone()),
            Value::Str(text) => serde_json::Value::String(text.clone()),
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => {
                let map: Map<String, serde_json::Value> = entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect();
                serde_json::Value::Object(map)
            }
        }
    }
}

impl Value {
    /// How the value is called in messages: "text `x`", "the number 3", "a list" ...
    pub fn describe(&self) -> String {
        match self {
            Self::Null => "nothing (null)".into(),
            Self::Bool(flag) => format!("`{flag}`"),
            Self::Number(number) => format!("the number {number}"),
            Self::Str(text) => format!("text `{}`", shorten(text)),
            Self::Seq(_) => "a list".into(),
            Self::Map(_) => "a mapping".into(),
        }
    }
}

/// Describes a JSON value the way [`Value::describe`] describes a tree value.
pub fn describe_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "nothing (null)".into(),
        serde_json::Value::Bool(flag) => format!("`{flag}`"),
        serde_json::Value::Number(number) => format!("the number {number}"),
        serde_json::Value::String(text) => format!("text `{}`", shorten(text)),
        serde_json::Value::Array(_) => "a list".into(),
        serde_json::Value::Object(_) => "a mapping".into(),
    }
}

/// Cuts long text for messages, keeping it on one line.
pub fn shorten(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= 60 {
        return one_line;
    }
    let cut: String = one_line.chars().take(57).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_the_yaml_they_point_into() {
        let path = Path::root()
            .key("services")
            .key("backend")
            .key("ports")
            .index(0);
        assert_eq!(path.to_string(), "services.backend.ports[0]");
        let path = Path::root().key("gateway").key("routes").key("/api/");
        assert_eq!(path.to_string(), "gateway.routes[\"/api/\"]");
        assert_eq!(Path::root().to_string(), "the document");
    }

    #[test]
    fn long_values_are_shortened_on_one_line() {
        assert_eq!(shorten("a\nb"), "a b");
        assert_eq!(shorten(&"x".repeat(100)).chars().count(), 60);
    }
}
