//! The consumer's decode + validate + aggregate work on a near-6 MB MSK event,
//! side by side with the Python baseline (`bench/python_decode.py`) in one
//! run: the Lambda's path (`parse_event` on the body bytes, as `main` gets
//! them), the same work after a serde_json pass over the body and a
//! serde_json event parse (what `LambdaEvent<Box<RawValue>>` used to cost),
//! and Python. Each runs in its own process so peak RSS is its own.
//!
//!     cargo bench -p msk-consumer --bench compare [-- ITERATIONS]
//!
//! Three rounds, each running all three: ITERATIONS batches (default 200)
//! per Rust process, a tenth of that for Python; the best time over all
//! rounds is each one's figure.
//!
//! Prints a table and writes target/bench-compare.json.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use events::msk::MskEvent;
use msk_consumer::config::Config;
use msk_consumer::{process_batch, Invocation};
use serde_json::value::RawValue;
use serde_json::{json, Value};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if let [flag, path, iterations, variant] = args.as_slice() {
        if flag == "--measure-rust" {
            return measure_rust(Path::new(path), iterations.parse()?, variant);
        }
    }
    // Many runs: the best of them is the figure, and this machine is shared.
    let iterations: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(200);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    std::fs::create_dir_all(&target)?;
    let event_path = target.join("msk-large.json");
    let event = events::samples::msk_large(events::msk::MAX_INVOKE_PAYLOAD_BYTES);
    std::fs::write(&event_path, serde_json::to_vec(&event)?)?;

    let measure = |variant: &str| {
        run_child(
            Command::new(std::env::current_exe()?)
                .args(["--measure-rust"])
                .arg(&event_path)
                .args([iterations.to_string().as_str(), variant]),
        )
    };
    let python_iterations = (iterations / 10).max(3);
    let measure_python = || {
        run_child(
            Command::new("python3")
                .arg(root.join("bench/python_decode.py"))
                .arg(&event_path)
                .arg(python_iterations.to_string()),
        )
    };
    // Rounds alternate the three, so a burst of load on this shared machine
    // slows one round of each rather than all of one implementation.
    let (mut rust, mut serde_path, mut python) = (Value::Null, Value::Null, Value::Null);
    for _ in 0..ROUNDS {
        rust = faster(rust, measure(LAMBDA_PATH)?);
        serde_path = faster(serde_path, measure(SERDE_PATH)?);
        python = faster(python, measure_python()?);
    }
    for other in [&serde_path, &python] {
        anyhow::ensure!(
            rust["rides"] == other["rides"] && rust["records"] == other["records"] && rust["poison"] == other["poison"],
            "implementations disagree: {rust} vs {other}"
        );
    }

    let report = json!({
        "rust": rust,
        "rust_serde_json_event": serde_path,
        "python": python,
        "speedup_best": ratio(&python, &rust),
        "speedup_best_serde_json_event": ratio(&python, &serde_path),
    });
    println!(
        "{:<22} {:>9} {:>9} {:>11} {:>12} {:>10}",
        "implementation", "records", "best ms", "MB/s", "records/s", "peak RSS"
    );
    for r in [&rust, &serde_path, &python] {
        let seconds = r["best_seconds"].as_f64().unwrap_or(f64::NAN);
        let bytes = r["bytes"].as_f64().unwrap_or(0.0);
        let records = r["records"].as_f64().unwrap_or(0.0);
        println!(
            "{:<22} {:>9} {:>9.2} {:>11.1} {:>12.0} {:>7.1} MiB",
            r["implementation"].as_str().unwrap_or("?"),
            records,
            seconds * 1e3,
            bytes / seconds / 1e6,
            records / seconds,
            r["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0
        );
    }
    for r in [&rust, &serde_path] {
        let ms = |key: &str| r[key].as_f64().unwrap_or(f64::NAN) * 1e3;
        println!(
            "{}: best event parse {:.2} ms, best decode + validate + aggregate {:.2} ms",
            r["implementation"].as_str().unwrap_or("?"),
            ms("best_parse_seconds"),
            ms("best_process_seconds")
        );
    }
    println!("speedup (best time, python / rust): {:.1}x", report["speedup_best"].as_f64().unwrap_or(f64::NAN));
    println!(
        "speedup with the serde_json event path:  {:.1}x",
        report["speedup_best_serde_json_event"].as_f64().unwrap_or(f64::NAN)
    );
    std::fs::write(target.join("bench-compare.json"), serde_json::to_vec_pretty(&report)?)?;
    Ok(())
}

const ROUNDS: usize = 3;

/// The result with the better best time.
fn faster(kept: Value, new: Value) -> Value {
    let best = |v: &Value| v["best_seconds"].as_f64().unwrap_or(f64::MAX);
    if kept.is_null() || best(&new) < best(&kept) {
        new
    } else {
        kept
    }
}

fn ratio(slow: &Value, fast: &Value) -> f64 {
    slow["best_seconds"].as_f64().unwrap_or(f64::NAN) / fast["best_seconds"].as_f64().unwrap_or(f64::NAN)
}

fn run_child(command: &mut Command) -> anyhow::Result<Value> {
    let output = command.output()?;
    anyhow::ensure!(output.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    let line = String::from_utf8_lossy(&output.stdout);
    Ok(serde_json::from_str(line.lines().last().unwrap_or_default())?)
}

/// `main`'s work on a body: parse the event from the bytes Lambda sent
/// (`raw_body`), decode, validate and aggregate every record.
const LAMBDA_PATH: &str = "lambda";
/// The same, after the pass `LambdaEvent<Box<RawValue>>` made over the body
/// and with serde_json reading the event.
const SERDE_PATH: &str = "serde-json-event";

fn measure_rust(path: &Path, iterations: usize, variant: &str) -> anyhow::Result<()> {
    let body = std::fs::read(path)?;
    let config = Config::with_dead_letter_dir("unused");
    let now_ms = i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis())?;
    let invocation = Invocation { request_id: "bench".into(), now_ms, deadline: None };
    let (mut best_parse, mut best_process) = (f64::MAX, f64::MAX);
    let mut times = Vec::with_capacity(iterations);
    let mut last = None;
    for _ in 0..iterations {
        let started = Instant::now();
        let runtime_copy =
            (variant == SERDE_PATH).then(|| serde_json::from_slice::<Box<RawValue>>(&body)).transpose()?;
        let event: MskEvent<'_> = match &runtime_copy {
            Some(raw) => serde_json::from_str(raw.get())?,
            None => msk_consumer::parse_event(&body)?,
        };
        let parsed = Instant::now();
        let (stats, quarantine, _) = process_batch(&event, &invocation, &config);
        let done = Instant::now();
        times.push((done - started).as_secs_f64());
        best_parse = best_parse.min((parsed - started).as_secs_f64());
        best_process = best_process.min((done - parsed).as_secs_f64());
        last = Some((stats.records, stats.rides, stats.poison(), quarantine.len()));
    }
    times.sort_by(f64::total_cmp);
    let (records, rides, poison, _) = last.unwrap_or_default();
    let implementation = match variant {
        SERDE_PATH => "rust, serde_json event",
        _ => "rust (msk-consumer)",
    };
    let result = json!({
        "implementation": implementation,
        "records": records, "rides": rides, "poison": poison,
        "bytes": body.len(),
        "best_seconds": times.first(),
        "median_seconds": times.get(times.len() / 2),
        "best_parse_seconds": best_parse,
        "best_process_seconds": best_process,
        "iterations": iterations,
        "peak_rss_kib": peak_rss_kib(),
    });
    println!("{result}");
    Ok(())
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
