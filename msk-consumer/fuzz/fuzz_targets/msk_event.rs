//! Any bytes as the whole invocation payload: parsing and processing never
//! panic, and every record is accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msk_consumer::config::Config;
use msk_consumer::{process_batch, Invocation};

fuzz_target!(|data: &[u8]| {
    // The entry point the Lambda uses: fast path, else serde_json.
    let Ok(event) = msk_consumer::parse_event(data) else { return };
    let config = Config {
        max_record_bytes: 1 << 16,
        ..Config::with_dead_letter_dir("unused")
    };
    let invocation = Invocation { request_id: "fuzz".into(), now_ms: events::samples::SAMPLE_NOW_MS, deadline: None };
    let (stats, _, _) = process_batch(&event, &invocation, &config);
    assert_eq!(stats.rides + stats.tombstones + stats.poison(), event.record_count());
});
