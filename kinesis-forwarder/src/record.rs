//! A Kinesis record as the forwarder writes it to Kafka: key = the partition
//! key, value = the record's bytes unchanged, and the headers the Camel
//! connector writes (`events::camel`), so one consumer serves both hops.

use crate::event::KinesisEventRecord;

/// One record to write, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRecord {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// Kafka headers, in order: the Camel connector's names.
    pub headers: Vec<(&'static str, Vec<u8>)>,
    /// The mapping's item identifier for this record.
    pub sequence_number: String,
    pub shard_id: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("record {index} of the batch has no sequence number: not a Kinesis event source mapping's record")]
    NoSequenceNumber { index: usize },
    #[error("record {index} ({sequence}) has no shard id in its eventID {event_id:?} (expected shardId-…:<sequence>)")]
    NoShardId { index: usize, sequence: String, event_id: Option<String> },
}

impl ForwardRecord {
    /// The record at `index` of the batch. Its shard is the part of
    /// `eventID` before the colon (`shardId-000000000006:4959…`), as AWS's
    /// Kinesis events carry it.
    pub fn from_event(index: usize, record: &KinesisEventRecord) -> Result<Self, RecordError> {
        let kinesis = &record.kinesis;
        let sequence = kinesis.sequence_number.clone();
        if sequence.is_empty() {
            return Err(RecordError::NoSequenceNumber { index });
        }
        let shard_id = record
            .event_id
            .as_deref()
            .and_then(|id| id.split_once(':'))
            .map(|(shard, _)| shard)
            .filter(|shard| shard.starts_with("shardId-"))
            .ok_or_else(|| RecordError::NoShardId {
                index,
                sequence: sequence.clone(),
                event_id: record.event_id.clone(),
            })?
            .to_owned();
        let arrival_ms = kinesis.arrival_ms();
        let headers = vec![
            (events::camel::PARTITION_KEY, kinesis.partition_key.as_bytes().to_vec()),
            (events::camel::SEQUENCE_NUMBER, sequence.as_bytes().to_vec()),
            (events::camel::SHARD_ID, shard_id.as_bytes().to_vec()),
            (events::camel::ARRIVAL_TIMESTAMP, arrival_ms.to_string().into_bytes()),
        ];
        Ok(Self {
            key: kinesis.partition_key.as_bytes().to_vec(),
            value: kinesis.data.clone(),
            headers,
            sequence_number: sequence,
            shard_id,
        })
    }

    /// Bytes Kafka counts for this record, roughly: key, value and headers.
    pub fn size(&self) -> usize {
        self.key.len() + self.value.len() + self.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(records: serde_json::Value) -> crate::event::KinesisEvent {
        serde_json::from_value(serde_json::json!({ "Records": records })).expect("a Kinesis event")
    }

    fn record(event_id: Option<&str>, sequence: &str) -> serde_json::Value {
        serde_json::json!({
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "order-7", "sequenceNumber": sequence,
                        "data": "//4AgEE=", "approximateArrivalTimestamp": 1764000000.123},
            "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": event_id,
            "eventName": "aws:kinesis:record", "awsRegion": "eu-west-1",
            "eventSourceARN": "arn:aws:kinesis:eu-west-1:000000000000:stream/carrides"
        })
    }

    #[test]
    fn key_value_and_the_camel_headers() {
        let e = event(serde_json::json!([record(Some("shardId-000000000003:4959"), "4959")]));
        let r = ForwardRecord::from_event(0, &e.records[0]).expect("record");
        assert_eq!(r.key, b"order-7");
        assert_eq!(r.value, [0xff, 0xfe, 0x00, 0x80, 0x41], "the bytes unchanged, not UTF-8");
        assert_eq!((r.sequence_number.as_str(), r.shard_id.as_str()), ("4959", "shardId-000000000003"));
        let origin = events::camel::KinesisOrigin::from_headers(r.headers.iter().map(|(k, v)| (*k, v.as_slice())));
        assert_eq!(origin.partition_key.as_deref(), Some("order-7"));
        assert_eq!(origin.sequence_number.as_deref(), Some("4959"));
        assert_eq!(origin.shard_id.as_deref(), Some("shardId-000000000003"));
        assert_eq!(origin.arrival_ms, Some(1_764_000_000_123));
    }

    #[test]
    fn a_record_without_its_shard_or_sequence_is_named() {
        let e = event(serde_json::json!([record(None, "77"), record(Some("shardId-000000000001:1"), "")]));
        let error = ForwardRecord::from_event(0, &e.records[0]).expect_err("no eventID");
        assert!(error.to_string().contains("record 0 (77) has no shard id"), "{error}");
        let error = ForwardRecord::from_event(1, &e.records[1]).expect_err("no sequence");
        assert_eq!(error, RecordError::NoSequenceNumber { index: 1 });
    }
}
