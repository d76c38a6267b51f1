//! The consumer measured as Lambda bills it: the release binary runs under a
//! Lambda Runtime API served on loopback by this bench, exactly as on AWS
//! (`AWS_LAMBDA_RUNTIME_API`, `GET …/invocation/next`, `POST …/response`),
//! and each invocation is timed from the moment the bench serves `/next`
//! (the event goes out) to the moment it has received the whole response:
//! the body transfer, the runtime's hand-off, the consumer's work, its
//! dead-letter writes, summary and log lines are all inside.
//!
//!     cargo bench -p msk-consumer --bench lambda_path [-- ROUNDS WARM]   # or: make bench
//!
//! Each function runs in its own process, fresh every round:
//! - **msk-consumer**: the release binary, environment as the template sets
//!   it (JSON logs, a dead-letter directory standing in for the bucket,
//!   empty at each invocation as a stream's new objects would be);
//! - **floor**: this bench binary run with `--floor`, a function on the same
//!   runtime and body layer that only takes the body and answers: what the
//!   Lambda path costs before any consumer work (the body transfer alone);
//! - **work floor** (`--floor-work`): the same plus the work no
//!   implementation can skip, and nothing else: the event parse,
//!   `process_batch` (decode, validate, aggregate, a letter per poison
//!   record) and the dead-letter files, through the consumer's directory
//!   sink (Python writes them too); no log lines, metrics or summary;
//! - **baseline**, with `BENCH_BASELINE_BIN=path`: another build of the
//!   consumer, to compare a change with the build before it;
//! - **python**: `bench/python_lambda.py` under `awslambdaric` (AWS's Python
//!   runtime interface client, from PyPI into `.tools/venv` by `make
//!   tools`), which parses the event before its handler, as Lambda's Python
//!   runtime does; the handler does the same work, dead-letter files included.
//!
//! Per process: init (spawn → first `/next`), first invoke, then WARM warm
//! invokes (best and median), peak RSS (VmHWM). The Rust functions are alive
//! together and their warm invocations interleave (one of each in turn, the
//! order rotating), so the machine's bursts of load fall on all of them and
//! the consumer's distance to the floors is also reported as the median over
//! back-to-back pairs; Python, 20-40× slower, runs after them in each round.
//! First invocations, one per process, are compared over further fresh
//! processes of the consumer and the work floor (20, or 4 per round),
//! started alternately and invoked once: the median of the pairs.
//! The input is
//! `events::samples::msk_lambda_batch`: ~6 MB, ten partitions, keys, Camel
//! headers, 1 % poison of all seven kinds, tombstones. The bench checks that
//! the consumer's and Python's summaries agree field by field. Prints a
//! table and writes target/bench-lambda-path.json. Every function's cold
//! start beside a do-nothing Lambda is the `cold_start` bench's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use serde_json::{json, Value};

mod support;
use support::{best, launch, median, RuntimeApi};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match args.first().map(String::as_str) {
        Some("--floor") => return floor(false),
        Some("--floor-work") => return floor(true),
        _ => {}
    }
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let warm: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(30);
    tokio::runtime::Runtime::new()?.block_on(bench(rounds, warm))
}

