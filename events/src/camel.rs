//! What the Apache Camel aws-kinesis-source connector (camel-kafka-connector
//! 4.18.0 on Kafka Connect 3.7, `pipeline_settings::connector`) puts on each
//! Kafka record, as `local/tests/connector.rs` reads it back from the real
//! plugin: the value is the Kinesis record's data byte for byte
//! (`ByteArrayConverter`; the seed's `StringConverter` wrote `[B@…` object
//! names), the key is the partition key (`camelMessageHeaderKey`), and the
//! Camel message headers travel as Kafka headers prefixed `CamelHeader.`:
//! the partition key, sequence number and shard id. Only primitive headers
//! are copied, so the `Instant` arrival timestamp is dropped
//! (`CamelSourceTask.setAdditionalHeaders`); the forwarder hop writes the
//! same header names and adds the arrival time as epoch milliseconds.
use std::borrow::Cow;

use serde::Serialize;

/// Kafka Connect's prefix for Camel message headers.
pub const HEADER_PREFIX: &str = "CamelHeader.";

pub const PARTITION_KEY: &str = "CamelHeader.CamelAwsKinesisPartitionKey";
pub const SEQUENCE_NUMBER: &str = "CamelHeader.CamelAwsKinesisSequenceNumber";
pub const SHARD_ID: &str = "CamelHeader.CamelAwsKinesisShardId";
/// Not sent by the Camel connector (an `Instant` header is dropped); the
/// forwarder writes it as epoch milliseconds.
pub const ARRIVAL_TIMESTAMP: &str = "CamelHeader.CamelAwsKinesisApproximateArrivalTimestamp";

/// Names the Camel 4.x kamelet documents for the same values (read as well:
/// a transform or another connector version may write them).
pub const PARTITION_KEY_4X: &str = "aws.kinesis.partition.key";
pub const SEQUENCE_NUMBER_4X: &str = "aws.kinesis.sequence.number";

/// The Kinesis metadata of a Kafka record, from whichever header names the
/// connector version used: where the record is in the stream. Borrowed while
/// decoding, owned (`into_owned`) where it outlives the batch, as in a dead
/// letter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisOrigin<'a> {
    pub partition_key: Option<Cow<'a, str>>,
    pub sequence_number: Option<Cow<'a, str>>,
    pub shard_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival_ms: Option<i64>,
}

impl<'a> KinesisOrigin<'a> {
    /// Reads the known headers; unknown ones and non-UTF-8 values are ignored.
    pub fn from_headers(headers: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let mut origin = Self::default();
        for (name, value) in headers {
            let Ok(text) = std::str::from_utf8(value) else {
                continue;
            };
            let bare = name.strip_prefix(HEADER_PREFIX).unwrap_or(name);
            match bare {
                "CamelAwsKinesisPartitionKey" | PARTITION_KEY_4X => origin.partition_key = Some(text.into()),
                "CamelAwsKinesisSequenceNumber" | SEQUENCE_NUMBER_4X => origin.sequence_number = Some(text.into()),
                "CamelAwsKinesisShardId" => origin.shard_id = Some(text.into()),
                "CamelAwsKinesisApproximateArrivalTimestamp" => origin.arrival_ms = text.trim().parse().ok(),
                _ => {}
            }
        }
        origin
    }

    /// True when no header said anything about Kinesis.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn into_owned(self) -> KinesisOrigin<'static> {
        let owned = |text: Option<Cow<'a, str>>| text.map(|t| Cow::Owned(t.into_owned()));
        KinesisOrigin {
            partition_key: owned(self.partition_key),
            sequence_number: owned(self.sequence_number),
            shard_id: owned(self.shard_id),
            arrival_ms: self.arrival_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_connector_generations() {
        let v3 = [(PARTITION_KEY, &b"ord-1"[..]), (SEQUENCE_NUMBER, b"4959"), (SHARD_ID, b"shardId-000000000001")];
        let origin = KinesisOrigin::from_headers(v3);
        assert_eq!(origin.partition_key.as_deref(), Some("ord-1"));
        assert_eq!(origin.sequence_number.as_deref(), Some("4959"));
        assert_eq!(origin.shard_id.as_deref(), Some("shardId-000000000001"));
        let v4 =
            [(PARTITION_KEY_4X, &b"ord-2"[..]), (SEQUENCE_NUMBER_4X, b"77"), (ARRIVAL_TIMESTAMP, b"1764000000123")];
        let origin = KinesisOrigin::from_headers(v4);
        assert_eq!(
            (origin.partition_key.as_deref(), origin.sequence_number.as_deref(), origin.arrival_ms),
            (Some("ord-2"), Some("77"), Some(1_764_000_000_123))
        );
        let owned: KinesisOrigin<'static> = origin.clone().into_owned();
        assert_eq!(owned, origin);
        assert_eq!(
            serde_json::to_value(&owned).expect("json"),
            serde_json::json!({"partitionKey": "ord-2", "sequenceNumber": "77", "shardId": null, "arrivalMs": 1_764_000_000_123i64})
        );
        let junk = [(PARTITION_KEY, &[0xffu8][..]), ("other", b"x")];
        assert!(KinesisOrigin::from_headers(junk).is_empty());
    }
}
