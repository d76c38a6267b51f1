//! The end-of-run report: what reached Kinesis against what the consumer
//! stored (the rides table, read back), so "lost" is counted, not assumed;
//! redundant deliveries from the consumer's own `DuplicateRides` metric.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use uuid::Uuid;

/// One ride the consumer stored: its item in the rides table (the first
/// delivery's Kafka position and time; later ones leave it as it was).
#[derive(Debug, Clone)]
pub struct Consumed {
    pub event_id: Uuid,
    pub order_id: String,
    pub partition: i64,
    pub offset: i64,
    pub ride_timestamp: i64,
    pub consumed_at: i64,
}

impl Consumed {
    /// Reads an item of the rides table (`msk_consumer::store::item`'s layout).
    pub fn from_item(item: &HashMap<String, AttributeValue>) -> anyhow::Result<Self> {
        let s = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("a stored ride without {name}: {item:?}"))
        };
        let n = |name: &str| -> anyhow::Result<i64> {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| anyhow::anyhow!("a stored ride without a numeric {name}: {item:?}"))
        };
        Ok(Self {
            event_id: s(pipeline_settings::rides_table::PARTITION_KEY)?.parse()?,
            order_id: s("orderId")?,
            partition: n("kafkaPartition")?,
            offset: n("kafkaOffset")?,
            ride_timestamp: n("rideTimestamp")?,
            consumed_at: n("consumedAt")?,
        })
    }
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
    /// Deliveries of a ride already stored (at-least-once redelivery): the
    /// consumer's `DuplicateRides`; the table holds each ride once.
    pub duplicates: usize,
    /// Orders whose events were processed out of their Kinesis order.
    pub order_violations: usize,
    pub dead_lettered: usize,
    /// Records the mapping wrote to its on-failure destination.
    pub on_failure_records: usize,
    /// Of the lost rides, those found in the on-failure destination: not
    /// processed, but kept (replay them from there).
    pub lost_in_on_failure: usize,
    /// Stored rides that are not in this run's stream: hand invokes through
    /// the local Invoke API (`cargo lambda invoke`) store into the same
    /// table; they are counted here, not as consumed.
    pub not_from_stream: usize,
    pub latency_p50_ms: i64,
    pub latency_p99_ms: i64,
    pub rides_per_second: f64,
}

/// Every ride in the rides table.
pub async fn read_table(client: &aws_sdk_dynamodb::Client, table: &str) -> anyhow::Result<Vec<Consumed>> {
    crate::dynamodb::scan(client, table).await?.iter().map(Consumed::from_item).collect()
}

/// The consumer's `DuplicateRides`, summed over the EMF lines in its log.
pub fn duplicate_deliveries(functions_log: &Path) -> usize {
    emf_total(functions_log, "DuplicateRides") as usize
}

/// One of the consumer's EMF metrics, summed over the lines in its log.
pub fn emf_total(functions_log: &Path, metric: &str) -> f64 {
    let Ok(log) = std::fs::read_to_string(functions_log) else { return 0.0 };
    let quoted = format!("\"{metric}\"");
    log.lines()
        .filter(|line| line.contains(&quoted))
        .filter_map(|line| line.find('{').and_then(|at| serde_json::from_str::<serde_json::Value>(&line[at..]).ok()))
        .filter_map(|emf| emf[metric].as_f64())
        .sum()
}

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
/// a record the connector delivered twice is quarantined twice, once per offset.
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

/// What the on-failure destination holds: every record of every invocation
/// record's payload, and the ride ids among them.
#[derive(Debug, Default)]
pub struct OnFailureContents {
    pub objects: usize,
    pub records: usize,
    pub ride_ids: HashSet<Uuid>,
}

/// Reads the on-failure directory: one AWS invocation record per file
/// (`events::on_failure`), its `payload` the discarded MSK event.
pub fn read_on_failure(dir: &Path) -> anyhow::Result<OnFailureContents> {
    use base64::Engine as _;
    let mut contents = OnFailureContents::default();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(contents) };
    let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    for file in files.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let text = std::fs::read_to_string(file)?;
        let record: events::on_failure::InvocationRecord = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not an invocation record: {e}", file.display()))?;
        contents.objects += 1;
        let Some(event) = record.event() else { continue };
        let event = event.map_err(|e| anyhow::anyhow!("{}: payload is not an MSK event: {e}", file.display()))?;
        for (_, r) in event.iter() {
            contents.records += 1;
            let value = r.value.as_deref().and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok());
            if let Some(Ok(ride)) = value.as_deref().map(|v| events::decode(v, i64::MAX / 2)) {
                contents.ride_ids.insert(ride.event_id);
            }
        }
    }
    Ok(contents)
}

