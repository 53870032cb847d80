//! The open model: requests started on a timetable whether or not earlier ones returned,
//! over a bounded pool of keep-alive connections.
//!
//! Each request's latency counts from the moment the timetable said it was due (or from
//! its send, when the timer let it go a moment early), not from when it went out late.
//! When the server stalls, the requests due meanwhile wait for a connection and carry that
//! wait in their latency, so the stall shows in the percentiles instead of being skipped
//! over (the "coordinated omission" a closed loop suffers).
//! A send that starts more than [`LATE`] after its due time is counted as behind schedule.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep_until, timeout_at};

use super::conn::Conn;
use super::run::Context;
use super::schedule::Schedule;

/// How late a send may start before it counts as behind schedule: above timer and
/// scheduling jitter on a busy machine, well below any latency worth reporting.
pub const LATE: Duration = Duration::from_millis(10);

/// How early the timetable wakes before a request is due. tokio's timers fire on
/// millisecond ticks and often a tick late; a request is dispatched up to this early, and
/// its latency then counts from its send rather than its due time, so the timer's own
/// lateness never adds to the latencies reported.
const EARLY: Duration = Duration::from_millis(2);

/// The most requests waiting for a connection or in flight at once. Past this the
/// timetable itself waits (the waiting shows as sends behind schedule), so that a long
/// stall at a high rate cannot pile up unbounded memory.
const MAX_PENDING: u32 = 50_000;

/// How long past the hard stop the last requests get to record their outcome.
const SETTLE: Duration = Duration::from_millis(500);

/// Idle connections, reused last-in first-out so that only as many stay warm as the load
/// needs; and the permits that bound how many exist at once.
struct Pool {
    permits: Semaphore,
    idle: Mutex<Vec<Conn>>,
}

impl Pool {
    fn take(&self) -> Option<Conn> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn give_back(&self, conn: Conn) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }
}

/// Starts the requests of `schedule` until the deadline, then waits for the last ones.
pub(super) async fn run(context: Arc<Context>, schedule: Schedule, connections: u32) {
    let pool = Arc::new(Pool {
        permits: Semaphore::new(connections as usize),
        idle: Mutex::new(Vec::new()),
    });
    let pending = Arc::new(Semaphore::new(MAX_PENDING as usize));
    let window = context.deadline - context.start;
    let mut picker = context.mix.picker(0);

    let mut next = 0u64;
    loop {
        let due = schedule.due(next);
        if due >= window {
            break;
        }
        let due = context.start + due;
        let wake = due.checked_sub(EARLY).unwrap_or(due);
        if wake > Instant::now() && !context.sleep_until(wake).await {
            break;
        }
        // A request due before the deadline goes out even when the timetable runs late;
        // the deadline only ends a wait for room.
        let permit = tokio::select! {
            biased;
            permit = pending.clone().acquire_owned() => permit.ok(),
            () = sleep_until(context.deadline.into()) => None,
            () = context.stop.cancelled() => None,
        };
        let Some(permit) = permit else { break };
        let kind = picker.next_index();
        tokio::spawn(send(context.clone(), pool.clone(), next, kind, due, permit));
        next += 1;
    }

    // Requests that were due but never dispatched: the deadline came while the timetable
    // waited for room.
    // A stop asked for by the caller is not a drop: those requests were never meant to go.
    if !context.stop.is_cancelled() {
        let never = schedule.count_before(window).saturating_sub(next);
        context
            .recorder
            .live
            .dropped
            .fetch_add(never, Ordering::Relaxed);
    }

    // Every request ends by the hard stop; the margin lets the last ones write down
    // their outcome before the report is added up.
    let bound = tokio::time::Instant::from_std(context.hard_stop + SETTLE);
    let _ = timeout_at(bound, pending.acquire_many(MAX_PENDING)).await;
}

async fn send(
    context: Arc<Context>,
    pool: Arc<Pool>,
    sequence: u64,
    kind: usize,
    due: Instant,
    _pending: OwnedSemaphorePermit,
) {
    let live = &context.recorder.live;
    let bound = tokio::time::Instant::from_std(context.hard_stop);
    let permit = tokio::select! {
        permit = timeout_at(bound, pool.permits.acquire()) => permit.ok().and_then(Result::ok),
        () = context.stop.cancelled() => None,
    };
    let Some(_permit) = permit else {
        live.dropped.fetch_add(1, Ordering::Relaxed);
        return;
    };

    let sent = Instant::now();
    // Late: the wait counts, from the due time. Early (by the timer's slack at most): the
    // request's own time counts, from the send.
    let from = sent.min(due);
    let lag = sent.saturating_duration_since(due);
    if lag > LATE {
        live.behind_schedule.fetch_add(1, Ordering::Relaxed);
        let lag_us = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
        live.max_lag_us.fetch_max(lag_us, Ordering::Relaxed);
    }
    live.started.fetch_add(1, Ordering::Relaxed);

    let mut conn = pool.take();
    let outcome = context.attempt(&mut conn, kind).await;
    let done = Instant::now();
    context
        .recorder
        .record(sequence as usize, kind, &outcome, done - from, done);
    if let Some(conn) = conn {
        pool.give_back(conn);
    }
}
