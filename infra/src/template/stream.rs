//! The Kinesis stream: KMS-encrypted, provisioned (ShardCount) or on demand
//! (ShardCount = 0), 24 h retention.

use serde_json::json;

use super::model::{r#ref, sub, Resource, Template};
use super::parameters::ON_DEMAND;

pub const STREAM: &str = "RideStream";

/// How long the stream keeps a record.
pub const RETENTION_HOURS: u32 = 24;

pub fn add(t: &mut Template) {
    t.add(
        STREAM,
        Resource::new(
            "AWS::Kinesis::Stream",
            json!({
                "Name": sub("${AWS::StackName}-carrides"),
                "RetentionPeriodHours": RETENTION_HOURS,
                "StreamModeDetails": {"StreamMode": {"Fn::If": [ON_DEMAND, "ON_DEMAND", "PROVISIONED"]}},
                "ShardCount": {"Fn::If": [ON_DEMAND, {"Ref": "AWS::NoValue"}, r#ref("ShardCount")]},
                "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
            }),
        )
        .disposable(),
    );
}
