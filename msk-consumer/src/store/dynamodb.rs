//! Rides into DynamoDB: conditional puts (`attribute_not_exists(eventId)`),
//! up to 100 per `TransactWriteItems` (the most DynamoDB takes in one
//! conditional request; `BatchWriteItem` takes 25 but cannot be conditional,
//! so a redelivery would overwrite the stored item), several transactions
//! at once.
//!
//! A transaction is all or nothing: when it is cancelled, its
//! `CancellationReasons` (one per item, in order) say which items already
//! existed (`ConditionalCheckFailed`, with the stored item, so a changed ride
//! is told from a redelivered one without reading it) and which were only
//! held back (`None`, throttling, a conflict); the stored ones are settled
//! and the rest sent again, with backoff, until the deadline. So duplicates
//! are found by the write itself, never by a read per ride.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use futures::StreamExt;

use super::{copy_outcome, first_copies, item, Outcome, RideStore, RideToStore};

/// Items per `TransactWriteItems` (DynamoDB's limit).
pub const MAX_ITEMS_PER_TRANSACTION: usize = 100;
/// Transactions in flight at once per batch.
pub const CONCURRENT_TRANSACTIONS: usize = 8;
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl_seconds: i64,
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, ttl_seconds: i64) -> Self {
        Self { client, table: table.into(), ttl_seconds }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Writes `rides` (distinct event ids, at most 100) in one transaction,
    /// again for those held back, until each is settled or the deadline.
    async fn transaction(&self, rides: &[&RideToStore], consumed_at_ms: i64, deadline: Instant) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; rides.len()];
        let mut pending: Vec<usize> = (0..rides.len()).collect();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let held_back = match self.send(rides, &pending, consumed_at_ms).await {
                Ok(()) => {
                    for &i in &pending {
                        outcomes[i] = Some(Outcome::Stored);
                    }
                    Vec::new()
                }
                Err(Attempt::Cancelled(reasons)) => {
                    let mut held_back = Vec::new();
                    let mut causes: Vec<String> = Vec::new();
                    for (&i, reason) in pending.iter().zip(reasons) {
                        match reason {
                            Reason::Exists(stored) => {
                                let differs = item::differs(rides[i], &stored);
                                outcomes[i] = Some(if differs.is_empty() {
                                    Outcome::AlreadyStored
                                } else {
                                    Outcome::Conflicting { differs }
                                });
                            }
                            Reason::HeldBack(code) => {
                                if code != "None" && !causes.contains(&code) {
                                    causes.push(code);
                                }
                                held_back.push(i)
                            }
                            Reason::Refused(why) => outcomes[i] = Some(Outcome::NotStored { reason: why }),
                        }
                    }
                    if !causes.is_empty() {
                        tracing::warn!(table = %self.table, items = held_back.len(), causes = ?causes, "rides held back; retrying");
                    }
                    held_back
                }
                Err(Attempt::Retry(why)) => {
                    tracing::warn!(table = %self.table, items = pending.len(), error = %why, "rides not written yet; retrying");
                    pending.clone()
                }
                Err(Attempt::Fail(why)) => {
                    for &i in &pending {
                        outcomes[i] = Some(Outcome::NotStored { reason: why.clone() });
                    }
                    Vec::new()
                }
            };
            pending = held_back;
            if pending.is_empty() {
                break;
            }
            let wait = jittered(backoff);
            if Instant::now() + wait >= deadline {
                for &i in &pending {
                    outcomes[i] = Some(Outcome::NotStored {
                        reason: "DynamoDB held the write back (throttled or contended) until the invocation's deadline"
                            .into(),
                    });
                }
                break;
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Outcome::NotStored { reason: "no answer for this ride".into() }))
            .collect()
    }

    async fn send(&self, rides: &[&RideToStore], pending: &[usize], consumed_at_ms: i64) -> Result<(), Attempt> {
        let mut items = Vec::with_capacity(pending.len());
        for &i in pending {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item::to_item(rides[i], consumed_at_ms, self.ttl_seconds)))
                .condition_expression(item::ONLY_IF_NEW)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(|e| Attempt::Fail(format!("building the put: {e}")))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        // The SDK sends its own retries of this request with the same token,
        // so a write that landed before a lost answer is not taken for a
        // duplicate of itself.
        let token = uuid::Uuid::new_v4().to_string();
        let result =
            self.client.transact_write_items().set_transact_items(Some(items)).client_request_token(token).send().await;
        let error = match result {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let message = aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string();
        let Some(service) = error.as_service_error() else {
            // Timeouts and connection failures, after the SDK's own retries.
            return Err(Attempt::Retry(message));
        };
        // A 5xx, whatever its body (DynamoDB's InternalServerError; moto
        // answers an HTML 500 when concurrent transactions race in it).
        if error.raw_response().is_some_and(|raw| raw.status().is_server_error()) {
            return Err(Attempt::Retry(message));
        }
        match service {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                let reasons = cancelled.cancellation_reasons();
                if reasons.len() != pending.len() {
                    return Err(Attempt::Retry(format!(
                        "{message} ({} reasons for {} items)",
                        reasons.len(),
                        pending.len()
                    )));
                }
                Err(Attempt::Cancelled(
                    reasons
                        .iter()
                        .map(|r| match r.code().unwrap_or("None") {
                            "ConditionalCheckFailed" => Reason::Exists(r.item().cloned().unwrap_or_default()),
                            "None"
                            | "ThrottlingError"
                            | "ProvisionedThroughputExceeded"
                            | "TransactionConflict"
                            | "RequestLimitExceeded" => Reason::HeldBack(r.code().unwrap_or("None").to_owned()),
                            other => Reason::Refused(format!("{other}: {}", r.message().unwrap_or_default())),
                        })
                        .collect(),
                ))
            }
            TransactWriteItemsError::ProvisionedThroughputExceededException(_)
            | TransactWriteItemsError::RequestLimitExceeded(_)
            | TransactWriteItemsError::ThrottlingException(_)
            | TransactWriteItemsError::TransactionInProgressException(_)
            | TransactWriteItemsError::InternalServerError(_) => Err(Attempt::Retry(message)),
            other if other.code() == Some("ThrottlingException") => Err(Attempt::Retry(message)),
            // Missing table, no permission, a malformed request: retrying
            // within this invocation will not help; the mapping's retry may.
            _ => Err(Attempt::Fail(message)),
        }
    }
}

