//! Typed scalar values of the spec: durations, percentages, sizes, rates and dates.
//!
//! Each type parses from the text a person writes (`1h30m`, `0.5%`, `512Mi`, `200/s`,
//! `2027-01-31`), prints back in a canonical form, and explains bad text in one sentence
//! that names what is allowed. The JSON Schema of each is a string with a `format` that the
//! loader registers, so every bad value in a spec is reported in one run.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a typed value could not be read: the sentence shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// What was wrong, lowercase, naming the value found.
    pub message: String,
    /// What is allowed, with an example.
    pub help: String,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.message, self.help)
    }
}

impl std::error::Error for ValueError {}

fn value_error(message: String, help: &str) -> ValueError {
    ValueError {
        message,
        help: help.to_string(),
    }
}

/// Splits `text` into a leading decimal number and the unit after it.
fn split_number(text: &str) -> Option<(&str, &str)> {
    let end = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(text.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    Some((&text[..end], &text[end..]))
}

/// A span of time such as `300ms`, `5s`, `2m`, `1h30m` or `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(std::time::Duration);

const DURATION_HELP: &str =
    "a duration is one or more numbers with a unit (ms, s, m, h, d), e.g. `500ms`, `5s`, `1h30m`";

impl Duration {
    /// A duration of whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }

    /// A duration of whole milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self(std::time::Duration::from_millis(millis))
    }

    /// The standard library value, for timers and sleeps.
    pub const fn std(self) -> std::time::Duration {
        self.0
    }

    /// Whole seconds, rounded down.
    pub const fn as_secs(self) -> u64 {
        self.0.as_secs()
    }

    /// Whole milliseconds, saturating.
    pub fn as_millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether this is the zero duration.
    pub const fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl From<std::time::Duration> for Duration {
    fn from(value: std::time::Duration) -> Self {
        Self(value)
    }
}

impl FromStr for Duration {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        if text == "0" {
            return Ok(Self::default());
        }
        if text.is_empty() {
            return Err(value_error("empty duration".into(), DURATION_HELP));
        }
        let mut rest = text;
        let mut total_ms: u128 = 0;
        while !rest.is_empty() {
            let Some((number, after)) = split_number(rest) else {
                return Err(value_error(
                    format!("invalid duration `{text}`"),
                    DURATION_HELP,
                ));
            };
            let unit_len = after
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(after.len());
            let (unit, next) = after.split_at(unit_len);
            let factor_ms: u128 = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "" => {
                    let message = format!("duration `{text}` has a number without a unit");
                    return Err(value_error(message, DURATION_HELP));
                }
                other => {
                    let message = format!("duration `{text}` has an unknown unit `{other}`");
                    return Err(value_error(message, DURATION_HELP));
                }
            };
            let value: f64 = number.parse().map_err(|_| {
                value_error(
                    format!("invalid number `{number}` in duration `{text}`"),
                    DURATION_HELP,
                )
            })?;
            total_ms += (value * factor_ms as f64).round() as u128;
            rest = next;
        }
        // Ten years is far beyond any timeout, pause or retention a stack needs.
        if total_ms > 10 * 365 * 86_400_000 {
            let message = format!("duration `{text}` is longer than ten years");
            return Err(value_error(message, DURATION_HELP));
        }
        Ok(Self::from_millis(total_ms as u64))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        if ms > 0 {
            write!(f, "{ms}ms")?;
        }
        Ok(())
    }
}

/// A share such as `1%` or `0.5%`, between 0 and 100 percent.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Percent(f64);

const PERCENT_HELP: &str =
    "a percentage is a number from 0 to 100 followed by `%`, e.g. `1%`, `0.5%`";

impl Percent {
    /// A percentage from its number of percent (`0.5` means half a percent).
    pub fn new(percent: f64) -> Option<Self> {
        (0.0..=100.0).contains(&percent).then_some(Self(percent))
    }

    /// The number of percent, from 0 to 100.
    pub const fn percent(self) -> f64 {
        self.0
    }

    /// The fraction, from 0 to 1, as PromQL and ratios use it.
    pub fn fraction(self) -> f64 {
        self.0 / 100.0
    }
}

impl FromStr for Percent {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let Some(number) = text.strip_suffix('%') else {
            let message = format!("percentage `{text}` does not end with `%`");
            return Err(value_error(message, PERCENT_HELP));
        };
        let value: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && !number.starts_with(['+', '-']))
            .ok_or_else(|| value_error(format!("invalid percentage `{text}`"), PERCENT_HELP))?;
        Self::new(value)
            .ok_or_else(|| value_error(format!("percentage `{text}` is above 100%"), PERCENT_HELP))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// An amount of memory or disk such as `512Mi`, `1G` or `64k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Size(u64);

const SIZE_HELP: &str =
    "a size is a whole number with an optional unit (k, M, G, T or Ki, Mi, Gi, Ti), e.g. `512Mi`";