/// The floors: the consumer's runtime and body layer, with no work at all
/// (the body transfer and hand-off alone), or with only the work no
/// implementation can skip (`work`: the event parse, `process_batch`
/// (decode, validate, aggregate, letters for the poison records) and the
/// dead-letter files, through the consumer's own directory sink; no log
/// lines, metrics or summary).
fn floor(work: bool) -> anyhow::Result<()> {
    use lambda_runtime::{service_fn, Diagnostic, LambdaEvent, Runtime};
    use msk_consumer::dead_letter::{dir::DirSink, DeadLetterSink};
    use msk_consumer::raw_body::{RawBodies, RawBodyLayer};
    // The consumer's allocator settings: the floors differ from it only in
    // the work they leave out.
    msk_consumer::allocator::keep_freed_memory();
    let config = msk_consumer::config::Config::from_env()?;
    let sink = match &config.dead_letters {
        msk_consumer::config::DeadLetterTarget::Dir(dir) => DirSink::new(dir),
        msk_consumer::config::DeadLetterTarget::S3 { .. } => anyhow::bail!("the work floor takes DEAD_LETTER_DIR"),
    };
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
        let bodies = RawBodies::default();
        let (taken, config, sink) = (&bodies, &config, &sink);
        let handler = service_fn(move |event: LambdaEvent<()>| async move {
            let body = taken.take(&event.context.request_id).unwrap_or_default();
            if !work {
                return Ok::<_, Diagnostic>(json!({ "bytes": body.len() }));
            }
            let parsed = msk_consumer::parse_event(&body).map_err(Diagnostic::from)?;
            let invocation = msk_consumer::Invocation {
                request_id: event.context.request_id,
                now_ms: msk_consumer::epoch_ms(),
                deadline: None,
            };
            let (stats, quarantine, _) = msk_consumer::process_batch(&parsed, &invocation, config);
            let puts = futures::future::join_all(quarantine.iter().map(|batch| sink.put(batch))).await;
            let stored = puts.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| Diagnostic {
                error_type: "DeadLetterSinkUnavailable".into(),
                error_message: e.to_string(),
            })?;
            Ok(json!({ "records": stats.records, "poison": stats.poison(), "objects": stored.len() }))
        });
        Runtime::new(handler).layer(RawBodyLayer::new(bodies.clone())).run().await.map_err(|e| anyhow::anyhow!(e))
    })
}

#[derive(Debug, Clone, serde::Serialize)]
struct Run {
    init_ms: f64,
    first_ms: f64,
    warm_ms: Vec<f64>,
    peak_rss_kib: u64,
    /// Minor page faults (fresh memory the kernel had to map) during the
    /// first invocation and each warm one.
    first_faults: u64,
    warm_faults: Vec<u64>,
    #[serde(skip)]
    last_response: Value,
}

async fn bench(rounds: usize, warm: usize) -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let scratch = target.join("bench-lambda-path");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let python = root.join(".tools/venv/bin/python");
    anyhow::ensure!(
        Command::new(&python).args(["-c", "import awslambdaric"]).status().is_ok_and(|s| s.success()),
        "awslambdaric is not in {}: run `make tools`",
        python.display()
    );
    let event =
        Bytes::from(serde_json::to_vec(&events::samples::msk_lambda_batch(events::msk::MAX_INVOKE_PAYLOAD_BYTES))?);
    println!(
        "input: {} bytes, {} records in 10 partitions; {rounds} rounds, {warm} warm invokes per process ({} for python)",
        event.len(),
        events::payload::msk_event(&event)?.record_count(),
        python_warm(warm)
    );

    // BENCH_CONSUMER_BIN measures another build of the consumer (a
    // profiling build with symbols, say) in the same harness.
    let consumer = std::env::var_os("BENCH_CONSUMER_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_msk-consumer")), PathBuf::from);
    // BENCH_BASELINE_BIN adds that build as a fifth column, in the same
    // rounds: a change to the consumer compared side by side with the build
    // before it, on a machine whose speed moves from run to run.
    let baseline = std::env::var_os("BENCH_BASELINE_BIN").map(PathBuf::from);
    let mut rust_names = vec!["msk-consumer", "floor", "floor+work"];
    if baseline.is_some() {
        rust_names.insert(1, "baseline");
    }
    let mut runs: BTreeMap<&str, Vec<Run>> = BTreeMap::new();
    let command = |name: &str, dead_letters: &Path| -> anyhow::Result<Command> {
        Ok(match (name, &baseline) {
            ("baseline", Some(binary)) => {
                let mut c = Command::new(binary);
                c.env("DEAD_LETTER_DIR", dead_letters).env("STORE_RIDES", "false");
                c
            }
            ("msk-consumer", _) => {
                let mut c = Command::new(&consumer);
                c.env("DEAD_LETTER_DIR", dead_letters).env("STORE_RIDES", "false");
                c
            }
            ("floor" | "floor+work", _) => {
                let mut c = Command::new(std::env::current_exe()?);
                c.arg(if name == "floor" { "--floor" } else { "--floor-work" });
                c.env("DEAD_LETTER_DIR", dead_letters).env("STORE_RIDES", "false");
                c
            }
            _ => {
                let mut c = Command::new(&python);
                c.args(["-m", "awslambdaric", "python_lambda.handler"])
                    .current_dir(root.join("bench"))
                    .env("PYTHONPATH", root.join("bench"))
                    .env("DEAD_LETTER_DIR", dead_letters)
                    .env("STORE_RIDES", "false");
                c
            }
        })
    };
    for round in 0..rounds {
        let mut rust = Vec::new();
        for &name in &rust_names {
            let dead_letters = scratch.join(format!("{name}-{round}"));
            rust.push(Function::start(name, command(name, &dead_letters)?, &event, dead_letters).await?);
        }
        interleave(&mut rust, &event, warm).await?;
        let dead_letters = scratch.join(format!("python-{round}"));
        let mut python_fn = Function::start("python", command("python", &dead_letters)?, &event, dead_letters).await?;
        interleave(std::slice::from_mut(&mut python_fn), &event, python_warm(warm)).await?;
        for function in rust.into_iter().chain([python_fn]) {
            let (name, run) = function.finish();
            eprintln!(
                "round {round} {name:>12}: init {:.2} ms, first {:.2} ms, warm best {:.2} ms",
                run.init_ms,
                run.first_ms,
                best(&run.warm_ms)
            );
            runs.entry(name).or_default().push(run);
        }
    }
    check_summaries_agree(&runs, &scratch, rounds)?;

    // First invocations are one per process, too few in the rounds to
    // compare two functions by: more fresh processes of the consumer and
    // the work floor, alternating, each only started and invoked once.
    let mut firsts: Vec<(f64, f64)> = Vec::new();
    for i in 0..firsts_per_run(rounds) {
        let mut pair = [0.0; 2];
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            let name = ["msk-consumer", "floor+work"][k];
            let dead_letters = scratch.join(format!("{name}-first-{i}"));
            let function = Function::start(name, command(name, &dead_letters)?, &event, dead_letters).await?;
            pair[k] = function.finish().1.first_ms;
        }
        firsts.push((pair[0], pair[1]));
    }

    report(&runs, &firsts, &event, &target)
}

