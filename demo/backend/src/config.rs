//! Settings read from the environment at start, with errors that name the variable and
//! never the secret it holds.
//!
//! Every secret (`DATABASE_PASSWORD`, `DEMO_PASSWORD`, `JWT_SECRET`) may arrive either as the
//! variable itself or as `<NAME>_FILE`, a path to a file holding it, which is how a stack
//! hands secrets to containers without putting them in the environment.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use tracing::Level;

const DEFAULT_PORT: u16 = 8000;
const DEFAULT_VERSION: &str = "dev";
const DEFAULT_DEMO_USER: &str = "demo";
const DEFAULT_POOL_SIZE: usize = 8;
const DEFAULT_OCR_DELAY_MS: u64 = 100;
const DEFAULT_SHUTDOWN_TIMEOUT_S: u64 = 10;
const MAX_VERSION_LEN: usize = 64;

/// A value that must never reach a log line, an error message or a response.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it (a password check, a key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Everything the service needs to start, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`BIND_ADDRESS`, default all interfaces).
    pub bind: IpAddr,
    /// Port to listen on (`PORT`).
    pub port: u16,
    /// PostgreSQL connection settings, password included (`DATABASE_URL` + password).
    pub database: tokio_postgres::Config,
    /// Connections kept to PostgreSQL (`DB_POOL_SIZE`).
    pub pool_size: usize,
    /// Redis client, not yet connected (`REDIS_URL`); `None` runs without sessions or cache.
    pub redis: Option<redis::Client>,
    /// Version reported in headers, `/api/version` and `app_info` (`APP_VERSION`).
    pub version: String,
    /// Most verbose level logged by this service (`LOG_LEVEL`).
    pub log_level: Level,
    /// User name accepted by `POST /api/login` (`DEMO_USER`).
    pub demo_user: String,
    /// Password accepted by `POST /api/login`; `None` rejects every login.
    pub demo_password: Option<Secret>,
    /// Key signing session tokens; `None` makes one up for this process.
    pub jwt_secret: Option<Secret>,
    /// Simulated time one OCR job takes (`OCR_DELAY_MS`).
    pub ocr_delay: Duration,
    /// Longest wait for in-flight requests after SIGTERM (`SHUTDOWN_TIMEOUT_SECONDS`).
    pub shutdown_timeout: Duration,
}

