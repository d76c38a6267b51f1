//! The Kafka side of the local stack: librdkafka's mock cluster (the real
//! Kafka wire protocol over TCP, in-process, with fault injection) by
//! default; tansu, a real broker process on sqlite (`LOCAL_KAFKA=tansu`);
//! or any broker named by `KAFKA_BOOTSTRAP_SERVERS`.
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

use crate::tansu::Tansu;

pub enum Broker {
    Mock(MockCluster<'static, DefaultProducerContext>),
    Tansu(Tansu),
    External(String),
}

impl Broker {
    /// `KAFKA_BOOTSTRAP_SERVERS` when set; tansu (storing in `data_dir`) when
    /// `LOCAL_KAFKA=tansu`; else the mock cluster with `brokers` brokers.
    pub fn from_env(brokers: i32, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        if let Some(servers) = std::env::var("KAFKA_BOOTSTRAP_SERVERS").ok().filter(|s| !s.trim().is_empty()) {
            return Ok(Broker::External(servers));
        }
        match std::env::var("LOCAL_KAFKA").unwrap_or_default().as_str() {
            "tansu" => Ok(Broker::Tansu(Tansu::start(&data_dir.join("tansu"))?)),
            "" | "mock" => Ok(Broker::Mock(MockCluster::new(brokers)?)),
            other => anyhow::bail!("LOCAL_KAFKA={other:?}: use `mock` (default) or `tansu`"),
        }
    }

    pub fn mock(brokers: i32) -> anyhow::Result<Self> {
        Ok(Broker::Mock(MockCluster::new(brokers)?))
    }

    pub fn bootstrap_servers(&self) -> String {
        match self {
            Broker::Mock(cluster) => cluster.bootstrap_servers(),
            Broker::Tansu(tansu) => tansu.bootstrap_servers(),
            Broker::External(servers) => servers.clone(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Broker::Mock(_) => format!("librdkafka mock cluster at {}", self.bootstrap_servers()),
            Broker::Tansu(t) => format!("tansu broker (sqlite) at {}", t.bootstrap_servers()),
            Broker::External(s) => format!("Kafka at {s}"),
        }
    }

    /// Creates `topic` (mock: directly; external: through the admin API, an
    /// existing topic is fine).
    pub async fn create_topic(&self, topic: &str, partitions: i32) -> anyhow::Result<()> {
        match self {
            Broker::Mock(cluster) => Ok(cluster.create_topic(topic, partitions, 1)?),
            Broker::Tansu(_) | Broker::External(_) => {
                let servers = self.bootstrap_servers();
                let admin: AdminClient<DefaultClientContext> =
                    ClientConfig::new().set("bootstrap.servers", &servers).create()?;
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

    /// Takes broker `id` down: connections are refused until
    /// [`Broker::broker_up`]. tansu is one broker: its process is killed.
    pub fn broker_down(&self, id: i32) -> anyhow::Result<()> {
        match self {
            Broker::Mock(cluster) => Ok(cluster.broker_down(id)?),
            Broker::Tansu(tansu) => tansu.down(),
            Broker::External(_) => anyhow::bail!("broker faults need the mock cluster or tansu"),
        }
    }

    /// Brings broker `id` back (tansu: a new process on the same sqlite file).
    pub fn broker_up(&self, id: i32) -> anyhow::Result<()> {
        match self {
            Broker::Mock(cluster) => Ok(cluster.broker_up(id)?),
            Broker::Tansu(tansu) => tansu.up(),
            Broker::External(_) => anyhow::bail!("broker faults need the mock cluster or tansu"),
        }
    }
}
