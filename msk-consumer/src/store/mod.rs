//! Every valid ride stored once, whatever is redelivered: a DynamoDB table
//! keyed by the ride's event id, written so that the first delivery wins and
//! every later one leaves the item as it was (docs/consumer.md, "Exactly-once
//! effect"). The pipeline delivers at least once at every hop; this is where
//! redelivery stops mattering.
//!
//! - [`item`]: a ride as an item, and how a stored one is compared.
//! - [`dynamodb`]: one conditional put per ride, many at once, retried
//!   while DynamoDB throttles, within the deadline.

pub mod dynamodb;
pub mod item;

use std::future::Future;
use std::time::Instant;

use events::ride::CarRideEvent;
use uuid::Uuid;

/// A valid ride and where this delivery of it came from. Owned: the decode
/// buffer it was read from is reused for the next record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RideToStore {
    pub event_id: Uuid,
    pub schema_version: u32,
    pub ride_timestamp: i64,
    pub order_id: String,
    pub customer_id: String,
    pub pickup: String,
    pub destination: String,
    pub topic: String,
    pub partition: i64,
    pub offset: i64,
}

impl RideToStore {
    pub fn new(ride: &CarRideEvent<'_>, topic: &str, partition: i64, offset: i64) -> Self {
        Self {
            event_id: ride.event_id,
            schema_version: ride.schema_version,
            ride_timestamp: ride.ride_timestamp,
            order_id: ride.order_id.to_string(),
            customer_id: ride.customer_id.to_string(),
            pickup: ride.pickup.to_string(),
            destination: ride.destination.to_string(),
            topic: topic.to_owned(),
            partition,
            offset,
        }
    }

    /// The ride's own fields that differ from `other`'s (delivery facts
    /// aside): empty when both are the same ride. One comparison, the
    /// stored item's ([`item::differs`]); copies inside a batch are rare.
    pub fn differs_from(&self, other: &RideToStore) -> Vec<&'static str> {
        item::differs(self, &item::to_item(other, 0, 0))
    }
}

/// What became of one ride.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written now: the first delivery of this ride.
    Stored,
    /// Already in the table, the same ride (an earlier delivery, or an
    /// earlier copy in this batch): the item is left as it was.
    AlreadyStored,
    /// Already in the table with other content under the same event id: a
    /// producer bug. The stored ride stays; this record is dead-lettered.
    Conflicting { differs: Vec<&'static str> },
    /// Not written before the deadline (throttled throughout, the table
    /// unreachable, refused): the record must be delivered again.
    NotStored { reason: String },
}

/// Where rides are stored. One outcome per ride, in order.
pub trait RideStore: Send + Sync {
    fn store(
        &self,
        rides: &[RideToStore],
        consumed_at_ms: i64,
        deadline: Instant,
    ) -> impl Future<Output = Vec<Outcome>> + Send;
}

/// Copies of one event id inside a batch: the first is written, the others
/// take its outcome (or conflict with it). Returns, per ride, the index of
/// the first copy.
pub fn first_copies(rides: &[RideToStore]) -> Vec<usize> {
    let mut first: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::with_capacity(rides.len());
    rides.iter().enumerate().map(|(i, ride)| *first.entry(ride.event_id).or_insert(i)).collect()
}

/// The outcome of a later copy in the batch, from its first copy's.
pub fn copy_outcome(copy: &RideToStore, first: &RideToStore, first_outcome: &Outcome) -> Outcome {
    match first_outcome {
        Outcome::NotStored { reason } => Outcome::NotStored { reason: reason.clone() },
        Outcome::Conflicting { differs } if copy.differs_from(first).is_empty() => {
            Outcome::Conflicting { differs: differs.clone() }
        }
        _ => {
            let differs = copy.differs_from(first);
            if differs.is_empty() {
                Outcome::AlreadyStored
            } else {
                Outcome::Conflicting { differs }
            }
        }
    }
}
