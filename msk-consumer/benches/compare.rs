//! The consumer's decode + validate + aggregate work on a near-6 MB MSK event,
//! side by side with the Python baseline (`bench/python_decode.py`) in one
//! run. Each implementation runs in its own process so peak RSS is its own.
//!
//!     cargo bench -p msk-consumer --bench compare [-- ITERATIONS]
//!
//! Prints a table and writes target/bench-compare.json.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use msk_consumer::config::Config;
use msk_consumer::{process_batch, Invocation};
use serde_json::{json, Value};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if let [flag, path, iterations] = args.as_slice() {
        if flag == "--measure-rust" {
            return measure_rust(Path::new(path), iterations.parse()?);
        }
    }
    let iterations: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(30);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    std::fs::create_dir_all(&target)?;
    let event_path = target.join("msk-large.json");
    let event = events::samples::msk_large(events::msk::MAX_INVOKE_PAYLOAD_BYTES);
    std::fs::write(&event_path, serde_json::to_vec(&event)?)?;

    let rust = run_child(
        Command::new(std::env::current_exe()?).args(["--measure-rust"]).arg(&event_path).arg(iterations.to_string()),
    )?;
    let python_iterations = (iterations / 3).max(3);
    let python = run_child(
        Command::new("python3")
            .arg(root.join("bench/python_decode.py"))
            .arg(&event_path)
            .arg(python_iterations.to_string()),
    )?;
    anyhow::ensure!(
        rust["rides"] == python["rides"] && rust["records"] == python["records"],
        "implementations disagree: {rust} vs {python}"
    );

    let report = json!({ "rust": rust, "python": python, "speedup_best": ratio(&python, &rust) });
    println!(
        "{:<22} {:>9} {:>9} {:>11} {:>12} {:>10}",
        "implementation", "records", "best ms", "MB/s", "records/s", "peak RSS"
    );
    for r in [&rust, &python] {
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
    println!("speedup (best time, python / rust): {:.1}x", report["speedup_best"].as_f64().unwrap_or(f64::NAN));
    std::fs::write(target.join("bench-compare.json"), serde_json::to_vec_pretty(&report)?)?;
    Ok(())
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

/// The Lambda path without the runtime: the body is copied into a RawValue
/// (as `LambdaEvent<Box<RawValue>>` does), parsed borrowing from it, and
/// every record decoded, validated and aggregated.
fn measure_rust(path: &Path, iterations: usize) -> anyhow::Result<()> {
    let body = std::fs::read(path)?;
    let config = Config::with_dead_letter_dir("unused");
    let now_ms = i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis())?;
    let invocation = Invocation { request_id: "bench".into(), now_ms };
    let mut times = Vec::with_capacity(iterations);
    let mut last = None;
    for _ in 0..iterations {
        let started = Instant::now();
        let raw: Box<serde_json::value::RawValue> = serde_json::from_slice(&body)?;
        let event: events::msk::MskEvent = serde_json::from_str(raw.get())?;
        let (stats, quarantine, _) = process_batch(&event, &invocation, &config);
        times.push(started.elapsed().as_secs_f64());
        last = Some((stats.records, stats.rides, stats.poison(), quarantine.len()));
    }
    if std::env::var_os("BENCH_PHASES").is_some() {
        let (mut raw_t, mut parse_t, mut process_t) = (f64::MAX, f64::MAX, f64::MAX);
        for _ in 0..iterations {
            let t0 = Instant::now();
            let raw: Box<serde_json::value::RawValue> = serde_json::from_slice(&body)?;
            let t1 = Instant::now();
            let event: events::msk::MskEvent = serde_json::from_str(raw.get())?;
            let t2 = Instant::now();
            let _ = process_batch(&event, &invocation, &config);
            let t3 = Instant::now();
            raw_t = raw_t.min((t1 - t0).as_secs_f64());
            parse_t = parse_t.min((t2 - t1).as_secs_f64());
            process_t = process_t.min((t3 - t2).as_secs_f64());
        }
        eprintln!(
            "phases (best ms): runtime copy {:.2}, event parse {:.2}, decode+validate+aggregate {:.2}",
            raw_t * 1e3,
            parse_t * 1e3,
            process_t * 1e3
        );
    }
    times.sort_by(f64::total_cmp);
    let (records, rides, poison, _) = last.unwrap_or_default();
    let result = json!({
        "implementation": "rust (msk-consumer)",
        "records": records, "rides": rides, "poison": poison,
        "bytes": body.len(),
        "best_seconds": times.first(),
        "median_seconds": times.get(times.len() / 2),
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
