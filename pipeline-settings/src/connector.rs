//! The Camel aws-kinesis-source connector as deployed: its plugin's Maven
//! coordinates, the Kafka Connect line it runs on, and its properties. One
//! definition that `infra`'s template renders (`ConnectorConfiguration`) and
//! the local Kafka Connect worker runs, so the settings the tests prove are
//! the ones MSK Connect gets; `local` adds only what a loopback run needs
//! ([`local_overrides`]), and prints that difference.
//!
//! Why each property is what it is (measured on the real connector, 4.18.0,
//! Kafka Connect 3.7.2; see docs/connector.md):
//! - `ByteArrayConverter`: 4.18.0 hands Connect each record's data as a
//!   `byte[]`; this converter writes it unchanged (binary too), where the
//!   seed's `StringConverter` wrote `[B@47c7c48` for every ride.
//! - `camel.component.aws2-kinesis.maxResultsPerRequest`: the component reads
//!   one record per `GetRecords` unless raised (the kamelet has no such
//!   property).
//! - `camel.component.seda.queueSize`: the task hands records from the
//!   Kinesis consumer to Kafka Connect through an in-memory `seda:end` queue
//!   that throws ("Queue full") and drops the record when full; its endpoint
//!   is created before Camel applies `camel.component.seda.defaultBlockWhenFull`,
//!   so blocking cannot be configured, only the queue's size (applied when
//!   the queue is created, at start).

/// Maven coordinates of an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coordinates {
    pub group: &'static str,
    pub artifact: &'static str,
    pub version: &'static str,
    pub classifier: &'static str,
    pub extension: &'static str,
}

impl Coordinates {
    /// The file's name in a Maven repository.
    pub fn file_name(&self) -> String {
        let classifier = if self.classifier.is_empty() { String::new() } else { format!("-{}", self.classifier) };
        format!("{}-{}{classifier}.{}", self.artifact, self.version, self.extension)
    }

    /// The file's path in a Maven repository's layout.
    pub fn path(&self) -> String {
        format!("{}/{}/{}/{}", self.group.replace('.', "/"), self.artifact, self.version, self.file_name())
    }
}

impl std::fmt::Display for Coordinates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}:{}:{}", self.group, self.artifact, self.version, self.extension, self.classifier)
    }
}

/// The connector plugin: Apache Camel Kafka Connector's ready package (every
/// runtime jar), the layout Kafka Connect's `plugin.path` takes and, as a
/// ZIP, MSK Connect's custom plugin.
pub const PLUGIN: Coordinates = Coordinates {
    group: "org.apache.camel.kafkaconnector",
    artifact: "camel-aws-kinesis-source-kafka-connector",
    version: "4.18.0",
    classifier: "package",
    extension: "tar.gz",
};

/// The Kafka Connect version the local worker runs (`tools/connect/pom.xml`):
/// the newest 3.7 release, the line MSK Connect offers for Java 17 plugins.
pub const KAFKA_CONNECT_VERSION: &str = "3.7.2";

/// `KafkaConnectVersion` of the MSK Connect connector: "MSK Connect uses
/// Kafka Connect versions 2.7.1 or 3.7.x" (MSK developer guide), and Camel 4
/// needs Java 17, which only 3.7.x runs.
pub const MSK_CONNECT_VERSION: &str = "3.7.x";

pub const CONNECTOR_CLASS: &str =
    "org.apache.camel.kafkaconnector.awskinesissource.CamelAwskinesissourceSourceConnector";

/// Records per `GetRecords` call and shard (Kinesis allows up to 10,000).
pub const MAX_RESULTS_PER_REQUEST: u32 = 1_000;
/// Milliseconds between the Kinesis consumer's polls: each poll makes one
/// `GetRecords` call per shard, so 200 ms stays within Kinesis's 5 calls
/// per second and shard, and reads up to 5,000 records/s per shard.
pub const POLL_DELAY_MS: u32 = 200;
/// Slots of the task's `seda:end` hand-off: how much the Kinesis consumer
/// may read ahead of Kafka Connect before records are dropped (at the most
/// 5,000 records/s per shard, 100,000 slots are 10 s of a 2-shard stream
/// with Kafka stalled; a ride takes about 1 KiB of heap there).
pub const HANDOFF_QUEUE_SIZE: u32 = 100_000;