impl Size {
    /// A size of so many bytes.
    pub const fn from_bytes(bytes: u64) -> Self {
        Self(bytes)
    }

    /// The number of bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for Size {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let Some((number, unit)) = split_number(text) else {
            return Err(value_error(format!("invalid size `{text}`"), SIZE_HELP));
        };
        let factor: u64 = match unit {
            "" | "b" | "B" => 1,
            "k" | "K" | "kB" | "KB" => 1_000,
            "M" | "MB" => 1_000_000,
            "G" | "GB" => 1_000_000_000,
            "T" | "TB" => 1_000_000_000_000,
            "Ki" | "KiB" => 1 << 10,
            "Mi" | "MiB" => 1 << 20,
            "Gi" | "GiB" => 1 << 30,
            "Ti" | "TiB" => 1 << 40,
            other => {
                let message = format!("size `{text}` has an unknown unit `{other}`");
                return Err(value_error(message, SIZE_HELP));
            }
        };
        let value: u64 = number.parse().map_err(|_| {
            value_error(
                format!("size `{text}` is not a whole number of units"),
                SIZE_HELP,
            )
        })?;
        value
            .checked_mul(factor)
            .map(Self)
            .ok_or_else(|| value_error(format!("size `{text}` is too large"), SIZE_HELP))
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, size) in [
            ("Ti", 1u64 << 40),
            ("Gi", 1 << 30),
            ("Mi", 1 << 20),
            ("Ki", 1 << 10),
        ] {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.0 / size);
            }
        }
        write!(f, "{}", self.0)
    }
}

/// A frequency such as `200/s`, `30/m` or `1000/h`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate {
    count: f64,
    per: RateUnit,
}

/// The time unit a rate was written in; kept so the rate prints as it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RateUnit {
    /// Per second.
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
}

const RATE_HELP: &str =
    "a rate is a positive number, `/` and a unit (s, m, h), e.g. `200/s`, `30/m`";

impl Rate {
    /// Events per second.
    pub fn per_second(self) -> f64 {
        match self.per {
            RateUnit::Second => self.count,
            RateUnit::Minute => self.count / 60.0,
            RateUnit::Hour => self.count / 3_600.0,
        }
    }

    /// The count and the unit as written.
    pub fn parts(self) -> (f64, RateUnit) {
        (self.count, self.per)
    }

    /// A rate of so many events per second.
    pub fn from_per_second(count: f64) -> Self {
        Self {
            count,
            per: RateUnit::Second,
        }
    }
}

impl FromStr for Rate {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let Some((count, unit)) = text.split_once('/') else {
            let message = format!("rate `{text}` has no `/unit`");
            return Err(value_error(message, RATE_HELP));
        };
        let per = match unit {
            "s" | "sec" => RateUnit::Second,
            "m" | "min" => RateUnit::Minute,
            "h" => RateUnit::Hour,
            other => {
                let message = format!("rate `{text}` has an unknown unit `{other}`");
                return Err(value_error(message, RATE_HELP));
            }
        };
        let count: f64 = count
            .parse()
            .ok()
            .filter(|c: &f64| c.is_finite() && *c > 0.0 && !count.starts_with('+'))
            .ok_or_else(|| value_error(format!("invalid rate `{text}`"), RATE_HELP))?;
        Ok(Self { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per {
            RateUnit::Second => "s",
            RateUnit::Minute => "m",
            RateUnit::Hour => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// A calendar day such as `2027-01-31`, used for waiver expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(jiff::civil::Date);

const DATE_HELP: &str = "a date is written `YYYY-MM-DD`, e.g. `2027-01-31`";

impl Date {
    /// The civil date, for comparisons with today.
    pub const fn civil(self) -> jiff::civil::Date {
        self.0
    }

    /// Today in the machine's time zone.
    pub fn today() -> Self {
        Self(jiff::ZonedDateTime::now().date())
    }

    /// A date from its parts, when they form a real day.
    pub fn new(year: i16, month: i8, day: i8) -> Option<Self> {
        jiff::civil::Date::new(year, month, day).ok().map(Self)
    }
}

impl FromStr for Date {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shaped {
            return Err(value_error(format!("invalid date `{text}`"), DATE_HELP));
        }
        text.parse::<jiff::civil::Date>()
            .map(Self)
            .map_err(|_| value_error(format!("`{text}` is not a day of the calendar"), DATE_HELP))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Implements serde and JSON Schema for a value type that is written as text.
macro_rules! text_value {
    ($type:ty, $format:literal, $description:literal, $($extra:tt)*) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = TextOrNumber::deserialize(deserializer)?;
                text.0.parse().map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $type {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($type))
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "description": $description,
                    "format": $format,
                    $($extra)*
                })
            }
        }
    };
}

text_value!(Duration, "duration", "A duration such as `500ms`, `5s` or `1h30m`.",
    "anyOf": [{ "type": "string" }, { "const": 0 }]);
