//! The connector hop on the real parts: kinesalite (the real Kinesis
//! protocol) → Kafka Connect 3.7.x in distributed mode with the real Camel
//! aws-kinesis-source plugin 4.18.0 and the template's properties
//! (`events::connector`) → Apache Kafka, read back with rdkafka. What the
//! consumer depends on is checked record by record against the stream.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use events::generate::RideGenerator;
use local::connect::KafkaConnect;
use local::kafka::Broker;
use local::kinesis::{self, Kinesalite};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

const STREAM: &str = "carrides";
const TOPIC: &str = "carrides";

struct Hop {
    _kinesalite: Kinesalite,
    kinesis: aws_sdk_kinesis::Client,
    broker: Broker,
    connect: KafkaConnect,
}

async fn start(name: &str, shards: i32) -> Hop {
    let dir = std::env::temp_dir().join(format!("connector-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let kinesalite = Kinesalite::start().expect("kinesalite (make tools)");
    let kinesis = kinesis::client(&kinesalite.endpoint());
    kinesis::create_stream(&kinesis, STREAM, shards).await.expect("stream");
    let broker = Broker::apache_kafka(&dir).expect("Apache Kafka (make tools)");
    broker.create_topic(TOPIC, 4).await.expect("topic");
    let connect =
        KafkaConnect::start(&dir.join("connect"), &broker.bootstrap_servers(), &kinesalite.endpoint(), STREAM, TOPIC)
            .await
            .expect("Kafka Connect with the Camel connector (make tools; the plugin from MAVEN_EXTRA_REPOSITORIES)");
    Hop { _kinesalite: kinesalite, kinesis, broker, connect }
}

/// One Kafka record as the consumer sees it.
#[derive(Debug, Clone)]
struct Delivered {
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    headers: HashMap<String, Vec<u8>>,
}

/// Every record of the topic from the beginning, once `expected_distinct`
/// distinct sequence numbers are there (or after `timeout`).
fn read_topic(broker: &Broker, expected_distinct: usize, timeout: Duration) -> Vec<Delivered> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("group.id", format!("check-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..4 {
        assignment.add_partition_offset(TOPIC, partition, Offset::Beginning).expect("offset");
    }
    consumer.assign(&assignment).expect("assign");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut distinct = HashSet::new();
    while Instant::now() < deadline && distinct.len() < expected_distinct {
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(500)) else { continue };
        let headers: HashMap<String, Vec<u8>> = message
            .headers()
            .map(|h| h.iter().map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec())).collect())
            .unwrap_or_default();
        distinct.insert(headers.get(events::camel::SEQUENCE_NUMBER).cloned().unwrap_or_default());
        out.push(Delivered {
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().unwrap_or_default().to_vec(),
            headers,
        });
    }
    out
}

async fn put(kinesis: &aws_sdk_kinesis::Client, records: Vec<(String, Vec<u8>)>) {
    let entries: Vec<_> = records
        .into_iter()
        .map(|(key, data)| {
            PutRecordsRequestEntry::builder().partition_key(key).data(Blob::new(data)).build().expect("entry")
        })
        .collect();
    let puts = entries
        .chunks(500)
        .map(|chunk| kinesis.put_records().stream_name(STREAM).set_records(Some(chunk.to_vec())).send());
    for out in futures::future::join_all(puts).await {
        assert_eq!(out.expect("put").failed_record_count(), Some(0));
    }
}

fn rides(generator: &mut RideGenerator, n: usize) -> Vec<(String, Vec<u8>)> {
    generator
        .rides(n, now_ms())
        .into_iter()
        .map(|ride| {
            let record = events::encode(&ride);
            (record.partition_key, record.data)
        })
        .collect()
}

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis()))
        .unwrap_or(0)
}

