//! Creating the topic with `rdkafka`'s admin API: over TLS with IAM
//! (SASL/OAUTHBEARER, the token and settings of [`msk_iam`], signed with the
//! function's own credentials) on MSK, or in plaintext against a local
//! broker.
//!
//! rust-rdkafka's `AdminClient` cannot sign IAM tokens or report why a call
//! failed by itself: see [`crate::native`].

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use crate::request::TopicSpec;
use crate::{TopicAdmin, TopicError, TopicOutcome};

pub use msk_iam::Auth;

pub struct KafkaTopicAdmin {
    pub auth: Auth,
    /// How long one admin call may take before it fails with the last error
    /// the client saw (a refused token, a TLS failure) as its reason.
    pub timeout: Duration,
}

impl KafkaTopicAdmin {
    pub fn new(auth: Auth) -> Self {
        Self { auth, timeout: Duration::from_secs(60) }
    }
}

type Admin = AdminClient<DefaultClientContext>;

/// `message`, with what librdkafka reported meanwhile (a refused
/// certificate, a refused token), so a timed-out call says why.
fn with_client_problems(admin: &Admin, message: String) -> String {
    match crate::native::drain_problems(admin.inner()).pop() {
        Some(last) => format!("{message} (last client error: {last})"),
        None => message,
    }
}

impl KafkaTopicAdmin {
    async fn client(&self, bootstrap: &str) -> Result<Admin, String> {
        let mut config = ClientConfig::new();
        let socket_timeout = self.timeout.as_millis().clamp(10, 300_000).to_string();
        config.set("bootstrap.servers", bootstrap).set("socket.timeout.ms", &socket_timeout);
        match &self.auth {
            Auth::Plaintext => config.create().map_err(|e| e.to_string()),
            Auth::Iam { region, credentials, .. } => {
                self.auth.configure(&mut config);
                let admin: Admin = config.create().map_err(|e| e.to_string())?;
                let (token, expires_ms) = msk_iam::auth_token(region, credentials).await.map_err(|e| e.to_string())?;
                crate::native::set_oauth_token(admin.inner(), &token, expires_ms)?;
                Ok(admin)
            }
        }
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new().operation_timeout(Some(self.timeout)).request_timeout(Some(self.timeout))
    }

    /// Grows the topic to `partitions` (Kafka cannot shrink a topic).
    pub async fn grow_partitions(&self, bootstrap: &str, topic: &str, partitions: usize) -> Result<(), TopicError> {
        let error = |message: String| TopicError::Create { topic: topic.to_owned(), message };
        let admin = self.client(bootstrap).await.map_err(error)?;
        let results = admin
            .create_partitions([&NewPartitions::new(topic, partitions)], &self.options())
            .await
            .map_err(|e| error(with_client_problems(&admin, e.to_string())))?;
        match results.into_iter().next() {
            Some(Ok(_)) => Ok(()),
            Some(Err((_, code))) => Err(error(with_client_problems(&admin, code.to_string()))),
            None => Err(error("the broker answered nothing".into())),
        }
    }
}

impl TopicAdmin for KafkaTopicAdmin {
    /// Creates the topic, or brings an existing one to the spec: partitions
    /// grow (`CreatePartitions`); fewer partitions or another replication
    /// factor cannot be applied to a Kafka topic in place and fail with the
    /// reason. Comparing with the broker (not with the old properties) keeps
    /// a rollback of a refused update a no-op that succeeds.
    async fn ensure_topic(&self, bootstrap: &str, spec: &TopicSpec) -> Result<TopicOutcome, TopicError> {
        let error = |message: String| TopicError::Create { topic: spec.topic.clone(), message };
        let admin = self.client(bootstrap).await.map_err(error)?;
        let new = NewTopic::new(&spec.topic, spec.partitions, TopicReplication::Fixed(spec.replication_factor));
        let results = admin
            .create_topics([&new], &self.options())
            .await
            .map_err(|e| error(with_client_problems(&admin, e.to_string())))?;
        match results.into_iter().next() {
            Some(Ok(_)) => return Ok(TopicOutcome::Created),
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {}
            Some(Err((_, code))) => return Err(error(with_client_problems(&admin, code.to_string()))),
            None => return Err(error("the broker answered nothing".into())),
        }
        let (partitions, replication_factor) = self.describe(&admin, &spec.topic).map_err(error)?;
        if replication_factor != spec.replication_factor {
            return Err(error(format!(
                "the topic exists with replication factor {replication_factor}, not {}: Kafka cannot change it in place \
                 (reassign its partitions with kafka-reassign-partitions.sh, or name a new topic)",
                spec.replication_factor
            )));
        }
        match partitions.cmp(&spec.partitions) {
            std::cmp::Ordering::Equal => Ok(TopicOutcome::AlreadyExisted),
            std::cmp::Ordering::Greater => Err(error(format!(
                "the topic exists with {partitions} partitions, more than {}: Kafka cannot remove partitions \
                 (keep {partitions}, or name a new topic)",
                spec.partitions
            ))),
            std::cmp::Ordering::Less => {
                let to = usize::try_from(spec.partitions).map_err(|e| error(e.to_string()))?;
                self.grow_partitions(bootstrap, &spec.topic, to).await?;
                Ok(TopicOutcome::Grown { from: partitions, to: spec.partitions })
            }
        }
    }
}

impl KafkaTopicAdmin {
    /// The topic's partition count and replication factor, from the
    /// cluster's metadata.
    fn describe(&self, admin: &Admin, topic: &str) -> Result<(i32, i32), String> {
        // fetch_metadata blocks on librdkafka: keep it off the async workers.
        let metadata = tokio::task::block_in_place(|| admin.inner().fetch_metadata(Some(topic), self.timeout))
            .map_err(|e| with_client_problems(admin, e.to_string()))?;
        let found = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .ok_or_else(|| format!("the cluster's metadata has no topic {topic}"))?;
        let partitions = i32::try_from(found.partitions().len()).map_err(|e| e.to_string())?;
        let replication = found.partitions().first().map_or(0, |p| p.replicas().len());
        Ok((partitions, i32::try_from(replication).map_err(|e| e.to_string())?))
    }
}
