//! The mapping's Kafka consumer, and what replaces it when it wedges.
//!
//! librdkafka reconnects by itself after a broker outage, but a consumer that
//! lived through one (its session timed out, its fetches timed out) has been
//! seen, intermittently, to come back with its partitions assigned and never
//! fetch again: the pipeline test that freezes Kafka for 60 s caught it once
//! in CI (the mapping polled nothing for 7 minutes while the topic held 20,000
//! records), and it is a known open report (fede1024/rust-rdkafka#597,
//! "Consumer doesn't consume after broker reconnect (sometimes)"). Lambda's
//! mapping is a managed poller that AWS replaces when it fails; the emulation
//! does the same, narrowly: a consumer that reported a fault and has received
//! nothing in [`STALLED_AFTER`] since is asked whether the topic holds records
//! past the group's committed offsets ([`behind`]: the broker must answer, so
//! a consumer is never replaced while Kafka is still away); if it does, the
//! consumer is closed and a new one joins the group from the committed offsets
//! (at-least-once: what was delivered but not yet committed comes again,
//! which the consumer's idempotent store absorbs). Both the question and the
//! close block on the broker, so both run on tokio's blocking pool, never on
//! the runtime's threads (a close on a runtime thread during the outage once
//! stalled the very timers that end it).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::settings::{EsmSettings, StartingPosition};

/// How long a consumer may stay silent after a fault before it is replaced.
pub const STALLED_AFTER: Duration = Duration::from_secs(30);

/// The consumer the mapping polls.
pub type GroupConsumer = StreamConsumer<FaultClock>;

/// Remembers when the client last reported a fault: a global error (broker
/// down, request timed out) or partitions taken away.
#[derive(Default)]
pub struct FaultClock {
    last_fault: Mutex<Option<Instant>>,
}

impl FaultClock {
    fn mark(&self) {
        *self.last_fault.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    }

    /// When the last fault was reported, if any.
    pub fn last_fault(&self) -> Option<Instant> {
        *self.last_fault.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ClientContext for FaultClock {
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
        self.mark();
    }
}

impl ConsumerContext for FaultClock {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => tracing::info!(partitions = partitions.count(), "partitions assigned"),
            Rebalance::Revoke(partitions) => {
                tracing::warn!(partitions = partitions.count(), "partitions revoked");
                self.mark();
            }
            Rebalance::Error(e) => {
                tracing::warn!(error = %e, "rebalance failed");
                self.mark();
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
        .create_with_context(FaultClock::default())?;
    consumer.subscribe(&[&settings.topic])?;
    Ok(consumer)
}

/// How long each question to the broker may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `topic` holds records past the group's committed offsets (where
/// nothing is committed, past the start `earliest` names). Blocks on the
/// broker: call it from the blocking pool. An error (the broker still away)
/// is an answer too: wait.
pub fn behind(consumer: &GroupConsumer, topic: &str, earliest: bool) -> KafkaResult<bool> {
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

/// Whether a consumer that last received a record at `last_record` and
/// last reported a fault at `last_fault` may have wedged: the fault came
/// after the last record and [`STALLED_AFTER`] has passed since, and since
/// the last time it was asked about (`last_asked`).
pub fn stalled(last_record: Instant, last_fault: Option<Instant>, last_asked: Option<Instant>, now: Instant) -> bool {
    let quiet = |since: Instant| now.saturating_duration_since(since) >= STALLED_AFTER;
    last_fault.is_some_and(|fault| fault >= last_record && quiet(fault)) && last_asked.is_none_or(quiet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_is_asked_about_only_when_silent_long_after_a_fault() {
        let start = Instant::now();
        let later = |s| start + Duration::from_secs(s);
        assert!(!stalled(start, None, None, later(600)), "no fault: an idle topic is not a stall");
        assert!(!stalled(later(10), Some(later(5)), None, later(600)), "records came after the fault");
        assert!(!stalled(start, Some(later(5)), None, later(34)), "not yet silent for 30 s after the fault");
        assert!(stalled(start, Some(later(5)), None, later(35)), "silent 30 s after a fault");
        assert!(!stalled(start, Some(later(5)), Some(later(35)), later(50)), "asked 15 s ago");
        assert!(stalled(start, Some(later(5)), Some(later(35)), later(65)), "asked again after another 30 s");
    }
}