/// Extra fresh processes for the first-invoke comparison: 20, or more with
/// more rounds.
fn firsts_per_run(rounds: usize) -> usize {
    (rounds * 4).max(20)
}

fn python_warm(warm: usize) -> usize {
    (warm / 3).max(3)
}

fn median_u64(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// `minflt` of /proc/PID/stat: the tenth field, the sixth after the
/// parenthesised command name.
fn minor_faults(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(7)?.parse().ok()))
        .unwrap_or(0)
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// One function process under its own Runtime API: init and first invoke
/// measured at start, warm invokes added by [`interleave`].
struct Function {
    name: &'static str,
    api: RuntimeApi,
    child: std::process::Child,
    dead_letters: PathBuf,
    run: Run,
}

impl Function {
    async fn start(name: &'static str, command: Command, event: &Bytes, dead_letters: PathBuf) -> anyhow::Result<Self> {
        let (api, mut child, init_ms) = launch(command).await.map_err(|e| e.context(name))?;
        let first = async {
            let before = minor_faults(child.id());
            let (first_ms, last_response) = api.invoke(event.clone()).await?;
            let first_faults = minor_faults(child.id()).saturating_sub(before);
            Ok::<_, anyhow::Error>(Run {
                init_ms,
                first_ms,
                warm_ms: Vec::new(),
                peak_rss_kib: 0,
                first_faults,
                warm_faults: Vec::new(),
                last_response,
            })
        }
        .await;
        match first {
            Ok(run) => Ok(Self { name, api, child, dead_letters, run }),
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(error.context(format!("{name}: first invoke")))
            }
        }
    }

    /// Each invocation starts with `dead_letters` empty (emptied while the
    /// function waits for its next event, outside the timing): in a stream
    /// every batch writes new objects. The same batch again would replace its
    /// objects, and replacing a file by rename makes ext4 start writing it
    /// back at once (`auto_da_alloc`): 2-3 ms here, a retry's cost and not a
    /// batch's.
    async fn invoke(&mut self, event: &Bytes) -> anyhow::Result<()> {
        let _ = std::fs::remove_dir_all(&self.dead_letters);
        let before = minor_faults(self.child.id());
        let (ms, response) = self.api.invoke(event.clone()).await.map_err(|e| e.context(self.name))?;
        self.run.warm_faults.push(minor_faults(self.child.id()).saturating_sub(before));
        self.run.warm_ms.push(ms);
        self.run.last_response = response;
        Ok(())
    }

    fn finish(mut self) -> (&'static str, Run) {
        self.run.peak_rss_kib = peak_rss_kib(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.name, self.run)
    }
}

