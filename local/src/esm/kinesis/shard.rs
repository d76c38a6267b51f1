//! One shard: a reader that polls `GetRecords` (at once while records keep
//! coming, at the base rate of once per second when caught up, never more
//! than Kinesis's five calls per second per shard) and hands each page to
//! the lanes; `ParallelizationFactor` lanes, each a partition-key hash
//! class, each delivering one batch at a time and in order. A full lane
//! stops the reader: nothing is read ahead of what the function can take.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::operation::get_records::GetRecordsError;
use aws_sdk_kinesis::types::ShardIteratorType;
use tokio::sync::mpsc;

use super::batch::{ShardSource, StreamRecord};
use super::KinesisMapping;
use crate::esm::delivery::{deliver, RetryPolicy};
use crate::esm::settings::StartingPosition;

/// Kinesis allows five `GetRecords` calls per second per shard.
const MIN_CALL_INTERVAL: Duration = Duration::from_millis(200);
/// Pages a lane may hold before the reader waits for it.
const LANE_PAGES: usize = 4;

impl KinesisMapping {
    /// Reads `shard_id` from `position` to its end (a closed parent) or
    /// forever (an open shard); returns once every record read was
    /// delivered or discarded.
    pub async fn read_shard(&self, shard_id: &str, position: StartingPosition) -> anyhow::Result<()> {
        let lanes = self.settings.parallelization_factor.clamp(1, 10);
        let mut senders = Vec::with_capacity(lanes);
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..lanes {
            let (tx, rx) = mpsc::channel::<Vec<StreamRecord>>(LANE_PAGES);
            senders.push(tx);
            let source = ShardSource::new(self, shard_id);
            let policy = RetryPolicy {
                bisect_batch_on_function_error: self.settings.bisect_batch_on_function_error,
                retry_limit: self.settings.retry_limit(),
            };
            let (settings, stats) = (self.settings.clone(), self.stats.clone());
            workers.spawn(async move { run_lane(source, policy, &settings, &stats, rx).await });
        }
        let mut iterator = self.iterator(shard_id, position, None).await?;
        let mut last_sequence: Option<String> = None;
        let mut last_call = Instant::now() - MIN_CALL_INTERVAL;
        loop {
            tokio::time::sleep_until((last_call + MIN_CALL_INTERVAL).into()).await;
            last_call = Instant::now();
            let page = match self.kinesis.get_records().shard_iterator(&iterator).limit(10_000).send().await {
                Ok(page) => page,
                Err(e) => {
                    let expired = matches!(e.as_service_error(), Some(GetRecordsError::ExpiredIteratorException(_)));
                    if expired {
                        // An iterator lives five minutes: a new one resumes
                        // after the last record read.
                        iterator = self.iterator(shard_id, position, last_sequence.as_deref()).await?;
                    } else {
                        tracing::warn!(shard = shard_id, error = %aws_sdk_kinesis::error::DisplayErrorContext(&e),
                            "GetRecords failed; retrying");
                        tokio::time::sleep(self.settings.poll_interval).await;
                    }
                    continue;
                }
            };
            let records: Vec<StreamRecord> =
                page.records().iter().map(|r| StreamRecord::read(shard_id, &self.settings, r)).collect();
            if let Some(last) = records.last() {
                last_sequence = Some(last.sequence_number.clone());
            }
            let caught_up = records.is_empty() || page.millis_behind_latest().unwrap_or(0) == 0;
            self.hand_to_lanes(records, &senders).await?;
            match page.next_shard_iterator() {
                Some(next) => iterator = next.to_owned(),
                None => break,
            }
            if caught_up {
                tokio::time::sleep(self.settings.poll_interval).await;
            }
        }
        drop(senders);
        while let Some(lane) = workers.join_next().await {
            lane??;
        }
        tracing::info!(shard = shard_id, "shard read to its end and delivered");
        Ok(())
    }

