//! Any text through the fast paths and serde_json: where a fast path reads a
//! value, serde_json reads the same one. The event fast path leaves header
//! number lists unread, so there a serde_json error must reappear when that
//! record's headers are parsed (the same contract as `events/tests/fast_paths.rs`).
#![no_main]

use events::msk::MskEvent;
use events::CarRideEvent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(fast) = events::fast::msk_event(text) {
        match serde_json::from_str::<MskEvent>(text) {
            Ok(slow) => assert_eq!(fast, slow, "{text}"),
            Err(e) => assert!(
                fast.iter().any(|(_, record)| record.headers.parse().is_err()),
                "fast path read text serde_json rejects ({e}): {text}"
            ),
        }
    }
    if let Some(fast) = events::fast::ride(text) {
        assert_eq!(Some(fast), serde_json::from_str::<CarRideEvent>(text).ok(), "{text}");
    }
});
