//! Stream administration and a read-everything helper for the local
//! emulator, through the same `aws-sdk-kinesis` client the producer uses.

use std::time::Duration;

use aws_sdk_kinesis::types::{ShardIteratorType, StreamStatus};
use aws_sdk_kinesis::Client;

/// A client for a loopback endpoint with dummy credentials.
pub fn client(endpoint: &str) -> Client {
    Client::new(&crate::loopback_sdk_config(endpoint))
}

/// Creates a provisioned stream and waits until it is ACTIVE.
pub async fn create_stream(client: &Client, name: &str, shards: i32) -> anyhow::Result<()> {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("creating stream {name}: {}", aws_sdk_kinesis::error::DisplayErrorContext(e)))?;
    wait_active(client, name).await
}

pub async fn wait_active(client: &Client, name: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        let summary =
            client.describe_stream_summary().stream_name(name).send().await.map_err(|e| {
                anyhow::anyhow!("describing {name}: {}", aws_sdk_kinesis::error::DisplayErrorContext(e))
            })?;
        if summary.stream_description_summary().map(|s| s.stream_status()) == Some(&StreamStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("stream {name} did not become ACTIVE")
}

/// One record as read back from a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub shard_id: String,
    pub sequence_number: String,
    pub partition_key: String,
    pub data: Vec<u8>,
}

/// Every record in every shard, each shard in sequence order.
pub async fn read_stream(client: &Client, name: &str) -> anyhow::Result<Vec<StoredRecord>> {
    let err = |what: &str, e: String| anyhow::anyhow!("{what} on {name}: {e}");
    let shards = client
        .list_shards()
        .stream_name(name)
        .send()
        .await
        .map_err(|e| err("ListShards", aws_sdk_kinesis::error::DisplayErrorContext(e).to_string()))?;
    let mut out = Vec::new();
    for shard in shards.shards() {
        let mut iterator = client
            .get_shard_iterator()
            .stream_name(name)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .map_err(|e| err("GetShardIterator", aws_sdk_kinesis::error::DisplayErrorContext(e).to_string()))?
            .shard_iterator;
        while let Some(it) = iterator {
            let page = client
                .get_records()
                .shard_iterator(it)
                .limit(10_000)
                .send()
                .await
                .map_err(|e| err("GetRecords", aws_sdk_kinesis::error::DisplayErrorContext(e).to_string()))?;
            let caught_up = page.records().is_empty() && page.millis_behind_latest().unwrap_or(0) == 0;
            out.extend(page.records().iter().map(|r| StoredRecord {
                shard_id: shard.shard_id().to_owned(),
                sequence_number: r.sequence_number().to_owned(),
                partition_key: r.partition_key().unwrap_or_default().to_owned(),
                data: r.data().as_ref().to_vec(),
            }));
            iterator = if caught_up { None } else { page.next_shard_iterator };
        }
    }
    Ok(out)
}
