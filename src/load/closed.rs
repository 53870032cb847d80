//! The closed model: virtual users started along a linear ramp, each on its own keep-alive
//! connection, each sending its next request when the last one returned.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::outcome::ErrorKind;
use super::run::Context;

/// The first pause after a failed connect; it doubles on each failure in a row, so a
/// refused port costs a user a few attempts a second instead of a busy loop.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// The longest pause after failed connects.
const LAST_BACKOFF: Duration = Duration::from_secs(1);

/// Runs `users` users, user i starting `ramp × i / users` after the start, until the
/// deadline; returns when every user is done.
pub(super) async fn run(context: Arc<Context>, users: u32, ramp: Duration, think: Duration) {
    let mut tasks = JoinSet::new();
    for index in 0..users {
        let offset = ramp.mul_f64(f64::from(index) / f64::from(users));
        let begin = context.start + offset;
        tasks.spawn(user(context.clone(), index, begin, think));
    }
    while tasks.join_next().await.is_some() {}
}

async fn user(context: Arc<Context>, index: u32, begin: Instant, think: Duration) {
    if !context.sleep_until(begin).await {
        return;
    }
    let live = &context.recorder.live;
    live.active_users.fetch_add(1, Ordering::Relaxed);

    let mut conn = None;
    let mut picker = context.mix.picker(u64::from(index));
    let mut backoff = FIRST_BACKOFF;
    while context.running() {
        let kind = picker.next_index();
        live.started.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let outcome = context.attempt(&mut conn, kind).await;
        let done = Instant::now();
        context
            .recorder
            .record(index as usize, kind, &outcome, done - sent, done);

        let pause = if outcome == Err(ErrorKind::Connect) {
            let pause = backoff.max(think);
            backoff = (backoff * 2).min(LAST_BACKOFF);
            pause
        } else {
            backoff = FIRST_BACKOFF;
            think
        };
        if !pause.is_zero() && !context.sleep_until(Instant::now() + pause).await {
            break;
        }
    }
    live.active_users.fetch_sub(1, Ordering::Relaxed);
}
