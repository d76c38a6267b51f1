//! What the Apache Camel aws-kinesis-source connector (camel-kafka-connector
//! 3.18, the seed's pin) puts on each Kafka record. The value is the Kinesis
//! record's data (StringConverter), there is no key, and the Camel message
//! headers travel as Kafka headers prefixed `CamelHeader.`; only String (and
//! other primitive) headers are copied, so the `Instant` arrival timestamp is
//! dropped by the connector (CamelSourceTask.setAdditionalHeaders).

use std::borrow::Cow;

use serde::Serialize;

/// Kafka Connect's prefix for Camel message headers.
pub const HEADER_PREFIX: &str = "CamelHeader.";

pub const PARTITION_KEY: &str = "CamelHeader.CamelAwsKinesisPartitionKey";
pub const SEQUENCE_NUMBER: &str = "CamelHeader.CamelAwsKinesisSequenceNumber";
pub const SHARD_ID: &str = "CamelHeader.CamelAwsKinesisShardId";
/// Not sent by 3.18 (an `Instant` header is dropped); read when a newer
/// connector or a transform adds it as epoch milliseconds.
pub const ARRIVAL_TIMESTAMP: &str = "CamelHeader.CamelAwsKinesisApproximateArrivalTimestamp";

/// Names the Camel 4.x kamelet documents for the same values.
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
