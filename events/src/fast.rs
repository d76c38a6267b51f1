//! Fast paths for the two shapes the consumer reads most: the MSK event Lambda
//! sends and the compact ride the producer writes. Each reads only what it
//! needs, borrowing everything, and answers `None` for any input outside its
//! subset (escaped strings, floats, unknown or repeated fields, other
//! layouts), so the caller falls back to serde_json. Where a fast path
//! answers `Some`, serde_json reads the same value, with one exception: the
//! inside of a header's number list is not read until the record's headers
//! are parsed, and an error there surfaces then, for that record only (as
//! serde_json's reading leaves headers raw too, but checks their syntax). The
//! `fast_paths` property tests and fuzz target check exactly this.
//!
//! Why not a general SIMD parser: on a near-6 MB Camel batch, over half the
//! bytes are header byte arrays. Every validating parser (serde_json,
//! sonic-rs) reads their ~860,000 numbers one by one (8-18 ms here), while
//! finding where each list ends takes well under a millisecond
//! (BENCHMARKS.md, "Consumer phases").

use std::borrow::Cow;
use std::collections::BTreeMap;

use uuid::Uuid;

use crate::msk::{Headers, MskEvent, MskRecord, Text};
use crate::ride::CarRideEvent;
use crate::scan::{FieldName, Scanner};

/// The event's fields.
const EVENT_FIELDS: [FieldName; 4] = [
    FieldName::new("eventSource"),
    FieldName::new("eventSourceArn"),
    FieldName::new("bootstrapServers"),
    FieldName::new("records"),
];
const EVENT_SOURCE: usize = 0;
const EVENT_SOURCE_ARN: usize = 1;
const BOOTSTRAP_SERVERS: usize = 2;
const RECORDS: usize = 3;

/// An MSK (or self-managed Kafka) event in its usual layout.
/// Whether `text` would change when written as a JSON string (it holds a
/// quote, a backslash or a control byte). Base64 never does: the consumer's
/// dead letters write such text verbatim instead of escaping it byte by
/// byte (SIMD, as the parser's string scan).
pub fn needs_json_escaping(text: &str) -> bool {
    crate::scan::string_end(text.as_bytes()).is_some()
}

pub fn msk_event(text: &str) -> Option<MskEvent<'_>> {
    let mut s = Scanner::new(text);
    let mut event = MskEvent::default();
    object(&mut s, &EVENT_FIELDS, |s, field| {
        match field {
            EVENT_SOURCE => event.event_source = s.string_or_null()?.map(text_of),
            EVENT_SOURCE_ARN => event.event_source_arn = s.string_or_null()?.map(text_of),
            BOOTSTRAP_SERVERS => event.bootstrap_servers = s.string_or_null()?.map(text_of),
            RECORDS => event.records = partitions(s)?,
            _ => return None,
        }
        Some(())
    })?;
    s.at_end().then_some(event)
}

/// `"records": {"<topic>-<partition>": [record, ...], ...}` or `null`.
fn partitions<'a>(s: &mut Scanner<'a>) -> Option<BTreeMap<Text<'a>, Vec<MskRecord<'a>>>> {
    let mut records = BTreeMap::new();
    if s.null()? {
        return Some(records);
    }
    s.eat(b'{')?;
    if s.eat_if(b'}') {
        return Some(records);
    }
    // Partitions of a batch tend to be alike in size: start each list at the
    // previous one's length instead of growing it from empty.
    let mut expected = 0;
    loop {
        let key = text_of(s.string()?);
        s.eat(b':')?;
        s.eat(b'[')?;
        let mut list = Vec::with_capacity(expected);
        if !s.eat_if(b']') {
            loop {
                list.push(record(s)?);
                if s.eat_if(b']') {
                    break;
                }
                s.eat(b',')?;
            }
        }
        expected = list.len();
        // serde_json keeps the last of repeated keys; declining is simpler.
        if records.insert(key, list).is_some() {
            return None;
        }
        if s.eat_if(b'}') {
            return Some(records);
        }
        s.eat(b',')?;
    }
}

