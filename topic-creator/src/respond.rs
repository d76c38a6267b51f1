//! Answering CloudFormation: a PUT of the JSON response to the pre-signed
//! `ResponseURL`, with an empty content type as the signature requires.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse as Response;

use crate::{Responder, TopicError};

pub struct HttpResponder(pub reqwest::Client);

/// An answer that cannot be delivered in this long will not be: fail fast
/// rather than hold the function until its timeout.
pub const RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl HttpResponder {
    /// A client whose connect and whole-request time are bounded.
    pub fn new() -> Self {
        Self::with_timeout(RESPONSE_TIMEOUT)
    }

    pub fn with_timeout(timeout: std::time::Duration) -> Self {
        let client = reqwest::Client::builder().connect_timeout(timeout).timeout(timeout).build().unwrap_or_default();
        Self(client)
    }
}

impl Default for HttpResponder {
    fn default() -> Self {
        Self::new()
    }
}

impl Responder for HttpResponder {
    async fn respond(&self, url: &str, response: &Response) -> Result<(), TopicError> {
        let body = serde_json::to_vec(response).map_err(|e| TopicError::Respond(e.to_string()))?;
        let answer = self
            .0
            .put(url)
            .header("content-type", "")
            .body(body)
            .send()
            .await
            .map_err(|e| TopicError::Respond(e.to_string()))?;
        if !answer.status().is_success() {
            return Err(TopicError::Respond(format!("HTTP {}", answer.status())));
        }
        Ok(())
    }
}
