//! The MSK consumer Lambda: decode every record of a batch, validate it,
//! aggregate the rides, quarantine poison records in a dead-letter sink, and
//! log one JSON summary and one EMF metrics line per batch. `handle` is the
//! whole function; `main` only wires the runtime and the sinks.
//!
//! Which failure does what:
//! - a poison record (bad base64, not UTF-8, invalid JSON, wrong shape,
//!   unknown schema version, failed validation, oversized) is quarantined and
//!   the batch succeeds: one bad record never blocks its partition;
//! - a tombstone (null value) is counted and skipped: it carries no ride;
//! - a valid ride is stored in the rides table (`store`), once: a ride
//!   already stored (a redelivery) is counted as a duplicate and leaves the
//!   table as it was; a changed ride under a stored event id (a producer
//!   bug) is dead-lettered as `conflicting_ride`, the stored one kept;
//! - the dead-letter sink or the rides table failing is an infrastructure
//!   failure: the invocation fails so the mapping retries the batch, or, with
//!   `PARTIAL_BATCH_RESPONSE=true`, only the affected records are reported.

pub mod config;
pub mod dead_letter;
pub mod decode;
pub mod memory;
pub mod metrics;
pub mod raw_body;
pub mod stats;
pub mod store;

use std::collections::BTreeMap;

use events::msk::{BatchResponse, ItemIdentifier, MskEvent};
use serde::Serialize;

use crate::config::Config;
use crate::dead_letter::{DeadLetter, DeadLetterBatch, DeadLetterError, DeadLetterSink, LetterMeta};
use crate::decode::{decode_record, Decoded};
use crate::stats::{BatchStats, Latency, PartitionSpan};
use crate::store::dynamodb::DynamoStore;
use crate::store::{Outcome, RideStore, RideToStore};

pub struct Deps<D, S = DynamoStore> {
    pub config: Config,
    pub dead_letters: D,
    /// The rides table; `None` only where storing was turned off by name
    /// (`STORE_RIDES=false`), which every summary says.
    pub store: Option<S>,
}

/// Milliseconds since the Unix epoch: an invocation's `now_ms`.
pub fn epoch_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// Facts about this invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub now_ms: i64,
    /// When writes must give up so the function can still answer (the
    /// Lambda deadline less a margin); `None`: [`DEFAULT_STORE_WINDOW`] from now.
    pub deadline: Option<std::time::Instant>,
}

/// How long the store may keep retrying when the invocation has no deadline.
pub const DEFAULT_STORE_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// What the function keeps back from its deadline to write dead letters and answer.
pub const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_millis(1_500);

/// The per-batch summary: logged as JSON, and returned when the mapping does
/// not use partial batch responses (handy with `cargo lambda invoke`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSummary {
    /// Where the rides went: [`config::STORAGE_TABLE`], or
    /// [`config::STORAGE_OFF`] when storing was turned off by name.
    pub storage: &'static str,
    pub records: usize,
    pub rides: usize,
    pub legacy_rides: usize,
    pub poison: usize,
    pub poison_by_kind: BTreeMap<&'static str, usize>,
    pub tombstones: usize,
    /// Rides already stored before this delivery (with a store), or seen
    /// twice in this batch (without one): redundant deliveries.
    pub duplicates: usize,
    /// Rides written to the table by this invocation.
    pub stored: usize,
    /// Rides whose event id is stored with other content: dead-lettered.
    pub conflicting: usize,
    /// Rides the table did not take by the deadline: reported for delivery
    /// again (`batchItemFailures`).
    pub not_stored: usize,
    pub value_bytes: usize,
    pub latency_ms: Option<Latency>,
    pub rides_per_pickup: BTreeMap<String, u32>,
    pub rides_per_destination: BTreeMap<String, u32>,
    pub partitions: BTreeMap<String, PartitionSpan>,
    /// Where each partition's poison records went.
    pub dead_letters: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ConsumerResponse {
    Partial(BatchResponse),
    Summary(Box<BatchSummary>),
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("the payload is not an MSK event: {0}")]
    NotAnMskEvent(String),
    #[error(transparent)]
    DeadLetters(#[from] DeadLetterError),
    #[error("{count} rides were not stored in the rides table: {reason}")]
    RidesNotStored { count: usize, reason: String },
}

