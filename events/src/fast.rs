//! Fast paths for the two shapes the consumer reads most: the MSK event Lambda
//! sends and the compact ride the producer writes. Each reads only what it
//! needs, borrowing everything, and answers `None` for any input outside its
//! subset (escaped strings, floats, unknown or repeated fields, other
//! layouts), so the caller falls back to serde_json. Where a fast path
//! answers `Some`, serde_json reads the same value: the `fast_paths` property
//! tests and the `fast_paths` fuzz target check exactly that.
//!
//! Why not a general SIMD parser: on a near-6 MB Camel batch, over half the
//! bytes are header byte arrays. Every validating parser (serde_json,
//! sonic-rs) reads their ~860,000 numbers one by one (12-18 ms), while
//! finding where each list ends takes well under a millisecond
//! (BENCHMARKS.md, "Consumer phases").

use std::borrow::Cow;
use std::collections::BTreeMap;

use uuid::Uuid;

use crate::msk::{Headers, MskEvent, MskRecord, Text};
use crate::ride::CarRideEvent;
use crate::scan::Scanner;

/// An MSK (or self-managed Kafka) event in its usual layout.
pub fn msk_event(text: &str) -> Option<MskEvent<'_>> {
    let mut s = Scanner::new(text);
    let mut event = MskEvent::default();
    let mut seen = Seen::default();
    s.eat(b'{')?;
    if !s.eat_if(b'}') {
        loop {
            match s.field(None)? {
                "eventSource" => event.event_source = seen.once(0, s.string_or_null())?.map(text_of),
                "eventSourceArn" => event.event_source_arn = seen.once(1, s.string_or_null())?.map(text_of),
                "bootstrapServers" => event.bootstrap_servers = seen.once(2, s.string_or_null())?.map(text_of),
                "records" => {
                    seen.once(3, Some(()))?;
                    event.records = partitions(&mut s)?;
                }
                _ => return None,
            }
            if s.eat_if(b'}') {
                break;
            }
            s.eat(b',')?;
        }
    }
    s.at_end().then_some(event)
}

/// `"records": {"<topic>-<partition>": [record, ...], ...}` or `null`.
fn partitions<'a>(s: &mut Scanner<'a>) -> Option<BTreeMap<Text<'a>, Vec<MskRecord<'a>>>> {
    let mut records = BTreeMap::new();
    if s.peek()? == b'n' {
        s.literal("null")?;
        return Some(records);
    }
    s.eat(b'{')?;
    if s.eat_if(b'}') {
        return Some(records);
    }
    loop {
        let key = text_of(s.string()?);
        s.eat(b':')?;
        s.eat(b'[')?;
        let mut list = Vec::new();
        if !s.eat_if(b']') {
            loop {
                list.push(record(s)?);
                if s.eat_if(b']') {
                    break;
                }
                s.eat(b',')?;
            }
        }
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

/// The order Lambda writes a record's fields in (`key` only when there is one).
const RECORD_FIELDS: [&str; 8] = ["topic", "partition", "offset", "timestamp", "timestampType", "key", "value", "headers"];

fn record<'a>(s: &mut Scanner<'a>) -> Option<MskRecord<'a>> {
    let mut seen = Seen::default();
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
    let mut next = 0;
    s.eat(b'{')?;
    if !s.eat_if(b'}') {
        loop {
            let name = s.field(RECORD_FIELDS.get(next).copied())?;
            next = RECORD_FIELDS.iter().position(|f| *f == name).map_or(next, |i| i + 1);
            match name {
                "topic" => record.topic = seen.once(0, s.string_or_null())?.map(text_of),
                "partition" => partition = Some(seen.once(1, s.int())?),
                "offset" => offset = Some(seen.once(2, s.int())?),
                "timestamp" => record.timestamp = seen.once(3, s.int_or_null())?,
                "timestampType" => record.timestamp_type = seen.once(4, s.string_or_null())?.map(text_of),
                "key" => record.key = seen.once(5, s.string_or_null())?.map(text_of),
                "value" => record.value = seen.once(6, s.string_or_null())?.map(text_of),
                "headers" => {
                    if let Some(raw) = seen.once(7, s.header_list())? {
                        record.headers = Headers::Raw(raw);
                    }
                }
                _ => return None,
            }
            if s.eat_if(b'}') {
                break;
            }
            s.eat(b',')?;
        }
    }
    record.partition = partition?;
    record.offset = offset?;
    Some(record)
}

/// The order [`CarRideEvent`]'s fields serialise in.
const RIDE_FIELDS: [&str; 7] =
    ["schemaVersion", "eventId", "rideTimestamp", "orderId", "customerId", "pickup", "destination"];

/// A v1 ride in any field order, without escapes; validation is the caller's.
pub fn ride(text: &str) -> Option<CarRideEvent<'_>> {
    let mut s = Scanner::new(text);
    let mut seen = Seen::default();
    let (mut version, mut event_id, mut timestamp) = (None, None, None);
    let (mut order, mut customer, mut pickup, mut destination) = (None, None, None, None);
    s.eat(b'{')?;
    for next in 1.. {
        match s.field(RIDE_FIELDS.get(next - 1).copied())? {
            "schemaVersion" => version = Some(u32::try_from(seen.once(0, s.int())?).ok()?),
            // The same parser serde's `Uuid` uses, so both accept the same forms.
            "eventId" => event_id = Some(Uuid::try_parse(seen.once(1, s.string())?).ok()?),
            "rideTimestamp" => timestamp = Some(seen.once(2, s.int())?),
            "orderId" => order = Some(seen.once(3, s.string())?),
            "customerId" => customer = Some(seen.once(4, s.string())?),
            "pickup" => pickup = Some(seen.once(5, s.string())?),
            "destination" => destination = Some(seen.once(6, s.string())?),
            _ => return None,
        }
        if s.eat_if(b'}') {
            break;
        }
        s.eat(b',')?;
    }
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

fn text_of(s: &str) -> Text<'_> {
    Text(Cow::Borrowed(s))
}

/// Which fields have been read: a repeated one sends the input to serde_json.
#[derive(Default)]
struct Seen(u16);

impl Seen {
    fn once<T>(&mut self, field: u8, value: Option<T>) -> Option<T> {
        let bit = 1u16 << field;
        if self.0 & bit != 0 {
            return None;
        }
        self.0 |= bit;
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    #[test]
    fn every_msk_sample_reads_as_serde_json_reads_it() {
        for sample in samples::all().into_iter().filter(|s| s.file_name.starts_with("msk-")) {
            let fast = msk_event(&sample.json).unwrap_or_else(|| panic!("{} took the slow path", sample.file_name));
            let slow: MskEvent = serde_json::from_str(&sample.json).expect("serde_json");
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
        let ride_json = String::from_utf8(crate::encode(&crate::generate::RideGenerator::seeded(3).ride(1)).data)
            .expect("utf8");
        let slow: CarRideEvent = serde_json::from_str(&ride_json).expect("serde");
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
