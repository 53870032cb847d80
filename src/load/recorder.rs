//! Where a running load test writes down each request's outcome, and the figures it adds
//! up to at the end.
//!
//! Recording must cost next to nothing and never make users wait on each other, so the
//! tallies are split into shards, each behind its own lock, and a user always writes to the
//! same shard. The per-second timeline keeps a full histogram only for the second under
//! way; a finished second is folded into its recorded buckets, which are exact and small.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::histogram;
use super::outcome::{ErrorKind, Outcome, failure_of};

/// The figures of one kind of request (or of a whole run).
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latencies of the requests that got an HTTP answer, in microseconds.
    pub latency: Histogram<u64>,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Failures by kind, indexed by [`ErrorKind::index`].
    pub errors: [u64; ErrorKind::ALL.len()],
    /// Requests that got an answer below 500.
    pub succeeded: u64,
    /// Requests that failed or got a 5xx answer.
    pub failed: u64,
    /// Body bytes received.
    pub body_bytes: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            latency: histogram::empty(),
            statuses: BTreeMap::new(),
            errors: [0; ErrorKind::ALL.len()],
            succeeded: 0,
            failed: 0,
            body_bytes: 0,
        }
    }
}

impl Tally {
    /// Counts one outcome and its latency.
    pub fn record(&mut self, outcome: &Outcome, latency: Duration) {
        if let Ok(answer) = outcome {
            histogram::record(&mut self.latency, latency);
            *self.statuses.entry(answer.status).or_default() += 1;
            self.body_bytes += answer.body_bytes;
        }
        match failure_of(outcome) {
            Some(kind) => {
                self.failed += 1;
                self.errors[kind.index()] += 1;
            }
            None => self.succeeded += 1,
        }
    }

    /// Adds another tally into this one.
    pub fn add(&mut self, other: &Tally) -> Result<(), histogram::HistogramError> {
        histogram::add(&mut self.latency, &other.latency)?;
        for (status, count) in &other.statuses {
            *self.statuses.entry(*status).or_default() += count;
        }
        for (mine, theirs) in self.errors.iter_mut().zip(other.errors) {
            *mine += theirs;
        }
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.body_bytes += other.body_bytes;
        Ok(())
    }

    /// Requests sent: every request ends up either succeeded or failed.
    pub fn sent(&self) -> u64 {
        self.succeeded + self.failed
    }
}

/// The figures of one second of the run, by when requests completed.
#[derive(Debug, Clone)]
pub struct SecondTally {
    /// Latencies of the answers completed in this second.
    pub latency: Histogram<u64>,
    /// Requests completed without failure.
    pub succeeded: u64,
    /// Requests that failed in this second.
    pub failed: u64,
}

impl Default for SecondTally {
    fn default() -> Self {
        Self {
            latency: histogram::empty(),
            succeeded: 0,
            failed: 0,
        }
    }
}

/// A finished second, kept as its recorded buckets (value, count) instead of a full
/// histogram.
#[derive(Debug, Clone)]
struct FoldedSecond {
    second: u32,
    buckets: Vec<(u64, u64)>,
    succeeded: u64,
    failed: u64,
}

impl FoldedSecond {
    fn fold(second: u32, tally: &SecondTally) -> Self {
        let buckets = tally
            .latency
            .iter_recorded()
            .map(|bucket| (bucket.value_iterated_to(), bucket.count_at_value()))
            .collect();
        Self {
            second,
            buckets,
            succeeded: tally.succeeded,
            failed: tally.failed,
        }
    }

    fn unfold_into(&self, tally: &mut SecondTally) {
        for &(value, count) in &self.buckets {
            // The value is the top of its bucket, so it lands in the same bucket again.
            tally.latency.saturating_record_n(value, count);
        }
        tally.succeeded += self.succeeded;
        tally.failed += self.failed;
    }
}

#[derive(Debug)]
struct Shard {
    requests: Vec<Tally>,
    second: u32,
    current: SecondTally,
    folded: Vec<FoldedSecond>,
    completed: u64,
    failed: u64,
}

impl Shard {
    fn new(kinds: usize) -> Self {
        Self {
            requests: vec![Tally::default(); kinds],
            second: 0,
            current: SecondTally::default(),
            folded: Vec::new(),
            completed: 0,
            failed: 0,
        }
    }

    fn record_second(&mut self, second: u32, outcome: &Outcome, latency: Duration) {
        // Outcomes reach a shard in completion order, give or take the moment between
        // reading the clock and taking the lock; a late one counts in the current second.
        if second > self.second {
            self.fold_current();
            self.second = second;
        }
        if outcome.is_ok() {
            histogram::record(&mut self.current.latency, latency);
        }
        match failure_of(outcome) {
            Some(_) => self.current.failed += 1,
            None => self.current.succeeded += 1,
        }
    }

    fn fold_current(&mut self) {
        if self.current.succeeded + self.current.failed > 0 {
            self.folded
                .push(FoldedSecond::fold(self.second, &self.current));
            self.current.latency.reset();
            self.current.succeeded = 0;
            self.current.failed = 0;
        }
    }
}

