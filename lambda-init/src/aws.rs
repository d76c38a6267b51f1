//! The SDK configuration every function loads at init: region and
//! credentials from the variables Lambda sets (`AWS_REGION`;
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and
//! [`HttpsClient`] for every call. Only those two providers: on Lambda the
//! default chain's first link always answers, and a function missing them
//! fails at once with the variable's name rather than probing a profile file,
//! a container endpoint and the instance metadata service in turn. The
//! loader's other settings (endpoint URLs such as `AWS_ENDPOINT_URL_KINESIS`,
//! `AWS_MAX_ATTEMPTS`, checksums) are the SDK's, unchanged.
//!
//! Timeouts ([`timeouts`]): the SDK's defaults bound the connection only (the
//! AWS SDK for Rust guide, "Timeouts": "by default, the SDK does not set
//! operation or attempt timeouts"), so an endpoint that accepts and never
//! answers would hold a call until Lambda kills the function. Every call
//! here is bounded per attempt and as a whole; the functions also race each
//! call against their own deadline, which is the bound that keeps their
//! promises (answer in time, name every ride not written).

use aws_config::environment::{EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider};
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials};

use crate::https::HttpsClient;

/// Connecting (TCP and TLS) to an AWS endpoint in the function's region.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt of a call, request sent to response read: the functions'
/// calls are small (a `PutRecords` of at most 5 MB, a `PutItem`, a
/// dead-letter object), so an attempt this long is a stalled endpoint, and
/// the SDK's retry goes to a fresh connection (the stalled one is poisoned,
/// [`crate::https`]).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// A call with all its retries.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

/// The timeouts every function's SDK clients use.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

pub async fn load_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(HttpsClient::new())
        .timeout_config(timeouts())
        .region(EnvironmentVariableRegionProvider::new())
        .credentials_provider(LambdaCredentials(EnvironmentVariableCredentialsProvider::new()))
        .load()
        .await
}

/// The environment's credentials, with a failure that names the variables.
#[derive(Debug)]
struct LambdaCredentials(EnvironmentVariableCredentialsProvider);

impl ProvideCredentials for LambdaCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.0.provide_credentials().await.map_err(|error| {
                CredentialsError::not_loaded(format!(
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them from the function's role; elsewhere, export them): {error}"
                ))
            })
        })
    }
}
