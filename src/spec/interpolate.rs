//! `${VAR}` interpolation from the environment, on the merged tree.
//!
//! Forms: `${NAME}`, `${NAME:-default}` (unset or empty), `${NAME-default}` (unset),
//! `${NAME:?message}` and `${NAME?message}` (required, with the user's message), and `$$`
//! for a literal `$`. A `$` followed by anything else stays as written. Only values are
//! interpolated, never keys. A plain (unquoted) scalar that contained a reference is typed
//! again after substitution, so `replicas: ${REPLICAS}` is a number.

use super::diagnostic::Diagnostic;
use super::source::Origin;
use super::tree::{Node, Value};

/// Replaces references in every text value of the tree, reporting each unresolved one.
pub fn interpolate(node: &mut Node, env: &dyn Fn(&str) -> Option<String>) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    walk(node, env, &mut problems);
    problems
}

fn walk(node: &mut Node, env: &dyn Fn(&str) -> Option<String>, problems: &mut Vec<Diagnostic>) {
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|item| walk(item, env, problems)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|e| walk(&mut e.value, env, problems)),
        Value::Str(text) if text.contains('$') => match expand(text, env) {
            Ok(expanded) if expanded.substituted => {
                node.value = retype(expanded.text, &node.origin);
            }
            Ok(expanded) => *text = expanded.text,
            Err(problem) => problems.push(problem.into_diagnostic(&node.origin)),
        },
        Value::Str(_) | Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

struct Expanded {
    text: String,
    substituted: bool,
}

/// What went wrong with one reference.
#[derive(Debug, PartialEq, Eq)]
struct Problem {
    /// The reference as written, e.g. `${DB_HOST}`.
    reference: String,
    kind: ProblemKind,
}

#[derive(Debug, PartialEq, Eq)]
enum ProblemKind {
    Unset(String),
    Required { name: String, message: String },
    BadName(String),
    Unclosed,
}

impl Problem {
    fn into_diagnostic(self, origin: &Origin) -> Diagnostic {
        let at = locate(origin, &self.reference);
        match self.kind {
            ProblemKind::Unset(name) => Diagnostic::error(
                "spec::unset-variable",
                format!("variable `{name}` is not set"),
            )
            .at(Some(at), "used here")
            .help(format!(
                "set `{name}` in the environment, or give a default: `${{{name}:-value}}`"
            )),
            ProblemKind::Required { name, message } => Diagnostic::error(
                "spec::unset-variable",
                format!("variable `{name}` is not set: {message}"),
            )
            .at(Some(at), "required here")
            .help(format!("set `{name}` in the environment")),
            ProblemKind::BadName(name) => Diagnostic::error(
                "spec::bad-variable",
                format!("`{name}` is not a valid variable name"),
            )
            .at(Some(at), "in this reference")
            .help("variable names are letters, digits and `_`, not starting with a digit"),
            ProblemKind::Unclosed => {
                Diagnostic::error("spec::bad-variable", "`${` without a closing `}`")
                    .at(Some(at), "opened here")
                    .help("close the reference with `}`, or write `$$` for a literal `$`")
            }
        }
    }
}

/// Points at the reference inside the scalar when the source holds it verbatim.
fn locate(origin: &Origin, reference: &str) -> Origin {
    match origin.text().find(reference) {
        Some(at) => Origin {
            file: origin.file.clone(),
            offset: origin.offset + at,
            len: reference.len(),
        },
        None => origin.clone(),
    }
}

fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Expanded, Problem> {
    let mut out = String::with_capacity(text.len());
    let mut substituted = false;
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = closing_brace(body_start) else {
            let reference: String = rest[at..].chars().take(20).collect();
            return Err(Problem {
                reference,
                kind: ProblemKind::Unclosed,
            });
        };
        let body = &body_start[..end];
        let reference = format!("${{{body}}}");
        out.push_str(&resolve(body, &reference, env)?);
        substituted = true;
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(Expanded {
        text: out,
        substituted,
    })
}

