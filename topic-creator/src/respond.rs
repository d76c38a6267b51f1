//! Answering CloudFormation: a PUT of the JSON response to the pre-signed
//! `ResponseURL`, with an empty content type as the signature requires.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse as Response;

use crate::{Responder, TopicError};

pub struct HttpResponder(pub reqwest::Client);

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
