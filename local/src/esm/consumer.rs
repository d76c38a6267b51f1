//! The mapping's Kafka consumer, and what replaces it when it wedges.
//!
//! librdkafka reconnects by itself after a broker outage, but a consumer that
//! lived through one (its session timed out, its fetches timed out) has been
//! seen, intermittently, to come back and never fetch again, with or without
//! a fault reported first: the pipeline test that freezes Kafka for 60 s
//! caught it in CI (the mapping polled nothing for 7 minutes while the topic
//! held 20,000 records), and it is a known open report
//! (fede1024/rust-rdkafka#597, "Consumer doesn't consume after broker
//! reconnect (sometimes)"). Lambda's mapping is a managed poller that AWS
//! replaces when it fails; the emulation does the same, narrowly: a consumer
//! that has made no progress in [`STALLED_AFTER`] is asked whether the topic holds records
//! past the group's committed offsets ([`behind`]: the broker must answer, so
//! a consumer is never replaced while Kafka is still away); if it does at two
//! questions [`STALLED_AFTER`] apart with no progress between them (records
//! that just reached an idle topic wait for a moment too), the consumer is
//! closed and a new one joins the group from the committed offsets
//! (at-least-once: what was delivered but not yet committed comes again,
//! which the consumer's idempotent store absorbs).
//!
//! The question is asked by a client of its own, never by the consumer in
//! doubt (a wedged consumer's own calls can fail or never return, and then it
//! would be kept forever). Both the question and the close block on the
//! broker for as long as librdkafka decides, so both run on a thread of their
//! own ([`off_runtime`]): never on the runtime's threads (a close on one
//! during the outage once stalled the very timers that end it), and not on
//! tokio's blocking pool either, which a runtime waits for when it shuts down
//! (one call that never returned kept a test process alive until CI's
//! timeout).

use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::settings::{EsmSettings, StartingPosition};

/// How long a consumer may stay silent after a fault before it is replaced.
pub const STALLED_AFTER: Duration = Duration::from_secs(30);

/// The consumer the mapping polls.
pub type GroupConsumer = StreamConsumer<ConsumerLog>;

/// The consumer's context: librdkafka's logs, global errors and rebalances
/// into the mapping's log (the first thing to read when it stalls).
#[derive(Default)]
pub struct ConsumerLog;

impl ClientContext for ConsumerLog {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        use rdkafka::config::RDKafkaLogLevel as L;
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => tracing::error!(target: "librdkafka", fac, "{message}"),
            L::Warning => tracing::warn!(target: "librdkafka", fac, "{message}"),
            L::Notice | L::Info => tracing::info!(target: "librdkafka", fac, "{message}"),
            L::Debug => tracing::debug!(target: "librdkafka", fac, "{message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(error = %error, reason, "the mapping's consumer reported a fault");
    }
}

impl ConsumerContext for ConsumerLog {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => tracing::info!(partitions = partitions.count(), "partitions assigned"),
            Rebalance::Revoke(partitions) => {
                tracing::warn!(partitions = partitions.count(), "partitions revoked");
            }
            Rebalance::Error(e) => {
                tracing::warn!(error = %e, "rebalance failed");
            }
        }
    }
}

/// A consumer in the mapping's group, subscribed to its topic.
pub fn join_group(settings: &EsmSettings, bootstrap_servers: &str) -> anyhow::Result<GroupConsumer> {
    let reset = match settings.starting_position {
        StartingPosition::TrimHorizon => "earliest",
        StartingPosition::Latest => "latest",
    };
    let mut config = ClientConfig::new();
    // librdkafka's own debug contexts (`cgrp,fetch`...) into the log, target `librdkafka`.
    if let Ok(contexts) = std::env::var("LOCAL_KAFKA_DEBUG") {
        config.set("debug", contexts);
    }
    let consumer: GroupConsumer = config
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", &settings.consumer_group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", reset)
        .set("session.timeout.ms", "10000")
        .create_with_context(ConsumerLog)?;
    consumer.subscribe(&[&settings.topic])?;
    Ok(consumer)
}

/// How long each question to the broker may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the mapping waits for an answer from [`behind`] (three questions).
pub const ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// Whether the mapping's topic holds records past its group's committed
/// offsets (where nothing is committed, past the start the mapping's
/// starting position names), asked by a client of its own that joins no
/// group. Blocks on the broker: call it through [`off_runtime`]. An error
/// (the broker still away) is an answer too: wait.
pub fn behind(settings: &EsmSettings, bootstrap_servers: &str) -> KafkaResult<bool> {
    let earliest = matches!(settings.starting_position, StartingPosition::TrimHorizon);
    let topic = settings.topic.as_str();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", &settings.consumer_group_id)
        .set("enable.auto.commit", "false")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), ASK_TIMEOUT)?;
    let mut partitions = TopicPartitionList::new();
    for found in metadata.topics().iter().filter(|t| t.name() == topic) {
        for partition in found.partitions() {
            partitions.add_partition(topic, partition.id());
        }
    }
    let committed = consumer.committed_offsets(partitions, ASK_TIMEOUT)?;
    for element in committed.elements() {
        let (low, high) = consumer.fetch_watermarks(topic, element.partition(), ASK_TIMEOUT)?;
        let next = match element.offset() {
            Offset::Offset(offset) => offset,
            _ if earliest => low,
            _ => high,
        };
        if high > next {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Runs `work`, which may block on the broker, on a detached thread of its
/// own and waits at most `limit` for its answer (`None`: none came). The
/// thread ends when `work` does, or with the process.
pub async fn off_runtime<T: Send + 'static>(limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("esm-broker-call".to_owned())
        .spawn(move || {
            let _ = answer.send(work());
        })
        .ok()?;
    tokio::time::timeout(limit, answered).await.ok()?.ok()
}

/// Closes `consumer` (leaving its group: a broker round trip, or a wait for
/// one that never comes) on a detached thread of its own.
pub fn close_detached(consumer: GroupConsumer) {
    let spawned = std::thread::Builder::new().name("esm-consumer-close".to_owned()).spawn(move || drop(consumer));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no thread to close the replaced consumer on; it is leaked");
    }
}

/// Whether a consumer that last made progress (received a record, or
/// finished delivering a batch) at `last_progress` should be asked about:
/// [`STALLED_AFTER`] has passed since, and since it was last asked
/// (`last_asked`). Asking is cheap and answers "no" on an idle topic; no
/// fault report is required, since a wedged consumer has been seen to report
/// none.
pub fn stalled(last_progress: Instant, last_asked: Option<Instant>, now: Instant) -> bool {
    let quiet = |since: Instant| now.saturating_duration_since(since) >= STALLED_AFTER;
    quiet(last_progress) && last_asked.is_none_or(quiet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_is_asked_about_only_after_a_quiet_spell_and_not_again_within_one() {
        let start = Instant::now();
        let later = |s| start + Duration::from_secs(s);
        assert!(!stalled(start, None, later(29)), "not yet quiet for 30 s");
        assert!(stalled(start, None, later(30)), "quiet for 30 s");
        assert!(!stalled(start, Some(later(30)), later(50)), "asked 20 s ago");
        assert!(stalled(start, Some(later(30)), later(60)), "asked again after another 30 s");
        assert!(!stalled(later(45), Some(later(30)), later(60)), "progress since");
    }
}
