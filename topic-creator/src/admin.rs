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
use rdkafka::error::KafkaError;
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

/// Why an admin call did not bring the topic to its spec.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("creating the admin client: {0}")]
    Client(#[source] KafkaError),
    #[error(transparent)]
    Token(#[from] msk_iam::TokenError),
    #[error(transparent)]
    TokenRefused(#[from] crate::native::TokenRefused),
    /// The call failed; `last` is what librdkafka reported meanwhile (a
    /// refused certificate, a refused token), so a timed-out call says why.
    #[error("{source}{}", last_client_error(.last))]
    Call { source: KafkaError, last: Option<String> },
    #[error("{code}{}", last_client_error(.last))]
    Refused { code: RDKafkaErrorCode, last: Option<String> },
    #[error("the broker answered nothing")]
    NoAnswer,
    #[error("the cluster's metadata has no topic {0}")]
    NoSuchTopic(String),
    #[error(
        "the topic exists with replication factor {found}, not {wanted}: Kafka cannot change it in place \
         (reassign its partitions with kafka-reassign-partitions.sh, or name a new topic)"
    )]
    ReplicationFactor { found: i32, wanted: i32 },
    #[error(
        "the topic exists with {found} partitions, more than {wanted}: Kafka cannot remove partitions \
         (keep {found}, or name a new topic)"
    )]
    TooManyPartitions { found: i32, wanted: i32 },
    #[error("a partition or replica count out of range: {0}")]
    Count(#[from] std::num::TryFromIntError),
}

fn last_client_error(last: &Option<String>) -> String {
    last.as_ref().map(|l| format!(" (last client error: {l})")).unwrap_or_default()
}

/// The last problem librdkafka reported on `admin`'s client.
fn last_problem(admin: &Admin) -> Option<String> {
    crate::native::drain_problems(admin.inner()).pop()
}

fn call_failed(admin: &Admin, source: KafkaError) -> AdminError {
    AdminError::Call { source, last: last_problem(admin) }
}

fn refused(admin: &Admin, code: RDKafkaErrorCode) -> AdminError {
    AdminError::Refused { code, last: last_problem(admin) }
}

impl KafkaTopicAdmin {
    async fn client(&self, bootstrap: &str) -> Result<Admin, AdminError> {
        let mut config = ClientConfig::new();
        let socket_timeout = self.timeout.as_millis().clamp(10, 300_000).to_string();
        config.set("bootstrap.servers", bootstrap).set("socket.timeout.ms", &socket_timeout);
        match &self.auth {
            Auth::Plaintext => config.create().map_err(AdminError::Client),
            Auth::Iam { region, credentials, .. } => {
                self.auth.configure(&mut config);
                let admin: Admin = config.create().map_err(AdminError::Client)?;
                let (token, expires_ms) = msk_iam::auth_token(region, credentials).await?;
                crate::native::set_oauth_token(admin.inner(), &token, expires_ms)?;
                Ok(admin)
            }
        }
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new().operation_timeout(Some(self.timeout)).request_timeout(Some(self.timeout))
    }

    /// Grows the topic to `partitions` (Kafka cannot shrink a topic).
    pub async fn grow_partitions(&self, bootstrap: &str, topic: &str, partitions: usize) -> Result<(), AdminError> {
        let admin = self.client(bootstrap).await?;
        let results = admin
            .create_partitions([&NewPartitions::new(topic, partitions)], &self.options())
            .await
            .map_err(|e| call_failed(&admin, e))?;
        match results.into_iter().next() {
            Some(Ok(_)) => Ok(()),
            Some(Err((_, code))) => Err(refused(&admin, code)),
            None => Err(AdminError::NoAnswer),
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
        self.bring_to_spec(bootstrap, spec)
            .await
            .map_err(|source| TopicError::Create { topic: spec.topic.clone(), source })
    }
}

impl KafkaTopicAdmin {
    async fn bring_to_spec(&self, bootstrap: &str, spec: &TopicSpec) -> Result<TopicOutcome, AdminError> {
        let admin = self.client(bootstrap).await?;
        let new = NewTopic::new(&spec.topic, spec.partitions, TopicReplication::Fixed(spec.replication_factor));
        let results = admin.create_topics([&new], &self.options()).await.map_err(|e| call_failed(&admin, e))?;
        match results.into_iter().next() {
            Some(Ok(_)) => return Ok(TopicOutcome::Created),
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {}
            Some(Err((_, code))) => return Err(refused(&admin, code)),
            None => return Err(AdminError::NoAnswer),
        }
        let (partitions, replication_factor) = self.describe(&admin, &spec.topic)?;
        if replication_factor != spec.replication_factor {
            return Err(AdminError::ReplicationFactor { found: replication_factor, wanted: spec.replication_factor });
        }
        match partitions.cmp(&spec.partitions) {
            std::cmp::Ordering::Equal => Ok(TopicOutcome::AlreadyExisted),
            std::cmp::Ordering::Greater => {
                Err(AdminError::TooManyPartitions { found: partitions, wanted: spec.partitions })
            }
            std::cmp::Ordering::Less => {
                self.grow_partitions(bootstrap, &spec.topic, usize::try_from(spec.partitions)?).await?;
                Ok(TopicOutcome::Grown { from: partitions, to: spec.partitions })
            }
        }
    }
}

impl KafkaTopicAdmin {
    /// The topic's partition count and replication factor, from the
    /// cluster's metadata.
    fn describe(&self, admin: &Admin, topic: &str) -> Result<(i32, i32), AdminError> {
        // fetch_metadata blocks on librdkafka: keep it off the async workers.
        let metadata = tokio::task::block_in_place(|| admin.inner().fetch_metadata(Some(topic), self.timeout))
            .map_err(|e| call_failed(admin, e))?;
        let found = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .ok_or_else(|| AdminError::NoSuchTopic(topic.to_owned()))?;
        let partitions = i32::try_from(found.partitions().len())?;
        let replication = found.partitions().first().map_or(0, |p| p.replicas().len());
        Ok((partitions, i32::try_from(replication)?))
    }
}
