//! What a Kafka event source mapping writes to its on-failure destination
//! when a batch is discarded: the *invocation record* of AWS's page
//! "Capturing discarded batches for Amazon MSK and self-managed Apache Kafka
//! event sources" (Lambda developer guide, `kafka-on-failure`). For SQS and
//! SNS it is the metadata alone; for an S3 destination (the template's) the
//! same document also carries `payload`: the whole invocation event as an
//! escaped JSON string. `events/samples/on-failure-s3.json` is one.
//!
//! The documented example, field by field: `requestContext` (`requestId`,
//! `functionArn`, `condition` = `RetryAttemptsExhausted` or
//! `MaximumPayloadSizeExceeded`, `approximateInvokeCount`),
//! `responseContext` (`statusCode`, `executedVersion`, `functionError`; null
//! for `MaximumPayloadSizeExceeded`), `version` "1.0", `timestamp`,
//! `KafkaBatchInfo` (`batchSize`, `eventSourceArn`, `bootstrapServers`,
//! `payloadSize` in bytes, `recordsInfo` keyed `<topic>-<partition>` with the
//! first and last offsets as strings and their timestamps), `payload`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::msk::MskEvent;

pub const RECORD_VERSION: &str = "1.0";

/// Why the mapping gave up on a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    RetryAttemptsExhausted,
    MaximumPayloadSizeExceeded,
    /// Streams (Kinesis) only: the batch's records outgrew
    /// `MaximumRecordAgeInSeconds`.
    RecordAgeExceeded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationRecord {
    pub request_context: RequestContext,
    /// The last invocation's answer; null when the batch was never sent.
    pub response_context: Option<ResponseContext>,
    pub version: String,
    /// When the record was written, RFC 3339 with milliseconds.
    pub timestamp: String,
    #[serde(rename = "KafkaBatchInfo")]
    pub kafka_batch_info: KafkaBatchInfo,
    /// S3 destinations only: the invocation event, as a JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    pub request_id: String,
    pub function_arn: String,
    pub condition: Condition,
    pub approximate_invoke_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseContext {
    pub status_code: u16,
    pub executed_version: String,
    pub function_error: String,
}

impl ResponseContext {
    /// What Lambda reports for a function that returned an error (or timed
    /// out): the Invoke call itself succeeded, the function did not.
    pub fn unhandled() -> Self {
        Self { status_code: 200, executed_version: "$LATEST".into(), function_error: "Unhandled".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaBatchInfo {
    pub batch_size: usize,
    pub event_source_arn: String,
    pub bootstrap_servers: String,
    /// The invocation payload's size in bytes.
    pub payload_size: usize,
    /// Keyed `<topic>-<partition>`, as the event's `records`.
    pub records_info: BTreeMap<String, RecordsInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordsInfo {
    /// Offsets are strings in AWS's example.
    pub first_record_offset: String,
    pub last_record_offset: String,
    pub first_record_timestamp: String,
    pub last_record_timestamp: String,
}

/// Who gave up, and how the last attempt ended.
#[derive(Debug, Clone)]
pub struct Discard {
    pub request_id: String,
    pub function_arn: String,
    pub condition: Condition,
    pub approximate_invoke_count: u32,
    pub response_context: Option<ResponseContext>,
    pub at: SystemTime,
}

impl Discard {
    /// The request and response contexts and the record's timestamp, as
    /// every invocation record carries them.
    fn into_contexts(self) -> (RequestContext, Option<ResponseContext>, String) {
        let request = RequestContext {
            request_id: self.request_id,
            function_arn: self.function_arn,
            condition: self.condition,
            approximate_invoke_count: self.approximate_invoke_count,
        };
        (request, self.response_context, humantime::format_rfc3339_millis(self.at).to_string())
    }
}

impl InvocationRecord {
    /// The record for `event` (whose JSON text is `payload`), as an S3
    /// destination receives it; [`InvocationRecord::without_payload`] gives
    /// what SQS and SNS get.
    pub fn for_s3(event: &MskEvent<'_>, payload: &str, discard: Discard) -> Self {
        let mut records_info = BTreeMap::new();
        for (key, records) in &event.records {
            let (Some(first), Some(last)) = (records.first(), records.last()) else { continue };
            records_info.insert(
                key.to_string(),
                RecordsInfo {
                    first_record_offset: first.offset.to_string(),
                    last_record_offset: last.offset.to_string(),
                    first_record_timestamp: rfc3339_millis_from_epoch(first.timestamp.unwrap_or(0)),
                    last_record_timestamp: rfc3339_millis_from_epoch(last.timestamp.unwrap_or(0)),
                },
            );
        }
        let (request_context, response_context, timestamp) = discard.into_contexts();
        Self {
            request_context,
            response_context,
            version: RECORD_VERSION.into(),
            timestamp,
            kafka_batch_info: KafkaBatchInfo {
                batch_size: event.record_count(),
                event_source_arn: event.event_source_arn.as_deref().unwrap_or_default().to_owned(),
                bootstrap_servers: event.bootstrap_servers.as_deref().unwrap_or_default().to_owned(),
                payload_size: payload.len(),
                records_info,
            },
            payload: Some(payload.to_owned()),
        }
    }

    pub fn without_payload(mut self) -> Self {
        self.payload = None;
        self
    }

    /// The discarded event, parsed back from `payload` (S3 records only).
    pub fn event(&self) -> Option<Result<MskEvent<'_>, serde_json::Error>> {
        self.payload.as_deref().map(|p| crate::payload::msk_event(p.as_bytes()))
    }
}

/// What a Kinesis event source mapping writes to its on-failure destination
/// (Lambda guide, "kinesis-on-failure-destination"): the same request and
/// response contexts, `KinesisBatchInfo` naming the shard and the batch's
/// first and last sequence numbers and arrival times, and for an S3
/// destination the invocation event as `payload` (the records' data with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisInvocationRecord {
    pub request_context: RequestContext,
    pub response_context: Option<ResponseContext>,
    pub version: String,
    pub timestamp: String,
    #[serde(rename = "KinesisBatchInfo")]
    pub kinesis_batch_info: KinesisBatchInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisBatchInfo {
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    pub approximate_arrival_of_first_record: String,
    pub approximate_arrival_of_last_record: String,
    pub batch_size: usize,
    pub stream_arn: String,
}

impl KinesisInvocationRecord {
    /// The record of a discarded batch of `batch`, whose invocation event's
    /// JSON is `payload`, as an S3 destination receives it.
    pub fn for_s3(batch: KinesisBatchInfo, payload: &str, discard: Discard) -> Self {
        let (request_context, response_context, timestamp) = discard.into_contexts();
        Self {
            request_context,
            response_context,
            version: RECORD_VERSION.into(),
            timestamp,
            kinesis_batch_info: batch,
            payload: Some(payload.to_owned()),
        }
    }
}

/// Kafka timestamps (milliseconds since the epoch) as RFC 3339 with
/// milliseconds, as in AWS's example; times before the epoch clamp to it.
pub fn rfc3339_millis_from_epoch(ms: i64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msk::{KafkaMessage, EVENT_SOURCE_MSK};

    fn event() -> MskEvent<'static> {
        let mut event = MskEvent::new(EVENT_SOURCE_MSK, "arn:aws:kafka:us-east-1:1:cluster/c/u", "b-1:9098");
        for (partition, offset, ts) in [(0, 7, 1_764_000_000_000), (0, 9, 1_764_000_000_250), (3, 2, 1_764_000_001_000)]
        {
            let message = KafkaMessage {
                topic: "car-rides".into(),
                partition,
                offset,
                timestamp_ms: ts,
                log_append_time: false,
                key: None,
                value: Some(b"{}".to_vec()),
                headers: Vec::new(),
            };
            event.push(message.to_msk_record());
        }
        event
    }

    fn discard() -> Discard {
        Discard {
            request_id: "r".into(),
            function_arn: "arn:aws:lambda:us-east-1:1:function:f".into(),
            condition: Condition::RetryAttemptsExhausted,
            approximate_invoke_count: 11,
            response_context: Some(ResponseContext::unhandled()),
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_000_002_021),
        }
    }

    #[test]
    fn the_record_has_the_documented_fields_and_spans() {
        let event = event();
        let payload = serde_json::to_string(&event).expect("json");
        let record = InvocationRecord::for_s3(&event, &payload, discard());
        let json = serde_json::to_value(&record).expect("json");
        assert_eq!(json["requestContext"]["condition"], "RetryAttemptsExhausted");
        assert_eq!(json["requestContext"]["approximateInvokeCount"], 11);
        assert_eq!(json["responseContext"]["functionError"], "Unhandled");
        assert_eq!(json["version"], "1.0");
        assert_eq!(json["timestamp"], "2025-11-24T16:00:02.021Z");
        let info = &json["KafkaBatchInfo"];
        assert_eq!(info["batchSize"], 3);
        assert_eq!(info["payloadSize"], payload.len());
        assert_eq!(info["bootstrapServers"], "b-1:9098");
        assert_eq!(info["recordsInfo"]["car-rides-0"]["firstRecordOffset"], "7");
        assert_eq!(info["recordsInfo"]["car-rides-0"]["lastRecordOffset"], "9");
        assert_eq!(info["recordsInfo"]["car-rides-0"]["lastRecordTimestamp"], "2025-11-24T16:00:00.250Z");
        assert_eq!(info["recordsInfo"]["car-rides-3"]["firstRecordOffset"], "2");
        // The payload is a string holding the event, and reads back as it.
        assert!(json["payload"].is_string());
        let back = record.event().expect("payload").expect("parses");
        assert_eq!(back.record_count(), 3);
    }

    #[test]
    fn the_kinesis_record_names_the_shard_and_its_sequence_span() {
        let batch = KinesisBatchInfo {
            shard_id: "shardId-000000000001".into(),
            start_sequence_number: "4960".into(),
            end_sequence_number: "4969".into(),
            approximate_arrival_of_first_record: rfc3339_millis_from_epoch(1_764_000_000_000),
            approximate_arrival_of_last_record: rfc3339_millis_from_epoch(1_764_000_000_250),
            batch_size: 10,
            stream_arn: "arn:aws:kinesis:us-east-1:1:stream/carrides".into(),
        };
        let json =
            serde_json::to_value(KinesisInvocationRecord::for_s3(batch, "{\"Records\":[]}", discard())).expect("json");
        assert_eq!(json["requestContext"]["condition"], "RetryAttemptsExhausted");
        let info = &json["KinesisBatchInfo"];
        assert_eq!((info["shardId"].as_str(), info["batchSize"].as_u64()), (Some("shardId-000000000001"), Some(10)));
        assert_eq!(
            (info["startSequenceNumber"].as_str(), info["endSequenceNumber"].as_str()),
            (Some("4960"), Some("4969"))
        );
        assert_eq!(info["approximateArrivalOfLastRecord"], "2025-11-24T16:00:00.250Z");
        assert_eq!(json["payload"], "{\"Records\":[]}");
        let back: KinesisInvocationRecord = serde_json::from_value(json).expect("reads back");
        assert_eq!(back.kinesis_batch_info.batch_size, 10);
    }

    #[test]
    fn sqs_and_sns_get_the_metadata_alone_and_size_exceeded_has_no_response() {
        let event = event();
        let payload = serde_json::to_string(&event).expect("json");
        let mut discard = discard();
        discard.condition = Condition::MaximumPayloadSizeExceeded;
        discard.response_context = None;
        let json =
            serde_json::to_value(InvocationRecord::for_s3(&event, &payload, discard).without_payload()).expect("json");
        assert!(json.get("payload").is_none());
        assert!(json["responseContext"].is_null());
        assert_eq!(json["requestContext"]["condition"], "MaximumPayloadSizeExceeded");
    }
}
