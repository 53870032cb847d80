//! Login, session tokens and the endpoints behind them, which feed the login and token
//! counters of the security dashboard.
//!
//! A login checks the one demo user, starts a session in Redis and returns an HS256 token
//! naming it. A request with the token is accepted while the token validates and its session
//! is alive, so logging out ends it on every replica.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Extension, Json};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::config::Secret;
use crate::error::ApiError;
use crate::metrics::Outcome;
use crate::redis_store::unix_now;

/// How long a session and its token live.
const SESSION_TTL: Duration = Duration::from_secs(3600);

/// The demo user's credentials and the token keys.
pub struct Auth {
    user: String,
    password: Option<Secret>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Auth {
    /// Keys from `jwt_secret`, or from random bytes when none is configured, in which case
    /// a token is honoured only by the replica that issued it.
    pub fn new(
        user: String,
        password: Option<Secret>,
        jwt_secret: Option<&Secret>,
    ) -> Result<Self, KeyError> {
        let key = match jwt_secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => random_bytes::<32>().map_err(KeyError::Entropy)?.to_vec(),
        };
        Ok(Self {
            user,
            password,
            encoding: EncodingKey::from_secret(&key).map_err(KeyError::Key)?,
            decoding: DecodingKey::from_secret(&key).map_err(KeyError::Key)?,
        })
    }

    /// True when the credentials are the demo user's; compared in constant time.
    fn accepts(&self, username: &str, password: &str) -> bool {
        let Some(expected) = &self.password else {
            return false;
        };
        let user_ok = username.as_bytes().ct_eq(self.user.as_bytes());
        let password_ok = password.as_bytes().ct_eq(expected.expose().as_bytes());
        (user_ok & password_ok).into()
    }

    fn issue(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
    }

    fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map(|data| data.claims)
    }
}

/// Why the token keys could not be made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The operating system gave no random bytes for a key.
    #[error("no random bytes for a signing key: {0}")]
    Entropy(getrandom::Error),
    /// The key was refused by the token library.
    #[error("the signing key is unusable: {0}")]
    Key(jsonwebtoken::errors::Error),
}

/// What a session token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Claims {
    /// The user name.
    sub: String,
    /// The session id in Redis.
    sid: String,
    /// Issued at, Unix seconds.
    iat: u64,
    /// Expires at, Unix seconds.
    exp: u64,
}

/// The body of `POST /api/login`.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    username: String,
    password: String,
}