/// Each Kinesis record of the stream delivered at least once, with its data
/// byte for byte as the value, its partition key as the key and the Camel
/// headers naming it; returns (records in Kafka, distinct Kinesis records).
fn check_every_record(stream: &[kinesis::admin::StoredRecord], delivered: &[Delivered]) -> (usize, usize) {
    let by_sequence: HashMap<&[u8], &Delivered> =
        delivered.iter().filter_map(|d| Some((d.headers.get(events::camel::SEQUENCE_NUMBER)?.as_slice(), d))).collect();
    let mut missing = Vec::new();
    for record in stream {
        let Some(d) = by_sequence.get(record.sequence_number.as_bytes()) else {
            missing.push(record.sequence_number.clone());
            continue;
        };
        assert_eq!(d.value, record.data, "value of {} byte for byte", record.sequence_number);
        assert_eq!(d.key.as_deref(), Some(record.partition_key.as_bytes()), "key of {}", record.sequence_number);
        assert_eq!(
            d.headers.get(events::camel::PARTITION_KEY).map(Vec::as_slice),
            Some(record.partition_key.as_bytes())
        );
        assert_eq!(d.headers.get(events::camel::SHARD_ID).map(Vec::as_slice), Some(record.shard_id.as_bytes()));
    }
    assert!(
        missing.is_empty(),
        "{} of {} Kinesis records never reached Kafka: {:?}",
        missing.len(),
        stream.len(),
        &missing[..missing.len().min(5)]
    );
    (delivered.len(), by_sequence.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_keys_and_headers_byte_for_byte_from_every_shard_and_after_a_split() {
    let hop = start("fidelity", 2).await;
    let mut generator = RideGenerator::seeded(11);
    let mut records = rides(&mut generator, 300);
    // Not a ride, not even UTF-8: the connector must not care.
    records.push(("binary".into(), vec![0xff, 0xfe, 0x00, 0x80, 0x41]));
    records.push(("large".into(), vec![b'x'; 900 * 1024]));
    put(&hop.kinesis, records).await;

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
    put(&hop.kinesis, rides(&mut generator, 300)).await;

    let stream = kinesis::read_stream(&hop.kinesis, STREAM).await.expect("stream");
    let shards_with_records: HashSet<&str> = stream.iter().map(|r| r.shard_id.as_str()).collect();
    assert!(
        shards_with_records.len() >= 3,
        "the parent, its sibling and a child hold records: {shards_with_records:?}"
    );
    let delivered = read_topic(&hop.broker, stream.len(), Duration::from_secs(120));
    let (in_kafka, distinct) = check_every_record(&stream, &delivered);
    println!(
        "{} Kinesis records on {} shards → {in_kafka} Kafka records ({distinct} distinct)",
        stream.len(),
        shards_with_records.len()
    );
    assert_eq!(hop.connect.dropped_in_handoff(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_a_worker_kill_and_a_broker_restart_lose_nothing() {
    let hop = start("burst", 2).await;
    let mut generator = RideGenerator::seeded(12);

    // 1. A burst of 20,000 rides: all reach Kafka, none dropped in the hand-off.
    let started = Instant::now();
    put(&hop.kinesis, rides(&mut generator, 20_000)).await;
    let put_s = started.elapsed().as_secs_f64();
    let delivered = read_topic(&hop.broker, 20_000, Duration::from_secs(180));
    let elapsed = started.elapsed().as_secs_f64();
    let stream = kinesis::read_stream(&hop.kinesis, STREAM).await.expect("stream");
    let (in_kafka, distinct) = check_every_record(&stream, &delivered);
    assert_eq!((in_kafka, distinct), (20_000, 20_000), "no duplicates without a fault");
    assert_eq!(hop.connect.dropped_in_handoff(), 0, "no record dropped in the hand-off");
    println!("burst: 20,000 rides put in {put_s:.1} s, all in Kafka {elapsed:.1} s after the first put: {:.0} rides/s over 2 shards", 20_000.0 / elapsed);

    // 2. The worker SIGKILLed mid-stream and started again.
    let more = rides(&mut generator, 5_000);
    let (first, second) = more.split_at(2_500);
    put(&hop.kinesis, first.to_vec()).await;
    hop.connect.restart().await.expect("the worker restarts and its task runs");
    put(&hop.kinesis, second.to_vec()).await;
    let stream = kinesis::read_stream(&hop.kinesis, STREAM).await.expect("stream");
    let delivered = read_topic(&hop.broker, stream.len(), Duration::from_secs(240));
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
    put(&hop.kinesis, rides(&mut generator, 2_000)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    hop.broker.broker_up(1).expect("up");
    let stream = kinesis::read_stream(&hop.kinesis, STREAM).await.expect("stream");
    let delivered = read_topic(&hop.broker, stream.len(), Duration::from_secs(240));
    let (in_kafka, distinct) = check_every_record(&stream, &delivered);
    println!("broker restart: {} more records in Kafka for 2,000 rides", in_kafka - before);
    assert_eq!(distinct, 27_000);
    assert_eq!(hop.connect.dropped_in_handoff(), 0, "no record dropped in the hand-off");
}
