//! The consumer's work on a batch: rides per pickup and destination sector,
//! end-to-end latency (ride timestamp → consumption), duplicates by event id,
//! poison by kind, per-partition offset ranges. Built record by record, so a
//! ride only has to live while it is observed.

use std::collections::{BTreeMap, HashSet};

use events::msk::MskRecord;
use events::ride::{sector_name, sector_number, SECTOR_COUNT};
use events::CarRideEvent;
use serde::Serialize;
use uuid::Uuid;

use crate::decode::decoded_len;

#[derive(Debug, Default)]
pub struct BatchStats {
    pub records: usize,
    pub rides: usize,
    pub legacy_rides: usize,
    pub tombstones: usize,
    pub duplicates: usize,
    pub value_bytes: usize,
    pub poison_by_kind: BTreeMap<&'static str, usize>,
    pickups: [u32; SECTOR_COUNT as usize],
    destinations: [u32; SECTOR_COUNT as usize],
    latencies_ms: Vec<i64>,
    seen: HashSet<Uuid>,
    partitions: BTreeMap<String, PartitionSpan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionSpan {
    pub records: usize,
    pub first_offset: i64,
    pub last_offset: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Latency {
    pub p50: i64,
    pub p99: i64,
    pub max: i64,
}

impl BatchStats {
    pub fn with_capacity(records: usize) -> Self {
        Self { latencies_ms: Vec::with_capacity(records), seen: HashSet::with_capacity(records), ..Self::default() }
    }

    /// Every partition passes here once with all its records, whatever they
    /// turn out to be.
    pub fn observe_partition(&mut self, records_key: &str, records: &[MskRecord<'_>]) {
        let Some(first) = records.first() else { return };
        let mut span = PartitionSpan { records: records.len(), first_offset: first.offset, last_offset: first.offset };
        for record in records {
            span.first_offset = span.first_offset.min(record.offset);
            span.last_offset = span.last_offset.max(record.offset);
            self.value_bytes += record.value.as_deref().map_or(0, decoded_len);
        }
        self.records += records.len();
        self.partitions
            .entry(records_key.to_owned())
            .and_modify(|known| {
                known.records += span.records;
                known.first_offset = known.first_offset.min(span.first_offset);
                known.last_offset = known.last_offset.max(span.last_offset);
            })
            .or_insert(span);
    }

    pub fn observe_ride(&mut self, ride: &CarRideEvent<'_>, now_ms: i64) {
        self.rides += 1;
        if ride.schema_version == 0 {
            self.legacy_rides += 1;
        }
        if !self.seen.insert(ride.event_id) {
            self.duplicates += 1;
        }
        // Validation guarantees both are sectors; the guard keeps this total.
        if let (Some(p), Some(d)) = (sector_number(&ride.pickup), sector_number(&ride.destination)) {
            self.pickups[usize::from(p - 1)] += 1;
            self.destinations[usize::from(d - 1)] += 1;
        }
        self.latencies_ms.push(now_ms.saturating_sub(ride.ride_timestamp).max(0));
    }

    pub fn observe_tombstone(&mut self) {
        self.tombstones += 1;
    }

    pub fn observe_poison(&mut self, kind: &'static str) {
        *self.poison_by_kind.entry(kind).or_default() += 1;
    }

    pub fn poison(&self) -> usize {
        self.poison_by_kind.values().sum()
    }

    /// Nearest-rank percentiles of the end-to-end latency.
    pub fn latency(&mut self) -> Option<Latency> {
        if self.latencies_ms.is_empty() {
            return None;
        }
        self.latencies_ms.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * self.latencies_ms.len() as f64).ceil() as usize).clamp(1, self.latencies_ms.len());
            self.latencies_ms[rank - 1]
        };
        Some(Latency { p50: at(0.50), p99: at(0.99), max: at(1.0) })
    }

    pub fn rides_per_pickup(&self) -> BTreeMap<String, u32> {
        per_sector(&self.pickups)
    }

    pub fn rides_per_destination(&self) -> BTreeMap<String, u32> {
        per_sector(&self.destinations)
    }

    pub fn partitions(&self) -> &BTreeMap<String, PartitionSpan> {
        &self.partitions
    }
}

fn per_sector(counts: &[u32]) -> BTreeMap<String, u32> {
    (1..=SECTOR_COUNT).zip(counts).filter(|(_, &n)| n > 0).map(|(s, &n)| (sector_name(s), n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ride(id: u128, ts: i64, pickup: &'static str, destination: &'static str) -> CarRideEvent<'static> {
        CarRideEvent {
            schema_version: 1,
            event_id: Uuid::from_u128(id),
            ride_timestamp: ts,
            order_id: "o".into(),
            customer_id: "c".into(),
            pickup: pickup.into(),
            destination: destination.into(),
        }
    }

    #[test]
    fn sectors_latency_and_duplicates() {
        let mut stats = BatchStats::default();
        for i in 0..100 {
            stats.observe_ride(&ride(i, 1_000 - i as i64, "sector_01", "sector_02"), 1_000);
        }
        stats.observe_ride(&ride(7, 1_000, "sector_03", "sector_02"), 1_000);
        assert_eq!((stats.rides, stats.duplicates), (101, 1));
        assert_eq!(stats.rides_per_pickup(), BTreeMap::from([("sector_01".into(), 100), ("sector_03".into(), 1)]));
        assert_eq!(stats.rides_per_destination(), BTreeMap::from([("sector_02".into(), 101)]));
        // Latencies 0..=99 plus one 0: p50 is the 51st smallest, p99 the 100th.
        assert_eq!(stats.latency(), Some(Latency { p50: 49, p99: 98, max: 99 }));
    }

    #[test]
    fn partitions_track_their_offset_span() {
        let record = |offset: i64| {
            events::msk::KafkaMessage {
                topic: "t".into(),
                partition: 1,
                offset,
                timestamp_ms: 0,
                log_append_time: false,
                key: None,
                value: Some(vec![b'x'; 10]),
                headers: Vec::new(),
            }
            .to_msk_record()
        };
        let mut stats = BatchStats::default();
        stats.observe_partition("t-1", &[record(9), record(7)]);
        stats.observe_partition("t-0", &[record(3)]);
        stats.observe_partition("t-1", &[record(8)]);
        stats.observe_partition("t-2", &[]);
        assert_eq!(stats.partitions()["t-1"], PartitionSpan { records: 3, first_offset: 7, last_offset: 9 });
        assert_eq!(stats.partitions().len(), 2, "an empty partition adds no span");
        assert_eq!((stats.records, stats.value_bytes), (4, 40));
        assert_eq!(BatchStats::default().latency(), None);
    }
}
