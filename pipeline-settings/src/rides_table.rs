//! The rides table's schema: what the template creates, the consumer writes
//! and the local stack creates on its DynamoDB emulator. One definition.

/// The partition key (a string): the ride's event id.
pub const PARTITION_KEY: &str = "eventId";

/// The TTL attribute (a number: seconds since the Unix epoch).
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// How long a stored ride is kept by default. Redelivery stays harmless
/// only while the ride's item exists, so this must exceed the longest
/// window in which a ride can come again: the stream's retention (24 hours
/// by default; the connector re-sends all of it on a restart), plus the
/// topic's (MSK's default `log.retention.hours` is 168) for a consumer that
/// starts over from the topic's beginning.
pub const DEFAULT_TTL_DAYS: u32 = 30;
