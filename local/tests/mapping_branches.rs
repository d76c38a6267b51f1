//! The branches AWS documents for a Kafka event source mapping with the
//! template's settings ("Configuring error handling controls for Kafka event
//! sources"), driven through the local poller on Apache Kafka against a
//! function that fails on purpose (a scripted Invoke API on loopback):
//! - a function error splits the batch (BisectBatchOnFunctionError) until
//!   the failing record is alone; its retries exhausted, it goes to the
//!   on-failure destination and every other record is delivered;
//! - `batchItemFailures` resumes each reported partition from its lowest
//!   reported offset, and only that partition;
//! - with no destination, exhausted records are skipped and the mapping
//!   moves on;
//! - throttling (a service error) is retried without spending retries.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use local::esm::{EsmPoller, EsmStats, FunctionInvoker};
use local::kafka::apache::ApacheKafka;
use local::kafka::Broker;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::Value;

type Record = (i32, i64);

/// What the scripted function answers for one batch of (partition, offset).
type Script = dyn Fn(&[Record], usize) -> Answer + Send + Sync;

enum Answer {
    Ok,
    /// A function error (`X-Amz-Function-Error: Unhandled`).
    Error,
    /// `{"batchItemFailures": [...]}` naming these records.
    Failures(Vec<Record>),
    /// HTTP 429 `TooManyRequestsException`: the function was not run.
    Throttled,
    /// Success after running this long.
    OkAfter(Duration),
}

/// Every batch the function was invoked with, in order.
type Seen = Arc<Mutex<Vec<Vec<Record>>>>;

/// A Lambda Invoke API on loopback that runs `script` on each batch.
async fn scripted_function(topic: &'static str, script: Arc<Script>) -> (String, Seen) {
    scripted_function_on(0, topic, script).await
}

/// [`scripted_function`] on `port` (0: any free port).
async fn scripted_function_on(port: u16, topic: &'static str, script: Arc<Script>) -> (String, Seen) {
    let (endpoint, seen, _) = serve(port, topic, script).await;
    (endpoint, seen)
}

