//! The rides table through the real `aws-sdk-dynamodb` client against moto's
//! DynamoDB on loopback (the table as the template defines it): every ride
//! stored once, a redelivery leaves each item as it was, a changed ride
//! under a stored event id is told apart, copies inside a batch, and
//! throttling (a proxy refuses puts as DynamoDB does)
//! retried within the deadline, or reported as not stored past it.

// Starts local services (x86_64 tools): not part of the aarch64 run under qemu.
#![cfg(not(qemu_tests))]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use local::dynamodb::throttle_proxy::ThrottlePlan;
use local::dynamodb::{self, ThrottleProxy};
use local::moto::Moto;
use msk_consumer::store::dynamodb::DynamoStore;
use msk_consumer::store::{item, Outcome, RideStore, RideToStore};

const TTL_SECONDS: i64 = 30 * 86_400;

fn rides(n: usize, seed: u128) -> Vec<RideToStore> {
    (0..n)
        .map(|i| RideToStore {
            event_id: uuid::Uuid::from_u128(seed * 1_000_000 + i as u128 + 1),
            schema_version: 1,
            ride_timestamp: 1_700_000_000_000 + i as i64,
            order_id: format!("order-{}", i / 5),
            customer_id: format!("customer-{}", i % 17),
            pickup: format!("sector_{:02}", i % 20 + 1),
            destination: format!("sector_{:02}", (i + 3) % 20 + 1),
            topic: "carrides".into(),
            partition: (i % 4) as i64,
            offset: i as i64,
        })
        .collect()
}

async fn table(moto: &Moto, name: &str) -> aws_sdk_dynamodb::Client {
    let client = dynamodb::client(&moto.endpoint());
    dynamodb::create_rides_table(&client, name).await.expect("table");
    client
}

