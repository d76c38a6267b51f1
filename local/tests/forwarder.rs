//! The forwarder hop on the real parts: kinesalite → the emulated Kinesis
//! event source mapping → kinesis-forwarder under `cargo lambda watch` →
//! Apache Kafka, read back with rdkafka and checked record by record against
//! the stream, as `connector.rs` checks the Camel hop: values byte for byte,
//! key, headers, every shard, parents before children after a `SplitShard`
//! (so every key keeps its order), a 20,000-ride burst, and the function
//! host killed mid-stream (at most one batch per shard sent again).

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use events::generate::RideGenerator;
use local::kafka::Broker;
use local::kinesis;
use local::stack::{BridgeKind, LocalStack, StackOptions};

mod common;

use common::{check_every_record, keys_out_of_order, put, read_topic, rides};

async fn start(name: &str, shards: i32) -> LocalStack {
    let scratch =
        local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), &format!("forwarder-hop-{name}")).expect("scratch");
    let dir = scratch.path().to_path_buf();
    let mut options = StackOptions::new(&dir);
    options.bridge = BridgeKind::Lambda;
    options.shards = shards;
    let broker = Broker::apache_kafka(&dir).expect("Apache Kafka (make tools)");
    let mut stack = LocalStack::start(options, broker).await.expect("stack");
    stack.scratch = Some(scratch);
    stack.warm_up().await.expect("functions");
    stack
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_keys_and_headers_byte_for_byte_from_every_shard_and_key_order_across_a_split() {
    let stack = start("fidelity", 2).await;
    let stream_name = stack.options.stream.clone();
    let mut generator = RideGenerator::seeded(21);
    // Orders with several events each, so keys recur across the split.
    let mut records = rides(&mut generator, 300);
    records.push(("binary".into(), vec![0xff, 0xfe, 0x00, 0x80, 0x41]));
    records.push(("large".into(), vec![b'x'; 1024 * 1024 - 5]));
    let repeated: Vec<(String, Vec<u8>)> =
        records.iter().take(100).map(|(k, _)| (k.clone(), b"again".to_vec())).collect();
    put(&stack.kinesis, &stream_name, records).await;

    let shards = stack.kinesis.list_shards().stream_name(&stream_name).send().await.expect("shards");
    let first = &shards.shards()[0];
    let range = first.hash_key_range().expect("range");
    let (low, high): (u128, u128) =
        (range.starting_hash_key().parse().expect("start"), range.ending_hash_key().parse().expect("end"));
    stack
        .kinesis
        .split_shard()
        .stream_name(&stream_name)
        .shard_to_split(first.shard_id())
        .new_starting_hash_key(((low + high) / 2).to_string())
        .send()
        .await
        .expect("split");
    kinesis::admin::wait_active(&stack.kinesis, &stream_name).await.expect("active after the split");
    // The same keys again, after the split: the parent's records of a key
    // must reach Kafka before its child's.
    put(&stack.kinesis, &stream_name, repeated).await;
    put(&stack.kinesis, &stream_name, rides(&mut generator, 300)).await;

    let stream = kinesis::read_stream(&stack.kinesis, &stream_name).await.expect("stream");
    let shards_with_records: HashSet<&str> = stream.iter().map(|r| r.shard_id.as_str()).collect();
    assert!(
        shards_with_records.len() >= 3,
        "the parent, its sibling and a child hold records: {shards_with_records:?}"
    );
    // The stream also holds the warm-ups' rides (direct producer invokes).
    let delivered = read_topic(&stack.broker, &stack.options.topic, stream.len(), Duration::from_secs(120));
    let (in_kafka, distinct) = check_every_record(&stream, &delivered);
    let out_of_order = keys_out_of_order(&stream, &delivered);
    println!(
        "forwarder: {} Kinesis records on {} shards → {in_kafka} Kafka records ({distinct} distinct), {out_of_order} keys out of order",
        stream.len(),
        shards_with_records.len()
    );
    assert_eq!(in_kafka, distinct, "no duplicates without a fault");
    assert_eq!(out_of_order, 0, "parents are read to their end before their children");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_and_a_function_host_kill_lose_nothing_and_resend_at_most_a_batch_per_shard() {
    let stack = start("burst", 2).await;
    let stream_name = stack.options.stream.clone();
    let hop = stack.forwarder().expect("the forwarder hop");
    let mut generator = RideGenerator::seeded(22);

    // 1. A burst of 20,000 rides: all reach Kafka once.
    let started = Instant::now();
    put(&stack.kinesis, &stream_name, rides(&mut generator, 20_000)).await;
    // And the warm-ups' rides (direct producer invokes).
    let expected = 20_000 + stack.warm_up_rides();
    let delivered = read_topic(&stack.broker, &stack.options.topic, expected, Duration::from_secs(180));
    let elapsed = started.elapsed().as_secs_f64();
    let stream = kinesis::read_stream(&stack.kinesis, &stream_name).await.expect("stream");
    let (in_kafka, distinct) = check_every_record(&stream, &delivered);
    assert_eq!((in_kafka, distinct), (expected, expected), "no duplicates without a fault");
    println!(
        "forwarder burst: 20,000 rides in Kafka {elapsed:.1} s after the first put: {:.0} rides/s over 2 shards",
        20_000.0 / elapsed
    );

    // 2. The function host SIGKILLed while batches are in flight.
    let more = rides(&mut generator, 5_000);
    put(&stack.kinesis, &stream_name, more).await;
    let invoked = hop.stats.invocations.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(60);
    while hop.stats.invocations.load(Ordering::Relaxed) == invoked && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stack.kill_bridge().await.expect("kill -9 cargo lambda watch");
    let stream = kinesis::read_stream(&stack.kinesis, &stream_name).await.expect("stream");
    let delivered = read_topic(&stack.broker, &stack.options.topic, stream.len(), Duration::from_secs(240));
    let (in_kafka, distinct) = check_every_record(&stream, &delivered);
    let resent = in_kafka - distinct;
    let batch = hop.settings.batch_size;
    println!("forwarder host kill: {} rides in the stream, {in_kafka} records in Kafka: {resent} sent again (batch size {batch}, 2 shards)", stream.len());
    assert_eq!(distinct, 25_000 + stack.warm_up_rides());
    assert!(stack.watch.restarts() >= 1, "the host came back");
    assert!(resent <= 2 * batch, "{resent} sent again: more than one batch per shard");
    assert_eq!(
        hop.stats.records_discarded.load(Ordering::Relaxed),
        0,
        "a host kill is a service error, never a discard"
    );
}
