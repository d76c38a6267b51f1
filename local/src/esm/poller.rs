//! The poll → batch → invoke → commit loop of the local event source mapping.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use events::msk::{BatchResponse, Header, KafkaMessage, MskEvent, EVENT_SOURCE_MSK};
use events::on_failure::{Condition, Discard, InvocationRecord, ResponseContext};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{Headers, Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};

use super::consumer::{behind, close_detached, join_group, off_runtime, stalled, GroupConsumer, ANSWER_WITHIN};
use super::delivery::{GiveUp, RetryPolicy, Source};
use super::invoke::FunctionInvoker;
use super::settings::EsmSettings;

/// Counters for progress bars and tests.
#[derive(Debug, Default)]
pub struct EsmStats {
    pub records_polled: AtomicU64,
    pub invocations: AtomicU64,
    /// Wall time of every invocation, summed (µs): the mean is what Lambda
    /// would bill per batch (here a debug build under `cargo lambda watch`).
    pub invoke_micros: AtomicU64,
    pub failed_invocations: AtomicU64,
    pub bisections: AtomicU64,
    /// Records whose offsets were handed to an (asynchronous) commit.
    pub records_committed: AtomicU64,
    /// Records whose retries ran out (skipped without a destination).
    pub records_discarded: AtomicU64,
    /// Of those, the records written to the on-failure destination.
    pub records_sent_on_failure: AtomicU64,
    /// Invocations that never reached the function (host down, throttled):
    /// retried without counting against `MaximumRetryAttempts`.
    pub service_errors: AtomicU64,
    /// From the consumer's summaries (when it returns them: not with
    /// partial batch responses, whose body is `batchItemFailures` alone).
    pub rides_consumed: AtomicU64,
    /// Records the function accepted (poison and tombstones included): every
    /// record of a successful invocation but those it reported as failed.
    pub records_delivered: AtomicU64,
    pub poison_reported: AtomicU64,
    /// The consumer group has given this poller its partitions.
    pub assigned: std::sync::atomic::AtomicBool,
    /// Consumers replaced after wedging past a fault ([`super::consumer`]).
    pub consumer_restarts: AtomicU64,
    /// Kinesis mapping: the largest age of a batch's newest record when it
    /// was invoked (ms), what `GetRecords.IteratorAgeMilliseconds` reports
    /// and the `HopBehind` alarm watches.
    pub max_iterator_age_ms: AtomicU64,
}

pub struct EsmPoller {
    settings: EsmSettings,
    /// Replaced when it wedges ([`super::consumer`]).
    consumer: GroupConsumer,
    invoker: FunctionInvoker,
    bootstrap_servers: String,
    stats: Arc<EsmStats>,
    /// A record polled past the payload limit, first in the next batch.
    carry: std::sync::Mutex<Option<KafkaMessage>>,
}

impl EsmPoller {
    pub fn new(
        settings: EsmSettings,
        bootstrap_servers: &str,
        invoker: FunctionInvoker,
        stats: Arc<EsmStats>,
    ) -> anyhow::Result<Self> {
        let consumer = join_group(&settings, bootstrap_servers)?;
        Ok(Self {
            settings,
            consumer,
            invoker,
            bootstrap_servers: bootstrap_servers.to_owned(),
            stats,
            carry: std::sync::Mutex::new(None),
        })
    }

