//! One CloudWatch Embedded Metric Format line per batch, through the
//! `metrics` facade: records, rides, poison, tombstones, duplicates, bytes,
//! end-to-end latency, and the batch's time writing to the rides table.

use crate::summary::BatchSummary;

pub const NAMESPACE: &str = "CarRides/Consumer";

/// `DuplicateRides`: deliveries of rides already stored (redundant ones);
/// `ConflictingRides`: rides whose event id is stored with other content;
/// `RidesNotStored`: rides the table did not take by the deadline (delivered
/// again by the mapping; alarmed).
const COUNTS: [&str; 9] = [
    "Records",
    "Rides",
    "PoisonRecords",
    "Tombstones",
    "DuplicateRides",
    "StoredRides",
    "ConflictingRides",
    "DeadLetterObjects",
    "RidesNotStored",
];
const LATENCIES: [&str; 3] = ["LatencyP50", "LatencyP99", "LatencyMax"];
/// The batch's writes to the rides table, wall time: what the table costs
/// the function (the local demo's report weighs it against the invocation).
const STORE_TIME: &str = "StoreMilliseconds";

pub fn init() -> Result<&'static metrics_cloudwatch_embedded::Collector, metrics_cloudwatch_embedded::Error> {
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension("Function", "msk-consumer")
        .emit_zeros(true)
        .init()?;
    for name in COUNTS {
        metrics::describe_counter!(name, metrics::Unit::Count, "");
    }
    metrics::describe_counter!("ValueBytes", metrics::Unit::Bytes, "");
    for name in LATENCIES.into_iter().chain([STORE_TIME]) {
        metrics::describe_gauge!(name, metrics::Unit::Milliseconds, "");
    }
    Ok(collector)
}

pub fn store_time(took: std::time::Duration) {
    metrics::gauge!(STORE_TIME).set(took.as_secs_f64() * 1e3);
}

/// Rides not stored in an invocation that fails (no summary is recorded then).
pub fn rides_not_stored(count: usize) {
    metrics::counter!("RidesNotStored").increment(count as u64);
}

pub fn record(s: &BatchSummary) {
    let counts = [
        s.records,
        s.rides,
        s.poison,
        s.tombstones,
        s.duplicates,
        s.stored,
        s.conflicting,
        s.dead_letters.len(),
        s.not_stored,
    ];
    for (name, value) in COUNTS.into_iter().zip(counts) {
        metrics::counter!(name).increment(value as u64);
    }
    metrics::counter!("ValueBytes").increment(s.value_bytes as u64);
    if let Some(latency) = s.latency_ms {
        for (name, value) in LATENCIES.into_iter().zip([latency.p50, latency.p99, latency.max]) {
            metrics::gauge!(name).set(value as f64);
        }
    }
}
