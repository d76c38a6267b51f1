//! A batch read: every record decoded and validated, the rides aggregated,
//! the poison grouped by partition as dead letters, and the valid rides
//! (with the record each came in) collected for the rides table.

use crate::config::Config;
use crate::dead_letter::{DeadLetter, DeadLetterBatch, LetterMeta};
use crate::decode::{decode_record, Decoded};
use crate::stats::BatchStats;
use crate::store::RideToStore;
use crate::Invocation;
use events::msk::MskEvent;

/// The valid rides of a batch to store, and (at the same index) the record
/// each came in.
#[derive(Default)]
pub struct FoundRides<'e> {
    pub rides: Vec<RideToStore>,
    pub origins: Vec<RideOrigin<'e>>,
}

/// Where a ride of the batch came from: its partition and record.
pub struct RideOrigin<'e> {
    pub records_key: &'e str,
    pub record: &'e events::msk::MskRecord<'e>,
}

/// Decodes and observes every record; returns the stats, the poison records
/// grouped by partition, and (when a rides table is configured) the valid
/// rides to store.
pub fn process_batch<'e>(
    event: &'e MskEvent<'_>,
    invocation: &Invocation,
    config: &Config,
) -> (BatchStats, Vec<DeadLetterBatch<'e>>, FoundRides<'e>) {
    let now_ms = invocation.now_ms;
    let mut stats = BatchStats::with_capacity(event.record_count());
    let mut quarantine = Vec::new();
    let collect = config.rides_table.is_some();
    let mut rides = FoundRides::default();
    if collect {
        rides.rides.reserve(event.record_count());
        rides.origins.reserve(event.record_count());
    }
    let meta = LetterMeta { request_id: invocation.request_id.clone(), now_ms };
    let mut buf = Vec::with_capacity(1024);
    for (records_key, records) in &event.records {
        let mut letters = Vec::new();
        stats.observe_partition(records_key, records);
        for (index, record) in records.iter().enumerate() {
            match decode_record(record, &mut buf, config.max_record_bytes, now_ms) {
                Ok(Decoded::Ride(ride)) => {
                    stats.observe_ride(&ride, now_ms);
                    if collect {
                        let topic = record.topic.as_deref().unwrap_or_else(|| {
                            events::msk::split_records_key(records_key).map_or("", |(topic, _)| topic)
                        });
                        rides.rides.push(RideToStore::new(&ride, topic, record.partition, record.offset));
                        rides.origins.push(RideOrigin { records_key, record });
                    }
                }
                Ok(Decoded::Tombstone) => stats.observe_tombstone(),
                Err(poison) => {
                    stats.observe_poison(poison.kind());
                    let reason =
                        format!("record {index} of partition {} (offset {}): {poison}", &**records_key, record.offset);
                    letters.push(DeadLetter::new(records_key, record, poison.kind(), reason, &meta));
                }
            }
        }
        if !letters.is_empty() {
            quarantine.push(DeadLetterBatch { records_key: records_key.to_string(), letters });
        }
    }
    (stats, quarantine, rides)
}
