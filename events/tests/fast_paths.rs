//! The fast paths read what serde_json reads. Wherever `events::fast` answers,
//! serde_json must read the same value from the same text; the one thing the
//! event fast path accepts unread is the inside of a header's number list,
//! whose errors must then surface when that record's headers are parsed.
//! Plain generated inputs must take the fast path, so these properties cannot
//! pass by declining everything.

use events::fast;
use events::msk::{Header, KafkaMessage, MskEvent};
use events::CarRideEvent;
use proptest::prelude::*;

fn message() -> impl Strategy<Value = KafkaMessage> {
    (
        0..4i32,
        0..1_000_000i64,
        prop::option::of(prop::collection::vec(any::<u8>(), 0..24)),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
        prop::collection::vec(("[A-Za-z.]{1,40}", prop::collection::vec(any::<u8>(), 0..60)), 0..4),
        any::<bool>(),
    )
        .prop_map(|(partition, offset, key, value, headers, log_append_time)| KafkaMessage {
            topic: "car-rides".into(),
            partition,
            offset,
            timestamp_ms: 1_764_000_000_000 + offset,
            log_append_time,
            key,
            value,
            headers: headers.into_iter().map(|(name, bytes)| Header::new(name, bytes)).collect(),
        })
}

fn event_json() -> impl Strategy<Value = (String, bool)> {
    (prop::collection::vec(message(), 0..12), any::<bool>()).prop_map(|(messages, pretty)| {
        let mut event = MskEvent::new("aws:kafka", "arn:aws:kafka:eu-west-1:0:cluster/c/1", "b-1:9098");
        for message in messages {
            event.push(message.to_msk_record());
        }
        let text = if pretty { serde_json::to_string_pretty(&event) } else { serde_json::to_string(&event) };
        (text.expect("an event serialises"), pretty)
    })
}

/// If the fast path reads `text`, serde_json reads the same event, or (only
/// when a header's numbers are broken) that record's headers fail to parse.
fn agrees_on_event(text: &str) -> Result<(), TestCaseError> {
    let Some(fast) = fast::msk_event(text) else { return Ok(()) };
    match serde_json::from_str::<MskEvent<'_>>(text) {
        Ok(slow) => prop_assert_eq!(fast, slow),
        Err(e) => {
            let broken_headers = fast.iter().any(|(_, record)| record.headers.parse().is_err());
            prop_assert!(broken_headers, "fast path read text serde_json rejects ({e}): {text}");
        }
    }
    Ok(())
}

/// Bytes that change JSON's structure or the fast path's subset.
fn edit_byte() -> impl Strategy<Value = u8> {
    prop_oneof![prop::sample::select(b"\"\\{}[],:-.eE0123456789 \ntnul".to_vec()), Just(0x01u8), any::<u8>(),]
}

/// One edit: where, which byte, and whether it replaces (0), is inserted
/// before (1) or removes (2) the byte there.
type Edit = (prop::sample::Index, u8, u8);

fn apply_edits(mut bytes: Vec<u8>, edits: Vec<Edit>) -> Vec<u8> {
    for (at, byte, how) in edits {
        if bytes.is_empty() {
            break;
        }
        let i = at.index(bytes.len());
        match how {
            0 => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            _ => {
                bytes.remove(i);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_events_take_the_fast_path_and_read_as_serde_reads_them((text, _pretty) in event_json()) {
        let fast = fast::msk_event(&text);
        prop_assert!(fast.is_some(), "plain events must not need the fallback: {}", text);
        agrees_on_event(&text)?;
    }

    #[test]
    fn edited_events_are_read_alike_or_declined(
        (text, _pretty) in event_json(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), edit_byte(), 0..3u8), 1..4),
    ) {
        let bytes = apply_edits(text.into_bytes(), edits);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            agrees_on_event(text)?;
        }
        // The entry point never panics, whatever the bytes.
        let _ = events::payload::msk_event(&bytes);
    }

    #[test]
    fn rides_read_as_serde_reads_them(
        seed in any::<u64>(),
        pretty in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), edit_byte(), 0..3u8), 0..3),
    ) {
        let ride = events::generate::RideGenerator::seeded(seed).ride(1_764_000_000_000);
        let text = if pretty { serde_json::to_string_pretty(&ride) } else { serde_json::to_string(&ride) };
        let edited = !edits.is_empty();
        let bytes = apply_edits(text.expect("a ride serialises").into_bytes(), edits);
        let Ok(text) = std::str::from_utf8(&bytes) else { return Ok(()) };
        let fast = fast::ride(text);
        if !edited {
            prop_assert_eq!(fast.as_ref(), Some(&ride), "a ride as the producer writes it takes the fast path");
        }
        if let Some(fast) = fast {
            let slow = serde_json::from_str::<CarRideEvent<'_>>(text);
            prop_assert_eq!(Some(fast), slow.ok(), "{}", text);
        }
    }

    #[test]
    fn rides_with_fields_in_any_order_or_missing_read_alike(
        seed in any::<u64>(),
        order in Just((0..7usize).collect::<Vec<_>>()).prop_shuffle(),
        keep in 5..=7usize,
        extra in prop::option::of("[a-z]{1,8}"),
    ) {
        let ride = events::generate::RideGenerator::seeded(seed).ride(1_764_000_000_000);
        let value = serde_json::to_value(&ride).expect("value");
        let fields = value.as_object().expect("object");
        let names: Vec<&String> = fields.keys().collect();
        let mut parts: Vec<String> =
            order.iter().take(keep).map(|&i| format!("{:?}:{}", names[i], fields[names[i].as_str()])).collect();
        if let Some(name) = extra {
            parts.push(format!("{name:?}:1"));
        }
        let text = format!("{{{}}}", parts.join(","));
        let fast = fast::ride(&text);
        let slow = serde_json::from_str::<CarRideEvent<'_>>(&text).ok();
        prop_assert_eq!(fast.is_some(), slow.is_some(), "{}", text);
        prop_assert_eq!(fast, slow);
    }
}
