//! The Kinesis → MSK hop as a Lambda behind a Kinesis event source mapping:
//! each record of a batch is written to the topic ([`record`]: key, value,
//! the Camel connector's headers) through a [`sink::RecordSink`]; what was
//! not acknowledged by the deadline, or was refused, is answered as
//! `batchItemFailures` by sequence number, so the mapping checkpoints before
//! the lowest one and sends the rest again. A batch is never answered as a
//! success with a record unwritten.
//!
//! `main.rs` only wires the runtime, the producer and the metrics flush.

pub mod config;
pub mod event;
pub mod metrics;
pub mod record;
pub mod sink;

use std::time::{Duration, Instant};

use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};

use crate::event::KinesisEvent;
use crate::record::{ForwardRecord, RecordError};
use crate::sink::{Delivery, RecordSink};

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The payload is not a Kinesis mapping's batch: the function errors, so
    /// the mapping retries and bisects it rather than skipping it.
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("the sink answered {answered} deliveries for {records} records")]
    SinkAnswer { records: usize, answered: usize },
}

/// What one invocation did, for the log line and the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardSummary {
    pub records: usize,
    pub acknowledged: usize,
    pub not_acknowledged: usize,
    pub refused: usize,
    pub bytes: usize,
}

/// Forwards `event`'s records, waiting for acknowledgements until `deadline`.
pub async fn handle<S: RecordSink>(
    event: &KinesisEvent,
    sink: &S,
    deadline: Instant,
) -> Result<(KinesisEventResponse, ForwardSummary), ForwardError> {
    let records = event
        .records
        .iter()
        .enumerate()
        .map(|(index, record)| ForwardRecord::from_event(index, record))
        .collect::<Result<Vec<_>, _>>()?;
    let deliveries = sink.send_all(&records, deadline).await;
    if deliveries.len() != records.len() {
        return Err(ForwardError::SinkAnswer { records: records.len(), answered: deliveries.len() });
    }
    let mut summary = ForwardSummary { records: records.len(), ..ForwardSummary::default() };
    let mut response = KinesisEventResponse::default();
    for (record, delivery) in records.iter().zip(&deliveries) {
        summary.bytes += record.value.len();
        match delivery {
            Delivery::Acknowledged { .. } => {
                summary.acknowledged += 1;
                continue;
            }
            Delivery::NotAcknowledged(_) => summary.not_acknowledged += 1,
            Delivery::Refused(reason) => {
                summary.refused += 1;
                tracing::error!(
                    shard = %record.shard_id,
                    sequence = %record.sequence_number,
                    bytes = record.size(),
                    reason,
                    "Kafka refused a record for good: reported as a batch item failure (the mapping retries it, then sends the batch's metadata to its on-failure destination)"
                );
            }
        }
        let mut failure = KinesisBatchItemFailure::default();
        failure.item_identifier = Some(record.sequence_number.clone());
        response.batch_item_failures.push(failure);
    }
    if summary.not_acknowledged > 0 {
        let first = deliveries.iter().find_map(|d| match d {
            Delivery::NotAcknowledged(reason) => Some(reason.as_str()),
            _ => None,
        });
        tracing::warn!(
            records = summary.records,
            not_acknowledged = summary.not_acknowledged,
            reason = first.unwrap_or_default(),
            "records not acknowledged by Kafka in time: answered as batch item failures, the mapping sends them again"
        );
    }
    Ok((response, summary))
}

