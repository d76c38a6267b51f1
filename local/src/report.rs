//! The end-of-run report: what reached Kinesis against what the consumer
//! processed (its ride ledger), so "lost" is counted, not assumed.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One line of the consumer's ride ledger (`RIDE_LEDGER_DIR`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consumed {
    pub event_id: Uuid,
    pub order_id: String,
    pub records_key: String,
    pub offset: i64,
    pub ride_timestamp: i64,
    pub consumed_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineReport {
    /// Valid rides found in the Kinesis stream.
    pub in_kinesis: usize,
    /// Records in the stream that are not valid rides (injected poison).
    pub poison_in_kinesis: usize,
    pub consumed: usize,
    /// Rides in Kinesis never processed by the consumer: must be 0.
    pub lost: usize,
    /// Extra deliveries of a ride already processed (at-least-once).
    pub duplicates: usize,
    /// Orders whose events were processed out of their Kinesis order.
    pub order_violations: usize,
    pub dead_lettered: usize,
    pub latency_p50_ms: i64,
    pub latency_p99_ms: i64,
    pub rides_per_second: f64,
}

pub fn read_ledger(dir: &Path) -> anyhow::Result<Vec<Consumed>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(out) };
    let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    for file in files.iter().filter(|p| p.extension().is_some_and(|e| e == "jsonl")) {
        for line in std::fs::read_to_string(file)?.lines().filter(|l| !l.is_empty()) {
            out.push(serde_json::from_str(line)?);
        }
    }
    Ok(out)
}

/// Every `.jsonl` file under `dir`, recursively, in a stable order.
fn jsonl_files(dir: &Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for path in entries.filter_map(Result::ok).map(|e| e.path()) {
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    files
}

/// Lines in every dead-letter file under `dir`.
pub fn count_dead_letters(dir: &Path) -> usize {
    jsonl_files(dir).iter().map(|f| std::fs::read_to_string(f).map_or(0, |s| s.lines().count())).sum()
}

/// The distinct Kinesis records (by sequence number) among the dead letters:
/// a record the bridge delivered twice is quarantined twice, once per offset.
pub fn distinct_dead_letters(dir: &Path) -> anyhow::Result<HashSet<String>> {
    let mut distinct = HashSet::new();
    for file in jsonl_files(dir) {
        for line in std::fs::read_to_string(&file)?.lines().filter(|l| !l.is_empty()) {
            let letter: serde_json::Value = serde_json::from_str(line)?;
            let sequence = letter["kinesis"]["sequenceNumber"].as_str().map(str::to_owned);
            distinct.insert(sequence.unwrap_or_else(|| format!("{}@{}", letter["partition"], letter["offset"])));
        }
    }
    Ok(distinct)
}

/// Compares the stream's contents with the ledger. `stream` is every record's
/// data in per-shard order; `elapsed_s` is the run's wall time.
pub fn compare(
    stream: &[crate::kinesis::admin::StoredRecord],
    ledger: &[Consumed],
    dead_lettered: usize,
    elapsed_s: f64,
) -> PipelineReport {
    let now = i64::MAX / 2;
    let mut in_kinesis: HashMap<Uuid, (String, usize)> = HashMap::new();
    let mut poison_in_kinesis = 0;
    for (position, record) in stream.iter().enumerate() {
        match events::decode(&record.data, now) {
            Ok(ride) => {
                in_kinesis.insert(ride.event_id, (record.shard_id.clone(), position));
            }
            Err(_) => poison_in_kinesis += 1,
        }
    }
    let mut first_seen: HashSet<Uuid> = HashSet::new();
    let mut duplicates = 0;
    // Per order: the Kinesis positions of its events in first-consumption order.
    let mut per_order: HashMap<&str, Vec<usize>> = HashMap::new();
    for c in ledger {
        if !first_seen.insert(c.event_id) {
            duplicates += 1;
            continue;
        }
        if let Some((_, position)) = in_kinesis.get(&c.event_id) {
            per_order.entry(c.order_id.as_str()).or_default().push(*position);
        }
    }
    let order_violations = per_order.values().filter(|p| p.windows(2).any(|w| w[0] > w[1])).count();
    let lost = in_kinesis.keys().filter(|id| !first_seen.contains(id)).count();
    let mut latencies: Vec<i64> = ledger.iter().map(|c| (c.consumed_at - c.ride_timestamp).max(0)).collect();
    latencies.sort_unstable();
    let percentile = |q: f64| {
        if latencies.is_empty() {
            return 0;
        }
        let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1]
    };
    PipelineReport {
        in_kinesis: in_kinesis.len(),
        poison_in_kinesis,
        consumed: first_seen.len(),
        lost,
        duplicates,
        order_violations,
        dead_lettered,
        latency_p50_ms: percentile(0.50),
        latency_p99_ms: percentile(0.99),
        rides_per_second: if elapsed_s > 0.0 { first_seen.len() as f64 / elapsed_s } else { 0.0 },
    }
}

impl std::fmt::Display for PipelineReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "rides in Kinesis      {}", self.in_kinesis)?;
        writeln!(f, "rides consumed        {}", self.consumed)?;
        writeln!(f, "lost                  {}", self.lost)?;
        writeln!(f, "duplicates            {}", self.duplicates)?;
        writeln!(f, "order violations      {}", self.order_violations)?;
        writeln!(f, "poison in Kinesis     {} (dead-lettered: {})", self.poison_in_kinesis, self.dead_lettered)?;
        writeln!(f, "latency p50 / p99     {} ms / {} ms", self.latency_p50_ms, self.latency_p99_ms)?;
        write!(f, "throughput            {:.0} rides/s", self.rides_per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letters_are_counted_per_line_and_distinct_per_kinesis_record() {
        let dir = std::env::temp_dir().join(format!("report-test-{}", std::process::id()));
        // The fields of msk-consumer's DeadLetter that the report reads.
        let letter = |offset: i64, sequence: &str| {
            serde_json::json!({"partition": 0, "offset": offset,
                "kinesis": {"shardId": "shardId-000000000000", "sequenceNumber": sequence, "partitionKey": "k"}})
            .to_string()
        };
        std::fs::create_dir_all(dir.join("carrides-0")).expect("dir");
        std::fs::write(dir.join("carrides-0/a.jsonl"), format!("{}\n{}\n", letter(1, "s1"), letter(2, "s2")))
            .expect("a");
        // The same Kinesis record delivered again at another offset.
        std::fs::write(dir.join("carrides-0/b.jsonl"), format!("{}\n", letter(9, "s1"))).expect("b");
        std::fs::write(dir.join("carrides-0/ignored.txt"), "x\n").expect("c");
        assert_eq!(count_dead_letters(&dir), 3);
        assert_eq!(distinct_dead_letters(&dir).expect("distinct").len(), 2);
        assert_eq!(count_dead_letters(&dir.join("missing")), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