/// A property's value: fixed, or one the deployment supplies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Fixed(String),
    /// The stream's region (`AWS::Region` in the template).
    Region,
    /// The stream's name (`Ref` of the stream in the template).
    StreamName,
}

impl Value {
    fn fixed(value: impl ToString) -> Self {
        Value::Fixed(value.to_string())
    }
}

/// The connector's properties (MSK Connect's `ConnectorConfiguration`), in a
/// stable order, for `topic`.
pub fn properties(topic: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("connector.class", Value::fixed(CONNECTOR_CLASS)),
        // Each task reads every shard (measured: 2 tasks delivered every
        // ride twice), so the connector does not scale out by tasks.
        ("tasks.max", Value::fixed(1)),
        ("topics", Value::fixed(topic)),
        ("key.converter", Value::fixed("org.apache.kafka.connect.storage.StringConverter")),
        ("value.converter", Value::fixed("org.apache.kafka.connect.converters.ByteArrayConverter")),
        ("camel.kamelet.aws-kinesis-source.stream", Value::StreamName),
        ("camel.kamelet.aws-kinesis-source.region", Value::Region),
        // The worker's default chain: MSK Connect's service execution role
        // on AWS, the environment's credentials locally.
        ("camel.kamelet.aws-kinesis-source.useDefaultCredentialsProvider", Value::fixed(true)),
        ("camel.kamelet.aws-kinesis-source.delay", Value::fixed(POLL_DELAY_MS)),
        ("camel.component.aws2-kinesis.maxResultsPerRequest", Value::fixed(MAX_RESULTS_PER_REQUEST)),
        ("camel.component.seda.queueSize", Value::fixed(HANDOFF_QUEUE_SIZE)),
        // The Kafka record's key: the Kinesis partition key (the order id),
        // so one order's events share a Kafka partition.
        ("camel.source.camelMessageHeaderKey", Value::fixed("CamelAwsKinesisPartitionKey")),
        // Records taken from the hand-off per poll, and awaiting Kafka's ack.
        ("camel.source.maxBatchPollSize", Value::fixed(5_000)),
        ("camel.source.maxNotCommittedRecords", Value::fixed(20_000)),
    ]
}

/// The Kinesis client's wire format switch: the Java SDK speaks CBOR to
/// Kinesis unless this is `false` (AWS answers both; an emulator may not).
pub const CBOR_ENABLED: &str = "camel.component.aws2-kinesis.cborEnabled";

/// A property only a loopback run sets: key, value, and why.
pub type LocalOverride = (&'static str, String, &'static str);

/// What every loopback run adds to [`properties`]: the emulator's endpoint.
/// Credentials come from the worker's environment (dummy ones), not from
/// properties; what a given emulator needs besides comes with it
/// (`local::kinesis::EmulatorKind::connector_overrides`).
pub fn local_overrides(kinesis_endpoint: &str) -> Vec<LocalOverride> {
    vec![
        ("camel.kamelet.aws-kinesis-source.overrideEndpoint", "true".into(), "the Kinesis emulator on loopback"),
        ("camel.kamelet.aws-kinesis-source.uriEndpointOverride", kinesis_endpoint.into(), "its endpoint"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_path_follows_the_maven_layout() {
        assert_eq!(
            PLUGIN.path(),
            "org/apache/camel/kafkaconnector/camel-aws-kinesis-source-kafka-connector/4.18.0/camel-aws-kinesis-source-kafka-connector-4.18.0-package.tar.gz"
        );
    }

    #[test]
    fn local_overrides_never_replace_a_deployed_property() {
        let deployed: Vec<_> = properties("t").into_iter().map(|(k, _)| k).collect();
        for key in local_overrides("http://127.0.0.1:1").into_iter().map(|(key, _, _)| key).chain([CBOR_ENABLED]) {
            assert!(!deployed.contains(&key), "{key} is deployed: a local run must not change it");
        }
    }
}
