//! Stackwright: a declarative reconciler for Docker stacks.
//!
//! The data flows one way: `spec` (parse, merge, check) produces a typed [`spec::Stack`],
//! and every later step reads it.

pub mod apply;
pub mod cli;
pub mod desired;
pub mod engine;
pub mod load;
pub mod plan;
pub mod render;
pub mod report;
pub mod scan;
pub mod spec;
pub mod topology;
