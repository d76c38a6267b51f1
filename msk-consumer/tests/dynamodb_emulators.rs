//! The three open-source DynamoDB emulators (dynoxide, moto's server and
//! dynalite), each through the real `aws-sdk-dynamodb` with what the rides
//! table and its writer need: the table as the template defines it, TTL, a
//! conditional put that returns the stored item when it fails, and the
//! writer itself storing a batch and then finding every ride of it already
//! stored. Prints the comparison docs/consumer.md records; dynoxide (the local
//! stack's default) and moto must pass every step, and on dynalite, which
//! does not return the stored item, the writer must still tell redeliveries
//! from changed rides (it reads the item).

// Starts local services (x86_64 tools): not part of the aarch64 run under qemu.
#![cfg(not(qemu_tests))]

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use local::dynamodb::{self, Dynalite, Dynoxide};
use local::moto::Moto;
use msk_consumer::store::dynamodb::DynamoStore;
use msk_consumer::store::{item, Outcome, RideStore, RideToStore};

type Step = (&'static str, Result<(), String>);

async fn steps(endpoint: &str) -> Vec<Step> {
    let client = dynamodb::client(endpoint);
    let err = |e: aws_sdk_dynamodb::Error| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string();
    let mut out: Vec<Step> = Vec::new();
    // CreateTable and UpdateTimeToLive, as the template declares them.
    out.push((
        "CreateTable (on demand) + UpdateTimeToLive",
        dynamodb::create_rides_table(&client, "cmp").await.map_err(|e| format!("{e:#}")),
    ));
    let ride = |destination: &str| RideToStore {
        event_id: uuid::Uuid::from_u128(42),
        schema_version: 1,
        ride_timestamp: 1_700_000_000_000,
        order_id: "order-1".into(),
        customer_id: "c-1".into(),
        pickup: "sector_01".into(),
        destination: destination.into(),
        topic: "carrides".into(),
        partition: 0,
        offset: 1,
    };
    let put = |r: RideToStore| {
        client
            .put_item()
            .table_name("cmp")
            .set_item(Some(item::to_item(&r, 1, 60)))
            .condition_expression(item::ONLY_IF_NEW)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
    };
    out.push(("conditional PutItem, first write", put(ride("sector_02")).await.map(|_| ()).map_err(|e| err(e.into()))));
    let second = match put(ride("sector_03")).await {
        Ok(_) => Err("the second write under one event id was accepted".to_owned()),
        Err(e) => match e.into_service_error() {
            PutItemError::ConditionalCheckFailedException(failed) => {
                match failed.item().and_then(|i| i.get(item::DESTINATION)) {
                    Some(AttributeValue::S(d)) if d == "sector_02" => Ok(()),
                    other => Err(format!("refused, but the stored item did not come back (ALL_OLD): {other:?}")),
                }
            }
            other => Err(format!("{other}")),
        },
    };
    out.push(("second write refused with the stored item (ReturnValuesOnConditionCheckFailure)", second));
    // The writer: 200 rides stored, then all found already stored.
    let store = DynamoStore::new(client.clone(), "cmp", 60);
    let rides: Vec<RideToStore> = (0..200u128)
        .map(|i| RideToStore { event_id: uuid::Uuid::from_u128(1_000 + i), offset: i as i64, ..ride("sector_04") })
        .collect();
    let deadline = || Instant::now() + Duration::from_secs(20);
    let first = store.store(&rides, 1, deadline()).await;
    let again = store.store(&rides, 2, deadline()).await;
    let writer = if first.iter().all(|o| *o == Outcome::Stored) && again.iter().all(|o| *o == Outcome::AlreadyStored) {
        Ok(())
    } else {
        Err(format!(
            "first: {:?}; again: {:?}",
            first.iter().find(|o| **o != Outcome::Stored),
            again.iter().find(|o| **o != Outcome::AlreadyStored)
        ))
    };
    out.push(("the writer: 200 stored, then 200 already stored", writer));
    // A changed ride under a stored event id is told from the redeliveries,
    // from the item the refusal returns or, where it returns none, a read.
    let mut changed = rides.clone();
    changed[7].destination = "sector_09".into();
    let third = store.store(&changed, 3, deadline()).await;
    let conflict = match third.iter().enumerate().find(|(i, o)| (*i == 7) == matches!(o, Outcome::AlreadyStored)) {
        None if matches!(&third[7], Outcome::Conflicting { differs } if differs == &vec![item::DESTINATION]) => Ok(()),
        found => Err(format!("ride 7: {:?}; first unexpected: {found:?}", third[7])),
    };
    out.push(("the writer: a changed ride told from 199 redeliveries", conflict));
    out
}

#[tokio::test]
async fn dynoxide_and_moto_serve_every_step_of_the_rides_table_and_dynalite_is_compared() {
    let dynoxide = Dynoxide::start().expect("dynoxide");
    let moto = Moto::start().expect("moto (make tools)");
    let dynalite = Dynalite::start().expect("dynalite (make tools)");
    let results = [
        ("dynoxide 3.2.0", steps(&dynoxide.endpoint()).await),
        ("moto 5.2.5 (server)", steps(&moto.endpoint()).await),
        ("dynalite 4.0.0", steps(&dynalite.endpoint()).await),
    ];
    println!("| step | {} | {} | {} |\n|---|---|---|---|", results[0].0, results[1].0, results[2].0);
    let cell = |r: &Result<(), String>| match r {
        Ok(()) => "ok".to_owned(),
        Err(why) => format!("**fails**: {}", why.chars().take(160).collect::<String>()),
    };
    for (i, (step, _)) in results[0].1.iter().enumerate() {
        println!(
            "| {step} | {} | {} | {} |",
            cell(&results[0].1[i].1),
            cell(&results[1].1[i].1),
            cell(&results[2].1[i].1)
        );
    }
    for (emulator, steps) in &results[..2] {
        for (step, result) in steps {
            assert!(result.is_ok(), "{emulator}, {step}: {result:?}");
        }
    }
    // dynalite refuses a stored ride without returning it: the writer reads
    // it, so redeliveries and changed rides are told apart there too.
    for (step, writer) in &results[2].1[3..] {
        assert!(writer.is_ok(), "dynalite, {step}: {writer:?}");
    }
}