impl From<ConsumerError> for lambda_runtime::Diagnostic {
    fn from(error: ConsumerError) -> Self {
        let error_type = match &error {
            ConsumerError::NotAnMskEvent(_) => "NotAnMskEvent",
            ConsumerError::DeadLetters(_) => "DeadLetterSinkUnavailable",
            ConsumerError::RidesNotStored { .. } => "RideStoreUnavailable",
        };
        lambda_runtime::Diagnostic { error_type: error_type.to_owned(), error_message: error.to_string() }
    }
}

/// Parses the invocation body as Lambda sent it (borrowing from it) and
/// handles it.
pub async fn handle_payload<D: DeadLetterSink>(
    payload: &[u8],
    invocation: &Invocation,
    deps: &Deps<D>,
) -> Result<ConsumerResponse, ConsumerError> {
    handle(&parse_event(payload)?, invocation, deps).await
}

/// The MSK event in an invocation body; [`events::payload::msk_event`] takes
/// the fast path for the layout Lambda sends. An event from another source
/// (a trigger wired to the wrong function) is refused with what arrived,
/// rather than read as an empty batch and answered as a success.
pub fn parse_event(payload: &[u8]) -> Result<MskEvent<'_>, ConsumerError> {
    let event = events::payload::msk_event(payload).map_err(|e| ConsumerError::NotAnMskEvent(e.to_string()))?;
    if let Some(source) = event.event_source.as_deref() {
        if source != events::msk::EVENT_SOURCE_MSK && source != events::msk::EVENT_SOURCE_SELF_MANAGED {
            return Err(ConsumerError::NotAnMskEvent(format!(
                "eventSource is {source:?}, not \"aws:kafka\" or \"SelfManagedKafka\": is another trigger wired to this function?"
            )));
        }
    }
    // Only an empty batch needs a second look: was `records` there at all?
    if event.records.is_empty() {
        let fields: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(payload).unwrap_or_default();
        if !fields.contains_key("records") {
            let what = if fields.contains_key("Records") {
                "it has `Records` (the shape of SQS, SNS, S3 and Kinesis events) and no `records`"
            } else {
                "it has no `records`"
            };
            return Err(ConsumerError::NotAnMskEvent(format!(
                "{what}; this function takes the batches of an MSK or self-managed Kafka event source mapping"
            )));
        }
    }
    Ok(event)
}

