//! The size check that keeps the function zips small: `infra zips` (the last
//! step of `make build`) and `make zips` pass within budget and fail past it
//! with the function's size and budget; `infra package` is covered in
//! `deploy_failure.rs`.

mod support;

use std::path::Path;
use std::process::{Command, Output};

fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn infra_zips(lambda_dir: &Path, budgets: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_infra"))
        .args(["zips", "--lambda-dir"])
        .arg(lambda_dir)
        .env("ZIP_BUDGETS", budgets)
        .output()
        .expect("run infra zips")
}

/// Three small zips in cargo-lambda's layout, in a directory removed on drop.
fn built_zips() -> (tempfile::TempDir, std::path::PathBuf) {
    let work = tempfile::tempdir().expect("tempdir");
    let lambda = work.path().join("lambda");
    support::lambda_zips(&lambda, "v1");
    (work, lambda)
}

fn zip_size(lambda_dir: &Path, function: &str) -> u64 {
    std::fs::metadata(lambda_dir.join(function).join("bootstrap.zip")).expect("zip").len()
}

#[test]
fn zips_within_their_budgets_pass_and_say_what_is_left() {
    let (_work, lambda) = built_zips();
    let out = infra_zips(&lambda, "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for function in ["producer", "msk-consumer", "topic-creator"] {
        assert!(stderr.contains(&format!("{function}: {} bytes, budget", zip_size(&lambda, function))), "{stderr}");
    }
}

#[test]
fn a_zip_past_a_lowered_budget_fails_with_its_size_and_the_budget() {
    let (_work, lambda) = built_zips();
    let size = zip_size(&lambda, "producer");
    let out = infra_zips(&lambda, &format!("producer={}", size - 1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("producer: bootstrap.zip is {size} bytes, over its budget of")), "{stderr}");
    assert!(stderr.contains("by 1"), "{stderr}");
}

/// `make` in the repository as a user runs it, not as a sub-make of `make test`.
fn make() -> Command {
    let mut make = Command::new("make");
    make.current_dir(repo_root()).env_remove("MAKEFLAGS").env_remove("MFLAGS").env_remove("MAKELEVEL");
    make
}

#[test]
fn make_build_checks_the_zips_last_and_make_zips_fails_past_the_budget() {
    // What `make build` runs, without running it (an arm64 release build):
    // its last command is the size check.
    let dry = make().arg("-n").arg("build").output().expect("make -n build");
    let plan = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let last = plan.lines().rev().find(|l| !l.trim().is_empty() && !l.starts_with("make")).unwrap_or_default();
    assert!(last.contains("infra -- zips"), "make build must end with the size check:\n{plan}");
    assert!(plan.find("cargo lambda build").is_some_and(|at| at < plan.rfind("infra -- zips").unwrap_or(0)));

    // The same step on zips past a lowered budget fails the make run.
    let (_work, lambda) = built_zips();
    let size = zip_size(&lambda, "topic-creator");
    let out = make()
        .arg("zips")
        .arg(format!("LAMBDA_DIR={}", lambda.display()))
        // This test's own build of `infra` rather than `cargo run` (another feature set to compile).
        .arg(format!("INFRA={}", env!("CARGO_BIN_EXE_infra")))
        .env("ZIP_BUDGETS", format!("topic-creator={}", size / 2))
        .output()
        .expect("make zips");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("topic-creator: bootstrap.zip is {size} bytes, over its budget of")), "{stderr}");
}
