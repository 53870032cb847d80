//! The JSON Schema of the spec, and structural checks of a spec tree against it.
//!
//! The schema is derived from the typed model (schemars), so the editor schema and the
//! loader cannot disagree. Checking the tree against it finds every structural problem in
//! one pass (unknown fields, wrong types, missing fields, bad typed values); this module
//! turns each validator error into a diagnostic in our own words, located in the YAML.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value as Json;

use super::Stack;
use super::diagnostic::Diagnostic;
use super::names::did_you_mean;
use super::tree::{Node, Path, describe_json};
use super::values::check_format;

/// The spec's JSON Schema, as `stackwright schema` prints it.
pub fn schema() -> Json {
    let mut schema = serde_json::to_value(schemars::schema_for!(Stack)).unwrap_or(Json::Null);
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "$id".into(),
            Json::String("https://stackwright.dev/schema/stack.schema.json".into()),
        );
    }
    schema
}

/// The schema as pretty-printed JSON with a trailing newline, as committed in the repo.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

struct Compiled {
    schema: Json,
    validator: Validator,
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let schema = schema();
        let mut options = jsonschema::options().should_validate_formats(true);
        for format in ["duration", "percent", "size", "rate", "date"] {
            options = options.with_format(format, move |text: &str| {
                check_format(format, text).is_some_and(|result| result.is_ok())
            });
        }
        // The schema is generated from our own types; failing to compile it is a bug in this
        // program, not in the user's input.
        let validator = options
            .build(&schema)
            .expect("the generated spec schema compiles");
        Compiled { schema, validator }
    })
}

/// Checks a merged, interpolated tree against the schema; one diagnostic per problem.
pub fn check(tree: &Node) -> Vec<Diagnostic> {
    let compiled = compiled();
    let json = tree.to_json();
    let checker = Checker {
        tree,
        schema: &compiled.schema,
    };
    compiled
        .validator
        .iter_errors(&json)
        .flat_map(|error| checker.diagnose(&error))
        .collect()
}

struct Checker<'a> {
    tree: &'a Node,
    schema: &'a Json,
}

