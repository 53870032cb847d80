//! The demo backend: a small HTTP service standing in for the staffing platform's Python
//! backend, so a Stackwright stack has a real application to scale, update, watch and break.
//!
//! It serves a candidate API backed by PostgreSQL, keeps sessions in Redis, and exposes the
//! health endpoint and Prometheus metrics (names fixed by the shared contract) that the
//! generated gateway, alerts and dashboards rely on.

pub mod app;
pub mod auth;
pub mod candidates;
pub mod config;
pub mod db;
pub mod error;
pub mod health;
pub mod injection;
pub mod metrics;
pub mod middleware;
pub mod ocr;
pub mod redis_store;
