//! Every sample in `events/samples/` through the handler, every poison kind
//! quarantined with the batch succeeding, and the two ways a dead-letter
//! failure is surfaced (invocation error, or partial batch response).

use std::path::Path;

use base64::Engine as _;
use events::msk::{BatchResponse, ItemIdentifier, KafkaMessage, MskEvent};
use events::samples::{self, SAMPLE_NOW_MS};
use msk_consumer::config::Config;
use msk_consumer::dead_letter::memory::MemorySink;
use msk_consumer::{handle, handle_payload, BatchSummary, ConsumerError, ConsumerResponse, Deps, Invocation};

fn deps(partial: bool, max_record_bytes: usize) -> Deps<MemorySink> {
    let config = Config { max_record_bytes, partial_batch_response: partial, ..Config::with_dead_letter_dir("unused") };
    Deps { config, dead_letters: MemorySink::new(), store: None }
}

fn invocation() -> Invocation {
    Invocation { request_id: "req-1".into(), now_ms: SAMPLE_NOW_MS + 60_000, deadline: None }
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/samples").join(name)).expect("sample")
}

async fn summary_of(payload: &str, deps: &Deps<MemorySink>) -> BatchSummary {
    match handle_payload(payload.as_bytes(), &invocation(), deps).await.expect("handled") {
        ConsumerResponse::Summary(summary) => *summary,
        other => panic!("expected a summary, got {other:?}"),
    }
}

#[tokio::test]
async fn every_sample_decodes() {
    let deps = deps(false, 1 << 20);
    let cases = [
        ("msk-single-record.json", 1, 0, 0, 1),
        ("msk-many-partitions.json", 12, 0, 0, 3),
        ("msk-headers.json", 4, 0, 0, 1),
        ("msk-legacy-seed.json", 2, 0, 0, 1),
        ("msk-poison.json", 3, 5, 1, 1),
    ];
    for (name, rides, poison, tombstones, partitions) in cases {
        let s = summary_of(&sample(name), &deps).await;
        assert_eq!(
            (s.rides, s.poison, s.tombstones, s.partitions.len()),
            (rides, poison, tombstones, partitions),
            "{name}"
        );
        assert_eq!(s.records, rides + poison + tombstones, "{name}");
        assert_eq!(s.rides_per_pickup.values().sum::<u32>() as usize, rides, "{name}");
        assert_eq!(s.latency_ms.is_some(), rides > 0, "{name}");
    }
    let legacy = summary_of(&sample("msk-legacy-seed.json"), &deps).await;
    assert_eq!(legacy.legacy_rides, 2);
}

#[tokio::test]
async fn every_poison_kind_is_quarantined_and_the_batch_succeeds() {
    let deps = deps(false, 1 << 20);
    let s = summary_of(&sample("msk-poison.json"), &deps).await;
    let kinds: Vec<_> = s.poison_by_kind.keys().copied().collect();
    assert_eq!(kinds, ["bad_base64", "failed_validation", "invalid_json", "not_utf8", "unknown_schema_version"]);
    let batches = deps.dead_letters.batches();
    assert_eq!(batches.len(), 1);
    let letters = &batches[0].letters;
    assert_eq!(letters.iter().map(|l| l.offset).collect::<Vec<_>>(), [201, 202, 203, 204, 207]);
    assert_eq!(batches[0].object_name(), "carrides-2/00000000000000000201-00000000000000000207.jsonl");
    // The letter keeps the value exactly as received, even broken base64.
    let broken = letters.iter().find(|l| l.reason_kind == "bad_base64").expect("bad base64 letter");
    assert_eq!(broken.value.as_deref(), Some("eyJub3QiOiJiYXNlNjQi*fQ=="));
    assert!(
        broken.reason.starts_with("record 7 of partition carrides-2 (offset 207): value is not valid base64"),
        "{}",
        broken.reason
    );
    assert!(letters.iter().all(|l| l.request_id == "req-1" && l.topic == "carrides" && l.partition == 2));
    // Each letter says where its record is in Kinesis (from the Camel headers).
    let kinesis = broken.kinesis.as_ref().expect("kinesis coordinates");
    assert_eq!(kinesis.shard_id.as_deref(), Some("shardId-000000000002"));
    assert_eq!(kinesis.sequence_number.as_deref(), Some(format!("4963{:0>52}", 207 * 7 + 2).as_str()));
    assert_eq!((kinesis.partition_key.as_deref(), kinesis.arrival_ms), (Some("poison"), None));
    assert_eq!(s.dead_letters, ["memory://carrides-2/00000000000000000201-00000000000000000207.jsonl"]);
}

