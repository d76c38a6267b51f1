//! What the connector and emulator tests share: writing rides to a stream,
//! reading a topic back, and checking every Kinesis record arrived intact.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use events::generate::RideGenerator;
use local::kafka::Broker;
use local::kinesis;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// One Kafka record as the consumer sees it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: HashMap<String, Vec<u8>>,
    pub partition: i32,
    pub offset: i64,
}

/// Every record of the topic from the beginning, once `expected_distinct`
/// distinct sequence numbers are there (or after `timeout`).
pub fn read_topic(broker: &Broker, topic: &str, expected_distinct: usize, timeout: Duration) -> Vec<Delivered> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("group.id", format!("check-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        assignment.add_partition_offset(topic, partition.id(), Offset::Beginning).expect("offset");
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
            partition: message.partition(),
            offset: message.offset(),
        });
    }
    out
}

pub async fn put(kinesis: &aws_sdk_kinesis::Client, stream: &str, records: Vec<(String, Vec<u8>)>) {
    let entries: Vec<_> = records
        .into_iter()
        .map(|(key, data)| {
            PutRecordsRequestEntry::builder().partition_key(key).data(Blob::new(data)).build().expect("entry")
        })
        .collect();
    let puts = entries
        .chunks(500)
        .map(|chunk| kinesis.put_records().stream_name(stream).set_records(Some(chunk.to_vec())).send());
    for out in futures::future::join_all(puts).await {
        assert_eq!(out.expect("put").failed_record_count(), Some(0));
    }
}

pub fn rides(generator: &mut RideGenerator, n: usize) -> Vec<(String, Vec<u8>)> {
    generator
        .rides(n, now_ms())
        .into_iter()
        .map(|ride| {
            let record = events::encode(&ride);
            (record.partition_key, record.data)
        })
        .collect()
}

pub use lambda_init::clock::epoch_ms as now_ms;

/// Each Kinesis record of the stream delivered at least once, with its data
/// byte for byte as the value, its partition key as the key and the Camel
/// headers naming it; returns (records in Kafka, distinct Kinesis records).
pub fn check_every_record(stream: &[kinesis::admin::StoredRecord], delivered: &[Delivered]) -> (usize, usize) {
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

/// How many records of `stream` reached Kafka intact (value byte for byte,
/// key = partition key), and how many are missing or altered.
pub fn count_intact(stream: &[kinesis::admin::StoredRecord], delivered: &[Delivered]) -> (usize, usize, usize) {
    let by_sequence: HashMap<&[u8], &Delivered> =
        delivered.iter().filter_map(|d| Some((d.headers.get(events::camel::SEQUENCE_NUMBER)?.as_slice(), d))).collect();
    let (mut intact, mut missing, mut altered) = (0, 0, 0);
    for record in stream {
        match by_sequence.get(record.sequence_number.as_bytes()) {
            None => missing += 1,
            Some(d) if d.value == record.data && d.key.as_deref() == Some(record.partition_key.as_bytes()) => {
                intact += 1
            }
            Some(_) => altered += 1,
        }
    }
    (intact, missing, altered)
}

/// Partition keys whose records reached Kafka (first delivery of each) in
/// another order than they have in the stream, where `stream` lists the
/// shards parents first, each in sequence order.
pub fn keys_out_of_order(stream: &[kinesis::admin::StoredRecord], delivered: &[Delivered]) -> usize {
    let mut first: HashMap<&[u8], (i32, i64)> = HashMap::new();
    for d in delivered {
        let Some(sequence) = d.headers.get(events::camel::SEQUENCE_NUMBER) else { continue };
        let at = (d.partition, d.offset);
        first.entry(sequence.as_slice()).and_modify(|seen| *seen = (*seen).min(at)).or_insert(at);
    }
    let mut per_key: HashMap<&str, Vec<(i32, i64)>> = HashMap::new();
    for record in stream {
        if let Some(at) = first.get(record.sequence_number.as_bytes()) {
            per_key.entry(record.partition_key.as_str()).or_default().push(*at);
        }
    }
    per_key.values().filter(|positions| positions.windows(2).any(|w| w[0] > w[1])).count()
}
