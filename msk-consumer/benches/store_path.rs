//! The consumer's write path as a figure of its own: the same batch handled
//! without the rides table and with it, on each open-source DynamoDB
//! emulator (dynoxide, moto's server and dynalite, on loopback through the real
//! `aws-sdk-dynamodb`, one conditional `PutItem` per ride, 64 in flight), in
//! one run: a 500-record batch (the template's `BatchSize`) and the near-6 MB
//! one. With the table, twice per round: on a fresh table (every ride
//! written) and again (every ride already stored: a redelivery; dynalite
//! returns no item with a refusal, so the writer reads each one). Puts are
//! counted by a pass-through proxy in front of the emulator.
//!
//!     cargo bench -p msk-consumer --bench store_path [-- ROUNDS]
//!
//! The best of ROUNDS (default 3) is each figure. moto answers a put in
//! about 2 ms of Python on this machine, so the with-table figures are the
//! emulator's more than the consumer's: on AWS a put is one round trip of a
//! few ms within the region, and 64 are in flight.

use std::time::{Duration, Instant};

use events::msk::MskEvent;
use local::dynamodb::throttle_proxy::ThrottlePlan;
use local::dynamodb::{self, Dynalite, Dynoxide, ThrottleProxy};
use local::moto::Moto;
use msk_consumer::config::Config;
use msk_consumer::dead_letter::memory::MemorySink;
use msk_consumer::store::dynamodb::DynamoStore;
use msk_consumer::{handle, BatchSummary, ConsumerResponse, Deps, Invocation};

const TTL_SECONDS: i64 = 30 * 86_400;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let rounds: usize =
        std::env::args().skip(1).filter(|a| a != "--bench").find_map(|a| a.parse().ok()).unwrap_or(3).max(1);
    let moto = Moto::start()?;
    let dynalite = Dynalite::start()?;
    let dynoxide = Dynoxide::start()?;
    let large = events::samples::msk_large(events::msk::MAX_INVOKE_PAYLOAD_BYTES);
    let mut small = MskEvent::new(events::msk::EVENT_SOURCE_MSK, "arn:bench", "b:9098");
    for (_, record) in large.iter().take(500) {
        small.push(record.clone());
    }
    println!("| emulator | batch | records | handled without the table | with it, fresh table | puts | with it, a redelivery | puts | per ride (fresh) |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (emulator, endpoint) in [
        ("dynoxide 3.2.0", dynoxide.endpoint()),
        ("moto 5.2.5", moto.endpoint()),
        ("dynalite 4.0.0", dynalite.endpoint()),
    ] {
        let proxy = ThrottleProxy::start(&endpoint, ThrottlePlan { first_calls: 0, every: 0 }).await?;
        for (name, event) in [("500 records", &small), ("near 6 MB", &large)] {
            let table = |round: usize| format!("bench-{}-{round}", event.record_count());
            let create = |round: usize| {
                let (client, table) = (dynamodb::client(&endpoint), table(round));
                async move {
                    if emulator.starts_with("dynalite") {
                        dynamodb::create_rides_table_without_ttl(&client, &table).await
                    } else {
                        dynamodb::create_rides_table(&client, &table).await
                    }
                }
            };
            let row = measure(rounds, name, event, &proxy, table, create).await?;
            println!("| {emulator} {row}");
        }
    }
    Ok(())
}

/// One table row (after the emulator's cell): the best of `rounds`.
async fn measure<C, F>(
    rounds: usize,
    name: &str,
    event: &MskEvent<'_>,
    proxy: &ThrottleProxy,
    table: impl Fn(usize) -> String,
    create: C,
) -> anyhow::Result<String>
where
    C: Fn(usize) -> F,
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let bytes = |event: &MskEvent<'_>| serde_json::to_vec(event).map_or(0, |v| v.len());
    let mut best = [Duration::MAX; 3];
    let mut puts = [0u64; 2];
    for round in 0..rounds {
        let without: Deps<MemorySink> =
            Deps { config: Config::with_dead_letter_dir("unused"), dead_letters: MemorySink::new(), store: None };
        best[0] = best[0].min(timed(event, &without).await?.0);
        let table = table(round);
        create(round).await?;
        let store = DynamoStore::new(dynamodb::client(&proxy.endpoint()), &table, TTL_SECONDS);
        let config = Config { rides_table: Some(table.clone()), ..Config::with_dead_letter_dir("unused") };
        let with = Deps { config, dead_letters: MemorySink::new(), store: Some(store) };
        for (i, expect_stored) in [true, false].into_iter().enumerate() {
            let before = proxy.stats().put_calls.load(std::sync::atomic::Ordering::Relaxed);
            let (elapsed, summary) = timed(event, &with).await?;
            let calls = proxy.stats().put_calls.load(std::sync::atomic::Ordering::Relaxed) - before;
            let settled = if expect_stored { summary.stored } else { summary.duplicates };
            anyhow::ensure!(settled == summary.rides, "{name}: {summary:?}");
            best[i + 1] = best[i + 1].min(elapsed);
            puts[i] = calls;
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(format!(
        "| {name} ({:.1} MB) | {} | {:.1} ms | {:.0} ms | {} | {:.0} ms | {} | {:.2} ms |",
        bytes(event) as f64 / 1e6,
        event.record_count(),
        ms(best[0]),
        ms(best[1]),
        puts[0],
        ms(best[2]),
        puts[1],
        ms(best[1]) / event.record_count().max(1) as f64
    ))
}

/// Handles `event` once; its wall time and summary.
async fn timed<S: msk_consumer::store::RideStore>(
    event: &MskEvent<'_>,
    deps: &Deps<MemorySink, S>,
) -> anyhow::Result<(Duration, BatchSummary)> {
    let invocation = Invocation {
        request_id: "bench".into(),
        now_ms: events::samples::SAMPLE_NOW_MS + 60_000,
        deadline: Some(Instant::now() + Duration::from_secs(300)),
    };
    let started = Instant::now();
    let response = handle(event, &invocation, deps).await?;
    let elapsed = started.elapsed();
    match response {
        ConsumerResponse::Summary(summary) => Ok((elapsed, *summary)),
        other => anyhow::bail!("expected a summary, got {other:?}"),
    }
}