fn message(offset: i64, value: Vec<u8>) -> KafkaMessage {
    samples::camel_message(0, offset, value, "k", 0)
}

#[tokio::test]
async fn oversized_and_wrongly_shaped_records_are_poison_too() {
    let deps = deps(false, 300);
    let ride = events::generate::RideGenerator::seeded(3).ride(SAMPLE_NOW_MS);
    let good = events::encode(&ride).data;
    let mut shaped: serde_json::Value = serde_json::from_slice(&good).expect("json");
    shaped["pickup"] = serde_json::json!(7);
    let mut event = MskEvent::new("aws:kafka", "arn", "b:9098");
    event.push(message(1, good.clone()).to_msk_record());
    event.push(message(2, vec![b'x'; 301]).to_msk_record());
    event.push(message(3, serde_json::to_vec(&shaped).expect("json")).to_msk_record());
    let ConsumerResponse::Summary(s) = handle(&event, &invocation(), &deps).await.expect("ok") else { panic!() };
    assert_eq!(s.rides, 1);
    assert_eq!(s.poison_by_kind.into_iter().collect::<Vec<_>>(), [("bad_shape", 1), ("oversized", 1)]);
}

#[tokio::test]
async fn duplicates_within_a_batch_are_counted() {
    let deps = deps(false, 1 << 20);
    let value = events::encode(&events::generate::RideGenerator::seeded(4).ride(SAMPLE_NOW_MS)).data;
    let mut event = MskEvent::new("aws:kafka", "arn", "b:9098");
    for offset in 0..3 {
        event.push(message(offset, value.clone()).to_msk_record());
    }
    let ConsumerResponse::Summary(s) = handle(&event, &invocation(), &deps).await.expect("ok") else { panic!() };
    assert_eq!((s.rides, s.duplicates), (3, 2));
}

#[tokio::test]
async fn an_unreachable_dead_letter_sink_fails_the_invocation_so_the_batch_is_retried() {
    let deps = deps(false, 1 << 20);
    deps.dead_letters.set_failing(true);
    let err = handle_payload(sample("msk-poison.json").as_bytes(), &invocation(), &deps).await.expect_err("must fail");
    assert!(matches!(err, ConsumerError::DeadLetters(_)), "{err}");
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "DeadLetterSinkUnavailable");
    // Once the sink is back, the retried batch quarantines everything.
    deps.dead_letters.set_failing(false);
    let s = summary_of(&sample("msk-poison.json"), &deps).await;
    assert_eq!((s.poison, deps.dead_letters.batches().len()), (5, 1));
}

