//! The producer's real Kinesis adapter against a real Kinesis-protocol server
//! (kinesalite on loopback), with and without injected throttling. Every test
//! reads the stream back and checks each record.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use events::generate::RideGenerator;
use events::OutboundRecord;
use local::kinesis::{self, Emulator, FaultPlan, FaultProxy};
use producer::batch::Limits;
use producer::config::{Config, StreamTarget};
use producer::send::{put_records_with_retry, RetryPolicy, SendOptions};
use producer::sink::kinesis::KinesisSink;
use producer::{handle, Deps};

fn rides(n: usize, seed: u64) -> Vec<OutboundRecord> {
    RideGenerator::seeded(seed).rides(n, producer::epoch_ms()).iter().map(events::encode).collect()
}

fn options() -> SendOptions {
    SendOptions {
        limits: Limits::KINESIS,
        max_in_flight: 4,
        retry: RetryPolicy { first_delay: Duration::from_millis(5), max_delay: Duration::from_millis(200) },
        deadline: Instant::now() + Duration::from_secs(120),
    }
}

/// The stream's contents must be exactly the input: same multiset of
/// (partition key, bytes), so nothing lost, nothing duplicated, nothing altered.
async fn assert_stream_holds_exactly(client: &aws_sdk_kinesis::Client, stream: &str, input: &[OutboundRecord]) {
    let stored = kinesis::read_stream(client, stream).await.expect("read back");
    let mut expected: HashMap<(String, Vec<u8>), i32> = HashMap::new();
    for r in input {
        *expected.entry((r.partition_key.clone(), r.data.clone())).or_default() += 1;
    }
    assert_eq!(stored.len(), input.len(), "record count in the stream");
    for s in &stored {
        let slot = expected.get_mut(&(s.partition_key.clone(), s.data.clone()));
        let slot = slot.unwrap_or_else(|| panic!("unexpected record in {}: {}", s.shard_id, s.partition_key));
        *slot -= 1;
    }
    assert!(expected.values().all(|&n| n == 0), "every record exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_rides_arrive_exactly_once() {
    let emulator = Emulator::start_configured().expect("the Kinesis emulator (make tools)");
    let client = kinesis::client(&emulator.endpoint());
    kinesis::create_stream(&client, "carrides-10k", 4).await.expect("stream");
    let input = rides(10_000, 11);
    let sink = KinesisSink::new(client.clone(), StreamTarget::Name("carrides-10k".into()));
    let report = put_records_with_retry(&sink, &input, options()).await;
    assert_eq!((report.sent, report.failed.len(), report.put_calls), (10_000, 0, 20));
    assert_stream_holds_exactly(&client, "carrides-10k", &input).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_partial_failures_lose_nothing() {
    let emulator = Emulator::start_configured().expect("the Kinesis emulator (make tools)");
    let client = kinesis::client(&emulator.endpoint());
    kinesis::create_stream(&client, "carrides-throttled", 2).await.expect("stream");
    let proxy = FaultProxy::start(&emulator.endpoint(), FaultPlan::throttling(0.25, 0.15, 7)).await.expect("proxy");
    let input = rides(3_000, 12);
    let sink = KinesisSink::new(kinesis::client(&proxy.endpoint()), StreamTarget::Name("carrides-throttled".into()));
    let report = put_records_with_retry(&sink, &input, options()).await;
    let stats = proxy.stats();
    assert!(stats.entries_failed.load(Ordering::Relaxed) > 500, "faults were injected: {stats:?}");
    assert!(stats.calls_throttled.load(Ordering::Relaxed) > 0, "whole calls were throttled: {stats:?}");
    assert!(report.retried >= stats.entries_failed.load(Ordering::Relaxed) as usize, "{report:?}");
    assert_eq!((report.sent, report.failed.len()), (3_000, 0), "{:?}", report.failed.first());
    assert_stream_holds_exactly(&client, "carrides-throttled", &input).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_writes_valid_rides_keyed_by_order_id() {
    let emulator = Emulator::start_configured().expect("the Kinesis emulator (make tools)");
    let client = kinesis::client(&emulator.endpoint());
    kinesis::create_stream(&client, "carrides-handler", 3).await.expect("stream");
    let config = Config::from_lookup(|k| (k == "STREAM_NAME").then(|| "carrides-handler".to_owned())).expect("config");
    let deps = Deps::new(KinesisSink::new(client.clone(), config.stream.clone()), config);
    let out = handle(&serde_json::json!({"count": 750}), Instant::now() + Duration::from_secs(60), &deps)
        .await
        .expect("handled");
    assert_eq!((out.sent, out.failed, out.put_calls), (750, 0, 2));
    let stored = kinesis::read_stream(&client, "carrides-handler").await.expect("read");
    assert_eq!(stored.len(), 750);
    let shards: std::collections::HashSet<_> = stored.iter().map(|s| s.shard_id.clone()).collect();
    assert_eq!(shards.len(), 3, "order ids spread over every shard");
    for s in stored {
        let ride = events::decode(&s.data, producer::epoch_ms()).expect("a valid ride");
        assert_eq!(ride.order_id, s.partition_key);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_stream_fails_every_record_with_a_readable_reason() {
    let emulator = Emulator::start_configured().expect("the Kinesis emulator (make tools)");
    let sink = KinesisSink::new(kinesis::client(&emulator.endpoint()), StreamTarget::Name("no-such-stream".into()));
    let report = put_records_with_retry(&sink, &rides(3, 13), options()).await;
    assert_eq!((report.sent, report.failed.len(), report.put_calls), (0, 3, 1));
    let message = &report.failed[0].error_message;
    assert!(message.contains("stream 'no-such-stream' not found"), "{message}");
    assert_eq!(report.failed[0].error_code, "ResourceNotFoundException");
}
