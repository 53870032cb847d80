//! Recognises inputs shaped like SQL injection, so they can be refused and counted.
//!
//! This is a tripwire for the security dashboard, not the defence: every query the service
//! runs binds its parameters, so a missed pattern still cannot change a statement. The
//! patterns therefore aim at few false alarms on ordinary text (`O'Brien`, `Union Street`,
//! "select the best") over catching every obfuscation.

use std::sync::LazyLock;

use regex::RegexSet;

/// Case-insensitive shapes of classic injection payloads.
const PATTERNS: &[&str] = &[
    // A quote closing a literal, then a boolean clause: ' OR '1'='1, ' and 1=1
    r"'\s*\)?\s*(or|and)\s+('|\(|\d|true\b|false\b|\w+\s*(=|<|>|like\b))",
    // A tautology after a number: 1 OR 1=1
    r"\b(or|and)\s+(\d+|'[^']*')\s*(=|<>|!=|<|>)\s*(\d+|'[^']*')",
    // A quote closing a literal, then a statement break or a comment: admin'--, x';
    r"'\s*\)?\s*(;|--|#)",
    // Stacked statements: ; DROP TABLE, ; DELETE FROM
    r";\s*(drop|alter|truncate|create)\s+(table|database|schema|user|role)\b",
    r";\s*(delete\s+from|insert\s+into|update\s+\w+\s+set|select\s.+\sfrom|exec(ute)?\s)",
    r"\bdrop\s+(table|database|schema)\b",
    // UNION-based extraction, also with inline comments as spaces
    r"\bunion(\s|/\*.*?\*/)+(all(\s|/\*.*?\*/)+)?select\b",
    // Inline comments used to split keywords
    r"/\*.*?\*/",
    // Time-based blind probes
    r"\b(pg_sleep|sleep|benchmark)\s*\(",
    r"\bwaitfor\s+delay\b",
    // Catalog probing and command execution
    r"\b(information_schema|pg_catalog|pg_shadow|sysobjects|xp_cmdshell)\b",
];

static DETECTOR: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    let patterns = PATTERNS.iter().map(|p| format!("(?is){p}"));
    RegexSet::new(patterns).ok()
});

/// True when `input` looks like an attempt at SQL injection.
pub fn looks_like_sql_injection(input: &str) -> bool {
    match DETECTOR.as_ref() {
        Some(set) => set.is_match(input),
        // The patterns are constants proven to compile by the tests; were one ever broken,
        // refusing every input would take the service down, so nothing is flagged instead.
        None => false,
    }
}

/// True when any key or value of a URL query string (percent- and `+`-decoded) looks like
/// SQL injection.
pub fn query_looks_like_sql_injection(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes())
        .any(|(key, value)| looks_like_sql_injection(&key) || looks_like_sql_injection(&value))
}

/// True when a URL path, once percent-decoded, looks like SQL injection.
pub fn path_looks_like_sql_injection(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    looks_like_sql_injection(&decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_compile() {
        assert!(DETECTOR.is_some());
    }

    #[test]
    fn classic_payloads_are_recognised() {
        for payload in [
            "' OR '1'='1",
            "x' or 1=1 --",
            "1 OR 1=1",
            "admin'--",
            "admin' #",
            "'; DROP TABLE candidates; --",
            "1; delete from candidates",
            "1 UNION SELECT password FROM users",
            "1 union/**/all/**/select null",
            "1' AND pg_sleep(5)",
            "1; WAITFOR DELAY '0:0:5'",
            "' and 1=(select count(*) from information_schema.tables)",
            "x') or ('a'='a",
        ] {
            assert!(looks_like_sql_injection(payload), "missed `{payload}`");
        }
    }

    #[test]
    fn ordinary_text_passes() {
        for text in [
            "O'Brien",
            "Mary-Jane O'Neil",
            "Union Street 5, Nagoya",
            "select the best candidates",
            "rock and roll",
            "drop-off at the north gate",
            "forklift; welding",
            "skills: C++ and C#",
            "2024-01-05",
            "tanaka@example.jp",
            "I'm available from May",
        ] {
            assert!(!looks_like_sql_injection(text), "false alarm on `{text}`");
        }
    }

    #[test]
    fn query_strings_are_decoded_before_matching() {
        assert!(query_looks_like_sql_injection(
            "q=1%27%20OR%20%271%27%3D%271"
        ));
        assert!(query_looks_like_sql_injection("name=x'+or+1=1+--"));
        assert!(query_looks_like_sql_injection("1%20union%20select%201=x"));
        assert!(!query_looks_like_sql_injection(
            "limit=20&after=40&q=O%27Brien"
        ));
    }

    #[test]
    fn paths_are_decoded_before_matching() {
        assert!(path_looks_like_sql_injection(
            "/api/candidates/1%27%20OR%20%271%27%3D%271"
        ));
        assert!(!path_looks_like_sql_injection("/api/candidates/42"));
    }
}