impl Checker<'_> {
    fn diagnose(&self, error: &ValidationError<'_>) -> Vec<Diagnostic> {
        let path = Path::from_pointer(error.instance_path().as_str(), self.tree);
        let schema_path = error.schema_path().as_str().to_string();
        let instance = error.instance();
        let here = || Some(self.tree.origin_of(&path));
        let named = || format!("`{path}`");
        if let Some(diagnostic) = self.format_problem(&schema_path, instance, &path) {
            return vec![diagnostic];
        }
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                .iter()
                .map(|key| self.unknown_field(&path, key, &schema_path))
                .collect(),
            ValidationErrorKind::Required { property } => {
                let property = property.as_str().unwrap_or_default();
                let owner = parent_pointer(&schema_path);
                let about = self
                    .schema_at(&owner)
                    .and_then(|s| s.pointer(&format!("/properties/{property}/description")))
                    .and_then(Json::as_str)
                    .map(|d| format!("`{property}`: {}", first_sentence(d)));
                let message = if path.0.is_empty() {
                    format!("missing required field `{property}`")
                } else {
                    format!("{} is missing the required field `{property}`", named())
                };
                let origin = Some(self.tree.key_origin_of(&path));
                let diagnostic = Diagnostic::error("spec::missing-field", message)
                    .at(origin, format!("`{property}` needed here"));
                vec![match about {
                    Some(about) => diagnostic.help(about),
                    None => diagnostic,
                }]
            }
            ValidationErrorKind::Type { .. } => {
                let expected = self
                    .schema_at(&schema_path)
                    .map(type_words)
                    .unwrap_or_default();
                let found = describe_json(instance);
                let mut diagnostic = Diagnostic::error(
                    "spec::wrong-type",
                    format!("{} must be {expected}, found {found}", named()),
                )
                .at(here(), format!("expected {expected}"));
                if let Some(hint) = type_hint(instance, &expected) {
                    diagnostic = diagnostic.help(hint);
                }
                vec![diagnostic]
            }
            ValidationErrorKind::Enum { options } => {
                let allowed: Vec<String> = options
                    .as_array()
                    .map(|o| o.iter().map(value_words).collect())
                    .unwrap_or_default();
                vec![self.unknown_value(&path, instance, &allowed)]
            }
            ValidationErrorKind::Constant { expected_value } => {
                vec![self.unknown_value(&path, instance, &[value_words(expected_value)])]
            }
            ValidationErrorKind::Minimum { limit }
            | ValidationErrorKind::ExclusiveMinimum { limit } => {
                vec![
                    Diagnostic::error(
                        "spec::out-of-range",
                        format!(
                            "{} is {}, below the minimum {limit}",
                            named(),
                            value_words(instance)
                        ),
                    )
                    .at(here(), "too small"),
                ]
            }
            ValidationErrorKind::Maximum { limit }
            | ValidationErrorKind::ExclusiveMaximum { limit } => {
                vec![
                    Diagnostic::error(
                        "spec::out-of-range",
                        format!(
                            "{} is {}, above the maximum {limit}",
                            named(),
                            value_words(instance)
                        ),
                    )
                    .at(here(), "too large"),
                ]
            }
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context } => {
                self.alternatives(&path, &schema_path, instance, context)
            }
            _ => vec![
                Diagnostic::error("spec::invalid", format!("{}: {error}", named()))
                    .at(here(), "invalid"),
            ],
        }
    }

    /// A typed value (duration, percentage ...) that does not parse, explained by its own
    /// parser, wherever in the schema the failure surfaced.
    fn format_problem(
        &self,
        schema_path: &str,
        instance: &Json,
        path: &Path,
    ) -> Option<Diagnostic> {
        let format = self.format_near(schema_path)?;
        self.typed_value(&format, instance, path)
    }

    /// Explains why `instance` is not a valid value of one of our typed formats.
    fn typed_value(&self, format: &str, instance: &Json, path: &Path) -> Option<Diagnostic> {
        let text = match instance {
            Json::String(text) => text.clone(),
            Json::Number(number) => number.to_string(),
            _ => return None,
        };
        let problem = check_format(format, &text)?.err()?;
        let origin = Some(self.tree.origin_of(path));
        Some(
            Diagnostic::error("spec::bad-value", format!("`{path}`: {}", problem.message))
                .at(origin, format!("invalid {format}"))
                .help(problem.help),
        )
    }

    /// The `format` of the schema object that holds the failing keyword, when it is ours.
    fn format_near(&self, schema_path: &str) -> Option<String> {
        let mut pointer = parent_pointer(schema_path);
        // A failure inside `anyOf/0` of a typed value still belongs to that value.
        for _ in 0..3 {
            let schema = self.schema_at(&pointer)?;
            if let Some(format) = schema.get("format").and_then(Json::as_str) {
                return check_format(format, "").map(|_| format.to_string());
            }
            pointer = parent_pointer(&pointer);
            if pointer.ends_with("/anyOf") || pointer.ends_with("/oneOf") {
                pointer = parent_pointer(&pointer);
            }
        }
        None
    }

    fn unknown_field(&self, path: &Path, key: &str, schema_path: &str) -> Diagnostic {
        let owner = self.schema_at(&parent_pointer(schema_path));
        let allowed: Vec<&str> = owner
            .and_then(|s| s.get("properties"))
            .and_then(Json::as_object)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let message = if path.0.is_empty() {
            format!("unknown top-level field `{key}`")
        } else {
            format!("unknown field `{key}` in `{path}`")
        };
        let origin = Some(self.tree.key_origin_of(&path.key(key)));
        let help = match did_you_mean(key, allowed.iter().copied()) {
            Some(guess) => format!("did you mean `{guess}`?"),
            None => format!("allowed fields: {}", list(&allowed)),
        };
        Diagnostic::error("spec::unknown-field", message)
            .at(origin, "unknown field")
            .help(help)
    }

    fn unknown_value(&self, path: &Path, instance: &Json, allowed: &[String]) -> Diagnostic {
        let found = value_words(instance);
        let origin = Some(self.tree.origin_of(path));
        let guess = instance
            .as_str()
            .and_then(|text| did_you_mean(text, allowed.iter().map(|a| a.trim_matches('`'))));
        let help = match guess {
            Some(guess) => format!("did you mean `{guess}`? allowed: {}", allowed.join(", ")),
            None => format!("allowed: {}", allowed.join(", ")),
        };
        Diagnostic::error("spec::unknown-value", format!("`{path}` cannot be {found}"))
            .at(origin, "not allowed here")
            .help(help)
    }

    /// Explains a value that fits none of several shapes (`anyOf`/`oneOf`).
    fn alternatives(
        &self,
        path: &Path,
        schema_path: &str,
        instance: &Json,
        context: &[Vec<ValidationError<'static>>],
    ) -> Vec<Diagnostic> {
        let branches: Vec<&Json> = self
            .schema_at(schema_path)
            .and_then(Json::as_array)
            .map(|b| b.iter().map(|s| self.resolve(s)).collect())
            .unwrap_or_default();
        let here = self.tree.origin_of(path);

        // An optional typed value (`Option<Duration>` ...): its own parser explains it.
        for branch in &branches {
            let format = branch
                .get("format")
                .and_then(Json::as_str)
                .unwrap_or_default();
            if let Some(diagnostic) = self.typed_value(format, instance, path) {
                return vec![diagnostic];
            }
        }

        // An externally tagged choice written as `{ tag: ... }`: pick the variant by its tag.
        let tags: Vec<String> = branches.iter().filter_map(|b| variant_name(b)).collect();
        let words: Vec<String> = branches.iter().flat_map(|b| fixed_words(b)).collect();
        if let (Some(object), false) = (instance.as_object(), tags.is_empty())
            && let Some(tag) = object.keys().next().filter(|_| object.len() == 1)
        {
            let chosen = branches
                .iter()
                .position(|b| variant_name(b).as_deref() == Some(tag));
            if let Some(index) = chosen {
                return context[index]
                    .iter()
                    .flat_map(|e| self.diagnose(e))
                    .collect();
            }
            let origin = Some(self.tree.key_origin_of(&path.key(tag)));
            let mut allowed = list_owned(&tags);
            for word in &words {
                allowed.push_str(&format!(", {word}"));
            }
            let help = match did_you_mean(tag, tags.iter().map(String::as_str)) {
                Some(guess) => format!("did you mean `{guess}`? allowed: {allowed}"),
                None => format!("allowed: {allowed}"),
            };
            let message = format!("`{path}` has an unknown kind `{tag}`");
            return vec![
                Diagnostic::error("spec::unknown-value", message)
                    .at(origin, "unknown kind")
                    .help(help),
            ];
        }

        // A scalar where every choice is a fixed word: an unknown value.
        if !instance.is_object() && !instance.is_array() && words.len() == branches.len() {
            return vec![self.unknown_value(path, instance, &words)];
        }

        // Branches whose shape fits the value: report the closest one's problems.
        let fitting: Vec<usize> = (0..context.len())
            .filter(|&i| {
                !context[i]
                    .iter()
                    .any(|e| shape_mismatch(e, path, self.tree))
            })
            .collect();
        if let Some(&best) = fitting.iter().min_by_key(|&&i| context[i].len()) {
            return context[best]
                .iter()
                .flat_map(|e| self.diagnose(e))
                .collect();
        }

        let expected = branches
            .iter()
            .filter(|b| b.get("type").and_then(Json::as_str) != Some("null"))
            .map(|b| self.shape_words(b))
            .collect::<Vec<_>>();
        let expected = join_or(&dedup(expected));
        let found = describe_json(instance);
        vec![
            Diagnostic::error(
                "spec::wrong-type",
                format!("`{path}` must be {expected}, found {found}"),
            )
            .at(Some(here), "unexpected shape"),
        ]
    }

    fn shape_words(&self, schema: &Json) -> String {
        let schema = self.resolve(schema);
        if let Some(name) = variant_name(schema) {
            return format!("`{{ {name}: ... }}`");
        }
        if let Some(words) = Some(fixed_words(schema)).filter(|w| !w.is_empty()) {
            return words.join(" or ");
        }
        if let Some(format) = schema.get("format").and_then(Json::as_str)
            && check_format(format, "").is_some()
        {
            return format!("a {format}");
        }
        if let Some(branches) = schema.get("anyOf").or_else(|| schema.get("oneOf")) {
            let words: Vec<String> = branches
                .as_array()
                .map(|b| b.iter().map(|s| self.shape_words(s)).collect())
                .unwrap_or_default();
            return join_or(&dedup(words));
        }
        if schema.pointer("/properties/secret").is_some() {
            return "a `{ secret: NAME }` reference".into();
        }
        type_words(schema.get("type").unwrap_or(&Json::Null))
    }

    fn resolve<'s>(&'s self, schema: &'s Json) -> &'s Json {
        match schema.get("$ref").and_then(Json::as_str) {
            Some(reference) => self
                .schema_at(reference.trim_start_matches('#'))
                .unwrap_or(schema),
            None => schema,
        }
    }

    fn schema_at(&self, pointer: &str) -> Option<&Json> {
        self.schema.pointer(pointer).map(|s| self.resolve_once(s))
    }

    fn resolve_once<'s>(&'s self, schema: &'s Json) -> &'s Json {
        match schema.get("$ref").and_then(Json::as_str) {
            Some(reference) if schema.get("type").is_none() => self
                .schema
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or(schema),
            _ => schema,
        }
    }
}

