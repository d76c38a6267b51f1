//! Answering CloudFormation: a PUT of the JSON response to the pre-signed
//! `ResponseURL`, with an empty content type as the signature requires, on
//! the functions' one HTTPS stack (`sdk-https`: certificates verified).

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse as Response;
use aws_smithy_runtime_api::client::http::{HttpConnector, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;

use crate::{Responder, TopicError};

pub struct HttpResponder(SharedHttpConnector);

/// An answer that cannot be delivered in this long will not be: fail fast
/// rather than hold the function until its timeout.
pub const RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl HttpResponder {
    /// A client whose connect and answer times are bounded.
    pub fn new() -> Self {
        Self::with_timeout(RESPONSE_TIMEOUT)
    }

    pub fn with_timeout(timeout: std::time::Duration) -> Self {
        Self(lambda_init::https::HttpsClient::new().connector(timeout, timeout))
    }
}

impl Default for HttpResponder {
    fn default() -> Self {
        Self::new()
    }
}

impl Responder for HttpResponder {
    async fn respond(&self, url: &str, response: &Response) -> Result<(), TopicError> {
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| TopicError::Respond(e);
        let body = serde_json::to_vec(response).map_err(|e| failed(e.into()))?;
        let request = http::Request::put(url)
            .header("content-type", "")
            .body(SdkBody::from(body))
            .map_err(|e| failed(e.into()))?;
        let request = HttpRequest::try_from(request).map_err(|e| failed(e.into()))?;
        let answer = self.0.call(request).await.map_err(|e| failed(e.into()))?;
        if !answer.status().is_success() {
            return Err(TopicError::Respond(format!("HTTP {}", answer.status()).into()));
        }
        Ok(())
    }
}
