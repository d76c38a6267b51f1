//! The README's quick start: `cargo lambda invoke producer --data-file
//! events/samples/...` against `cargo lambda watch`, with the producer writing
//! to the local Kinesis emulator.

use std::path::Path;

use local::kinesis::{self, Emulator};
use local::lambda_watch::LambdaWatch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_lambda_invoke_with_the_samples_writes_to_the_stream() {
    let emulator = Emulator::start_configured().expect("the Kinesis emulator (make tools)");
    let client = kinesis::client(&emulator.endpoint());
    kinesis::create_stream(&client, "carrides-watch", 2).await.expect("stream");
    let scratch = local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), "producer-watch").expect("scratch dir");
    let log = scratch.path().join("watch.log");
    let env = [
        ("STREAM_NAME", "carrides-watch".to_owned()),
        ("RIDES_PER_SCHEDULE", "40".to_owned()),
        ("AWS_ENDPOINT_URL_KINESIS", emulator.endpoint()),
        ("AWS_ACCESS_KEY_ID", local::LOCAL_ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", local::LOCAL_SECRET_KEY.to_owned()),
        ("AWS_REGION", local::LOCAL_REGION.to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
    ];
    let watch = LambdaWatch::start(&env, &log, 1).expect("cargo lambda watch");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/samples");

    let scheduled = watch.invoke_cli("producer", &samples.join("schedule-event.json")).expect("schedule invoke");
    let scheduled: serde_json::Value = serde_json::from_str(&scheduled).expect("JSON response");
    assert_eq!(
        (scheduled["trigger"].as_str(), scheduled["sent"].as_u64()),
        (Some("schedule"), Some(40)),
        "{scheduled}"
    );

    let direct = watch.invoke_cli("producer", &samples.join("producer-invoke.json")).expect("direct invoke");
    let direct: serde_json::Value = serde_json::from_str(&direct).expect("JSON response");
    assert_eq!(
        (direct["trigger"].as_str(), direct["sent"].as_u64(), direct["failed"].as_u64()),
        (Some("direct"), Some(250), Some(0))
    );

    assert_eq!(kinesis::read_stream(&client, "carrides-watch").await.expect("read").len(), 290);

    // The function logged JSON and an EMF metrics line CloudWatch would graph.
    let logs = std::fs::read_to_string(watch.log()).expect("watch log");
    let emf: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert_eq!(emf.len(), 2, "one EMF line per invocation:\n{logs}");
    assert_eq!(emf[1]["RidesSent"], 250);
    assert_eq!(emf[1]["RidesFailed"], 0);
    assert_eq!(emf[1]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "CarRides/Producer");
    assert!(logs.lines().any(|l| l.contains("\"message\":\"rides written\"") && l.contains("\"sent\":250")), "{logs}");
}