async fn items_by_id(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> HashMap<String, HashMap<String, AttributeValue>> {
    dynamodb::scan(client, name)
        .await
        .expect("scan")
        .into_iter()
        .map(|item| (item[item::EVENT_ID].as_s().expect("id").clone(), item))
        .collect()
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

fn count(outcomes: &[Outcome], want: fn(&Outcome) -> bool) -> usize {
    outcomes.iter().filter(|o| want(o)).count()
}

#[tokio::test]
async fn each_ride_is_stored_once_and_a_redelivery_changes_nothing() {
    let moto = Moto::start().expect("moto (make tools)");
    let client = table(&moto, "rides-once").await;
    let store = DynamoStore::new(client.clone(), "rides-once", TTL_SECONDS);
    let batch = rides(250, 1);

    let first = store.store(&batch, 1_000_000, deadline()).await;
    assert_eq!(count(&first, |o| *o == Outcome::Stored), 250, "{:?}", first.iter().find(|o| **o != Outcome::Stored));
    let stored = items_by_id(&client, "rides-once").await;
    assert_eq!(stored.len(), 250);
    for ride in &batch {
        let item = &stored[&ride.event_id.to_string()];
        assert_eq!(item, &item::to_item(ride, 1_000_000, TTL_SECONDS), "the item is the ride and its first delivery");
    }

    // The connector re-sends the stream: the same rides at other offsets,
    // consumed later. Every one is already stored; no item changes.
    let again: Vec<RideToStore> =
        batch.iter().map(|r| RideToStore { partition: 0, offset: r.offset + 10_000, ..r.clone() }).collect();
    let second = store.store(&again, 2_000_000, deadline()).await;
    assert_eq!(count(&second, |o| *o == Outcome::AlreadyStored), 250);
    assert_eq!(items_by_id(&client, "rides-once").await, stored, "a redelivery leaves the table as it was");
}

#[tokio::test]
async fn a_changed_ride_under_a_stored_id_and_copies_in_one_batch_are_told_apart() {
    let moto = Moto::start().expect("moto (make tools)");
    let client = table(&moto, "rides-conflict").await;
    let store = DynamoStore::new(client.clone(), "rides-conflict", TTL_SECONDS);
    let batch = rides(3, 2);
    store.store(&batch, 1_000, deadline()).await;
    let before = items_by_id(&client, "rides-conflict").await;

    let changed = RideToStore { destination: "sector_20".into(), offset: 99, ..batch[0].clone() };
    let fresh = rides(1, 3).remove(0);
    let copy_of_fresh = RideToStore { offset: fresh.offset + 1, ..fresh.clone() };
    let changed_copy_of_fresh = RideToStore { pickup: "sector_19".into(), ..fresh.clone() };
    let outcomes = store
        .store(&[changed, batch[1].clone(), fresh.clone(), copy_of_fresh, changed_copy_of_fresh], 2_000, deadline())
        .await;
    assert_eq!(
        outcomes,
        vec![
            Outcome::Conflicting { differs: vec![item::DESTINATION] },
            Outcome::AlreadyStored,
            Outcome::Stored,
            Outcome::AlreadyStored,
            Outcome::Conflicting { differs: vec![item::PICKUP] },
        ]
    );
    let after = items_by_id(&client, "rides-conflict").await;
    assert_eq!(after.len(), 4);
    for (id, item) in &before {
        assert_eq!(&after[id], item, "a stored ride is never changed");
    }
    assert_eq!(after[&fresh.event_id.to_string()], item::to_item(&fresh, 2_000, TTL_SECONDS), "the first copy won");
}

#[tokio::test]
async fn throttled_puts_are_retried_until_every_ride_is_stored() {
    let moto = Moto::start().expect("moto (make tools)");
    let client = table(&moto, "rides-throttled").await;
    // More refusals in a row than the SDK's own three attempts per put, then every fifth call.
    let proxy =
        ThrottleProxy::start(&moto.endpoint(), ThrottlePlan { first_calls: 400, every: 5 }).await.expect("proxy");
    let store = DynamoStore::new(dynamodb::client(&proxy.endpoint()), "rides-throttled", TTL_SECONDS);
    let batch = rides(300, 4);
    let outcomes = store.store(&batch, 5_000, deadline()).await;
    assert_eq!(
        count(&outcomes, |o| *o == Outcome::Stored),
        300,
        "{:?}",
        outcomes.iter().find(|o| **o != Outcome::Stored)
    );
    let throttled = proxy.stats().throttled.load(std::sync::atomic::Ordering::Relaxed);
    assert!(throttled >= 400, "the faults happened: {throttled} calls throttled");
    assert_eq!(items_by_id(&client, "rides-throttled").await.len(), 300);
}

#[tokio::test]
async fn throttled_past_the_deadline_or_a_missing_table_is_not_stored_and_says_why() {
    let moto = Moto::start().expect("moto (make tools)");
    let client = table(&moto, "rides-deadline").await;
    let proxy =
        ThrottleProxy::start(&moto.endpoint(), ThrottlePlan { first_calls: u64::MAX, every: 0 }).await.expect("proxy");
    let store = DynamoStore::new(dynamodb::client(&proxy.endpoint()), "rides-deadline", TTL_SECONDS);
    let started = Instant::now();
    let outcomes = store.store(&rides(120, 5), 1, Instant::now() + Duration::from_millis(800)).await;
    assert!(started.elapsed() < Duration::from_secs(5), "gave up at the deadline: {:?}", started.elapsed());
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::NotStored { reason } if reason.contains("deadline"))));
    assert!(items_by_id(&client, "rides-deadline").await.is_empty(), "nothing half-written");

    let missing = DynamoStore::new(client, "no-such-table", TTL_SECONDS);
    let outcomes = missing.store(&rides(2, 6), 1, deadline()).await;
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::NotStored { reason } if reason.contains("ResourceNotFound") || reason.contains("not found"))),
        "{outcomes:?}"
    );
}

// The handler with the rides table: what a batch does to the table, its
// summary, its dead letters and its answer to the mapping.

mod handler {
    use super::*;
    use base64::Engine as _;
    use msk_consumer::config::Config;
    use msk_consumer::dead_letter::memory::MemorySink;
    use msk_consumer::{handle_payload, BatchSummary, ConsumerError, ConsumerResponse, Deps, Invocation};

    fn sample(name: &str) -> String {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/samples").join(name))
            .expect("sample")
    }

    fn deps(table: &str, endpoint: &str, partial: bool) -> Deps<MemorySink> {
        let config = Config {
            rides_table: Some(table.into()),
            partial_batch_response: partial,
            ..Config::with_dead_letter_dir("unused")
        };
        let store = DynamoStore::new(dynamodb::client(endpoint), table, TTL_SECONDS);
        Deps { config, dead_letters: MemorySink::new(), store: Some(store) }
    }

    /// Each call another invocation, a millisecond after the one before, as
    /// a redelivery always is (the consumer tells its own retried writes
    /// from redeliveries by the invocation's time).
    fn invocation(deadline: Option<Instant>) -> Invocation {
        static LATER_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        let now_ms =
            events::samples::SAMPLE_NOW_MS + 60_000 + LATER_MS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Invocation { request_id: "req-store".into(), now_ms, deadline }
    }

