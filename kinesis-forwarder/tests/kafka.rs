//! The forwarder's Kafka sink against Apache Kafka itself (the jars `make
//! tools` fetches, KRaft on loopback), read back with rdkafka: values byte
//! for byte, key = partition key, the Camel connector's headers; a frozen
//! broker (SIGSTOP) answered as batch item failures before the deadline and
//! every record delivered on the retry; a record the topic refuses reported,
//! not skipped; the IAM path answered by the deadline.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use kinesis_forwarder::config::{AuthMode, Config};
use kinesis_forwarder::event::KinesisEvent;
use kinesis_forwarder::sink::kafka::KafkaSink;
use kinesis_forwarder::sink::{Delivery, RecordSink};
use kinesis_forwarder::{handle, record::ForwardRecord};
use local::kafka::apache::ApacheKafka;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

fn kafka(name: &str) -> ApacheKafka {
    let dir = local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), &format!("forwarder-{name}")).expect("scratch");
    ApacheKafka::start_in(dir).expect("Apache Kafka (make tools)")
}

async fn create_topic(kafka: &ApacheKafka, topic: &str, partitions: i32, max_message_bytes: usize) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", kafka.bootstrap_servers()).create().expect("admin");
    let max = max_message_bytes.to_string();
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1)).set("max.message.bytes", &max);
    for result in admin.create_topics([&new], &AdminOptions::new()).await.expect("create") {
        result.expect("topic created");
    }
}

fn config(bootstrap: &str, topic: &str) -> Config {
    Config {
        bootstrap_servers: bootstrap.to_owned(),
        topic: topic.to_owned(),
        auth: AuthMode::Plaintext,
        ca_location: "probe".into(),
        linger: Duration::from_millis(5),
        deadline_margin: Duration::from_millis(500),
        max_ack_wait: Duration::from_secs(30),
    }
}

/// A Kinesis mapping's event for `records` (partition key, data), as AWS
/// shapes it, from one shard.
fn kinesis_event(records: &[(String, Vec<u8>)], first_sequence: u64) -> KinesisEvent {
    let records: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(i, (key, data))| {
            let sequence = (first_sequence + i as u64).to_string();
            serde_json::json!({
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": key, "sequenceNumber": sequence,
                            "data": base64::engine::general_purpose::STANDARD.encode(data),
                            "approximateArrivalTimestamp": 1764000000.250},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": format!("shardId-000000000002:{sequence}"), "eventName": "aws:kinesis:record",
                "awsRegion": "us-east-1", "eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/carrides"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("a Kinesis event")
}

struct Read {
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    headers: HashMap<String, Vec<u8>>,
}

/// Every record of `topic` from the beginning, once `expected` distinct
/// sequence numbers are there (or after `timeout`).
fn read_topic(bootstrap: &str, topic: &str, partitions: i32, expected: usize, timeout: Duration) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("check-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("fetch.max.bytes", "10485760")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment.add_partition_offset(topic, partition, Offset::Beginning).expect("offset");
    }
    consumer.assign(&assignment).expect("assign");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut distinct = std::collections::HashSet::new();
    while distinct.len() < expected && Instant::now() < deadline {
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else { continue };
        let headers = m
            .headers()
            .map(|h| h.iter().map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec())).collect())
            .unwrap_or_default();
        let read = Read { key: m.key().map(<[u8]>::to_vec), value: m.payload().unwrap_or_default().to_vec(), headers };
        distinct.insert(read.headers.get(events::camel::SEQUENCE_NUMBER).cloned().unwrap_or_default());
        out.push(read);
    }
    out
}