/// Why the environment does not describe a runnable service.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is absent.
    #[error("`{var}` is not set\nhint: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },

    /// A variable holds bytes that are not UTF-8.
    #[error("`{var}` is not valid UTF-8")]
    NotUnicode { var: &'static str },

    /// A non-secret variable holds a value outside what is allowed.
    #[error("`{var}` is `{found}`, expected {allowed}")]
    Invalid {
        var: &'static str,
        found: String,
        allowed: &'static str,
    },

    /// `DATABASE_URL` does not parse; the value is not shown since it may carry credentials.
    #[error(
        "`DATABASE_URL` is not a valid PostgreSQL URL ({reason})\n\
         hint: use postgresql://user@host:port/db"
    )]
    DatabaseUrl { reason: String },

    /// `DATABASE_URL` carries a password, which belongs in its own secret variable.
    #[error(
        "`DATABASE_URL` contains a password\n\
         hint: remove it from the URL and pass it as DATABASE_PASSWORD or DATABASE_PASSWORD_FILE"
    )]
    PasswordInUrl,

    /// `REDIS_URL` does not parse; the value is not shown since it may carry credentials.
    #[error("`REDIS_URL` is not a valid Redis URL ({reason})\nhint: use redis://host:port/db")]
    RedisUrl { reason: String },

    /// Both the secret and its `_FILE` variant are set, so which one wins is unclear.
    #[error("`{var}` and `{var}_FILE` are both set\nhint: set only one of them")]
    BothSet { var: &'static str },

    /// The secret file cannot be read.
    #[error("cannot read `{var}_FILE` at `{path}`: {source}")]
    SecretFileUnreadable {
        var: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// The secret file is empty, which is never a usable secret.
    #[error("`{var}_FILE` at `{path}` is empty\nhint: write the secret into the file")]
    SecretFileEmpty { var: &'static str, path: PathBuf },

    /// The secret file holds more than the secret, e.g. a whole env file.
    #[error(
        "`{var}_FILE` at `{path}` holds more than one line\n\
         hint: the file must hold the secret alone, optionally followed by a newline"
    )]
    SecretFileMultiline { var: &'static str, path: PathBuf },

    /// The secret file is not text.
    #[error("`{var}_FILE` at `{path}` is not valid UTF-8")]
    SecretFileNotUnicode { var: &'static str, path: PathBuf },
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Reads the configuration through `lookup`, so tests need not touch the environment.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, ConfigError> {
        let env = Env { lookup: &lookup };

        let bind = env.parsed("BIND_ADDRESS", "an IP address such as 0.0.0.0 or 127.0.0.1")?;
        let port = env.parsed::<u16>("PORT", "a port between 1 and 65535")?;
        if port == Some(0) {
            return Err(invalid("PORT", "0", "a port between 1 and 65535"));
        }

        let database = database_config(&env)?;
        let redis = redis_client(&env)?;
        let version = version(&env)?;
        let log_level = log_level(&env)?;

        let pool_size = env.parsed::<usize>("DB_POOL_SIZE", "a number from 1 to 64")?;
        if pool_size.is_some_and(|n| !(1..=64).contains(&n)) {
            let found = pool_size.unwrap_or_default().to_string();
            return Err(invalid("DB_POOL_SIZE", &found, "a number from 1 to 64"));
        }

        let ocr_delay = env.parsed::<u64>("OCR_DELAY_MS", "milliseconds from 0 to 60000")?;
        if ocr_delay.is_some_and(|ms| ms > 60_000) {
            let found = ocr_delay.unwrap_or_default().to_string();
            return Err(invalid(
                "OCR_DELAY_MS",
                &found,
                "milliseconds from 0 to 60000",
            ));
        }

        let shutdown = env.parsed::<u64>("SHUTDOWN_TIMEOUT_SECONDS", "seconds from 1 to 300")?;
        if shutdown.is_some_and(|s| !(1..=300).contains(&s)) {
            let found = shutdown.unwrap_or_default().to_string();
            return Err(invalid(
                "SHUTDOWN_TIMEOUT_SECONDS",
                &found,
                "seconds from 1 to 300",
            ));
        }

        Ok(Self {
            bind: bind.unwrap_or(IpAddr::from([0, 0, 0, 0])),
            port: port.unwrap_or(DEFAULT_PORT),
            database,
            pool_size: pool_size.unwrap_or(DEFAULT_POOL_SIZE),
            redis,
            version,
            log_level,
            demo_user: env
                .text("DEMO_USER")?
                .unwrap_or_else(|| DEFAULT_DEMO_USER.into()),
            demo_password: env.secret("DEMO_PASSWORD", "DEMO_PASSWORD_FILE")?,
            jwt_secret: env.secret("JWT_SECRET", "JWT_SECRET_FILE")?,
            ocr_delay: Duration::from_millis(ocr_delay.unwrap_or(DEFAULT_OCR_DELAY_MS)),
            shutdown_timeout: Duration::from_secs(shutdown.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT_S)),
        })
    }
}

fn invalid(var: &'static str, found: &str, allowed: &'static str) -> ConfigError {
    ConfigError::Invalid {
        var,
        found: found.to_owned(),
        allowed,
    }
}

/// PostgreSQL settings from `DATABASE_URL` with the password from its secret variable.
fn database_config(env: &Env<'_>) -> Result<tokio_postgres::Config, ConfigError> {
    let hint = "postgresql://user@host:port/db";
    let url = env.text("DATABASE_URL")?.ok_or(ConfigError::Missing {
        var: "DATABASE_URL",
        hint,
    })?;

    let mut config =
        url.parse::<tokio_postgres::Config>()
            .map_err(|err| ConfigError::DatabaseUrl {
                reason: error_chain(&err),
            })?;
    if config.get_hosts().is_empty() {
        let reason = "it names no host".to_owned();
        return Err(ConfigError::DatabaseUrl { reason });
    }
    if config.get_password().is_some() {
        return Err(ConfigError::PasswordInUrl);
    }

    if let Some(password) = env.secret("DATABASE_PASSWORD", "DATABASE_PASSWORD_FILE")? {
        config.password(password.expose());
    }
    config.connect_timeout(Duration::from_secs(1));
    config.application_name("uns-backend");
    // A runaway query must not hold a pooled connection for long.
    config.options("-c statement_timeout=5000");
    Ok(config)
}

/// A Redis client from `REDIS_URL`; it connects only when first used.
fn redis_client(env: &Env<'_>) -> Result<Option<redis::Client>, ConfigError> {
    let Some(url) = env.text("REDIS_URL")? else {
        return Ok(None);
    };
    let client = redis::Client::open(url.as_str()).map_err(|err| ConfigError::RedisUrl {
        reason: err.to_string(),
    })?;
    Ok(Some(client))
}

/// `APP_VERSION`, limited to characters that are safe in a header, a label and a tag.
fn version(env: &Env<'_>) -> Result<String, ConfigError> {
    let Some(version) = env.text("APP_VERSION")? else {
        return Ok(DEFAULT_VERSION.to_owned());
    };
    let allowed = "1 to 64 characters from A-Z a-z 0-9 . _ + -";
    let well_formed = !version.is_empty()
        && version.len() <= MAX_VERSION_LEN
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    if !well_formed {
        return Err(invalid("APP_VERSION", &version, allowed));
    }
    Ok(version)
}

/// `LOG_LEVEL`: one of the tracing levels, any case; `info` when unset.
fn log_level(env: &Env<'_>) -> Result<Level, ConfigError> {
    let Some(level) = env.text("LOG_LEVEL")? else {
        return Ok(Level::INFO);
    };
    level.parse::<Level>().map_err(|_| {
        invalid(
            "LOG_LEVEL",
            &level,
            "one of error, warn, info, debug, trace",
        )
    })
}

/// An error and its causes on one line, for errors whose text carries no input value.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Typed access to the variables through the lookup function.
struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<std::ffi::OsString>,
}

