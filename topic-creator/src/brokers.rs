//! `GetBootstrapBrokers` through `aws-sdk-kafka`: the IAM (port 9098) string.

use aws_sdk_kafka::Client;

use crate::{BrokerLookup, TopicError};

/// What `GetBootstrapBrokers` fails with.
pub type LookupError = aws_sdk_kafka::error::SdkError<
    aws_sdk_kafka::operation::get_bootstrap_brokers::GetBootstrapBrokersError,
    aws_sdk_kafka::config::http::HttpResponse,
>;

pub struct MskBrokers(pub Client);

impl BrokerLookup for MskBrokers {
    async fn bootstrap_brokers(&self, cluster_arn: &str) -> Result<String, TopicError> {
        let out = self
            .0
            .get_bootstrap_brokers()
            .cluster_arn(cluster_arn)
            .send()
            .await
            .map_err(|source| TopicError::Brokers { cluster: cluster_arn.to_owned(), source: Box::new(source) })?;
        out.bootstrap_broker_string_sasl_iam
            .filter(|s| !s.is_empty())
            .ok_or_else(|| TopicError::NoIamBrokers(cluster_arn.to_owned()))
    }
}

/// A fixed broker list: a self-managed or local cluster.
pub struct FixedBrokers(pub String);

impl BrokerLookup for FixedBrokers {
    async fn bootstrap_brokers(&self, _cluster_arn: &str) -> Result<String, TopicError> {
        Ok(self.0.clone())
    }
}
