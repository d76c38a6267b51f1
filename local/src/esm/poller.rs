//! The MSK mapping's reader: polls the group's consumer, hands each record
//! to its partition's lane ([`super::lanes`]), commits what the lanes
//! finished, and replaces a consumer that wedged ([`super::consumer`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use events::msk::{Header, KafkaMessage};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{Headers, Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::{mpsc, Semaphore};

use super::consumer::{behind, close_detached, join_group, off_runtime, stalled, GroupConsumer, ANSWER_WITHIN};
use super::invoke::FunctionInvoker;
use super::lanes::{max_concurrent_invocations, run_lane, LaneShared, Queued};
use super::msk_source::MskSource;
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
    /// Partitions paused because their lane was full ([`super::lanes`]).
    pub partition_pauses: AtomicU64,
    /// Consumers replaced after wedging past a fault ([`super::consumer`]).
    pub consumer_restarts: AtomicU64,
    /// Kinesis mapping: the largest age of a batch's newest record when it
    /// was invoked (ms), what `GetRecords.IteratorAgeMilliseconds` reports
    /// and the `HopBehind` alarm watches.
    pub max_iterator_age_ms: AtomicU64,
}

pub struct EsmPoller {
    source: Arc<MskSource>,
    /// Replaced when it wedges ([`super::consumer`]).
    consumer: GroupConsumer,
}

/// A partition's lane as the reader holds it.
struct Lane {
    queue: mpsc::Sender<Queued>,
    /// Records read while the lane was full, in order; the partition is
    /// paused until they are in the lane.
    parked: VecDeque<KafkaMessage>,
    paused: bool,
}

/// Records a lane holds before the reader parks the rest and pauses its
/// partition: two batches' worth.
fn lane_capacity(batch_size: usize) -> usize {
    batch_size.clamp(1, 10_000) * 2
}

/// How long the reader waits for a record before it looks after its lanes.
const POLL_WAIT: Duration = Duration::from_millis(100);

impl EsmPoller {
    pub fn new(
        settings: EsmSettings,
        bootstrap_servers: &str,
        invoker: FunctionInvoker,
        stats: Arc<EsmStats>,
    ) -> anyhow::Result<Self> {
        let consumer = join_group(&settings, bootstrap_servers)?;
        let source = MskSource { settings, invoker, bootstrap_servers: bootstrap_servers.to_owned(), stats };
        Ok(Self { source: Arc::new(source), consumer })
    }

    /// Reads records into their partitions' lanes, commits what the lanes
    /// finished, replaces a wedged consumer; until the task is aborted or a
    /// lane fails (its on-failure destination could not be written).
    pub async fn run(mut self) -> anyhow::Result<()> {
        let settings = self.source.settings.clone();
        let stats = self.source.stats.clone();
        let (finished_tx, mut finished) = mpsc::unbounded_channel();
        let shared = LaneShared {
            source: self.source.clone(),
            permits: Arc::new(Semaphore::new(max_concurrent_invocations(settings.maximum_pollers))),
            generation: Arc::new(AtomicU64::new(0)),
            busy: Arc::new(AtomicUsize::new(0)),
            finished: finished_tx,
        };
        let mut lanes: HashMap<(String, i32), Lane> = HashMap::new();
        let mut workers = tokio::task::JoinSet::new();
        let mut positions: BTreeMap<(String, i32), i64> = BTreeMap::new();
        // The last progress: a record received or a batch finished.
        let mut last_progress = Instant::now();
        let mut last_asked = None;
        // When records were first seen waiting with no progress since.
        let mut waiting_since: Option<Instant> = None;
        loop {
            let mut done = 0;
            while let Ok(outcome) = finished.try_recv() {
                let batch = outcome?;
                let next = positions.entry((batch.topic, batch.partition)).or_insert(batch.next_offset);
                *next = (*next).max(batch.next_offset);
                done += batch.records;
            }
            if done > 0 {
                last_progress = Instant::now();
                self.commit(&positions, done);
            }
            self.unpark(&mut lanes, shared.generation.load(Ordering::SeqCst));
            if !stats.assigned.load(Ordering::Relaxed) && self.consumer.assignment().is_ok_and(|a| a.count() > 0) {
                stats.assigned.store(true, Ordering::Relaxed);
            }
            let message = match tokio::time::timeout(POLL_WAIT, self.consumer.recv()).await {
                Ok(Ok(message)) => to_message(&message),
                Ok(Err(e)) => {
                    // A broker outage: keep polling, librdkafka reconnects.
                    tracing::warn!(error = %e, "poll failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                Err(_) => {
                    // Lanes delivering (retries can take minutes) or holding
                    // records are progress to come, not a stall.
                    let idle = shared.busy.load(Ordering::SeqCst) == 0
                        && lanes.values().all(|l| l.parked.is_empty() && l.queue.capacity() == l.queue.max_capacity());
                    if idle && stalled(last_progress, last_asked, Instant::now()) {
                        // Records that just arrived on an idle topic wait too,
                        // for a moment: replace only a consumer that left
                        // them waiting from one question to the next.
                        let waiting = self.records_waiting().await;
                        match waiting_since {
                            Some(since) if waiting && since > last_progress => {
                                self.replace_consumer(&shared, &mut lanes)?;
                                last_progress = Instant::now();
                                waiting_since = None;
                            }
                            _ => waiting_since = waiting.then(Instant::now),
                        }
                        last_asked = Some(Instant::now());
                    }
                    continue;
                }
            };
            last_progress = Instant::now();
            stats.records_polled.fetch_add(1, Ordering::Relaxed);
            let key = (message.topic.clone(), message.partition);
            let lane = lanes.entry(key.clone()).or_insert_with(|| {
                let (queue, receiver) = mpsc::channel(lane_capacity(settings.batch_size));
                workers.spawn(run_lane(shared.clone(), receiver));
                Lane { queue, parked: VecDeque::new(), paused: false }
            });
            let generation = shared.generation.load(Ordering::SeqCst);
            if lane.parked.is_empty() {
                match lane.queue.try_send(Queued { message, generation }) {
                    Ok(()) => continue,
                    Err(mpsc::error::TrySendError::Full(queued)) => lane.parked.push_back(queued.message),
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        // A lane ends only after reporting its failure.
                        continue;
                    }
                }
            } else {
                lane.parked.push_back(message);
            }
            if !lane.paused {
                lane.paused = self.pause(&key, true);
                stats.partition_pauses.fetch_add(u64::from(lane.paused), Ordering::Relaxed);
            }
        }
    }

