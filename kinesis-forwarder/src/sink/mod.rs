//! Where the forwarder writes: a small port with the real adapter
//! ([`kafka::KafkaSink`], rdkafka) and an in-memory one for tests and
//! benches ([`memory::MemorySink`]).

pub mod kafka;
pub mod memory;

use std::future::Future;
use std::time::Instant;

use crate::record::ForwardRecord;

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Kafka acknowledged it (with `acks=all`: every in-sync replica has it).
    Acknowledged { partition: i32, offset: i64 },
    /// Not acknowledged by the deadline, or failed in a way a retry can
    /// cure (a broker away, a leader election, a throttle): the mapping
    /// sends it again.
    NotAcknowledged(String),
    /// Refused for good: larger than the topic takes, not authorised. A
    /// retry fails the same way; reported (never skipped) so the mapping's
    /// retry limit and on-failure destination decide, and an operator sees it.
    Refused(String),
}

impl Delivery {
    pub fn is_acknowledged(&self) -> bool {
        matches!(self, Delivery::Acknowledged { .. })
    }
}

pub trait RecordSink: Send + Sync {
    /// Writes every record, in order, and waits for each acknowledgement
    /// until `deadline`; returns one [`Delivery`] per record, in order.
    fn send_all(&self, records: &[ForwardRecord], deadline: Instant) -> impl Future<Output = Vec<Delivery>> + Send;
}
