//! The car-ride domain event: what the producer emits and the consumer checks.
//! Strings are `Cow` so the consumer can borrow them straight out of a decoded
//! record while the producer owns what it generates.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Version of the JSON contract written by this producer. Version 0 is the
/// seed lab's legacy shape (see [`crate::envelope`]).
pub const SCHEMA_VERSION: u32 = 1;

/// Sectors are named `sector_01` .. `sector_NN` as in the seed lab.
pub const SECTOR_COUNT: u8 = 20;

/// Longest order or customer id accepted: a Kinesis partition key may be up to
/// 256 characters, and ids longer than this are a producer bug.
pub const MAX_ID_LEN: usize = 64;

/// Rides time-stamped further in the future than this are rejected (clock skew
/// between producer hosts is tolerated up to here).
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

/// Earliest plausible ride timestamp: 2015-01-01T00:00:00Z.
pub const MIN_RIDE_TIMESTAMP_MS: i64 = 1_420_070_400_000;

/// One car ride, as one event on the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CarRideEvent<'a> {
    pub schema_version: u32,
    pub event_id: Uuid,
    /// When the ride was ordered, in milliseconds since the Unix epoch.
    pub ride_timestamp: i64,
    #[serde(borrow)]
    pub order_id: Cow<'a, str>,
    #[serde(borrow)]
    pub customer_id: Cow<'a, str>,
    #[serde(borrow)]
    pub pickup: Cow<'a, str>,
    #[serde(borrow)]
    pub destination: Cow<'a, str>,
}

/// Why a well-formed event is still not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("{field} is {len} characters long; at most {MAX_ID_LEN} are allowed")]
    TooLong { field: &'static str, len: usize },
    #[error("{field} {value:?} has a character outside [A-Za-z0-9_-] at position {position}")]
    BadCharacter { field: &'static str, value: String, position: usize },
    #[error("{field} {value:?} is not a sector name (expected sector_01 .. sector_{SECTOR_COUNT:02})")]
    NotASector { field: &'static str, value: String },
    #[error("rideTimestamp {value} is before 2015-01-01; it must be milliseconds since the Unix epoch")]
    TimestampTooOld { value: i64 },
    #[error("rideTimestamp {value} is {ahead_ms} ms in the future (at most {MAX_FUTURE_SKEW_MS} ms of clock skew is tolerated)")]
    TimestampInFuture { value: i64, ahead_ms: i64 },
    #[error("eventId is the nil UUID")]
    NilEventId,
}

impl CarRideEvent<'_> {
    /// Checks every field; `now_ms` is the checker's clock, used to reject
    /// rides stamped in the future.
    pub fn validate(&self, now_ms: i64) -> Result<(), ValidationError> {
        if self.event_id.is_nil() {
            return Err(ValidationError::NilEventId);
        }
        validate_id("orderId", &self.order_id)?;
        validate_id("customerId", &self.customer_id)?;
        validate_sector("pickup", &self.pickup)?;
        validate_sector("destination", &self.destination)?;
        if self.ride_timestamp < MIN_RIDE_TIMESTAMP_MS {
            return Err(ValidationError::TimestampTooOld { value: self.ride_timestamp });
        }
        let ahead_ms = self.ride_timestamp.saturating_sub(now_ms);
        if ahead_ms > MAX_FUTURE_SKEW_MS {
            return Err(ValidationError::TimestampInFuture { value: self.ride_timestamp, ahead_ms });
        }
        Ok(())
    }

    /// The Kinesis partition key: one order's events stay on one shard, in order.
    pub fn partition_key(&self) -> &str {
        &self.order_id
    }

    pub fn into_owned(self) -> CarRideEvent<'static> {
        CarRideEvent {
            schema_version: self.schema_version,
            event_id: self.event_id,
            ride_timestamp: self.ride_timestamp,
            order_id: Cow::Owned(self.order_id.into_owned()),
            customer_id: Cow::Owned(self.customer_id.into_owned()),
            pickup: Cow::Owned(self.pickup.into_owned()),
            destination: Cow::Owned(self.destination.into_owned()),
        }
    }
}

