//! Rides/s through the real Camel connector, the template's properties side
//! by side with a baseline, in one run: the same burst of rides into a
//! 2-shard stream on the local Kinesis emulator, the real plugin on Kafka
//! Connect 3.7.x (distributed), Apache Kafka; timed from the first put until
//! every ride is in Kafka (or the window closes).
//!
//! The baseline is the same plugin and converters with none of the tuning
//! (`delay`, `maxResultsPerRequest`, the hand-off's `queueSize`, the batch
//! sizes): the plugin's defaults, which is where the seed stood.
//!
//!     MAVEN_EXTRA_REPOSITORIES=file://<folder> cargo bench -p local --bench connector_rate
//!
//! `CONNECTOR_BENCH_RIDES` (default 20,000) and `CONNECTOR_BENCH_WINDOW_S`
//! (default 90) size the burst and the longest wait; `LOCAL_KINESIS_EMULATOR`
//! picks the emulator.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use events::generate::RideGenerator;
use local::kafka::connect::KafkaConnect;
use local::kafka::Broker;
use local::kinesis::{self, Emulator};

/// The properties the template tunes; the baseline leaves them out.
const TUNED: [&str; 5] = [
    "camel.kamelet.aws-kinesis-source.delay",
    "camel.component.aws2-kinesis.maxResultsPerRequest",
    "camel.component.seda.queueSize",
    "camel.source.maxBatchPollSize",
    "camel.source.maxNotCommittedRecords",
];

struct Run {
    label: &'static str,
    put_s: f64,
    elapsed_s: f64,
    delivered: usize,
    dropped: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let rides: usize = std::env::var("CONNECTOR_BENCH_RIDES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let window =
        Duration::from_secs(std::env::var("CONNECTOR_BENCH_WINDOW_S").ok().and_then(|v| v.parse().ok()).unwrap_or(90));
    let emulator = Emulator::start_configured()?;
    let mut runs = Vec::new();
    for (label, tuned) in [("template (pipeline_settings::connector)", true), ("baseline (plugin defaults)", false)] {
        runs.push(run(&emulator, label, tuned, rides, window).await?);
    }
    println!(
        "\n{rides} rides, 2 shards, emulator {}, Kafka Connect {} + {} {}\n",
        emulator.kind().name(),
        pipeline_settings::connector::KAFKA_CONNECT_VERSION,
        pipeline_settings::connector::PLUGIN.artifact,
        pipeline_settings::connector::PLUGIN.version
    );
    println!("| properties | put in | in Kafka after | delivered | rides/s (2 shards) | per shard | dropped in the hand-off |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for r in &runs {
        let rate = r.delivered as f64 / r.elapsed_s;
        let done = if r.delivered == rides { String::new() } else { " (window closed)".to_owned() };
        println!(
            "| {} | {:.1} s | {:.1} s{done} | {} of {rides} | {:.0} | {:.0} | {} |",
            r.label,
            r.put_s,
            r.elapsed_s,
            r.delivered,
            rate,
            rate / 2.0,
            r.dropped
        );
    }
    Ok(())
}

async fn run(
    emulator: &Emulator,
    label: &'static str,
    tuned: bool,
    rides: usize,
    window: Duration,
) -> anyhow::Result<Run> {
    let name = if tuned { "template" } else { "baseline" };
    let stream = format!("bench-{name}");
    let scratch = local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), &format!("connector-bench-{name}"))?;
    let dir = scratch.path();
    let client = kinesis::client(&emulator.endpoint());
    kinesis::create_stream(&client, &stream, 2).await?;
    let broker = Broker::apache_kafka(dir)?;
    broker.create_topic(&stream, 4).await?;
    let mut properties = local::kafka::connect::deployed_config(&stream, &stream);
    if !tuned {
        properties.retain(|(key, _)| !TUNED.contains(&key.as_str()));
    }
    let local_only: Vec<_> = pipeline_settings::connector::local_overrides(&emulator.endpoint())
        .into_iter()
        .chain(emulator.connector_overrides())
        .collect();
    let connect =
        KafkaConnect::start_with(&dir.join("connect"), &broker.bootstrap_servers(), properties, local_only).await?;
    eprintln!("{label}: connector running; putting {rides} rides");

    let mut generator = RideGenerator::seeded(41);
    let started = Instant::now();
    common::put(&client, &stream, common::rides(&mut generator, rides)).await;
    let put_s = started.elapsed().as_secs_f64();
    // Distinct Kinesis records in Kafka (a restart's duplicates not counted).
    let delivered = common::read_topic(&broker, &stream, rides, window.saturating_sub(started.elapsed()));
    let elapsed_s = started.elapsed().as_secs_f64();
    let distinct: HashSet<&[u8]> =
        delivered.iter().filter_map(|d| d.headers.get(events::camel::SEQUENCE_NUMBER).map(Vec::as_slice)).collect();
    let dropped = connect.dropped_in_handoff();
    eprintln!("{label}: {} of {rides} in Kafka after {elapsed_s:.1} s, {dropped} dropped", distinct.len());
    Ok(Run { label, put_s, elapsed_s, delivered: distinct.len(), dropped })
}