/// `warm` invocations of each function, interleaved: invocation `i` of every
/// function runs before invocation `i + 1` of any, in an order that rotates,
/// so a burst of load on this shared machine falls on all of them alike and
/// invocation `i` of two functions can be compared as a pair.
async fn interleave(functions: &mut [Function], event: &Bytes, warm: usize) -> anyhow::Result<()> {
    for i in 0..warm {
        let n = functions.len();
        for k in 0..n {
            functions[(i + k) % n].invoke(event).await?;
        }
    }
    Ok(())
}

/// The consumer's summary and Python's, field by field (latency depends on
/// the clock and is left out), and the dead-letter files both wrote.
fn check_summaries_agree(runs: &BTreeMap<&str, Vec<Run>>, scratch: &Path, rounds: usize) -> anyhow::Result<()> {
    let (Some(rust), Some(python)) = (runs.get("msk-consumer"), runs.get("python")) else {
        anyhow::bail!("missing runs")
    };
    let (rust, python) = (&rust[0].last_response, &python[0].last_response);
    let fields = [
        "records",
        "rides",
        "legacyRides",
        "poison",
        "poisonByKind",
        "tombstones",
        "duplicates",
        "valueBytes",
        "ridesPerPickup",
        "ridesPerDestination",
        "partitions",
    ];
    for field in fields {
        anyhow::ensure!(
            rust[field] == python[field] && !rust[field].is_null(),
            "summaries differ in {field}: rust {} vs python {}",
            rust[field],
            python[field]
        );
    }
    let lines = |dir: PathBuf| -> usize {
        walk(&dir).iter().map(|f| std::fs::read_to_string(f).map_or(0, |s| s.lines().count())).sum()
    };
    for round in 0..rounds {
        let (r, p) =
            (lines(scratch.join(format!("msk-consumer-{round}"))), lines(scratch.join(format!("python-{round}"))));
        anyhow::ensure!(
            r > 0 && r % rust["poison"].as_u64().unwrap_or(1) as usize == 0,
            "rust dead letters: {r} lines"
        );
        anyhow::ensure!(
            p > 0 && p % python["poison"].as_u64().unwrap_or(1) as usize == 0,
            "python dead letters: {p} lines"
        );
    }
    println!("summaries agree: {}", fields.join(", "));
    Ok(())
}

/// The median over invocation pairs (the `i`-th warm invocation of `a` and
/// of `b` in the same round, run back to back) of `a − b`.
fn paired_median(runs: &BTreeMap<&str, Vec<Run>>, a: &str, b: &str) -> f64 {
    let (Some(a), Some(b)) = (runs.get(a), runs.get(b)) else { return f64::NAN };
    let differences: Vec<f64> =
        a.iter().zip(b).flat_map(|(a, b)| a.warm_ms.iter().zip(&b.warm_ms).map(|(x, y)| x - y)).collect();
    median(&differences)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()) {
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
    out
}

