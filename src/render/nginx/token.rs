//! nginx configuration tokens: the only way a value from the spec enters `nginx.conf`.
//!
//! nginx splits its configuration on whitespace, `;`, `{` and `}`, and expands `$name` as a
//! variable in most directives. A value that reaches the file unchecked can end a directive
//! and start another. Each function here either returns a token that nginx reads back as
//! exactly the value given, or refuses the value with the reason.

/// Why a value cannot become an nginx token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The value is empty.
    Empty,
    /// A control character (a newline would split a response header in two).
    Control,
    /// A `$`, which nginx expands as a variable and offers no escape for.
    Dollar,
    /// A character outside the set allowed for names.
    NotAName,
    /// Not a host name or an IP address.
    NotAHost,
}

impl Refusal {
    /// What is allowed instead, for the error message.
    pub fn allowed(self) -> &'static str {
        match self {
            Self::Empty => "a value that is not empty",
            Self::Control => "text without control characters (newlines, tabs, escapes)",
            Self::Dollar => "text without `$`, which nginx would read as a variable",
            Self::NotAName => "letters, digits, `-` and `_`",
            Self::NotAHost => "a host name (letters, digits, `-`, `_`, `.`) or an IP address",
        }
    }
}

/// A name used as a bare token (an upstream or a zone name): letters, digits, `-`, `_`.
pub fn name(value: &str) -> Result<&str, Refusal> {
    if value.is_empty() {
        return Err(Refusal::Empty);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !value.chars().all(allowed) {
        return Err(Refusal::NotAName);
    }
    Ok(value)
}

/// A backend address `host:port` for an upstream `server` line; IPv6 addresses are
/// bracketed.
pub fn address(host: &str, port: u16) -> Result<String, Refusal> {
    if host.is_empty() {
        return Err(Refusal::Empty);
    }
    if let Ok(ip) = host.parse::<std::net::Ipv6Addr>() {
        return Ok(format!("[{ip}]:{port}"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !host.chars().all(allowed) || host.starts_with(['.', '-']) {
        return Err(Refusal::NotAHost);
    }
    Ok(format!("{host}:{port}"))
}

/// A literal string in double quotes, for values nginx does not expand (`location` paths).
/// `"` and `\` are escaped; control characters are refused.
pub fn literal(value: &str) -> Result<String, Refusal> {
    if value.is_empty() {
        return Err(Refusal::Empty);
    }
    if value.chars().any(char::is_control) {
        return Err(Refusal::Control);
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    Ok(quoted)
}

/// A string in double quotes for directives that expand variables (`add_header` values):
/// as [`literal`], and `$` is refused because nginx has no escape for it there.
pub fn text(value: &str) -> Result<String, Refusal> {
    if value.contains('$') {
        return Err(Refusal::Dollar);
    }
    literal(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(literal("/a b").unwrap(), r#""/a b""#);
        assert_eq!(literal(r#"/a"b\c"#).unwrap(), r#""/a\"b\\c""#);
        assert_eq!(literal("/x;}{").unwrap(), r#""/x;}{""#);
        assert_eq!(literal("/a\nb"), Err(Refusal::Control));
        assert_eq!(literal("/a\tb"), Err(Refusal::Control));
        assert_eq!(literal(""), Err(Refusal::Empty));
    }

    #[test]
    fn expanded_text_refuses_variables() {
        assert_eq!(
            text("default-src 'self'").unwrap(),
            r#""default-src 'self'""#
        );
        assert_eq!(text("a $host"), Err(Refusal::Dollar));
    }

    #[test]
    fn names_and_hosts_allow_only_their_characters() {
        assert_eq!(name("backend_2-a"), Ok("backend_2-a"));
        assert_eq!(name("a b"), Err(Refusal::NotAName));
        assert_eq!(name("a;"), Err(Refusal::NotAName));
        assert_eq!(
            address("uns-backend-1", 8000).unwrap(),
            "uns-backend-1:8000"
        );
        assert_eq!(address("127.0.0.1", 80).unwrap(), "127.0.0.1:80");
        assert_eq!(address("::1", 80).unwrap(), "[::1]:80");
        assert_eq!(address("a;b", 80), Err(Refusal::NotAHost));
        assert_eq!(address("-a", 80), Err(Refusal::NotAHost));
        assert_eq!(address("", 80), Err(Refusal::Empty));
    }
}
