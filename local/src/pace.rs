//! Which stage bounded a run's pace, from the figures a run already
//! collects: when each stage first held every ride (the progress counters),
//! the mapping's time in invocations, and the consumer's own EMF lines (its
//! time writing to the rides table).

use std::time::Duration;

/// When each stage first held every ride of a run, from the run's start.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Timeline {
    /// Every ride in Kinesis.
    pub produced: Option<Duration>,
    /// Every ride in Kafka.
    pub in_kafka: Option<Duration>,
    /// Every ride taken by the consumer.
    pub consumed: Option<Duration>,
}

impl Timeline {
    /// Notes each stage that holds `target` rides at `elapsed`.
    pub fn observe(&mut self, elapsed: Duration, target: u64, produced: u64, in_kafka: u64, consumed: u64) {
        for (at, count) in
            [(&mut self.produced, produced), (&mut self.in_kafka, in_kafka), (&mut self.consumed, consumed)]
        {
            if at.is_none() && count >= target {
                *at = Some(elapsed);
            }
        }
    }
}

/// The consumer side's time: the mapping's invocations and, inside them, the
/// function's writes to the rides table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsumerSide {
    /// Summed over every invocation.
    pub invoking: Duration,
    /// The consumer's `StoreMilliseconds`, summed.
    pub storing: Duration,
    /// Invocations the mapping may have in flight at once.
    pub concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Kinesis → Kafka: the Camel connector or the forwarder.
    Hop,
    /// The MSK mapping: batches waiting for their window or their partition
    /// while the functions it may run were idle.
    Mapping,
    /// The consumer function, its own work.
    Function,
    /// The consumer's writes to the rides table: the SDK's calls and the
    /// emulator's answers (`StoreMilliseconds` is their wall time).
    Store,
}

/// The functions busy less than this share of what the mapping's
/// concurrency allows: the mapping held the pace, not the function.
const BUSY_FOR_THE_FUNCTION: f64 = 0.5;
/// The table's share of the function's time from which it is the store that
/// bounds the pace.
const STORE_SHARE: f64 = 0.5;

/// The stage that bounded the run, and why in a sentence; `None` when a
/// stage never held every ride (the run stopped early or lost rides).
pub fn bounding_stage(timeline: &Timeline, consumer: &ConsumerSide) -> Option<(Stage, String)> {
    let (produced, in_kafka, consumed) = (timeline.produced?, timeline.in_kafka?, timeline.consumed?);
    let hop_after = in_kafka.saturating_sub(produced);
    let consumer_after = consumed.saturating_sub(in_kafka.max(produced));
    let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    let stages = format!(
        "every ride in Kinesis at {}, in Kafka at {}, consumed at {}",
        secs(produced),
        secs(in_kafka),
        secs(consumed)
    );
    if hop_after >= consumer_after {
        return Some((
            Stage::Hop,
            format!(
                "the hop ({stages}: Kafka held the last ride {} after it was put, the consumer took it {} after that)",
                secs(hop_after),
                secs(consumer_after)
            ),
        ));
    }
    let allowed = consumed.as_secs_f64() * consumer.concurrency.max(1) as f64;
    let busy = consumer.invoking.as_secs_f64() / allowed.max(f64::EPSILON);
    let percent = |share: f64| format!("{:.0} %", share * 100.0);
    if busy < BUSY_FOR_THE_FUNCTION {
        return Some((
            Stage::Mapping,
            format!(
                "the mapping ({stages}: its functions were busy {} of what {} invocations at once allow)",
                percent(busy),
                consumer.concurrency
            ),
        ));
    }
    let storing = consumer.storing.as_secs_f64() / consumer.invoking.as_secs_f64().max(f64::EPSILON);
    let (stage, what) = if storing >= STORE_SHARE {
        (Stage::Store, "the writes to the rides table")
    } else {
        (Stage::Function, "the function")
    };
    Some((
        stage,
        format!(
            "{what} ({stages}: the functions were busy {} of what {} invocations at once allow, {} of that time in the table's calls)",
            percent(busy),
            consumer.concurrency,
            percent(storing.min(1.0))
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(produced: u64, in_kafka: u64, consumed: u64) -> Timeline {
        Timeline {
            produced: Some(Duration::from_secs(produced)),
            in_kafka: Some(Duration::from_secs(in_kafka)),
            consumed: Some(Duration::from_secs(consumed)),
        }
    }

    fn side(invoking: u64, storing: u64) -> ConsumerSide {
        ConsumerSide { invoking: Duration::from_secs(invoking), storing: Duration::from_secs(storing), concurrency: 8 }
    }

    #[test]
    fn each_stage_is_noted_once_when_it_first_holds_every_ride() {
        let mut timeline = Timeline::default();
        timeline.observe(Duration::from_secs(1), 100, 50, 10, 0);
        timeline.observe(Duration::from_secs(2), 100, 100, 60, 20);
        timeline.observe(Duration::from_secs(3), 100, 100, 100, 70);
        timeline.observe(Duration::from_secs(4), 100, 101, 100, 100);
        assert_eq!(timeline, at(2, 3, 4));
    }

    #[test]
    fn kafka_later_than_the_consumer_is_the_hop() {
        let (stage, why) = bounding_stage(&at(2, 8, 10), &side(40, 30)).expect("finished");
        assert_eq!(stage, Stage::Hop);
        assert!(why.contains("6.0 s after it was put"), "{why}");
    }

    #[test]
    fn the_consumer_side_is_told_apart_by_how_busy_and_how_much_writing() {
        // 10 s at 8 at once allow 80 s of invocations.
        assert_eq!(bounding_stage(&at(2, 3, 10), &side(20, 15)).map(|b| b.0), Some(Stage::Mapping));
        assert_eq!(bounding_stage(&at(2, 3, 10), &side(60, 45)).map(|b| b.0), Some(Stage::Store));
        assert_eq!(bounding_stage(&at(2, 3, 10), &side(60, 10)).map(|b| b.0), Some(Stage::Function));
    }

    #[test]
    fn a_run_that_never_held_every_ride_names_no_stage() {
        let unfinished = Timeline { consumed: None, ..at(2, 3, 4) };
        assert_eq!(bounding_stage(&unfinished, &side(1, 1)), None);
    }
}