/// Invocations in flight: now, and the most at once.
#[derive(Default)]
struct InFlight {
    now: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

/// [`scripted_function`], also counting the invocations in flight.
async fn serve(port: u16, topic: &'static str, script: Arc<Script>) -> (String, Seen, Arc<InFlight>) {
    let in_flight = Arc::new(InFlight::default());
    let counter = in_flight.clone();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (log, script, counter) = (log.clone(), script.clone(), counter.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (log, script, counter) = (log.clone(), script.clone(), counter.clone());
                    async move {
                        let now = counter.now.fetch_add(1, Ordering::SeqCst) + 1;
                        counter.peak.fetch_max(now, Ordering::SeqCst);
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let event: Value = serde_json::from_slice(&body).unwrap_or_default();
                        let mut batch: Vec<Record> = Vec::new();
                        for records in event["records"].as_object().into_iter().flat_map(|m| m.values()) {
                            for r in records.as_array().into_iter().flatten() {
                                batch.push((
                                    r["partition"].as_i64().unwrap_or(-1) as i32,
                                    r["offset"].as_i64().unwrap_or(-1),
                                ));
                            }
                        }
                        let attempt = {
                            let mut log = log.lock().expect("lock");
                            log.push(batch.clone());
                            log.iter().filter(|b| **b == batch).count()
                        };
                        let mut response = hyper::Response::builder().status(200);
                        let answer = match script(&batch, attempt) {
                            Answer::Ok => "{}".to_owned(),
                            Answer::Error => {
                                response = response.header("X-Amz-Function-Error", "Unhandled");
                                r#"{"errorType":"Scripted","errorMessage":"failing on purpose"}"#.to_owned()
                            }
                            Answer::Throttled => {
                                response = response.status(429).header("X-Amzn-ErrorType", "TooManyRequestsException");
                                r#"{"Type":"User","message":"Rate Exceeded."}"#.to_owned()
                            }
                            Answer::OkAfter(pause) => {
                                tokio::time::sleep(pause).await;
                                "{}".to_owned()
                            }
                            Answer::Failures(records) => serde_json::json!({"batchItemFailures": records.iter().map(|(p, o)|
                                serde_json::json!({"itemIdentifier": {"partition": format!("{topic}-{p}"), "offset": o}})).collect::<Vec<_>>()})
                            .to_string(),
                        };
                        counter.now.fetch_sub(1, Ordering::SeqCst);
                        Ok::<_, std::convert::Infallible>(
                            response.body(Full::new(Bytes::from(answer))).expect("response"),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (endpoint, seen, in_flight)
}

/// A fresh on-failure destination for `topic`'s test (not made until the
/// mapping writes there), in the scratch directory that holds it.
fn empty_destination(topic: &str) -> (local::scratch::Scratch, std::path::PathBuf) {
    let scratch =
        local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), &format!("on-failure-{topic}")).expect("scratch");
    let destination = scratch.path().join("on-failure");
    (scratch, destination)
}

/// A function that errors on every batch holding `poison` and succeeds otherwise.
fn failing_on(poison: Record) -> Arc<Script> {
    Arc::new(move |batch, _| if batch.contains(&poison) { Answer::Error } else { Answer::Ok })
}

fn kafka() -> &'static ApacheKafka {
    static KAFKA: std::sync::OnceLock<ApacheKafka> = std::sync::OnceLock::new();
    KAFKA.get_or_init(|| {
        let dir = local::scratch::shared(env!("CARGO_TARGET_TMPDIR"), "mapping-branches-kafka").expect("dir");
        ApacheKafka::start(&dir).expect("Apache Kafka (make tools)")
    })
}

/// A fresh topic with `per_partition` records in each of `partitions`.
async fn topic_with_records(topic: &str, partitions: i32, per_partition: i64) {
    let broker = Broker::External(kafka().bootstrap_servers());
    broker.create_topic(topic, partitions).await.expect("topic");
    let producer: FutureProducer =
        ClientConfig::new().set("bootstrap.servers", kafka().bootstrap_servers()).create().expect("producer");
    for partition in 0..partitions {
        for i in 0..per_partition {
            let value = format!("record {partition}-{i}");
            producer
                .send(FutureRecord::<(), _>::to(topic).partition(partition).payload(&value), Duration::from_secs(10))
                .await
                .expect("produced");
        }
    }
}

/// The template's mapping settings (pipeline_settings::mapping), on `topic`, with small
/// batches so a test sees several.
fn settings(topic: &str, on_failure: Option<std::path::PathBuf>) -> local::esm::EsmSettings {
    let mut options = local::stack::StackOptions::new(std::env::temp_dir());
    options.topic = topic.to_owned();
    let mut settings = local::stack::esm_settings(&options);
    settings.consumer_group_id = format!("{topic}-group");
    settings.batch_size = 8;
    settings.maximum_batching_window = Duration::from_millis(200);
    settings.on_failure = on_failure;
    settings
}

/// Runs the poller until every record of `expected` was delivered in a batch
/// that succeeded (or `timeout`), then stops it.
async fn run_until(
    settings: local::esm::EsmSettings,
    endpoint: &str,
    done: impl Fn(&EsmStats) -> bool,
    timeout: Duration,
) -> Arc<EsmStats> {
    let stats = Arc::new(EsmStats::default());
    let invoker = FunctionInvoker::with_timeout(endpoint, "msk-consumer", Duration::from_secs(10));
    let poller = EsmPoller::new(settings, &kafka().bootstrap_servers(), invoker, stats.clone()).expect("poller");
    let task = tokio::spawn(poller.run());
    let deadline = Instant::now() + timeout;
    while !done(&stats) && Instant::now() < deadline && !task.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!task.is_finished(), "the poller keeps running: {:?}", task.await);
    task.abort();
    stats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_error_bisects_to_the_record_and_only_it_goes_to_the_destination() {
    let topic = "branches-bisect";
    topic_with_records(topic, 1, 16).await;
    let poison: Record = (0, 5);
    let (endpoint, seen) = scripted_function(topic, failing_on(poison)).await;
    let (_scratch, destination) = empty_destination(topic);
    let stats = run_until(
        settings(topic, Some(destination.clone())),
        &endpoint,
        |s| s.records_delivered.load(Ordering::Relaxed) >= 15 && s.records_discarded.load(Ordering::Relaxed) >= 1,
        Duration::from_secs(90),
    )
    .await;

    let seen = seen.lock().expect("lock").clone();
    assert!(stats.bisections.load(Ordering::Relaxed) >= 3, "an 8-record batch halves three times: {stats:?}");
    // The failing record alone: the first attempt and MaximumRetryAttempts (10) retries.
    let alone = seen.iter().filter(|b| b.as_slice() == [poison]).count();
    assert_eq!(alone, 11, "{seen:?}");
    let delivered: BTreeSet<Record> =
        seen.iter().filter(|b| !b.contains(&poison)).flat_map(|b| b.iter().copied()).collect();
    assert_eq!(delivered, (0..16).filter(|&o| o != 5).map(|o| (0, o)).collect(), "every other record delivered");
    // One object, holding AWS's invocation record for Kafka (kafka-on-failure).
    let objects: Vec<_> = std::fs::read_dir(&destination).expect("on-failure destination").flatten().collect();
    assert_eq!(objects.len(), 1, "{objects:?}");
    let text = std::fs::read_to_string(objects[0].path()).expect("object");
    let record: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(record["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 11);
    assert_eq!(record["requestContext"]["functionArn"], "arn:aws:lambda:us-east-1:000000000000:function:msk-consumer");
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(record["version"], "1.0");
    let info = &record["KafkaBatchInfo"];
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["bootstrapServers"], kafka().bootstrap_servers().as_str());
    let span = &info["recordsInfo"][format!("{topic}-0")];
    assert_eq!((span["firstRecordOffset"].as_str(), span["lastRecordOffset"].as_str()), (Some("5"), Some("5")));
    // `payload` is the whole invocation event, as a JSON string.
    let payload: Value = serde_json::from_str(record["payload"].as_str().expect("payload string")).expect("event");
    assert_eq!(info["payloadSize"], record["payload"].as_str().map(str::len).expect("len"));
    assert_eq!(payload["eventSource"], "aws:kafka");
    assert_eq!(payload["records"][format!("{topic}-0")][0]["offset"], 5);
    let typed: events::on_failure::InvocationRecord = serde_json::from_str(&text).expect("the contract reads it");
    assert_eq!(typed.event().expect("payload").expect("an MSK event").record_count(), 1);
}

/// An Invoke API nobody listens on (the function host down) refuses the
/// connection: a service error, retried until the host is back, however
/// long that takes, without spending retries; nothing is discarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_invoke_api_is_waited_for_not_counted_as_function_errors() {
    let topic = "branches-unreachable";
    topic_with_records(topic, 1, 3).await;
    // A port that refuses connections until the function starts on it.
    let port = local::process::free_port().expect("port");
    let (_scratch, destination) = empty_destination(topic);
    let stats = Arc::new(EsmStats::default());
    let endpoint = format!("http://127.0.0.1:{port}");
    let invoker = FunctionInvoker::with_timeout(&endpoint, "msk-consumer", Duration::from_secs(10));
    let poller = EsmPoller::new(
        settings(topic, Some(destination.clone())),
        &kafka().bootstrap_servers(),
        invoker,
        stats.clone(),
    )
    .expect("poller");
    let task = tokio::spawn(poller.run());
    let deadline = Instant::now() + Duration::from_secs(60);
    // Longer than ten retries' backoff (100 ms × attempt, 5.5 s in all).
    while stats.service_errors.load(Ordering::Relaxed) < 12 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, seen) = scripted_function_on(port, topic, Arc::new(|_, _| Answer::Ok)).await;
    while stats.records_delivered.load(Ordering::Relaxed) < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    task.abort();
    assert_eq!(stats.records_delivered.load(Ordering::Relaxed), 3, "{stats:?}");
    assert!(stats.service_errors.load(Ordering::Relaxed) >= 12, "{stats:?}");
    assert_eq!(stats.failed_invocations.load(Ordering::Relaxed), 0, "{stats:?}");
    assert_eq!(stats.records_discarded.load(Ordering::Relaxed), 0, "{stats:?}");
    assert!(!destination.exists(), "nothing went to the on-failure destination");
    assert_eq!(seen.lock().expect("lock").len(), 1, "one invocation reached the function, whole");
}

