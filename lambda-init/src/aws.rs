//! The SDK configuration every function loads at init: region and
//! credentials from the variables Lambda sets (`AWS_REGION`;
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and
//! [`HttpsClient`] for every call. Only those two providers: on Lambda the
//! default chain's first link always answers, and a function missing them
//! fails at once with the variable's name rather than probing a profile file,
//! a container endpoint and the instance metadata service in turn. The
//! loader's other settings (endpoint URLs such as `AWS_ENDPOINT_URL_KINESIS`,
//! `AWS_MAX_ATTEMPTS`, timeouts, checksums) are the SDK's, unchanged.

use aws_config::environment::{EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials};

use crate::https::HttpsClient;

pub async fn load_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(HttpsClient::new())
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
