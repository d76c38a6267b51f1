//! `infra invoke` through the Lambda Invoke API, against `cargo lambda watch`
//! (which serves that API locally) instead of AWS: the sample is sent once,
//! the function's answer printed, and a failing invocation fails the command.

mod support;

use std::path::Path;

use local::lambda_watch::LambdaWatch;
use support::text;

#[test]
fn invoke_sends_a_sample_and_prints_the_answer() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let env = [
        ("DEAD_LETTER_DIR", scratch.path().join("dead-letters").display().to_string()),
        ("STORE_RIDES", "false".to_owned()),
        ("AWS_REGION", local::LOCAL_REGION.to_owned()),
    ];
    let watch = LambdaWatch::start(&env, &scratch.path().join("watch.log"), 1).expect("cargo lambda watch");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/samples");
    let infra = support::Infra { endpoint: "http://127.0.0.1:1".into(), cwd: scratch.path().to_path_buf() };
    let invoke = |payload: &Path| {
        let mut command = infra.command(&[
            "invoke",
            "--function",
            "msk-consumer",
            "--function-name",
            "msk-consumer",
            "--payload",
            payload.to_str().expect("utf-8"),
        ]);
        command.env("AWS_ENDPOINT_URL_LAMBDA", watch.endpoint());
        command.output().expect("run infra invoke")
    };

    let ok = invoke(&samples.join("msk-headers.json"));
    let (out, err) = text(&ok);
    assert!(ok.status.success(), "invoke failed:\n{out}\n{err}");
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(answer["rides"], 4, "{answer}");

    let not_msk = scratch.path().join("not-msk.json");
    std::fs::write(&not_msk, br#"{"records": "not a map"}"#).expect("write");
    let failed = invoke(&not_msk);
    assert!(!failed.status.success(), "{}", text(&failed).0);
    assert!(text(&failed).1.contains("msk-consumer"), "{}", text(&failed).1);

    let missing = invoke(&scratch.path().join("absent.json"));
    assert!(!missing.status.success());
    assert!(text(&missing).1.contains("reading"), "{}", text(&missing).1);
}
