//! The candidate API: create, list, read and delete candidates stored in PostgreSQL, with
//! input checked before it reaches a (parameter-bound) statement.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::db::{Candidate, NewCandidate};
use crate::error::ApiError;

/// Candidates per page when the client does not say.
const DEFAULT_LIMIT: i64 = 20;

/// Most candidates one page may hold.
const MAX_LIMIT: i64 = 100;

/// Most skill tags on one candidate.
const MAX_SKILLS: usize = 32;

/// Characters of a rejected value quoted back in an error message.
const QUOTE_LIMIT: usize = 40;

/// The body of `POST /api/candidates`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateInput {
    name: String,
    email: String,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    skills: Vec<String>,
}

/// One page of candidates.
#[derive(Debug, Serialize)]
pub struct Page {
    items: Vec<Candidate>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<i64>,
}

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageRequest {
    after: i64,
    limit: i64,
}

/// `POST /api/candidates`: stores a candidate; 201 once the row is committed.
pub async fn create(
    State(state): State<Arc<AppState>>,
    body: Result<Json<CandidateInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(input) = body.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let mut texts = vec![input.name.as_str(), input.email.as_str()];
    texts.extend(input.phone.as_deref());
    texts.extend(input.skills.iter().map(String::as_str));
    state.refuse_injection(&texts)?;

    let new = validate(input)?;
    let candidate = state.db.insert_candidate(&new).await?;
    state.metrics.candidates_created.inc();
    state.forget_candidate_count().await;

    let location = format!("/api/candidates/{}", candidate.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(candidate),
    )
        .into_response())
}

/// `GET /api/candidates?limit=&after=`: candidates in id order, one bounded page at a time.
pub async fn list(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Page>, ApiError> {
    let page = page_request(query.as_deref())?;
    let items = state.db.candidates_after(page.after, page.limit).await?;
    let full = i64::try_from(items.len()).is_ok_and(|n| n == page.limit);
    let next_after = if full {
        items.last().map(|c| c.id)
    } else {
        None
    };
    Ok(Json(Page { items, next_after }))
}

/// `GET /api/candidates/{id}`.
pub async fn read(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Candidate>, ApiError> {
    let id = candidate_id(&id)?;
    let candidate = state.db.candidate(id).await?;
    candidate
        .map(Json)
        .ok_or(ApiError::NotFound("no candidate with this id"))
}

/// `DELETE /api/candidates/{id}`: 204, or 404 when there was no such candidate.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = candidate_id(&id)?;
    if !state.db.delete_candidate(id).await? {
        return Err(ApiError::NotFound("no candidate with this id"));
    }
    state.forget_candidate_count().await;
    Ok(StatusCode::NO_CONTENT)
}

/// A candidate id from the path: a positive integer.
fn candidate_id(text: &str) -> Result<i64, ApiError> {
    match text.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ApiError::BadRequest(format!(
            "candidate id must be a positive integer, found `{}`",
            quote(text)
        ))),
    }
}

/// `limit` and `after` from the query string; other parameters are ignored.
fn page_request(query: Option<&str>) -> Result<PageRequest, ApiError> {
    let mut page = PageRequest {
        after: 0,
        limit: DEFAULT_LIMIT,
    };
    let Some(query) = query else {
        return Ok(page);
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "limit" => match value.parse::<i64>() {
                Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => page.limit = limit,
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "`limit` must be a number from 1 to {MAX_LIMIT}, found `{}`",
                        quote(&value)
                    )));
                }
            },
            "after" => match value.parse::<i64>() {
                Ok(after) if after >= 0 => page.after = after,
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "`after` must be a candidate id (0 or more), found `{}`",
                        quote(&value)
                    )));
                }
            },
            _ => {}
        }
    }
    Ok(page)
}

