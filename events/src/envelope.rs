//! The bytes on the wire: one Kinesis record per ride (partition key = order
//! id, data = the ride as JSON), which the Camel connector copies verbatim into
//! the Kafka record's value. Decoding also accepts the seed lab's legacy shape
//! so a stream that still holds old records can be drained.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::ride::{CarRideEvent, ValidationError, SCHEMA_VERSION};

/// Kinesis caps one record (data + partition key) at 1 MiB.
pub const MAX_KINESIS_RECORD_BYTES: usize = 1024 * 1024;

/// Namespace for the deterministic ids given to legacy records, which carry
/// none: the same legacy bytes always get the same event id, so duplicates
/// are still recognisable.
pub const LEGACY_EVENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6b1d_5c3e_0d7a_4f4e_9a53_3c2e_81f0_a001);

/// A record ready for `PutRecords`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRecord {
    pub event_id: Uuid,
    pub partition_key: String,
    pub data: Vec<u8>,
}

impl OutboundRecord {
    /// The size Kinesis counts against its per-record and per-request limits:
    /// the data blob plus the partition key's UTF-8 bytes.
    pub fn billed_size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// Serialises a ride into the record the producer writes.
pub fn encode(event: &CarRideEvent<'_>) -> OutboundRecord {
    // A struct of strings and integers always serialises; an empty record
    // would be worse than this panic.
    let data = serde_json::to_vec(event).expect("serialising a CarRideEvent cannot fail");
    OutboundRecord { event_id: event.event_id, partition_key: event.partition_key().to_owned(), data }
}

/// Why a record's bytes are not a ride.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("value is not UTF-8 (invalid byte at {valid_up_to})")]
    NotUtf8 { valid_up_to: usize },
    #[error("value is not valid JSON: {message}")]
    InvalidJson { message: String },
    #[error("value does not match schema version {version}: {message}")]
    Shape { version: u32, message: String },
    #[error("schemaVersion {found} is not supported (this consumer reads 0 (legacy) and {SCHEMA_VERSION})")]
    UnknownSchemaVersion { found: String },
    #[error("invalid ride: {0}")]
    Invalid(#[from] ValidationError),
}

impl DecodeError {
    /// A short, stable name for metrics and dead-letter records.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::NotUtf8 { .. } => "not_utf8",
            DecodeError::InvalidJson { .. } => "invalid_json",
            DecodeError::Shape { .. } => "bad_shape",
            DecodeError::UnknownSchemaVersion { .. } => "unknown_schema_version",
            DecodeError::Invalid(_) => "failed_validation",
        }
    }
}

/// Decodes and validates one record value. Borrows from `bytes` where the JSON
/// has no escapes, so the hot path allocates nothing per field; rides as the
/// producer writes them take [`crate::fast::ride`], anything else serde_json.
pub fn decode(bytes: &[u8], now_ms: i64) -> Result<CarRideEvent<'_>, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::NotUtf8 { valid_up_to: e.valid_up_to() })?;
    let parsed = match crate::fast::ride(text) {
        Some(event) => Ok(event),
        None => serde_json::from_str::<CarRideEvent<'_>>(text),
    };
    let event = match parsed {
        Ok(event) if event.schema_version == SCHEMA_VERSION => event,
        Ok(event) => return Err(DecodeError::UnknownSchemaVersion { found: event.schema_version.to_string() }),
        Err(strict) => return decode_slow_path(text, strict, now_ms),
    };
    event.validate(now_ms)?;
    Ok(event)
}

/// Just enough of any JSON object to tell which contract it claims.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "schemaVersion", borrow)]
    schema_version: Option<&'a RawValue>,
    #[serde(rename = "carRide", borrow)]
    car_ride: Option<&'a RawValue>,
}

/// Not a v1 ride: tell apart broken JSON, the legacy shape, a version from the
/// future and a v1 ride with a wrong field, so the error says which.
fn decode_slow_path(text: &str, strict: serde_json::Error, now_ms: i64) -> Result<CarRideEvent<'static>, DecodeError> {
    let probe: Probe<'_> = match serde_json::from_str(text) {
        Ok(probe) => probe,
        Err(e) if e.is_syntax() || e.is_eof() => return Err(DecodeError::InvalidJson { message: e.to_string() }),
        Err(e) => return Err(DecodeError::Shape { version: SCHEMA_VERSION, message: e.to_string() }),
    };
    match (probe.schema_version, probe.car_ride) {
        (Some(v), _) if v.get() != SCHEMA_VERSION.to_string() => {
            Err(DecodeError::UnknownSchemaVersion { found: v.get().to_owned() })
        }
        (None, Some(_)) => decode_legacy(text, now_ms),
        _ => Err(DecodeError::Shape { version: SCHEMA_VERSION, message: strict.to_string() }),
    }
}