    async fn summary(payload: &str, deps: &Deps<MemorySink>) -> BatchSummary {
        match handle_payload(payload.as_bytes(), &invocation(None), deps).await.expect("handled") {
            ConsumerResponse::Summary(summary) => *summary,
            other => panic!("expected a summary, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_batch_stores_its_rides_once_and_its_redelivery_counts_duplicates() {
        let moto = Moto::start().expect("moto (make tools)");
        let client = table(&moto, "handler-once").await;
        let deps = deps("handler-once", &moto.endpoint(), false);
        let payload = sample("msk-many-partitions.json");
        let first = summary(&payload, &deps).await;
        assert_eq!((first.rides, first.stored, first.duplicates, first.conflicting), (12, 12, 0, 0));
        let before = items_by_id(&client, "handler-once").await;
        assert_eq!(before.len(), 12);
        let again = summary(&payload, &deps).await;
        assert_eq!((again.rides, again.stored, again.duplicates), (12, 0, 12), "every redelivered ride is a duplicate");
        assert_eq!(items_by_id(&client, "handler-once").await, before);
    }

    #[tokio::test]
    async fn a_changed_ride_under_a_stored_id_is_dead_lettered_and_the_stored_one_kept() {
        let moto = Moto::start().expect("moto (make tools)");
        let client = table(&moto, "handler-conflict").await;
        let deps = deps("handler-conflict", &moto.endpoint(), false);
        let payload = sample("msk-single-record.json");
        summary(&payload, &deps).await;
        let before = items_by_id(&client, "handler-conflict").await;

        // The same event id, another destination: a producer bug.
        let mut event: serde_json::Value = serde_json::from_str(&payload).expect("json");
        let records = event["records"].as_object_mut().expect("records");
        let record = records.values_mut().next().and_then(|r| r.get_mut(0)).expect("a record");
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut ride: serde_json::Value =
            serde_json::from_slice(&b64.decode(record["value"].as_str().expect("value")).expect("base64"))
                .expect("ride");
        let other = if ride["destination"] == "sector_20" { "sector_19" } else { "sector_20" };
        ride["destination"] = other.into();
        record["value"] = b64.encode(serde_json::to_vec(&ride).expect("ride")).into();
        let changed = summary(&event.to_string(), &deps).await;
        assert_eq!((changed.stored, changed.duplicates, changed.conflicting), (0, 0, 1));
        let letters: Vec<_> = deps.dead_letters.batches().into_iter().flat_map(|b| b.letters).collect();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].reason_kind, msk_consumer::CONFLICTING_RIDE);
        assert!(letters[0].reason.contains("destination"), "{}", letters[0].reason);
        assert_eq!(items_by_id(&client, "handler-conflict").await, before, "the stored ride is kept");
    }

    #[tokio::test]
    async fn rides_not_stored_by_the_deadline_fail_the_batch_or_are_reported_exactly() {
        let moto = Moto::start().expect("moto (make tools)");
        let client = table(&moto, "handler-throttled").await;
        let proxy = ThrottleProxy::start(&moto.endpoint(), ThrottlePlan { first_calls: u64::MAX, every: 0 })
            .await
            .expect("proxy");
        let payload = sample("msk-poison.json");
        let soon = || Some(Instant::now() + Duration::from_millis(600));

        let whole = deps("handler-throttled", &proxy.endpoint(), false);
        match handle_payload(payload.as_bytes(), &invocation(soon()), &whole).await {
            Err(error @ ConsumerError::RidesNotStored { .. }) => {
                assert!(error.to_string().contains("deadline"), "{error}")
            }
            other => panic!("expected RidesNotStored, got {other:?}"),
        }
        assert!(whole.dead_letters.batches().is_empty(), "a failed batch is retried whole: nothing quarantined yet");

        let partial = deps("handler-throttled", &proxy.endpoint(), true);
        let event: events::msk::MskEvent<'_> = serde_json::from_str(&payload).expect("event");
        let now = events::samples::SAMPLE_NOW_MS + 60_000;
        let rides: Vec<events::msk::ItemIdentifier> = event
            .iter()
            .filter(|(_, r)| {
                let mut buf = Vec::new();
                matches!(
                    msk_consumer::decode::decode_record(r, &mut buf, 1 << 20, now),
                    Ok(msk_consumer::decode::Decoded::Ride(_))
                )
            })
            .map(|(key, r)| events::msk::ItemIdentifier { partition: key.to_owned(), offset: r.offset })
            .collect();
        assert!(!rides.is_empty());
        match handle_payload(payload.as_bytes(), &invocation(soon()), &partial).await.expect("answered") {
            ConsumerResponse::Partial(response) => {
                let reported: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
                let mut expected = rides.clone();
                expected.sort();
                assert_eq!(reported, expected, "exactly the rides not stored");
            }
            other => panic!("expected a partial response, got {other:?}"),
        }
        assert!(!partial.dead_letters.batches().is_empty(), "the poison is quarantined meanwhile");
        assert!(items_by_id(&client, "handler-throttled").await.is_empty());
    }
}
