//! How the Lambdas reach AWS: one HTTPS stack for every SDK client and the
//! topic creator's answer to CloudFormation. HTTP/1.1 only (every AWS API the
//! functions call speaks it), rustls with `ring` as its one crypto provider,
//! certificates checked against the system's CA bundle.
//!
//! The SDK's default client links HTTP/2 and AWS-LC beside the `ring` that
//! rustls already brings, about 1.7 MiB of code per function that Lambda
//! never runs (BENCHMARKS.md, "The Lambda zips"). The SDK documents
//! supplying a client through `HttpClient`; this is that client, built on the
//! hyper and hyper-util that `lambda_runtime` already links.

pub mod client;
pub mod config;
pub mod connect;
pub mod errors;
pub mod roots;

pub use client::HttpsClient;
pub use config::load_from_env;
pub use roots::Trust;