    async fn iterator(
        &self,
        shard_id: &str,
        position: StartingPosition,
        after: Option<&str>,
    ) -> anyhow::Result<String> {
        let request = self.kinesis.get_shard_iterator().stream_name(&self.settings.stream).shard_id(shard_id);
        let request = match (after, position) {
            (Some(sequence), _) => {
                request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).starting_sequence_number(sequence)
            }
            (None, StartingPosition::TrimHorizon) => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            (None, StartingPosition::Latest) => request.shard_iterator_type(ShardIteratorType::Latest),
        };
        let output = request.send().await.map_err(|e| {
            anyhow::anyhow!("GetShardIterator on {shard_id}: {}", aws_sdk_kinesis::error::DisplayErrorContext(e))
        })?;
        output.shard_iterator.ok_or_else(|| anyhow::anyhow!("GetShardIterator on {shard_id} returned no iterator"))
    }

    /// Splits a page by partition-key hash among the lanes, keeping order.
    async fn hand_to_lanes(
        &self,
        records: Vec<StreamRecord>,
        lanes: &[mpsc::Sender<Vec<StreamRecord>>],
    ) -> anyhow::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.stats.records_polled.fetch_add(records.len() as u64, Ordering::Relaxed);
        let mut pages: Vec<Vec<StreamRecord>> = vec![Vec::new(); lanes.len()];
        for record in records {
            let lane = lane_of(&record.partition_key, lanes.len());
            pages[lane].push(record);
        }
        for (page, lane) in pages.into_iter().zip(lanes) {
            if !page.is_empty() {
                lane.send(page).await.map_err(|_| anyhow::anyhow!("a lane of the Kinesis mapping stopped"))?;
            }
        }
        Ok(())
    }
}

/// The lane of a partition key: a stable hash, so a key always meets the
/// same lane and its records stay in order.
pub fn lane_of(partition_key: &str, lanes: usize) -> usize {
    // FNV-1a: stable across runs and platforms, unlike std's hasher.
    let hash =
        partition_key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (hash % lanes.max(1) as u64) as usize
}

/// Gathers batches from the lane's pages and delivers them one at a time.
async fn run_lane(
    source: ShardSource,
    policy: RetryPolicy,
    settings: &super::KinesisMappingSettings,
    stats: &crate::esm::EsmStats,
    mut pages: mpsc::Receiver<Vec<StreamRecord>>,
) -> anyhow::Result<()> {
    let mut buffer: VecDeque<StreamRecord> = VecDeque::new();
    let mut closed = false;
    loop {
        if buffer.is_empty() {
            match pages.recv().await {
                Some(page) => buffer.extend(page),
                None => return Ok(()),
            }
        }
        // Until the batch is full or the window ends; a window of 0 takes
        // what is already there.
        let window_ends = Instant::now() + settings.maximum_batching_window;
        while !closed && buffer.len() < settings.batch_size {
            let next = if settings.maximum_batching_window.is_zero() {
                pages.try_recv().ok()
            } else {
                match tokio::time::timeout_at(window_ends.into(), pages.recv()).await {
                    Ok(Some(page)) => Some(page),
                    Ok(None) => {
                        closed = true;
                        None
                    }
                    Err(_) => None,
                }
            };
            match next {
                Some(page) => buffer.extend(page),
                None => break,
            }
        }
        let mut batch = Vec::new();
        let mut size = super::batch::EVENT_OVERHEAD;
        while let Some(record) = buffer.front() {
            let grows = record.json.len() + 1;
            if batch.len() >= settings.batch_size || (!batch.is_empty() && size + grows > settings.max_payload_bytes) {
                break;
            }
            size += grows;
            batch.extend(buffer.pop_front());
        }
        deliver(&source, policy, stats, batch).await?;
        if closed && buffer.is_empty() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lane_of;

    #[test]
    fn a_key_always_meets_the_same_lane_and_keys_spread() {
        assert_eq!(lane_of("order-1", 4), lane_of("order-1", 4));
        let used: std::collections::HashSet<usize> = (0..100).map(|i| lane_of(&format!("order-{i}"), 4)).collect();
        assert_eq!(used.len(), 4);
        assert_eq!(lane_of("anything", 1), 0);
    }
}
