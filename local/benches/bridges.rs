//! The two Kinesis → MSK hops side by side, in one run, on the same parts:
//! the Camel connector on Kafka Connect (the template's properties) and the
//! kinesis-forwarder behind the emulated Kinesis mapping, each on a fresh
//! stack (kinesalite, Apache Kafka, `cargo lambda watch`):
//! - rides/s per shard at 2, 4 and 8 shards: a burst of
//!   `BRIDGES_BENCH_RIDES_PER_SHARD` rides per shard, timed from the first
//!   put until every ride is in Kafka;
//! - Kinesis → Kafka latency p50/p99: the broker's append time (the topic
//!   uses `LogAppendTime`) less the ride's own timestamp (taken as it is
//!   put);
//! - duplicates after the hop is killed (SIGKILL) once half a burst is in Kafka;
//! - rides lost when the broker is frozen (SIGSTOP) for 60 s mid-burst;
//! - peak memory (VmHWM) of the hop's processes: the Connect worker's JVM,
//!   the forwarder's instances (debug builds under `cargo lambda watch`);
//! - cost per million rides at AWS's list prices (below).
//!
//!     MAVEN_EXTRA_REPOSITORIES=file://<folder> make bench-bridges
//!
//! `BRIDGES_BENCH_SHARDS` (default `2,4,8`) and `BRIDGES_BENCH_FAULTS=0`
//! (skip the kill and the freeze) narrow a run.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use events::generate::RideGenerator;
use local::kafka::Broker;
use local::stack::{BridgeKind, LocalStack, StackOptions};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message, Timestamp};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// AWS list prices, us-east-1 (check them before relying on the figures):
/// MSK Connect bills each MCU-hour of a provisioned connector, traffic or
/// not (aws.amazon.com/msk/pricing, "MSK Connect"); Lambda bills requests
/// and GB-seconds, arm64 (aws.amazon.com/lambda/pricing); a Kinesis mapping
/// on standard iterators costs nothing beyond the function.
const MSK_CONNECT_MCU_HOUR_USD: f64 = 0.11;
const LAMBDA_PER_MILLION_REQUESTS_USD: f64 = 0.20;
const LAMBDA_ARM64_GB_SECOND_USD: f64 = 0.000_013_333_4;
/// The template's connector capacity (1 worker, 1 MCU) and forwarder memory.
const CONNECTOR_MCUS: f64 = 1.0;
const FORWARDER_MEMORY_GB: f64 = 0.25;

#[derive(Default)]
struct Row {
    rides: usize,
    shards: i32,
    elapsed_s: f64,
    delivered: usize,
    p50_ms: i64,
    p99_ms: i64,
    peak_rss_mib: f64,
    mean_invoke_ms: Option<f64>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let per_shard: usize =
        std::env::var("BRIDGES_BENCH_RIDES_PER_SHARD").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let shard_counts: Vec<i32> = std::env::var("BRIDGES_BENCH_SHARDS")
        .unwrap_or_else(|_| "2,4,8".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let faults = std::env::var("BRIDGES_BENCH_FAULTS").map_or(true, |v| v != "0");
    let hops: Vec<BridgeKind> = match std::env::var("BRIDGES_BENCH_HOPS").unwrap_or_default().as_str() {
        "camel" => vec![BridgeKind::Camel],
        "lambda" => vec![BridgeKind::Lambda],
        _ => vec![BridgeKind::Camel, BridgeKind::Lambda],
    };
    let mut rates = Vec::new();
    for &shards in &shard_counts {
        for &hop in &hops {
            rates.push((hop, burst(hop, shards, per_shard * shards as usize).await?));
        }
    }
    let mut fault_rows = Vec::new();
    if faults {
        for &hop in &hops {
            let (kill_duplicates, kill_rides) = killed_mid_burst(hop, 20_000).await?;
            let (frozen_lost, frozen_rides) = frozen_for_60_s(hop, 20_000).await?;
            fault_rows.push((hop, kill_duplicates, kill_rides, frozen_lost, frozen_rides));
        }
    }

    println!(
        "\n## Rates ({per_shard} rides per shard, kinesalite, Apache Kafka {}, 2 cores)\n",
        local::kafka::apache::ApacheKafka::version()
    );
    println!("| hop | shards | rides | in Kafka after | rides/s | per shard | Kinesis → Kafka p50 / p99 | peak memory of the hop | mean invocation |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (hop, r) in &rates {
        let rate = r.delivered as f64 / r.elapsed_s;
        println!(
            "| {} | {} | {} of {} | {:.1} s | {:.0} | {:.0} | {} / {} ms | {:.0} MiB | {} |",
            name(*hop),
            r.shards,
            r.delivered,
            r.rides,
            r.elapsed_s,
            rate,
            rate / f64::from(r.shards),
            r.p50_ms,
            r.p99_ms,
            r.peak_rss_mib,
            r.mean_invoke_ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.0} ms per batch"))
        );
    }
    if faults {
        println!("\n## Faults (2 shards)\n");
        println!("| hop | killed once half a burst was in Kafka: duplicates | broker frozen 60 s mid-burst: lost |");
        println!("| --- | --- | --- |");
        for (hop, duplicates, kill_rides, lost, frozen_rides) in &fault_rows {
            println!("| {} | {duplicates} of {kill_rides} | {lost} of {frozen_rides} |", name(*hop));
        }
    }
    println!("\n## Cost per million rides at list prices (us-east-1)\n");
    println!("| hop | at 100 rides/s | at 1,000 rides/s | at 4,000 rides/s |");
    println!("| --- | --- | --- | --- |");
    let forwarder_invoke_ms = rates
        .iter()
        .filter(|(hop, _)| *hop == BridgeKind::Lambda)
        .filter_map(|(_, r)| r.mean_invoke_ms)
        .fold(None, |max: Option<f64>, ms| Some(max.map_or(ms, |m| m.max(ms))));
    let batch = pipeline_settings::mapping::FORWARDER_MAPPING.batch_size as f64;
    let connect = |rate: f64| MSK_CONNECT_MCU_HOUR_USD * CONNECTOR_MCUS / (rate * 3600.0 / 1e6);
    println!(
        "| Camel on MSK Connect (1 worker, 1 MCU, billed by the hour) | ${:.3} | ${:.4} | ${:.4} |",
        connect(100.0),
        connect(1_000.0),
        connect(4_000.0)
    );
    if let Some(ms) = forwarder_invoke_ms {
        // Full batches at the higher rates; at 100 rides/s a poll a second
        // per shard brings about 100 rides a batch.
        let lambda = |rides_per_batch: f64| {
            let invocations = 1e6 / rides_per_batch;
            invocations
                * (LAMBDA_PER_MILLION_REQUESTS_USD / 1e6
                    + FORWARDER_MEMORY_GB * ms / 1000.0 * LAMBDA_ARM64_GB_SECOND_USD)
        };
        println!(
            "| kinesis-forwarder (256 MB, {ms:.0} ms per batch as measured here) | ${:.4} | ${:.4} | ${:.4} |",
            lambda(100.0),
            lambda(batch.min(1_000.0)),
            lambda(batch)
        );
    }
    Ok(())
}

