//! Grammars for names and paths that later reach Docker, DNS, nginx, PromQL or the disk.
//!
//! A value that passes these checks can be written into any generated file without
//! quoting tricks: no whitespace, quotes, braces, semicolons, `$`, `..` or control
//! characters. Renderers still escape on output; this is the first of two fences.

/// Why a name or path was refused, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    /// What is wrong, naming the value.
    pub message: String,
    /// What is allowed.
    pub help: String,
}

/// The longest stack name: container names `<stack>-<service>-<n>` must stay short.
pub const MAX_STACK_NAME: usize = 30;

/// Checks a DNS label: lowercase letters, digits and `-`, not at either end.
pub fn dns_label(kind: &str, name: &str, max: usize) -> Result<(), NameError> {
    let help = format!(
        "{} name is 1 to {max} lowercase letters, digits and `-`, starting with a letter \
         and not ending with `-`",
        a(kind)
    );
    let bad = |why: String| {
        Err(NameError {
            message: why,
            help: help.clone(),
        })
    };
    if name.is_empty() {
        return bad(format!("the {kind} name is empty"));
    }
    if name.len() > max {
        return bad(format!(
            "{kind} name `{}` is {} characters long",
            shown(name),
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return bad(format!(
            "{kind} name `{}` contains {}",
            shown(name),
            char_words(c)
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) || name.ends_with('-') {
        return bad(format!(
            "{kind} name `{name}` must start with a letter and not end with `-`"
        ));
    }
    Ok(())
}

/// Checks an environment variable, label or metric-ish identifier: letters, digits, `_`.
pub fn identifier(kind: &str, name: &str) -> Result<(), NameError> {
    let help = format!(
        "{} is letters, digits and `_`, not starting with a digit",
        a(kind)
    );
    let ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        return Ok(());
    }
    let message = match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        Some(c) => format!("{kind} `{}` contains {}", shown(name), char_words(c)),
        None => format!("{kind} `{}` is not valid", shown(name)),
    };
    Err(NameError { message, help })
}

/// Checks a container label key: lowercase reverse-DNS style (`com.example.team`).
pub fn label_key(key: &str) -> Result<(), NameError> {
    let help = "a label key is letters, digits, `.`, `-`, `_` and `/`, e.g. `com.example.team`";
    let ok = !key.is_empty()
        && key.len() <= 128
        && key.starts_with(|c: char| c.is_ascii_alphanumeric())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/".contains(c))
        && !key.contains("..");
    if ok {
        return Ok(());
    }
    Err(NameError {
        message: format!("label key `{}` is not valid", shown(key)),
        help: help.into(),
    })
}

/// Checks a URL path for routes, health checks and metrics: starts with `/`, then only
/// unreserved characters and `/`; no `..`, no `//`, no query.
pub fn url_path(kind: &str, path: &str) -> Result<(), NameError> {
    let help = format!(
        "{} is a plain URL path: `/` followed by letters, digits, `-`, `_`, `.`, `~` and \
         `/`, e.g. `/api/`",
        a(kind)
    );
    let bad = |why: String| {
        Err(NameError {
            message: why,
            help: help.clone(),
        })
    };
    if !path.starts_with('/') {
        return bad(format!("{kind} `{}` does not start with `/`", shown(path)));
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.~/".contains(*c)))
    {
        return bad(format!(
            "{kind} `{}` contains {}",
            shown(path),
            char_words(c)
        ));
    }
    if path.split('/').any(|seg| seg == ".." || seg == ".") || path.contains("//") {
        return bad(format!(
            "{kind} `{path}` contains `.`, `..` or `//` segments"
        ));
    }
    Ok(())
}

/// Checks an absolute path inside a container (mount targets).
pub fn container_path(kind: &str, path: &str) -> Result<(), NameError> {
    let help = format!(
        "{} is an absolute path without `..`, spaces, quotes or `:`",
        a(kind)
    );
    let bad = |why: String| {
        Err(NameError {
            message: why,
            help: help.clone(),
        })
    };
    if !path.starts_with('/') {
        return bad(format!("{kind} `{}` is not an absolute path", shown(path)));
    }
    if let Some(c) = path
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || "\"'`:;$\\{}".contains(*c))
    {
        return bad(format!(
            "{kind} `{}` contains {}",
            shown(path),
            char_words(c)
        ));
    }
    if path.split('/').any(|seg| seg == "..") {
        return bad(format!("{kind} `{path}` contains `..`"));
    }
    Ok(())
}

/// Checks a host path written in the spec (build contexts, binds, TLS and secret files).
pub fn host_path(kind: &str, path: &str) -> Result<(), NameError> {
    let help = format!(
        "{} is a file system path without control characters or `:`",
        a(kind)
    );
    if path.is_empty() {
        return Err(NameError {
            message: format!("the {kind} is empty"),
            help,
        });
    }
    match path.chars().find(|c| c.is_control() || *c == ':') {
        Some(c) => Err(NameError {
            message: format!("{kind} `{}` contains {}", shown(path), char_words(c)),
            help,
        }),
        None => Ok(()),
    }
}

/// Checks an image reference: registry/name:tag@digest characters only.
pub fn image_ref(image: &str) -> Result<(), NameError> {
    let help = "an image is written like `registry.example.com/team/app:1.2.3`";
    let ok = !image.is_empty()
        && image.len() <= 255
        && image.starts_with(|c: char| c.is_ascii_alphanumeric())
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    if ok {
        return Ok(());
    }
    let message = match image
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-/:@".contains(*c)))
    {
        Some(c) => format!("image `{}` contains {}", shown(image), char_words(c)),
        None => format!("image `{}` is not a valid reference", shown(image)),
    };
    Err(NameError {
        message,
        help: help.into(),
    })
}

/// The closest candidate to a misspelt word, when one is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(distance, candidate)| *distance <= limit && *candidate != word)
        .min()
        .map(|(_, candidate)| candidate)
}

/// The word with its indefinite article: "a route", "an environment variable".
pub fn a(word: &str) -> String {
    let vowel = word.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {word}", if vowel { "an" } else { "a" })
}

fn shown(text: &str) -> String {
    super::tree::shorten(&text.escape_debug().to_string())
}

fn char_words(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '\t' => "a tab".into(),
        '\n' | '\r' => "a line break".into(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels_refuse_what_docker_and_dns_refuse() {
        assert!(dns_label("service", "backend-2", 63).is_ok());
        let err = dns_label("service", "Backend", 63).unwrap_err();
        assert_eq!(err.message, "service name `Backend` contains `B`");
        assert!(dns_label("service", "a;b", 63).is_err());
        assert!(dns_label("service", "-a", 63).is_err());
        assert!(dns_label("service", "a-", 63).is_err());
        assert!(dns_label("service", "1a", 63).is_err());
        assert!(dns_label("stack", &"a".repeat(31), MAX_STACK_NAME).is_err());
    }

    #[test]
    fn url_paths_refuse_injection_characters() {
        assert!(url_path("route", "/api/").is_ok());
        assert!(url_path("route", "/").is_ok());
        for bad in [
            "api", "/a b", "/a;b", "/a{b", "/../etc", "/a//b", "/a\"b", "/a$b", "/a?x=1",
        ] {
            assert!(url_path("route", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn misspellings_find_their_word() {
        let fields = ["replicas", "image", "ports"];
        assert_eq!(did_you_mean("replica", fields), Some("replicas"));
        assert_eq!(did_you_mean("imgae", fields), Some("image"));
        assert_eq!(did_you_mean("volumes", fields), None);
    }
}