enum Attempt {
    /// Cancelled: one reason per pending item, in order.
    Cancelled(Vec<Reason>),
    /// Nothing written; worth sending again.
    Retry(String),
    /// Nothing written; not worth sending again in this invocation.
    Fail(String),
}

enum Reason {
    /// The event id was already stored: this is the stored item.
    Exists(std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>),
    /// Not written because of another item, throttling or contention.
    HeldBack(String),
    /// Refused for itself (too large, malformed).
    Refused(String),
}

/// `base` plus up to `base` of jitter, so concurrent writers spread out.
fn jittered(base: Duration) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    let base_ms = u64::try_from(base.as_millis()).unwrap_or(1000).max(1);
    base + Duration::from_millis(u64::from(nanos) % base_ms)
}

impl RideStore for DynamoStore {
    async fn store(&self, rides: &[RideToStore], consumed_at_ms: i64, deadline: Instant) -> Vec<Outcome> {
        let firsts = first_copies(rides);
        let unique: Vec<usize> = (0..rides.len()).filter(|&i| firsts[i] == i).collect();
        let chunks: Vec<Vec<usize>> = unique.chunks(MAX_ITEMS_PER_TRANSACTION).map(<[usize]>::to_vec).collect();
        let written: Vec<(Vec<usize>, Vec<Outcome>)> = futures::stream::iter(chunks)
            .map(|chunk| async move {
                let chunk_rides: Vec<&RideToStore> = chunk.iter().map(|&i| &rides[i]).collect();
                let outcomes = self.transaction(&chunk_rides, consumed_at_ms, deadline).await;
                (chunk, outcomes)
            })
            .buffer_unordered(CONCURRENT_TRANSACTIONS)
            .collect()
            .await;
        let mut outcomes: Vec<Option<Outcome>> = vec![None; rides.len()];
        for (chunk, chunk_outcomes) in written {
            for (i, outcome) in chunk.into_iter().zip(chunk_outcomes) {
                outcomes[i] = Some(outcome);
            }
        }
        for (i, &first) in firsts.iter().enumerate() {
            if first != i {
                let first_outcome =
                    outcomes[first].clone().unwrap_or(Outcome::NotStored { reason: "not written".into() });
                outcomes[i] = Some(copy_outcome(&rides[i], &rides[first], &first_outcome));
            }
        }
        outcomes.into_iter().map(|o| o.unwrap_or(Outcome::NotStored { reason: "not written".into() })).collect()
    }
}
