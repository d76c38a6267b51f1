//! The deploy tool's library: the CloudFormation template as typed data.
//! `infra template` renders it; packaging, deploying, logs and destroy build
//! on it.

pub mod template;
