//! Rides into DynamoDB: one conditional `PutItem` per ride
//! (`attribute_not_exists(eventId)`, the stored item returned when the
//! condition fails), up to [`CONCURRENT_PUTS`] in flight.
//!
//! Why not batches: `BatchWriteItem` (25 items) cannot be conditional, so a
//! redelivery (at another offset, consumed later) would overwrite the stored
//! item; `TransactWriteItems` (100 conditional items) costs two write units
//! per item, cancels all 100 when one is throttled or already there, and
//! moto, the local emulator, copies the whole table per transaction and
//! fails concurrent ones. A conditional put costs one write unit, settles
//! each ride on its own, and tells a redelivery from a changed ride by the
//! item it returns: duplicates are found by the write itself, never by a
//! read per ride (an emulator that refuses without the item, dynalite, costs
//! one consistent read per refusal). A refusal of the item this same
//! delivery wrote (an attempt whose answer was lost, then retried) counts
//! as stored, not as a duplicate. Throttling, 5xx answers and lost
//! connections are retried per ride with jittered backoff until the
//! deadline, and each attempt is raced against it: a put DynamoDB has not
//! answered by then (a stalled endpoint) is abandoned and the ride reported
//! as not stored, so the function answers in time with exactly the rides to
//! deliver again.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use futures::StreamExt;

use super::{copy_outcome, first_copies, item, Outcome, RideStore, RideToStore};

/// Puts in flight at once per batch (the SDK's HTTP client pools a
/// connection for each).
pub const CONCURRENT_PUTS: usize = 64;
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl_seconds: i64,
}

/// One put's answer.
enum Attempt {
    Done(Outcome),
    /// Not written; worth sending again (throttled, 5xx, no answer).
    Retry(String),
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, ttl_seconds: i64) -> Self {
        Self { client, table: table.into(), ttl_seconds }
    }

    /// Writes one ride, again while DynamoDB holds it back, until the deadline.
    async fn put(&self, ride: &RideToStore, consumed_at_ms: i64, deadline: Instant) -> Outcome {
        let mut backoff = FIRST_BACKOFF;
        loop {
            if Instant::now() >= deadline {
                return Outcome::NotStored { reason: "not written: the invocation's deadline had passed".into() };
            }
            let attempt =
                tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), self.attempt(ride, consumed_at_ms));
            let why = match attempt.await {
                Ok(Attempt::Done(outcome)) => return outcome,
                Ok(Attempt::Retry(why)) => why,
                Err(_) => {
                    return Outcome::NotStored {
                        reason: "DynamoDB had not answered by the invocation's deadline".into(),
                    }
                }
            };
            let wait = jittered(backoff);
            if Instant::now() + wait >= deadline {
                return Outcome::NotStored {
                    reason: format!("DynamoDB held the write back until the invocation's deadline (last: {why})"),
                };
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn attempt(&self, ride: &RideToStore, consumed_at_ms: i64) -> Attempt {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item::to_item(ride, consumed_at_ms, self.ttl_seconds)))
            .condition_expression(item::ONLY_IF_NEW)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let error = match result {
            Ok(_) => return Attempt::Done(Outcome::Stored),
            Err(error) => error,
        };
        let message = aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string();
        let Some(service) = error.as_service_error() else {
            // Timeouts and connection failures, after the SDK's own retries.
            return Attempt::Retry(message);
        };
        if let PutItemError::ConditionalCheckFailedException(failed) = service {
            return match failed.item().filter(|item| !item.is_empty()) {
                Some(stored) => Attempt::Done(compared(ride, consumed_at_ms, stored)),
                // DynamoDB returns it when asked; an emulator may not
                // (dynalite): then read it, so a changed ride is still told
                // from a redelivery.
                None => self.read_stored(ride, consumed_at_ms).await,
            };
        }
        let throttled = matches!(
            service,
            PutItemError::ProvisionedThroughputExceededException(_)
                | PutItemError::RequestLimitExceeded(_)
                | PutItemError::InternalServerError(_)
                | PutItemError::TransactionConflictException(_)
        ) || service.code() == Some("ThrottlingException");
        // A 5xx, whatever its body, is DynamoDB's to retry too.
        let server_error = error.raw_response().is_some_and(|raw| raw.status().is_server_error());
        if throttled || server_error {
            return Attempt::Retry(message);
        }
        // A missing table, no permission, an item too large: retrying within
        // this invocation will not help; the batch fails and the mapping's
        // retry (or the dead-letter path) takes over.
        Attempt::Done(Outcome::NotStored { reason: message })
    }

    /// The stored item under the ride's event id, read consistently (one
    /// read, only where a refusal did not carry the item), compared with
    /// the ride.
    async fn read_stored(&self, ride: &RideToStore, consumed_at_ms: i64) -> Attempt {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(item::EVENT_ID, AttributeValue::S(ride.event_id.to_string()))
            .consistent_read(true)
            .send()
            .await;
        match read {
            Ok(found) => match found.item().filter(|item| !item.is_empty()) {
                Some(stored) => Attempt::Done(compared(ride, consumed_at_ms, stored)),
                // Gone since the refusal (expired): write it again.
                None => Attempt::Retry("refused as stored, then not found".into()),
            },
            Err(e) => Attempt::Retry(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string()),
        }
    }
}

/// A refused ride against the item stored under its event id: written by
/// this delivery's own earlier attempt (its answer lost: stored, not a
/// duplicate), the same ride delivered again, or different content under
/// one id.
fn compared(
    ride: &RideToStore,
    consumed_at_ms: i64,
    stored: &std::collections::HashMap<String, AttributeValue>,
) -> Outcome {
    let differs = item::differs(ride, stored);
    if !differs.is_empty() {
        Outcome::Conflicting { differs }
    } else if item::written_by(ride, consumed_at_ms, stored) {
        Outcome::Stored
    } else {
        Outcome::AlreadyStored
    }
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
        let written: Vec<(usize, Outcome)> = futures::stream::iter((0..rides.len()).filter(|&i| firsts[i] == i))
            .map(|i| async move { (i, self.put(&rides[i], consumed_at_ms, deadline).await) })
            .buffer_unordered(CONCURRENT_PUTS)
            .collect()
            .await;
        let mut outcomes: Vec<Option<Outcome>> = vec![None; rides.len()];
        for (i, outcome) in written {
            outcomes[i] = Some(outcome);
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
