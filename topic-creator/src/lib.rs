//! The topic creator: a CloudFormation custom resource Lambda in the VPC that
//! looks up the MSK cluster's IAM bootstrap brokers (`GetBootstrapBrokers`;
//! `AWS::MSK::Cluster` does not return them), creates the pipeline's topic
//! with the wanted partitions and replication (idempotently), and answers
//! CloudFormation with the brokers so the connector in the same stack can use
//! them. Every path answers CloudFormation, so a stack never hangs on it.

pub mod admin;
pub mod brokers;
pub mod native;
pub mod request;
pub mod respond;

use std::collections::HashMap;
use std::future::Future;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest as Request, CloudFormationCustomResourceResponse as Response,
    CloudFormationCustomResourceResponseStatus as Status,
};
use serde_json::Value;

use crate::request::{topic_spec, TopicSpec};

/// Why the topic is not ready, or CloudFormation was not answered. Each
/// keeps its cause as its `source`; the message (which CloudFormation shows
/// as the resource's reason) names it too.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error(transparent)]
    Spec(#[from] request::SpecError),
    #[error("looking up the bootstrap brokers of {cluster}: {}", aws_sdk_kafka::error::DisplayErrorContext(.source))]
    Brokers { cluster: String, source: Box<brokers::LookupError> },
    #[error("the cluster {0} has no IAM bootstrap brokers: enable IAM client authentication")]
    NoIamBrokers(String),
    #[error("creating topic {topic}: {source}")]
    Create { topic: String, source: admin::AdminError },
    #[error("answering CloudFormation at the response URL: {}", with_causes(.0.as_ref()))]
    Respond(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// `error` and each of its causes, joined by ": ".
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// What happened to the topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicOutcome {
    Created,
    AlreadyExisted,
    /// An update asked for more partitions: they were added.
    Grown {
        from: i32,
        to: i32,
    },
}

pub trait BrokerLookup: Send + Sync {
    fn bootstrap_brokers(&self, cluster_arn: &str) -> impl Future<Output = Result<String, TopicError>> + Send;
}

pub trait TopicAdmin: Send + Sync {
    fn ensure_topic(
        &self,
        bootstrap: &str,
        spec: &TopicSpec,
    ) -> impl Future<Output = Result<TopicOutcome, TopicError>> + Send;
}

pub trait Responder: Send + Sync {
    fn respond(&self, url: &str, response: &Response) -> impl Future<Output = Result<(), TopicError>> + Send;
}

pub struct Deps<B, A, R> {
    pub brokers: B,
    pub admin: A,
    pub responder: R,
}

/// The attribute the template reads with `Fn::GetAtt`.
pub const BOOTSTRAP_ATTRIBUTE: &str = "BootstrapBrokersSaslIam";

/// Handles one payload as Lambda hands it over and answers CloudFormation
/// whatever it holds: a request that does not decode, or of a type this
/// function does not know, is answered FAILED with the reason (when it has a
/// response URL at all), and the topic work gets at most `budget`, so the
/// answer goes out before the function's own timeout. Returns the answer.
pub async fn handle_payload<B: BrokerLookup, A: TopicAdmin, R: Responder>(
    payload: Value,
    deps: &Deps<B, A, R>,
    budget: std::time::Duration,
) -> Result<Response, TopicError> {
    // An unknown `RequestType` fails to decode too (the enum is tagged by it).
    let request = match serde_json::from_value::<Request>(payload.clone()) {
        Ok(request) => request,
        Err(error) => {
            let kind = payload.get("RequestType").cloned().unwrap_or(Value::Null);
            let reason =
                format!("request type {kind} does not decode as a CloudFormation custom resource request: {error}");
            return answer_failed(&payload, reason, deps).await;
        }
    };
    match tokio::time::timeout(budget, handle(request, deps)).await {
        Ok(answered) => answered,
        Err(_) => {
            let reason = format!(
                "the topic was not ready within {}s (can the function's subnets reach the brokers?)",
                budget.as_secs()
            );
            answer_failed(&payload, reason, deps).await
        }
    }
}

/// Answers FAILED with `reason`, taking the ids from the raw payload.
async fn answer_failed<B, A, R: Responder>(
    payload: &Value,
    reason: String,
    deps: &Deps<B, A, R>,
) -> Result<Response, TopicError> {
    let field = |name: &str| payload.get(name).and_then(Value::as_str).map(str::to_owned);
    let url = field("ResponseURL").ok_or_else(|| {
        TopicError::Respond(format!("{reason}; and there is no ResponseURL to answer CloudFormation at").into())
    })?;
    let logical = field("LogicalResourceId").unwrap_or_default();
    let mut response = base(
        field("StackId").unwrap_or_default(),
        field("RequestId").unwrap_or_default(),
        logical,
        field("PhysicalResourceId"),
    );
    tracing::error!(%reason, "request not handled");
    response.status = Status::Failed;
    response.reason = Some(reason);
    deps.responder.respond(&url, &response).await?;
    Ok(response)
}

/// Handles one request and always answers CloudFormation; returns the answer.
pub async fn handle<B: BrokerLookup, A: TopicAdmin, R: Responder>(
    request: Request,
    deps: &Deps<B, A, R>,
) -> Result<Response, TopicError> {
    let (url, mut response, properties, delete) = match request {
        Request::Create(r) => {
            (r.response_url, base(r.stack_id, r.request_id, r.logical_resource_id, None), r.resource_properties, false)
        }
        Request::Update(r) => {
            let id = Some(r.physical_resource_id);
            (r.response_url, base(r.stack_id, r.request_id, r.logical_resource_id, id), r.resource_properties, false)
        }
        Request::Delete(r) => {
            let id = Some(r.physical_resource_id);
            (r.response_url, base(r.stack_id, r.request_id, r.logical_resource_id, id), r.resource_properties, true)
        }
        other => {
            let payload = serde_json::to_value(&other).unwrap_or(Value::Null);
            return answer_failed(&payload, "unknown CloudFormation request type".into(), deps).await;
        }
    };
    if delete {
        // The topic goes with the cluster; a delete after a failed create
        // must succeed too, or the stack could never be removed.
        tracing::info!(physical_resource_id = %response.physical_resource_id, "delete: nothing to do");
    } else {
        match create(&properties, deps).await {
            Ok((spec, bootstrap, outcome)) => {
                tracing::info!(topic = %spec.topic, ?outcome, "topic ready");
                response.physical_resource_id = format!("{}/{}", spec.cluster_arn, spec.topic);
                response.data = HashMap::from([(BOOTSTRAP_ATTRIBUTE.to_owned(), bootstrap)]);
            }
            Err(error) => {
                let reason = error.to_string();
                tracing::error!(%reason, "topic not created");
                response.status = Status::Failed;
                response.reason = Some(reason);
            }
        }
    }
    deps.responder.respond(&url, &response).await?;
    Ok(response)
}

async fn create<B: BrokerLookup, A: TopicAdmin, R: Responder>(
    properties: &Value,
    deps: &Deps<B, A, R>,
) -> Result<(TopicSpec, String, TopicOutcome), TopicError> {
    let spec = topic_spec(properties)?;
    let bootstrap = deps.brokers.bootstrap_brokers(&spec.cluster_arn).await?;
    let outcome = deps.admin.ensure_topic(&bootstrap, &spec).await?;
    Ok((spec, bootstrap, outcome))
}

fn base(stack_id: String, request_id: String, logical_resource_id: String, physical: Option<String>) -> Response {
    let mut response = Response::default();
    response.status = Status::Success;
    response.physical_resource_id = physical.unwrap_or_else(|| format!("{logical_resource_id}-pending"));
    response.stack_id = stack_id;
    response.request_id = request_id;
    response.logical_resource_id = logical_resource_id;
    response
}