/// Throttling and an unreachable Invoke API are not function errors: AWS
/// retries them until the records expire (the template sets no maximum
/// age), without counting retries or bisecting. Here the function is
/// throttled (HTTP 429) 12 times, more than MaximumRetryAttempts (10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_without_spending_retries_or_bisecting() {
    let topic = "branches-throttled";
    topic_with_records(topic, 1, 4).await;
    let throttled = std::sync::atomic::AtomicUsize::new(0);
    let script: Arc<Script> =
        Arc::new(
            move |_, _| {
                if throttled.fetch_add(1, Ordering::Relaxed) < 12 {
                    Answer::Throttled
                } else {
                    Answer::Ok
                }
            },
        );
    let (endpoint, seen) = scripted_function(topic, script).await;
    let (_scratch, destination) = empty_destination(topic);
    let stats = run_until(
        settings(topic, Some(destination.clone())),
        &endpoint,
        |s| s.records_delivered.load(Ordering::Relaxed) >= 4,
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(stats.records_delivered.load(Ordering::Relaxed), 4, "{stats:?}");
    assert_eq!(stats.service_errors.load(Ordering::Relaxed), 12, "{stats:?}");
    assert_eq!(stats.failed_invocations.load(Ordering::Relaxed), 0, "throttles are not function errors");
    assert_eq!(stats.bisections.load(Ordering::Relaxed), 0);
    assert_eq!(stats.records_discarded.load(Ordering::Relaxed), 0);
    assert!(!destination.exists(), "nothing went to the on-failure destination");
    let seen = seen.lock().expect("lock").clone();
    assert!(seen.iter().all(|b| b.len() == seen[0].len()), "the same batch each time, never split: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_item_failures_resume_each_partition_from_its_lowest_reported_offset() {
    let topic = "branches-partial";
    topic_with_records(topic, 2, 8).await;
    // Offsets 3 and 6 of partition 0 are reported failed the first time the
    // function sees them; partition 1 always succeeds.
    let reported_once: Mutex<BTreeSet<Record>> = Mutex::default();
    let script: Arc<Script> = Arc::new(move |batch, _| {
        let mut reported = reported_once.lock().expect("lock");
        let failed: Vec<Record> =
            batch.iter().copied().filter(|r| (*r == (0, 3) || *r == (0, 6)) && reported.insert(*r)).collect();
        if failed.is_empty() {
            Answer::Ok
        } else {
            Answer::Failures(failed)
        }
    });
    let (endpoint, seen) = scripted_function(topic, script).await;
    let stats = run_until(
        settings(topic, None),
        &endpoint,
        |s| s.records_delivered.load(Ordering::Relaxed) >= 16,
        Duration::from_secs(60),
    )
    .await;
    let seen = seen.lock().expect("lock").clone();
    // Partition 0's batch after the one that reported (0,3) and (0,6): from
    // offset 3 on (partition 1's batches run beside it, in their own lane),
    // and nothing of partition 1 again.
    let reported = seen.iter().position(|b| b.contains(&(0, 3))).expect("offset 3 was sent");
    let retry = seen[reported + 1..].iter().find(|b| b.iter().any(|r| r.0 == 0)).expect("partition 0 again");
    let first_batch_p0: Vec<i64> = seen[reported].iter().filter(|r| r.0 == 0).map(|r| r.1).collect();
    let expected: Vec<Record> = first_batch_p0.iter().filter(|&&o| o >= 3).map(|&o| (0, o)).collect();
    assert_eq!(retry, &expected, "the retry is partition 0 from offset 3, whole: {seen:?}");
    let partition_1: Vec<&Record> = seen.iter().flatten().filter(|r| r.0 == 1).collect();
    assert_eq!(partition_1.len(), 8, "partition 1 delivered once: {seen:?}");
    assert_eq!(stats.bisections.load(Ordering::Relaxed), 0, "a partial batch response is not a function error");
    assert_eq!(stats.records_discarded.load(Ordering::Relaxed), 0);
    let all: BTreeSet<Record> = seen.iter().flatten().copied().collect();
    assert_eq!(all.len(), 16, "every record reached the function");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_destination_exhausted_records_are_skipped_and_the_mapping_moves_on() {
    let topic = "branches-no-destination";
    topic_with_records(topic, 1, 4).await;
    let poison: Record = (0, 1);
    let (endpoint, seen) = scripted_function(topic, failing_on(poison)).await;
    let stats = run_until(
        settings(topic, None),
        &endpoint,
        |s| s.records_delivered.load(Ordering::Relaxed) >= 3 && s.records_discarded.load(Ordering::Relaxed) >= 1,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(stats.records_discarded.load(Ordering::Relaxed), 1, "{stats:?}");
    let seen = seen.lock().expect("lock").clone();
    let after: BTreeSet<Record> = seen.iter().filter(|b| !b.contains(&poison)).flatten().copied().collect();
    assert!(after.contains(&(0, 2)) && after.contains(&(0, 3)), "records after the skipped one delivered: {seen:?}");
}

/// The question the mapping asks before replacing a consumer that went quiet
/// after a fault (`local::esm::consumer`), against the real broker: records
/// past the group's committed offsets are waiting; once committed, none are.
#[tokio::test]
async fn records_past_the_committed_offsets_are_seen_waiting_and_none_once_committed() {
    use local::esm::consumer::{behind, join_group, off_runtime, ANSWER_WITHIN};
    use rdkafka::consumer::{CommitMode, Consumer};
    let topic = "behind";
    topic_with_records(topic, 2, 3).await;
    let settings = settings(topic, None);
    let bootstrap = kafka().bootstrap_servers();
    let consumer = Arc::new(join_group(&settings, &bootstrap).expect("consumer"));
    // The group's coordinator takes a moment to load (NotCoordinator until
    // then): an error is the mapping's "ask again later"; here, ask again.
    let ask = || {
        let (settings, bootstrap) = (settings.clone(), bootstrap.clone());
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let (settings, bootstrap) = (settings.clone(), bootstrap.clone());
                match off_runtime(ANSWER_WITHIN, move || behind(&settings, &bootstrap)).await.expect("an answer") {
                    Ok(waiting) => return waiting,
                    Err(e) if Instant::now() < deadline => {
                        eprintln!("not yet: {e}");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => panic!("the broker never answered: {e}"),
                }
            }
        }
    };
    assert!(ask().await, "nothing committed: 6 records wait");
    // Committing as the group's member: once it has its partitions.
    let joined = Instant::now() + Duration::from_secs(30);
    while consumer.assignment().map_or(0, |a| a.count()) < 2 {
        assert!(Instant::now() < joined, "the consumer never got its partitions");
        let _ = tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await;
    }
    let mut offsets = rdkafka::TopicPartitionList::new();
    for partition in 0..2 {
        offsets.add_partition_offset(topic, partition, rdkafka::Offset::Offset(3)).expect("offset");
    }
    let committing = consumer.clone();
    tokio::task::spawn_blocking(move || committing.commit(&offsets, CommitMode::Sync))
        .await
        .expect("task")
        .expect("committed");
    assert!(!ask().await, "everything committed: nothing waits");
}

/// A broker call that never returns is given up on after its limit, and it
/// does not keep the runtime (a test's, the demo's) from shutting down.
#[test]
fn a_broker_call_that_never_returns_is_given_up_on_and_holds_no_runtime_open() {
    use local::esm::consumer::off_runtime;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (_never, hang) = std::sync::mpsc::channel::<()>();
    let answer = runtime.block_on(off_runtime(Duration::from_millis(200), move || hang.recv().is_ok()));
    assert_eq!(answer, None, "no answer within the limit");
    let (dropped, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(runtime);
        let _ = dropped.send(());
    });
    assert!(done.recv_timeout(Duration::from_secs(30)).is_ok(), "the runtime shut down with the call still blocked");
}

/// Each partition's batches, in the order the function saw them.
fn per_partition(seen: &[Vec<Record>]) -> std::collections::BTreeMap<i32, Vec<i64>> {
    let mut partitions: std::collections::BTreeMap<i32, Vec<i64>> = std::collections::BTreeMap::new();
    for batch in seen {
        for (partition, offset) in batch {
            partitions.entry(*partition).or_default().push(*offset);
        }
    }
    partitions
}

/// AWS's MSK mapping runs batches of different partitions at once, up to
/// five invocations per event poller, each partition in order
/// (`local::esm::lanes`): 8 partitions behind one poller peak at 5, behind
/// two at 8 (one batch per partition).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_are_delivered_concurrently_each_in_order_up_to_five_invocations_per_poller() {
    for (maximum_pollers, bound) in [(1, 5), (2, 8)] {
        let topic: &'static str =
            if maximum_pollers == 1 { "concurrency-one-poller" } else { "concurrency-two-pollers" };
        topic_with_records(topic, 8, 24).await;
        let slow: Arc<Script> = Arc::new(|_, _| Answer::OkAfter(Duration::from_millis(400)));
        let (endpoint, seen, in_flight) = serve(0, topic, slow).await;
        let mut settings = settings(topic, None);
        settings.maximum_pollers = maximum_pollers;
        let stats = run_until(
            settings,
            &endpoint,
            |s| s.records_delivered.load(Ordering::Relaxed) >= 192,
            Duration::from_secs(90),
        )
        .await;
        assert_eq!(stats.records_delivered.load(Ordering::Relaxed), 192, "{stats:?}");
        let seen = seen.lock().expect("lock").clone();
        assert!(
            seen.iter().all(|b| b.iter().all(|(p, _)| *p == b[0].0)),
            "each batch holds one partition's records: {seen:?}"
        );
        for (partition, offsets) in per_partition(&seen) {
            assert_eq!(offsets, (0..24).collect::<Vec<_>>(), "partition {partition} in order, each record once");
        }
        let peak = in_flight.peak.load(Ordering::SeqCst);
        assert_eq!(peak, bound, "{maximum_pollers} poller(s): at most {bound} in flight, and that many reached");
    }
}

