//! The pipeline on one machine, over the real protocols: a Kinesis emulator
//! (kinesalite) on loopback, Apache Kafka, Kafka Connect with the real Camel
//! connector, and the pieces the AWS-managed parts are replaced with.
//! Orchestration only: no business logic lives here.

pub mod dynamodb;
pub mod esm;
pub mod kafka;
pub mod kinesis;
pub mod lambda_watch;
pub mod moto;
pub mod pace;
pub mod process;
pub mod proxy;
pub mod report;
pub mod schedule;
pub mod scratch;
pub mod signals;
pub mod stack;
pub mod stalled;
pub mod state;
pub mod tools;

/// Region and dummy credentials every local client uses: nothing here ever
/// talks to AWS, and nothing secret is needed on loopback.
pub const LOCAL_REGION: &str = "us-east-1";
pub const LOCAL_ACCESS_KEY: &str = "local";
pub const LOCAL_SECRET_KEY: &str = "local";

/// The dummy credentials every local SDK client signs with (one type for
/// every AWS SDK crate: `aws-credential-types`).
pub fn local_credentials() -> aws_sdk_kinesis::config::Credentials {
    aws_sdk_kinesis::config::Credentials::new(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, None, None, "local-stack")
}

/// The SDK configuration every local client starts from: the local region
/// and dummy credentials, on a loopback `endpoint`. A service's client is
/// `Client::new(&loopback_sdk_config(endpoint))`, or its config builder
/// `from(&…)` where it adds settings of its own (retries, timeouts).
pub fn loopback_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(LOCAL_REGION))
        .credentials_provider(aws_sdk_kinesis::config::SharedCredentialsProvider::new(local_credentials()))
        .endpoint_url(endpoint)
        .build()
}
