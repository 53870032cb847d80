//! The generated `README.md` and the manifest: what each file in the output directory is,
//! and which files a render wrote.

use super::{Rendered, RenderedFile, layout};
use crate::spec::Stack;

/// The list of files a render wrote, one path a line after the comment; the next render
/// removes the files it no longer writes, and `--check` reports them.
pub const MANIFEST_FILE: &str = ".stackwright-manifest";

const MANIFEST_HEADER: &str =
    "# Files written by `stackwright render`; the next render removes those it no longer writes.";

/// The README describing `rendered`, which must already hold every other file.
pub fn readme(stack: &Stack, rendered: &Rendered, hand_made_secrets: &[String]) -> RenderedFile {
    let mut rows: Vec<(String, String, String)> = rendered
        .files
        .values()
        .map(|f| (f.path.clone(), f.about.clone(), f.source.clone()))
        .collect();
    rows.push((
        layout::README_FILE.into(),
        "this list".into(),
        "(the whole spec)".into(),
    ));
    rows.push((
        MANIFEST_FILE.into(),
        "the paths of the generated files, so a later render removes those it no longer \
         writes"
            .into(),
        "(the whole spec)".into(),
    ));
    rows.sort();

    let mut text = format!(
        "# Generated files of the `{}` stack\n\n\
         Written by `stackwright render` from the stack spec: edit the spec and render again \
         rather than editing these files. `stackwright render -f SPEC --check DIR` exits 1 \
         when they are stale.\n\n\
         | file | what it is | from spec field |\n|---|---|---|\n",
        cell(&stack.name)
    );
    for (path, about, source) in rows {
        text.push_str(&format!(
            "| `{}` | {} | {} |\n",
            cell(&path),
            cell(&about),
            fields(&source)
        ));
    }
    text.push_str(
        "\nRun the stack with Compose v2 from this directory: `docker compose up -d`. \
         `.env` names the project after the stack, so the containers get the names the \
         gateway routes to. After Compose recreates a replica, reload the gateway: \
         `docker compose exec gateway nginx -s reload`.\n",
    );
    if !hand_made_secrets.is_empty() {
        text.push_str(&format!(
            "\nSecrets are not written here. Before the first start, put each secret's value \
             in a file of its own under `{}/` (kept out of git by `.gitignore`):\n\n",
            layout::SECRETS_DIR
        ));
        for name in hand_made_secrets {
            text.push_str(&format!("- `{}/{}`\n", layout::SECRETS_DIR, cell(name)));
        }
    }
    RenderedFile {
        path: layout::README_FILE.into(),
        contents: text,
        source: "(the whole spec)".into(),
        about: "this list".into(),
    }
}

/// The manifest of `rendered`, which must already hold every other file.
pub fn manifest(rendered: &Rendered) -> RenderedFile {
    let mut paths: Vec<&str> = rendered.files.keys().map(String::as_str).collect();
    paths.push(MANIFEST_FILE);
    paths.sort_unstable();
    paths.dedup();
    let mut text = format!("{MANIFEST_HEADER}\n");
    for path in paths {
        text.push_str(path);
        text.push('\n');
    }
    RenderedFile {
        path: MANIFEST_FILE.into(),
        contents: text,
        source: "(the whole spec)".into(),
        about: "the paths of the generated files".into(),
    }
}

/// The paths listed in a manifest's text; lines that are not paths are skipped.
pub fn manifest_paths(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// Spec fields as code spans: `services, gateway` becomes `` `services`, `gateway` ``;
/// a parenthesized note stays plain text.
fn fields(source: &str) -> String {
    if source.starts_with('(') {
        return cell(source);
    }
    let parts: Vec<String> = source
        .split(", ")
        .map(|part| format!("`{}`", cell(part)))
        .collect();
    parts.join(", ")
}

/// Text for a Markdown table cell or code span: one line, no `|` or backtick to end it.
fn cell(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '|' => '/',
            '`' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_cannot_break_the_table() {
        assert_eq!(cell("a|b`c\nd"), "a/b'c d");
    }

    #[test]
    fn the_manifest_lists_every_file_and_itself() {
        let mut rendered = Rendered::default();
        for path in ["b.yml", "a/c.conf"] {
            rendered.add(RenderedFile {
                path: path.into(),
                contents: String::new(),
                source: String::new(),
                about: String::new(),
            });
        }
        let manifest = manifest(&rendered);
        assert_eq!(
            manifest_paths(&manifest.contents),
            [".stackwright-manifest", "a/c.conf", "b.yml"]
        );
    }
}
