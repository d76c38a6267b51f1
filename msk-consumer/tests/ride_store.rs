//! The rides table through the real `aws-sdk-dynamodb` client against moto's
//! DynamoDB on loopback (the table as the template defines it): every ride
//! stored once, a redelivery leaves each item as it was, a changed ride
//! under a stored event id is told apart, copies inside a batch, and
//! throttling (a proxy refuses or cancels transactions as DynamoDB does)
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
async fn throttled_transactions_are_retried_until_every_ride_is_stored() {
    let moto = Moto::start().expect("moto (make tools)");
    let client = table(&moto, "rides-throttled").await;
    // More refusals than the SDK's own three attempts, then cancellations.
    let proxy =
        ThrottleProxy::start(&moto.endpoint(), ThrottlePlan { refuse_calls: 5, cancel_calls: 4 }).await.expect("proxy");
    let store = DynamoStore::new(dynamodb::client(&proxy.endpoint()), "rides-throttled", TTL_SECONDS);
    let batch = rides(300, 4);
    let outcomes = store.store(&batch, 5_000, deadline()).await;
    assert_eq!(
        count(&outcomes, |o| *o == Outcome::Stored),
        300,
        "{:?}",
        outcomes.iter().find(|o| **o != Outcome::Stored)
    );
    let stats = proxy.stats();
    let (refused, cancelled) = (
        stats.refused.load(std::sync::atomic::Ordering::Relaxed),
        stats.cancelled.load(std::sync::atomic::Ordering::Relaxed),
    );
    assert_eq!((refused, cancelled), (5, 4), "the faults happened");
    assert_eq!(items_by_id(&client, "rides-throttled").await.len(), 300);
}

#[tokio::test]
async fn throttled_past_the_deadline_or_a_missing_table_is_not_stored_and_says_why() {
    let moto = Moto::start().expect("moto (make tools)");
    let client = table(&moto, "rides-deadline").await;
    let proxy = ThrottleProxy::start(&moto.endpoint(), ThrottlePlan { refuse_calls: 0, cancel_calls: u64::MAX / 2 })
        .await
        .expect("proxy");
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
