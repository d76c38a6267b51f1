//! The two Kinesis emulators `local` can run (kinesalite and kinesis-local),
//! each with the three clients that talk to it here: the producer's
//! `aws-sdk-kinesis`, the AWS CLI, and the connector's Java SDK (the real
//! Camel connector on Kafka Connect, CBOR on and off). It prints the
//! comparison docs/local-stack.md records, and holds each emulator to it: every one
//! serves every client with the overrides it declares
//! (`EmulatorKind::connector_overrides`), and each override it declares is
//! needed (the run without it fails), so none outlives its reason.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use events::generate::RideGenerator;
use local::kafka::connect::KafkaConnect;
use local::kafka::Broker;
use local::kinesis::{self, Emulator, EmulatorKind};
use pipeline_settings::connector::{LocalOverride, CBOR_ENABLED};

/// Kinesis's limit on one record: data and partition key, 1 MiB.
const MAX_RECORD: usize = 1024 * 1024;

struct Row {
    emulator: EmulatorKind,
    client: String,
    outcome: Result<String, String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_emulator_serves_every_client_with_the_overrides_it_declares_and_needs_them() {
    let mut rows = Vec::new();
    for kind in EmulatorKind::ALL {
        let emulator = Emulator::start(kind).expect("the Kinesis emulator (make tools)");
        rows.push(Row { emulator: kind, client: "aws-sdk-kinesis (Rust)".into(), outcome: rust_sdk(&emulator).await });
        rows.push(Row { emulator: kind, client: "AWS CLI 1.x".into(), outcome: aws_cli(&emulator) });
        for cbor in [true, false] {
            let overrides: Vec<LocalOverride> =
                if cbor { Vec::new() } else { vec![(CBOR_ENABLED, "false".into(), "measured here")] };
            let label = format!("Java SDK 2.x in the connector, CBOR {}", if cbor { "on" } else { "off" });
            let outcome = connector(&emulator, overrides).await;
            rows.push(Row { emulator: kind, client: label, outcome });
        }
    }

    println!("| emulator | client | result |\n|---|---|---|");
    for row in &rows {
        let result = match &row.outcome {
            Ok(what) => format!("ok: {what}"),
            Err(why) => format!("**fails**: {why}"),
        };
        println!("| {} | {} | {result} |", row.emulator.name(), row.client);
    }

    let outcome = |kind: EmulatorKind, client: &str| {
        rows.iter()
            .find(|r| r.emulator == kind && r.client.starts_with(client))
            .map(|r| r.outcome.clone())
            .unwrap_or_else(|| Err(format!("{client} was not tried")))
    };
    // Every emulator `LOCAL_KINESIS_EMULATOR` offers serves the producer's
    // client, the CLI, and the connector with exactly the overrides it
    // declares, and needs each of them.
    for kind in EmulatorKind::ALL {
        for client in ["aws-sdk-kinesis", "AWS CLI"] {
            assert!(outcome(kind, client).is_ok(), "{} with {client}: {:?}", kind.name(), outcome(kind, client));
        }
        let cbor_off =
            kind.connector_overrides().iter().any(|(key, value, _)| *key == CBOR_ENABLED && value == "false");
        let (declared, without) = if cbor_off { ("CBOR off", "CBOR on") } else { ("CBOR on", "CBOR off") };
        let with_declared = outcome(kind, &format!("Java SDK 2.x in the connector, {declared}"));
        assert!(with_declared.is_ok(), "{} with the overrides it declares: {with_declared:?}", kind.name());
        if cbor_off {
            assert!(
                outcome(kind, &format!("Java SDK 2.x in the connector, {without}")).is_err(),
                "{} declares CBOR off, but the connector works with CBOR on: drop the override",
                kind.name()
            );
        }
    }
}

/// The producer's client: create a stream, a full-size record and a binary
/// one, the oversize one refused, read back byte for byte in pages, a split.
async fn rust_sdk(emulator: &Emulator) -> Result<String, String> {
    let client = kinesis::client(&emulator.endpoint());
    let stream = "sdk";
    let fail = |what: &str, e: String| format!("{what}: {e}");
    kinesis::create_stream(&client, stream, 2).await.map_err(|e| fail("CreateStream", e.to_string()))?;
    let mut generator = RideGenerator::seeded(31);
    let mut records = common::rides(&mut generator, 1_500);
    records.push(("binary".into(), vec![0xff, 0xfe, 0x00, 0x80]));
    records.push(("full".into(), vec![b'f'; MAX_RECORD - "full".len()]));
    let sent: usize = records.len();
    for chunk in records.chunks(500) {
        let entries = chunk
            .iter()
            .map(|(key, data)| {
                PutRecordsRequestEntry::builder().partition_key(key).data(Blob::new(data.clone())).build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail("entry", e.to_string()))?;
        let out = client
            .put_records()
            .stream_name(stream)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|e| fail("PutRecords", aws_sdk_kinesis::error::DisplayErrorContext(e).to_string()))?;
        if out.failed_record_count() != Some(0) {
            return Err(format!("PutRecords: {:?} entries failed", out.failed_record_count()));
        }
    }
    // Kinesis counts data and key against the 1 MiB; an emulator that counts
    // only the data is noted (the producer checks the sum itself,
    // `OutboundRecord::billed_size`), one that takes more data is not Kinesis.
    let put_one =
        |data: Vec<u8>| client.put_record().stream_name(stream).partition_key("over").data(Blob::new(data)).send();
    if put_one(vec![b'o'; MAX_RECORD + 1]).await.is_ok() {
        return Err("a record of 1 MiB + 1 B of data was accepted; Kinesis refuses it".into());
    }
    let key_counted = put_one(vec![b'o'; MAX_RECORD]).await.is_err();
    let read = kinesis::read_stream(&client, stream).await.map_err(|e| fail("GetRecords", e.to_string()))?;
    let sent = sent + usize::from(!key_counted);
    let over = vec![b'o'; MAX_RECORD];
    let mut expected: std::collections::HashSet<(&str, &[u8])> =
        records.iter().map(|(k, d)| (k.as_str(), d.as_slice())).collect();
    if !key_counted {
        expected.insert(("over", over.as_slice()));
    }
    let intact = read.iter().filter(|r| expected.contains(&(r.partition_key.as_str(), r.data.as_slice()))).count();
    if read.len() != sent || intact != sent {
        return Err(format!("{sent} put, {} read back, {intact} byte for byte", read.len()));
    }
    let shard = client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| fail("ListShards", aws_sdk_kinesis::error::DisplayErrorContext(e).to_string()))?;
    let first = shard.shards().first().ok_or("ListShards: no shard")?;
    let range = first.hash_key_range().ok_or("ListShards: no hash range")?;
    let (start, end): (u128, u128) = (
        range.starting_hash_key().parse().map_err(|_| "hash key")?,
        range.ending_hash_key().parse().map_err(|_| "hash key")?,
    );
    client
        .split_shard()
        .stream_name(stream)
        .shard_to_split(first.shard_id())
        .new_starting_hash_key(((start + end) / 2).to_string())
        .send()
        .await
        .map_err(|e| fail("SplitShard", aws_sdk_kinesis::error::DisplayErrorContext(e).to_string()))?;
    kinesis::admin::wait_active(&client, stream).await.map_err(|e| fail("after SplitShard", e.to_string()))?;
    let shards = client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| fail("ListShards", aws_sdk_kinesis::error::DisplayErrorContext(e).to_string()))?;
    let children = shards.shards().iter().filter(|s| s.parent_shard_id() == Some(first.shard_id())).count();
    if children != 2 {
        return Err(format!("SplitShard: {children} children of {} listed", first.shard_id()));
    }
    let limit = if key_counted {
        "data + key over 1 MiB refused"
    } else {
        "1 MiB + 1 B of data refused, but 1 MiB of data + a 4 B key taken (it counts data only)"
    };
    Ok(format!("{sent} records (one of 1 MiB, one binary) read back byte for byte in pages; {limit}; SplitShard gives 2 children"))
}