/// The seed lab's record: `{"carRide": "<ride as a JSON string>", "timestamp": "<epoch seconds>"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyEnvelope {
    #[serde(rename = "carRide")]
    car_ride: String,
    timestamp: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyRide {
    #[serde(rename = "orderID")]
    order_id: String,
    #[serde(rename = "customerID")]
    customer_id: String,
    pickup: String,
    destination: String,
}

fn decode_legacy(text: &str, now_ms: i64) -> Result<CarRideEvent<'static>, DecodeError> {
    let shape = |e: serde_json::Error| DecodeError::Shape { version: 0, message: e.to_string() };
    let envelope: LegacyEnvelope = serde_json::from_str(text).map_err(shape)?;
    let ride: LegacyRide = serde_json::from_str(&envelope.car_ride).map_err(shape)?;
    let seconds: f64 = envelope.timestamp.trim().parse().map_err(|_| DecodeError::Shape {
        version: 0,
        message: format!("timestamp {:?} is not epoch seconds", envelope.timestamp),
    })?;
    let event = CarRideEvent {
        schema_version: 0,
        event_id: Uuid::new_v5(&LEGACY_EVENT_ID_NAMESPACE, text.as_bytes()),
        ride_timestamp: (seconds * 1000.0).round() as i64,
        order_id: Cow::Owned(ride.order_id),
        customer_id: Cow::Owned(ride.customer_id),
        pickup: Cow::Owned(ride.pickup),
        destination: Cow::Owned(ride.destination),
    };
    event.validate(now_ms)?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000_000;

    fn ride() -> CarRideEvent<'static> {
        CarRideEvent {
            schema_version: SCHEMA_VERSION,
            event_id: Uuid::from_u128(7),
            ride_timestamp: NOW - 5,
            order_id: "ord-1".into(),
            customer_id: "cust-1".into(),
            pickup: "sector_03".into(),
            destination: "sector_04".into(),
        }
    }

    #[test]
    fn encode_then_decode_is_identity_and_borrows() {
        let record = encode(&ride());
        assert_eq!(record.partition_key, "ord-1");
        assert_eq!(record.billed_size(), record.data.len() + 5);
        let decoded = decode(&record.data, NOW).expect("decode");
        assert_eq!(decoded, ride());
        assert!(matches!(decoded.order_id, Cow::Borrowed(_)), "no escapes: the id is borrowed");
    }

    #[test]
    fn escaped_strings_still_decode() {
        let json = String::from_utf8(encode(&ride()).data).expect("utf8").replace("ord-1", "ord\\u002d1");
        assert_eq!(decode(json.as_bytes(), NOW).expect("decode").order_id, "ord-1");
    }

    #[test]
    fn each_failure_has_its_kind() {
        let v1 = String::from_utf8(encode(&ride()).data).expect("utf8");
        let cases: Vec<(Vec<u8>, &str, &str)> = vec![
            (vec![b'{', 0xff, b'}'], "not_utf8", "invalid byte at 1"),
            (b"{\"schemaVersion\":1,".to_vec(), "invalid_json", "EOF"),
            (b"[1,2]".to_vec(), "bad_shape", "schema version 1"),
            (
                v1.replace("\"schemaVersion\":1", "\"schemaVersion\":2").into_bytes(),
                "unknown_schema_version",
                "schemaVersion 2 is not supported",
            ),
            (
                v1.replace("\"schemaVersion\":1", "\"schemaVersion\":\"1\",\"x\":1").into_bytes(),
                "unknown_schema_version",
                "schemaVersion \"1\"",
            ),
            (v1.replace("\"pickup\"", "\"pickUp\"").into_bytes(), "bad_shape", "unknown field `pickUp`"),
            (v1.replace("sector_03", "sector_99").into_bytes(), "failed_validation", "pickup \"sector_99\""),
            (br#"{"carRide":"{\"orderID\":1}","timestamp":"1"}"#.to_vec(), "bad_shape", "schema version 0"),
        ];
        for (bytes, kind, needle) in cases {
            let err = decode(&bytes, NOW).expect_err(needle);
            assert_eq!(err.kind(), kind, "{err}");
            assert!(err.to_string().contains(needle), "{err} should contain {needle}");
        }
    }

    #[test]
    fn legacy_seed_records_decode_with_a_stable_id() {
        let legacy = br#"{"carRide": "{\"orderID\": \"o-17\", \"customerID\": \"c-3\", \"pickup\": \"sector_02\", \"destination\": \"sector_11\"}", "timestamp": "1763999999"}"#;
        let first = decode(legacy, NOW).expect("legacy decodes");
        assert_eq!(first.schema_version, 0);
        assert_eq!(first.order_id, "o-17");
        assert_eq!(first.ride_timestamp, 1_763_999_999_000);
        assert_eq!(decode(legacy, NOW).expect("again").event_id, first.event_id);
    }
}
