//! The three Rust Lambdas (provided.al2023, arm64, JSON logs with retention),
//! the consumer's MSK event source mapping, and the dead-letter bucket.

use pipeline_settings::mapping::CONSUMER_MAPPING;
use serde_json::{json, Value};

use super::iam::{logs_statement, role, vpc_eni_statements};
use super::kafka::{kafka_cluster_statement, log_group, CLUSTER, TOPIC};
use super::model::{get_att, r#ref, sub, Resource, Template};
use super::network::{BROKER_SG, CLIENT_SG, PRIVATE_SUBNETS, S3_ENDPOINT};
use super::rides_table::RIDES_TABLE;
use super::settings::Settings;
use super::stream::STREAM;

pub const PRODUCER: &str = "ProducerFunction";
pub const CONSUMER: &str = "ConsumerFunction";
pub const TOPIC_CREATOR: &str = "TopicCreatorFunction";
pub const DEAD_LETTERS: &str = "DeadLetterBucket";

pub fn function(
    name: &str,
    role: &str,
    code_key: &str,
    log_group: &str,
    timeout: u32,
    memory: u32,
    env: Value,
) -> Resource {
    Resource::new("AWS::Lambda::Function", json!({
        "FunctionName": sub(&format!("${{AWS::StackName}}-{name}")),
        "Runtime": "provided.al2023",
        "Architectures": ["arm64"],
        "Handler": "bootstrap",
        "Code": {"S3Bucket": r#ref("ArtifactsBucket"), "S3Key": r#ref(code_key)},
        "Role": get_att(role, "Arn"),
        "Timeout": timeout,
        "MemorySize": memory,
        "Environment": {"Variables": env},
        "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN", "LogGroup": r#ref(log_group)},
        "TracingConfig": {"Mode": "Active"}
    }))
    .skip_check("CKV_AWS_173", "the environment holds names and switches, no secrets")
    .skip_check("CKV_AWS_115", "reserved concurrency would fail on new accounts whose whole limit is 10; the schedule and the mapping bound concurrency")
}

/// The consumer's environment: its dead-letter bucket, the rides table and
/// how long a ride is kept there, and what its mapping's settings need of it
/// (`pipeline_settings::mapping`).
fn consumer_environment() -> Value {
    let mut env = json!({
        "DEAD_LETTER_BUCKET": r#ref(DEAD_LETTERS),
        "DEAD_LETTER_PREFIX": "dead-letters/",
        "RIDES_TABLE": r#ref(RIDES_TABLE),
        "RIDE_TTL_DAYS": pipeline_settings::rides_table::DEFAULT_TTL_DAYS.to_string()
    });
    if let Some(vars) = env.as_object_mut() {
        for (key, value) in CONSUMER_MAPPING.consumer_environment() {
            vars.insert(key.to_owned(), Value::from(value));
        }
    }
    env
}

pub fn add(t: &mut Template, s: &Settings) {
    t.add("ProducerLogGroup", log_group("/aws/lambda/${AWS::StackName}-producer"));
    t.add("ProducerRole", role("lambda.amazonaws.com", vec![
        json!({"Effect": "Allow", "Action": ["kinesis:PutRecords", "kinesis:DescribeStreamSummary"], "Resource": get_att(STREAM, "Arn")}),
        logs_statement("ProducerLogGroup"),
        json!({"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"}),
    ]));
    t.add(
        PRODUCER,
        function(
            "producer",
            "ProducerRole",
            "ProducerCodeKey",
            "ProducerLogGroup",
            60,
            256,
            json!({
        "STREAM_ARN": get_att(STREAM, "Arn"),
        "RIDES_PER_SCHEDULE": r#ref("RidesPerSchedule")}),
        )
        .skip_check(
            "CKV_AWS_116",
            "a failed scheduled run is superseded by the next one and is visible in the RidesFailed metric",
        )
        .skip_check(
            "CKV_AWS_117",
            "talks only to Kinesis over its public endpoint; a VPC would add a NAT dependency for nothing",
        ),
    );

    t.add(DEAD_LETTERS, Resource::new("AWS::S3::Bucket", json!({
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
        "VersioningConfiguration": {"Status": "Enabled"},
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "LifecycleConfiguration": {"Rules": [{"Id": "expire-old-dead-letters", "Status": "Enabled", "ExpirationInDays": 90,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]}
    })).retained()
      .skip_check("CKV_AWS_18", "access logging would need a second bucket; dead letters are written only by the consumer role")
      .skip_check("CKV_AWS_145", "SSE-S3 encryption; a customer KMS key adds cost to a demo"));

    // Dead letters hold ride data: refused over plain HTTP (S3 user guide,
    // "Security best practices": deny aws:SecureTransport false).
    t.add("DeadLetterBucketPolicy", Resource::new("AWS::S3::BucketPolicy", json!({
        "Bucket": r#ref(DEAD_LETTERS),
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [get_att(DEAD_LETTERS, "Arn"), sub(&format!("arn:${{AWS::Partition}}:s3:::${{{DEAD_LETTERS}}}/*"))],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    })));

    t.add("ConsumerLogGroup", log_group("/aws/lambda/${AWS::StackName}-msk-consumer"));
    let dead_letter_objects = sub(&format!("arn:${{AWS::Partition}}:s3:::${{{DEAD_LETTERS}}}/*"));
    // The mapping uses the function's role: for an S3 on-failure destination
    // AWS's "Capturing discarded batches for Amazon MSK and self-managed
    // Apache Kafka" requires s3:PutObject on the objects and s3:ListBucket on
    // the bucket (the consumer's own dead letters need PutObject only).
    t.add("ConsumerRole", role("lambda.amazonaws.com", [vec![
        json!({"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": dead_letter_objects}),
        json!({"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": get_att(DEAD_LETTERS, "Arn")}),
        // Conditional puts only: a stored ride is never updated or deleted by the consumer.
        json!({"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": get_att(RIDES_TABLE, "Arn")}),
        json!({"Effect": "Allow", "Action": ["kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"], "Resource": r#ref(CLUSTER)}),
        kafka_cluster_statement(
            &["kafka-cluster:Connect", "kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup", "kafka-cluster:DescribeTopic",
              "kafka-cluster:ReadData", "kafka-cluster:DescribeClusterDynamicConfiguration"],
            &[&s.topic], &[&s.consumer_group_id]),
        logs_statement("ConsumerLogGroup"),
        json!({"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"}),
    ], vpc_eni_statements().to_vec()].concat()));
    t.add(
        CONSUMER,
        function(
            "msk-consumer",
            "ConsumerRole",
            "ConsumerCodeKey",
            "ConsumerLogGroup",
            pipeline_settings::mapping::CONSUMER_TIMEOUT_SECONDS,
            512,
            consumer_environment(),
        )
        .skip_check(
            "CKV_AWS_116",
            "invoked synchronously by the event source mapping, whose on-failure destination takes discarded batches",
        )
        .skip_check(
            "CKV_AWS_117",
            "the mapping's pollers run in the VPC; the function writes to S3 and DynamoDB over their public endpoints",
        ),
    );

    // One definition with the local stack's poller (pipeline_settings::mapping).
    let mapping = CONSUMER_MAPPING;
    t.add(
        "ConsumerMapping",
        Resource::new(
            "AWS::Lambda::EventSourceMapping",
            json!({
                "EventSourceArn": r#ref(CLUSTER),
                "FunctionName": r#ref(CONSUMER),
                "Topics": [s.topic],
                "StartingPosition": mapping.starting_position,
                "BatchSize": r#ref("BatchSize"),
                "MaximumBatchingWindowInSeconds": r#ref("BatchingWindowSeconds"),
                "AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": s.consumer_group_id},
                "ProvisionedPollerConfig": {"MinimumPollers": mapping.minimum_pollers, "MaximumPollers": mapping.maximum_pollers},
                "FunctionResponseTypes": if mapping.report_batch_item_failures { json!(["ReportBatchItemFailures"]) } else { json!([]) },
                "BisectBatchOnFunctionError": mapping.bisect_batch_on_function_error,
                "MaximumRetryAttempts": mapping.maximum_retry_attempts,
                "DestinationConfig": {"OnFailure": {"Destination": get_att(DEAD_LETTERS, "Arn")}},
                // Its event and error counts (polled, invoked, dropped, sent on
                // failure), beside the OffsetLag Lambda publishes anyway.
                "MetricsConfig": {"Metrics": ["EventCount", "ErrorCount"]}
            }),
        )
        .depends_on(TOPIC)
        .depends_on(S3_ENDPOINT),
    );

    t.add("TopicCreatorLogGroup", log_group("/aws/lambda/${AWS::StackName}-topic-creator"));
    t.add("TopicCreatorRole", role("lambda.amazonaws.com", [vec![
        json!({"Effect": "Allow", "Action": ["kafka:GetBootstrapBrokers", "kafka:DescribeClusterV2"], "Resource": r#ref(CLUSTER)}),
        kafka_cluster_statement(&["kafka-cluster:Connect", "kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic"], &[&s.topic], &[]),
        logs_statement("TopicCreatorLogGroup"),
        json!({"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"}),
    ], vpc_eni_statements().to_vec()].concat()));
    let mut creator = function(
        "topic-creator",
        "TopicCreatorRole",
        "TopicCreatorCodeKey",
        "TopicCreatorLogGroup",
        300,
        256,
        json!({}),
    );
    if let Some(props) = creator.properties.as_object_mut() {
        props.insert(
            "VpcConfig".into(),
            json!({"SubnetIds": PRIVATE_SUBNETS.map(r#ref), "SecurityGroupIds": [r#ref(CLIENT_SG)]}),
        );
    }
    t.add(
        TOPIC_CREATOR,
        creator.skip_check(
            "CKV_AWS_116",
            "a CloudFormation custom resource, invoked synchronously; failures fail the deployment",
        ),
    );
    let _ = BROKER_SG;
}
