//! A ride as a DynamoDB item: its fields, where this delivery came from, when
//! it was consumed and when the item expires (the table's TTL attribute).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::RideToStore;

/// The table's partition key.
pub const EVENT_ID: &str = pipeline_settings::rides_table::PARTITION_KEY;
pub const SCHEMA_VERSION: &str = "schemaVersion";
pub const RIDE_TIMESTAMP: &str = "rideTimestamp";
pub const ORDER_ID: &str = "orderId";
pub const CUSTOMER_ID: &str = "customerId";
pub const PICKUP: &str = "pickup";
pub const DESTINATION: &str = "destination";
pub const KAFKA_TOPIC: &str = "kafkaTopic";
pub const KAFKA_PARTITION: &str = "kafkaPartition";
pub const KAFKA_OFFSET: &str = "kafkaOffset";
/// Milliseconds since the Unix epoch.
pub const CONSUMED_AT: &str = "consumedAt";
/// Seconds since the Unix epoch: the table's TTL attribute.
pub const EXPIRES_AT: &str = pipeline_settings::rides_table::TTL_ATTRIBUTE;

/// The condition that makes a write the first one or none at all.
pub const ONLY_IF_NEW: &str = "attribute_not_exists(eventId)";

pub fn to_item(ride: &RideToStore, consumed_at_ms: i64, ttl_seconds: i64) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: i64| AttributeValue::N(v.to_string());
    HashMap::from([
        (EVENT_ID.to_owned(), s(&ride.event_id.to_string())),
        (SCHEMA_VERSION.to_owned(), n(i64::from(ride.schema_version))),
        (RIDE_TIMESTAMP.to_owned(), n(ride.ride_timestamp)),
        (ORDER_ID.to_owned(), s(&ride.order_id)),
        (CUSTOMER_ID.to_owned(), s(&ride.customer_id)),
        (PICKUP.to_owned(), s(&ride.pickup)),
        (DESTINATION.to_owned(), s(&ride.destination)),
        (KAFKA_TOPIC.to_owned(), s(&ride.topic)),
        (KAFKA_PARTITION.to_owned(), n(ride.partition)),
        (KAFKA_OFFSET.to_owned(), n(ride.offset)),
        (CONSUMED_AT.to_owned(), n(consumed_at_ms)),
        (EXPIRES_AT.to_owned(), n(consumed_at_ms.div_euclid(1000).saturating_add(ttl_seconds))),
    ])
}

/// A string attribute of a stored item; `None` if missing or of another type.
fn text<'a>(stored: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    stored.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// A whole-number attribute of a stored item; `None` if missing, of another
/// type or not a whole number.
fn number(stored: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    stored.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok())
}

/// Whether `stored` is this very delivery's own write (the same record of
/// the same invocation): a put whose answer was lost (an attempt timed out,
/// a connection dropped after the write) and whose retry was then refused.
/// A redelivery is another invocation (another `consumedAt`), often another
/// offset.
pub fn written_by(ride: &RideToStore, consumed_at_ms: i64, stored: &HashMap<String, AttributeValue>) -> bool {
    let (s, n) = (|name| text(stored, name), |name| number(stored, name));
    s(KAFKA_TOPIC) == Some(ride.topic.as_str())
        && n(KAFKA_PARTITION) == Some(ride.partition)
        && n(KAFKA_OFFSET) == Some(ride.offset)
        && n(CONSUMED_AT) == Some(consumed_at_ms)
}

/// The ride's own fields in a stored item that differ from `ride`'s. An
/// attribute missing or of another type counts as different.
pub fn differs(ride: &RideToStore, stored: &HashMap<String, AttributeValue>) -> Vec<&'static str> {
    let (s, n) = (|name| text(stored, name), |name| number(stored, name));
    let checks: [(&'static str, bool); 6] = [
        (SCHEMA_VERSION, n(SCHEMA_VERSION) == Some(i64::from(ride.schema_version))),
        (RIDE_TIMESTAMP, n(RIDE_TIMESTAMP) == Some(ride.ride_timestamp)),
        (ORDER_ID, s(ORDER_ID) == Some(ride.order_id.as_str())),
        (CUSTOMER_ID, s(CUSTOMER_ID) == Some(ride.customer_id.as_str())),
        (PICKUP, s(PICKUP) == Some(ride.pickup.as_str())),
        (DESTINATION, s(DESTINATION) == Some(ride.destination.as_str())),
    ];
    checks.into_iter().filter(|(_, same)| !same).map(|(name, _)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ride() -> RideToStore {
        RideToStore {
            event_id: uuid::Uuid::from_u128(7),
            schema_version: 1,
            ride_timestamp: 1_700_000_000_000,
            order_id: "order-1".into(),
            customer_id: "c-1".into(),
            pickup: "sector_01".into(),
            destination: "sector_02".into(),
            topic: "carrides".into(),
            partition: 3,
            offset: 42,
        }
    }

    #[test]
    fn an_item_holds_the_ride_its_delivery_and_its_expiry() {
        let item = to_item(&ride(), 1_700_000_123_456, 86_400);
        assert_eq!(item[EVENT_ID].as_s().ok().map(String::as_str), Some("00000000-0000-0000-0000-000000000007"));
        assert_eq!(item[KAFKA_OFFSET].as_n().ok().map(String::as_str), Some("42"));
        assert_eq!(item[EXPIRES_AT].as_n().ok().map(String::as_str), Some("1700086523"));
        assert!(differs(&ride(), &item).is_empty(), "a ride is the same as its own item");
    }

    #[test]
    fn another_delivery_is_the_same_ride_other_content_is_not() {
        let stored = to_item(&ride(), 1, 60);
        let redelivered = RideToStore { partition: 0, offset: 9_000, ..ride() };
        assert!(differs(&redelivered, &stored).is_empty(), "delivery facts are not the ride");
        let changed = RideToStore { destination: "sector_03".into(), ride_timestamp: 1, ..ride() };
        assert_eq!(differs(&changed, &stored), vec![RIDE_TIMESTAMP, DESTINATION]);
        let mut damaged = stored.clone();
        damaged.insert(PICKUP.into(), AttributeValue::N("1".into()));
        assert_eq!(differs(&ride(), &damaged), vec![PICKUP]);
    }

    #[test]
    fn only_this_deliverys_own_write_is_written_by_it() {
        let stored = to_item(&ride(), 1_700_000_123_456, 60);
        assert!(written_by(&ride(), 1_700_000_123_456, &stored), "an earlier attempt of this very put");
        assert!(!written_by(&ride(), 1_700_000_999_999, &stored), "a later invocation: a redelivery");
        let elsewhere = RideToStore { offset: 43, ..ride() };
        assert!(!written_by(&elsewhere, 1_700_000_123_456, &stored), "another record in the same invocation");
        let mut bare = stored.clone();
        bare.remove(CONSUMED_AT);
        assert!(!written_by(&ride(), 1_700_000_123_456, &bare), "without its delivery facts, not ours");
    }
}
