//! PostgreSQL access: a small connection pool, the schema, and every statement the service
//! runs. Every statement binds its parameters; no input is ever spliced into SQL text.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use serde::Serialize;
use tokio_postgres::{NoTls, Row};

/// Longest wait for a health or metrics check, so a dead database cannot stall them.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// Longest wait for a request's statement, pool wait included.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Serialises schema creation across replicas starting together: concurrent
/// `CREATE TABLE IF NOT EXISTS` can still collide in the catalog.
const SCHEMA_LOCK_KEY: i64 = 0x756e_735f_7363_6865;

/// The schema, created idempotently at start. Employees, factories and backups have no API
/// here; they exist so their gauges report real row counts that other tools may fill.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS candidates (
        id         BIGSERIAL PRIMARY KEY,
        name       TEXT NOT NULL,
        email      TEXT NOT NULL,
        phone      TEXT,
        skills     TEXT[] NOT NULL DEFAULT '{}',
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS factories (
        id         BIGSERIAL PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS employees (
        id           BIGSERIAL PRIMARY KEY,
        name         TEXT NOT NULL,
        factory_id   BIGINT REFERENCES factories (id) ON DELETE SET NULL,
        candidate_id BIGINT REFERENCES candidates (id) ON DELETE SET NULL,
        hired_at     TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS backups (
        id           BIGSERIAL PRIMARY KEY,
        completed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        note         TEXT
    );
";

/// The candidate columns in the order [`candidate_from_row`] reads them.
const CANDIDATE_COLUMNS: &str = "id, name, email, phone, skills, \
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

/// A stored candidate as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// Database key, assigned on insert.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Contact address.
    pub email: String,
    /// Contact number, if given.
    pub phone: Option<String>,
    /// Free-form skill tags.
    pub skills: Vec<String>,
    /// Creation time, RFC 3339 in UTC.
    pub created_at: String,
}

/// A validated candidate not yet stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCandidate {
    /// Full name.
    pub name: String,
    /// Contact address.
    pub email: String,
    /// Contact number, if given.
    pub phone: Option<String>,
    /// Free-form skill tags.
    pub skills: Vec<String>,
}

/// Row counts and the backup time that the gauges report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counts {
    /// Rows in `employees`.
    pub employees: i64,
    /// Rows in `factories`.
    pub factories: i64,
    /// Unix time of the newest row in `backups`, 0 when there is none.
    pub last_backup: f64,
}

