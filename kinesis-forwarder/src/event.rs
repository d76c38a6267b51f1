//! The Kinesis event source mapping's batch, as the forwarder reads it: the
//! fields it needs and nothing else. `aws_lambda_events`' `KinesisEvent`
//! (1.2) is not used: it reads `approximateArrivalTimestamp` (seconds, a
//! float) with the fraction scaled as nanoseconds, so every arrival lost its
//! milliseconds, and it links `chrono` for that one field.

use base64::Engine as _;
use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Deserialize)]
pub struct KinesisEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<KinesisEventRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct KinesisEventRecord {
    /// `<shard id>:<sequence number>`.
    #[serde(rename = "eventID", default)]
    pub event_id: Option<String>,
    pub kinesis: KinesisRecord,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisRecord {
    #[serde(default)]
    pub partition_key: String,
    #[serde(default)]
    pub sequence_number: String,
    /// The record's bytes (base64 in the event).
    #[serde(deserialize_with = "base64_bytes")]
    pub data: Vec<u8>,
    /// Seconds since the epoch, with milliseconds as the fraction.
    #[serde(default)]
    pub approximate_arrival_timestamp: f64,
}

impl KinesisRecord {
    /// The arrival in milliseconds since the epoch.
    pub fn arrival_ms(&self) -> i64 {
        (self.approximate_arrival_timestamp * 1000.0).round() as i64
    }
}

fn base64_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| serde::de::Error::custom(format!("data is not valid base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's example event (Lambda guide, "with-kinesis").
    const AWS_EXAMPLE: &str = r#"{"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"1",
        "sequenceNumber":"49590338271490256608559692538361571095921575989136588898",
        "data":"SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==","approximateArrivalTimestamp":1545084650.987},
        "eventSource":"aws:kinesis","eventVersion":"1.0",
        "eventID":"shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
        "eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion":"us-east-2","eventSourceARN":"arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"}]}"#;

    #[test]
    fn reads_aws_example_with_its_milliseconds() {
        let event: KinesisEvent = serde_json::from_str(AWS_EXAMPLE).expect("AWS's example");
        let record = &event.records[0];
        assert_eq!(record.kinesis.data, b"Hello, this is a test.");
        assert_eq!(record.kinesis.arrival_ms(), 1_545_084_650_987);
        assert_eq!(record.kinesis.partition_key, "1");
        assert!(record.event_id.as_deref().is_some_and(|id| id.starts_with("shardId-000000000006:")));
    }

    #[test]
    fn data_that_is_not_base64_is_refused_with_the_reason() {
        let bad = AWS_EXAMPLE.replace("SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==", "not base64!");
        let error = serde_json::from_str::<KinesisEvent>(&bad).expect_err("bad data");
        assert!(error.to_string().contains("not valid base64"), "{error}");
    }
}
