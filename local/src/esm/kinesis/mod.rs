//! An emulation of Lambda's Kinesis event source mapping (standard
//! iterators), the forwarder's trigger when the hop is `lambda`. AWS runs
//! the real one; this follows its documented contract, rule by rule (Lambda
//! guide: "with-kinesis", "services-kinesis-parameters",
//! "services-kinesis-batchfailurereporting", "kinesis-on-failure-destination"):
//! - "Lambda polls each shard … at a base rate of once per second. When more
//!   records are available, Lambda keeps processing batches until the
//!   function catches up with the stream" ([`shard`]);
//! - "It processes one batch of records at a time from each shard"; with
//!   `ParallelizationFactor` up to 10 batches per shard at once, "in-order
//!   processing at the partition-key level" ([`shard`]: one lane per
//!   partition-key hash);
//! - a batch holds up to `BatchSize` records, gathered until the batching
//!   window expires or "the batch reaches the payload limit of 6 MB";
//! - the checkpoint moves only past records the function took; function
//!   errors are retried and, with `BisectBatchOnFunctionError`, split;
//!   `MaximumRetryAttempts` and `MaximumRecordAgeInSeconds` (-1: until the
//!   records expire) bound the retries; invocations that never reached the
//!   function are retried without counting ([`super::delivery`]);
//! - with `ReportBatchItemFailures`, "Lambda … checkpoints before the lowest
//!   sequence number" reported and retries from it ([`batch`]);
//! - discarded batches go to the on-failure destination as AWS's invocation
//!   record (`events::on_failure::KinesisInvocationRecord`; a directory
//!   here, an S3 bucket in the template);
//! - after a reshard, "Lambda processes records from the parent shard …
//!   before processing records from child shards" ([`KinesisMapping::run`]).
//!
//! The checkpoints live in this process, as AWS keeps them in its service:
//! a function host killed mid-batch sees the batch again, the mapping goes on.

pub mod batch;
pub mod shard;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::Client;

use super::invoke::FunctionInvoker;
use super::poller::EsmStats;
use super::settings::StartingPosition;

