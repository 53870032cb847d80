//! The open model's timetable: when the k-th request is due, for a constant rate or a rate
//! that moves linearly during a ramp and stays constant afterwards.
//!
//! During the ramp the rate is `r(t) = start + a·t` with `a = (rate - start) / ramp`, so
//! the number of requests due by `t` is `N(t) = start·t + a·t²/2`; request k is due when
//! `N(t) = k`. Computing each time from k (rather than adding intervals) keeps rounding
//! errors from piling up over millions of requests.

use std::time::Duration;

/// When requests are due.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    start: f64,
    rate: f64,
    ramp: f64,
}

impl Schedule {
    /// A timetable that moves from `start` to `rate` requests per second over `ramp`, then
    /// stays at `rate`. Rates are positive (start may be 0) and finite; the config checks.
    pub fn new(start: f64, rate: f64, ramp: Duration) -> Self {
        let ramp = ramp.as_secs_f64();
        if ramp == 0.0 {
            return Self {
                start: rate,
                rate,
                ramp: 0.0,
            };
        }
        Self { start, rate, ramp }
    }

    fn slope(&self) -> f64 {
        (self.rate - self.start) / self.ramp
    }

    /// Requests due during the ramp.
    fn ramp_count(&self) -> f64 {
        (self.start + self.rate) / 2.0 * self.ramp
    }

    /// How many requests are due at or after the start and strictly before `at`.
    pub fn count_before(&self, at: Duration) -> u64 {
        let t = at.as_secs_f64();
        let due = if t <= self.ramp {
            self.start * t + self.slope() * t * t / 2.0
        } else {
            self.ramp_count() + self.rate * (t - self.ramp)
        };
        // Request k is due at N⁻¹(k); those before `at` are k < N(at).
        due.max(0.0).ceil() as u64
    }

    /// When request `k` (from 0) is due, counted from the start.
    pub fn due(&self, k: u64) -> Duration {
        let k = k as f64;
        let ramp_count = self.ramp_count();
        let seconds = if k >= ramp_count || self.ramp == 0.0 {
            self.ramp + (k - ramp_count) / self.rate
        } else {
            let a = self.slope();
            if a.abs() < 1e-12 {
                k / self.start
            } else {
                // The root of a·t²/2 + start·t - k = 0 that lies within the ramp.
                let discriminant = (self.start * self.start + 2.0 * a * k).max(0.0);
                (discriminant.sqrt() - self.start) / a
            }
        };
        Duration::from_secs_f64(seconds.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_constant_rate_spaces_requests_evenly() {
        let schedule = Schedule::new(0.0, 100.0, Duration::ZERO);
        assert_eq!(schedule.due(0), Duration::ZERO);
        assert_eq!(schedule.due(1), secs(0.01));
        assert_eq!(schedule.due(250), secs(2.5));
        assert_eq!(schedule.count_before(secs(1.0)), 100);
        assert_eq!(schedule.count_before(secs(1.005)), 101);
    }

    #[test]
    fn a_ramp_from_zero_sends_half_as_many_as_the_full_rate_would() {
        let schedule = Schedule::new(0.0, 100.0, secs(10.0));
        assert_eq!(schedule.count_before(secs(10.0)), 500);
        assert_eq!(schedule.count_before(secs(12.0)), 700);
        // Due times and counts agree everywhere, ramp or not.
        for k in [1u64, 7, 100, 499, 500, 501, 650] {
            let at = schedule.due(k);
            assert_eq!(schedule.count_before(at + secs(1e-6)), k + 1, "k = {k}");
        }
    }

    #[test]
    fn a_ramp_down_is_as_exact_as_a_ramp_up() {
        let schedule = Schedule::new(300.0, 100.0, secs(4.0));
        assert_eq!(schedule.count_before(secs(4.0)), 800);
        for k in [1u64, 10, 400, 799, 800, 900] {
            let at = schedule.due(k);
            assert_eq!(schedule.count_before(at + secs(1e-6)), k + 1, "k = {k}");
        }
        assert!(schedule.due(1) < schedule.due(800) - schedule.due(799));
    }
}