impl Env<'_> {
    /// A variable as text; unset and empty both read as absent.
    fn text(&self, var: &'static str) -> Result<Option<String>, ConfigError> {
        let Some(value) = (self.lookup)(var) else {
            return Ok(None);
        };
        let value = value
            .into_string()
            .map_err(|_| ConfigError::NotUnicode { var })?;
        Ok((!value.is_empty()).then_some(value))
    }

    /// A variable parsed with `FromStr`; the value is shown on failure (it is no secret).
    fn parsed<T: std::str::FromStr>(
        &self,
        var: &'static str,
        allowed: &'static str,
    ) -> Result<Option<T>, ConfigError> {
        let Some(text) = self.text(var)? else {
            return Ok(None);
        };
        let value = text
            .trim()
            .parse::<T>()
            .map_err(|_| invalid(var, &text, allowed))?;
        Ok(Some(value))
    }

    /// A secret from `<var>` or from the file named by `<var>_FILE`, never both.
    fn secret(
        &self,
        var: &'static str,
        file_var: &'static str,
    ) -> Result<Option<Secret>, ConfigError> {
        let direct = self.text(var)?;
        let file = (self.lookup)(file_var).filter(|path| !path.is_empty());

        match (direct, file) {
            (Some(_), Some(_)) => Err(ConfigError::BothSet { var }),
            (Some(value), None) => Ok(Some(Secret::new(value))),
            (None, Some(path)) => read_secret_file(var, PathBuf::from(path)).map(Some),
            (None, None) => Ok(None),
        }
    }
}

