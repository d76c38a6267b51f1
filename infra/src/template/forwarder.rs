//! The choice of Kinesis → MSK hop (`Bridge`: `camel`, the default, or
//! `lambda`) and the forwarder hop: the `kinesis-forwarder` function in the
//! private subnets, allowed out to the brokers' IAM port only, its Kinesis
//! event source mapping (`pipeline_settings::mapping::FORWARDER_MAPPING`, the settings
//! the local stack's Kinesis mapping runs), its log group and a role that
//! reads this stream and writes this topic only. The Camel resources carry
//! the other condition (`connector.rs`): exactly one hop is deployed.

use pipeline_settings::mapping::FORWARDER_MAPPING;
use serde_json::{json, Value};

use super::functions::{function, DEAD_LETTERS};
use super::iam::{logs_statement, role, vpc_eni_statements};
use super::kafka::{kafka_cluster_statement, log_group, TOPIC};
use super::model::{get_att, r#ref, Resource, Template};
use super::network::{BROKER_PORT, BROKER_SG, PRIVATE_SUBNETS, VPC};
use super::settings::Settings;
use super::stream::STREAM;

pub const BRIDGE_PARAMETER: &str = "Bridge";
pub const CAMEL: &str = "BridgeIsCamel";
pub const LAMBDA: &str = "BridgeIsLambda";
pub const FORWARDER: &str = "ForwarderFunction";
pub const FORWARDER_MAPPING_ID: &str = "ForwarderMapping";
pub const FORWARDER_SG: &str = "ForwarderSecurityGroup";

pub fn add(t: &mut Template, s: &Settings) {
    t.parameters.insert(
        BRIDGE_PARAMETER.into(),
        json!({"Type": "String", "Default": "camel", "AllowedValues": ["camel", "lambda"],
        "Description": "The Kinesis -> MSK hop: camel (the Camel aws-kinesis-source connector on MSK Connect) or lambda (the kinesis-forwarder function behind a Kinesis event source mapping; docs/forwarder.md)"}),
    );
    t.parameters.insert(
        "ForwarderParallelizationFactor".into(),
        json!({"Type": "Number", "Default": FORWARDER_MAPPING.parallelization_factor, "MinValue": 1, "MaxValue": 10,
        "Description": "Batches per shard the forwarder's mapping processes at once (1 keeps each shard in order; more keeps order per partition key)"}),
    );
    t.conditions.insert(CAMEL.into(), json!({"Fn::Equals": [r#ref(BRIDGE_PARAMETER), "camel"]}));
    t.conditions.insert(LAMBDA.into(), json!({"Fn::Equals": [r#ref(BRIDGE_PARAMETER), "lambda"]}));

    // Out to the brokers' IAM listener only: the function reads nothing else
    // (its credentials are in its environment, the mapping reads Kinesis).
    t.add(
        FORWARDER_SG,
        Resource::new(
            "AWS::EC2::SecurityGroup",
            json!({
                "GroupDescription": "kinesis-forwarder: out to the brokers IAM port only",
                "VpcId": r#ref(VPC),
                "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": BROKER_PORT, "ToPort": BROKER_PORT,
                    "DestinationSecurityGroupId": r#ref(BROKER_SG), "Description": "Kafka over TLS with IAM auth"}]
            }),
        )
        .when(LAMBDA),
    );
    t.add(
        "BrokersFromForwarder",
        Resource::new(
            "AWS::EC2::SecurityGroupIngress",
            json!({"GroupId": r#ref(BROKER_SG), "IpProtocol": "tcp", "FromPort": BROKER_PORT, "ToPort": BROKER_PORT,
                "SourceSecurityGroupId": r#ref(FORWARDER_SG), "Description": "kinesis-forwarder over TLS with IAM auth"}),
        )
        .when(LAMBDA),
    );

    t.add("ForwarderLogGroup", log_group("/aws/lambda/${AWS::StackName}-kinesis-forwarder").when(LAMBDA));
    // Lambda picks the destination's object keys.
    let on_failure_objects = super::model::sub(&format!("arn:${{AWS::Partition}}:s3:::${{{DEAD_LETTERS}}}/*"));
    t.add(
        "ForwarderRole",
        role(
            "lambda.amazonaws.com",
            [
                vec![
                    // What the Kinesis mapping reads with the function's role
                    // (AWS's AWSLambdaKinesisExecutionRole), on this stream only.
                    json!({"Effect": "Allow",
                        "Action": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards",
                                   "kinesis:GetShardIterator", "kinesis:GetRecords"],
                        "Resource": get_att(STREAM, "Arn")}),
                    // The S3 on-failure destination: the mapping writes with
                    // the function's role (Lambda guide, kinesis-on-failure-destination).
                    json!({"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": on_failure_objects}),
                    json!({"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": get_att(DEAD_LETTERS, "Arn")}),
                    kafka_cluster_statement(
                        &["kafka-cluster:Connect", "kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
                        &[&s.topic],
                        &[],
                    ),
                    logs_statement("ForwarderLogGroup"),
                    json!({"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"}),
                ],
                vpc_eni_statements().to_vec(),
            ]
            .concat(),
        )
        .when(LAMBDA),
    );
    let mut forwarder = function(
        "kinesis-forwarder",
        "ForwarderRole",
        "ForwarderCodeKey",
        "ForwarderLogGroup",
        FORWARDER_TIMEOUT_SECONDS,
        256,
        json!({
            "KAFKA_BOOTSTRAP_SERVERS": get_att(TOPIC, "BootstrapBrokersSaslIam"),
            "KAFKA_TOPIC": s.topic,
            "KAFKA_AUTH": "iam",
            "MAX_ACK_WAIT_MS": (FORWARDER_ACK_WAIT_SECONDS * 1000).to_string()
        }),
    )
    .when(LAMBDA)
    .skip_check(
        "CKV_AWS_116",
        "invoked synchronously by the Kinesis event source mapping, whose S3 on-failure destination takes discarded batches",
    );
    if let Some(props) = forwarder.properties.as_object_mut() {
        props.insert(
            "VpcConfig".into(),
            json!({"SubnetIds": PRIVATE_SUBNETS.map(r#ref), "SecurityGroupIds": [r#ref(FORWARDER_SG)]}),
        );
    }
    t.add(FORWARDER, forwarder);
    t.add(FORWARDER_MAPPING_ID, forwarder_mapping().when(LAMBDA).depends_on(TOPIC));
}

/// The function's timeout; it waits for Kafka's acknowledgements at most
/// [`FORWARDER_ACK_WAIT_SECONDS`] and answers before it.
pub const FORWARDER_TIMEOUT_SECONDS: u32 = 60;
pub const FORWARDER_ACK_WAIT_SECONDS: u32 = 30;
const _: () = assert!(FORWARDER_ACK_WAIT_SECONDS < FORWARDER_TIMEOUT_SECONDS);

/// The forwarder's `AWS::Lambda::EventSourceMapping`, from the one
/// definition the local stack's Kinesis mapping runs.
fn forwarder_mapping() -> Resource {
    let m = FORWARDER_MAPPING;
    let response_types: Value =
        if m.report_batch_item_failures { json!(["ReportBatchItemFailures"]) } else { json!([]) };
    Resource::new(
        "AWS::Lambda::EventSourceMapping",
        json!({
            "EventSourceArn": get_att(STREAM, "Arn"),
            "FunctionName": r#ref(FORWARDER),
            "StartingPosition": m.starting_position,
            "BatchSize": m.batch_size,
            "MaximumBatchingWindowInSeconds": m.maximum_batching_window_seconds,
            "ParallelizationFactor": r#ref("ForwarderParallelizationFactor"),
            "BisectBatchOnFunctionError": m.bisect_batch_on_function_error,
            "FunctionResponseTypes": response_types,
            "MaximumRetryAttempts": m.maximum_retry_attempts,
            "MaximumRecordAgeInSeconds": m.maximum_record_age_seconds,
            "DestinationConfig": {"OnFailure": {"Destination": get_att(DEAD_LETTERS, "Arn")}},
            "MetricsConfig": {"Metrics": ["EventCount"]}
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stuck_batch_reaches_the_destination_before_the_stream_deletes_it() {
        let retention = i32::try_from(super::super::stream::RETENTION_HOURS * 3_600).expect("hours");
        assert!(FORWARDER_MAPPING.maximum_record_age_seconds < retention);
        assert!((60..=604_800).contains(&FORWARDER_MAPPING.maximum_record_age_seconds), "AWS's range");
    }
}
