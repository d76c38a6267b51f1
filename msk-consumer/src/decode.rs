//! One Kafka record of an MSK batch → a ride, a tombstone, or a poison
//! record with the reason. The base64 value is decoded into a buffer the
//! caller reuses across records, and the ride borrows from it: no per-record
//! allocation on the good path.

use std::sync::LazyLock;

use base64::engine::{general_purpose, Simd};
use base64::Engine as _;
use events::msk::MskRecord;
use events::{CarRideEvent, DecodeError};

/// The standard alphabet with padding, decoded with AVX2 or NEON when the CPU
/// has them (detected once); it accepts and rejects exactly what
/// `general_purpose::STANDARD` does (a property test checks), ~3x faster.
pub static BASE64: LazyLock<Simd> = LazyLock::new(|| Simd::standard(general_purpose::PAD));

/// What one record turned out to be.
#[derive(Debug)]
pub enum Decoded<'buf> {
    Ride(CarRideEvent<'buf>),
    /// A null or absent value: a deletion marker, nothing to process.
    Tombstone,
}

/// Why a record is quarantined instead of processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Poison {
    #[error("value is not valid base64 ({0})")]
    BadBase64(String),
    #[error("value is {size} bytes; the limit is {max} (MAX_RECORD_BYTES)")]
    Oversized { size: usize, max: usize },
    #[error(transparent)]
    Ride(#[from] DecodeError),
}

impl Poison {
    /// A short, stable name for metrics, logs and dead letters.
    pub fn kind(&self) -> &'static str {
        match self {
            Poison::BadBase64(_) => "bad_base64",
            Poison::Oversized { .. } => "oversized",
            Poison::Ride(e) => e.kind(),
        }
    }

    pub const KINDS: [&'static str; 7] = [
        "bad_base64",
        "oversized",
        "not_utf8",
        "invalid_json",
        "bad_shape",
        "unknown_schema_version",
        "failed_validation",
    ];
}

/// Decodes `record`'s value into `buf` (cleared first) and the ride in it.
pub fn decode_record<'buf>(
    record: &MskRecord<'_>,
    buf: &'buf mut Vec<u8>,
    max_record_bytes: usize,
    now_ms: i64,
) -> Result<Decoded<'buf>, Poison> {
    let Some(value) = record.value.as_deref() else { return Ok(Decoded::Tombstone) };
    // Rejected before decoding: the size follows from the text's length
    // (a broken text that long is over the limit whatever it holds).
    let size = decoded_len(value);
    if size > max_record_bytes {
        return Err(Poison::Oversized { size, max: max_record_bytes });
    }
    buf.clear();
    BASE64.decode_vec(value, buf).map_err(|e| Poison::BadBase64(e.to_string()))?;
    Ok(Decoded::Ride(events::decode(buf, now_ms)?))
}

/// Bytes a well-formed base64 text decodes to (for size metrics).
pub fn decoded_len(b64: &str) -> usize {
    let padding = b64.bytes().rev().take(2).filter(|&b| b == b'=').count();
    (b64.len() / 4 * 3).saturating_sub(padding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::msk::KafkaMessage;

    /// Under `make test-aarch64` (qemu) the base64 engine and the byte scans
    /// take their NEON branches: the CPU must report NEON for that.
    #[cfg(target_arch = "aarch64")]
    #[test]
    fn the_simd_paths_run_on_neon_here() {
        assert!(std::arch::is_aarch64_feature_detected!("neon"));
    }

    const NOW: i64 = events::samples::SAMPLE_NOW_MS + 60_000;

    fn record_with(value: Option<Vec<u8>>) -> MskRecord<'static> {
        KafkaMessage {
            topic: "carrides".into(),
            partition: 0,
            offset: 1,
            timestamp_ms: NOW,
            log_append_time: false,
            key: None,
            value,
            headers: Vec::new(),
        }
        .to_msk_record()
    }

    #[test]
    fn a_good_record_decodes_into_the_reused_buffer() {
        let ride = events::generate::RideGenerator::seeded(1).ride(NOW);
        let record = record_with(Some(events::encode(&ride).data));
        let mut buf = Vec::new();
        match decode_record(&record, &mut buf, 1 << 20, NOW) {
            Ok(Decoded::Ride(decoded)) => assert_eq!(decoded, ride),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tombstones_and_poison_are_told_apart() {
        let mut buf = Vec::new();
        assert!(matches!(decode_record(&record_with(None), &mut buf, 1 << 20, NOW), Ok(Decoded::Tombstone)));
        let mut broken = record_with(Some(b"{}".to_vec()));
        broken.value = Some(String::from("e30=*").into());
        let err = decode_record(&broken, &mut buf, 1 << 20, NOW).expect_err("bad base64");
        assert_eq!(err.kind(), "bad_base64");
        assert!(err.to_string().contains("offset 4"), "{err}");
        let big = record_with(Some(vec![b' '; 2_000]));
        let err = decode_record(&big, &mut buf, 1_000, NOW).expect_err("oversized");
        assert_eq!(err, Poison::Oversized { size: 2_000, max: 1_000 });
        let err = decode_record(&record_with(Some(vec![0xc3])), &mut buf, 1 << 20, NOW).expect_err("utf8");
        assert_eq!(err.kind(), "not_utf8");
    }

    #[test]
    fn decoded_len_matches_the_decoder() {
        for n in 0..10 {
            let text = BASE64.encode(vec![7u8; n]);
            assert_eq!(decoded_len(&text), n, "{text}");
        }
    }

    #[test]
    fn a_value_exactly_at_the_limit_is_not_oversized() {
        let mut buf = Vec::new();
        let at_limit = record_with(Some(vec![b' '; 999]));
        let err = decode_record(&at_limit, &mut buf, 999, NOW).expect_err("blank is not JSON");
        assert_eq!(err.kind(), "invalid_json");
    }
}
