//! Helpers shared by the integration tests; each test binary includes this module.

pub mod images;
