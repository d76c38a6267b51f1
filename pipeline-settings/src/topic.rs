//! The pipeline's Kafka topic as both hops and the topic creator need it.

/// The topic's `max.message.bytes`, and the forwarder's producer limit: a
/// Kinesis record holds up to 1 MiB of data and partition key, and the
/// headers that name its origin add a few hundred bytes, which Kafka's
/// default (1,048,588 bytes) would refuse.
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;
