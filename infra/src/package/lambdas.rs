//! The four Lambda zips, built by cargo-lambda for arm64 (provided.al2023)
//! or taken from a directory built earlier in cargo-lambda's layout.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// Binary names, which are also the zip directories cargo-lambda writes.
pub const FUNCTIONS: [&str; 4] = ["producer", "msk-consumer", "topic-creator", "kinesis-forwarder"];

pub fn zip_path(lambda_dir: &Path, function: &str) -> PathBuf {
    lambda_dir.join(function).join("bootstrap.zip")
}

pub fn build(lambda_dir: &Path) -> anyhow::Result<()> {
    let mut command = Command::new("cargo");
    // librdkafka includes <curl/curl.h> even with curl off; the arm64 cross
    // toolchain has none (tools/cross/include/curl/curl.h says why).
    let cross_include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/cross/include");
    command.env("CFLAGS_aarch64_unknown_linux_gnu", format!("-I{}", cross_include.display()));
    command.args(["lambda", "build", "--release", "--arm64", "--output-format", "zip", "--lambda-dir"]);
    command.arg(lambda_dir);
    for function in FUNCTIONS {
        command.args(["-p", function]);
    }
    eprintln!("building the functions: {command:?}");
    let status =
        command.status().context("running `cargo lambda build`: install it with `make tools` (it comes from PyPI)")?;
    if !status.success() {
        anyhow::bail!(
            "`cargo lambda build --release --arm64` failed ({status}); if the arm64 standard library is missing, run `rustup target add aarch64-unknown-linux-gnu` (`make build` does)"
        );
    }
    Ok(())
}

pub fn read_zips(lambda_dir: &Path) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    FUNCTIONS
        .iter()
        .map(|function| {
            let path = zip_path(lambda_dir, function);
            let bytes = std::fs::read(&path).with_context(|| {
                format!("reading {}: build the functions first (`make build`) or drop --skip-build", path.display())
            })?;
            if !bytes.starts_with(b"PK\x03\x04") {
                anyhow::bail!("{} is not a zip file", path.display());
            }
            Ok((*function, bytes))
        })
        .collect()
}

/// Each zip beside its budget (`budget::BUDGETS`, with `overrides`), printed;
/// an error naming every zip past its budget.
pub fn check_budgets(zips: &[(&'static str, Vec<u8>)], overrides: &str) -> anyhow::Result<()> {
    let budgets = super::budget::budgets(overrides)?;
    let sizes: Vec<(&str, u64)> = zips.iter().map(|(f, bytes)| (*f, bytes.len() as u64)).collect();
    eprintln!("function zips and their size budgets (infra/src/package/budget.rs):");
    for size in super::budget::check(&sizes, &budgets)? {
        eprintln!("  {size}");
    }
    Ok(())
}
