//! Cold starts beside a do-nothing Rust Lambda: each function's release
//! binary (the features `cargo lambda build` gives it, x86_64 here; the
//! bench builds them first) starts
//! as a fresh process under a Lambda Runtime API on loopback, with the
//! environment the template gives it, and is invoked once:
//!
//! - **init**: spawn → its first `GET …/invocation/next` (what Lambda
//!   reports as Init Duration);
//! - **first invoke**: the event served → the response received, against
//!   real local services: the producer writes 250 rides to kinesalite, the
//!   consumer (S3 dead-letter sink and rides table configured, as the
//!   template sets it) stores a 4-record batch in moto's DynamoDB, the topic
//!   creator answers a CloudFormation Delete to a loopback response URL, the
//!   forwarder writes a 3-record Kinesis batch to Apache Kafka (plaintext
//!   here; MSK IAM in AWS) and awaits its acknowledgements;
//! - **do-nothing**: `lambda-init`'s `do-nothing-lambda`, the same runtime
//!   and profile answering `null`, the floor.
//!
//! With `BENCH_BASELINE_DIR=<dir>` (release binaries of another build, by
//! name), each function of that build runs beside ours in the same rounds:
//! a change compared with the build before it.
//!
//! Each round starts every function once, in an order that rotates, so a
//! burst of load on this shared machine falls on all of them; a function's
//! distance to the floor is the median over rounds of (its init − the
//! do-nothing init of the same round).
//!
//!     make bench       # runs this among the others
//!     cargo bench -p msk-consumer --bench cold_start [-- ROUNDS]   # default 30
//!
//! Prints a table and writes target/bench-cold-start.json.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{json, Value};

mod support;
use support::{best, launch, median};

const FLOOR: &str = "do-nothing";
const STREAM: &str = "carrides-cold-start";
const TABLE: &str = "rides-cold-start";
const TOPIC: &str = "carrides-cold-start";

/// One function to start: its binary, the environment the template gives
/// it (beyond Lambda's own), and the event of its first invocation.
struct Subject {
    name: String,
    binary: PathBuf,
    env: Vec<(&'static str, String)>,
    event: Bytes,
}

fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(30);
    tokio::runtime::Runtime::new()?.block_on(bench(rounds))
}

async fn bench(rounds: usize) -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let release = deployed_binaries(&target)?;
    // The services the first invocations reach, started once.
    let kinesis = local::kinesis::Emulator::start(local::kinesis::EmulatorKind::Kinesalite)?;
    local::kinesis::create_stream(&local::kinesis::client(&kinesis.endpoint()), STREAM, 1).await?;
    let moto = local::moto::Moto::start()?;
    local::dynamodb::create_rides_table(&local::dynamodb::client(&moto.endpoint()), TABLE).await?;
    let (response_url, answers) = cloudformation_response_catcher().await?;
    let kafka_dir = target.join("bench-cold-start-kafka");
    let _ = std::fs::remove_dir_all(&kafka_dir);
    let kafka = local::kafka::Broker::apache_kafka(&kafka_dir)?;
    kafka.create_topic(TOPIC, 2).await?;
    let services =
        Services { kinesis: kinesis.endpoint(), moto: moto.endpoint(), response_url, kafka: kafka.bootstrap_servers() };

    let mut subjects = build_subjects(&root, &release, &services)?;
    if let Some(baseline) = std::env::var_os("BENCH_BASELINE_DIR").map(PathBuf::from) {
        let theirs = build_subjects(&root, &baseline, &services)?;
        for mut subject in theirs.into_iter().filter(|s| s.name != FLOOR && s.binary.is_file()) {
            subject.name = format!("{} (baseline)", subject.name);
            subjects.push(subject);
        }
    }
    let topic_creators = subjects.iter().filter(|s| s.name.starts_with("topic-creator")).count();
    let mut inits: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut firsts: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        for k in 0..subjects.len() {
            let subject = &subjects[(round + k) % subjects.len()];
            let mut command = Command::new(&subject.binary);
            command.envs(subject.env.iter().map(|(k, v)| (k, v)));
            let (api, mut child, init_ms) = launch(command).await.map_err(|e| e.context(subject.name.clone()))?;
            let first = api.invoke(subject.event.clone()).await;
            let _ = child.kill();
            let _ = child.wait();
            let (first_ms, response) = first.map_err(|e| e.context(format!("{}: first invocation", subject.name)))?;
            check_response(&subject.name, &response)?;
            inits.entry(subject.name.clone()).or_default().push(init_ms);
            firsts.entry(subject.name.clone()).or_default().push(first_ms);
        }
    }
    anyhow::ensure!(
        answers.load(Ordering::Relaxed) == rounds * topic_creators,
        "the topic creator did not answer CloudFormation every time"
    );
    report(&subjects, &inits, &firsts, rounds, &target)
}