text_value!(Percent, "percent", "A percentage such as `1%` or `0.5%`.", "type": "string");
text_value!(Size, "size", "A size such as `512Mi` or `1G`.", "type": ["string", "integer"]);
text_value!(Rate, "rate", "A rate such as `200/s` or `30/m`.", "type": "string");
text_value!(Date, "date", "A calendar date, `YYYY-MM-DD`.", "type": "string");

/// Text read from a YAML scalar that may have been written as a bare number (`0`, `1024`).
struct TextOrNumber(String);

impl<'de> Deserialize<'de> for TextOrNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Unsigned(u64),
        }
        Ok(match Raw::deserialize(deserializer) {
            Ok(Raw::Text(text)) => Self(text),
            Ok(Raw::Unsigned(number)) => Self(number.to_string()),
            Err(_) => {
                return Err(serde::de::Error::custom(
                    "expected text such as `5s` or `1%`",
                ));
            }
        })
    }
}

/// Checks `text` against the typed value named by a schema `format`, for the loader's
/// format checks. Returns `None` for formats this module does not own.
pub fn check_format(format: &str, text: &str) -> Option<Result<(), ValueError>> {
    Some(match format {
        "duration" => text.parse::<Duration>().map(drop),
        "percent" => text.parse::<Percent>().map(drop),
        "size" => text.parse::<Size>().map(drop),
        "rate" => text.parse::<Rate>().map(drop),
        "date" => text.parse::<Date>().map(drop),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_compound_text_and_print_canonically() {
        let d: Duration = "1h30m".parse().unwrap();
        assert_eq!(d.as_secs(), 5_400);
        assert_eq!(d.to_string(), "1h30m");
        assert_eq!("500ms".parse::<Duration>().unwrap().as_millis(), 500);
        assert_eq!("1.5s".parse::<Duration>().unwrap().as_millis(), 1_500);
        assert_eq!("0".parse::<Duration>().unwrap(), Duration::default());
        assert_eq!("2d".parse::<Duration>().unwrap().to_string(), "2d");
    }

    #[test]
    fn durations_reject_missing_and_unknown_units() {
        let err = "5".parse::<Duration>().unwrap_err();
        assert_eq!(err.message, "duration `5` has a number without a unit");
        let err = "5x".parse::<Duration>().unwrap_err();
        assert_eq!(err.message, "duration `5x` has an unknown unit `x`");
        assert!("".parse::<Duration>().is_err());
        assert!("s".parse::<Duration>().is_err());
        assert!("-5s".parse::<Duration>().is_err());
        assert!("1..2s".parse::<Duration>().is_err());
        assert!("99999999999d".parse::<Duration>().is_err());
    }

    #[test]
    fn percentages_need_a_sign_and_stay_within_a_hundred() {
        assert_eq!("0.5%".parse::<Percent>().unwrap().fraction(), 0.005);
        assert_eq!("100%".parse::<Percent>().unwrap().percent(), 100.0);
        assert!("5".parse::<Percent>().is_err());
        assert!("101%".parse::<Percent>().is_err());
        assert!("-1%".parse::<Percent>().is_err());
        assert!("NaN%".parse::<Percent>().is_err());
        assert!("inf%".parse::<Percent>().is_err());
    }

    #[test]
    fn sizes_know_decimal_and_binary_units() {
        assert_eq!("512Mi".parse::<Size>().unwrap().bytes(), 512 << 20);
        assert_eq!("1G".parse::<Size>().unwrap().bytes(), 1_000_000_000);
        assert_eq!("1024".parse::<Size>().unwrap().bytes(), 1024);
        assert_eq!(Size::from_bytes(512 << 20).to_string(), "512Mi");
        assert!("1.5G".parse::<Size>().is_err());
        assert!("12Q".parse::<Size>().is_err());
        assert!("99999999999999999999".parse::<Size>().is_err());
        assert!("20000000Ti".parse::<Size>().is_err());
    }

    #[test]
    fn rates_convert_to_per_second() {
        assert_eq!("200/s".parse::<Rate>().unwrap().per_second(), 200.0);
        assert_eq!("30/m".parse::<Rate>().unwrap().per_second(), 0.5);
        assert_eq!("200/s".parse::<Rate>().unwrap().to_string(), "200/s");
        assert!("200".parse::<Rate>().is_err());
        assert!("0/s".parse::<Rate>().is_err());
        assert!("10/d".parse::<Rate>().is_err());
    }

    #[test]
    fn dates_must_be_real_days() {
        assert_eq!(
            "2027-01-31".parse::<Date>().unwrap().to_string(),
            "2027-01-31"
        );
        assert!("2027-02-30".parse::<Date>().is_err());
        assert!("27-1-31".parse::<Date>().is_err());
        assert!("2027-01-31T00:00".parse::<Date>().is_err());
    }
}
