//! A batch of one shard as the Kinesis mapping sends it: the event AWS
//! builds (one JSON object per record, serialised once when read), the
//! partial batch response read by sequence number, and the on-failure
//! record of a discarded batch.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use events::on_failure::{Condition, Discard, KinesisBatchInfo, KinesisInvocationRecord, ResponseContext};

use super::{KinesisMapping, KinesisMappingSettings};
use crate::esm::delivery::{GiveUp, Source};
use crate::esm::{EsmStats, FunctionInvoker};

/// `{"Records":[` and `]}`.
pub const EVENT_OVERHEAD: usize = 14;

/// One record read from a shard, with its part of the invocation event.
#[derive(Debug, Clone)]
pub struct StreamRecord {
    pub shard_id: String,
    pub sequence_number: String,
    pub partition_key: String,
    pub arrival: SystemTime,
    /// The record as the event carries it (AWS's shape: `kinesis` with the
    /// data in base64 and the arrival in seconds, `eventID` =
    /// `<shard>:<sequence>`).
    pub json: Arc<str>,
}

impl StreamRecord {
    pub fn read(shard_id: &str, settings: &KinesisMappingSettings, r: &aws_sdk_kinesis::types::Record) -> Self {
        let arrival = r
            .approximate_arrival_timestamp()
            .and_then(|t| SystemTime::try_from(*t).ok())
            .unwrap_or_else(SystemTime::now);
        let seconds = arrival.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_millis() as f64 / 1000.0);
        let sequence = r.sequence_number();
        let json = serde_json::json!({
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": r.partition_key().unwrap_or_default(),
                "sequenceNumber": sequence,
                "data": base64::engine::general_purpose::STANDARD.encode(r.data().as_ref()),
                "approximateArrivalTimestamp": seconds,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": format!("{shard_id}:{sequence}"),
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::000000000000:role/kinesis-forwarder",
            "awsRegion": crate::LOCAL_REGION,
            "eventSourceARN": settings.stream_arn,
        });
        Self {
            shard_id: shard_id.to_owned(),
            sequence_number: sequence.to_owned(),
            partition_key: r.partition_key().unwrap_or_default().to_owned(),
            arrival,
            json: json.to_string().into(),
        }
    }
}

/// The event for `records`, as the mapping sends it.
pub fn event_json(records: &[StreamRecord]) -> String {
    let mut event = String::with_capacity(EVENT_OVERHEAD + records.iter().map(|r| r.json.len() + 1).sum::<usize>());
    event.push_str("{\"Records\":[");
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            event.push(',');
        }
        event.push_str(&record.json);
    }
    event.push_str("]}");
    event
}

/// One shard's half of the mapping ([`Source`]).
pub struct ShardSource {
    invoker: FunctionInvoker,
    settings: KinesisMappingSettings,
    stats: Arc<EsmStats>,
    shard_id: String,
}

impl ShardSource {
    pub fn new(mapping: &KinesisMapping, shard_id: &str) -> Self {
        Self {
            invoker: mapping.invoker.clone(),
            settings: mapping.settings.clone(),
            stats: mapping.stats.clone(),
            shard_id: shard_id.to_owned(),
        }
    }
}

/// With partial batch responses, the records to retry: every record from
/// the lowest reported sequence number on (AWS checkpoints before it). An
/// empty answer or an empty list is a success; an identifier that is
/// empty, null or names no record of the batch fails the whole batch.
pub fn partial_failures(records: &[StreamRecord], body: &[u8]) -> Result<Vec<StreamRecord>, String> {
    let response: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let Some(failures) = response.get("batchItemFailures").and_then(serde_json::Value::as_array) else {
        return Ok(Vec::new());
    };
    let mut lowest: Option<usize> = None;
    for failure in failures {
        let id = failure.get("itemIdentifier").and_then(serde_json::Value::as_str).unwrap_or_default();
        let position = records
            .iter()
            .position(|r| !id.is_empty() && r.sequence_number == id)
            .ok_or_else(|| format!("batchItemFailures names {failure}, which is not a record of the batch"))?;
        lowest = Some(lowest.map_or(position, |l| l.min(position)));
    }
    Ok(lowest.map(|from| records[from..].to_vec()).unwrap_or_default())
}

impl Source for ShardSource {
    type Record = StreamRecord;

    fn invoker(&self) -> &FunctionInvoker {
        &self.invoker
    }