/// The functions' release binaries with the features they are deployed with
/// (`cargo build --release` of the three and `lambda-init`, normal
/// dependencies only), copied aside: `cargo bench` itself re-links
/// `target/release/msk-consumer` with the bench's dev-dependency features.
fn deployed_binaries(target: &Path) -> anyhow::Result<PathBuf> {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "producer",
            "-p",
            "msk-consumer",
            "-p",
            "topic-creator",
            "-p",
            "kinesis-forwarder",
            "-p",
            "lambda-init",
        ])
        .status()?;
    anyhow::ensure!(status.success(), "building the functions' release binaries failed");
    let dir = target.join("bench-cold-start");
    std::fs::create_dir_all(&dir)?;
    for binary in ["do-nothing-lambda", "producer", "msk-consumer", "topic-creator", "kinesis-forwarder"] {
        std::fs::copy(target.join("release").join(binary), dir.join(binary))?;
    }
    Ok(dir)
}

/// The local services the first invocations reach.
struct Services {
    kinesis: String,
    moto: String,
    response_url: String,
    kafka: String,
}

fn build_subjects(root: &Path, release: &Path, services: &Services) -> anyhow::Result<Vec<Subject>> {
    let (kinesis, moto) = (services.kinesis.as_str(), services.moto.as_str());
    let sample = |name: &str| std::fs::read(root.join("events/samples").join(name));
    let mut delete: Value = serde_json::from_slice(&sample("cfn-topic-delete.json")?)?;
    delete["ResponseURL"] = json!(services.response_url);
    // A Kinesis mapping's batch of three rides, as AWS shapes it.
    let records: Vec<Value> = events::generate::RideGenerator::seeded(3)
        .rides(3, 1_764_000_000_000)
        .iter()
        .enumerate()
        .map(|(i, ride)| {
            let record = events::encode(ride);
            json!({"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": record.partition_key,
                       "sequenceNumber": format!("4959{i}"),
                       "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &record.data),
                       "approximateArrivalTimestamp": 1764000000.125},
                   "eventSource": "aws:kinesis", "eventID": format!("shardId-000000000000:4959{i}"),
                   "eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/carrides"})
        })
        .collect();
    Ok(vec![
        Subject {
            name: FLOOR.into(),
            binary: release.join("do-nothing-lambda"),
            env: vec![],
            event: Bytes::from_static(b"{}"),
        },
        Subject {
            name: "producer".into(),
            binary: release.join("producer"),
            env: vec![("STREAM_NAME", STREAM.into()), ("AWS_ENDPOINT_URL_KINESIS", kinesis.into())],
            event: Bytes::from(sample("producer-invoke.json")?),
        },
        Subject {
            name: "msk-consumer".into(),
            binary: release.join("msk-consumer"),
            env: vec![
                ("DEAD_LETTER_BUCKET", "cold-start-dead-letters".into()),
                ("DEAD_LETTER_PREFIX", "poison/".into()),
                ("RIDES_TABLE", TABLE.into()),
                ("AWS_ENDPOINT_URL_DYNAMODB", moto.into()),
                ("AWS_ENDPOINT_URL_S3", moto.into()),
            ],
            event: Bytes::from(sample("msk-headers.json")?),
        },
        Subject {
            name: "topic-creator".into(),
            binary: release.join("topic-creator"),
            env: vec![],
            event: Bytes::from(serde_json::to_vec(&delete)?),
        },
        Subject {
            name: "kinesis-forwarder".into(),
            binary: release.join("kinesis-forwarder"),
            env: vec![
                ("KAFKA_BOOTSTRAP_SERVERS", services.kafka.clone()),
                ("KAFKA_TOPIC", TOPIC.into()),
                ("KAFKA_AUTH", "plaintext".into()),
            ],
            event: Bytes::from(serde_json::to_vec(&json!({ "Records": records }))?),
        },
    ])
}