/// Reads a secret file: its whole content, one trailing newline removed.
fn read_secret_file(var: &'static str, path: PathBuf) -> Result<Secret, ConfigError> {
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(source) => return Err(ConfigError::SecretFileUnreadable { var, path, source }),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(ConfigError::SecretFileNotUnicode { var, path });
    };

    let secret = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if secret.is_empty() {
        return Err(ConfigError::SecretFileEmpty { var, path });
    }
    if secret.contains(['\n', '\r']) {
        return Err(ConfigError::SecretFileMultiline { var, path });
    }
    Ok(Secret::new(secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::ffi::OsString;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: BTreeMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const URL: (&str, &str) = ("DATABASE_URL", "postgresql://uns@db:5432/uns");

    #[test]
    fn defaults_apply_when_only_the_database_is_named() {
        let config = config(&[URL]).expect("valid");
        assert_eq!(config.port, 8000);
        assert_eq!(config.version, "dev");
        assert_eq!(config.log_level, Level::INFO);
        assert_eq!(config.database.get_user(), Some("uns"));
        assert_eq!(config.database.get_dbname(), Some("uns"));
        assert!(config.redis.is_none());
        assert!(config.demo_password.is_none());
    }

    #[test]
    fn a_missing_database_url_is_named_with_a_hint() {
        let err = config(&[]).expect_err("must fail").to_string();
        assert_eq!(
            err,
            "`DATABASE_URL` is not set\nhint: postgresql://user@host:port/db"
        );
    }

    #[test]
    fn a_password_inside_the_database_url_is_refused_without_echoing_it() {
        let err = config(&[("DATABASE_URL", "postgresql://uns:hunter2@db/uns")])
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("contains a password"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn the_password_variable_reaches_the_connection_settings() {
        let config = config(&[URL, ("DATABASE_PASSWORD", "s3cret")]).expect("valid");
        assert_eq!(config.database.get_password(), Some(&b"s3cret"[..]));
    }

    #[test]
    fn a_password_and_a_password_file_together_are_refused() {
        let err = config(&[
            URL,
            ("DATABASE_PASSWORD", "a"),
            ("DATABASE_PASSWORD_FILE", "/run/secrets/db"),
        ])
        .expect_err("must fail");
        assert!(matches!(
            err,
            ConfigError::BothSet {
                var: "DATABASE_PASSWORD"
            }
        ));
    }

    #[test]
    fn a_password_file_loses_only_its_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("uns-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("one-line");
        std::fs::write(&file, "p@ss word\n").expect("write");
        let path = file.to_str().expect("utf-8 path");

        let config = config(&[URL, ("DATABASE_PASSWORD_FILE", path)]).expect("valid");
        assert_eq!(config.database.get_password(), Some(&b"p@ss word"[..]));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_multi_line_password_file_is_refused_without_echoing_its_content() {
        let dir = std::env::temp_dir().join(format!("uns-config-ml-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("env");
        std::fs::write(&file, "PASSWORD=topsecret\nUSER=x\n").expect("write");
        let path = file.to_str().expect("utf-8 path");

        let err = config(&[URL, ("DATABASE_PASSWORD_FILE", path)]).expect_err("must fail");
        let text = err.to_string();
        assert!(text.contains("holds more than one line"), "{text}");
        assert!(!text.contains("topsecret"), "{text}");
        assert!(!format!("{err:?}").contains("topsecret"));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_version_that_could_not_be_a_header_is_refused() {
        let err = config(&[URL, ("APP_VERSION", "v1\r\nX-Evil: 1")]).expect_err("must fail");
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "APP_VERSION",
                ..
            }
        ));
    }

    #[test]
    fn an_unknown_log_level_lists_the_allowed_ones() {
        let err = config(&[URL, ("LOG_LEVEL", "loud")])
            .expect_err("must fail")
            .to_string();
        assert_eq!(
            err,
            "`LOG_LEVEL` is `loud`, expected one of error, warn, info, debug, trace"
        );
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let config = config(&[URL, ("DEMO_PASSWORD", "letmein")]).expect("valid");
        assert!(!format!("{config:?}").contains("letmein"));
    }
}
