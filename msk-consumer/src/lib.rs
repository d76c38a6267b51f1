//! The MSK consumer Lambda: decode every record of a batch, validate it,
//! aggregate the rides, quarantine poison records in a dead-letter sink, and
//! log one JSON summary and one EMF metrics line per batch. [`handle`] is the
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

pub mod allocator;
pub mod batch;
pub mod config;
pub mod dead_letter;
pub mod decode;
pub mod metrics;
pub mod outcomes;
pub mod raw_body;
pub mod stats;
pub mod store;
pub mod summary;

use events::msk::{BatchResponse, ItemIdentifier, MskEvent};
use serde::Serialize;

pub use crate::batch::{process_batch, FoundRides, RideOrigin};
use crate::config::Config;
use crate::dead_letter::{DeadLetterError, DeadLetterSink, LetterMeta};
pub use crate::outcomes::CONFLICTING_RIDE;
use crate::store::dynamodb::DynamoStore;
use crate::store::RideStore;
pub use crate::summary::BatchSummary;

pub struct Deps<D, S = DynamoStore> {
    pub config: Config,
    pub dead_letters: D,
    /// The rides table; `None` only where storing was turned off by name
    /// (`STORE_RIDES=false`), which every summary says.
    pub store: Option<S>,
}

/// Milliseconds since the Unix epoch: an invocation's `now_ms`.
pub use lambda_init::clock::epoch_ms;

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

/// Handles a parsed batch: reads every record ([`process_batch`]), stores
/// the valid rides once ([`outcomes::apply`]), writes the dead letters, then
/// logs the summary and its metrics and answers the mapping.
pub async fn handle<D: DeadLetterSink, S: RideStore>(
    event: &MskEvent<'_>,
    invocation: &Invocation,
    deps: &Deps<D, S>,
) -> Result<ConsumerResponse, ConsumerError> {
    let (mut stats, mut quarantine, rides) = process_batch(event, invocation, &deps.config);
    let mut unhandled: Vec<ItemIdentifier> = Vec::new();
    let mut applied = outcomes::Applied { duplicates: stats.duplicates, ..Default::default() };
    let deadline = invocation.deadline.unwrap_or_else(|| std::time::Instant::now() + DEFAULT_STORE_WINDOW);
    if let Some(store) = &deps.store {
        let writing = std::time::Instant::now();
        let answers = store.store(&rides.rides, invocation.now_ms, deadline).await;
        metrics::store_time(writing.elapsed());
        let meta = LetterMeta { request_id: invocation.request_id.clone(), now_ms: invocation.now_ms };
        applied = outcomes::apply(answers, &rides, &mut quarantine, &meta);
        if let Some((_, reason)) = applied.not_stored.first() {
            let count = applied.not_stored.len();
            tracing::error!(count, reason = %reason, "rides not stored");
            if !deps.config.partial_batch_response {
                metrics::rides_not_stored(count);
                return Err(ConsumerError::RidesNotStored { count, reason: reason.clone() });
            }
            unhandled.extend(applied.not_stored.iter().map(|(found, _)| ItemIdentifier {
                partition: found.records_key.to_owned(),
                offset: found.record.offset,
            }));
        }
    }
    // Conflicting rides join after the poison: keep each object in offset order.
    for batch in &mut quarantine {
        batch.letters.sort_by_key(|letter| letter.offset);
    }
    // Each put is raced against the time left to answer: half the margin
    // kept back from the deadline.
    let answer_by = tokio::time::Instant::from_std(deadline + DEADLINE_MARGIN / 2);
    let puts =
        dead_letter::quarantine::put_all(&deps.dead_letters, &quarantine, answer_by, &invocation.request_id).await;
    let mut dead_letters = Vec::new();
    for (batch, put) in quarantine.iter().zip(puts) {
        match put {
            Ok(location) => dead_letters.push(location),
            Err(error) if deps.config.partial_batch_response => {
                tracing::error!(error = %error, "dead letters not stored; reporting these records as failed");
                let key = &batch.records_key;
                unhandled
                    .extend(batch.letters.iter().map(|l| ItemIdentifier { partition: key.clone(), offset: l.offset }));
            }
            Err(error) => return Err(error.into()),
        }
    }
    let storage = if deps.store.is_some() { config::STORAGE_TABLE } else { config::STORAGE_OFF };
    let summary = BatchSummary::new(&mut stats, storage, &applied, dead_letters);
    metrics::record(&summary);
    summary::log(&summary, &invocation.request_id);
    if deps.config.partial_batch_response {
        unhandled.sort();
        unhandled.dedup();
        return Ok(ConsumerResponse::Partial(BatchResponse::failing(unhandled)));
    }
    Ok(ConsumerResponse::Summary(Box::new(summary)))
}