/// Each first invocation did its work: rides written, rides stored, an answer sent.
fn check_response(name: &str, response: &Value) -> anyhow::Result<()> {
    let ok = match name.split(' ').next().unwrap_or(name) {
        "producer" => response["sent"].as_u64() == Some(250) && response["failed"].as_u64() == Some(0),
        // Stored now, or by an earlier round's process (then a duplicate).
        "msk-consumer" => {
            let count = |field: &str| response[field].as_u64().unwrap_or(0);
            count("rides") > 0 && count("stored") + count("duplicates") == count("rides")
        }
        "topic-creator" => response["Status"] == "SUCCESS",
        // Every record acknowledged by Kafka.
        "kinesis-forwarder" => response["batchItemFailures"].as_array().is_some_and(Vec::is_empty),
        _ => response.is_null(),
    };
    anyhow::ensure!(ok, "{name}: unexpected first response {response}");
    Ok(())
}

/// A CloudFormation response URL on loopback: counts the answers (PUTs).
async fn cloudformation_response_catcher() -> anyhow::Result<(String, Arc<AtomicUsize>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/cloudformation-response", listener.local_addr()?);
    let answers = Arc::new(AtomicUsize::new(0));
    let counted = answers.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counted = counted.clone();
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                if request.method() == hyper::Method::PUT {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                async { Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::new()))) }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((url, answers))
}

fn report(
    subjects: &[Subject],
    inits: &BTreeMap<String, Vec<f64>>,
    firsts: &BTreeMap<String, Vec<f64>>,
    rounds: usize,
    target: &Path,
) -> anyhow::Result<()> {
    let floor = inits.get(FLOOR).cloned().unwrap_or_default();
    let floor_first = firsts.get(FLOOR).cloned().unwrap_or_default();
    println!("\n{rounds} fresh processes of each, alternating (x86_64, release profile):\n");
    println!("| function | init best | init median | init − do-nothing (median of pairs) | first invoke best | first invoke median |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut out = serde_json::Map::new();
    for subject in subjects {
        let name = subject.name.as_str();
        let (init, first) = (&inits[name], &firsts[name]);
        let over_floor = median(&init.iter().zip(&floor).map(|(a, b)| a - b).collect::<Vec<_>>());
        let first_over_floor = median(&first.iter().zip(&floor_first).map(|(a, b)| a - b).collect::<Vec<_>>());
        let label = if name == FLOOR { "do-nothing Rust Lambda (floor)" } else { name };
        println!(
            "| {label} | {:.2} ms | {:.2} ms | {} | {:.2} ms | {:.2} ms |",
            best(init),
            median(init),
            if name == FLOOR { "—".to_owned() } else { format!("{over_floor:+.2} ms") },
            best(first),
            median(first)
        );
        out.insert(
            name.to_owned(),
            json!({
                "init_ms": { "best": best(init), "median": median(init), "all": init },
                "first_invoke_ms": { "best": best(first), "median": median(first), "all": first },
                "init_minus_floor_paired_median_ms": over_floor,
                "first_invoke_minus_floor_paired_median_ms": first_over_floor,
            }),
        );
    }
    std::fs::write(target.join("bench-cold-start.json"), serde_json::to_vec_pretty(&Value::Object(out))?)?;
    Ok(())
}