/// Whether an error says the value at `path` has the wrong basic shape for its branch.
fn shape_mismatch(error: &ValidationError<'_>, path: &Path, tree: &Node) -> bool {
    let at = Path::from_pointer(error.instance_path().as_str(), tree);
    if &at != path {
        return false;
    }
    match error.kind() {
        ValidationErrorKind::Type { .. }
        | ValidationErrorKind::Constant { .. }
        | ValidationErrorKind::Enum { .. } => true,
        // A nested choice mismatches only when none of its own branches fits.
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            context
                .iter()
                .all(|branch| branch.iter().any(|e| shape_mismatch(e, path, tree)))
        }
        _ => false,
    }
}

/// The tag of an externally tagged enum variant: an object with exactly one required key.
fn variant_name(schema: &Json) -> Option<String> {
    let required = schema.get("required")?.as_array()?;
    let properties = schema.get("properties")?.as_object()?;
    if required.len() == 1 && properties.len() == 1 {
        return required[0].as_str().map(String::from);
    }
    None
}

/// The fixed words a schema allows (`const` or `enum`), in backticks.
fn fixed_words(schema: &Json) -> Vec<String> {
    if let Some(value) = schema.get("const") {
        return vec![value_words(value)];
    }
    if let Some(values) = schema.get("enum").and_then(Json::as_array) {
        return values.iter().map(value_words).collect();
    }
    Vec::new()
}

