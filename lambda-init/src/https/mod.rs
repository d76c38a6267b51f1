//! The SDK's HTTP client for the functions: HTTP/1.1 only (every AWS API the
//! functions call speaks it), rustls with `ring` as its one crypto provider,
//! certificates checked against the system's CA bundle. The SDK documents
//! supplying a client through `HttpClient`; this is that client, built on the
//! hyper and hyper-util that `lambda_runtime` already links.

pub mod client;
pub mod connect;
pub mod errors;
pub mod roots;

pub use client::HttpsClient;
pub use errors::HttpsError;
pub use roots::Trust;