/// The AWS CLI (the one on PyPI, in the tools venv): create, put, read back.
fn aws_cli(emulator: &Emulator) -> Result<String, String> {
    let aws = local::tools::repo_root().join(".tools/venv/bin/aws");
    let endpoint = emulator.endpoint();
    let run = |args: &[&str]| -> Result<serde_json::Value, String> {
        let out = Command::new(&aws)
            .args(["--endpoint-url", &endpoint, "--output", "json", "kinesis"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", local::LOCAL_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", local::LOCAL_SECRET_KEY)
            .env("AWS_DEFAULT_REGION", local::LOCAL_REGION)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .map_err(|e| format!("{} (make tools): {e}", aws.display()))?;
        if !out.status.success() {
            return Err(format!("aws kinesis {}: {}", args[0], String::from_utf8_lossy(&out.stderr).trim()));
        }
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("aws kinesis {}: {e}", args[0]))
    };
    run(&["create-stream", "--stream-name", "cli", "--shard-count", "1"])?;
    let started = Instant::now();
    while run(&["describe-stream-summary", "--stream-name", "cli"])?["StreamDescriptionSummary"]["StreamStatus"]
        != "ACTIVE"
    {
        if started.elapsed() > Duration::from_secs(30) {
            return Err("the stream never became ACTIVE".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // CLI 1.x sends --data's text as the record's bytes.
    let put = run(&["put-record", "--stream-name", "cli", "--partition-key", "k", "--data", "ride from the CLI"])?;
    let shard = put["ShardId"].as_str().ok_or("put-record: no ShardId")?.to_owned();
    let iterator = run(&[
        "get-shard-iterator",
        "--stream-name",
        "cli",
        "--shard-id",
        &shard,
        "--shard-iterator-type",
        "TRIM_HORIZON",
    ])?;
    let iterator = iterator["ShardIterator"].as_str().ok_or("get-shard-iterator: no iterator")?.to_owned();
    let records = run(&["get-records", "--shard-iterator", &iterator])?;
    let data = records["Records"][0]["Data"].as_str().ok_or("get-records: no record")?;
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(data).map_err(|e| format!("get-records: {e}"))?;
    if bytes != b"ride from the CLI" {
        return Err(format!("get-records returned {:?}", String::from_utf8_lossy(&bytes)));
    }
    Ok("create-stream, put-record, get-shard-iterator, get-records".into())
}

/// The real connector (the template's properties, the endpoint, `overrides`)
/// reading 2,000 rides, a binary record and a 900 KiB one from 2 shards.
async fn connector(emulator: &Emulator, overrides: Vec<LocalOverride>) -> Result<String, String> {
    let cbor = if overrides.iter().any(|(k, _, _)| *k == CBOR_ENABLED) { "off" } else { "on" };
    let name = format!("{}-cbor-{cbor}", emulator.kind().name());
    let scratch = local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), &format!("emulators-{name}"))
        .map_err(|e| e.to_string())?;
    let dir = scratch.path().to_path_buf();
    let client = kinesis::client(&emulator.endpoint());
    let stream = format!("java-cbor-{cbor}");
    kinesis::create_stream(&client, &stream, 2).await.map_err(|e| e.to_string())?;
    let broker = Broker::apache_kafka(&dir).map_err(|e| format!("Apache Kafka (make tools): {e}"))?;
    broker.create_topic(&stream, 4).await.map_err(|e| e.to_string())?;
    let connect = KafkaConnect::start(
        &dir.join("connect"),
        &broker.bootstrap_servers(),
        &emulator.endpoint(),
        overrides,
        &stream,
        &stream,
    )
    .await
    .map_err(|e| format!("the connector did not start: {e}"))?;
    let mut generator = RideGenerator::seeded(32);
    let mut records = common::rides(&mut generator, 2_000);
    records.push(("binary".into(), vec![0xff, 0xfe, 0x00, 0x80, 0x41]));
    records.push(("large".into(), vec![b'x'; 900 * 1024]));
    common::put(&client, &stream, records).await;
    let stored = kinesis::read_stream(&client, &stream).await.map_err(|e| e.to_string())?;
    let delivered = common::read_topic(&broker, &stream, stored.len(), Duration::from_secs(60));
    let (intact, missing, altered) = common::count_intact(&stored, &delivered);
    if intact == stored.len() {
        return Ok(format!("{intact} records byte for byte"));
    }
    // The first exception the worker logged, from its class name on.
    let first_error = std::fs::read_to_string(connect.log())
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let at = line.find("Exception: ")?;
            let from = line[..at].rfind([' ', '(', '[']).map_or(0, |i| i + 1);
            Some(line[from..].chars().take(220).collect::<String>())
        })
        .unwrap_or_default();
    Err(format!("{intact} of {} intact, {missing} missing, {altered} altered; {first_error}", stored.len()))
}