/// The report of a running (or stopped) stack: its stream read back, the
/// rides table, dead letters and on-failure destination.
pub async fn of_stack(stack: &crate::stack::LocalStack, elapsed_s: f64) -> anyhow::Result<PipelineReport> {
    let stream = crate::kinesis::read_stream(&stack.kinesis, &stack.options.stream).await?;
    let stored = read_table(&stack.rides, &stack.options.rides_table).await?;
    let duplicates = duplicate_deliveries(stack.watch.log());
    let on_failure = read_on_failure(&stack.on_failure_dir())?;
    Ok(compare(&stream, &stored, duplicates, count_dead_letters(&stack.dead_letter_dir()), &on_failure, elapsed_s))
}

/// Compares the stream's contents with the rides table. `stream` is every
/// record's data in per-shard order; `duplicates` the redundant deliveries
/// the consumer counted; `elapsed_s` is the run's wall time.
pub fn compare(
    stream: &[crate::kinesis::admin::StoredRecord],
    stored: &[Consumed],
    duplicates: usize,
    dead_lettered: usize,
    on_failure: &OnFailureContents,
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
    let mut not_from_stream = 0;
    // Per order: (Kinesis position, when and at which offset it was first
    // consumed); in Kinesis order, consumption must never go back.
    type FirstConsumed = (i64, i64);
    let mut per_order: HashMap<&str, Vec<(usize, FirstConsumed)>> = HashMap::new();
    for c in stored {
        let Some((_, position)) = in_kinesis.get(&c.event_id) else {
            not_from_stream += 1;
            continue;
        };
        first_seen.insert(c.event_id);
        per_order.entry(c.order_id.as_str()).or_default().push((*position, (c.consumed_at, c.offset)));
    }
    for events in per_order.values_mut() {
        events.sort_unstable();
    }
    let order_violations = per_order.values().filter(|events| events.windows(2).any(|w| w[0].1 > w[1].1)).count();
    let lost_ids: HashSet<Uuid> = in_kinesis.keys().filter(|id| !first_seen.contains(id)).copied().collect();
    let mut latencies: Vec<i64> = stored
        .iter()
        .filter(|c| in_kinesis.contains_key(&c.event_id))
        .map(|c| (c.consumed_at - c.ride_timestamp).max(0))
        .collect();
    latencies.sort_unstable();
    let percentile = |q: f64| {
        if latencies.is_empty() {
            return 0;
        }
        let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1]
    };
    let lost_in_on_failure = on_failure.ride_ids.intersection(&lost_ids).count();
    PipelineReport {
        in_kinesis: in_kinesis.len(),
        poison_in_kinesis,
        consumed: first_seen.len(),
        lost: lost_ids.len(),
        duplicates,
        order_violations,
        dead_lettered,
        on_failure_records: on_failure.records,
        lost_in_on_failure,
        not_from_stream,
        latency_p50_ms: percentile(0.50),
        latency_p99_ms: percentile(0.99),
        rides_per_second: if elapsed_s > 0.0 { first_seen.len() as f64 / elapsed_s } else { 0.0 },
    }
}

