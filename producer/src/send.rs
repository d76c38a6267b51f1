//! Sends records with `PutRecords`, several requests in flight, and retries
//! only the entries Kinesis did not write (partial failures report
//! `FailedRecordCount` inside a 200 response). Backoff is exponential with
//! jitter (backon); the loop stops at a deadline derived from the Lambda
//! context, and every record not written is reported by id, never dropped.
//! The deadline bounds each call too: one that has not answered by then
//! (a stalled endpoint) is abandoned and its records reported as
//! `NoAnswerBeforeDeadline` (they may or may not have been written), so the
//! function always answers in time. Nothing starts once the deadline passed.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use events::OutboundRecord;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use uuid::Uuid;

use crate::batch::{self, Limits};
use crate::sink::{is_retryable_entry_code, EntryOutcome, RecordSink};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { first_delay: Duration::from_millis(50), max_delay: Duration::from_secs(2) }
    }
}

impl RetryPolicy {
    fn delays(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(self.first_delay)
            .with_max_delay(self.max_delay)
            .with_jitter()
            .without_max_times()
            .build()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SendOptions {
    pub limits: Limits,
    pub max_in_flight: usize,
    pub retry: RetryPolicy,
    /// No new attempt starts after this instant.
    pub deadline: Instant,
}

/// A record that did not reach the stream, and the last reason why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedRecord {
    pub event_id: Uuid,
    pub partition_key: String,
    pub error_code: String,
    pub error_message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendReport {
    pub requested: usize,
    pub sent: usize,
    /// Entries sent again after a failed attempt (one record can count twice).
    pub retried: usize,
    pub put_calls: usize,
    pub failed: Vec<FailedRecord>,
}

impl SendReport {
    fn merge(&mut self, other: SendReport) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.put_calls += other.put_calls;
        self.failed.extend(other.failed);
    }
}

pub async fn put_records_with_retry<S: RecordSink>(
    sink: &S,
    records: &[OutboundRecord],
    options: SendOptions,
) -> SendReport {
    let plan = batch::plan(records, options.limits);
    let mut report = SendReport { requested: records.len(), ..SendReport::default() };
    report.failed.extend(plan.rejected.iter().map(|r| failed(&records[r.index], "RecordRejected", &r.reason)));
    let batches = stream::iter(plan.batches)
        .map(|indices| send_batch(sink, records, indices, options))
        .buffer_unordered(options.max_in_flight.max(1));
    let reports: Vec<SendReport> = batches.collect().await;
    for batch_report in reports {
        report.merge(batch_report);
    }
    report
}

fn failed(record: &OutboundRecord, code: &str, message: &str) -> FailedRecord {
    FailedRecord {
        event_id: record.event_id,
        partition_key: record.partition_key.clone(),
        error_code: code.to_owned(),
        error_message: message.to_owned(),
    }
}

/// The error code of records whose call had not answered by the deadline.
pub const NO_ANSWER_BEFORE_DEADLINE: &str = "NoAnswerBeforeDeadline";
/// The error code of records not sent because the deadline had passed.
pub const DEADLINE_PASSED: &str = "DeadlinePassed";

/// One request's records until all are written, a permanent error, or the deadline.
async fn send_batch<S: RecordSink>(
    sink: &S,
    records: &[OutboundRecord],
    mut pending: Vec<usize>,
    options: SendOptions,
) -> SendReport {
    let mut report = SendReport::default();
    let mut delays = options.retry.delays();
    let mut last_error: Vec<(String, String)> = Vec::new();
    loop {
        if Instant::now() >= options.deadline {
            report.failed.extend(
                pending
                    .iter()
                    .map(|&i| failed(&records[i], DEADLINE_PASSED, "not sent: the invocation's deadline had passed")),
            );
            return report;
        }
        let attempt: Vec<&OutboundRecord> = pending.iter().map(|&i| &records[i]).collect();
        if report.put_calls > 0 {
            report.retried += attempt.len();
        }
        report.put_calls += 1;
        let mut still_pending = Vec::new();
        last_error.clear();
        let answer =
            tokio::time::timeout_at(tokio::time::Instant::from_std(options.deadline), sink.put_records(&attempt)).await;
        let Ok(answer) = answer else {
            report.failed.extend(pending.iter().map(|&i| {
                failed(
                    &records[i],
                    NO_ANSWER_BEFORE_DEADLINE,
                    "PutRecords had not answered by the invocation's deadline: the ride may or may not be in the stream",
                )
            }));
            return report;
        };
        match answer {
            Ok(outcomes) => {
                for (&index, outcome) in pending.iter().zip(outcomes) {
                    match outcome {
                        EntryOutcome::Written { .. } => report.sent += 1,
                        EntryOutcome::Failed { code, message } if is_retryable_entry_code(&code) => {
                            still_pending.push(index);
                            last_error.push((code, message));
                        }
                        EntryOutcome::Failed { code, message } => {
                            report.failed.push(failed(&records[index], &code, &message))
                        }
                    }
                }
            }
            Err(error) if error.retryable => {
                last_error = vec![(error.code.clone(), error.message.clone()); pending.len()];
                still_pending = pending;
            }
            Err(error) => {
                report.failed.extend(pending.iter().map(|&i| failed(&records[i], &error.code, &error.message)));
            }
        }
        pending = still_pending;
        if pending.is_empty() {
            return report;
        }
        let delay = delays.next().unwrap_or(options.retry.max_delay);
        if Instant::now() + delay >= options.deadline {
            for (&index, (code, message)) in pending.iter().zip(&last_error) {
                let message = format!("{message} (gave up: the invocation deadline is near)");
                report.failed.push(failed(&records[index], code, &message));
            }
            return report;
        }
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::memory::{MemorySink, Scripted};
    use crate::sink::SinkError;
    use events::generate::RideGenerator;

    const NOW: i64 = 1_764_000_000_000;

    fn records(n: usize) -> Vec<OutboundRecord> {
        RideGenerator::seeded(5).rides(n, NOW).iter().map(events::encode).collect()
    }

    fn options(deadline_in: Duration) -> SendOptions {
        SendOptions {
            limits: Limits::KINESIS,
            max_in_flight: 3,
            retry: RetryPolicy { first_delay: Duration::from_millis(1), max_delay: Duration::from_millis(5) },
            deadline: Instant::now() + deadline_in,
        }
    }

    fn ids(records: &[OutboundRecord]) -> Vec<Uuid> {
        let mut ids: Vec<_> = records.iter().map(|r| r.event_id).collect();
        ids.sort();
        ids
    }

    #[tokio::test]
    async fn everything_is_written_once_in_request_sized_calls() {
        let input = records(1_234);
        let sink = MemorySink::new();
        let report = put_records_with_retry(&sink, &input, options(Duration::from_secs(5))).await;
        assert_eq!((report.requested, report.sent, report.retried, report.put_calls), (1_234, 1_234, 0, 3));
        assert!(report.failed.is_empty());
        assert_eq!(ids(&sink.written()), ids(&input));
    }

    #[tokio::test]
    async fn only_failed_entries_are_retried() {
        let input = records(10);
        let sink = MemorySink::new()
            .then(Scripted::FailEntries { positions: vec![1, 4, 7], code: "ProvisionedThroughputExceededException" })
            .then(Scripted::FailEntries { positions: vec![2], code: "KMSThrottlingException" });
        let report = put_records_with_retry(&sink, &input, options(Duration::from_secs(5))).await;
        assert_eq!((report.sent, report.retried, report.put_calls), (10, 4, 3));
        assert!(report.failed.is_empty());
        let written = sink.written();
        assert_eq!(written.len(), 10, "no duplicates");
        assert_eq!(ids(&written), ids(&input));
        // The second call carried exactly the three throttled records.
        assert_eq!(written[7..].iter().map(|r| r.event_id).collect::<Vec<_>>(), [1, 4, 7].map(|i| input[i].event_id));
    }

    #[tokio::test]
    async fn permanent_entry_errors_are_reported_not_retried() {
        let input = records(5);
        let sink =
            MemorySink::new().then(Scripted::FailEntries { positions: vec![3], code: "KMSAccessDeniedException" });
        let report = put_records_with_retry(&sink, &input, options(Duration::from_secs(5))).await;
        assert_eq!((report.sent, report.put_calls), (4, 1));
        assert_eq!(report.failed.len(), 1);
        assert_eq!(
            (report.failed[0].event_id, report.failed[0].error_code.as_str()),
            (input[3].event_id, "KMSAccessDeniedException")
        );
    }

    #[tokio::test]
    async fn retryable_call_errors_retry_and_permanent_ones_fail_the_batch() {
        let input = records(3);
        let transient = SinkError { code: "TransportError".into(), message: "reset".into(), retryable: true };
        let sink = MemorySink::new().then(Scripted::FailCall(transient));
        let report = put_records_with_retry(&sink, &input, options(Duration::from_secs(5))).await;
        assert_eq!((report.sent, report.retried, report.failed.len()), (3, 3, 0));

        let missing = SinkError {
            code: "ResourceNotFoundException".into(),
            message: "stream 'x' not found".into(),
            retryable: false,
        };
        let sink = MemorySink::new().then(Scripted::FailCall(missing));
        let report = put_records_with_retry(&sink, &input, options(Duration::from_secs(5))).await;
        assert_eq!((report.sent, report.failed.len(), sink.calls()), (0, 3, 1));
        assert!(report.failed.iter().all(|f| f.error_message.contains("not found")));
    }

    #[tokio::test]
    async fn the_deadline_stops_retries_and_names_every_unwritten_record() {
        let input = records(4);
        let throttle = |positions| Scripted::FailEntries { positions, code: "ProvisionedThroughputExceededException" };
        // Records 0 and 2 fail, then keep failing as positions 0 and 1 of every retry.
        let mut sink = MemorySink::new().then(throttle(vec![0, 2]));
        for _ in 0..1_000 {
            sink = sink.then(throttle(vec![0, 1]));
        }
        let report = put_records_with_retry(&sink, &input, options(Duration::from_millis(40))).await;
        assert_eq!(report.sent, 2);
        let unwritten: Vec<_> = report.failed.iter().map(|f| f.event_id).collect();
        assert_eq!(unwritten, [input[0].event_id, input[2].event_id]);
        assert!(report.failed[0].error_message.contains("deadline"));
        assert_eq!(report.sent + report.failed.len(), report.requested);
    }

    #[tokio::test]
    async fn a_call_that_never_answers_is_abandoned_at_the_deadline_and_its_records_named() {
        let input = records(600);
        let sink = MemorySink::new().then(Scripted::Hang);
        let started = Instant::now();
        let report = put_records_with_retry(&sink, &input, options(Duration::from_millis(200))).await;
        assert!(started.elapsed() < Duration::from_secs(2), "answered at the deadline: {:?}", started.elapsed());
        assert_eq!(report.sent + report.failed.len(), 600, "every ride written or named");
        let hung: Vec<_> = report.failed.iter().filter(|f| f.error_code == NO_ANSWER_BEFORE_DEADLINE).collect();
        assert_eq!(hung.len(), 500, "the hung call's records (the other call went through)");
    }

    #[tokio::test]
    async fn nothing_is_sent_once_the_deadline_has_passed() {
        let input = records(3);
        let sink = MemorySink::new();
        let report = put_records_with_retry(&sink, &input, options(Duration::ZERO)).await;
        assert_eq!((report.sent, report.failed.len(), sink.calls()), (0, 3, 0));
        assert!(report.failed.iter().all(|f| f.error_code == DEADLINE_PASSED));
    }

    #[tokio::test]
    async fn oversized_records_are_reported_without_a_call() {
        let mut input = records(2);
        input[1].data = vec![b'x'; events::envelope::MAX_KINESIS_RECORD_BYTES];
        let sink = MemorySink::new();
        let report = put_records_with_retry(&sink, &input, options(Duration::from_secs(5))).await;
        assert_eq!((report.sent, sink.calls()), (1, 1));
        assert_eq!(report.failed[0].error_code, "RecordRejected");
    }
}