/// A record's fields, in the order Lambda writes them (`key` only when the
/// record has one).
const RECORD_FIELDS: [FieldName; 8] = [
    FieldName::new("topic"),
    FieldName::new("partition"),
    FieldName::new("offset"),
    FieldName::new("timestamp"),
    FieldName::new("timestampType"),
    FieldName::new("key"),
    FieldName::new("value"),
    FieldName::new("headers"),
];
const TOPIC: usize = 0;
const PARTITION: usize = 1;
const OFFSET: usize = 2;
const TIMESTAMP: usize = 3;
const TIMESTAMP_TYPE: usize = 4;
const KEY: usize = 5;
const VALUE: usize = 6;
const HEADERS: usize = 7;

fn record<'a>(s: &mut Scanner<'a>) -> Option<MskRecord<'a>> {
    let (mut partition, mut offset) = (None, None);
    let mut record = MskRecord {
        topic: None,
        partition: 0,
        offset: 0,
        timestamp: None,
        timestamp_type: None,
        key: None,
        value: None,
        headers: Headers::default(),
    };
    object(s, &RECORD_FIELDS, |s, field| {
        match field {
            TOPIC => record.topic = s.string_or_null()?.map(text_of),
            PARTITION => partition = Some(s.int()?),
            OFFSET => offset = Some(s.int()?),
            TIMESTAMP => record.timestamp = s.int_or_null()?,
            TIMESTAMP_TYPE => record.timestamp_type = s.string_or_null()?.map(text_of),
            KEY => record.key = s.string_or_null()?.map(text_of),
            VALUE => record.value = s.string_or_null()?.map(text_of),
            HEADERS => {
                if let Some(raw) = s.header_list()? {
                    record.headers = Headers::Raw(raw);
                }
            }
            _ => return None,
        }
        Some(())
    })?;
    record.partition = partition?;
    record.offset = offset?;
    Some(record)
}

/// [`CarRideEvent`]'s fields, in the order they serialise in.
const RIDE_FIELDS: [FieldName; 7] = [
    FieldName::new("schemaVersion"),
    FieldName::new("eventId"),
    FieldName::new("rideTimestamp"),
    FieldName::new("orderId"),
    FieldName::new("customerId"),
    FieldName::new("pickup"),
    FieldName::new("destination"),
];
const SCHEMA_VERSION: usize = 0;
const EVENT_ID: usize = 1;
const RIDE_TIMESTAMP: usize = 2;
const ORDER_ID: usize = 3;
const CUSTOMER_ID: usize = 4;
const PICKUP: usize = 5;
const DESTINATION: usize = 6;

/// A v1 ride in any field order, without escapes; validation is the caller's.
pub fn ride(text: &str) -> Option<CarRideEvent<'_>> {
    let mut s = Scanner::new(text);
    let (mut version, mut event_id, mut timestamp) = (None, None, None);
    let (mut order, mut customer, mut pickup, mut destination) = (None, None, None, None);
    object(&mut s, &RIDE_FIELDS, |s, field| {
        match field {
            SCHEMA_VERSION => version = Some(u32::try_from(s.int()?).ok()?),
            // The same parser serde's `Uuid` uses, so both accept the same forms.
            EVENT_ID => event_id = Some(Uuid::try_parse(s.string()?).ok()?),
            RIDE_TIMESTAMP => timestamp = Some(s.int()?),
            ORDER_ID => order = Some(s.string()?),
            CUSTOMER_ID => customer = Some(s.string()?),
            PICKUP => pickup = Some(s.string()?),
            DESTINATION => destination = Some(s.string()?),
            _ => return None,
        }
        Some(())
    })?;
    if !s.at_end() {
        return None;
    }
    Some(CarRideEvent {
        schema_version: version?,
        event_id: event_id?,
        ride_timestamp: timestamp?,
        order_id: Cow::Borrowed(order?),
        customer_id: Cow::Borrowed(customer?),
        pickup: Cow::Borrowed(pickup?),
        destination: Cow::Borrowed(destination?),
    })
}

