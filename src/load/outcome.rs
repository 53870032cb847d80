//! What became of one request: an HTTP answer, or the kind of failure that stopped it.

use std::fmt;

/// Why a request failed. The names are the keys of the report's `errors` maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// No connection could be opened (refused, unreachable, or too slow to open).
    Connect,
    /// No complete answer within the request timeout.
    Timeout,
    /// The server reset or closed the connection before the answer was complete.
    Reset,
    /// The server's answer was not valid HTTP/1.1.
    Protocol,
    /// Another input/output error on the connection.
    Io,
    /// The server answered with a 5xx status.
    Http5xx,
}

impl ErrorKind {
    /// Every kind, in report order.
    pub const ALL: [ErrorKind; 6] = [
        Self::Connect,
        Self::Timeout,
        Self::Reset,
        Self::Protocol,
        Self::Io,
        Self::Http5xx,
    ];

    /// The stable name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
            Self::Protocol => "protocol",
            Self::Io => "io",
            Self::Http5xx => "http_5xx",
        }
    }

    /// The position of this kind in [`Self::ALL`], for counting in arrays.
    pub fn index(self) -> usize {
        match self {
            Self::Connect => 0,
            Self::Timeout => 1,
            Self::Reset => 2,
            Self::Protocol => 3,
            Self::Io => 4,
            Self::Http5xx => 5,
        }
    }

    /// The kind of a failure reported by the HTTP client while a request was under way.
    pub fn of_hyper(error: &hyper::Error) -> Self {
        if error.is_timeout() {
            return Self::Timeout;
        }
        if error.is_parse() || error.is_parse_status() || error.is_parse_too_large() {
            return Self::Protocol;
        }
        if let Some(io) = io_source(error) {
            return Self::of_io(io);
        }
        if error.is_incomplete_message() || error.is_canceled() || error.is_closed() {
            return Self::Reset;
        }
        Self::Io
    }

    /// The kind of an input/output error on an open connection.
    pub fn of_io(error: &std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        match error.kind() {
            Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
                Self::Reset
            }
            Io::TimedOut => Self::Timeout,
            _ => Self::Io,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn io_source(error: &hyper::Error) -> Option<&std::io::Error> {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = cause.source();
    }
    None
}

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The bytes of body received.
    pub body_bytes: u64,
}

/// What became of one request.
pub type Outcome = Result<Answer, ErrorKind>;

/// Whether the outcome counts as a failure: a transport error, or a 5xx answer. A 4xx
/// answer is the server working as designed (a rate limit's 429, a missing page's 404) and
/// shows in the status breakdown instead.
pub fn failure_of(outcome: &Outcome) -> Option<ErrorKind> {
    match outcome {
        Ok(answer) if answer.status >= 500 => Some(ErrorKind::Http5xx),
        Ok(_) => None,
        Err(kind) => Some(*kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_stable_names_in_index_order() {
        let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            ["connect", "timeout", "reset", "protocol", "io", "http_5xx"]
        );
        assert!(
            ErrorKind::ALL
                .iter()
                .enumerate()
                .all(|(i, k)| k.index() == i)
        );
    }

    #[test]
    fn only_transport_errors_and_5xx_answers_are_failures() {
        let answer = |status| {
            Ok(Answer {
                status,
                body_bytes: 0,
            })
        };
        assert_eq!(failure_of(&answer(200)), None);
        assert_eq!(failure_of(&answer(429)), None);
        assert_eq!(failure_of(&answer(503)), Some(ErrorKind::Http5xx));
        assert_eq!(failure_of(&Err(ErrorKind::Reset)), Some(ErrorKind::Reset));
    }

    #[test]
    fn resets_and_timeouts_are_told_apart_from_other_io_errors() {
        use std::io::{Error, ErrorKind as Io};
        assert_eq!(
            ErrorKind::of_io(&Error::from(Io::ConnectionReset)),
            ErrorKind::Reset
        );
        assert_eq!(
            ErrorKind::of_io(&Error::from(Io::TimedOut)),
            ErrorKind::Timeout
        );
        assert_eq!(
            ErrorKind::of_io(&Error::from(Io::PermissionDenied)),
            ErrorKind::Io
        );
    }
}