fn name(hop: BridgeKind) -> &'static str {
    match hop {
        BridgeKind::Camel => "Camel connector",
        BridgeKind::Lambda => "kinesis-forwarder",
    }
}

async fn stack(hop: BridgeKind, label: &str, shards: i32) -> anyhow::Result<LocalStack> {
    let scratch =
        local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), &format!("bridges-bench-{label}-{}", name(hop)))?;
    let dir = scratch.path().to_path_buf();
    let mut options = StackOptions::new(&dir);
    options.bridge = hop;
    options.shards = shards;
    let broker = Broker::apache_kafka(&dir)?;
    // The broker's clock on every record, so latency is measured at Kafka.
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", broker.bootstrap_servers()).create()?;
    let max = pipeline_settings::topic::MAX_MESSAGE_BYTES.to_string();
    let topic = NewTopic::new(&options.topic, options.partitions, TopicReplication::Fixed(1))
        .set("message.timestamp.type", "LogAppendTime")
        .set("max.message.bytes", &max);
    admin.create_topics([&topic], &AdminOptions::new()).await?;
    let mut stack = LocalStack::start(options, broker).await?;
    stack.scratch = Some(scratch);
    stack.warm_up().await?;
    Ok(stack)
}

/// Distinct rides in Kafka and each one's first append time, once `expected`
/// are there or `window` closes.
fn appended(stack: &LocalStack, expected: usize, window: Duration) -> Vec<(Vec<u8>, i64, Vec<u8>)> {
    let consumer: BaseConsumer = match ClientConfig::new()
        .set("bootstrap.servers", stack.broker.bootstrap_servers())
        .set("group.id", format!("bench-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
    {
        Ok(consumer) => consumer,
        Err(_) => return Vec::new(),
    };
    let mut assignment = TopicPartitionList::new();
    for partition in 0..stack.options.partitions {
        let _ = assignment.add_partition_offset(&stack.options.topic, partition, Offset::Beginning);
    }
    if consumer.assign(&assignment).is_err() {
        return Vec::new();
    }
    let deadline = Instant::now() + window;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while seen.len() < expected && Instant::now() < deadline {
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else { continue };
        let sequence = m
            .headers()
            .and_then(|h| {
                h.iter().find(|h| h.key == events::camel::SEQUENCE_NUMBER).and_then(|h| h.value.map(<[u8]>::to_vec))
            })
            .unwrap_or_default();
        let at = match m.timestamp() {
            Timestamp::LogAppendTime(t) | Timestamp::CreateTime(t) => t,
            Timestamp::NotAvailable => 0,
        };
        if seen.insert(sequence.clone()) {
            out.push((sequence, at, m.payload().unwrap_or_default().to_vec()));
        }
    }
    out
}

fn percentile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn burst(hop: BridgeKind, shards: i32, rides: usize) -> anyhow::Result<Row> {
    let stack = stack(hop, "rate", shards).await?;
    eprintln!("{}: {shards} shards, putting {rides} rides", name(hop));
    let mut generator = RideGenerator::seeded(90);
    let started = Instant::now();
    common::put(&stack.kinesis, &stack.options.stream, common::rides(&mut generator, rides)).await;
    // The warm-ups' rides are in the stream too.
    let warm_up_rides = stack.warm_up_rides();
    let delivered = appended(&stack, rides + warm_up_rides, Duration::from_secs(240));
    let elapsed_s = started.elapsed().as_secs_f64();
    let mut latencies: Vec<i64> = delivered
        .iter()
        .filter_map(|(_, at, value)| events::decode(value, i64::MAX / 2).ok().map(|ride| at - ride.ride_timestamp))
        .collect();
    latencies.sort_unstable();
    let (peak_rss_mib, mean_invoke_ms) = match stack.forwarder() {
        Some(hop) => {
            let invocations = hop.stats.invocations.load(Ordering::Relaxed).max(1);
            let mean = hop.stats.invoke_micros.load(Ordering::Relaxed) as f64 / invocations as f64 / 1000.0;
            (peak_of_processes("kinesis-forwarder"), Some(mean))
        }
        None => (stack.connect().and_then(|c| c.pid()).map_or(0.0, peak_rss_mib), None),
    };
    Ok(Row {
        rides,
        shards,
        elapsed_s,
        delivered: delivered.len().saturating_sub(1),
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        peak_rss_mib,
        mean_invoke_ms,
    })
}

/// Records in Kafka beyond the stream's: what the hop sent twice after a
/// SIGKILL once half the burst was in Kafka.
async fn killed_mid_burst(hop: BridgeKind, rides: usize) -> anyhow::Result<(u64, usize)> {
    let stack = stack(hop, "kill", 2).await?;
    let mut generator = RideGenerator::seeded(91);
    common::put(&stack.kinesis, &stack.options.stream, common::rides(&mut generator, rides)).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while stack.records_in_kafka().unwrap_or(0) < (rides / 2) as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stack.kill_bridge().await?;
    let distinct = appended(&stack, rides + stack.warm_up_rides(), Duration::from_secs(300)).len();
    let in_kafka = stack.records_in_kafka()?;
    eprintln!("{}: killed mid-burst, {in_kafka} records in Kafka for {distinct} distinct", name(hop));
    Ok((in_kafka.saturating_sub(distinct as u64), rides))
}

/// Rides that never reached Kafka when the broker was frozen for 60 s while
/// the second half of a burst arrived.
async fn frozen_for_60_s(hop: BridgeKind, rides: usize) -> anyhow::Result<(usize, usize)> {
    let stack = stack(hop, "frozen", 2).await?;
    let mut generator = RideGenerator::seeded(92);
    common::put(&stack.kinesis, &stack.options.stream, common::rides(&mut generator, rides / 2)).await;
    stack.broker.freeze()?;
    let frozen_at = Instant::now();
    common::put(&stack.kinesis, &stack.options.stream, common::rides(&mut generator, rides - rides / 2)).await;
    tokio::time::sleep(Duration::from_secs(60).saturating_sub(frozen_at.elapsed())).await;
    stack.broker.thaw()?;
    let expected = rides + stack.warm_up_rides();
    let read = appended(&stack, expected, Duration::from_secs(300));
    let lost = expected.saturating_sub(read.len());
    if lost > 0 {
        // Which records, and are they only late?
        let in_kafka: HashSet<Vec<u8>> = read.into_iter().map(|(sequence, _, _)| sequence).collect();
        let stream = local::kinesis::read_stream(&stack.kinesis, &stack.options.stream).await?;
        let missing: Vec<_> = stream
            .iter()
            .filter(|r| !in_kafka.contains(r.sequence_number.as_bytes()))
            .map(|r| (&r.shard_id, &r.sequence_number))
            .collect();
        eprintln!("{}: {lost} not in Kafka after the window: {:?}", name(hop), &missing[..missing.len().min(20)]);
        if let Some(hop) = stack.forwarder() {
            eprintln!(
                "mapping stats {:?}; on-failure records {}",
                hop.stats,
                hop.stats.records_sent_on_failure.load(Ordering::Relaxed)
            );
        }
        eprintln!("stack data kept in {}", stack.data_dir().display());
        return Ok((lost, rides));
    }
    let distinct = expected - lost;
    eprintln!(
        "{}: broker frozen 60 s, {distinct} of {expected} in Kafka, dropped in the hand-off {}",
        name(hop),
        stack.dropped_in_handoff()
    );
    Ok((lost, rides))
}

/// A process's peak resident memory (VmHWM) in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The largest peak memory among running processes whose executable is `name`.
fn peak_of_processes(name: &str) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0.0 };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe.file_name().is_some_and(|f| f == name))
        })
        .map(peak_rss_mib)
        .fold(0.0, f64::max)
}