    /// Polls and delivers batches until the task is aborted.
    pub async fn run(mut self) -> anyhow::Result<()> {
        let mut positions: BTreeMap<(String, i32), i64> = BTreeMap::new();
        // The last progress: a record received or a batch delivered.
        let mut last_progress = Instant::now();
        let mut last_asked = None;
        // When records were first seen waiting with no progress since.
        let mut waiting_since: Option<Instant> = None;
        loop {
            let batch = match self.next_batch().await {
                Ok(batch) if batch.is_empty() => {
                    if stalled(last_progress, last_asked, Instant::now()) {
                        // Records that just arrived on an idle topic wait too,
                        // for a moment: replace only a consumer that left
                        // them waiting from one question to the next.
                        let waiting = self.records_waiting().await;
                        match waiting_since {
                            Some(since) if waiting && since > last_progress => {
                                self.replace_consumer()?;
                                last_progress = Instant::now();
                                waiting_since = None;
                            }
                            _ => waiting_since = waiting.then(Instant::now),
                        }
                        last_asked = Some(Instant::now());
                    }
                    continue;
                }
                Ok(batch) => batch,
                Err(e) => {
                    // A broker outage: keep polling, librdkafka reconnects.
                    tracing::warn!(error = %e, "poll failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            self.deliver(batch.clone()).await?;
            // Delivery can take minutes (retries): progress, not a stall.
            last_progress = Instant::now();
            // Offsets are committed only after the batch was handled, and
            // asynchronously: a synchronous commit blocks its thread until
            // the group coordinator answers, which with the broker down is
            // never, and a blocked runtime thread can stall the very timers
            // that bring the broker back (it deadlocked the fault test). Every
            // commit carries every partition's position, so one that fails
            // (broker down, group rebalancing) is made good by the next. At
            // worst a batch is delivered again: at-least-once.
            for r in &batch {
                let next = positions.entry((r.topic.clone(), r.partition)).or_insert(r.offset + 1);
                *next = (*next).max(r.offset + 1);
            }
            match self.commit(&positions) {
                Ok(()) => {
                    self.stats.records_committed.fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(error = %e, "offset commit not queued; the next batch's carries it"),
            }
        }
    }

    /// Closes a consumer that wedged after a fault and joins the group with a
    /// new one, which resumes from the committed offsets. A record carried
    /// over for the next batch is dropped: the new consumer reads it again.
    fn replace_consumer(&mut self) -> anyhow::Result<()> {
        tracing::warn!(
            after = ?super::consumer::STALLED_AFTER,
            "the mapping's consumer received nothing since a fault while records wait; replacing it"
        );
        let old = std::mem::replace(&mut self.consumer, join_group(&self.settings, &self.bootstrap_servers)?);
        close_detached(old);
        self.carry.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        self.stats.consumer_restarts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the topic holds records past the committed offsets, asked
    /// off the runtime by a client of its own; `false` while the broker does
    /// not answer.
    async fn records_waiting(&self) -> bool {
        let (settings, bootstrap) = (self.settings.clone(), self.bootstrap_servers.clone());
        match off_runtime(ANSWER_WITHIN, move || behind(&settings, &bootstrap)).await {
            Some(Ok(waiting)) => waiting,
            Some(Err(e)) => {
                tracing::info!(error = %e, "the broker does not answer yet; the consumer is kept");
                false
            }
            None => {
                tracing::info!(within = ?ANSWER_WITHIN, "no answer from the broker; the consumer is kept");
                false
            }
        }
    }

    /// Waits for a first record, then gathers more until the batch size, the
    /// batching window or the payload limit is reached.
    async fn next_batch(&self) -> anyhow::Result<Vec<KafkaMessage>> {
        let mut batch = Vec::new();
        let mut size = 512;
        if !self.stats.assigned.load(Ordering::Relaxed) && self.consumer.assignment().is_ok_and(|a| a.count() > 0) {
            self.stats.assigned.store(true, Ordering::Relaxed);
        }
        let carried = self.carry.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let first = match carried {
            Some(message) => message,
            None => match tokio::time::timeout(Duration::from_millis(250), self.consumer.recv()).await {
                Ok(message) => to_message(&message?),
                Err(_) => return Ok(batch),
            },
        };
        size += first.to_msk_record().json_len() + 1;
        batch.push(first);
        let window_ends = Instant::now() + self.settings.maximum_batching_window;
        while batch.len() < self.settings.batch_size {
            let left = window_ends.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let Ok(message) = tokio::time::timeout(left, self.consumer.recv()).await else { break };
            // An error (a broker going away) ends the batch; it must not
            // discard the records already taken from the consumer's queue.
            let message = match message {
                Ok(message) => to_message(&message),
                Err(e) => {
                    tracing::warn!(error = %e, records = batch.len(), "poll error; delivering the batch so far");
                    break;
                }
            };
            let record_size = message.to_msk_record().json_len() + 1 + message.topic.len() + 16;
            if size + record_size > self.settings.max_payload_bytes {
                *self.carry.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(message);
                break;
            }
            size += record_size;
            batch.push(message);
        }
        self.stats.records_polled.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(batch)
    }

    /// The MSK event for `records`, as the mapping sends it.
    fn msk_event(&self, records: &[KafkaMessage]) -> MskEvent<'static> {
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

    /// Delivers a batch by the mapping's rules ([`super::delivery`]).
    async fn deliver(&self, batch: Vec<KafkaMessage>) -> anyhow::Result<()> {
        let policy = RetryPolicy {
            bisect_batch_on_function_error: self.settings.bisect_batch_on_function_error,
            retry_limit: self.settings.effective_retry_limit(),
        };
        super::delivery::deliver(self, policy, &self.stats, batch).await
    }
}

impl Source for EsmPoller {
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

impl EsmPoller {
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

    /// Queues a commit of, per partition, the offset after the last handled
    /// record (never blocks; see [`EsmPoller::run`]).
    fn commit(&self, next: &BTreeMap<(String, i32), i64>) -> anyhow::Result<()> {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            list.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
        }
        self.consumer.commit(&list, CommitMode::Async)?;
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

fn to_message<M: Message>(m: &M) -> KafkaMessage {
    let (timestamp_ms, log_append_time) = match m.timestamp() {
        Timestamp::CreateTime(t) => (t, false),
        Timestamp::LogAppendTime(t) => (t, true),
        Timestamp::NotAvailable => (0, false),
    };
    let headers = m
        .headers()
        .map(|hs| hs.iter().map(|h| Header::new(h.key, h.value.unwrap_or_default())).collect())
        .unwrap_or_default();
    KafkaMessage {
        topic: m.topic().to_owned(),
        partition: m.partition(),
        offset: m.offset(),
        timestamp_ms,
        log_append_time,
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers,
    }
}