/// Checks and normalises a new candidate's fields.
fn validate(input: CandidateInput) -> Result<NewCandidate, ApiError> {
    let name = text_field("name", &input.name, 200)?;
    let email = text_field("email", &input.email, 254)?;
    if !plausible_email(&email) {
        return Err(ApiError::BadRequest(format!(
            "`email` must look like name@example.com, found `{}`",
            quote(&email)
        )));
    }

    let phone = match input.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(phone) => {
            let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
            if phone.chars().count() > 32 || !phone.chars().all(allowed) {
                return Err(ApiError::BadRequest(format!(
                    "`phone` may hold up to 32 digits, spaces and + - ( ) ., found `{}`",
                    quote(phone)
                )));
            }
            Some(phone.to_owned())
        }
    };

    if input.skills.len() > MAX_SKILLS {
        return Err(ApiError::BadRequest(format!(
            "`skills` may hold up to {MAX_SKILLS} entries, found {}",
            input.skills.len()
        )));
    }
    let skills = input
        .skills
        .iter()
        .map(|skill| text_field("skills", skill, 64))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(NewCandidate {
        name,
        email,
        phone,
        skills,
    })
}

/// A trimmed, non-empty text of at most `max` characters without control characters.
fn text_field(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::BadRequest(format!("`{field}` must not be empty")));
    }
    let length = value.chars().count();
    if length > max {
        return Err(ApiError::BadRequest(format!(
            "`{field}` may be up to {max} characters long, found {length}"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "`{field}` must not contain control characters"
        )));
    }
    Ok(value.to_owned())
}

/// One `@` with something on both sides, a dot in the domain, and no spaces.
fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.contains(char::is_whitespace)
}

/// The start of a rejected value, safe to put in a message.
fn quote(value: &str) -> String {
    let mut quoted: String = value
        .chars()
        .filter(|c| !c.is_control())
        .take(QUOTE_LIMIT)
        .collect();
    if value.chars().count() > QUOTE_LIMIT {
        quoted.push('…');
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, email: &str) -> CandidateInput {
        CandidateInput {
            name: name.into(),
            email: email.into(),
            phone: None,
            skills: vec![],
        }
    }

    #[test]
    fn fields_are_trimmed_and_kept() {
        let mut candidate = input("  Tanaka Taro ", " taro@example.jp ");
        candidate.phone = Some(" +81 52-000-0000 ".into());
        candidate.skills = vec![" welding ".into()];
        let new = validate(candidate).expect("valid");
        assert_eq!(
            new,
            NewCandidate {
                name: "Tanaka Taro".into(),
                email: "taro@example.jp".into(),
                phone: Some("+81 52-000-0000".into()),
                skills: vec!["welding".into()],
            }
        );
    }

    #[test]
    fn an_implausible_email_is_refused_with_the_value_found() {
        let err = validate(input("A", "not-an-email")).expect_err("must fail");
        assert_eq!(
            err,
            ApiError::BadRequest(
                "`email` must look like name@example.com, found `not-an-email`".into()
            )
        );
        assert!(validate(input("A", "a@b")).is_err());
        assert!(validate(input("A", "a b@c.jp")).is_err());
    }

    #[test]
    fn an_empty_or_overlong_name_is_refused() {
        assert!(validate(input(" ", "a@b.jp")).is_err());
        assert!(validate(input(&"x".repeat(201), "a@b.jp")).is_err());
        assert!(validate(input("tab\tname", "a@b.jp")).is_err());
    }

    #[test]
    fn pages_default_and_stay_bounded() {
        assert_eq!(
            page_request(None),
            Ok(PageRequest {
                after: 0,
                limit: 20
            })
        );
        assert_eq!(
            page_request(Some("limit=5&after=40&sort=x")),
            Ok(PageRequest {
                after: 40,
                limit: 5
            })
        );
        for bad in ["limit=0", "limit=101", "limit=ten", "after=-1"] {
            assert!(page_request(Some(bad)).is_err(), "accepted `{bad}`");
        }
    }

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!(candidate_id("42"), Ok(42));
        assert!(candidate_id("0").is_err());
        assert!(candidate_id("4x").is_err());
    }

    #[test]
    fn quoted_values_are_cut_short() {
        assert_eq!(quote(&"a".repeat(50)), format!("{}…", "a".repeat(40)));
        assert_eq!(quote("a\nb"), "ab");
    }
}