impl std::fmt::Display for PipelineReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "rides in Kinesis      {}", self.in_kinesis)?;
        writeln!(f, "rides consumed        {}", self.consumed)?;
        if self.lost_in_on_failure > 0 {
            writeln!(
                f,
                "lost                  {} ({} of them kept in the on-failure destination)",
                self.lost, self.lost_in_on_failure
            )?;
        } else {
            writeln!(f, "lost                  {}", self.lost)?;
        }
        writeln!(f, "duplicates            {}", self.duplicates)?;
        writeln!(f, "order violations      {}", self.order_violations)?;
        writeln!(f, "poison in Kinesis     {} (dead-lettered: {})", self.poison_in_kinesis, self.dead_lettered)?;
        writeln!(f, "on-failure records    {}", self.on_failure_records)?;
        if self.not_from_stream > 0 {
            writeln!(f, "not from this stream  {} (hand invokes through the local Invoke API)", self.not_from_stream)?;
        }
        writeln!(f, "latency p50 / p99     {} ms / {} ms", self.latency_p50_ms, self.latency_p99_ms)?;
        write!(f, "throughput            {:.0} rides/s", self.rides_per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letters_are_counted_per_line_and_distinct_per_kinesis_record() {
        let scratch = tempfile::tempdir().expect("dir");
        let dir = scratch.path();
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
        assert_eq!(count_dead_letters(dir), 3);
        assert_eq!(distinct_dead_letters(dir).expect("distinct").len(), 2);
        assert_eq!(count_dead_letters(&dir.join("missing")), 0);
    }

    /// `rides` as one shard's records, in order.
    fn one_shard(rides: &[events::CarRideEvent<'_>]) -> Vec<crate::kinesis::admin::StoredRecord> {
        rides
            .iter()
            .enumerate()
            .map(|(i, ride)| crate::kinesis::admin::StoredRecord {
                shard_id: "shardId-000000000000".into(),
                sequence_number: i.to_string(),
                partition_key: "k".into(),
                data: events::encode(ride).data,
            })
            .collect()
    }

    #[test]
    fn hand_invokes_are_apart_and_lost_rides_kept_on_failure_are_named() {
        let rides = events::generate::RideGenerator::seeded(7).rides(3, 1_764_000_000_000);
        let stream = one_shard(&rides);
        let consumed = |id: Uuid, offset: i64| Consumed {
            event_id: id,
            order_id: "o".into(),
            partition: 0,
            offset,
            ride_timestamp: 0,
            consumed_at: 5,
        };
        let stored = vec![
            consumed(rides[0].event_id, 0),
            consumed(rides[1].event_id, 1),
            // A sample sent by hand through `cargo lambda invoke`.
            consumed(Uuid::nil(), 2),
        ];
        let on_failure =
            OnFailureContents { objects: 1, records: 1, ride_ids: [rides[2].event_id].into_iter().collect() };
        // One redundant delivery, as the consumer's DuplicateRides said.
        let report = compare(&stream, &stored, 1, 0, &on_failure, 1.0);
        assert_eq!((report.in_kinesis, report.consumed, report.duplicates, report.not_from_stream), (3, 2, 1, 1));
        assert_eq!((report.lost, report.lost_in_on_failure, report.on_failure_records), (1, 1, 1));
        assert!(report.to_string().contains("1 of them kept in the on-failure destination"), "{report}");
    }

    #[test]
    fn an_order_consumed_against_its_kinesis_order_is_a_violation() {
        let rides = events::generate::RideGenerator::seeded(8).rides(2, 1_764_000_000_000);
        let stream = one_shard(&rides);
        let at = |i: usize, consumed_at: i64, offset: i64| Consumed {
            event_id: rides[i].event_id,
            order_id: "o".into(),
            partition: 0,
            offset,
            ride_timestamp: 0,
            consumed_at,
        };
        let none = OnFailureContents::default();
        assert_eq!(compare(&stream, &[at(0, 5, 0), at(1, 5, 1)], 0, 0, &none, 1.0).order_violations, 0);
        assert_eq!(compare(&stream, &[at(0, 5, 1), at(1, 5, 0)], 0, 0, &none, 1.0).order_violations, 1);
        assert_eq!(compare(&stream, &[at(0, 9, 0), at(1, 5, 1)], 0, 0, &none, 1.0).order_violations, 1);
    }

    #[test]
    fn duplicate_deliveries_are_the_consumers_emf_counts() {
        let scratch = tempfile::tempdir().expect("dir");
        let log = scratch.path().join("functions.log");
        let emf = |n: u64| format!("{{\"_aws\":{{}},\"DuplicateRides\":{n},\"Rides\":3}}");
        std::fs::write(&log, format!("[msk-consumer] {}\nINFO unrelated\n{}\n", emf(2), emf(5))).expect("log");
        assert_eq!(duplicate_deliveries(&log), 7);
        assert_eq!(duplicate_deliveries(&log.with_extension("missing")), 0);
    }
}
