//! What users change at deploy time without re-rendering the template.

use pipeline_settings::mapping::CONSUMER_MAPPING;
use serde_json::json;

use super::model::Template;
use super::settings::DEFAULT_SHARDS;

pub const ON_DEMAND: &str = "StreamOnDemand";

/// The Kafka version AWS's "Supported Apache Kafka versions" page marks
/// "(Recommended)" (docs.aws.amazon.com/msk/latest/developerguide/
/// supported-kafka-versions.html, read 2026-11-27). The local stack runs the
/// same minor version (tools/kafka/pom.xml); a test keeps them together.
pub const RECOMMENDED_KAFKA_VERSION: &str = "3.8.x";

pub fn add(t: &mut Template) {
    let p = &mut t.parameters;
    p.insert(
        "ShardCount".into(),
        json!({"Type": "Number", "Default": DEFAULT_SHARDS, "MinValue": 0, "MaxValue": 64,
        "Description": "Kinesis shards; 0 makes the stream ON_DEMAND (billed per GB instead of per shard-hour). The brokers' storage is sized for the shards given to `infra template --storage-for-shards` (default 2)"}),
    );
    p.insert(
        "BrokerInstanceType".into(),
        json!({"Type": "String", "Default": "kafka.t3.small",
        "AllowedValues": ["kafka.t3.small", "kafka.m5.large", "kafka.m7g.large", "kafka.m7g.xlarge"],
        "Description": "MSK broker size (billed per broker-hour)"}),
    );
    p.insert(
        "KafkaVersion".into(),
        json!({"Type": "String", "Default": RECOMMENDED_KAFKA_VERSION,
        "AllowedValues": ["3.7.x", "3.8.x", "3.9.x"],
        "Description": "Kafka version on MSK (3.8.x is the one AWS recommends; the seed's 2.8.1 is out of support)"}),
    );
    p.insert(
        "BatchSize".into(),
        json!({"Type": "Number", "Default": CONSUMER_MAPPING.batch_size, "MinValue": 1, "MaxValue": 10000,
        "Description": "Records per consumer invocation (event source mapping BatchSize)"}),
    );
    p.insert(
        "BatchingWindowSeconds".into(),
        json!({"Type": "Number", "Default": CONSUMER_MAPPING.maximum_batching_window_seconds, "MinValue": 0, "MaxValue": 300,
        "Description": "MaximumBatchingWindowInSeconds of the event source mapping"}),
    );
    p.insert(
        "ScheduleRate".into(),
        json!({"Type": "String", "Default": "rate(1 minute)",
        "AllowedPattern": "^(rate\\(\\d+ (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$",
        "Description": "How often the producer runs (EventBridge rate or cron expression)"}),
    );
    p.insert(
        "RidesPerSchedule".into(),
        json!({"Type": "Number", "Default": 100, "MinValue": 1, "MaxValue": 100000,
        "Description": "Rides the producer emits per scheduled run"}),
    );
    p.insert(
        "LogRetentionDays".into(),
        json!({"Type": "Number", "Default": 14,
        "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 180, 365],
        "Description": "Retention of every log group of the stack"}),
    );
    p.insert(
        "ArtifactsBucket".into(),
        json!({"Type": "String", "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        "Description": "Bucket holding the function zips and the connector plugin (infra package uploads them)"}),
    );
    for (name, what) in [
        ("ProducerCodeKey", "producer.zip"),
        ("ConsumerCodeKey", "msk-consumer.zip"),
        ("TopicCreatorCodeKey", "topic-creator.zip"),
        ("ForwarderCodeKey", "kinesis-forwarder.zip"),
        ("ConnectorPluginKey", "the Camel aws-kinesis-source plugin zip"),
    ] {
        p.insert(
            name.into(),
            json!({"Type": "String", "MinLength": 1, "Description": format!("S3 key of {what} in ArtifactsBucket")}),
        );
    }
    t.conditions.insert(ON_DEMAND.into(), json!({"Fn::Equals": [{"Ref": "ShardCount"}, 0]}));
}