fn rides(n: usize) -> Vec<(String, Vec<u8>)> {
    events::generate::RideGenerator::seeded(5)
        .rides(n, 1_764_000_000_000)
        .iter()
        .map(|ride| {
            let record = events::encode(ride);
            (record.partition_key, record.data)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_arrives_byte_for_byte_with_its_key_and_the_camel_headers() {
    let kafka = kafka("fidelity");
    create_topic(&kafka, "carrides", 4, pipeline_settings::topic::MAX_MESSAGE_BYTES).await;
    let sink =
        KafkaSink::new(&config(&kafka.bootstrap_servers(), "carrides"), &msk_iam::Auth::Plaintext).expect("sink");
    let mut records = rides(500);
    records.push(("binary".into(), vec![0xff, 0xfe, 0x00, 0x80, 0x41]));
    // The largest record Kinesis takes: 1 MiB of data and key together.
    records.push(("large".into(), vec![b'x'; 1024 * 1024 - 5]));
    let event = kinesis_event(&records, 1_000);
    let deadline = Instant::now() + Duration::from_secs(30);
    let (response, summary) = handle(&event, &sink, deadline).await.expect("handled");
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);
    assert_eq!(summary.acknowledged, records.len());

    let read = read_topic(&kafka.bootstrap_servers(), "carrides", 4, records.len(), Duration::from_secs(60));
    assert_eq!(read.len(), records.len(), "each record once");
    let by_sequence: HashMap<Vec<u8>, &Read> =
        read.iter().map(|r| (r.headers[events::camel::SEQUENCE_NUMBER].clone(), r)).collect();
    for (i, (key, data)) in records.iter().enumerate() {
        let sequence = (1_000 + i).to_string();
        let r = by_sequence.get(sequence.as_bytes()).unwrap_or_else(|| panic!("record {sequence} in Kafka"));
        assert_eq!(&r.value, data, "value of {sequence} byte for byte");
        assert_eq!(r.key.as_deref(), Some(key.as_bytes()), "key of {sequence}");
        assert_eq!(r.headers[events::camel::PARTITION_KEY], key.as_bytes());
        assert_eq!(r.headers[events::camel::SHARD_ID], b"shardId-000000000002");
        assert_eq!(r.headers[events::camel::ARRIVAL_TIMESTAMP], b"1764000000250");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_broker_is_answered_by_the_deadline_and_the_retry_delivers_every_record() {
    let kafka = kafka("frozen");
    create_topic(&kafka, "carrides", 2, pipeline_settings::topic::MAX_MESSAGE_BYTES).await;
    let sink =
        KafkaSink::new(&config(&kafka.bootstrap_servers(), "carrides"), &msk_iam::Auth::Plaintext).expect("sink");
    // The producer is connected and warm before the broker freezes.
    let warm = kinesis_event(&rides(1), 1);
    handle(&warm, &sink, Instant::now() + Duration::from_secs(30)).await.expect("warm");

    let records = rides(300);
    let event = kinesis_event(&records, 100);
    kafka.freeze().expect("SIGSTOP the broker");
    let started = Instant::now();
    let (response, summary) = handle(&event, &sink, started + Duration::from_secs(3)).await.expect("handled");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "answered by the deadline, not when Kafka came back: {took:?}");
    assert_eq!(summary.acknowledged, 0, "nothing can be acknowledged by a frozen broker");
    assert_eq!(response.batch_item_failures.len(), records.len(), "every record reported by sequence number");
    assert_eq!(response.batch_item_failures[0].item_identifier.as_deref(), Some("100"));
    kafka.thaw().expect("SIGCONT");

    // The mapping sends the same batch again: it all lands.
    let (response, summary) = handle(&event, &sink, Instant::now() + Duration::from_secs(60)).await.expect("retry");
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures.len());
    assert_eq!(summary.acknowledged, records.len());
    let read = read_topic(&kafka.bootstrap_servers(), "carrides", 2, records.len() + 1, Duration::from_secs(60));
    let distinct: std::collections::HashSet<&[u8]> =
        read.iter().map(|r| r.headers[events::camel::SEQUENCE_NUMBER].as_slice()).collect();
    assert_eq!(distinct.len(), records.len() + 1, "every record in Kafka");
    // Records on the wire when the first answer went may land twice: at
    // most the batch again (the queued rest was purged).
    println!("frozen broker: {} records in Kafka for {} distinct", read.len(), distinct.len());
    assert!(read.len() <= 2 * records.len() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_topic_refuses_is_reported_and_its_neighbours_delivered() {
    let kafka = kafka("refused");
    // A topic that takes 2,000 bytes per record batch at most.
    create_topic(&kafka, "small", 1, 2_000).await;
    let sink = KafkaSink::new(&config(&kafka.bootstrap_servers(), "small"), &msk_iam::Auth::Plaintext).expect("sink");
    let records = vec![
        ("a".to_owned(), b"first".to_vec()),
        ("b".to_owned(), vec![b'y'; 10_000]),
        ("c".to_owned(), b"third".to_vec()),
    ];
    let event = kinesis_event(&records, 7);
    let (response, summary) = handle(&event, &sink, Instant::now() + Duration::from_secs(30)).await.expect("handled");
    let failed: Vec<_> = response.batch_item_failures.iter().filter_map(|f| f.item_identifier.as_deref()).collect();
    assert_eq!(failed, ["8"], "the refused record is a batch item failure");
    assert_eq!((summary.refused, summary.acknowledged), (1, 2));
    // The sink names why.
    let one = ForwardRecord::from_event(1, &event.records[1]).expect("record");
    let deliveries = sink.send_all(&[one], Instant::now() + Duration::from_secs(30)).await;
    match &deliveries[0] {
        Delivery::Refused(reason) => assert!(reason.contains("max.message.bytes"), "{reason}"),
        other => panic!("refused, not {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_iam_path_is_answered_by_the_deadline_when_the_broker_refuses_the_token() {
    // The broker's SASL_SSL listener takes only unsecured JWTs: the MSK IAM
    // token gets through TLS and is refused, so nothing is acknowledged.
    let kafka = kafka("iam");
    create_topic(&kafka, "carrides", 1, pipeline_settings::topic::MAX_MESSAGE_BYTES).await;
    let credentials = aws_credential_types::provider::SharedCredentialsProvider::new(
        aws_credential_types::Credentials::new(local::LOCAL_ACCESS_KEY, local::LOCAL_SECRET_KEY, None, None, "test"),
    );
    let auth = msk_iam::Auth::Iam {
        region: local::LOCAL_REGION.into(),
        ca_location: kafka.ca_pem().display().to_string(),
        credentials,
    };
    let sink = KafkaSink::new(&config(&kafka.sasl_ssl_bootstrap_servers(), "carrides"), &auth).expect("sink");
    let event = kinesis_event(&rides(3), 1);
    let started = Instant::now();
    let (response, summary) = handle(&event, &sink, started + Duration::from_secs(5)).await.expect("handled");
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    assert_eq!(summary.acknowledged, 0);
    assert_eq!(response.batch_item_failures.len(), 3);
}