/// Why a statement did not run.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The schema has not been created yet (the database was not reachable so far).
    #[error("the database schema is not ready yet")]
    NotReady,
    /// No pooled connection could be had.
    #[error("no connection to PostgreSQL: {0}")]
    Pool(#[from] PoolError),
    /// The statement failed on the server or the connection broke.
    #[error("PostgreSQL statement failed: {0}")]
    Query(#[from] tokio_postgres::Error),
    /// PostgreSQL did not answer in time.
    #[error("PostgreSQL did not answer within {0:?}")]
    Timeout(Duration),
    /// A statement that always returns a row returned none.
    #[error("PostgreSQL returned no row where one was expected")]
    NoRow,
}

/// The pool and whether the schema exists.
pub struct Database {
    pool: Pool,
    schema_ready: AtomicBool,
}

impl Database {
    /// Builds the pool without connecting: the service must start even while PostgreSQL
    /// is down, and report unhealthy until it is up.
    pub fn new(config: tokio_postgres::Config, max_size: usize) -> Result<Self, String> {
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = Manager::from_config(config, NoTls, manager_config);
        let pool = Pool::builder(manager)
            .max_size(max_size)
            .runtime(Runtime::Tokio1)
            // Requests may queue for a connection under load; checks bound themselves.
            .wait_timeout(Some(QUERY_TIMEOUT))
            .create_timeout(Some(CHECK_TIMEOUT))
            .recycle_timeout(Some(CHECK_TIMEOUT))
            .build()
            .map_err(|err| err.to_string())?;
        Ok(Self {
            pool,
            schema_ready: AtomicBool::new(false),
        })
    }

    /// True once [`Database::ensure_schema`] has succeeded.
    pub fn schema_ready(&self) -> bool {
        self.schema_ready.load(Ordering::Acquire)
    }

    /// Creates the tables that are missing; safe to run from many replicas at once.
    pub async fn ensure_schema(&self) -> Result<(), DbError> {
        let statement =
            format!("BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY}); {SCHEMA} COMMIT;");
        within(QUERY_TIMEOUT, async {
            let client = self.pool.get().await?;
            client.batch_execute(&statement).await?;
            Ok(())
        })
        .await?;
        self.schema_ready.store(true, Ordering::Release);
        Ok(())
    }

    /// True when PostgreSQL answers a trivial query within [`CHECK_TIMEOUT`].
    pub async fn ping(&self) -> bool {
        let result = within(CHECK_TIMEOUT, async {
            let client = self.pool.get().await?;
            client.simple_query("SELECT 1").await?;
            Ok(())
        })
        .await;
        result.is_ok()
    }

    /// Stores a candidate; the row is committed when this returns.
    pub async fn insert_candidate(&self, new: &NewCandidate) -> Result<Candidate, DbError> {
        let sql = format!(
            "INSERT INTO candidates (name, email, phone, skills) VALUES ($1, $2, $3, $4) \
             RETURNING {CANDIDATE_COLUMNS}"
        );
        let params: Params = &[&new.name, &new.email, &new.phone, &new.skills];
        let rows = self.rows(QUERY_TIMEOUT, &sql, params).await?;
        candidate_from_row(first(&rows)?)
    }

    /// The candidate with `id`, if stored.
    pub async fn candidate(&self, id: i64) -> Result<Option<Candidate>, DbError> {
        let sql = format!("SELECT {CANDIDATE_COLUMNS} FROM candidates WHERE id = $1");
        let rows = self.rows(QUERY_TIMEOUT, &sql, &[&id]).await?;
        rows.first().map(candidate_from_row).transpose()
    }

    /// Up to `limit` candidates with ids above `after`, in id order.
    pub async fn candidates_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Candidate>, DbError> {
        let sql = format!(
            "SELECT {CANDIDATE_COLUMNS} FROM candidates WHERE id > $1 ORDER BY id LIMIT $2"
        );
        let rows = self.rows(QUERY_TIMEOUT, &sql, &[&after, &limit]).await?;
        rows.iter().map(candidate_from_row).collect()
    }

    /// Deletes the candidate with `id`; false when there was none.
    pub async fn delete_candidate(&self, id: i64) -> Result<bool, DbError> {
        let sql = "DELETE FROM candidates WHERE id = $1 RETURNING id";
        let rows = self.rows(QUERY_TIMEOUT, sql, &[&id]).await?;
        Ok(!rows.is_empty())
    }

    /// The number of stored candidates, within [`CHECK_TIMEOUT`].
    pub async fn candidate_count(&self) -> Result<i64, DbError> {
        let rows = self
            .rows(CHECK_TIMEOUT, "SELECT count(*) FROM candidates", &[])
            .await?;
        Ok(first(&rows)?.try_get(0)?)
    }

    /// The other gauge figures in one round trip, within [`CHECK_TIMEOUT`].
    pub async fn counts(&self) -> Result<Counts, DbError> {
        let sql = "SELECT (SELECT count(*) FROM employees), (SELECT count(*) FROM factories), \
            COALESCE((SELECT extract(epoch FROM max(completed_at))::float8 FROM backups), 0)";
        let rows = self.rows(CHECK_TIMEOUT, sql, &[]).await?;
        let row = first(&rows)?;
        Ok(Counts {
            employees: row.try_get(0)?,
            factories: row.try_get(1)?,
            last_backup: row.try_get(2)?,
        })
    }

    /// Runs one prepared, parameter-bound statement once the schema exists, within `limit`.
    async fn rows(
        &self,
        limit: Duration,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, DbError> {
        within(limit, async {
            if !self.schema_ready() {
                return Err(DbError::NotReady);
            }
            let client = self.pool.get().await?;
            let statement = client.prepare_cached(sql).await?;
            Ok(client.query(&statement, params).await?)
        })
        .await
    }
}

/// Statement parameters, bound by the driver and never spliced into SQL text.
type Params<'a> = &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)];

/// The first row of a statement that always returns one.
fn first(rows: &[Row]) -> Result<&Row, DbError> {
    rows.first().ok_or(DbError::NoRow)
}

/// Runs `work`, giving up after `limit`.
async fn within<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, DbError>>,
) -> Result<T, DbError> {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or(Err(DbError::Timeout(limit)))
}

fn candidate_from_row(row: &Row) -> Result<Candidate, DbError> {
    Ok(Candidate {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        email: row.try_get(2)?,
        phone: row.try_get(3)?,
        skills: row.try_get(4)?,
        created_at: row.try_get(5)?,
    })
}