/// When to stop waiting for acknowledgements: Lambda's deadline
/// (`deadline_ms`, ms since the epoch) less `margin`
/// ([`lambda_init::deadline::until`]), and never more than `max_wait` from
/// now, which alone bounds the wait under `cargo lambda watch`.
pub fn ack_deadline(deadline_ms: u64, margin: Duration, max_wait: Duration) -> Instant {
    lambda_init::deadline::until(deadline_ms, margin, max_wait).min(Instant::now() + max_wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::memory::MemorySink;

    fn event(n: usize) -> KinesisEvent {
        let records: Vec<_> = (0..n)
            .map(|i| {
                serde_json::json!({
                    "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": format!("k{i}"),
                                "sequenceNumber": format!("{}", 100 + i), "data": "eyJ4IjoxfQ==",
                                "approximateArrivalTimestamp": 1764000000.5},
                    "eventSource": "aws:kinesis", "eventID": format!("shardId-000000000000:{}", 100 + i),
                    "eventSourceARN": "arn:aws:kinesis:eu-west-1:000000000000:stream/carrides"
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).expect("event")
    }

    fn failures(response: &KinesisEventResponse) -> Vec<String> {
        response.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect()
    }

    #[tokio::test]
    async fn everything_acknowledged_is_a_success_with_no_failures() {
        let sink = MemorySink::acknowledging();
        let (response, summary) = handle(&event(3), &sink, Instant::now()).await.expect("handled");
        assert!(response.batch_item_failures.is_empty());
        assert_eq!((summary.records, summary.acknowledged), (3, 3));
        assert_eq!(sink.written().len(), 3);
        assert_eq!(serde_json::to_value(&response).expect("json"), serde_json::json!({"batchItemFailures": []}));
    }

    #[tokio::test]
    async fn unacknowledged_and_refused_records_are_failures_by_sequence_number() {
        let sink = MemorySink::answering(|i, _| match i {
            1 => Delivery::Refused("too large".into()),
            3 | 4 => Delivery::NotAcknowledged("deadline".into()),
            _ => Delivery::Acknowledged { partition: 0, offset: i as i64 },
        });
        let (response, summary) = handle(&event(5), &sink, Instant::now()).await.expect("handled");
        assert_eq!(failures(&response), ["101", "103", "104"]);
        assert_eq!((summary.acknowledged, summary.refused, summary.not_acknowledged), (2, 1, 2));
        assert_eq!(
            serde_json::to_value(&response).expect("json")["batchItemFailures"][0],
            serde_json::json!({"itemIdentifier": "101"})
        );
    }

    #[test]
    fn the_wait_ends_before_lambdas_deadline_and_a_past_deadline_falls_back_to_the_cap() {
        let now_ms = lambda_init::clock::epoch_ms_unsigned();
        let (margin, cap) = (Duration::from_secs(1), Duration::from_secs(30));
        let left = |at: Instant| at.saturating_duration_since(Instant::now());
        let soon = left(ack_deadline(now_ms + 10_000, margin, cap));
        assert!(soon > Duration::from_millis(8_500) && soon <= Duration::from_secs(9), "{soon:?}");
        let capped = left(ack_deadline(now_ms + 900_000, margin, cap));
        assert!(capped > Duration::from_secs(29) && capped <= cap, "{capped:?}");
        let past = left(ack_deadline(now_ms.saturating_sub(5), margin, cap));
        assert!(past > Duration::from_secs(29), "{past:?}");
    }

    #[tokio::test]
    async fn a_record_without_a_shard_fails_the_invocation() {
        let mut e = event(2);
        e.records[1].event_id = None;
        let error = handle(&e, &MemorySink::acknowledging(), Instant::now()).await.expect_err("no shard");
        assert!(error.to_string().contains("record 1 (101) has no shard id"), "{error}");
    }

    #[tokio::test]
    async fn a_sink_answering_for_fewer_records_is_an_error_not_a_success() {
        struct Short;
        impl RecordSink for Short {
            async fn send_all(&self, _: &[ForwardRecord], _: Instant) -> Vec<Delivery> {
                vec![Delivery::Acknowledged { partition: 0, offset: 0 }]
            }
        }
        let error = handle(&event(2), &Short, Instant::now()).await.expect_err("short answer");
        assert!(matches!(error, ForwardError::SinkAnswer { records: 2, answered: 1 }), "{error}");
    }
}
