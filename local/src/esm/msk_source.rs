//! What the MSK mapping sends and how it reads the answers: the event AWS
//! builds for a batch of Kafka records, partial batch responses, and the
//! on-failure destination's invocation records. Shared by every partition's
//! lane ([`super::lanes`]).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use events::msk::{BatchResponse, KafkaMessage, MskEvent, EVENT_SOURCE_MSK};
use events::on_failure::{Condition, Discard, InvocationRecord, ResponseContext};

use super::delivery::{GiveUp, RetryPolicy, Source};
use super::invoke::FunctionInvoker;
use super::poller::EsmStats;
use super::settings::EsmSettings;

/// The mapping's half that every lane shares.
pub struct MskSource {
    pub settings: EsmSettings,
    pub invoker: FunctionInvoker,
    pub bootstrap_servers: String,
    pub stats: Arc<EsmStats>,
}

impl MskSource {
    /// The MSK event for `records`, as the mapping sends it.
    pub fn msk_event(&self, records: &[KafkaMessage]) -> MskEvent<'static> {
        let mut event = MskEvent::new(EVENT_SOURCE_MSK, &self.settings.event_source_arn, &self.bootstrap_servers);
        for record in records {
            event.push(record.to_msk_record());
        }
        event
    }

    /// [`EsmPoller::msk_event`]'s JSON: the invocation payload.
    fn event_json(&self, records: &[KafkaMessage]) -> Vec<u8> {
        serde_json::to_vec(&self.msk_event(records)).unwrap_or_default()
    }

    /// The mapping's retry settings.
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            bisect_batch_on_function_error: self.settings.bisect_batch_on_function_error,
            retry_limit: self.settings.effective_retry_limit(),
        }
    }
}

impl Source for MskSource {
    type Record = KafkaMessage;

    fn invoker(&self) -> &FunctionInvoker {
        &self.invoker
    }

    fn event(&self, records: &[KafkaMessage]) -> Vec<u8> {
        self.event_json(records)
    }

    fn unprocessed(&self, records: &[KafkaMessage], body: &[u8]) -> Result<Vec<KafkaMessage>, String> {
        self.partial_failures(records, body)
    }

    fn discard(
        &self,
        records: &[KafkaMessage],
        attempts: u32,
        function_error: bool,
        _why: GiveUp,
    ) -> anyhow::Result<()> {
        self.write_on_failure(records, attempts, function_error)
    }
}

impl MskSource {
    /// With partial batch responses, the records to retry: in each reported
    /// partition, every record from the lowest reported offset on. Otherwise
    /// none. An identifier naming no record of the batch fails it whole.
    fn partial_failures(&self, records: &[KafkaMessage], body: &[u8]) -> Result<Vec<KafkaMessage>, String> {
        let summary: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        if let Some(summary) = &summary {
            let count = |field: &str| summary.get(field).and_then(serde_json::Value::as_u64).unwrap_or(0);
            self.stats.rides_consumed.fetch_add(count("rides"), Ordering::Relaxed);
            self.stats.poison_reported.fetch_add(count("poison"), Ordering::Relaxed);
        }
        if !self.settings.report_batch_item_failures {
            return Ok(Vec::new());
        }
        let response: BatchResponse = serde_json::from_slice(body).unwrap_or_default();
        let mut lowest: HashMap<String, i64> = HashMap::new();
        for failure in response.batch_item_failures {
            let id = failure.item_identifier;
            if !records.iter().any(|r| records_key(r) == id.partition && r.offset == id.offset) {
                return Err(format!(
                    "batchItemFailures names {}@{}, which is not in the batch",
                    id.partition, id.offset
                ));
            }
            let entry = lowest.entry(id.partition).or_insert(id.offset);
            *entry = (*entry).min(id.offset);
        }
        Ok(records
            .iter()
            .filter(|r| lowest.get(&records_key(r)).is_some_and(|&low| r.offset >= low))
            .cloned()
            .collect())
    }

    /// Records that exhausted their retries go to the on-failure
    /// destination: an S3 bucket in the template, a directory here, one
    /// object per discarded batch holding AWS's invocation record for Kafka
    /// ([`events::on_failure`]).
    fn write_on_failure(&self, records: &[KafkaMessage], attempts: u32, function_error: bool) -> anyhow::Result<()> {
        self.stats.records_discarded.fetch_add(records.len() as u64, Ordering::Relaxed);
        let Some(dir) = &self.settings.on_failure else {
            // As Lambda does when retries run out and no destination is set:
            // the records are skipped and the partition moves on.
            tracing::error!(
                records = records.len(),
                attempts,
                "retries exhausted, no on-failure destination: records skipped"
            );
            return Ok(());
        };
        let event = self.msk_event(records);
        let payload = serde_json::to_string(&event)?;
        let request_id = uuid::Uuid::new_v4().to_string();
        let discard = Discard {
            request_id: request_id.clone(),
            function_arn: self.settings.function_arn.clone(),
            condition: Condition::RetryAttemptsExhausted,
            approximate_invoke_count: attempts,
            // A batch that kept coming back in batchItemFailures was answered
            // without a function error.
            response_context: Some(if function_error {
                ResponseContext::unhandled()
            } else {
                ResponseContext { function_error: String::new(), ..ResponseContext::unhandled() }
            }),
            at: std::time::SystemTime::now(),
        };
        let record = InvocationRecord::for_s3(&event, &payload, discard);
        std::fs::create_dir_all(dir)?;
        let object = dir.join(on_failure_object_name(&record.timestamp, &request_id));
        std::fs::write(&object, serde_json::to_vec(&record)?)?;
        self.stats.records_sent_on_failure.fetch_add(records.len() as u64, Ordering::Relaxed);
        tracing::error!(records = records.len(), object = %object.display(), "batch discarded to the on-failure destination");
        Ok(())
    }
}

/// One object per discarded batch, named so a listing sorts by time. AWS
/// does not document the key layout of the objects it writes; the content is
/// what is documented.
pub fn on_failure_object_name(timestamp: &str, request_id: &str) -> String {
    format!("{}-{request_id}.json", timestamp.replace(':', ""))
}

fn records_key(r: &KafkaMessage) -> String {
    format!("{}-{}", r.topic, r.partition)
}
