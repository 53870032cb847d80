//! Annotation text of the generated rules, as Prometheus templates and as the text they
//! expand to.
//!
//! A preset's summary and description are a list of pieces: literal text, a label of the
//! alert's series, or the alert's value through one of Prometheus's `humanize` functions.
//! The same pieces give the template written into the rule file and, for the generated
//! rule tests, the exact text Prometheus prints, so each test states what an operator reads.

use std::collections::BTreeMap;

use super::super::escape::go_template_literal;

/// How the alert's value is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `humanize`: SI prefixes, four significant digits.
    Number,
    /// `humanizePercentage`: a fraction as a percentage.
    Percent,
    /// `humanizeDuration`: seconds as `1d 2h 3m 4s` or `975ms`.
    Duration,
}

impl Format {
    fn function(self) -> &'static str {
        match self {
            Self::Number => "humanize",
            Self::Percent => "humanizePercentage",
            Self::Duration => "humanizeDuration",
        }
    }

    /// What Prometheus's function prints for `value`.
    pub fn apply(self, value: f64) -> String {
        match self {
            Self::Number => humanize(value),
            Self::Percent => format!("{}%", go_g4(value * 100.0)),
            Self::Duration => humanize_duration(value),
        }
    }
}

/// One part of an annotation.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Text printed as written.
    Text(String),
    /// The value of a label of the alert's series (empty when the series lacks it).
    Label(&'static str),
    /// The alert's value.
    Value(Format),
    /// A Prometheus template written by the stack's authors, passed through unchanged.
    Template(String),
}

/// An annotation made of pieces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Text(pub Vec<Piece>);

impl Text {
    /// The Prometheus template of the annotation.
    pub fn template(&self) -> String {
        self.0
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => go_template_literal(text).into_owned(),
                Piece::Label(name) => format!("{{{{ $labels.{name} }}}}"),
                Piece::Value(format) => format!("{{{{ $value | {} }}}}", format.function()),
                Piece::Template(template) => template.clone(),
            })
            .collect()
    }

    /// The text Prometheus prints for an alert with these series labels and this value.
    ///
    /// Authors' templates cannot be expanded here; they are kept as written, and the rules
    /// that carry them get no generated tests.
    pub fn expand(&self, labels: &BTreeMap<String, String>, value: f64) -> String {
        self.0
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) | Piece::Template(text) => text.clone(),
                Piece::Label(name) => labels.get(*name).cloned().unwrap_or_default(),
                Piece::Value(format) => format.apply(value),
            })
            .collect()
    }

    /// The labels the text reads, so tests can check that the series carry them.
    pub fn labels(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().filter_map(|piece| match piece {
            Piece::Label(name) => Some(*name),
            Piece::Text(_) | Piece::Value(_) | Piece::Template(_) => None,
        })
    }
}

/// Builds a [`Text`] from pieces: `text![lit("a "), label("instance"), value(Format::Number)]`.
macro_rules! text {
    ($($piece:expr),* $(,)?) => {
        $crate::render::monitoring::alerts::text::Text(vec![$($piece),*])
    };
}
pub(crate) use text;

/// Literal text.
pub fn lit(text: impl Into<String>) -> Piece {
    Piece::Text(text.into())
}

/// A label of the alert's series.
pub fn label(name: &'static str) -> Piece {
    Piece::Label(name)
}

/// The alert's value.
pub fn value(format: Format) -> Piece {
    Piece::Value(format)
}

/// Go's `fmt.Sprintf("%.4g", v)`: four significant digits, trailing zeros dropped,
/// exponent form below 1e-4 and from 1e4 on.
pub fn go_g4(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    // Rust rounds the decimal expansion exactly, as Go's strconv does.
    let scientific = format!("{:.3e}", v.abs());
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let exp: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let nd = digits.len() as i32;
    let dp = exp + 1;
    let mut eprec = 4;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    if exp < -4 || exp >= eprec {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{exp_sign}{:02}", exp.abs());
    }
    let mut out = String::from(sign);
    if dp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-dp) as usize));
        out.push_str(digits);
    } else if dp >= nd {
        out.push_str(digits);
        out.push_str(&"0".repeat((dp - nd) as usize));
    } else {
        let (int, frac) = digits.split_at(dp as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// Prometheus's `humanize`.
pub fn humanize(mut v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return go_g4(v);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
        return format!("{}{prefix}", go_g4(v));
    }
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}", go_g4(v))
}

/// Prometheus's `humanizeDuration`.
pub fn humanize_duration(mut v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return go_g4(v);
    }
    if v == 0.0 {
        return format!("{}s", go_g4(v));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let whole = v as i64;
        let (seconds, minutes) = (whole % 60, (whole / 60) % 60);
        let (hours, days) = ((whole / 3_600) % 24, whole / 86_400);
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", go_g4(v));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", go_g4(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_significant_digits_print_as_go_does() {
        let cases = [
            (5.1, "5.1"),
            (100.0, "100"),
            (1234.0, "1234"),
            (12345.0, "1.234e+04"),
            (1e5, "1e+05"),
            (0.000123, "0.000123"),
            (0.0000123, "1.23e-05"),
            (97.5, "97.5"),
            (2.0 / 3.0, "0.6667"),
            (-3.25, "-3.25"),
            (0.05100000000000001 * 100.0, "5.1"),
        ];
        for (v, want) in cases {
            assert_eq!(go_g4(v), want, "{v}");
        }
    }

    #[test]
    fn humanize_functions_match_prometheus() {
        assert_eq!(humanize(1_500_000.0), "1.5M");
        assert_eq!(humanize(0.25), "250m");
        assert_eq!(humanize(201.0), "201");
        assert_eq!(humanize_duration(0.975), "975ms");
        assert_eq!(humanize_duration(97_920.0), "1d 3h 12m 0s");
        assert_eq!(humanize_duration(90.0), "1m 30s");
        assert_eq!(humanize_duration(1.45), "1.45s");
        assert_eq!(Format::Percent.apply(0.851), "85.1%");
    }

    #[test]
    fn templates_quote_literal_text_and_read_labels_and_value() {
        let text = text![
            lit("{{evil}} on "),
            label("instance"),
            lit(": "),
            value(Format::Percent)
        ];
        assert_eq!(
            text.template(),
            r#"{{ "{{evil}} on " }}{{ $labels.instance }}: {{ $value | humanizePercentage }}"#
        );
        let labels = BTreeMap::from([("instance".to_string(), "10.0.0.2:80".to_string())]);
        assert_eq!(text.expand(&labels, 0.5), "{{evil}} on 10.0.0.2:80: 50%");
    }
}