    /// Moves parked records into their lanes as room frees up, and resumes
    /// each partition whose parked records are all in.
    fn unpark(&self, lanes: &mut HashMap<(String, i32), Lane>, generation: u64) {
        for (partition, lane) in lanes.iter_mut() {
            while let Some(message) = lane.parked.pop_front() {
                match lane.queue.try_reserve() {
                    Ok(room) => room.send(Queued { message, generation }),
                    Err(_) => {
                        lane.parked.push_front(message);
                        break;
                    }
                }
            }
            if lane.paused && lane.parked.is_empty() {
                lane.paused = !self.pause(partition, false);
            }
        }
    }

    /// Pauses (or resumes) fetching `partition`. librdkafka then fetches it
    /// again from the record after the last one it handed over, and drops
    /// what it had fetched past that (`rd_kafka_toppar_pause_resume`), so
    /// nothing is skipped or read twice. Whether it took effect.
    fn pause(&self, (topic, partition): &(String, i32), pause: bool) -> bool {
        let mut list = TopicPartitionList::new();
        list.add_partition(topic, *partition);
        let done = if pause { self.consumer.pause(&list) } else { self.consumer.resume(&list) };
        match done {
            Ok(()) => {
                tracing::debug!(topic, partition, pause, "lane full: partition paused, or drained: resumed");
                true
            }
            Err(e) => {
                tracing::warn!(topic, partition, pause, error = %e, "pause/resume not taken");
                false
            }
        }
    }

    /// Closes a consumer that wedged after a fault and joins the group with a
    /// new one, which resumes from the committed offsets: what the lanes
    /// still queue from the old one is dropped (read again by the new one).
    fn replace_consumer(
        &mut self,
        shared: &LaneShared,
        lanes: &mut HashMap<(String, i32), Lane>,
    ) -> anyhow::Result<()> {
        tracing::warn!(
            after = ?super::consumer::STALLED_AFTER,
            "the mapping's consumer received nothing since a fault while records wait; replacing it"
        );
        let settings = &self.source.settings;
        let old = std::mem::replace(&mut self.consumer, join_group(settings, &self.source.bootstrap_servers)?);
        close_detached(old);
        shared.generation.fetch_add(1, Ordering::SeqCst);
        for lane in lanes.values_mut() {
            lane.parked.clear();
            lane.paused = false;
        }
        self.source.stats.consumer_restarts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the topic holds records past the committed offsets, asked
    /// off the runtime by a client of its own; `false` while the broker does
    /// not answer.
    async fn records_waiting(&self) -> bool {
        let (settings, bootstrap) = (self.source.settings.clone(), self.source.bootstrap_servers.clone());
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

    /// Queues a commit of, per partition, the offset after the last finished
    /// record. Asynchronously: a synchronous commit blocks its thread until
    /// the group coordinator answers, which with the broker down is never,
    /// and a blocked runtime thread can stall the very timers that bring the
    /// broker back (it deadlocked the fault test). Every commit carries every
    /// partition's position, so one that fails (broker down, group
    /// rebalancing) is made good by the next. At worst a batch is delivered
    /// again: at-least-once.
    fn commit(&self, next: &BTreeMap<(String, i32), i64>, records: usize) {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            if let Err(e) = list.add_partition_offset(topic, *partition, Offset::Offset(*offset)) {
                tracing::warn!(error = %e, "offset not added to the commit");
            }
        }
        match self.consumer.commit(&list, CommitMode::Async) {
            Ok(()) => {
                self.source.stats.records_committed.fetch_add(records as u64, Ordering::Relaxed);
            }
            Err(e) => tracing::warn!(error = %e, "offset commit not queued; the next one carries it"),
        }
    }
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