/// The mapping's settings, named as in `AWS::Lambda::EventSourceMapping`.
#[derive(Debug, Clone)]
pub struct KinesisMappingSettings {
    pub stream: String,
    pub stream_arn: String,
    pub starting_position: StartingPosition,
    /// `BatchSize`: 1 to 10,000.
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds` (0 to 300).
    pub maximum_batching_window: Duration,
    /// `ParallelizationFactor`: 1 to 10 batches per shard at once.
    pub parallelization_factor: usize,
    pub bisect_batch_on_function_error: bool,
    pub report_batch_item_failures: bool,
    /// -1: until the records expire.
    pub maximum_retry_attempts: i32,
    /// `MaximumRecordAgeInSeconds`; `None` (-1): until the records expire.
    pub maximum_record_age: Option<Duration>,
    /// `DestinationConfig.OnFailure`: a directory here.
    pub on_failure: Option<PathBuf>,
    pub function_arn: String,
    pub max_payload_bytes: usize,
    /// The base polling rate of a caught-up shard.
    pub poll_interval: Duration,
    /// How often the shard list is read for children after a reshard.
    pub discovery_interval: Duration,
}

impl KinesisMappingSettings {
    /// The settings of `definition` (the template's) for `stream`.
    pub fn from_definition(definition: &pipeline_settings::mapping::ForwarderMapping, stream: &str) -> Self {
        Self {
            stream: stream.to_owned(),
            stream_arn: format!("arn:aws:kinesis:{}:000000000000:stream/{stream}", crate::LOCAL_REGION),
            starting_position: match definition.starting_position {
                "LATEST" => StartingPosition::Latest,
                _ => StartingPosition::TrimHorizon,
            },
            batch_size: definition.batch_size as usize,
            maximum_batching_window: Duration::from_secs(u64::from(definition.maximum_batching_window_seconds)),
            parallelization_factor: definition.parallelization_factor.max(1) as usize,
            bisect_batch_on_function_error: definition.bisect_batch_on_function_error,
            report_batch_item_failures: definition.report_batch_item_failures,
            maximum_retry_attempts: definition.maximum_retry_attempts,
            maximum_record_age: u64::try_from(definition.maximum_record_age_seconds).ok().map(Duration::from_secs),
            on_failure: None,
            function_arn: format!("arn:aws:lambda:{}:000000000000:function:kinesis-forwarder", crate::LOCAL_REGION),
            max_payload_bytes: events::msk::MAX_INVOKE_PAYLOAD_BYTES,
            poll_interval: Duration::from_secs(1),
            discovery_interval: Duration::from_secs(1),
        }
    }

    /// Retries after the first attempt; `None` is unbounded (-1).
    pub fn retry_limit(&self) -> Option<u32> {
        u32::try_from(self.maximum_retry_attempts).ok()
    }

    /// One line for reports: the settings as the template names them.
    pub fn describe(&self) -> String {
        format!(
            "BatchSize {}, MaximumBatchingWindowInSeconds {}, ParallelizationFactor {}, BisectBatchOnFunctionError {}, FunctionResponseTypes [{}], MaximumRetryAttempts {}, MaximumRecordAgeInSeconds {}, on-failure {}",
            self.batch_size,
            self.maximum_batching_window.as_secs_f64(),
            self.parallelization_factor,
            self.bisect_batch_on_function_error,
            if self.report_batch_item_failures { "ReportBatchItemFailures" } else { "" },
            self.maximum_retry_attempts,
            self.maximum_record_age.map_or(-1, |d| d.as_secs() as i64),
            self.on_failure.as_ref().map_or_else(|| "none".to_owned(), |p| p.display().to_string())
        )
    }
}

/// The mapping: a reader per shard (parents before children), lanes per
/// shard, the function invoked through the Lambda Invoke API.
pub struct KinesisMapping {
    pub settings: KinesisMappingSettings,
    pub kinesis: Client,
    pub invoker: FunctionInvoker,
    pub stats: Arc<EsmStats>,
}

/// One shard as `ListShards` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    pub shard_id: String,
    pub parents: Vec<String>,
}

impl KinesisMapping {
    /// Reads every shard until the task is aborted: a shard starts once the
    /// parents the stream still lists are read to their end and delivered.
    pub async fn run(self: Arc<Self>) -> anyhow::Result<()> {
        let mut started: HashSet<String> = HashSet::new();
        let mut finished: HashSet<String> = HashSet::new();
        let mut tasks = tokio::task::JoinSet::new();
        let mut first_listing = true;
        loop {
            match list_shards(&self.kinesis, &self.settings.stream).await {
                Ok(shards) => {
                    let listed: HashSet<&str> = shards.iter().map(|s| s.shard_id.as_str()).collect();
                    for shard in &shards {
                        let ready = shard.parents.iter().all(|p| finished.contains(p) || !listed.contains(p.as_str()));
                        if ready && !started.contains(&shard.shard_id) {
                            started.insert(shard.shard_id.clone());
                            // Shards open when the mapping starts begin at its
                            // starting position; children always from their start.
                            let position = if first_listing {
                                self.settings.starting_position
                            } else {
                                StartingPosition::TrimHorizon
                            };
                            let (mapping, id) = (self.clone(), shard.shard_id.clone());
                            tasks.spawn(async move { mapping.read_shard(&id, position).await.map(|()| id) });
                        }
                    }
                    first_listing = false;
                    self.stats.assigned.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(error = %e, "ListShards failed; retrying"),
            }
            let pause = tokio::time::sleep(self.settings.discovery_interval);
            tokio::pin!(pause);
            loop {
                tokio::select! {
                    _ = &mut pause => break,
                    Some(done) = tasks.join_next() => {
                        finished.insert(done??);
                    }
                }
            }
        }
    }
}

/// Every shard of `stream`, every page of `ListShards`.
pub async fn list_shards(client: &Client, stream: &str) -> anyhow::Result<Vec<ShardInfo>> {
    let mut shards = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let request = match &next {
            Some(token) => client.list_shards().next_token(token),
            None => client.list_shards().stream_name(stream),
        };
        let page = request.send().await.map_err(|e| {
            anyhow::anyhow!("ListShards on {stream}: {}", aws_sdk_kinesis::error::DisplayErrorContext(e))
        })?;
        shards.extend(page.shards().iter().map(|s| ShardInfo {
            shard_id: s.shard_id().to_owned(),
            parents: s.parent_shard_id().into_iter().chain(s.adjacent_parent_shard_id()).map(str::to_owned).collect(),
        }));
        match page.next_token() {
            Some(token) if !token.is_empty() => next = Some(token.to_owned()),
            _ => return Ok(shards),
        }
    }
}
