//! The MSK cluster (IAM auth, TLS in transit and between brokers, encrypted
//! at rest, broker logs in CloudWatch), its configuration (the seed's
//! settings, corrected), and the topic, created by a custom resource that
//! also returns the bootstrap brokers `AWS::MSK::Cluster` does not expose.

use serde_json::json;

use super::model::{get_att, r#ref, sub, Resource, Template};
use super::network::{BROKER_SG, CLIENT_SG, PRIVATE_EGRESS, PRIVATE_SUBNETS};
use super::settings::Settings;

pub const CLUSTER: &str = "KafkaCluster";
pub const TOPIC: &str = "RideTopic";

/// How long Kafka keeps rides: MSK's default, 7 days. Far past the
/// stream's 24 h, so a mapping stopped for a day (a bad deploy, an IAM
/// change, a disabled mapping) loses nothing; the rides table's TTL is
/// longer still (`pipeline_settings::rides_table`). A guard rule refuses less.
pub const RETENTION_HOURS: u32 = 168;
// Kafka keeps rides longer than the stream: checked when it builds.
const _: () = assert!(RETENTION_HOURS > super::stream::RETENTION_HOURS);

/// What one Kinesis shard can write at most (Kinesis quotas: 1 MiB/s or
/// 1,000 records/s per shard): with the Camel hop or the forwarder, what
/// reaches the topic is bounded by it.
pub const SHARD_WRITE_MIB_PER_SECOND: u64 = 1;

/// Each broker's storage: the stream writing flat out (every shard at its
/// write limit, for `settings.storage_sized_for_shards` shards) for the
/// whole retention, times the replicas each broker holds, plus a fifth for
/// segments not yet deleted and the indexes: the topic cannot fill its
/// disks before retention frees them. 2 shards, 2 replicas on 2 brokers:
/// 2 MiB/s × 604,800 s × 2 / 2 × 1.2 = 1,418 GiB a broker.
pub fn broker_storage_gib(s: &Settings) -> u64 {
    let written_mib =
        u64::from(s.storage_sized_for_shards) * SHARD_WRITE_MIB_PER_SECOND * u64::from(RETENTION_HOURS) * 3_600;
    let per_broker_mib = written_mib * u64::from(s.replication_factor) / u64::from(s.broker_count.max(1));
    (per_broker_mib * 6 / 5).div_ceil(1024).clamp(1, MSK_MAX_VOLUME_GIB)
}

/// The largest EBS volume MSK gives a broker (MSK quotas).
pub const MSK_MAX_VOLUME_GIB: u64 = 16_384;

/// The seed's cluster configuration, corrected: topics are created on
/// purpose with a replication factor the cluster can hold, writes survive
/// one broker down, and rides are kept 7 days (the seed's 8 hours would
/// delete rides a stopped mapping had not consumed).
pub fn server_properties(s: &Settings) -> String {
    [
        "auto.create.topics.enable=false".to_owned(),
        "delete.topic.enable=true".to_owned(),
        format!("log.retention.hours={RETENTION_HOURS}"),
        format!("default.replication.factor={}", s.replication_factor),
        format!("min.insync.replicas={}", s.min_insync_replicas()),
        format!("num.partitions={}", s.partitions),
    ]
    .join("\n")
}

pub fn add(t: &mut Template, s: &Settings) {
    t.add(
        "KafkaConfiguration",
        Resource::new(
            "AWS::MSK::Configuration",
            json!({
        "Name": sub("${AWS::StackName}-carrides"),
        "Description": "carrides cluster settings",
        "ServerProperties": server_properties(s)}),
        ),
    );
    t.add("BrokerLogGroup", log_group("/${AWS::StackName}/msk-brokers"));
    t.add(CLUSTER, Resource::new("AWS::MSK::Cluster", json!({
        "ClusterName": sub("${AWS::StackName}-carrides"),
        "KafkaVersion": r#ref("KafkaVersion"),
        "NumberOfBrokerNodes": s.broker_count,
        "BrokerNodeGroupInfo": {
            "InstanceType": r#ref("BrokerInstanceType"),
            "ClientSubnets": PRIVATE_SUBNETS.map(r#ref),
            "SecurityGroups": [r#ref(BROKER_SG)],
            "StorageInfo": {"EBSStorageInfo": {"VolumeSize": broker_storage_gib(s)}}},
        "ClientAuthentication": {"Sasl": {"Iam": {"Enabled": true}}, "Unauthenticated": {"Enabled": false}},
        "EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": true}},
        // The configuration's latest revision, so an edit to its properties
        // reaches the brokers (a literal 1 would pin the first forever).
        "ConfigurationInfo": {"Arn": get_att("KafkaConfiguration", "Arn"),
            "Revision": get_att("KafkaConfiguration", "LatestRevision.Revision")},
        "LoggingInfo": {"BrokerLogs": {"CloudWatchLogs": {"Enabled": true, "LogGroup": r#ref("BrokerLogGroup")}}},
        "EnhancedMonitoring": "PER_TOPIC_PER_PARTITION"
    })).disposable()
      .skip_check("CKV_AWS_81", "encrypted at rest with the AWS-managed MSK key; a customer key adds cost to a demo"));

    // The topic creator runs in the private subnets and answers CloudFormation
    // through the NAT: the topic depends on that route and the subnets'
    // associations so a stack delete (or rollback) removes them only after
    // the function has answered. `ServiceTimeout` bounds the wait for an
    // answer (CloudFormation's default is an hour).
    let mut topic = Resource::new(
        "Custom::KafkaTopic",
        json!({
        "ServiceToken": get_att("TopicCreatorFunction", "Arn"),
        "ServiceTimeout": TOPIC_SERVICE_TIMEOUT_SECONDS,
        "ClusterArn": r#ref(CLUSTER),
        "Topic": s.topic,
        "Partitions": s.partitions,
        "ReplicationFactor": s.replication_factor}),
    );
    for egress in PRIVATE_EGRESS {
        topic = topic.depends_on(egress);
    }
    t.add(TOPIC, topic);
}

/// How long CloudFormation waits for the topic creator's answer: its own
/// timeout plus Lambda's asynchronous retries' worth of margin.
pub const TOPIC_SERVICE_TIMEOUT_SECONDS: u32 = 300;

/// A log group deleted with the stack, with the stack's retention.
pub fn log_group(name: &str) -> Resource {
    Resource::new(
        "AWS::Logs::LogGroup",
        json!({"LogGroupName": sub(name), "RetentionInDays": r#ref("LogRetentionDays")}),
    )
    .disposable()
    .skip_check(
        "CKV_AWS_158",
        "CloudWatch Logs encrypts at rest with its own key; a customer KMS key adds cost to a demo",
    )
}

/// Kafka actions a client role may take, on this cluster and its topics only.
pub fn kafka_cluster_statement(actions: &[&str], topics: &[&str], groups: &[&str]) -> serde_json::Value {
    let mut resources = vec![r#ref(CLUSTER)];
    for topic in topics {
        resources.push(sub(&format!("arn:${{AWS::Partition}}:kafka:${{AWS::Region}}:${{AWS::AccountId}}:topic/${{AWS::StackName}}-carrides/*/{topic}")));
    }
    for group in groups {
        resources.push(sub(&format!("arn:${{AWS::Partition}}:kafka:${{AWS::Region}}:${{AWS::AccountId}}:group/${{AWS::StackName}}-carrides/*/{group}")));
    }
    json!({"Effect": "Allow", "Action": actions, "Resource": resources})
}

pub const CLIENT_SECURITY_GROUP: &str = CLIENT_SG;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_brokers_hold_the_stream_flat_out_for_the_whole_retention() {
        assert_eq!(broker_storage_gib(&Settings::default()), 1_418);
        let more =
            Settings { storage_sized_for_shards: 4, broker_count: 4, replication_factor: 3, ..Settings::default() };
        // 4 MiB/s × 604,800 s × 3 / 4 × 1.2 = 2,126.25 GiB.
        assert_eq!(broker_storage_gib(&more), 2_127);
        let huge = Settings { storage_sized_for_shards: 64, ..Settings::default() };
        assert_eq!(broker_storage_gib(&huge), MSK_MAX_VOLUME_GIB, "capped at what MSK allows");
    }
}
