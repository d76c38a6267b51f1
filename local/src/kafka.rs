//! The Kafka side of the local stack: librdkafka's mock cluster (the real
//! Kafka wire protocol over TCP, in-process, with fault injection) by
//! default, or any broker named by `KAFKA_BOOTSTRAP_SERVERS`.
//!
//! The mock cluster keeps at most 5 MiB or 100k messages per partition and
//! silently drops older ones, so the local topic gets enough partitions for a
//! demo's volume (about 2 KiB per ride with headers and offsets: 8 partitions
//! hold some 20,000 rides); point `KAFKA_BOOTSTRAP_SERVERS` at a real broker
//! for longer runs.

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::ClientConfig;

pub enum Broker {
    Mock(MockCluster<'static, DefaultProducerContext>),
    External(String),
}

impl Broker {
    /// The mock cluster with `brokers` brokers, or `KAFKA_BOOTSTRAP_SERVERS` when set.
    pub fn from_env(brokers: i32) -> anyhow::Result<Self> {
        match std::env::var("KAFKA_BOOTSTRAP_SERVERS").ok().filter(|s| !s.trim().is_empty()) {
            Some(servers) => Ok(Broker::External(servers)),
            None => Ok(Broker::Mock(MockCluster::new(brokers)?)),
        }
    }

    pub fn mock(brokers: i32) -> anyhow::Result<Self> {
        Ok(Broker::Mock(MockCluster::new(brokers)?))
    }

    pub fn bootstrap_servers(&self) -> String {
        match self {
            Broker::Mock(cluster) => cluster.bootstrap_servers(),
            Broker::External(servers) => servers.clone(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Broker::Mock(_) => format!("librdkafka mock cluster at {}", self.bootstrap_servers()),
            Broker::External(s) => format!("Kafka at {s}"),
        }
    }

    /// Creates `topic` (mock: directly; external: through the admin API, an
    /// existing topic is fine).
    pub async fn create_topic(&self, topic: &str, partitions: i32) -> anyhow::Result<()> {
        match self {
            Broker::Mock(cluster) => Ok(cluster.create_topic(topic, partitions, 1)?),
            Broker::External(servers) => {
                let admin: AdminClient<DefaultClientContext> =
                    ClientConfig::new().set("bootstrap.servers", servers).create()?;
                let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
                for result in admin.create_topics([&new], &AdminOptions::new()).await? {
                    match result {
                        Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
                        Err((name, code)) => anyhow::bail!("creating topic {name}: {code}"),
                    }
                }
                Ok(())
            }
        }
    }

    /// Takes broker `id` down (mock cluster only): connections are refused
    /// until [`Broker::broker_up`].
    pub fn broker_down(&self, id: i32) -> anyhow::Result<()> {
        match self {
            Broker::Mock(cluster) => Ok(cluster.broker_down(id)?),
            Broker::External(_) => anyhow::bail!("broker faults need the mock cluster"),
        }
    }

    pub fn broker_up(&self, id: i32) -> anyhow::Result<()> {
        match self {
            Broker::Mock(cluster) => Ok(cluster.broker_up(id)?),
            Broker::External(_) => anyhow::bail!("broker faults need the mock cluster"),
        }
    }
}