pub async fn handle<D: DeadLetterSink, S: RideStore>(
    event: &MskEvent<'_>,
    invocation: &Invocation,
    deps: &Deps<D, S>,
) -> Result<ConsumerResponse, ConsumerError> {
    let (mut stats, mut quarantine, rides) = process_batch(event, invocation, &deps.config);
    let mut unhandled: Vec<ItemIdentifier> = Vec::new();
    let (mut duplicates, mut stored, mut conflicting, mut not_stored_count) = (stats.duplicates, 0, 0, 0);
    let deadline = invocation.deadline.unwrap_or_else(|| std::time::Instant::now() + DEFAULT_STORE_WINDOW);
    if let Some(store) = &deps.store {
        let writing = std::time::Instant::now();
        let mut outcomes = store.store(&rides.rides, invocation.now_ms, deadline).await.into_iter();
        metrics::store_time(writing.elapsed());
        duplicates = 0;
        let meta = LetterMeta { request_id: invocation.request_id.clone(), now_ms: invocation.now_ms };
        let mut not_stored: Vec<(&RideOrigin<'_>, String)> = Vec::new();
        for (ride, found) in rides.rides.iter().zip(&rides.origins) {
            // One outcome per ride is the store's contract; a ride it gave
            // none for is not stored (never acknowledged by default).
            let outcome = outcomes
                .next()
                .unwrap_or_else(|| Outcome::NotStored { reason: "the store returned no outcome for this ride".into() });
            match outcome {
                Outcome::Stored => stored += 1,
                Outcome::AlreadyStored => duplicates += 1,
                Outcome::Conflicting { differs } => {
                    conflicting += 1;
                    let reason = format!(
                        "event id {} is stored with another {}: a second ride under one event id (a producer bug); the stored ride is kept",
                        ride.event_id,
                        differs.join(", ")
                    );
                    let letter = DeadLetter::new(found.records_key, found.record, CONFLICTING_RIDE, reason, &meta);
                    match quarantine.iter_mut().find(|b| b.records_key == found.records_key) {
                        Some(batch) => batch.letters.push(letter),
                        None => quarantine
                            .push(DeadLetterBatch { records_key: found.records_key.to_owned(), letters: vec![letter] }),
                    }
                }
                Outcome::NotStored { reason } => not_stored.push((found, reason)),
            }
        }
        not_stored_count = not_stored.len();
        if let Some((_, reason)) = not_stored.first() {
            tracing::error!(count = not_stored.len(), reason = %reason, "rides not stored");
            if !deps.config.partial_batch_response {
                metrics::rides_not_stored(not_stored.len());
                return Err(ConsumerError::RidesNotStored { count: not_stored.len(), reason: reason.clone() });
            }
            unhandled.extend(not_stored.iter().map(|(found, _)| ItemIdentifier {
                partition: found.records_key.to_owned(),
                offset: found.record.offset,
            }));
        }
    }
    let mut dead_letters = Vec::new();
    for batch in &mut quarantine {
        // Conflicting rides join after the poison: keep each object in offset order.
        batch.letters.sort_by_key(|letter| letter.offset);
    }
    // One object per partition, written concurrently (on S3, each put is a
    // round trip); results are taken in partition order. Each put is raced
    // against the time left to answer (half the margin kept back from the
    // deadline): a sink that never answers fails these records, in time.
    let answer_by = tokio::time::Instant::from_std(deadline + DEADLINE_MARGIN / 2);
    let puts = futures::future::join_all(quarantine.iter().map(|batch| async move {
        tokio::time::timeout_at(answer_by, deps.dead_letters.put(batch)).await.unwrap_or_else(|_| {
            Err(DeadLetterError {
                sink: "dead-letter sink".into(),
                records_key: batch.records_key.clone(),
                message: "no answer by the invocation's deadline".into(),
            })
        })
    }))
    .await;
    for (batch, put) in quarantine.iter().zip(puts) {
        match put {
            Ok(location) => {
                log_quarantine(batch, &location, &invocation.request_id);
                dead_letters.push(location);
            }
            Err(error) if deps.config.partial_batch_response => {
                tracing::error!(error = %error, "dead letters not stored; reporting these records as failed");
                let key = &batch.records_key;
                unhandled
                    .extend(batch.letters.iter().map(|l| ItemIdentifier { partition: key.clone(), offset: l.offset }));
            }
            Err(error) => return Err(error.into()),
        }
    }
    let summary = BatchSummary {
        storage: if deps.store.is_some() { config::STORAGE_TABLE } else { config::STORAGE_OFF },
        records: stats.records,
        rides: stats.rides,
        legacy_rides: stats.legacy_rides,
        poison: stats.poison(),
        poison_by_kind: stats.poison_by_kind.clone(),
        tombstones: stats.tombstones,
        duplicates,
        stored,
        conflicting,
        not_stored: not_stored_count,
        value_bytes: stats.value_bytes,
        latency_ms: stats.latency(),
        rides_per_pickup: stats.rides_per_pickup(),
        rides_per_destination: stats.rides_per_destination(),
        partitions: stats.partitions().clone(),
        dead_letters,
    };
    metrics::record(&summary);
    log_summary(&summary, &invocation.request_id);
    if deps.config.partial_batch_response {
        unhandled.sort();
        unhandled.dedup();
        return Ok(ConsumerResponse::Partial(BatchResponse::failing(unhandled)));
    }
    Ok(ConsumerResponse::Summary(Box::new(summary)))
}

/// The dead-letter kind of a ride whose event id is stored with other content.
pub const CONFLICTING_RIDE: &str = "conflicting_ride";

/// The valid rides of a batch to store, and (at the same index) the record
/// each came in.
#[derive(Default)]
pub struct FoundRides<'e> {
    pub rides: Vec<RideToStore>,
    pub origins: Vec<RideOrigin<'e>>,
}

/// Where a ride of the batch came from: its partition and record.
pub struct RideOrigin<'e> {
    pub records_key: &'e str,
    pub record: &'e events::msk::MskRecord<'e>,
}

