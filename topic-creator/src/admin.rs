//! Creating the topic with `rdkafka`'s admin API: over TLS with IAM
//! (SASL/OAUTHBEARER tokens from `aws-msk-iam-sasl-signer`) on MSK, or in
//! plaintext against a local broker.

use std::time::Duration;

use aws_msk_iam_sasl_signer::generate_auth_token;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use crate::request::TopicSpec;
use crate::{TopicAdmin, TopicError, TopicOutcome};

#[derive(Debug, Clone)]
pub enum Auth {
    /// MSK with IAM access control, in `region`.
    Iam { region: String },
    /// A local broker without authentication.
    Plaintext,
}

pub struct KafkaTopicAdmin {
    pub auth: Auth,
}

/// Signs OAUTHBEARER tokens with the function's credentials. librdkafka asks
/// from its own thread, so the async signer runs on the captured runtime.
struct IamContext {
    region: aws_config::Region,
    runtime: tokio::runtime::Handle,
}

impl ClientContext for IamContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(&self, _config: Option<&str>) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        let (token, lifetime_ms) = self.runtime.block_on(generate_auth_token(self.region.clone()))?;
        Ok(OAuthToken { token, principal_name: String::new(), lifetime_ms })
    }
}

impl TopicAdmin for KafkaTopicAdmin {
    async fn ensure_topic(&self, bootstrap: &str, spec: &TopicSpec) -> Result<TopicOutcome, TopicError> {
        let error = |message: String| TopicError::Create { topic: spec.topic.clone(), message };
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", bootstrap).set("socket.timeout.ms", "30000");
        let new = NewTopic::new(&spec.topic, spec.partitions, TopicReplication::Fixed(spec.replication_factor));
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(60)));
        let results = match &self.auth {
            Auth::Plaintext => {
                let admin: AdminClient<rdkafka::client::DefaultClientContext> =
                    config.create().map_err(|e| error(e.to_string()))?;
                admin.create_topics([&new], &options).await
            }
            Auth::Iam { region } => {
                config.set("security.protocol", "SASL_SSL").set("sasl.mechanism", "OAUTHBEARER");
                let context = IamContext {
                    region: aws_config::Region::new(region.clone()),
                    runtime: tokio::runtime::Handle::current(),
                };
                let admin: AdminClient<IamContext> =
                    config.create_with_context(context).map_err(|e| error(e.to_string()))?;
                admin.create_topics([&new], &options).await
            }
        }
        .map_err(|e| error(e.to_string()))?;
        match results.into_iter().next() {
            Some(Ok(_)) => Ok(TopicOutcome::Created),
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(TopicOutcome::AlreadyExisted),
            Some(Err((_, code))) => Err(error(code.to_string())),
            None => Err(error("the broker answered nothing".into())),
        }
    }
}
