//! Stackwright: a declarative reconciler for Docker stacks.
//!
//! The data flows one way: `spec` (parse, merge, check) produces a typed [`spec::Stack`],
//! and every later step reads it.

pub mod cli;
pub mod load;
pub mod render;
pub mod report;
pub mod spec;
pub mod topology;