/// Counters read while the run goes on, for progress displays.
#[derive(Debug, Default)]
pub struct Live {
    /// Requests started.
    pub started: AtomicU64,
    /// Virtual users running (closed model).
    pub active_users: AtomicU64,
    /// Sends that started later than scheduled by more than the tolerance (open model).
    pub behind_schedule: AtomicU64,
    /// The longest delay of a send past its schedule, in microseconds (open model).
    pub max_lag_us: AtomicU64,
    /// Scheduled requests that were never sent (open model).
    pub dropped: AtomicU64,
}

/// The recorder of a running load test.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    shards: Box<[Mutex<Shard>]>,
    /// Counters read while the run goes on.
    pub live: Live,
}

/// Everything a run recorded, added up over the shards.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// One tally per kind of request, in mix order.
    pub requests: Vec<Tally>,
    /// Seconds since the start, by when requests completed.
    pub timeline: BTreeMap<u32, SecondTally>,
}

impl Recorder {
    /// A recorder for `kinds` kinds of request, split into `shards` shards, counting
    /// seconds from `start`.
    pub fn new(start: Instant, kinds: usize, shards: usize) -> Self {
        let shards = (0..shards.max(1))
            .map(|_| Mutex::new(Shard::new(kinds)))
            .collect();
        Self {
            start,
            shards,
            live: Live::default(),
        }
    }

    /// Counts one outcome of request kind `kind`, completed at `done`, in shard `shard`
    /// (any number; it is reduced to the shards there are).
    pub fn record(
        &self,
        shard: usize,
        kind: usize,
        outcome: &Outcome,
        latency: Duration,
        done: Instant,
    ) {
        let second =
            u32::try_from(done.saturating_duration_since(self.start).as_secs()).unwrap_or(u32::MAX);
        let mut shard = self.lock(shard);
        if let Some(tally) = shard.requests.get_mut(kind) {
            tally.record(outcome, latency);
        }
        shard.record_second(second, outcome, latency);
        shard.completed += 1;
        if failure_of(outcome).is_some() {
            shard.failed += 1;
        }
    }

    /// Requests completed and failed so far.
    pub fn completed(&self) -> (u64, u64) {
        (0..self.shards.len())
            .map(|index| {
                let shard = self.lock(index);
                (shard.completed, shard.failed)
            })
            .fold((0, 0), |(c, f), (sc, sf)| (c + sc, f + sf))
    }

    /// Adds up the shards.
    pub fn finish(&self) -> Result<Recorded, histogram::HistogramError> {
        let mut recorded = Recorded::default();
        for index in 0..self.shards.len() {
            let mut shard = self.lock(index);
            shard.fold_current();
            if recorded.requests.is_empty() {
                recorded.requests = vec![Tally::default(); shard.requests.len()];
            }
            for (total, tally) in recorded.requests.iter_mut().zip(&shard.requests) {
                total.add(tally)?;
            }
            for folded in &shard.folded {
                folded.unfold_into(recorded.timeline.entry(folded.second).or_default());
            }
        }
        Ok(recorded)
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        let shard = &self.shards[shard % self.shards.len()];
        // A panic while holding the lock cannot leave a tally half-written in a way that
        // matters more than losing the whole run, so a poisoned lock is used as it is.
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::outcome::Answer;

    fn ok(status: u16) -> Outcome {
        Ok(Answer {
            status,
            body_bytes: 10,
        })
    }

    #[test]
    fn outcomes_add_up_over_shards_and_seconds() {
        let start = Instant::now();
        let recorder = Recorder::new(start, 2, 3);
        let ms = Duration::from_millis;
        for i in 0..30u64 {
            let done = start + ms(i * 100);
            recorder.record(i as usize, (i % 2) as usize, &ok(200), ms(i), done);
        }
        recorder.record(0, 0, &ok(503), ms(5), start + ms(2_950));
        recorder.record(
            1,
            1,
            &Err(ErrorKind::Timeout),
            ms(10_000),
            start + ms(2_960),
        );
        assert_eq!(recorder.completed(), (32, 2));

        let recorded = recorder.finish().unwrap();
        let [first, second] = &recorded.requests[..] else {
            panic!("two kinds were recorded");
        };
        assert_eq!((first.succeeded, first.failed, first.sent()), (15, 1, 16));
        assert_eq!(first.statuses, BTreeMap::from([(200, 15), (503, 1)]));
        assert_eq!(second.errors[ErrorKind::Timeout.index()], 1);
        assert_eq!(second.latency.len(), 15);
        assert_eq!(first.body_bytes, 160);

        let per_second: Vec<(u32, u64, u64, u64)> = recorded
            .timeline
            .iter()
            .map(|(s, t)| (*s, t.succeeded, t.failed, t.latency.len()))
            .collect();
        assert_eq!(per_second, [(0, 10, 0, 10), (1, 10, 0, 10), (2, 10, 2, 11)]);
    }

    #[test]
    fn folded_seconds_keep_their_latencies_exactly() {
        let start = Instant::now();
        let recorder = Recorder::new(start, 1, 1);
        let mut expected = histogram::empty();
        for micros in [3, 700, 1_234, 98_765, 2_000_000] {
            let latency = Duration::from_micros(micros);
            histogram::record(&mut expected, latency);
            recorder.record(0, 0, &ok(200), latency, start);
        }
        recorder.record(
            0,
            0,
            &ok(200),
            Duration::from_micros(5),
            start + Duration::from_secs(1),
        );
        let recorded = recorder.finish().unwrap();
        assert_eq!(recorded.timeline[&0].latency, expected);
    }
}
