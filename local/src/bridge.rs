//! The local stand-in for the Camel aws-kinesis-source connector on MSK
//! Connect. It is an imitation, written by this project: it does what a
//! correct connector should (the real Camel connector cannot run here: its
//! plugin is not served by this machine's Maven mirror, and its source shows
//! it does not do all of this; see the README's "The connector"). It reads
//! every shard of the stream (parents before children after a reshard) and
//! writes each Kinesis record to the topic with value = the record's data
//! byte for byte, the Camel headers (`CamelHeader.CamelAwsKinesis*`), and
//! the key from the partition key (what the template's
//! `camel.source.camelMessageHeaderKey=CamelAwsKinesisPartitionKey` asks
//! for, so one order stays on one Kafka partition).
//!
//! Delivery is at-least-once with no gaps: the producer is idempotent, and a
//! shard's last sequence number is stored in an offsets topic (like Kafka
//! Connect's) only after every record before it was acknowledged. A restarted
//! bridge resumes after the stored sequence number.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::types::{Shard, ShardIteratorType};
use events::camel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

/// How reports name this stand-in.
pub const DESCRIPTION: &str =
    "local bridge, an imitation of Camel aws-kinesis-source (the real plugin is not on this machine's Maven mirror)";

#[derive(Debug, Clone)]
pub struct BridgeConfig {
    pub stream: String,
    pub topic: String,
    pub offsets_topic: String,
    pub bootstrap_servers: String,
    pub key_from_partition_key: bool,
    /// Pause after an empty `GetRecords` (Kinesis allows 5 calls/s per shard).
    pub idle_poll: Duration,
    pub get_records_limit: i32,
}

impl BridgeConfig {
    pub fn new(stream: &str, topic: &str, bootstrap_servers: &str) -> Self {
        Self {
            stream: stream.to_owned(),
            topic: topic.to_owned(),
            offsets_topic: format!("{topic}-bridge-offsets"),
            bootstrap_servers: bootstrap_servers.to_owned(),
            key_from_partition_key: true,
            idle_poll: Duration::from_millis(200),
            get_records_limit: 1_000,
        }
    }
}

/// What the bridge has done, for progress and tests.
#[derive(Debug, Default)]
pub struct BridgeStats {
    pub records_read: AtomicU64,
    pub records_written: AtomicU64,
    pub offsets_committed: AtomicU64,
    pub restarts: AtomicU64,
    /// Shard readers restarted after a failed write.
    pub reader_restarts: AtomicU64,
}

/// A shard's source offset, as stored in the offsets topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardOffset {
    pub sequence_number: Option<String>,
    /// The shard was closed by a reshard and read to its end.
    pub closed: bool,
}

type Offsets = Arc<Mutex<HashMap<String, ShardOffset>>>;

fn lock(offsets: &Offsets) -> std::sync::MutexGuard<'_, HashMap<String, ShardOffset>> {
    offsets.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs until aborted (dropping or aborting the task is how it is "killed").
