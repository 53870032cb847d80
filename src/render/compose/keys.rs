//! Names that Compose and the engine accept as keys: services, volumes, secrets, the
//! project, variables and labels. A name outside these rules is refused, not mangled.

use crate::render::{RenderError, layout};

/// Compose's rule for service, volume, network and secret keys; it also keeps a secret's
/// name from leaving `/run/secrets/`.
pub fn compose(what: &str, key: &str) -> Result<(), RenderError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if key.is_empty() || !key.chars().all(allowed) || key == "." || key == ".." {
        return Err(RenderError::Unsafe {
            file: layout::COMPOSE_FILE,
            what: what.to_string(),
            value: key.to_string(),
            allowed: "letters, digits, `.`, `_` and `-`",
        });
    }
    Ok(())
}

/// The project names Compose v2 accepts; containers are named after the project.
pub fn is_project_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

/// An environment variable or build argument name: the engine splits `KEY=VALUE` at the
/// first `=`, so a key with `=` would set another variable.
pub fn variable(field: &str, key: &str) -> Result<(), RenderError> {
    without_equals(field, "variable name", key)
}

/// A label key, under the same rule as variables.
pub fn label(field: &str, key: &str) -> Result<(), RenderError> {
    without_equals(field, "label key", key)
}

fn without_equals(field: &str, what: &str, key: &str) -> Result<(), RenderError> {
    if key.is_empty() || key.chars().any(|c| c.is_control() || c == '=') {
        return Err(RenderError::Unsafe {
            file: layout::COMPOSE_FILE,
            what: format!("{what} in `{field}`"),
            value: key.to_string(),
            allowed: "a name without `=` or control characters",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_follow_compose_rules() {
        assert!(is_project_name("uns"));
        assert!(is_project_name("a-b_1"));
        assert!(!is_project_name("Uns"));
        assert!(!is_project_name("-a"));
        assert!(!is_project_name(""));
        assert!(!is_project_name("a b"));
    }

    #[test]
    fn keys_that_could_escape_or_split_are_refused() {
        assert!(compose("secret name", "../x").is_err());
        assert!(compose("secret name", "..").is_err());
        assert!(compose("secret name", "a/b").is_err());
        assert!(compose("secret name", "DB_PASSWORD.v2").is_ok());
        assert!(variable("env", "A=B").is_err());
        assert!(variable("env", "A\nB").is_err());
        assert!(label("labels", "com.example/tier").is_ok());
    }
}