/// Decodes and observes every record; returns the stats, the poison records
/// grouped by partition, and (when a rides table is configured) the valid
/// rides to store.
pub fn process_batch<'e>(
    event: &'e MskEvent<'_>,
    invocation: &Invocation,
    config: &Config,
) -> (BatchStats, Vec<DeadLetterBatch<'e>>, FoundRides<'e>) {
    let now_ms = invocation.now_ms;
    let mut stats = BatchStats::with_capacity(event.record_count());
    let mut quarantine = Vec::new();
    let collect = config.rides_table.is_some();
    let mut rides = FoundRides::default();
    if collect {
        rides.rides.reserve(event.record_count());
        rides.origins.reserve(event.record_count());
    }
    let meta = LetterMeta { request_id: invocation.request_id.clone(), now_ms };
    let mut buf = Vec::with_capacity(1024);
    for (records_key, records) in &event.records {
        let mut letters = Vec::new();
        stats.observe_partition(records_key, records);
        for (index, record) in records.iter().enumerate() {
            match decode_record(record, &mut buf, config.max_record_bytes, now_ms) {
                Ok(Decoded::Ride(ride)) => {
                    stats.observe_ride(&ride, now_ms);
                    if collect {
                        let topic = record.topic.as_deref().unwrap_or_else(|| {
                            events::msk::split_records_key(records_key).map_or("", |(topic, _)| topic)
                        });
                        rides.rides.push(RideToStore::new(&ride, topic, record.partition, record.offset));
                        rides.origins.push(RideOrigin { records_key, record });
                    }
                }
                Ok(Decoded::Tombstone) => stats.observe_tombstone(),
                Err(poison) => {
                    stats.observe_poison(poison.kind());
                    let reason =
                        format!("record {index} of partition {} (offset {}): {poison}", &**records_key, record.offset);
                    letters.push(DeadLetter::new(records_key, record, poison.kind(), reason, &meta));
                }
            }
        }
        if !letters.is_empty() {
            quarantine.push(DeadLetterBatch { records_key: records_key.to_string(), letters });
        }
    }
    (stats, quarantine, rides)
}

/// Reasons written out in full on a partition's quarantine line; the rest
/// are counted, and every one is in the dead-letter object.
const REASONS_PER_LINE: usize = 10;

/// One warning per partition with poison records, once they are stored:
/// how many, their kinds, the first and last offsets, the first reasons
/// (each names its offset) and the object that holds them all. Its size is
/// bounded whatever the batch holds (CloudWatch Logs cuts events at
/// 256 KB). One line per record would cost a log event per record, and a
/// schema change that poisons a whole batch (thousands of records, again on
/// every retry) would flood the log group and its bill.
fn log_quarantine(batch: &DeadLetterBatch<'_>, location: &str, request_id: &str) {
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    for letter in &batch.letters {
        *kinds.entry(letter.reason_kind).or_default() += 1;
    }
    let mut reasons: Vec<&str> = batch.letters.iter().take(REASONS_PER_LINE).map(|l| l.reason.as_str()).collect();
    let more = batch.letters.len().saturating_sub(REASONS_PER_LINE);
    let more_note = (more > 0).then(|| format!("and {more} more in the dead-letter object"));
    reasons.extend(more_note.as_deref());
    tracing::warn!(
        request_id,
        records_key = batch.records_key.as_str(),
        poison = batch.letters.len(),
        poison_by_kind = ?kinds,
        first_offset = batch.letters.first().map(|l| l.offset),
        last_offset = batch.letters.last().map(|l| l.offset),
        reasons = ?reasons,
        dead_letters = location,
        "poison records quarantined"
    );
}

fn log_summary(summary: &BatchSummary, request_id: &str) {
    let latency = summary.latency_ms.unwrap_or_default();
    tracing::info!(
        request_id,
        storage = summary.storage,
        records = summary.records,
        rides = summary.rides,
        legacy_rides = summary.legacy_rides,
        poison = summary.poison,
        poison_by_kind = ?summary.poison_by_kind,
        tombstones = summary.tombstones,
        duplicates = summary.duplicates,
        stored = summary.stored,
        conflicting = summary.conflicting,
        not_stored = summary.not_stored,
        value_bytes = summary.value_bytes,
        latency_p50_ms = latency.p50,
        latency_p99_ms = latency.p99,
        latency_max_ms = latency.max,
        rides_per_pickup = ?summary.rides_per_pickup,
        rides_per_destination = ?summary.rides_per_destination,
        partitions = ?summary.partitions,
        dead_letters = ?summary.dead_letters,
        "batch processed"
    );
}
