//! The producer Lambda: on a schedule or a direct invoke, generate car rides
//! and put them on the Kinesis stream. `handle` is the whole function; `main`
//! only wires the runtime, the Kinesis client and the metrics flush.

pub mod batch;
pub mod config;
pub mod metrics;
pub mod send;
pub mod sink;
pub mod trigger;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use events::generate::RideGenerator;
use serde::Serialize;
use serde_json::Value;

use crate::batch::Limits;
use crate::config::Config;
use crate::send::{put_records_with_retry, FailedRecord, RetryPolicy, SendOptions};
use crate::sink::RecordSink;
use crate::trigger::TriggerError;

/// Everything an invocation needs, built once per cold start.
pub struct Deps<S> {
    pub sink: S,
    pub config: Config,
    pub generator: Mutex<RideGenerator>,
    pub retry: RetryPolicy,
}

impl<S: RecordSink> Deps<S> {
    pub fn new(sink: S, config: Config) -> Self {
        Self { sink, config, generator: Mutex::new(RideGenerator::from_entropy()), retry: RetryPolicy::default() }
    }
}

/// The invocation's result, returned to a direct caller and logged as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerOutput {
    pub trigger: &'static str,
    pub requested: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub put_calls: usize,
    pub elapsed_ms: u64,
    /// Every record that did not reach the stream, by event id.
    pub failed_records: Vec<FailedRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    #[error(transparent)]
    BadTrigger(#[from] TriggerError),
    #[error("{} of {} rides were not written to Kinesis; first: {}", .0.failed, .0.requested, first_failure(.0))]
    Incomplete(Box<ProducerOutput>),
}

fn first_failure(output: &ProducerOutput) -> String {
    output
        .failed_records
        .first()
        .map(|f| format!("{} ({}: {})", f.event_id, f.error_code, f.error_message))
        .unwrap_or_default()
}

impl From<ProducerError> for lambda_runtime::Diagnostic {
    fn from(error: ProducerError) -> Self {
        let error_type = match &error {
            ProducerError::BadTrigger(_) => "BadTrigger",
            ProducerError::Incomplete(_) => "RidesNotWritten",
        };
        lambda_runtime::Diagnostic { error_type: error_type.to_owned(), error_message: error.to_string() }
    }
}

/// How long an invocation may keep sending when it has no usable deadline
/// (`cargo lambda watch` hands out deadlines already past): the template's
/// function timeout less its margin.
pub const NO_DEADLINE_WINDOW: Duration = Duration::from_secs(25);

/// The instant after which no new `PutRecords` attempt starts and no call is
/// waited for: Lambda's deadline (epoch milliseconds) less `margin`
/// ([`lambda_init::deadline::until`]).
pub fn deadline_from_epoch_ms(deadline_ms: u64, margin: Duration) -> Instant {
    lambda_init::deadline::until(deadline_ms, margin, NO_DEADLINE_WINDOW)
}

pub use lambda_init::clock::epoch_ms;

pub async fn handle<S: RecordSink>(
    payload: &Value,
    deadline: Instant,
    deps: &Deps<S>,
) -> Result<ProducerOutput, ProducerError> {
    let started = Instant::now();
    let trigger = trigger::parse(payload)?;
    let count = trigger.ride_count(deps.config.rides_per_schedule, deps.config.max_rides_per_invoke)?;
    let records: Vec<_> = {
        let mut generator = deps.generator.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = epoch_ms();
        (0..count).map(|_| events::encode(&generator.ride(now))).collect()
    };
    let options =
        SendOptions { limits: Limits::KINESIS, max_in_flight: deps.config.max_in_flight, retry: deps.retry, deadline };
    let report = put_records_with_retry(&deps.sink, &records, options).await;
    let output = ProducerOutput {
        trigger: trigger.name(),
        requested: report.requested,
        sent: report.sent,
        retried: report.retried,
        failed: report.failed.len(),
        put_calls: report.put_calls,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        failed_records: report.failed,
    };
    metrics::record(&output);
    log_summary(&output);
    if output.failed > 0 {
        return Err(ProducerError::Incomplete(Box::new(output)));
    }
    Ok(output)
}