/// `[A-Za-z0-9_-]` as a table: ids are checked on every record.
const ID_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        b += 1;
    }
    table
};

fn validate_id(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    if value.len() > MAX_ID_LEN {
        return Err(ValidationError::TooLong { field, len: value.chars().count() });
    }
    if let Some(position) = value.bytes().position(|b| !ID_BYTES[usize::from(b)]) {
        return Err(ValidationError::BadCharacter { field, value: value.to_owned(), position });
    }
    Ok(())
}

/// The sector number of a `sector_NN` name, if it is one.
pub fn sector_number(value: &str) -> Option<u8> {
    let digits = value.strip_prefix("sector_")?;
    if digits.len() != 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u8 = digits.parse().ok()?;
    (1..=SECTOR_COUNT).contains(&n).then_some(n)
}

/// The canonical name of sector `n` (1-based).
pub fn sector_name(n: u8) -> String {
    format!("sector_{n:02}")
}

fn validate_sector(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    match sector_number(value) {
        Some(_) => Ok(()),
        None => Err(ValidationError::NotASector { field, value: value.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000_000;

    fn ride() -> CarRideEvent<'static> {
        CarRideEvent {
            schema_version: SCHEMA_VERSION,
            event_id: Uuid::from_u128(0x1234),
            ride_timestamp: NOW - 1000,
            order_id: "ord-00af31".into(),
            customer_id: "cust-0042".into(),
            pickup: "sector_01".into(),
            destination: "sector_20".into(),
        }
    }

    #[test]
    fn a_generated_ride_is_valid() {
        assert_eq!(ride().validate(NOW), Ok(()));
    }

    #[test]
    fn each_bad_field_names_itself() {
        let cases: Vec<(CarRideEvent<'_>, &str)> = vec![
            (CarRideEvent { order_id: "".into(), ..ride() }, "orderId is empty"),
            (
                CarRideEvent { customer_id: "a b".into(), ..ride() },
                "customerId \"a b\" has a character outside [A-Za-z0-9_-] at position 1",
            ),
            (
                CarRideEvent { order_id: "x".repeat(65).into(), ..ride() },
                "orderId is 65 characters long; at most 64 are allowed",
            ),
            (
                CarRideEvent { pickup: "sector_21".into(), ..ride() },
                "pickup \"sector_21\" is not a sector name (expected sector_01 .. sector_20)",
            ),
            (
                CarRideEvent { destination: "sector_1".into(), ..ride() },
                "destination \"sector_1\" is not a sector name (expected sector_01 .. sector_20)",
            ),
            (
                CarRideEvent { ride_timestamp: 1_700_000, ..ride() },
                "rideTimestamp 1700000 is before 2015-01-01; it must be milliseconds since the Unix epoch",
            ),
            (
                CarRideEvent { ride_timestamp: NOW + 600_000, ..ride() },
                "rideTimestamp 1764000600000 is 600000 ms in the future (at most 300000 ms of clock skew is tolerated)",
            ),
            (CarRideEvent { event_id: Uuid::nil(), ..ride() }, "eventId is the nil UUID"),
        ];
        for (event, message) in cases {
            let err = event.validate(NOW).expect_err(message);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn sector_names_round_trip() {
        for n in 1..=SECTOR_COUNT {
            assert_eq!(sector_number(&sector_name(n)), Some(n));
        }
        for bad in ["sector_00", "sector_21", "sector_+1", "Sector_01", "sector_001", ""] {
            assert_eq!(sector_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn serialises_in_camel_case_and_rejects_unknown_fields() {
        let json = serde_json::to_string(&ride()).expect("serialise");
        assert!(
            json.starts_with(r#"{"schemaVersion":1,"eventId":"00000000-0000-0000-0000-000000001234","rideTimestamp":"#),
            "{json}"
        );
        let extra = json.replacen('{', r#"{"tip":3,"#, 1);
        let err = serde_json::from_str::<CarRideEvent<'_>>(&extra).expect_err("unknown field");
        assert!(err.to_string().contains("unknown field `tip`"), "{err}");
    }
}