fn report(runs: &BTreeMap<&str, Vec<Run>>, firsts: &[(f64, f64)], event: &Bytes, target: &Path) -> anyhow::Result<()> {
    let figures = |name: &str| {
        let all = runs.get(name).cloned().unwrap_or_default();
        let warm: Vec<f64> = all.iter().flat_map(|r| r.warm_ms.iter().copied()).collect();
        json!({
            "init_ms_best": best(&all.iter().map(|r| r.init_ms).collect::<Vec<_>>()),
            "first_invoke_ms_best": best(&all.iter().map(|r| r.first_ms).collect::<Vec<_>>()),
            "first_invoke_ms_median": median(&all.iter().map(|r| r.first_ms).collect::<Vec<_>>()),
            "warm_best_ms": best(&warm),
            "warm_median_ms": median(&warm),
            "peak_rss_kib": all.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0),
            "first_invoke_minor_faults_median": median_u64(all.iter().map(|r| r.first_faults).collect()),
            "warm_minor_faults_median": median_u64(all.iter().flat_map(|r| r.warm_faults.iter().copied()).collect()),
        })
    };
    let (consumer, floor, work, python) =
        (figures("msk-consumer"), figures("floor"), figures("floor+work"), figures("python"));
    let baseline = runs.contains_key("baseline").then(|| figures("baseline"));
    println!("\n| function | init | first invoke | warm best | warm median | peak RSS | page faults first / warm |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut rows = vec![("msk-consumer (release)", &consumer)];
    rows.extend(baseline.as_ref().map(|b| ("baseline (BENCH_BASELINE_BIN)", b)));
    for (name, f) in rows.into_iter().chain([
        ("floor: body in, answer out", &floor),
        ("floor + parse + process_batch + dead-letter files", &work),
        ("python (awslambdaric)", &python),
    ]) {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.1} MiB | {} / {} |",
            f["init_ms_best"].as_f64().unwrap_or(f64::NAN),
            f["first_invoke_ms_best"].as_f64().unwrap_or(f64::NAN),
            f["warm_best_ms"].as_f64().unwrap_or(f64::NAN),
            f["warm_median_ms"].as_f64().unwrap_or(f64::NAN),
            f["peak_rss_kib"].as_u64().unwrap_or(0) as f64 / 1024.0,
            f["first_invoke_minor_faults_median"],
            f["warm_minor_faults_median"],
        );
    }
    let get = |f: &Value, k: &str| f[k].as_f64().unwrap_or(f64::NAN);
    let ratio = get(&python, "warm_best_ms") / get(&consumer, "warm_best_ms");
    let over_floor = get(&consumer, "warm_best_ms") - get(&floor, "warm_best_ms");
    let over_work = get(&consumer, "warm_best_ms") - get(&work, "warm_best_ms");
    let first_over_warm = get(&consumer, "first_invoke_ms_best") / get(&consumer, "warm_best_ms");
    let paired_work = paired_median(runs, "msk-consumer", "floor+work");
    let work_first_over_warm = get(&work, "first_invoke_ms_best") / get(&work, "warm_best_ms");
    let first_over_work = median(&firsts.iter().map(|(c, w)| c - w).collect::<Vec<_>>());
    let (consumer_first, work_first) = (
        median(&firsts.iter().map(|p| p.0).collect::<Vec<_>>()),
        median(&firsts.iter().map(|p| p.1).collect::<Vec<_>>()),
    );
    let first_median_over_warm = consumer_first / get(&consumer, "warm_best_ms");
    let work_first_median_over_warm = work_first / get(&work, "warm_best_ms");
    println!("\npython / msk-consumer (warm best): {ratio:.1}×");
    println!("msk-consumer − floor (warm best): {over_floor:.2} ms");
    println!("msk-consumer − work floor (warm best): {over_work:.2} ms");
    println!("msk-consumer − work floor (median of paired invocations): {paired_work:.2} ms");
    let paired_baseline = runs.contains_key("baseline").then(|| paired_median(runs, "msk-consumer", "baseline"));
    if let Some(d) = paired_baseline {
        println!("msk-consumer − baseline (median of paired invocations): {d:.2} ms");
    }
    println!("msk-consumer first invoke / warm best: {first_over_warm:.2}× (work floor: {work_first_over_warm:.2}×)");
    println!(
        "first invokes of {} fresh processes each: msk-consumer median {consumer_first:.2} ms ({first_median_over_warm:.2}× its warm best), work floor {work_first:.2} ms ({work_first_median_over_warm:.2}×); msk-consumer − work floor, median over pairs: {first_over_work:.2} ms",
        firsts.len()
    );
    let out = json!({
        "event_bytes": event.len(),
        "msk_consumer": consumer,
        "floor": floor,
        "floor_with_work": work,
        "python": python,
        "baseline": baseline,
        "consumer_minus_work_floor_ms": over_work,
        "consumer_minus_work_floor_paired_median_ms": paired_work,
        "consumer_minus_baseline_paired_median_ms": paired_baseline,
        "python_over_consumer": ratio,
        "consumer_minus_floor_ms": over_floor,
        "first_over_warm": first_over_warm,
        "work_floor_first_over_warm": work_first_over_warm,
        "consumer_minus_work_floor_first_invoke_median_ms": first_over_work,
        "first_invokes": { "pairs": firsts.len(), "msk_consumer_median_ms": consumer_first, "work_floor_median_ms": work_first },
    });
    std::fs::write(target.join("bench-lambda-path.json"), serde_json::to_vec_pretty(&out)?)?;
    Ok(())
}
