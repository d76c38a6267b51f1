//! The whole pipeline on loopback: producer (scheduled through the Lambda
//! Invoke API) → kinesalite → the Kinesis → Kafka hop → Apache Kafka →
//! event source mapping poller → msk-consumer, the functions under `cargo
//! lambda watch`. Every test runs on both hops: the real Camel
//! aws-kinesis-source connector on Kafka Connect 3.7.x (the template's
//! properties), and the kinesis-forwarder behind the emulated Kinesis
//! mapping. Every ride that reached Kinesis must reach the consumer,
//! per-order order must hold, poison must land in the dead-letter sink, and
//! killing the hop, taking the broker down or freezing it for 60 s, or
//! failing consumer batches must lose nothing (what the Camel hop does under
//! a 60 s freeze is measured and printed).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use events::generate::RideGenerator;
use local::dynamodb::throttle_proxy::ThrottlePlan;
use local::kafka::Broker;
use local::report::{self, PipelineReport};
use local::stack::{BridgeKind, LocalStack, StackOptions};

/// Turns a hang into a failure that says where: unless dropped within
/// `limit`, it writes the test's last step straight to stderr (the harness
/// captures `eprintln!`, not the file descriptor) and aborts the test
/// process, so CI fails with a reason instead of waiting for its timeout.
struct Watchdog {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    step: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Watchdog {
    fn arm(test: &'static str, limit: Duration) -> Self {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let step = std::sync::Arc::new(std::sync::Mutex::new("starting".to_owned()));
        let (flag, last) = (done.clone(), step.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < limit {
                if flag.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            let step = last.lock().map(|s| s.clone()).unwrap_or_default();
            let message = format!("\n{test}: no end after {limit:?}; last step: {step}. Aborting the test process.\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
            std::process::abort();
        });
        Self { done, step }
    }

    fn step(&self, step: &str) {
        eprintln!("[{:?}] {step}", std::time::SystemTime::now());
        if let Ok(mut s) = self.step.lock() {
            *s = step.to_owned();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

async fn start_stack(name: &str, bridge: BridgeKind) -> LocalStack {
    start_stack_on(name, |dir| Broker::apache_kafka(dir).expect("Apache Kafka (make tools)"), |o| o.bridge = bridge)
        .await
}

/// Each test twice: on the Camel hop and on the forwarder hop.
macro_rules! on_both_hops {
    ($test:ident) => {
        mod $test {
            #[test]
            fn camel() {
                super::run(super::$test(local::stack::BridgeKind::Camel))
            }

            #[test]
            fn lambda() {
                super::run(super::$test(local::stack::BridgeKind::Lambda))
            }
        }
    };
}

/// Runs a test on two runtime threads, then shuts the runtime down without
/// waiting more than a few seconds for work still blocked (the default drop
/// waits for every blocking task, however long: once a test that had already
/// failed never ended).
fn run(test: impl std::future::Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(test)));
    runtime.shutdown_timeout(Duration::from_secs(10));
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

on_both_hops!(every_ride_arrives_once_in_order_and_poison_is_quarantined);
on_both_hops!(the_function_host_killed_mid_stream_is_restarted_and_loses_nothing);
on_both_hops!(hop_kill_broker_outage_and_failed_batches_lose_nothing);
on_both_hops!(kafka_frozen_for_60_s_while_rides_arrive);

async fn start_stack_on(
    name: &str,
    broker: impl FnOnce(&std::path::Path) -> Broker,
    tweak: impl FnOnce(&mut StackOptions),
) -> LocalStack {
    // LOCAL_LOG=local=info,librdkafka=debug (and LOCAL_KAFKA_DEBUG=cgrp,fetch) to see the mappings work.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("LOCAL_LOG"))
        .with_test_writer()
        .try_init();
    let mut options = StackOptions::new(std::env::temp_dir());
    options.rides_per_schedule = 500;
    tweak(&mut options);
    let scratch =
        local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), &format!("pipeline-{name}-{:?}", options.bridge))
            .expect("scratch");
    options.data_dir = scratch.path().to_path_buf();
    let broker = broker(scratch.path());
    let mut stack = LocalStack::start(options, broker).await.expect("stack");
    stack.scratch = Some(scratch);
    stack.warm_up().await.expect("functions");
    stack
}

/// Stops the poller before the stack (and its broker) goes.
async fn stop(poller: tokio::task::JoinHandle<anyhow::Result<()>>) {
    poller.abort();
    let _ = poller.await;
}

/// Orders with several events each, put in rounds so each order's events
/// enter its shard in sequence; plus `poison` records that are not rides.
async fn put_ordered_rides_and_poison(stack: &LocalStack, orders: usize, events_per_order: usize, poison: usize) {
    let mut generator = RideGenerator::seeded(77);
    let now = producer_now();
    let base: Vec<_> = generator.rides(orders, now);
    for round in 0..events_per_order {
        let entries: Vec<_> = base
            .iter()
            .map(|ride| {
                let mut event = generator.ride(now);
                event.order_id = ride.order_id.clone();
                event.ride_timestamp = now + round as i64;
                let record = events::encode(&event);
                PutRecordsRequestEntry::builder()
                    .partition_key(record.partition_key)
                    .data(Blob::new(record.data))
                    .build()
                    .expect("entry")
            })
            .collect();
        put_entries(stack, entries).await;
    }
    for i in 0..poison {
        let data = format!("{{\"schemaVersion\":1,\"broken\":{i}");
        stack
            .kinesis
            .put_record()
            .stream_name(&stack.options.stream)
            .partition_key(format!("poison-{i}"))
            .data(Blob::new(data))
            .send()
            .await
            .expect("poison");
    }
}

/// `entries` into the stream, 500 a call, every one accepted.
async fn put_entries(stack: &LocalStack, entries: Vec<PutRecordsRequestEntry>) {
    for chunk in entries.chunks(500) {
        let out = stack
            .kinesis
            .put_records()
            .stream_name(&stack.options.stream)
            .set_records(Some(chunk.to_vec()))
            .send()
            .await
            .expect("put");
        assert_eq!(out.failed_record_count(), Some(0));
    }
}

use lambda_init::clock::epoch_ms as producer_now;

/// Waits until every valid ride in the stream was consumed (or times out),
/// then compares the stream with the rides table.
async fn settle(stack: &LocalStack, started: Instant, timeout: Duration) -> PipelineReport {
    let deadline = Instant::now() + timeout;
    // A pipeline that took nothing more for this long will not: a hop that
    // dropped records leaves them lost, and the wait ends.
    // Long enough for the mapping to replace a consumer that wedged after a
    // broker outage (two questions 30 s apart, then a group join).
    let quiet_for = Duration::from_secs(150);
    let (mut last_consumed, mut last_change) = (usize::MAX, Instant::now());
    loop {
        let report = report::of_stack(stack, started.elapsed().as_secs_f64()).await.expect("report");
        if report.consumed != last_consumed {
            (last_consumed, last_change) = (report.consumed, Instant::now());
        }
        let quiet = last_change.elapsed() > quiet_for;
        if (report.lost == 0 && report.dead_lettered >= report.poison_in_kinesis) || Instant::now() > deadline || quiet
        {
            return report;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn every_ride_arrives_once_in_order_and_poison_is_quarantined(bridge: BridgeKind) {
    let _watchdog =
        Watchdog::arm("every_ride_arrives_once_in_order_and_poison_is_quarantined", Duration::from_secs(600));
    let stack = start_stack("e2e", bridge).await;
    let started = Instant::now();
    let poller = stack.spawn_poller(stack.esm_settings()).expect("poller");
    stack.wait_for_poller(Duration::from_secs(60)).await.expect("poller joined its group");
    let schedule = stack.spawn_schedule(Duration::from_millis(200), Some(10));
    put_ordered_rides_and_poison(&stack, 200, 5, 7).await;
    let report = settle(&stack, started, Duration::from_secs(180)).await;
    println!("{report}");
    assert!(schedule.is_finished(), "the schedule made its 10 invocations");
    assert_eq!(stack.schedule_stats.rides_sent.load(Ordering::Relaxed), 5_000);
    assert_eq!(
        report.in_kinesis,
        5_000 + 1_000 + stack.warm_up_rides(),
        "scheduled rides, ordered rides and the warm-up rides"
    );
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.consumed, report.in_kinesis);
    assert_eq!(report.duplicates, 0, "no faults, no redelivery");
    assert_eq!(report.order_violations, 0, "{report:?}");
    assert_eq!((report.poison_in_kinesis, report.dead_lettered), (7, 7));
    assert_eq!(report::distinct_dead_letters(&stack.dead_letter_dir()).expect("dead letters").len(), 7);
    stop(poller).await;
}

/// The function host (`cargo lambda watch`) SIGKILLed while batches flow,
/// as a user's `kill -9` would: the stack restarts it on the same port, the
/// poller retries what it could not deliver as a service error (not counted
/// against MaximumRetryAttempts, so nothing reaches the on-failure
/// destination), and no ride is lost.
async fn the_function_host_killed_mid_stream_is_restarted_and_loses_nothing(bridge: BridgeKind) {
    let _watchdog =
        Watchdog::arm("the_function_host_killed_mid_stream_is_restarted_and_loses_nothing", Duration::from_secs(600));
    let stack = start_stack("host-kill", bridge).await;
    let started = Instant::now();
    let poller = stack.spawn_poller(stack.esm_settings()).expect("poller");
    stack.wait_for_poller(Duration::from_secs(60)).await.expect("poller joined its group");
    put_ordered_rides_and_poison(&stack, 400, 5, 0).await;
    // Kill it as an invocation starts after the first delivered batch, so
    // that one is cut off in flight (a reset connection: a service error).
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack.esm_stats.records_delivered.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let invoked = stack.esm_stats.invocations.load(Ordering::Relaxed);
    while stack.esm_stats.invocations.load(Ordering::Relaxed) == invoked && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let pid = stack.watch.pid().expect("cargo lambda watch runs");
    local::process::send_signal(pid, libc::SIGKILL).expect("kill -9 cargo lambda watch");
    put_ordered_rides_and_poison(&stack, 100, 2, 0).await;

    let report = settle(&stack, started, Duration::from_secs(180)).await;
    let state = format!("{report:?}\nesm {:?}", stack.esm_stats);
    println!("{report}\n{state}");
    assert!(stack.watch.restarts() >= 1, "the host was restarted: {state}");
    assert!(stack.watch.is_running(), "and runs");
    assert!(!stack.function_host.is_finished(), "the supervisor goes on");
    assert_eq!(report.in_kinesis, 2_000 + 200 + stack.warm_up_rides());
    assert_eq!(report.lost, 0, "{state}");
    assert_eq!(report.order_violations, 0, "{state}");
    assert_eq!(stack.esm_stats.records_discarded.load(Ordering::Relaxed), 0, "service errors cost no retries");
    assert_eq!(report.on_failure_records, 0, "{state}");
    stop(poller).await;
}

/// The hop killed mid-stream (the Kafka Connect worker, or the forwarder's
/// function host, SIGKILL) and back, the broker SIGKILLed for three
/// seconds, and consumer batches failing: nothing is lost. The restarted
/// Camel task reads the stream from its start again (the plugin's stored
/// source offset is an exchange id, never read back), so its duplicates are
/// bounded by the stream's length plus one poller batch; the forwarder's
/// mapping re-sends at most the batch each shard had in flight.
async fn hop_kill_broker_outage_and_failed_batches_lose_nothing(bridge: BridgeKind) {
    let watchdog = Watchdog::arm("hop_kill_broker_outage_and_failed_batches_lose_nothing", Duration::from_secs(600));
    // Every seventh write to the rides table is throttled, as DynamoDB does
    // under load: the consumer retries those rides.
    let stack = start_stack_on(
        "faults",
        |dir| Broker::apache_kafka(dir).expect("Apache Kafka (make tools)"),
        |options| {
            options.rides_throttle = Some(ThrottlePlan { first_calls: 0, every: 7 });
            options.bridge = bridge;
        },
    )
    .await;
    let started = Instant::now();
    let poller = stack.spawn_poller(stack.esm_settings()).expect("poller");
    let schedule = stack.spawn_schedule(Duration::from_millis(250), Some(16));

    // 1. Kill the hop mid-stream (once it has written) and let it come back.
    watchdog.step("1. hop kill");
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack.records_in_kafka().unwrap_or(0) < 1_000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let written_before = stack.records_in_kafka().expect("count");
    assert!(written_before > 0, "the hop had written records before it was killed");
    stack.kill_bridge().await.expect("the hop is killed and comes back");

    // 2. Kill the broker (SIGKILL) for three seconds and start it again on
    // the same log directory.
    tokio::time::sleep(Duration::from_secs(1)).await;
    watchdog.step("2. broker down");
    stack.broker.broker_down(1).expect("down");
    tokio::time::sleep(Duration::from_secs(3)).await;
    watchdog.step("2. broker up");
    stack.broker.broker_up(1).expect("up");
    watchdog.step("2. broker serving");

    // 3. Make the consumer fail batches: its dead-letter sink becomes a file,
    // so the poison below cannot be quarantined until it is restored.
    watchdog.step("3. sink broken");
    let dlq = stack.dead_letter_dir();
    let _ = std::fs::remove_dir_all(&dlq);
    std::fs::write(&dlq, b"not a directory").expect("block the sink");
    let failed_before = stack.esm_stats.failed_invocations.load(Ordering::Relaxed);
    put_ordered_rides_and_poison(&stack, 100, 3, 3).await;
    // The poison queues behind the backlog of rides (each stored through the
    // throttled table): 16 s alone, over 60 s with the other pipeline tests
    // on two cores.
    let deadline = Instant::now() + Duration::from_secs(180);
    while stack.esm_stats.failed_invocations.load(Ordering::Relaxed) == failed_before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        stack.esm_stats.failed_invocations.load(Ordering::Relaxed) > failed_before,
        "a batch failed while the sink was down"
    );
    std::fs::remove_file(&dlq).expect("restore the sink");

    watchdog.step("4. settling");
    let report = settle(&stack, started, Duration::from_secs(240)).await;
    watchdog.step("5. asserting");
    let state = format!("{report:?}\nesm {:?}", stack.esm_stats);
    println!("{report}\n{state}");
    assert!(schedule.is_finished());
    match bridge {
        BridgeKind::Camel => assert_eq!(report.in_kinesis, 8_000 + 300 + stack.warm_up_rides()),
        BridgeKind::Lambda => {
            // The host kill also cut the producer's scheduled invocations in
            // flight (the functions share the host): what they wrote before
            // is in the stream, what they did not was never a ride.
            let sent = stack.schedule_stats.rides_sent.load(Ordering::Relaxed) as usize;
            assert!(
                (sent + 300 + stack.warm_up_rides()..=8_000 + 300 + stack.warm_up_rides()).contains(&report.in_kinesis),
                "{} rides in Kinesis, {sent} confirmed by the schedule",
                report.in_kinesis
            );
        }
    }
    assert_eq!(report.lost, 0, "{state}");
    assert_eq!(report.order_violations, 0, "{report:?}");
    // Redelivered poison is quarantined again (at another offset): count the
    // distinct Kinesis records among the dead letters.
    let distinct = report::distinct_dead_letters(&stack.dead_letter_dir()).expect("dead letters");
    assert_eq!((report.poison_in_kinesis, distinct.len()), (3, 3), "{distinct:?}");
    assert_eq!(stack.esm_stats.records_discarded.load(Ordering::Relaxed), 0, "retries, not discards");
    assert_eq!(report.consumed, report.in_kinesis, "every ride of the stream stored");
    let throttled = stack.rides_proxy.as_ref().map_or(0, |p| p.stats().throttled.load(Ordering::Relaxed));
    assert!(throttled > 100, "the table throttled the consumer: {throttled} puts");
    let msk_batch = stack.esm_settings().batch_size;
    match bridge {
        BridgeKind::Camel => {
            // The restart re-sends what the stream held then; a batch may be retried once more.
            let bound = report.in_kinesis + report.poison_in_kinesis + msk_batch;
            assert!(report.duplicates <= bound, "{} duplicates > {bound}", report.duplicates);
            // The consumer saw the re-sent ones as already stored: at least
            // every record the connector had written before its restart came again.
            assert!(
                report.duplicates >= written_before as usize,
                "{} redundant deliveries counted, but {written_before} records were re-sent",
                report.duplicates
            );
        }
        BridgeKind::Lambda => {
            // The host kill cut the forwarder's and the consumer's batches in
            // flight; each comes again once (one per shard and one per
            // partition at most), and the broker's restart may repeat one more.
            let hop_batch = local::stack::forwarder_mapping_settings(&stack.options).batch_size;
            let bound = 2 * (stack.options.shards as usize * hop_batch + stack.options.partitions as usize * msk_batch);
            assert!(report.duplicates <= bound, "{} duplicates > {bound}", report.duplicates);
        }
    }
    assert_eq!(stack.dropped_in_handoff(), 0, "no record dropped in the task's hand-off");
    println!("{bridge:?}: duplicates after the hop kill: {} of {} rides", report.duplicates, report.in_kinesis);
    watchdog.step("6. stopping");
    stop(poller).await;
    watchdog.step("7. dropping the stack");
}

/// Kafka unavailable for 60 s while rides arrive: the broker frozen
/// (SIGSTOP: its sockets accept and nothing answers, as a stalled broker
/// looks) mid-burst, then resumed. The whole pipeline must come back: both
/// mappings resume and the consumer takes everything Kafka holds. The
/// forwarder loses nothing (its mapping keeps the records in Kinesis until
/// Kafka acknowledges them); what the Camel hop does is measured and printed
/// (its hand-off queue throws `Queue full` past its size, docs/connector.md).
async fn kafka_frozen_for_60_s_while_rides_arrive(bridge: BridgeKind) {
    let watchdog = Watchdog::arm("kafka_frozen_for_60_s_while_rides_arrive", Duration::from_secs(900));
    let stack = start_stack("frozen", bridge).await;
    let started = Instant::now();
    let poller = stack.spawn_poller(stack.esm_settings()).expect("poller");
    stack.wait_for_poller(Duration::from_secs(60)).await.expect("poller joined its group");
    watchdog.step("1. burst, first half");
    let mut generator = RideGenerator::seeded(60);
    let rides = |generator: &mut RideGenerator, n: usize| -> Vec<_> {
        generator
            .rides(n, producer_now())
            .iter()
            .map(|ride| {
                let record = events::encode(ride);
                PutRecordsRequestEntry::builder()
                    .partition_key(record.partition_key)
                    .data(Blob::new(record.data))
                    .build()
                    .expect("entry")
            })
            .collect()
    };
    let stack = &stack;
    put_entries(stack, rides(&mut generator, 10_000)).await;
    watchdog.step("2. broker frozen for 60 s");
    stack.broker.freeze().expect("SIGSTOP the broker");
    let frozen_at = Instant::now();
    put_entries(stack, rides(&mut generator, 10_000)).await;
    tokio::time::sleep(Duration::from_secs(60).saturating_sub(frozen_at.elapsed())).await;
    stack.broker.thaw().expect("SIGCONT the broker");
    watchdog.step("3. settling");
    let report = settle(stack, started, Duration::from_secs(420)).await;
    let state = format!("{report:?}\nesm {:?}", stack.esm_stats);
    let in_kafka = stack.records_in_kafka().unwrap_or(0);
    println!("{bridge:?}, Kafka frozen 60 s mid-burst:\n{report}\nrecords in Kafka {in_kafka}, dropped in the hop's hand-off {}\n{state}", stack.dropped_in_handoff());
    assert_eq!(report.in_kinesis, 20_000 + stack.warm_up_rides(), "the burst and the warm-up rides");
    assert!(
        stack.esm_stats.records_delivered.load(Ordering::Relaxed) > 0 && !poller.is_finished(),
        "the MSK mapping resumed after the freeze: {state}"
    );
    match bridge {
        BridgeKind::Lambda => {
            assert_eq!(report.lost, 0, "{state}");
            assert_eq!(report.order_violations, 0, "{state}");
            let hop = stack.forwarder().expect("the forwarder hop");
            assert_eq!(hop.stats.records_discarded.load(Ordering::Relaxed), 0, "nothing given up: {state}");
        }
        BridgeKind::Camel => {
            // Measured, not promised: whatever Camel dropped is counted lost,
            // and the consumer took every ride that reached Kafka.
            assert_eq!(report.consumed + report.lost, report.in_kinesis, "{state}");
        }
    }
    watchdog.step("4. stopping");
    stop(poller).await;
}
