//! `cargo lambda invoke msk-consumer --data-file events/samples/<msk>.json`
//! against `cargo lambda watch`, as the README shows: every MSK sample is
//! handled, poison lands in the dead-letter directory, and the function logs a
//! JSON summary and an EMF line per batch.

// Starts local services (x86_64 tools): not part of the aarch64 run under qemu.
#![cfg(not(qemu_tests))]

use std::path::Path;

use local::lambda_watch::LambdaWatch;

#[test]
fn cargo_lambda_invoke_handles_every_msk_sample() {
    let scratch_dir = local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), "consumer-watch").expect("scratch dir");
    let scratch = scratch_dir.path();
    let dead_letters = scratch.join("dead-letters");
    let env = [
        ("DEAD_LETTER_DIR", dead_letters.display().to_string()),
        ("STORE_RIDES", "false".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_REGION", local::LOCAL_REGION.to_owned()),
    ];
    let watch = LambdaWatch::start(&env, &scratch.join("watch.log"), 1).expect("cargo lambda watch");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/samples");
    let mut total_rides = 0;
    for name in [
        "msk-single-record.json",
        "msk-many-partitions.json",
        "msk-headers.json",
        "msk-legacy-seed.json",
        "msk-poison.json",
    ] {
        let out = watch.invoke_cli("msk-consumer", &samples.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let summary: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}"));
        total_rides += summary["rides"].as_u64().expect("rides");
        if name == "msk-poison.json" {
            assert_eq!((summary["poison"].as_u64(), summary["tombstones"].as_u64()), (Some(5), Some(1)), "{summary}");
        }
    }
    assert_eq!(total_rides, 1 + 12 + 4 + 2 + 3);
    let quarantined = dead_letters.join("carrides-2/00000000000000000201-00000000000000000207.jsonl");
    let letters = std::fs::read_to_string(&quarantined).expect("dead letters on disk");
    assert_eq!(letters.lines().count(), 5);

    let logs = std::fs::read_to_string(watch.log()).expect("log");
    let json_lines: Vec<serde_json::Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let emf: Vec<_> = json_lines.iter().filter(|v| v.get("_aws").is_some()).collect();
    assert_eq!(emf.len(), 5, "one EMF line per batch:\n{logs}");
    assert_eq!(emf[4]["PoisonRecords"], 5);
    assert_eq!(emf[4]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "CarRides/Consumer");
    let summaries = json_lines.iter().filter(|v| v["fields"]["message"] == "batch processed").count();
    assert_eq!(summaries, 5);
    // One warning per partition with poison, naming the object that holds them.
    let warnings: Vec<_> =
        json_lines.iter().filter(|v| v["fields"]["message"] == "poison records quarantined").collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert_eq!(warnings[0]["fields"]["poison"], 5);
    assert_eq!(warnings[0]["fields"]["records_key"], "carrides-2");
    assert_eq!(
        (warnings[0]["fields"]["first_offset"].as_i64(), warnings[0]["fields"]["last_offset"].as_i64()),
        (Some(201), Some(207))
    );
    let location = warnings[0]["fields"]["dead_letters"].as_str().expect("where the letters went");
    assert_eq!(Path::new(location), quarantined);
}