/// The answer to a successful login.
#[derive(Debug, Serialize)]
pub struct LoginResponse {
    token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// The answer of `GET /api/me`.
#[derive(Debug, Serialize)]
pub struct Me {
    username: String,
    session_expires_at: u64,
}

/// `POST /api/login`: a token for the demo user; refusals are counted by client address.
pub async fn login(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let Json(request) = body.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    state.refuse_injection(&[&request.username])?;
    let client = client_ip(&headers, peer.map(|Extension(ConnectInfo(addr))| addr));

    if !state.auth.accepts(&request.username, &request.password) {
        state.metrics.login(Outcome::Failure, client);
        tracing::debug!(client = ?client, "login refused");
        return Err(ApiError::Unauthorized("invalid username or password"));
    }

    let session = hex(&random_bytes::<16>().map_err(|_| ApiError::Unavailable("no entropy"))?);
    state.redis.start_session(&session, SESSION_TTL).await?;
    let now = unix_now();
    let claims = Claims {
        sub: request.username,
        sid: session,
        iat: now,
        exp: now + SESSION_TTL.as_secs(),
    };
    let token = state
        .auth
        .issue(&claims)
        .map_err(|_| ApiError::Unavailable("token signing failed"))?;

    state.metrics.login(Outcome::Success, client);
    Ok(Json(LoginResponse {
        token,
        token_type: "Bearer",
        expires_in: SESSION_TTL.as_secs(),
    }))
}

/// `GET /api/me`: who the bearer token belongs to.
pub async fn me(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Me>, ApiError> {
    let claims = authenticate(&state, &headers).await?;
    Ok(Json(Me {
        username: claims.sub,
        session_expires_at: claims.exp,
    }))
}

/// `POST /api/logout`: ends the bearer token's session on every replica.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let claims = authenticate(&state, &headers).await?;
    state.redis.end_session(&claims.sid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The claims of a valid bearer token whose session is alive. A token that is presented
/// but fails either check counts as a validation failure.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Claims, ApiError> {
    let Some(token) = bearer_token(headers) else {
        return Err(ApiError::Unauthorized("missing bearer token"));
    };
    let Ok(claims) = state.auth.verify(token) else {
        state.metrics.jwt_failures.inc();
        return Err(ApiError::Unauthorized("invalid or expired token"));
    };
    if !state.redis.session_alive(&claims.sid).await? {
        state.metrics.jwt_failures.inc();
        return Err(ApiError::Unauthorized("session has ended"));
    }
    Ok(claims)
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The client's address as the gateway saw it: `X-Real-IP`, else the last (gateway-added)
/// entry of `X-Forwarded-For`, else the connection's peer. Entries earlier in
/// `X-Forwarded-For` come from the client and are not trusted.
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
    let header_ip = |name: &str| -> Option<IpAddr> {
        let value = headers.get(name)?.to_str().ok()?;
        value.rsplit(',').next()?.trim().parse().ok()
    };
    header_ip("x-real-ip")
        .or_else(|| header_ip("x-forwarded-for"))
        .or_else(|| peer.map(|addr| addr.ip()))
}

/// `N` bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}

/// Lower-case hexadecimal text of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_real_ip_header_wins_over_forwarded_for_and_peer() {
        let h = headers(&[
            ("x-real-ip", "203.0.113.9"),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        let peer = Some(SocketAddr::from(([10, 0, 0, 5], 4000)));
        assert_eq!(client_ip(&h, peer), Some(IpAddr::from([203, 0, 113, 9])));
    }

    #[test]
    fn only_the_gateway_added_forwarded_for_entry_is_trusted() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.1")]);
        assert_eq!(client_ip(&h, None), Some(IpAddr::from([198, 51, 100, 1])));
    }

    #[test]
    fn garbage_headers_fall_back_to_the_peer() {
        let h = headers(&[("x-real-ip", "not an ip"), ("x-forwarded-for", "<script>")]);
        let peer = Some(SocketAddr::from(([10, 0, 0, 5], 4000)));
        assert_eq!(client_ip(&h, peer), Some(IpAddr::from([10, 0, 0, 5])));
    }

    #[test]
    fn only_bearer_authorization_carries_a_token() {
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Bearer abc")])),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "bearer  abc ")])),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Basic abc")])),
            None
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Bearer ")])),
            None
        );
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn tokens_validate_only_with_the_key_that_signed_them() {
        let secret = Secret::new("k1");
        let auth = Auth::new("demo".into(), None, Some(&secret)).expect("auth");
        let other = Auth::new("demo".into(), None, None).expect("auth");
        let now = unix_now();
        let claims = Claims {
            sub: "demo".into(),
            sid: "s".into(),
            iat: now,
            exp: now + 60,
        };

        let token = auth.issue(&claims).expect("token");
        assert_eq!(auth.verify(&token).expect("valid"), claims);
        assert!(other.verify(&token).is_err());
        assert!(auth.verify("not.a.token").is_err());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let auth = Auth::new("demo".into(), None, None).expect("auth");
        let claims = Claims {
            sub: "demo".into(),
            sid: "s".into(),
            iat: 1,
            exp: 2,
        };
        let token = auth.issue(&claims).expect("token");
        assert!(auth.verify(&token).is_err());
    }

    #[test]
    fn without_a_configured_password_every_login_is_refused() {
        let auth = Auth::new("demo".into(), None, None).expect("auth");
        assert!(!auth.accepts("demo", ""));
        let auth = Auth::new("demo".into(), Some(Secret::new("pw")), None).expect("auth");
        assert!(auth.accepts("demo", "pw"));
        assert!(!auth.accepts("demo", "pw "));
        assert!(!auth.accepts("root", "pw"));
    }
}
