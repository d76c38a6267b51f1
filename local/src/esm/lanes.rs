//! One lane per partition: the MSK mapping's concurrency.
//!
//! AWS's rule (Lambda guide, "Apache Kafka event poller scaling modes"): an
//! event poller "can support … 5 concurrent Lambda invocations", and "to
//! maintain ordered processing within a partition, Lambda caps the
//! `MaximumPollers` to the number of partitions in the topic". So batches of
//! different partitions are in flight at once, up to five per poller, and
//! each partition's records are delivered in order, one batch at a time.
//! Here each partition the reader sees gets a lane: it gathers a batch from
//! its queue (batch size, batching window, payload limit), waits for one of
//! the mapping's invocation permits ([`max_concurrent_invocations`]),
//! delivers it by the mapping's rules ([`super::delivery`]: retries, bisect,
//! partial batch responses, all within the partition) and reports the
//! partition's next offset to the reader, which commits it. A lane that
//! keeps failing holds back its own partition only.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use events::msk::KafkaMessage;
use tokio::sync::{mpsc, Semaphore};

use super::delivery::deliver;
use super::msk_source::MskSource;

/// Invocations one event poller runs at once (AWS, above).
pub const INVOCATIONS_PER_POLLER: usize = 5;

/// The mapping's bound on invocations in flight: five per poller at its
/// `MaximumPollers`; one per partition is the lanes' own bound.
pub fn max_concurrent_invocations(maximum_pollers: u32) -> usize {
    INVOCATIONS_PER_POLLER.saturating_mul(usize::try_from(maximum_pollers.max(1)).unwrap_or(1))
}

/// A record on its way to a lane, stamped with the consumer that read it:
/// records read by a consumer since replaced are dropped (its replacement
/// reads them again from the committed offsets).
pub struct Queued {
    pub message: KafkaMessage,
    pub generation: u64,
}

/// A lane's report of a batch it finished (delivered or discarded).
pub struct Finished {
    pub topic: String,
    pub partition: i32,
    /// The offset after the batch's last record: what to commit.
    pub next_offset: i64,
    pub records: usize,
}

/// What every lane shares with the reader.
#[derive(Clone)]
pub struct LaneShared {
    pub source: Arc<MskSource>,
    pub permits: Arc<Semaphore>,
    /// The current consumer's generation (bumped on each replacement).
    pub generation: Arc<AtomicU64>,
    /// Batches taken by lanes and not yet finished.
    pub busy: Arc<AtomicUsize>,
    pub finished: mpsc::UnboundedSender<anyhow::Result<Finished>>,
}

/// Delivers the partition's records, a batch at a time, until the reader
/// drops the lane's sender.
pub async fn run_lane(shared: LaneShared, mut queue: mpsc::Receiver<Queued>) {
    let mut carry: Option<KafkaMessage> = None;
    loop {
        let first = match carry.take() {
            Some(message) => message,
            None => match current(&shared, &mut queue).await {
                Some(message) => message,
                None => return,
            },
        };
        shared.busy.fetch_add(1, Ordering::SeqCst);
        let (batch, next) = gather(&shared, &mut queue, first).await;
        carry = next;
        let outcome = deliver_batch(&shared, batch).await;
        shared.busy.fetch_sub(1, Ordering::SeqCst);
        let failed = outcome.is_err();
        if shared.finished.send(outcome).is_err() || failed {
            return;
        }
    }
}

/// The next record read by the current consumer (`None`: the lane closed).
async fn current(shared: &LaneShared, queue: &mut mpsc::Receiver<Queued>) -> Option<KafkaMessage> {
    loop {
        let queued = queue.recv().await?;
        if queued.generation == shared.generation.load(Ordering::SeqCst) {
            return Some(queued.message);
        }
    }
}

/// A batch starting with `first`: more records until the batch size, the
/// batching window or the payload limit; a record past the limit is
/// returned to start the next batch.
async fn gather(
    shared: &LaneShared,
    queue: &mut mpsc::Receiver<Queued>,
    first: KafkaMessage,
) -> (Vec<KafkaMessage>, Option<KafkaMessage>) {
    let settings = &shared.source.settings;
    let mut size = 512 + first.to_msk_record().json_len() + 1;
    let mut batch = vec![first];
    let window_ends = Instant::now() + settings.maximum_batching_window;
    while batch.len() < settings.batch_size {
        let left = window_ends.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let Ok(Some(queued)) = tokio::time::timeout(left, queue.recv()).await else { break };
        if queued.generation != shared.generation.load(Ordering::SeqCst) {
            continue;
        }
        let message = queued.message;
        let record_size = message.to_msk_record().json_len() + 1 + message.topic.len() + 16;
        if size + record_size > settings.max_payload_bytes {
            return (batch, Some(message));
        }
        size += record_size;
        batch.push(message);
    }
    (batch, None)
}

/// Delivers one batch under an invocation permit.
async fn deliver_batch(shared: &LaneShared, batch: Vec<KafkaMessage>) -> anyhow::Result<Finished> {
    let last = batch.last().map(|m| (m.topic.clone(), m.partition, m.offset));
    let records = batch.len();
    let permit = shared.permits.clone().acquire_owned().await?;
    let source = &*shared.source;
    deliver(source, source.policy(), &source.stats, batch).await?;
    drop(permit);
    let (topic, partition, offset) = last.ok_or_else(|| anyhow::anyhow!("an empty batch"))?;
    Ok(Finished { topic, partition, next_offset: offset + 1, records })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_invocations_per_poller_at_the_maximum() {
        assert_eq!(max_concurrent_invocations(1), 5);
        assert_eq!(max_concurrent_invocations(2), 10);
        assert_eq!(max_concurrent_invocations(0), 5, "at least one poller");
    }
}
