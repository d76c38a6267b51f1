//! What each Lambda sets up in its init phase, in one place for all of them:
//! logging as Lambda's logging controls ask ([`logging`]), the AWS SDK
//! configuration from Lambda's environment ([`aws`]) over one lean HTTPS
//! stack ([`https`]), settings read from the environment ([`env`]), the
//! clock in epoch milliseconds ([`clock`]) and an invocation's deadline
//! ([`deadline`]).
//!
//! Both replace heavier defaults, for size and init time (BENCHMARKS.md,
//! "The Lambda zips"): `lambda_runtime`'s subscriber filters with
//! `EnvFilter` (regular expressions), and the SDK's default HTTPS client
//! links HTTP/2 and AWS-LC beside the `ring` that rustls already brings.

pub mod aws;
pub mod clock;
pub mod deadline;
pub mod env;
pub mod https;
pub mod logging;
