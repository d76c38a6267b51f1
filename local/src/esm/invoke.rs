//! Invoking a function through the Lambda Invoke API (`aws-sdk-lambda`),
//! pointed at `cargo lambda watch` locally. SDK retries are off: `watch`
//! answers a function error with HTTP 500, which the poller must see once and
//! handle by the mapping's rules, not have the SDK replay three times.

use aws_sdk_lambda::primitives::Blob;

/// How an invocation failed, in the two kinds AWS's event source mappings
/// treat differently (Lambda guide, "Error handling" of the Kinesis and
/// DynamoDB stream mappings, which Kafka mappings share): a *function error*
/// (the function ran and failed, crashed or timed out) counts against
/// `MaximumRetryAttempts` and may bisect the batch; when "Lambda throttles the
/// function or returns an error without invoking the function, Lambda retries
/// until the records expire or exceed the maximum age", which the template
/// does not set: the batch waits, nothing is discarded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    #[error("function error: {0}")]
    Function(String),
    /// The Invoke API did not run the function: unreachable (the function
    /// host is down), throttled (429) or another service error.
    #[error("the function was not invoked: {0}")]
    Service(String),
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
        let config = aws_sdk_lambda::config::Builder::from(&crate::loopback_sdk_config(endpoint))
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_lambda::config::timeout::TimeoutConfig::builder().operation_timeout(timeout).build(),
            )
            .build();
        Self { client: aws_sdk_lambda::Client::from_conf(config), function: function.to_owned() }
    }

    /// Invokes synchronously; returns the response payload.
    pub async fn invoke(&self, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let output = self
            .client
            .invoke()
            .function_name(&self.function)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let body = output.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default();
        if let Some(kind) = output.function_error() {
            return Err(InvokeError::Function(format!("{kind}: {}", String::from_utf8_lossy(&body))));
        }
        Ok(body)
    }
}

/// `cargo lambda watch` answers a function error (or a function process that
/// died mid-invocation) with HTTP 500 and the error as the body; a timeout is
/// what Lambda reports as a function error too. Everything else (refused or
/// reset connections, 429, other statuses) never reached the function.
fn classify(e: &aws_sdk_lambda::error::SdkError<aws_sdk_lambda::operation::invoke::InvokeError>) -> InvokeError {
    use aws_sdk_lambda::error::SdkError;
    let detail = aws_sdk_lambda::error::DisplayErrorContext(e).to_string();
    match e {
        SdkError::TimeoutError(_) => InvokeError::Function(format!("timed out: {detail}")),
        SdkError::ServiceError(context) => {
            let raw = context.raw();
            if raw.status().as_u16() == 500 {
                InvokeError::Function(raw.body().bytes().map_or(detail, |b| String::from_utf8_lossy(b).into_owned()))
            } else {
                InvokeError::Service(format!("HTTP {}: {detail}", raw.status().as_u16()))
            }
        }
        _ => InvokeError::Service(detail),
    }
}
