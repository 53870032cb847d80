//! Helpers shared by the integration tests: images they need and stacks they clean up.

#![allow(dead_code)] // Each test binary uses a different part of the helpers.

pub mod http;
pub mod images;
pub mod stack;
