//! What every stream event source mapping does with one batch, whatever the
//! source (the MSK mapping's partitions, the Kinesis mapping's shards):
//! invoke, then on an error answer retry, bisect and give up by its
//! settings; on a partial batch response retry only what was reported; on
//! an invocation that never reached the function, wait and retry without
//! spending a retry. AWS documents the same rules for both sources (Lambda
//! guide, "kinesis-on-failure-destination" and "kafka-retry-configurations"):
//! - "If the function is invoked but returns an error, Lambda retries until
//!   the records expire, exceed the maximum age, or reach the configured
//!   retry quota"; "BisectBatchOnFunctionError … splits a failed batch into
//!   two smaller batches … Splitting a batch does not count towards the
//!   retry quota";
//! - "If a Lambda event source mapping is unable to invoke the function due
//!   to throttling or other issues, it retries until the records expire or
//!   exceed the maximum age".

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::invoke::{FunctionInvoker, InvokeError};
use super::poller::EsmStats;

/// Why a batch was given up on (the on-failure record's `condition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    RetryAttemptsExhausted,
    RecordAgeExceeded,
}

/// The source-specific half of a mapping: its event, how it reads an
/// answer, where discarded batches go.
pub trait Source: Sync {
    type Record: Clone + Send + Sync;

    fn invoker(&self) -> &FunctionInvoker;
    /// The invocation payload for `records`.
    fn event(&self, records: &[Self::Record]) -> Vec<u8>;
    /// From a successful answer: the records to retry (partial batch
    /// response), or why the whole batch counts as failed.
    fn unprocessed(&self, records: &[Self::Record], body: &[u8]) -> Result<Vec<Self::Record>, String>;
    /// Writes `records` to the on-failure destination (or skips them when
    /// there is none).
    fn discard(&self, records: &[Self::Record], attempts: u32, function_error: bool, why: GiveUp)
        -> anyhow::Result<()>;
    /// Whether the oldest record is past `MaximumRecordAgeInSeconds`.
    fn expired(&self, _records: &[Self::Record]) -> bool {
        false
    }
}

/// The retry settings of a mapping.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub bisect_batch_on_function_error: bool,
    /// Retries after the first attempt; `None` is unbounded.
    pub retry_limit: Option<u32>,
}

/// Delivers a batch by the mapping's rules; returns once every record of it
/// succeeded or was discarded.
pub async fn deliver<S: Source>(
    source: &S,
    policy: RetryPolicy,
    stats: &EsmStats,
    batch: Vec<S::Record>,
) -> anyhow::Result<()> {
    let mut pending = vec![batch];
    while let Some(mut records) = pending.pop() {
        let mut attempts = 0u32;
        let mut unreachable_for = 0u32;
        loop {
            if source.expired(&records) {
                source.discard(&records, attempts, attempts > 0, GiveUp::RecordAgeExceeded)?;
                break;
            }
            stats.invocations.fetch_add(1, Ordering::Relaxed);
            // A partial batch response is an answer, not a function error:
            // the reported records are retried (from the lowest reported
            // one on), never bisected.
            let started = std::time::Instant::now();
            let answer = source.invoker().invoke(source.event(&records)).await;
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            stats.invoke_micros.fetch_add(micros, Ordering::Relaxed);
            let (failure, function_error) = match answer {
                Ok(body) => match source.unprocessed(&records, &body) {
                    Ok(remaining) if remaining.is_empty() => {
                        stats.records_delivered.fetch_add(records.len() as u64, Ordering::Relaxed);
                        break;
                    }
                    Ok(remaining) => {
                        let accepted = records.len().saturating_sub(remaining.len());
                        stats.records_delivered.fetch_add(accepted as u64, Ordering::Relaxed);
                        records = remaining;
                        (format!("{} records reported in batchItemFailures", records.len()), false)
                    }
                    Err(reason) => (reason, true),
                },
                Err(InvokeError::Function(message)) => (message, true),
                Err(InvokeError::Service(message)) => {
                    // Not the function's failure: no attempt is counted,
                    // nothing is split or discarded; the batch waits for
                    // the Invoke API, backing off to 1 s between tries.
                    unreachable_for += 1;
                    stats.service_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(records = records.len(), tries = unreachable_for, error = %message,
                        "the function was not invoked; retrying the batch");
                    let backoff = 100u64.saturating_mul(1 << unreachable_for.min(6)).min(1_000);
                    tokio::time::sleep(Duration::from_millis(backoff)).await;
                    continue;
                }
            };
            unreachable_for = 0;
            attempts += 1;
            stats.failed_invocations.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(records = records.len(), attempts, failure = %failure, "batch failed");
            if function_error && policy.bisect_batch_on_function_error && records.len() > 1 {
                // Halves are retried separately; splitting costs no retry.
                stats.bisections.fetch_add(1, Ordering::Relaxed);
                let second = records.split_off(records.len() / 2);
                pending.push(second);
                pending.push(records);
                break;
            }
            if policy.retry_limit.is_some_and(|limit| attempts > limit) {
                source.discard(&records, attempts, function_error, GiveUp::RetryAttemptsExhausted)?;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempts.min(20)))).await;
        }
    }
    Ok(())
}
