//! The connector hop on the real parts: kinesalite (the real Kinesis
//! protocol) → Kafka Connect 3.7.x in distributed mode with the real Camel
//! aws-kinesis-source plugin 4.18.0 and the template's properties
//! (`pipeline_settings::connector`) → Apache Kafka, read back with rdkafka. What the
//! consumer depends on is checked record by record against the stream.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use events::generate::RideGenerator;
use local::kafka::connect::KafkaConnect;
use local::kafka::Broker;
use local::kinesis::{self, Emulator};

mod common;

use common::{check_every_record, put, read_topic, rides};

const STREAM: &str = "carrides";
const TOPIC: &str = "carrides";

struct Hop {
    _emulator: Emulator,
    kinesis: aws_sdk_kinesis::Client,
    broker: Broker,
    connect: KafkaConnect,
    /// Last: it goes after the worker and the broker.
    _dir: local::scratch::Scratch,
}

async fn start(name: &str, shards: i32) -> Hop {
    let scratch =
        local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), &format!("connector-{name}")).expect("scratch");
    let dir = scratch.path().to_path_buf();
    let emulator = Emulator::start_configured().expect("the Kinesis emulator (make tools)");
    let kinesis = kinesis::client(&emulator.endpoint());
    kinesis::create_stream(&kinesis, STREAM, shards).await.expect("stream");
    let broker = Broker::apache_kafka(&dir).expect("Apache Kafka (make tools)");
    broker.create_topic(TOPIC, 4).await.expect("topic");
    let connect = KafkaConnect::start(
        &dir.join("connect"),
        &broker.bootstrap_servers(),
        &emulator.endpoint(),
        emulator.connector_overrides(),
        STREAM,
        TOPIC,
    )
    .await
    .expect("Kafka Connect with the Camel connector (make tools; the plugin from MAVEN_EXTRA_REPOSITORIES)");
    Hop { _emulator: emulator, kinesis, broker, connect, _dir: scratch }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_keys_and_headers_byte_for_byte_from_every_shard_and_after_a_split() {
    let hop = start("fidelity", 2).await;
    let mut generator = RideGenerator::seeded(11);
    let mut records = rides(&mut generator, 300);
    // Not a ride, not even UTF-8: the connector must not care.
    records.push(("binary".into(), vec![0xff, 0xfe, 0x00, 0x80, 0x41]));
    records.push(("large".into(), vec![b'x'; 900 * 1024]));
    let repeated: Vec<(String, Vec<u8>)> =
        records.iter().take(100).map(|(k, _)| (k.clone(), b"again".to_vec())).collect();
    put(&hop.kinesis, STREAM, records).await;

    // Split the first shard at the middle of its hash range, then write more.
    let shards = hop.kinesis.list_shards().stream_name(STREAM).send().await.expect("shards");
    let first = &shards.shards()[0];
    let range = first.hash_key_range().expect("range");
    let (start, end): (u128, u128) =
        (range.starting_hash_key().parse().expect("start"), range.ending_hash_key().parse().expect("end"));
    hop.kinesis
        .split_shard()
        .stream_name(STREAM)
        .shard_to_split(first.shard_id())
        .new_starting_hash_key(((start + end) / 2).to_string())
        .send()
        .await
        .expect("split");
    kinesis::admin::wait_active(&hop.kinesis, STREAM).await.expect("active after the split");
    // The same keys again after the split: measured, not asserted (the
    // connector reads parents and children at once).
    put(&hop.kinesis, STREAM, repeated).await;
    put(&hop.kinesis, STREAM, rides(&mut generator, 300)).await;

    let stream = kinesis::read_stream(&hop.kinesis, STREAM).await.expect("stream");
    let shards_with_records: HashSet<&str> = stream.iter().map(|r| r.shard_id.as_str()).collect();
    assert!(
        shards_with_records.len() >= 3,
        "the parent, its sibling and a child hold records: {shards_with_records:?}"
    );
    let delivered = read_topic(&hop.broker, TOPIC, stream.len(), Duration::from_secs(120));
    let (in_kafka, distinct) = check_every_record(&stream, &delivered);
    println!(
        "Camel: {} Kinesis records on {} shards → {in_kafka} Kafka records ({distinct} distinct), {} of 100 keys written across the split out of order",
        stream.len(),
        shards_with_records.len(),
        common::keys_out_of_order(&stream, &delivered)
    );
    assert_eq!(hop.connect.dropped_in_handoff(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_a_worker_kill_and_a_broker_restart_lose_nothing() {
    let hop = start("burst", 2).await;
    let mut generator = RideGenerator::seeded(12);

    // 1. A burst of 20,000 rides: all reach Kafka, none dropped in the hand-off.
    let started = Instant::now();
    put(&hop.kinesis, STREAM, rides(&mut generator, 20_000)).await;
    let put_s = started.elapsed().as_secs_f64();
    let delivered = read_topic(&hop.broker, TOPIC, 20_000, Duration::from_secs(180));
    let elapsed = started.elapsed().as_secs_f64();
    let stream = kinesis::read_stream(&hop.kinesis, STREAM).await.expect("stream");
    let (in_kafka, distinct) = check_every_record(&stream, &delivered);
    assert_eq!((in_kafka, distinct), (20_000, 20_000), "no duplicates without a fault");
    assert_eq!(hop.connect.dropped_in_handoff(), 0, "no record dropped in the hand-off");
    println!("burst: 20,000 rides put in {put_s:.1} s, all in Kafka {elapsed:.1} s after the first put: {:.0} rides/s over 2 shards", 20_000.0 / elapsed);

    // 2. The worker SIGKILLed mid-stream and started again.
    let more = rides(&mut generator, 5_000);
    let (first, second) = more.split_at(2_500);
    put(&hop.kinesis, STREAM, first.to_vec()).await;
    hop.connect.restart().await.expect("the worker restarts and its task runs");
    put(&hop.kinesis, STREAM, second.to_vec()).await;
    let stream = kinesis::read_stream(&hop.kinesis, STREAM).await.expect("stream");
    let delivered = read_topic(&hop.broker, TOPIC, stream.len(), Duration::from_secs(240));
    let (in_kafka, distinct) = check_every_record(&stream, &delivered);
    println!(
        "worker restart: {} rides in the stream, {in_kafka} records in Kafka: {} duplicates",
        stream.len(),
        in_kafka - distinct
    );
    assert_eq!(distinct, 25_000);

    // 3. The broker SIGKILLed for three seconds while rides arrive, then started again.
    let before = in_kafka;
    hop.broker.broker_down(1).expect("down");
    put(&hop.kinesis, STREAM, rides(&mut generator, 2_000)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    hop.broker.broker_up(1).expect("up");
    let stream = kinesis::read_stream(&hop.kinesis, STREAM).await.expect("stream");
    let delivered = read_topic(&hop.broker, TOPIC, stream.len(), Duration::from_secs(240));
    let (in_kafka, distinct) = check_every_record(&stream, &delivered);
    println!("broker restart: {} more records in Kafka for 2,000 rides", in_kafka - before);
    assert_eq!(distinct, 27_000);
    assert_eq!(hop.connect.dropped_in_handoff(), 0, "no record dropped in the hand-off");
}
