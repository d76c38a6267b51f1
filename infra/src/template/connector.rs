//! The Camel aws-kinesis-source connector on MSK Connect: the plugin from the
//! artifacts bucket (`pipeline_settings::connector::PLUGIN`, Kafka Connect 3.7.x), the
//! properties of `pipeline_settings::connector::properties` (the ones the local Kafka
//! Connect worker runs in the tests), IAM auth and TLS to the cluster, worker
//! logs in CloudWatch, and a role that reads this stream, writes this topic
//! and Connect's internal topics only. Deployed when `Bridge` is `camel`
//! (the default; `forwarder.rs` has the other hop).

use serde_json::json;

use super::forwarder::CAMEL;
use super::iam::role_with_trust_condition;
use super::kafka::{kafka_cluster_statement, log_group, TOPIC};
use super::model::{get_att, r#ref, sub, Resource, Template};
use super::network::{CLIENT_SG, PRIVATE_SUBNETS};
use super::settings::Settings;
use super::stream::STREAM;

pub fn add(t: &mut Template, s: &Settings) {
    t.add(
        "ConnectorPlugin",
        Resource::new(
            "AWS::KafkaConnect::CustomPlugin",
            json!({
        "Name": sub("${AWS::StackName}-camel-aws-kinesis-source"),
        "ContentType": "ZIP",
        "Location": {"S3Location": {
            "BucketArn": sub("arn:${AWS::Partition}:s3:::${ArtifactsBucket}"),
            "FileKey": r#ref("ConnectorPluginKey")}}}),
        )
        .when(CAMEL),
    );
    t.add("ConnectorLogGroup", log_group("/${AWS::StackName}/connector").when(CAMEL));
    let connect_topics = ["__amazon_msk_connect_*"];
    // Only MSK Connect acting for this account's connector of this stack may
    // assume the role (AWS's MSK Connect service execution role example
    // carries the same aws:SourceAccount / aws:SourceArn condition). Worker
    // log delivery to CloudWatch is set up with the deployer's permissions,
    // not this role's, so the role has no logs: statement (see
    // infra/deployer-policy.json).
    let trust = json!({
        "StringEquals": {"aws:SourceAccount": r#ref("AWS::AccountId")},
        "ArnLike": {"aws:SourceArn": sub("arn:${AWS::Partition}:kafkaconnect:${AWS::Region}:${AWS::AccountId}:connector/${AWS::StackName}-kinesis-source/*")}
    });
    t.add("ConnectorRole", role_with_trust_condition("kafkaconnect.amazonaws.com", Some(trust), vec![
        json!({"Effect": "Allow",
            "Action": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"],
            "Resource": get_att(STREAM, "Arn")}),
        kafka_cluster_statement(
            &["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:DescribeTopic", "kafka-cluster:WriteData",
              "kafka-cluster:ReadData", "kafka-cluster:CreateTopic", "kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"],
            &[&s.topic, connect_topics[0]], &["connect-*", "__amazon_msk_connect_*"]),
    ]).when(CAMEL));
    let properties: serde_json::Map<String, serde_json::Value> = pipeline_settings::connector::properties(&s.topic)
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                pipeline_settings::connector::Value::Fixed(v) => json!(v),
                pipeline_settings::connector::Value::Region => r#ref("AWS::Region"),
                pipeline_settings::connector::Value::StreamName => r#ref(STREAM),
            };
            (key.to_owned(), value)
        })
        .collect();
    t.add("Connector", Resource::new("AWS::KafkaConnect::Connector", json!({
        "ConnectorName": sub("${AWS::StackName}-kinesis-source"),
        "KafkaConnectVersion": pipeline_settings::connector::MSK_CONNECT_VERSION,
        "Capacity": {"ProvisionedCapacity": {"McuCount": 1, "WorkerCount": 1}},
        "ConnectorConfiguration": properties,
        "KafkaCluster": {"ApacheKafkaCluster": {
            "BootstrapServers": get_att(TOPIC, "BootstrapBrokersSaslIam"),
            "Vpc": {"SecurityGroups": [r#ref(CLIENT_SG)], "Subnets": PRIVATE_SUBNETS.map(r#ref)}}},
        "KafkaClusterClientAuthentication": {"AuthenticationType": "IAM"},
        "KafkaClusterEncryptionInTransit": {"EncryptionType": "TLS"},
        "LogDelivery": {"WorkerLogDelivery": {"CloudWatchLogs": {"Enabled": true, "LogGroup": r#ref("ConnectorLogGroup")}}},
        "Plugins": [{"CustomPlugin": {"CustomPluginArn": get_att("ConnectorPlugin", "CustomPluginArn"), "Revision": 1}}],
        "ServiceExecutionRoleArn": get_att("ConnectorRole", "Arn")
    })).depends_on("PrivateDefaultRoute").when(CAMEL));
}