/// One structured log line per invocation; with Lambda's JSON log format each
/// field is queryable in CloudWatch Logs Insights.
fn log_summary(o: &ProducerOutput) {
    if o.failed == 0 {
        tracing::info!(
            trigger = o.trigger,
            requested = o.requested,
            sent = o.sent,
            retried = o.retried,
            failed = o.failed,
            put_calls = o.put_calls,
            elapsed_ms = o.elapsed_ms,
            "rides written"
        );
    } else {
        let failed_event_ids: Vec<String> = o.failed_records.iter().map(|f| f.event_id.to_string()).collect();
        let first_error = o.failed_records.first().map(|f| format!("{}: {}", f.error_code, f.error_message));
        tracing::error!(trigger = o.trigger, requested = o.requested, sent = o.sent, retried = o.retried, failed = o.failed,
            put_calls = o.put_calls, elapsed_ms = o.elapsed_ms, failed_event_ids = ?failed_event_ids, first_error = ?first_error,
            "some rides were not written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StreamTarget;
    use crate::sink::memory::{MemorySink, Scripted};
    use serde_json::json;

    fn deps(sink: MemorySink) -> Deps<MemorySink> {
        let config = Config {
            stream: StreamTarget::Name("carrides".into()),
            rides_per_schedule: 7,
            max_rides_per_invoke: 1_000,
            max_in_flight: 2,
            deadline_margin: Duration::ZERO,
        };
        let mut deps = Deps::new(sink, config);
        deps.retry = RetryPolicy { first_delay: Duration::from_millis(1), max_delay: Duration::from_millis(2) };
        deps
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn a_schedule_emits_the_configured_number_of_valid_rides() {
        let deps = deps(MemorySink::new());
        let out = handle(&json!({"detail-type": "Scheduled Event", "source": "aws.events"}), soon(), &deps)
            .await
            .expect("ok");
        assert_eq!((out.trigger, out.requested, out.sent, out.failed), ("schedule", 7, 7, 0));
        for record in deps.sink.written() {
            let ride = events::decode(&record.data, epoch_ms()).expect("valid ride");
            assert_eq!(ride.partition_key(), record.partition_key);
        }
    }

    #[tokio::test]
    async fn a_direct_invoke_beyond_the_bound_is_refused_before_sending() {
        let deps = deps(MemorySink::new());
        let err = handle(&json!({"count": 1_001}), soon(), &deps).await.expect_err("too many");
        assert!(err.to_string().contains("above this function's limit of 1000"), "{err}");
        assert_eq!(deps.sink.calls(), 0);
        let diagnostic: lambda_runtime::Diagnostic = err.into();
        assert_eq!(diagnostic.error_type, "BadTrigger");
    }

    #[tokio::test]
    async fn unwritten_rides_fail_the_invocation_and_are_named() {
        let deps = deps(
            MemorySink::new().then(Scripted::FailEntries { positions: vec![2], code: "KMSAccessDeniedException" }),
        );
        let err = handle(&json!({"count": 5}), soon(), &deps).await.expect_err("incomplete");
        let ProducerError::Incomplete(output) = &err else { panic!("{err}") };
        assert_eq!((output.sent, output.failed), (4, 1));
        assert!(err.to_string().starts_with("1 of 5 rides were not written to Kinesis; first: "), "{err}");
        assert!(err.to_string().contains(&output.failed_records[0].event_id.to_string()));
    }

    #[test]
    fn deadline_keeps_the_margin_and_a_past_one_gets_the_window() {
        let deadline_ms = u64::try_from(epoch_ms()).unwrap_or(0) + 10_000;
        let d = deadline_from_epoch_ms(deadline_ms, Duration::from_secs(2));
        let left = d.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_secs(8) && left > Duration::from_secs(7), "{left:?}");
        let past = deadline_from_epoch_ms(0, Duration::ZERO).saturating_duration_since(Instant::now());
        assert!(past > NO_DEADLINE_WINDOW - Duration::from_secs(1), "{past:?}");
    }
}
