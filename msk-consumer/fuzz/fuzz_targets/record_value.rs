//! Any bytes as a record value: the decoder returns a ride or a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = events::decode(data, events::samples::SAMPLE_NOW_MS);
});