/// The index of the `}` that closes a reference body, allowing nested references in
/// defaults.
fn closing_brace(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn resolve(
    body: &str,
    reference: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Problem> {
    let name_end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let (name, modifier) = body.split_at(name_end);
    let problem = |kind| Problem {
        reference: reference.to_string(),
        kind,
    };
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(problem(ProblemKind::BadName(body.to_string())));
    }
    let value = env(name);
    let (op, arg) =
        split_modifier(modifier).ok_or_else(|| problem(ProblemKind::BadName(body.into())))?;
    let missing = match op {
        Op::Plain | Op::Default | Op::Required => value.is_none(),
        Op::DefaultIfEmpty | Op::RequiredIfEmpty => value.as_deref().is_none_or(str::is_empty),
    };
    if !missing {
        return Ok(value.unwrap_or_default());
    }
    match op {
        Op::Plain => Err(problem(ProblemKind::Unset(name.to_string()))),
        Op::Default | Op::DefaultIfEmpty => expand(arg, env).map(|e| e.text),
        Op::Required | Op::RequiredIfEmpty => Err(problem(ProblemKind::Required {
            name: name.to_string(),
            message: if arg.is_empty() {
                "required".into()
            } else {
                arg.to_string()
            },
        })),
    }
}

enum Op {
    Plain,
    Default,
    DefaultIfEmpty,
    Required,
    RequiredIfEmpty,
}

fn split_modifier(modifier: &str) -> Option<(Op, &str)> {
    if modifier.is_empty() {
        return Some((Op::Plain, ""));
    }
    for (prefix, op) in [(":-", Op::DefaultIfEmpty), (":?", Op::RequiredIfEmpty)] {
        if let Some(arg) = modifier.strip_prefix(prefix) {
            return Some((op, arg));
        }
    }
    for (prefix, op) in [("-", Op::Default), ("?", Op::Required)] {
        if let Some(arg) = modifier.strip_prefix(prefix) {
            return Some((op, arg));
        }
    }
    None
}

/// Types a substituted plain scalar the way the parser would have typed its text.
fn retype(text: String, origin: &Origin) -> Value {
    let quoted = origin.text().starts_with(['"', '\'', '|', '>']);
    if quoted {
        return Value::Str(text);
    }
    match text.as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(number) = text.parse::<i64>() {
        return Value::Number(number.into());
    }
    let float_like = text.contains(['.', 'e', 'E']) && !text.contains(char::is_alphabetic)
        || text.contains(['e', 'E'])
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || "eE.+-".contains(c));
    if let Some(number) = float_like
        .then(|| text.parse::<f64>().ok())
        .flatten()
        .and_then(serde_json::Number::from_f64)
    {
        return Value::Number(number);
    }
    Value::Str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.local".into()),
            "EMPTY" => Some(String::new()),
            "N" => Some("3".into()),
            _ => None,
        }
    }

    fn run(text: &str) -> Result<String, ProblemKind> {
        expand(text, &env).map(|e| e.text).map_err(|p| p.kind)
    }

    #[test]
    fn references_defaults_and_escapes_expand() {
        assert_eq!(
            run("postgres://${HOST}:5432").unwrap(),
            "postgres://db.local:5432"
        );
        assert_eq!(run("${MISSING:-fallback}").unwrap(), "fallback");
        assert_eq!(run("${EMPTY:-fallback}").unwrap(), "fallback");
        assert_eq!(run("${EMPTY-fallback}").unwrap(), "");
        assert_eq!(run("${MISSING:-${HOST}}").unwrap(), "db.local");
        assert_eq!(run("cost: $$5 and $HOME").unwrap(), "cost: $5 and $HOME");
    }

    #[test]
    fn unresolved_references_say_which_variable() {
        assert_eq!(
            run("${MISSING}").unwrap_err(),
            ProblemKind::Unset("MISSING".into())
        );
        assert_eq!(
            run("${MISSING:?set the database host}").unwrap_err(),
            ProblemKind::Required {
                name: "MISSING".into(),
                message: "set the database host".into()
            }
        );
        assert_eq!(run("${1X}").unwrap_err(), ProblemKind::BadName("1X".into()));
        assert_eq!(
            run("${A B}").unwrap_err(),
            ProblemKind::BadName("A B".into())
        );
        assert_eq!(run("x ${HOST").unwrap_err(), ProblemKind::Unclosed);
    }
}
