//! The per-batch summary: the JSON line every invocation logs, and the
//! answer when the mapping does not use partial batch responses. The EMF
//! metrics (`crate::metrics`) are read from it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::outcomes::Applied;
use crate::stats::{BatchStats, Latency, PartitionSpan};

/// The per-batch summary: logged as JSON, and returned when the mapping does
/// not use partial batch responses (handy with `cargo lambda invoke`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSummary {
    /// Where the rides went: [`crate::config::STORAGE_TABLE`], or
    /// [`crate::config::STORAGE_OFF`] when storing was turned off by name.
    pub storage: &'static str,
    pub records: usize,
    pub rides: usize,
    pub legacy_rides: usize,
    pub poison: usize,
    pub poison_by_kind: BTreeMap<&'static str, usize>,
    pub tombstones: usize,
    /// Rides already stored before this delivery (with a store), or seen
    /// twice in this batch (without one): redundant deliveries.
    pub duplicates: usize,
    /// Rides written to the table by this invocation.
    pub stored: usize,
    /// Rides whose event id is stored with other content: dead-lettered.
    pub conflicting: usize,
    /// Rides the table did not take by the deadline: reported for delivery
    /// again (`batchItemFailures`).
    pub not_stored: usize,
    pub value_bytes: usize,
    pub latency_ms: Option<Latency>,
    pub rides_per_pickup: BTreeMap<String, u32>,
    pub rides_per_destination: BTreeMap<String, u32>,
    pub partitions: BTreeMap<String, PartitionSpan>,
    /// Where each partition's poison records went.
    pub dead_letters: Vec<String>,
}

impl BatchSummary {
    /// The summary of a batch: its stats, where its rides went and what the
    /// table answered, and where each partition's dead letters went.
    pub fn new(
        stats: &mut BatchStats,
        storage: &'static str,
        applied: &Applied<'_, '_>,
        dead_letters: Vec<String>,
    ) -> Self {
        BatchSummary {
            storage,
            records: stats.records,
            rides: stats.rides,
            legacy_rides: stats.legacy_rides,
            poison: stats.poison(),
            poison_by_kind: stats.poison_by_kind.clone(),
            tombstones: stats.tombstones,
            duplicates: applied.duplicates,
            stored: applied.stored,
            conflicting: applied.conflicting,
            not_stored: applied.not_stored.len(),
            value_bytes: stats.value_bytes,
            latency_ms: stats.latency(),
            rides_per_pickup: stats.rides_per_pickup(),
            rides_per_destination: stats.rides_per_destination(),
            partitions: stats.partitions().clone(),
            dead_letters,
        }
    }
}

/// Logs the summary as one JSON line.
pub fn log(summary: &BatchSummary, request_id: &str) {
    let latency = summary.latency_ms.unwrap_or_default();
    tracing::info!(
        request_id,
        storage = summary.storage,
        records = summary.records,
        rides = summary.rides,
        legacy_rides = summary.legacy_rides,
        poison = summary.poison,
        poison_by_kind = ?summary.poison_by_kind,
        tombstones = summary.tombstones,
        duplicates = summary.duplicates,
        stored = summary.stored,
        conflicting = summary.conflicting,
        not_stored = summary.not_stored,
        value_bytes = summary.value_bytes,
        latency_p50_ms = latency.p50,
        latency_p99_ms = latency.p99,
        latency_max_ms = latency.max,
        rides_per_pickup = ?summary.rides_per_pickup,
        rides_per_destination = ?summary.rides_per_destination,
        partitions = ?summary.partitions,
        dead_letters = ?summary.dead_letters,
        "batch processed"
    );
}