    fn event(&self, records: &[StreamRecord]) -> Vec<u8> {
        if let Some(newest) = records.last() {
            let age = newest.arrival.elapsed().unwrap_or(Duration::ZERO);
            self.stats
                .max_iterator_age_ms
                .fetch_max(u64::try_from(age.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
        }
        event_json(records).into_bytes()
    }

    fn unprocessed(&self, records: &[StreamRecord], body: &[u8]) -> Result<Vec<StreamRecord>, String> {
        if !self.settings.report_batch_item_failures {
            return Ok(Vec::new());
        }
        partial_failures(records, body)
    }

    fn expired(&self, records: &[StreamRecord]) -> bool {
        let Some(limit) = self.settings.maximum_record_age else { return false };
        records.first().is_some_and(|r| r.arrival.elapsed().unwrap_or(Duration::ZERO) > limit)
    }

    fn discard(
        &self,
        records: &[StreamRecord],
        attempts: u32,
        function_error: bool,
        why: GiveUp,
    ) -> anyhow::Result<()> {
        self.stats.records_discarded.fetch_add(records.len() as u64, Ordering::Relaxed);
        let (Some(first), Some(last)) = (records.first(), records.last()) else { return Ok(()) };
        let Some(dir) = &self.settings.on_failure else {
            tracing::error!(shard = %self.shard_id, records = records.len(), attempts,
                "retries exhausted or records too old, no on-failure destination: records skipped");
            return Ok(());
        };
        let payload = event_json(records);
        let request_id = uuid::Uuid::new_v4().to_string();
        let discard = Discard {
            request_id: request_id.clone(),
            function_arn: self.settings.function_arn.clone(),
            condition: match why {
                GiveUp::RetryAttemptsExhausted => Condition::RetryAttemptsExhausted,
                GiveUp::RecordAgeExceeded => Condition::RecordAgeExceeded,
            },
            approximate_invoke_count: attempts,
            response_context: (attempts > 0).then(|| {
                if function_error {
                    ResponseContext::unhandled()
                } else {
                    ResponseContext { function_error: String::new(), ..ResponseContext::unhandled() }
                }
            }),
            at: SystemTime::now(),
        };
        let batch = KinesisBatchInfo {
            shard_id: self.shard_id.clone(),
            start_sequence_number: first.sequence_number.clone(),
            end_sequence_number: last.sequence_number.clone(),
            approximate_arrival_of_first_record: humantime::format_rfc3339_millis(first.arrival).to_string(),
            approximate_arrival_of_last_record: humantime::format_rfc3339_millis(last.arrival).to_string(),
            batch_size: records.len(),
            stream_arn: self.settings.stream_arn.clone(),
        };
        let record = KinesisInvocationRecord::for_s3(batch, &payload, discard);
        std::fs::create_dir_all(dir)?;
        let object = dir.join(crate::esm::msk_source::on_failure_object_name(&record.timestamp, &request_id));
        std::fs::write(&object, serde_json::to_vec(&record)?)?;
        self.stats.records_sent_on_failure.fetch_add(records.len() as u64, Ordering::Relaxed);
        tracing::error!(shard = %self.shard_id, records = records.len(), object = %object.display(),
            "batch discarded to the on-failure destination");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sequence: &str) -> StreamRecord {
        StreamRecord {
            shard_id: "shardId-000000000000".into(),
            sequence_number: sequence.into(),
            partition_key: "k".into(),
            arrival: SystemTime::UNIX_EPOCH,
            json: format!("{{\"kinesis\":{{\"sequenceNumber\":\"{sequence}\"}}}}").into(),
        }
    }

    #[test]
    fn the_batch_resumes_from_the_lowest_reported_sequence_number() {
        let batch: Vec<_> = ["10", "11", "12", "13"].into_iter().map(record).collect();
        let sequences = |rs: Vec<StreamRecord>| rs.into_iter().map(|r| r.sequence_number).collect::<Vec<_>>();
        let answer = br#"{"batchItemFailures":[{"itemIdentifier":"13"},{"itemIdentifier":"11"}]}"#;
        assert_eq!(sequences(partial_failures(&batch, answer).expect("answer")), ["11", "12", "13"]);
        for success in [&b""[..], b"null", b"{}", br#"{"batchItemFailures":[]}"#, br#"{"batchItemFailures":null}"#] {
            assert!(partial_failures(&batch, success).expect("success").is_empty());
        }
        for whole in [
            &br#"{"batchItemFailures":[{"itemIdentifier":""}]}"#[..],
            br#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
            br#"{"batchItemFailures":[{"id":"11"}]}"#,
            br#"{"batchItemFailures":[{"itemIdentifier":"99"}]}"#,
        ] {
            assert!(partial_failures(&batch, whole).is_err(), "{}", String::from_utf8_lossy(whole));
        }
    }

    #[test]
    fn the_event_is_the_records_in_order() {
        let json = event_json(&[record("1"), record("2")]);
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["Records"][1]["kinesis"]["sequenceNumber"], "2");
        assert_eq!(event_json(&[]).len(), EVENT_OVERHEAD);
    }
}
