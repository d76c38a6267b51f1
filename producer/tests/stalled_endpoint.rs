//! The producer against a stalled Kinesis endpoint (a loopback server that
//! accepts and never answers), through the real SDK client, HTTPS client and
//! timeouts the function uses: it answers by its deadline, with every ride
//! it did not write named. Throttling answers at once and is covered in
//! `kinesis_emulator.rs`; a stall is the case where no answer ever comes.

use std::time::{Duration, Instant};

use local::stalled::StalledEndpoint;
use producer::config::{Config, StreamTarget};
use producer::send::NO_ANSWER_BEFORE_DEADLINE;
use producer::sink::kinesis::KinesisSink;
use producer::{handle, Deps, ProducerError};

#[tokio::test]
async fn a_stalled_stream_endpoint_still_gets_an_answer_by_the_deadline_naming_every_ride() {
    let endpoint = StalledEndpoint::start().await.expect("listener");
    let sink = KinesisSink::new(
        aws_sdk_kinesis::Client::new(&endpoint.sdk_config().await),
        StreamTarget::Name("carrides".into()),
    );
    let config = Config {
        stream: StreamTarget::Name("carrides".into()),
        rides_per_schedule: 100,
        max_rides_per_invoke: 1_000,
        max_in_flight: 2,
        deadline_margin: Duration::ZERO,
    };
    let deps = Deps::new(sink, config);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(2);
    let answer =
        tokio::time::timeout(Duration::from_secs(30), handle(&serde_json::json!({"count": 750}), deadline, &deps))
            .await
            .expect("the producer answered at all (before the fix it waited for Lambda to kill it)");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(2_500), "answered by the deadline (+0.5 s): {elapsed:?}");
    let Err(ProducerError::Incomplete(output)) = answer else { panic!("the rides were not written: {answer:?}") };
    assert_eq!((output.requested, output.sent, output.failed), (750, 0, 750));
    assert!(
        output.failed_records.iter().all(|f| f.error_code == NO_ANSWER_BEFORE_DEADLINE),
        "{:?}",
        output.failed_records[0]
    );
    assert!(endpoint.connections() >= 1, "the calls reached the stalled endpoint");
}
