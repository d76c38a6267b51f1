//! Whatever arrives, the consumer never panics: arbitrary bytes or arbitrary
//! JSON as a record value, and arbitrary text as the whole event. Every
//! record is accounted for as a ride, a tombstone or poison.

use base64::Engine as _;
use events::msk::MskEvent;
use events::samples;
use msk_consumer::config::Config;
use msk_consumer::{process_batch, Invocation};
use proptest::prelude::*;

fn config() -> Config {
    Config { max_record_bytes: 4096, ..Config::with_dead_letter_dir("unused") }
}

fn invocation() -> Invocation {
    Invocation { request_id: "prop".into(), now_ms: samples::SAMPLE_NOW_MS, deadline: None }
}

fn accounted(values: Vec<Vec<u8>>) {
    let mut event = MskEvent::new("aws:kafka", "arn", "b:9098");
    let n = values.len();
    for (i, value) in values.into_iter().enumerate() {
        event.push(samples::camel_message(0, i as i64, value, "k", 0).to_msk_record());
    }
    let (stats, quarantine, _) = process_batch(&event, &invocation(), &config());
    assert_eq!(stats.records, n);
    assert_eq!(stats.rides + stats.tombstones + stats.poison(), n);
    assert_eq!(quarantine.iter().map(|q| q.letters.len()).sum::<usize>(), stats.poison());
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("sector_01")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("schemaVersion".to_owned()),
                    Just("eventId".to_owned()),
                    Just("carRide".to_owned()),
                    "[a-zA-Z]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_as_values(values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20)) {
        accounted(values);
    }

    #[test]
    fn arbitrary_json_as_values(values in prop::collection::vec(json_value(), 0..20)) {
        accounted(values.iter().map(|v| v.to_string().into_bytes()).collect());
    }

    #[test]
    fn mutated_valid_rides(flips in prop::collection::vec((0usize..400, any::<u8>()), 0..4)) {
        let mut value = events::encode(&events::generate::RideGenerator::seeded(1).ride(samples::SAMPLE_NOW_MS)).data;
        for (at, byte) in flips {
            let len = value.len();
            value[at % len] = byte;
        }
        accounted(vec![value]);
    }

    #[test]
    fn arbitrary_event_text(text in ".{0,400}") {
        if let Ok(event) = msk_consumer::parse_event(text.as_bytes()) {
            let _ = process_batch(&event, &invocation(), &config());
        }
    }

    #[test]
    fn arbitrary_event_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = msk_consumer::parse_event(&bytes);
    }

    #[test]
    fn arbitrary_event_json(value in json_value(), b64 in "[A-Za-z0-9+/=*]{0,40}", unknown_field in any::<bool>()) {
        // Splice random JSON and random base64-ish text into an MSK shape;
        // an unknown field sends it down serde_json's path, none the fast one.
        let mut record = serde_json::json!({"partition": 0, "offset": 1, "value": b64, "headers": [{"h": [1, -2, 255]}]});
        record[if unknown_field { "extra" } else { "key" }] = value;
        let text = serde_json::json!({"records": {"t-0": [record]}}).to_string();
        if let Ok(event) = msk_consumer::parse_event(text.as_bytes()) {
            let (stats, _, _) = process_batch(&event, &invocation(), &config());
            prop_assert_eq!(stats.records, 1);
        }
    }

    #[test]
    fn simd_base64_decodes_exactly_as_the_standard_engine(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(b"=+/A*\n -_".to_vec())), 0..3),
    ) {
        // Past 64 characters the SIMD kernels run; edits probe padding and
        // stray bytes at any place, including inside a SIMD block.
        let mut text = base64::engine::general_purpose::STANDARD.encode(&bytes).into_bytes();
        for (at, byte) in edits {
            if !text.is_empty() {
                let i = at.index(text.len());
                text[i] = byte;
            }
        }
        let simd = msk_consumer::decode::BASE64.decode(&text);
        let standard = base64::engine::general_purpose::STANDARD.decode(&text);
        prop_assert_eq!(simd, standard);
    }
}
