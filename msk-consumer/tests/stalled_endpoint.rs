//! The consumer against stalled AWS endpoints (a loopback server that
//! accepts and never answers), through the real SDK clients, HTTPS client
//! and timeouts the function uses: the rides table and the dead-letter
//! bucket both stalled, it still answers before Lambda's deadline, with
//! every record it did not store reported (partial batch response) or the
//! batch failed whole; never a ride acknowledged unstored. Throttling answers
//! at once and is covered in `ride_store.rs`.

// Starts local services (x86_64 tools): not part of the aarch64 run under qemu.
#![cfg(not(qemu_tests))]

use std::time::{Duration, Instant};

use events::msk::{ItemIdentifier, MskEvent};
use local::stalled::StalledEndpoint;
use msk_consumer::config::Config;
use msk_consumer::dead_letter::s3::S3Sink;
use msk_consumer::store::dynamodb::DynamoStore;
use msk_consumer::store::{Outcome, RideStore, RideToStore};
use msk_consumer::{handle_payload, ConsumerError, ConsumerResponse, Deps, Invocation, DEADLINE_MARGIN};

fn sample(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/samples").join(name))
        .expect("sample")
}

/// Every record of the batch that carries something (a tombstone carries no
/// ride and needs no write), as batch item identifiers, sorted.
fn every_record(payload: &str) -> Vec<ItemIdentifier> {
    let event: MskEvent<'_> = serde_json::from_str(payload).expect("event");
    let mut all: Vec<_> = event
        .iter()
        .filter(|(_, r)| r.value.is_some())
        .map(|(key, r)| ItemIdentifier { partition: key.to_owned(), offset: r.offset })
        .collect();
    all.sort();
    all
}

fn invocation(deadline: Instant) -> Invocation {
    Invocation {
        request_id: "req-stalled".into(),
        now_ms: events::samples::SAMPLE_NOW_MS + 60_000,
        deadline: Some(deadline),
    }
}

#[tokio::test]
async fn stalled_table_and_bucket_still_get_an_answer_before_the_deadline_with_every_record_reported() {
    let endpoint = StalledEndpoint::start().await.expect("listener");
    let aws = endpoint.sdk_config().await;
    // msk-poison.json: rides (for the table) and poison (for the bucket).
    let payload = sample("msk-poison.json");
    for partial in [true, false] {
        let deps = Deps {
            config: Config {
                rides_table: Some("rides".into()),
                partial_batch_response: partial,
                ..Config::with_dead_letter_dir("unused")
            },
            dead_letters: S3Sink::new(aws_sdk_s3::Client::new(&aws), "dead-letters", "dead-letters/"),
            store: Some(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), "rides", 86_400)),
        };
        let started = Instant::now();
        // What main.rs computes: Lambda's deadline less the margin.
        let lambda_deadline = started + Duration::from_secs(3);
        let answer = tokio::time::timeout(
            Duration::from_secs(30),
            handle_payload(payload.as_bytes(), &invocation(lambda_deadline - DEADLINE_MARGIN), &deps),
        )
        .await
        .expect("the consumer answered at all (before the fix it waited for Lambda to kill it)");
        let answered = Instant::now();
        assert!(answered < lambda_deadline, "answered before Lambda's deadline: {:?}", answered - started);
        match (partial, answer) {
            (true, Ok(ConsumerResponse::Partial(response))) => {
                let reported: Vec<_> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
                let expected = every_record(&payload);
                assert!(expected.len() >= 8, "rides and poison in the sample: {expected:?}");
                assert_eq!(reported, expected, "every ride and every poison record reported");
            }
            (false, Err(error @ ConsumerError::RidesNotStored { .. })) => {
                assert!(error.to_string().contains("deadline"), "{error}");
            }
            (_, other) => panic!("partial={partial}: {other:?}"),
        }
    }
    assert!(endpoint.connections() >= 2, "both clients reached the stalled endpoint");
}

/// A store that loses track: fewer outcomes than rides.
struct ForgetfulStore;

impl RideStore for ForgetfulStore {
    async fn store(&self, rides: &[RideToStore], _: i64, _: Instant) -> Vec<Outcome> {
        rides.iter().skip(1).map(|_| Outcome::Stored).collect()
    }
}

#[tokio::test]
async fn a_ride_the_store_gave_no_outcome_for_is_reported_never_acknowledged() {
    let payload = sample("msk-many-partitions.json");
    let deps = Deps {
        config: Config {
            rides_table: Some("rides".into()),
            partial_batch_response: true,
            ..Config::with_dead_letter_dir("unused")
        },
        dead_letters: msk_consumer::dead_letter::memory::MemorySink::new(),
        store: Some(ForgetfulStore),
    };
    let event = msk_consumer::parse_event(payload.as_bytes()).expect("event");
    let answer = msk_consumer::handle(&event, &invocation(Instant::now() + Duration::from_secs(5)), &deps).await;
    let Ok(ConsumerResponse::Partial(response)) = answer else { panic!("{answer:?}") };
    assert_eq!(response.batch_item_failures.len(), 1, "the ride without an outcome: {response:?}");
}
