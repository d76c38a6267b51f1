//! The Kafka side of the local stack: Apache Kafka itself (KRaft, one node,
//! from Maven Central) by default; librdkafka's mock cluster
//! (`LOCAL_KAFKA=mock`: an imitation, for machines without Java); or any
//! broker named by `KAFKA_BOOTSTRAP_SERVERS`.
//!
//! The mock cluster keeps at most 5 MiB or 100k messages per partition and
//! silently drops older ones, so the local topic gets enough partitions for a
//! demo's volume (about 2 KiB per ride with headers and offsets: 8 partitions
//! hold some 20,000 rides); Apache Kafka has no such cap.
//!
//! [`apache`] runs the real broker; [`connect`] runs Kafka Connect with the
//! Camel plugin on it (the Camel hop).

pub mod apache;
pub mod connect;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::ClientConfig;

use apache::ApacheKafka;

pub enum Broker {
    Kafka(ApacheKafka),
    Mock(MockCluster<'static, DefaultProducerContext>),
    External(String),
}

impl Broker {
    /// `KAFKA_BOOTSTRAP_SERVERS` when set; the mock cluster with `brokers`
    /// brokers when `LOCAL_KAFKA=mock`; else Apache Kafka storing in `data_dir`.
    pub fn from_env(brokers: i32, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        if let Some(servers) = std::env::var("KAFKA_BOOTSTRAP_SERVERS").ok().filter(|s| !s.trim().is_empty()) {
            return Ok(Broker::External(servers));
        }
        match std::env::var("LOCAL_KAFKA").unwrap_or_default().as_str() {
            "" | "kafka" => Self::apache_kafka(data_dir),
            "mock" => Ok(Broker::Mock(MockCluster::new(brokers)?)),
            other => anyhow::bail!(
                "LOCAL_KAFKA={other:?}: use `kafka` (default) or `mock` (an imitation, for machines without Java)"
            ),
        }
    }

    /// Apache Kafka with its log directory under `data_dir`.
    pub fn apache_kafka(data_dir: &std::path::Path) -> anyhow::Result<Self> {
        Ok(Broker::Kafka(ApacheKafka::start(&data_dir.join("kafka"))?))
    }

    pub fn mock(brokers: i32) -> anyhow::Result<Self> {
        Ok(Broker::Mock(MockCluster::new(brokers)?))
    }

    pub fn bootstrap_servers(&self) -> String {
        match self {
            Broker::Kafka(kafka) => kafka.bootstrap_servers(),
            Broker::Mock(cluster) => cluster.bootstrap_servers(),
            Broker::External(servers) => servers.clone(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Broker::Kafka(k) => format!("Apache Kafka {} (KRaft) at {}", ApacheKafka::version(), k.bootstrap_servers()),
            Broker::Mock(_) => {
                format!("librdkafka mock cluster at {} (an imitation of a broker)", self.bootstrap_servers())
            }
            Broker::External(s) => format!("Kafka at {s}"),
        }
    }

    /// Creates `topic` (mock: directly; external: through the admin API, an
    /// existing topic is fine).
    pub async fn create_topic(&self, topic: &str, partitions: i32) -> anyhow::Result<()> {
        match self {
            Broker::Mock(cluster) => Ok(cluster.create_topic(topic, partitions, 1)?),
            Broker::Kafka(_) | Broker::External(_) => {
                let servers = self.bootstrap_servers();
                let admin: AdminClient<DefaultClientContext> =
                    ClientConfig::new().set("bootstrap.servers", &servers).create()?;
                // Room for a 1 MiB Kinesis record and its headers (MSK's
                // default is about 1 MB, as Kafka's).
                let max_message_bytes = pipeline_settings::topic::MAX_MESSAGE_BYTES.to_string();
                let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1))
                    .set("max.message.bytes", &max_message_bytes);
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

    /// Records in `topic`: the sum of its partitions' high watermarks (blocking).
    pub fn records_in(&self, topic: &str) -> anyhow::Result<u64> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let client: BaseConsumer = ClientConfig::new().set("bootstrap.servers", self.bootstrap_servers()).create()?;
        let timeout = std::time::Duration::from_secs(5);
        let metadata = client.fetch_metadata(Some(topic), timeout)?;
        let mut total = 0;
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let (_, high) = client.fetch_watermarks(topic, partition.id(), timeout)?;
            total += u64::try_from(high).unwrap_or(0);
        }
        Ok(total)
    }

    /// Takes broker `id` down: connections are refused until
    /// [`Broker::broker_up`]. Apache Kafka is one broker: its process is
    /// killed.
    pub fn broker_down(&self, id: i32) -> anyhow::Result<()> {
        match self {
            Broker::Mock(cluster) => Ok(cluster.broker_down(id)?),
            Broker::Kafka(kafka) => kafka.down(),
            Broker::External(_) => anyhow::bail!("broker faults need a broker the stack started"),
        }
    }

    /// Freezes the broker (SIGSTOP): connections stay open, nothing answers.
    pub fn freeze(&self) -> anyhow::Result<()> {
        match self {
            Broker::Kafka(kafka) => kafka.freeze(),
            _ => anyhow::bail!("freezing needs the Apache Kafka broker the stack started"),
        }
    }

    /// Resumes a frozen broker (SIGCONT).
    pub fn thaw(&self) -> anyhow::Result<()> {
        match self {
            Broker::Kafka(kafka) => kafka.thaw(),
            _ => anyhow::bail!("thawing needs the Apache Kafka broker the stack started"),
        }
    }

    /// Brings broker `id` back (Apache Kafka: a new process on the same log
    /// directory).
    pub fn broker_up(&self, id: i32) -> anyhow::Result<()> {
        match self {
            Broker::Mock(cluster) => Ok(cluster.broker_up(id)?),
            Broker::Kafka(kafka) => kafka.up(),
            Broker::External(_) => anyhow::bail!("broker faults need a broker the stack started"),
        }
    }
}
