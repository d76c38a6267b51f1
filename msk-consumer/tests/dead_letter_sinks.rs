//! Both dead-letter adapters store the same objects: the directory sink the
//! local stack uses, and the S3 sink used in AWS, here against moto's S3 on
//! loopback through the real `aws-sdk-s3` client.

// Starts local services (x86_64 tools): not part of the aarch64 run under qemu.
#![cfg(not(qemu_tests))]

use msk_consumer::config::Config;
use msk_consumer::dead_letter::dir::DirSink;
use msk_consumer::dead_letter::s3::S3Sink;
use msk_consumer::dead_letter::{DeadLetterBatch, DeadLetterSink};
use msk_consumer::{process_batch, Invocation};

/// The poison sample's quarantine, as the handler builds it.
fn poison_batch() -> DeadLetterBatch<'static> {
    let payload = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/samples/msk-poison.json"))
        .expect("sample");
    let event = serde_json::from_str(&payload).expect("event");
    let config = Config::with_dead_letter_dir("unused");
    let invocation =
        Invocation { request_id: "req-9".into(), now_ms: events::samples::SAMPLE_NOW_MS + 1_000, deadline: None };
    let (_, mut quarantine, _) = process_batch(&event, &invocation, &config);
    quarantine.pop().expect("one partition of poison").to_static()
}

fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("JSON line"))
        .collect()
}

#[tokio::test]
async fn the_directory_sink_writes_one_jsonl_file_per_partition_and_rewrites_it_on_retry() {
    let scratch = local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), "dlq-test").expect("scratch");
    let dir = scratch.path();
    let sink = DirSink::new(dir);
    let batch = poison_batch();
    let location = sink.put(&batch).await.expect("stored");
    sink.put(&batch).await.expect("stored again (a retried batch)");
    let stored = std::fs::read(&location).expect("file");
    let letters = lines(&stored);
    assert_eq!(letters.len(), 5, "a retry rewrites, it does not append");
    assert_eq!(letters[0]["reasonKind"], "not_utf8");
    assert_eq!(letters[0]["headers"][0]["name"], "CamelHeader.CamelAwsKinesisPartitionKey");
}

#[tokio::test]
async fn an_unwritable_directory_is_a_sink_failure() {
    let sink = DirSink::new("/proc/no-such-place");
    let err = sink.put(&poison_batch()).await.expect_err("cannot write");
    assert!(err.to_string().starts_with("dead-letter sink /proc/no-such-place failed for carrides-2: "), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_sink_stores_the_same_object_in_a_bucket() {
    let moto = local::moto::Moto::start().expect("moto");
    let config =
        aws_sdk_s3::config::Builder::from(&local::loopback_sdk_config(&moto.endpoint())).force_path_style(true).build();
    let client = aws_sdk_s3::Client::from_conf(config);
    client.create_bucket().bucket("carrides-dlq").send().await.expect("bucket");
    let sink = S3Sink::new(client.clone(), "carrides-dlq", "dead-letters/");
    let batch = poison_batch();
    let location = sink.put(&batch).await.expect("stored");
    let key = format!("dead-letters/{}", batch.object_name());
    assert_eq!(location, format!("s3://carrides-dlq/{key}"));
    let object = client.get_object().bucket("carrides-dlq").key(&key).send().await.expect("object");
    let body = object.body.collect().await.expect("body").into_bytes();
    assert_eq!(body.as_ref(), batch.to_jsonl().as_slice());

    let missing = S3Sink::new(client, "no-such-bucket", "x/");
    let err = missing.put(&batch).await.expect_err("no bucket");
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
}