/// A partition whose batches keep failing (retried forever) holds back
/// only itself: every other partition's records are delivered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_partition_does_not_hold_the_others_back() {
    let topic = "concurrency-one-failing";
    topic_with_records(topic, 4, 16).await;
    let failing: Arc<Script> =
        Arc::new(|batch, _| if batch.iter().any(|(p, _)| *p == 0) { Answer::Error } else { Answer::Ok });
    let (endpoint, seen) = scripted_function(topic, failing).await;
    let mut settings = settings(topic, None);
    settings.maximum_retry_attempts = -1;
    settings.maximum_pollers = 1;
    let stats =
        run_until(settings, &endpoint, |s| s.records_delivered.load(Ordering::Relaxed) >= 48, Duration::from_secs(60))
            .await;
    assert_eq!(stats.records_delivered.load(Ordering::Relaxed), 48, "partitions 1 to 3 delivered: {stats:?}");
    assert_eq!(stats.records_discarded.load(Ordering::Relaxed), 0, "partition 0 still retried, not given up");
    let seen = seen.lock().expect("lock").clone();
    let partitions = per_partition(&seen);
    for partition in 1..4 {
        assert_eq!(partitions.get(&partition).map(Vec::len), Some(16), "partition {partition} once each: {seen:?}");
    }
    let failing: Vec<&Vec<Record>> = seen.iter().filter(|b| b.iter().any(|(p, _)| *p == 0)).collect();
    assert!(failing.len() >= 2, "partition 0 tried again meanwhile: {seen:?}");
    assert!(
        failing.iter().flat_map(|b| b.iter()).all(|(_, offset)| *offset < 8),
        "partition 0 never got past its failing first batch: {seen:?}"
    );
}

/// A lane holds two batches; records read past that are parked and their
/// partition paused until the lane drains: nothing skipped, nothing twice,
/// each partition in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_lane_pauses_its_partition_and_skips_nothing() {
    let topic = "concurrency-full-lanes";
    topic_with_records(topic, 2, 120).await;
    let slow: Arc<Script> = Arc::new(|_, _| Answer::OkAfter(Duration::from_millis(50)));
    let (endpoint, seen) = scripted_function(topic, slow).await;
    let stats = run_until(
        settings(topic, None),
        &endpoint,
        |s| s.records_delivered.load(Ordering::Relaxed) >= 240,
        Duration::from_secs(90),
    )
    .await;
    assert_eq!(stats.records_delivered.load(Ordering::Relaxed), 240, "{stats:?}");
    assert!(stats.partition_pauses.load(Ordering::Relaxed) > 0, "lanes of 16 records filled: {stats:?}");
    let seen = seen.lock().expect("lock").clone();
    for (partition, offsets) in per_partition(&seen) {
        assert_eq!(offsets, (0..120).collect::<Vec<_>>(), "partition {partition} in order, each record once");
    }
}
