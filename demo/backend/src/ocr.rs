//! A stand-in for the platform's OCR intake: jobs queue for a small pool of workers, take a
//! fixed simulated time, and succeed when the document has text to recognise. It exists to
//! drive the OCR job counter and queue gauge the business dashboard shows.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::app::AppState;
use crate::auth::{hex, random_bytes};
use crate::error::ApiError;
use crate::metrics::{GaugeHold, Outcome};

/// Jobs processed at once.
const WORKERS: usize = 2;

/// Jobs allowed to wait or run before new ones are turned away.
const MAX_QUEUE: i64 = 64;

/// Longest wait for a worker before a job is given up.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Characters of recognised text returned.
const MAX_TEXT: usize = 1000;

/// The worker pool.
pub struct Ocr {
    workers: Semaphore,
    delay: Duration,
}

impl Ocr {
    /// A pool whose jobs each take `delay`.
    pub fn new(delay: Duration) -> Self {
        Self {
            workers: Semaphore::new(WORKERS),
            delay,
        }
    }
}

/// The body of `POST /api/ocr`.
#[derive(Debug, Deserialize)]
pub struct OcrRequest {
    /// The document's content.
    document: String,
}

/// The outcome of one job.
#[derive(Debug, Serialize)]
pub struct OcrResult {
    job_id: String,
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

/// `POST /api/ocr`: runs one job; 200 when text was recognised, 422 when there was none.
pub async fn submit(
    State(state): State<Arc<AppState>>,
    body: Result<Json<OcrRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<OcrResult>), ApiError> {
    let Json(request) = body.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let queue = &state.metrics.ocr_queue_length;
    if queue.get() >= MAX_QUEUE {
        return Err(ApiError::Unavailable("OCR queue is full; retry later"));
    }

    let job_id = hex(&random_bytes::<8>().map_err(|_| ApiError::Unavailable("no entropy"))?);
    let queued = GaugeHold::enter(queue);
    let permit = tokio::time::timeout(MAX_WAIT, state.ocr.workers.acquire()).await;
    let Ok(Ok(_permit)) = permit else {
        return Err(ApiError::Unavailable("no OCR worker became free in time"));
    };
    tokio::time::sleep(state.ocr.delay).await;
    drop(queued);

    let outcome = recognise(&request.document);
    match outcome {
        Ok(text) => {
            state.metrics.ocr_job(Outcome::Success);
            let body = OcrResult {
                job_id,
                result: "success",
                text: Some(text),
                error: None,
            };
            Ok((StatusCode::OK, Json(body)))
        }
        Err(reason) => {
            state.metrics.ocr_job(Outcome::Failure);
            let body = OcrResult {
                job_id,
                result: "failure",
                text: None,
                error: Some(reason),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)))
        }
    }
}

/// The "recognised" text: the document's words on one line, or why there are none.
fn recognise(document: &str) -> Result<String, &'static str> {
    let words: Vec<&str> = document.split_whitespace().collect();
    if words.is_empty() {
        return Err("the document has no text to recognise");
    }
    Ok(words.join(" ").chars().take(MAX_TEXT).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognised_text_is_the_documents_words_on_one_line() {
        assert_eq!(
            recognise("  Tanaka\n Taro\t1990 "),
            Ok("Tanaka Taro 1990".to_owned())
        );
    }

    #[test]
    fn a_blank_document_fails() {
        assert!(recognise(" \n\t").is_err());
        assert!(recognise("").is_err());
    }

    #[test]
    fn recognised_text_is_bounded() {
        let long = "word ".repeat(1000);
        assert_eq!(recognise(&long).map(|t| t.chars().count()), Ok(MAX_TEXT));
    }
}