fn value_words(value: &Json) -> String {
    match value {
        Json::String(text) => format!("`{text}`"),
        other => format!("`{other}`"),
    }
}

/// "a whole number", "text" ... for a schema's `type` keyword value.
fn type_words(types: &Json) -> String {
    let names: Vec<&str> = match types {
        Json::String(name) => vec![name.as_str()],
        Json::Array(names) => names.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    };
    let words: Vec<String> = names
        .into_iter()
        .filter(|name| *name != "null")
        .map(|name| {
            match name {
                "string" => "text",
                "integer" => "a whole number",
                "number" => "a number",
                "boolean" => "`true` or `false`",
                "array" => "a list",
                "object" => "a mapping",
                other => other,
            }
            .to_string()
        })
        .collect();
    if words.is_empty() {
        "a value".into()
    } else {
        join_or(&words)
    }
}

fn type_hint(instance: &Json, expected: &str) -> Option<String> {
    if expected == "text" && (instance.is_boolean() || instance.is_number()) {
        return Some(format!("quote it to make it text: `\"{instance}\"`"));
    }
    let text = instance.as_str()?;
    if expected.contains("number") && text.trim().parse::<f64>().is_ok() {
        return Some(format!(
            "write the number without quotes: `{}`",
            text.trim()
        ));
    }
    if expected.contains("true") && matches!(text, "yes" | "no" | "on" | "off" | "True" | "False") {
        return Some("booleans are written `true` or `false`".into());
    }
    None
}

fn parent_pointer(pointer: &str) -> String {
    match pointer.rfind('/') {
        Some(at) => pointer[..at].to_string(),
        None => String::new(),
    }
}

fn first_sentence(text: &str) -> String {
    let one_line = text.replace('\n', " ");
    match one_line.find(". ") {
        Some(at) => one_line[..=at].to_string(),
        None => one_line,
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_owned(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn dedup(mut items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    items.retain(|i| seen.insert(i.clone()));
    items
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