#[tokio::test]
async fn with_partial_batch_responses_only_unquarantined_records_are_reported() {
    let deps = deps(true, 1 << 20);
    let ok = handle_payload(sample("msk-poison.json").as_bytes(), &invocation(), &deps).await.expect("ok");
    assert_eq!(ok, ConsumerResponse::Partial(BatchResponse::default()));
    assert_eq!(serde_json::to_string(&ok).expect("json"), r#"{"batchItemFailures":[]}"#);

    deps.dead_letters.set_failing(true);
    let partial = handle_payload(sample("msk-poison.json").as_bytes(), &invocation(), &deps)
        .await
        .expect("partial, not an error");
    let expected = [201, 202, 203, 204, 207].map(|offset| ItemIdentifier { partition: "carrides-2".into(), offset });
    assert_eq!(partial, ConsumerResponse::Partial(BatchResponse::failing(expected)));
}

#[tokio::test]
async fn a_payload_that_is_not_an_msk_event_is_a_clear_error() {
    let deps = deps(false, 1 << 20);
    let err =
        handle_payload(br#"{"records": {"t-0": [{"offset": "x"}]}}"#, &invocation(), &deps).await.expect_err("bad");
    assert!(err.to_string().starts_with("the payload is not an MSK event: "), "{err}");
    let b64 = base64::engine::general_purpose::STANDARD.encode(b"{}");
    let ok = format!(r#"{{"records": {{"t-0": [{{"partition": 0, "offset": 1, "value": "{b64}"}}]}}}}"#);
    assert_eq!(summary_of(&ok, &deps).await.poison, 1, "a bare record without headers or timestamp is accepted");
}

/// A trigger wired to the wrong function: the event is refused with what
/// arrived, not answered as a successful empty batch.
#[tokio::test]
async fn events_of_other_sources_are_refused_with_what_arrived() {
    let deps = deps(false, 1 << 20);
    let sqs = r#"{"Records":[{"messageId":"1","receiptHandle":"r","body":"{}","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:q","awsRegion":"us-east-1"}]}"#;
    let kinesis = r#"{"Records":[{"kinesis":{"partitionKey":"k","data":"e30=","sequenceNumber":"1"},"eventSource":"aws:kinesis","eventSourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s"}]}"#;
    let wrong_source = r#"{"eventSource":"aws:sqs","records":{}}"#;
    let cases = [
        (sqs, "it has `Records` (the shape of SQS, SNS, S3 and Kinesis events) and no `records`"),
        (kinesis, "it has `Records`"),
        (r#"{"hello":"world"}"#, "it has no `records`"),
        (wrong_source, "eventSource is \"aws:sqs\", not \"aws:kafka\" or \"SelfManagedKafka\""),
    ];
    for (payload, expected) in cases {
        match handle_payload(payload.as_bytes(), &invocation(), &deps).await {
            Err(error @ ConsumerError::NotAnMskEvent(_)) => {
                assert!(error.to_string().contains(expected), "{payload}: {error}");
            }
            other => panic!("{payload}: expected NotAnMskEvent, got {other:?}"),
        }
    }
    // What Lambda sends for an MSK or self-managed Kafka mapping still passes,
    // an empty batch included.
    for payload in [r#"{"eventSource":"aws:kafka","records":{}}"#, r#"{"eventSource":"SelfManagedKafka","records":{}}"#]
    {
        assert_eq!(summary_of(payload, &deps).await.records, 0);
    }
}

/// The directory sink names files from the payload's records key: a topic
/// with `../` or `/` in it stays inside the sink's root.
#[tokio::test]
async fn a_records_key_cannot_escape_the_dead_letter_directory() {
    use msk_consumer::dead_letter::dir::DirSink;
    let scratch = tempfile::tempdir().expect("scratch");
    let root = scratch.path();
    let sink_root = root.join("sink");
    std::fs::create_dir_all(&sink_root).expect("root");
    let config = Config::with_dead_letter_dir(sink_root.display().to_string());
    let deps = Deps { config, dead_letters: DirSink::new(&sink_root), store: None };
    for key in ["../../escaped-0", "a/b/../../../escaped-1", "..-2", "/abs/escaped-3"] {
        let (topic, partition) = key.rsplit_once('-').expect("key");
        let payload = format!(
            r#"{{"eventSource":"aws:kafka","records":{{"{key}":[{{"topic":"{topic}","partition":{partition},"offset":7,"timestamp":1,"value":"bm90IGEgcmlkZQ=="}}]}}}}"#
        );
        let summary = match handle_payload(payload.as_bytes(), &invocation(), &deps).await.expect("handled") {
            ConsumerResponse::Summary(summary) => summary,
            other => panic!("{other:?}"),
        };
        assert_eq!(summary.poison, 1, "{key}");
    }
    let mut inside = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                inside.push(path);
            }
        }
    }
    assert_eq!(inside.len(), 4, "{inside:?}");
    assert!(inside.iter().all(|p| p.starts_with(&sink_root)), "{inside:?}");
}
