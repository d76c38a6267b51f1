//! The deploy tool's library: the CloudFormation template as typed data, and
//! the flows that package, deploy, inspect and delete it. `main.rs` only
//! parses the command line and calls these.

pub mod aws;
pub mod confirm;
pub mod deploy;
pub mod destroy;
pub mod invoke;
pub mod logs;
pub mod names;
pub mod package;
pub mod stack;
pub mod status;
pub mod template;
