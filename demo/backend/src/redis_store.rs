//! What the service keeps in Redis: login sessions (shared by all replicas, so a token
//! issued by one is honoured by the others and a logout ends it everywhere) and a short-lived
//! cache of the candidate count that the scrapes of every replica read.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Longest wait for any Redis command, so a dead Redis cannot stall a request.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// Sorted set of live session ids, scored by their expiry (Unix seconds).
const SESSIONS_KEY: &str = "uns:sessions";

/// Cached candidate count.
const CANDIDATE_COUNT_KEY: &str = "uns:candidates:count";

/// How long a cached candidate count may be served.
const CANDIDATE_COUNT_TTL_SECONDS: u64 = 5;

/// Why a Redis command did not complete.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `REDIS_URL` is not set, so there is no Redis to ask.
    #[error("Redis is not configured (REDIS_URL is not set)")]
    NotConfigured,
    /// The command failed or the connection broke.
    #[error("Redis command failed: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// A Redis connection that reconnects on its own, or nothing when Redis is not configured.
pub struct RedisStore {
    manager: Option<ConnectionManager>,
}

impl RedisStore {
    /// Prepares the connection without opening it: the service starts while Redis is down.
    pub fn new(client: Option<redis::Client>) -> Result<Self, redis::RedisError> {
        let Some(client) = client else {
            return Ok(Self { manager: None });
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            manager: Some(manager),
        })
    }

    /// True when `REDIS_URL` names a Redis.
    pub fn configured(&self) -> bool {
        self.manager.is_some()
    }

    /// True when Redis answers `PING` within [`REDIS_TIMEOUT`].
    pub async fn ping(&self) -> bool {
        self.run::<String>(redis::cmd("PING")).await.is_ok()
    }

    /// Records a session that expires after `ttl`.
    pub async fn start_session(&self, id: &str, ttl: Duration) -> Result<(), StoreError> {
        let expires = unix_now() + ttl.as_secs();
        let mut cmd = redis::cmd("ZADD");
        cmd.arg(SESSIONS_KEY).arg(expires).arg(id);
        self.run::<i64>(cmd).await.map(drop)
    }

    /// True when the session exists and has not expired.
    pub async fn session_alive(&self, id: &str) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("ZSCORE");
        cmd.arg(SESSIONS_KEY).arg(id);
        let expires = self.run::<Option<f64>>(cmd).await?;
        Ok(expires.is_some_and(|at| at > unix_now() as f64))
    }

    /// Ends a session; ending one that is gone is not an error.
    pub async fn end_session(&self, id: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(SESSIONS_KEY).arg(id);
        self.run::<i64>(cmd).await.map(drop)
    }

    /// Drops expired sessions and counts the rest.
    pub async fn active_sessions(&self) -> Result<i64, StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("ZREMRANGEBYSCORE")
            .arg(SESSIONS_KEY)
            .arg("-inf")
            .arg(unix_now())
            .ignore()
            .cmd("ZCARD")
            .arg(SESSIONS_KEY);
        let (count,) = self.run_pipe::<(i64,)>(pipe).await?;
        Ok(count)
    }

    /// The cached candidate count, `None` on a miss.
    pub async fn cached_candidate_count(&self) -> Result<Option<i64>, StoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(CANDIDATE_COUNT_KEY);
        self.run::<Option<i64>>(cmd).await
    }

    /// Caches the candidate count for a few seconds.
    pub async fn cache_candidate_count(&self, count: i64) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(CANDIDATE_COUNT_KEY)
            .arg(count)
            .arg("EX")
            .arg(CANDIDATE_COUNT_TTL_SECONDS);
        self.run::<()>(cmd).await
    }

    /// Forgets the cached candidate count after a write changed it.
    pub async fn forget_candidate_count(&self) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(CANDIDATE_COUNT_KEY);
        self.run::<i64>(cmd).await.map(drop)
    }

    /// Runs one command, bounded by [`REDIS_TIMEOUT`].
    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, StoreError> {
        let mut pipe = redis::pipe();
        pipe.add_command(cmd);
        let (reply,) = self.run_pipe::<(T,)>(pipe).await?;
        Ok(reply)
    }

    /// Runs a pipeline in one round trip, bounded by [`REDIS_TIMEOUT`].
    async fn run_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: redis::Pipeline,
    ) -> Result<T, StoreError> {
        let mut connection = self.manager.clone().ok_or(StoreError::NotConfigured)?;
        let reply = tokio::time::timeout(REDIS_TIMEOUT, pipe.query_async::<T>(&mut connection));
        reply
            .await
            .map_err(|_| StoreError::Timeout(REDIS_TIMEOUT))?
            .map_err(StoreError::from)
    }
}

/// Seconds since the Unix epoch; 0 if the clock is before it.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}
