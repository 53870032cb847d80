//! Merging several spec files in order: mappings merge key by key, everything else replaces.
//!
//! This is how an overlay swaps public images for local builds without repeating the
//! stack: `-f stacks/uns.yaml -f stacks/uns.local.yaml`. Each value keeps the origin of the
//! file that last wrote it, so diagnostics point into the overlay when it is to blame.

use super::tree::{Node, Value};

/// Merges `overlay` onto `base`.
pub fn merge(base: Node, overlay: Node) -> Node {
    match (base.value, overlay.value) {
        (Value::Map(mut entries), Value::Map(overlay_entries)) => {
            for entry in overlay_entries {
                match entries.iter().position(|e| e.key == entry.key) {
                    Some(index) => {
                        let existing = entries.remove(index);
                        let value = merge(existing.value, entry.value);
                        entries.insert(index, super::tree::Entry { value, ..entry });
                    }
                    None => entries.push(entry),
                }
            }
            Node {
                value: Value::Map(entries),
                origin: base.origin,
            }
        }
        (_, value) => Node {
            value,
            origin: overlay.origin,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::spec::parse::parse;
    use crate::spec::source::SourceFile;

    fn tree(name: &str, text: &str) -> Node {
        let file = Arc::new(SourceFile::new(Path::new(name), text));
        parse(&file, text.as_bytes()).unwrap()
    }

    #[test]
    fn maps_merge_key_by_key_and_lists_replace() {
        let base = tree("base.yaml", "a: { x: 1, y: 2 }\nl: [1, 2, 3]\ns: old\n");
        let overlay = tree("over.yaml", "a: { y: 20, z: 30 }\nl: [9]\n");
        let merged = merge(base, overlay).to_json();
        assert_eq!(
            merged,
            serde_json::json!({
                "a": { "x": 1, "y": 20, "z": 30 }, "l": [9], "s": "old"
            })
        );
    }

    #[test]
    fn merged_values_keep_the_origin_of_the_file_that_wrote_them() {
        let base = tree("base.yaml", "a:\n  x: 1\n  y: 2\n");
        let overlay = tree("over.yaml", "a:\n  y: 20\n");
        let merged = merge(base, overlay);
        let path = crate::spec::tree::Path::root().key("a");
        assert_eq!(merged.origin_of(&path.key("x")).position(), "base.yaml:2:6");
        assert_eq!(merged.origin_of(&path.key("y")).position(), "over.yaml:2:6");
    }
}