pub async fn run(
    config: BridgeConfig,
    kinesis: aws_sdk_kinesis::Client,
    stats: Arc<BridgeStats>,
) -> anyhow::Result<()> {
    // Synchronous librdkafka calls (bounded by their timeouts) run off the
    // runtime's threads, which must keep driving timers meanwhile.
    let loader = config.clone();
    let offsets: Offsets = Arc::new(Mutex::new(tokio::task::spawn_blocking(move || load_offsets(&loader)).await??));
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &config.bootstrap_servers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        // A delivery stuck past this fails, and the shard reader starts again
        // from its stored offset: a stall becomes a (bounded) redelivery.
        .set("message.timeout.ms", "30000")
        .create()?;
    let mut running: HashMap<String, Reader> = HashMap::new();
    loop {
        let shards = match list_shards(&kinesis, &config.stream).await {
            Ok(shards) => shards,
            Err(e) => {
                tracing::warn!(error = %e, "listing shards failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // A reader that failed (a write not acknowledged) is started again
        // from the last stored offset: records after it are sent again, none skipped.
        let finished: Vec<String> = running.iter().filter(|(_, r)| r.0.is_finished()).map(|(s, _)| s.clone()).collect();
        for shard in finished {
            if let Some(Ok(Err(e))) =
                running.remove(&shard).and_then(|mut r| futures::FutureExt::now_or_never(&mut r.0))
            {
                tracing::warn!(shard, error = %e, "shard reader failed; restarting from its stored offset");
                stats.reader_restarts.fetch_add(1, Ordering::Relaxed);
            }
        }
        for shard in &shards {
            let id = shard.shard_id().to_owned();
            let done = lock(&offsets).get(&id).is_some_and(|o| o.closed);
            if done || running.contains_key(&id) || !parents_done(shard, &shards, &offsets) {
                continue;
            }
            let task = read_shard(
                config.clone(),
                kinesis.clone(),
                producer.clone(),
                id.clone(),
                offsets.clone(),
                stats.clone(),
            );
            running.insert(id, Reader(tokio::spawn(task)));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A shard reader's task, aborted with the bridge (a dropped `JoinHandle`
/// would leave it running, holding a Kafka producer).
struct Reader(tokio::task::JoinHandle<anyhow::Result<()>>);

impl Drop for Reader {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Order across a reshard: a child starts once its parents were read to the end
/// (or have aged out of the stream).
fn parents_done(shard: &Shard, all: &[Shard], offsets: &Offsets) -> bool {
    let offsets = lock(offsets);
    [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
        .into_iter()
        .flatten()
        .all(|parent| offsets.get(parent).is_some_and(|o| o.closed) || !all.iter().any(|s| s.shard_id() == parent))
}

async fn list_shards(kinesis: &aws_sdk_kinesis::Client, stream: &str) -> anyhow::Result<Vec<Shard>> {
    let mut shards = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let request = match &next {
            Some(token) => kinesis.list_shards().next_token(token),
            None => kinesis.list_shards().stream_name(stream),
        };
        let page = request.send().await.map_err(|e| {
            anyhow::anyhow!("ListShards on {stream}: {}", aws_sdk_kinesis::error::DisplayErrorContext(e))
        })?;
        shards.extend(page.shards().iter().cloned());
        next = page.next_token;
        if next.is_none() {
            return Ok(shards);
        }
    }
}

async fn shard_iterator(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
    shard: &str,
    after: Option<&str>,
) -> anyhow::Result<Option<String>> {
    let request = kinesis.get_shard_iterator().stream_name(stream).shard_id(shard);
    let request = match after {
        Some(seq) => request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).starting_sequence_number(seq),
        None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
    };
    let out = request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("GetShardIterator {shard}: {}", aws_sdk_kinesis::error::DisplayErrorContext(e)))?;
    Ok(out.shard_iterator)
}

async fn read_shard(
    config: BridgeConfig,
    kinesis: aws_sdk_kinesis::Client,
    producer: FutureProducer,
    shard: String,
    offsets: Offsets,
    stats: Arc<BridgeStats>,
) -> anyhow::Result<()> {
    let start = lock(&offsets).get(&shard).and_then(|o| o.sequence_number.clone());
    let mut iterator = shard_iterator(&kinesis, &config.stream, &shard, start.as_deref()).await?;
    while let Some(it) = iterator.take() {
        let page = match kinesis.get_records().shard_iterator(&it).limit(config.get_records_limit).send().await {
            Ok(page) => page,
            Err(e) => {
                // Expired iterators and throttling: start again after what is stored.
                tracing::warn!(shard, error = %aws_sdk_kinesis::error::DisplayErrorContext(&e), "GetRecords failed; resuming");
                tokio::time::sleep(config.idle_poll).await;
                let after = lock(&offsets).get(&shard).and_then(|o| o.sequence_number.clone());
                iterator = shard_iterator(&kinesis, &config.stream, &shard, after.as_deref()).await?;
                continue;
            }
        };
        let next_iterator = page.next_shard_iterator.clone();
        let records = page.records();
        stats.records_read.fetch_add(records.len() as u64, Ordering::Relaxed);
        if let Some(last) = records.last() {
            write_records(&config, &producer, &shard, records).await?;
            stats.records_written.fetch_add(records.len() as u64, Ordering::Relaxed);
            let offset = ShardOffset { sequence_number: Some(last.sequence_number().to_owned()), closed: false };
            commit_offset(&config, &producer, &shard, &offset).await?;
            lock(&offsets).insert(shard.clone(), offset);
            stats.offsets_committed.fetch_add(1, Ordering::Relaxed);
        }
        match next_iterator {
            Some(next) => {
                if records.is_empty() {
                    tokio::time::sleep(config.idle_poll).await;
                }
                iterator = Some(next);
            }
            None => {
                let mut offset = lock(&offsets).get(&shard).cloned().unwrap_or_default();
                offset.closed = true;
                commit_offset(&config, &producer, &shard, &offset).await?;
                lock(&offsets).insert(shard.clone(), offset);
                tracing::info!(shard, "shard closed and read to its end");
            }
        }
    }
    Ok(())
}

/// Produces one page of records and waits for every acknowledgement.
async fn write_records(
    config: &BridgeConfig,
    producer: &FutureProducer,
    shard: &str,
    records: &[aws_sdk_kinesis::types::Record],
) -> anyhow::Result<()> {
    let deliveries: Vec<_> = records
        .iter()
        .map(|record| {
            let partition_key = record.partition_key().unwrap_or_default();
            let headers = OwnedHeaders::new()
                .insert(Header { key: camel::PARTITION_KEY, value: Some(partition_key.as_bytes()) })
                .insert(Header { key: camel::SEQUENCE_NUMBER, value: Some(record.sequence_number().as_bytes()) })
                .insert(Header { key: camel::SHARD_ID, value: Some(shard.as_bytes()) });
            let mut message = FutureRecord::to(&config.topic).payload(record.data().as_ref()).headers(headers);
            if config.key_from_partition_key {
                message = message.key(partition_key);
            }
            producer.send(message, Duration::from_secs(30))
        })
        .collect();
    for delivery in futures::future::join_all(deliveries).await {
        delivery.map_err(|(e, _)| anyhow::anyhow!("writing to {}: {e}", config.topic))?;
    }
    Ok(())
}

async fn commit_offset(
    config: &BridgeConfig,
    producer: &FutureProducer,
    shard: &str,
    offset: &ShardOffset,
) -> anyhow::Result<()> {
    let key = format!("{}/{shard}", config.stream);
    let value = serde_json::to_vec(offset)?;
    producer
        .send(FutureRecord::to(&config.offsets_topic).key(&key).payload(&value), Duration::from_secs(30))
        .await
        .map_err(|(e, _)| anyhow::anyhow!("storing the offset of {shard}: {e}"))?;
    Ok(())
}

/// Reads the offsets topic from the beginning: the last value per shard wins.
pub fn load_offsets(config: &BridgeConfig) -> anyhow::Result<HashMap<String, ShardOffset>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &config.bootstrap_servers)
        .set("group.id", format!("{}-loader", config.offsets_topic))
        .set("enable.auto.commit", "false")
        .create()?;
    let (low, high) = consumer.fetch_watermarks(&config.offsets_topic, 0, Duration::from_secs(30))?;
    let mut offsets = HashMap::new();
    if high <= low {
        return Ok(offsets);
    }
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(&config.offsets_topic, 0, Offset::Offset(low))?;
    consumer.assign(&assignment)?;
    let prefix = format!("{}/", config.stream);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut next = low;
    while next < high {
        anyhow::ensure!(std::time::Instant::now() < deadline, "timed out reading {}", config.offsets_topic);
        let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
        let message = message?;
        next = message.offset() + 1;
        let key = message.key().and_then(|k| std::str::from_utf8(k).ok()).unwrap_or_default();
        if let (Some(shard), Some(payload)) = (key.strip_prefix(&prefix), message.payload()) {
            offsets.insert(shard.to_owned(), serde_json::from_slice(payload)?);
        }
    }
    Ok(offsets)
}
