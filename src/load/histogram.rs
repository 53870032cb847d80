//! Latency histograms: one configuration for every histogram of every run, so that any two
//! can be added exactly, and their text form in reports.
//!
//! Values are microseconds from 1 µs to one hour with three significant digits (a recorded
//! value is off by at most 0.1 %). The text form is HdrHistogram's V2 serialization
//! (uncompressed) in standard base64, which the HdrHistogram libraries of other languages
//! read as well.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};

/// The smallest value tracked, in microseconds.
pub const LOWEST_US: u64 = 1;
/// The largest value tracked, in microseconds (one hour); longer latencies count as this.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// The significant decimal digits kept.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Why a histogram in a report cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    /// The text is not base64.
    #[error("histogram is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The bytes are not an HdrHistogram V2 serialization.
    #[error("histogram cannot be decoded: {0}")]
    Decode(String),
    /// The histogram cannot be written (a count beyond what the format holds).
    #[error("histogram cannot be encoded: {0}")]
    Encode(String),
    /// Two histograms cannot be added.
    #[error("histograms cannot be added: {0}")]
    Add(String),
}

/// An empty latency histogram in the shared configuration.
pub fn empty() -> Histogram<u64> {
    // The bounds are constants that satisfy the library's rules (low >= 1, high >= 2 * low,
    // digits <= 5), so creation cannot fail.
    let mut histogram = Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid");
    // Histograms read from other tools' reports may have wider bounds; growing keeps an
    // addition exact instead of refusing it.
    histogram.auto(true);
    histogram
}

/// Records one latency, clamped to the tracked range.
pub fn record(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.clamp(LOWEST_US, HIGHEST_US));
}

/// Adds `source` into `into`.
pub fn add(into: &mut Histogram<u64>, source: &Histogram<u64>) -> Result<(), HistogramError> {
    into.add(source)
        .map_err(|e| HistogramError::Add(format!("{e:?}")))
}

/// The report text of a histogram.
pub fn encode(histogram: &Histogram<u64>) -> Result<String, HistogramError> {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(|e| HistogramError::Encode(format!("{e:?}")))?;
    Ok(STANDARD.encode(bytes))
}

/// Reads the report text of a histogram back.
pub fn decode(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = STANDARD.decode(text)?;
    let decoded: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| HistogramError::Decode(format!("{e:?}")))?;
    let mut histogram = empty();
    add(&mut histogram, &decoded)?;
    Ok(histogram)
}

/// A latency in milliseconds with microsecond precision, as reports print it.
pub fn millis(micros: u64) -> f64 {
    micros as f64 / 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_survive_their_text_form_exactly() {
        let mut histogram = empty();
        for micros in [1, 250, 999, 1_000, 12_345, 200_000, 9_000_000] {
            record(&mut histogram, Duration::from_micros(micros));
        }
        record(&mut histogram, Duration::from_secs(7_200));
        let back = decode(&encode(&histogram).unwrap()).unwrap();
        assert_eq!(back, histogram);
        assert_eq!(back.len(), 8);
        assert!(back.max() >= HIGHEST_US);
    }

    #[test]
    fn text_that_is_not_a_histogram_is_an_error_not_a_panic() {
        assert!(matches!(decode("%%%"), Err(HistogramError::Base64(_))));
        assert!(matches!(decode("aGVsbG8="), Err(HistogramError::Decode(_))));
        assert!(decode("").is_err());
    }
}