/// Reads an object whose fields are all in `fields`, handing each to `read`
/// (by index) with the scanner at its value. An unknown or repeated field, or
/// `read` answering `None`, declines the whole input.
fn object<'a>(
    s: &mut Scanner<'a>,
    fields: &[FieldName],
    mut read: impl FnMut(&mut Scanner<'a>, usize) -> Option<()>,
) -> Option<()> {
    let mut seen = 0u16;
    s.eat(b'{')?;
    if s.eat_if(b'}') {
        return Some(());
    }
    let mut next = 0;
    loop {
        let field = s.field(fields, next)?;
        let bit = 1u16.checked_shl(u32::try_from(field).ok()?)?;
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        read(s, field)?;
        next = field + 1;
        if s.eat_if(b'}') {
            return Some(());
        }
        s.eat(b',')?;
    }
}

fn text_of(s: &str) -> Text<'_> {
    Text(Cow::Borrowed(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    #[test]
    fn every_msk_sample_reads_as_serde_json_reads_it() {
        for sample in samples::all().into_iter().filter(|s| s.file_name.starts_with("msk-")) {
            let fast = msk_event(&sample.json).unwrap_or_else(|| panic!("{} took the slow path", sample.file_name));
            let slow: MskEvent<'_> = serde_json::from_str(&sample.json).expect("serde_json");
            assert_eq!(fast, slow, "{}", sample.file_name);
            let compact = serde_json::to_string(&slow).expect("compact");
            assert_eq!(msk_event(&compact).as_ref(), Some(&slow), "{} compact", sample.file_name);
        }
    }

    #[test]
    fn headers_stay_raw_until_read() {
        let json = r#"{"records":{"t-0":[{"partition":0,"offset":1,"value":null,"headers":[{"h":[104, -1]}]}]}}"#;
        let event = msk_event(json).expect("fast");
        let record = &event.records.values().next().expect("partition")[0];
        assert!(matches!(record.headers, Headers::Raw(r#"[{"h":[104, -1]}]"#)));
        assert_eq!(record.header("h"), Some(vec![104, 255]));
    }

    #[test]
    fn inputs_outside_the_subset_are_declined_not_misread() {
        let base = r#"{"records":{"t-0":[{"partition":0,"offset":1,"value":"e30="}]}}"#;
        assert!(msk_event(base).is_some());
        let declined = [
            base.replace("\"offset\":1", "\"offset\":1,\"offset\":2"),
            base.replace("\"offset\":1", "\"offset\":1.0"),
            // serde_json reads -0 as a float (found by the fuzz target).
            base.replace("\"partition\":0", "\"partition\":-0"),
            base.replace("\"offset\":1", "\"valueSchemaMetadata\":{}"),
            base.replace("e30=", "e30\\u003d"),
            base.replace("\"offset\":1,", ""),
            base.replace("}]}}", "}]}},"),
            format!("{base} x"),
            base.replace("{\"t-0\"", "{\"t-0\":[],\"t-0\""),
        ];
        for json in declined {
            assert_eq!(msk_event(&json), None, "{json}");
        }
    }

    #[test]
    fn rides_match_serde_in_any_field_order() {
        let ride_json =
            String::from_utf8(crate::encode(&crate::generate::RideGenerator::seeded(3).ride(1)).data).expect("utf8");
        let slow: CarRideEvent<'_> = serde_json::from_str(&ride_json).expect("serde");
        assert_eq!(ride(&ride_json), Some(slow.clone()));
        let value: serde_json::Value = serde_json::from_str(&ride_json).expect("value");
        let pretty = serde_json::to_string_pretty(&value).expect("pretty");
        assert_eq!(ride(&pretty), Some(slow));
        for declined in [
            ride_json.replace("\"pickup\"", "\"pickUp\""),
            ride_json.replace("\"schemaVersion\":1", "\"schemaVersion\":1,\"schemaVersion\":1"),
            ride_json.replace("ord-", "ord\\u002d"),
            ride_json.replace(",\"destination\"", ",\"x\":1,\"destination\""),
            ride_json.replacen(",\"pickup\":\"sector_", ",\"pickup\":7,\"y\":\"", 1),
            ride_json.replace("\"schemaVersion\":1,", ""),
            format!("{ride_json}{{}}"),
        ] {
            assert_eq!(ride(&declined), None, "{declined}");
        }
    }
}
