//! Any text as the whole invocation payload: parsing and processing never
//! panic, and every record is accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msk_consumer::config::Config;
use msk_consumer::{process_batch, Invocation};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(event) = serde_json::from_str::<events::msk::MskEvent>(text) else { return };
    let config = Config {
        max_record_bytes: 1 << 16,
        ..Config::with_dead_letter_dir("unused")
    };
    let invocation = Invocation { request_id: "fuzz".into(), now_ms: events::samples::SAMPLE_NOW_MS };
    let (stats, _, _) = process_batch(&event, &invocation, &config);
    assert_eq!(stats.rides + stats.tombstones + stats.poison(), event.record_count());
});
