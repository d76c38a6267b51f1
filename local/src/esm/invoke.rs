//! Invoking a function through the Lambda Invoke API (`aws-sdk-lambda`),
//! pointed at `cargo lambda watch` locally. SDK retries are off: `watch`
//! answers a function error with HTTP 500, which the poller must see once and
//! handle by the mapping's rules, not have the SDK replay three times.

use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::primitives::Blob;

use crate::{LOCAL_ACCESS_KEY, LOCAL_REGION, LOCAL_SECRET_KEY};

#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    #[error("function error: {0}")]
    Function(String),
    #[error("invoke failed: {0}")]
    Transport(String),
}

#[derive(Clone)]
pub struct FunctionInvoker {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl FunctionInvoker {
    pub fn new(endpoint: &str, function: &str) -> Self {
        Self::with_timeout(endpoint, function, std::time::Duration::from_secs(150))
    }

    /// `timeout` bounds one invocation; the first one under `cargo lambda
    /// watch` includes compiling the function.
    pub fn with_timeout(endpoint: &str, function: &str, timeout: std::time::Duration) -> Self {
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(LOCAL_REGION))
            .credentials_provider(Credentials::new(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, None, None, "local-stack"))
            .endpoint_url(endpoint)
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_lambda::config::timeout::TimeoutConfig::builder().operation_timeout(timeout).build(),
            )
            .build();
        Self { client: aws_sdk_lambda::Client::from_conf(config), function: function.to_owned() }
    }

    /// Invokes synchronously; returns the response payload.
    pub async fn invoke(&self, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let output =
            self.client.invoke().function_name(&self.function).payload(Blob::new(payload)).send().await.map_err(
                |e| match e.raw_response().map(|r| r.status().as_u16()) {
                    Some(500) => InvokeError::Function(
                        e.raw_response()
                            .and_then(|r| r.body().bytes())
                            .map(|b| String::from_utf8_lossy(b).into_owned())
                            .unwrap_or_else(|| aws_sdk_lambda::error::DisplayErrorContext(&e).to_string()),
                    ),
                    _ => InvokeError::Transport(aws_sdk_lambda::error::DisplayErrorContext(&e).to_string()),
                },
            )?;
        let body = output.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default();
        if let Some(kind) = output.function_error() {
            return Err(InvokeError::Function(format!("{kind}: {}", String::from_utf8_lossy(&body))));
        }
        Ok(body)
    }
}
