//! `local`: the whole Kinesis → Kafka → Lambda pipeline on this machine.
//!
//!     cargo run -p local -- demo --rides 20000     # bounded run with a report (make demo)
//!     cargo run -p local -- up                     # run until Ctrl-C

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use local::kafka::Broker;
use local::report;
use local::stack::{BridgeKind, LocalStack, StackOptions};
use local::state;

#[derive(Parser)]
#[command(
    about = "Run the Kinesis → MSK → Lambda pipeline locally: kinesalite, Apache Kafka, Kafka Connect with the real Camel aws-kinesis-source connector, the event source mapping poller and both functions under cargo lambda watch. The connector plugin is fetched by its Maven coordinates from Maven Central, then MAVEN_EXTRA_REPOSITORIES."
)]
struct Cli {
    /// Where dead letters, logs and the on-failure objects go.
    #[arg(long, default_value = "local-data", global = true)]
    data_dir: PathBuf,
    /// The Kinesis → Kafka hop: the Camel connector on Kafka Connect, or the
    /// kinesis-forwarder function behind an emulated Kinesis event source mapping.
    #[arg(long, value_enum, env = "BRIDGE", default_value = "camel", global = true)]
    bridge: BridgeKind,
    /// The rides table's emulator: dynoxide (the fastest), dynalite, or moto.
    #[arg(long, value_enum, env = "RIDES_TABLE_EMULATOR", default_value = "dynoxide", global = true)]
    table: local::dynamodb::TableEmulator,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Produce a bounded number of rides, wait until they are consumed, print a report (exit 1 if any is lost).
    Demo {
        /// Rides to produce.
        #[arg(long, default_value_t = 20_000)]
        rides: u64,
        /// Rides per producer invocation (RIDES_PER_SCHEDULE).
        #[arg(long, default_value_t = 1_000)]
        rides_per_invoke: u32,
        /// Producer invocations per second (the schedule's rate).
        #[arg(long, default_value_t = 10.0)]
        invokes_per_second: f64,
        /// Give up waiting for the consumer after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// Kill the hop once half the rides are in Kafka (the Connect worker,
        /// or the forwarder's function host, SIGKILL) and let it come back:
        /// the report shows what it re-sent and every ride stored once anyway.
        #[arg(long, alias = "restart-connector")]
        kill_bridge: bool,
    },
    /// Run the pipeline until Ctrl-C, producing continuously.
    /// Run the pipeline until stopped (Ctrl-C, or `local down` from another terminal), then report.
    Up {
        #[arg(long, default_value_t = 100)]
        rides_per_invoke: u32,
        #[arg(long, default_value_t = 1.0)]
        invokes_per_second: f64,
    },
    /// Is a `local up` or `local demo` running from this data directory? Its endpoints and counters.
    Status,
    /// Stop the running `local up` (as Ctrl-C would: it reports, then stops every process).
    Down {
        /// Seconds to wait for it to finish its report.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
}

/// A failure is the reason and what to do, never a backtrace (which
/// `anyhow` prints whenever the environment sets `RUST_BACKTRACE`).
fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_cli()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run_cli() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("LOCAL_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Demo { rides, rides_per_invoke, invokes_per_second, timeout, kill_bridge } => {
            let invocations = rides.div_ceil(u64::from(rides_per_invoke));
            let run_options = RunOptions {
                rides_per_invoke,
                rate: invokes_per_second,
                invocations: Some(invocations),
                timeout: Duration::from_secs(timeout),
                kill_bridge,
                bridge: cli.bridge,
                table: cli.table,
            };
            run(cli.data_dir, run_options).await
        }
        Command::Up { rides_per_invoke, invokes_per_second } => {
            let run_options = RunOptions {
                rides_per_invoke,
                rate: invokes_per_second,
                invocations: None,
                timeout: Duration::MAX,
                kill_bridge: false,
                bridge: cli.bridge,
                table: cli.table,
            };
            run(cli.data_dir, run_options).await
        }
        Command::Status => status(&cli.data_dir).await,
        Command::Down { timeout } => down(&cli.data_dir, Duration::from_secs(timeout)).await,
    }
}

/// The state of a live run, or `None` (removing a stale file left by a crash).
fn live_state(data_dir: &std::path::Path) -> anyhow::Result<Option<state::RunState>> {
    match state::read(data_dir)? {
        Some(s) if state::alive(s.pid) => Ok(Some(s)),
        Some(stale) => {
            eprintln!("(removing a stale state file of pid {}, which is gone)", stale.pid);
            state::remove(data_dir);
            Ok(None)
        }
        None => Ok(None),
    }
}

async fn status(data_dir: &std::path::Path) -> anyhow::Result<()> {
    let Some(s) = live_state(data_dir)? else {
        println!("local stack: not running (from {}); start it with `make local-up`", data_dir.display());
        return Ok(());
    };
    let c = &s.counters;
    let age = |ms: u64| (state::now_ms().saturating_sub(ms)) as f64 / 1000.0;
    println!(
        "local stack: {} (pid {}, up {:.0}s, data in {})",
        if s.phase.is_empty() { "running" } else { s.phase.as_str() },
        s.pid,
        age(s.started_unix_ms),
        s.run_dir.display()
    );
    println!("  hop       {}", s.bridge);
    println!("  kinesis   {}  stream {}", s.kinesis_endpoint, s.stream);
    println!("  kafka     {}  topic {}", s.kafka_bootstrap, s.topic);
    if !s.connect_endpoint.is_empty() {
        println!("  connect   {}  (Kafka Connect REST API)", s.connect_endpoint);
        println!("            {}", connect_status(&s).await);
    }
    println!("  lambda    {}  (Invoke API of cargo lambda watch)", s.lambda_endpoint);
    match c.function_host_pid {
        Some(pid) if state::alive(pid) => {
            println!("            function host pid {pid}, restarted {} times", c.function_host_restarts)
        }
        _ => println!("            function host NOT RUNNING (restarted {} times)", c.function_host_restarts),
    }
    println!(
        "  produced {}  in Kafka {}  consumed {}  invocations {} (failed {}, not reaching the function {})  on-failure records {}  as of {:.1}s ago",
        c.produced,
        c.in_kafka,
        c.consumed,
        c.invocations,
        c.failed_invocations,
        c.service_errors,
        c.on_failure_records,
        age(c.updated_unix_ms)
    );
    Ok(())
}

/// The worker's process, the connector's and task's states, and the plugin version, from its REST API.
async fn connect_status(s: &state::RunState) -> String {
    let worker = match s.connect_pid {
        Some(pid) if state::alive(pid) => format!("worker pid {pid}"),
        _ => "worker NOT RUNNING".to_owned(),
    };
    let Ok(http) = reqwest::Client::builder().timeout(Duration::from_secs(5)).build() else {
        return worker;
    };
    let connector = match local::connect::connector_state(&http, &s.connect_endpoint).await {
        Ok(state) => format!(
            "connector {} {} (tasks: {})",
            local::connect::CONNECTOR_NAME,
            state.connector,
            state.tasks.join(", ")
        ),
        Err(_) => "connector unreachable".to_owned(),
    };
    let version = local::connect::plugin_version(&http, &s.connect_endpoint).await.unwrap_or_else(|_| "?".to_owned());
    format!("{worker}, {connector}, plugin {} {version}", pipeline_settings::connector::PLUGIN.artifact)
}

async fn down(data_dir: &std::path::Path, timeout: Duration) -> anyhow::Result<()> {
    let Some(s) = live_state(data_dir)? else {
        println!("local stack: not running; nothing to stop");
        return Ok(());
    };
    state::terminate(s.pid)?;
    let deadline = Instant::now() + timeout;
    while state::alive(s.pid) {
        anyhow::ensure!(Instant::now() < deadline, "pid {} still running after {timeout:?}", s.pid);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The stopped run wrote its report: `down` fails as the run did.
    let line = stopped_run_verdict(&s.run_dir.join("report.json"))?;
    println!("{line}");
    Ok(())
}

/// What `local down` says of the run it stopped, from the report the run
/// wrote as it stopped: an error when it lost rides or wrote no report.
fn stopped_run_verdict(path: &std::path::Path) -> anyhow::Result<String> {
    let report: serde_json::Value = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)?,
        Err(e) => anyhow::bail!("local stack stopped without a report ({}: {e}); see its terminal", path.display()),
    };
    let lost = report["lost"].as_u64().unwrap_or(0);
    anyhow::ensure!(lost == 0, "local stack stopped: {lost} rides were lost (report in {})", path.display());
    Ok(format!(
        "local stack stopped: {} rides consumed, lost 0, on-failure records {} (report in {})",
        report["consumed"],
        report["onFailureRecords"],
        path.display()
    ))
}

/// What a `demo` or `up` run does.
struct RunOptions {
    rides_per_invoke: u32,
    /// Producer invocations per second.
    rate: f64,
    /// `None`: until stopped.
    invocations: Option<u64>,
    timeout: Duration,
    /// Kill the hop (SIGKILL) once half the rides are in Kafka.
    kill_bridge: bool,
    bridge: BridgeKind,
    table: local::dynamodb::TableEmulator,
}

async fn run(data_dir: PathBuf, run_options: RunOptions) -> anyhow::Result<()> {
    let RunOptions { rides_per_invoke, rate, invocations, timeout, kill_bridge, bridge, table } = run_options;
    let mut kill_pending = kill_bridge;
    if let Some(running) = live_state(&data_dir)? {
        anyhow::bail!(
            "a local stack is already running from {} (pid {}): `make local-down` first, or pass another --data-dir",
            data_dir.display(),
            running.pid
        );
    }
    let run_dir = data_dir.join(format!("run-{}", std::process::id()));
    let mut options = StackOptions::new(&run_dir);
    options.rides_per_schedule = rides_per_invoke;
    options.bridge = bridge;
    options.table = table;
    build_functions()?;
    let broker = Broker::from_env(3, &run_dir)?;
    eprintln!(
        "starting: kinesalite, {}, {}, the rides table on {}, cargo lambda watch (data in {})",
        broker.describe(),
        match bridge {
            BridgeKind::Camel => "Kafka Connect with the Camel connector",
            BridgeKind::Lambda => "the kinesis-forwarder behind the (emulated) Kinesis event source mapping",
        },
        table.name(),
        run_dir.display()
    );
    let mut stack = LocalStack::start(options, broker).await?;
    match stack.connect() {
        Some(_) => print_connector(&stack).await,
        None => eprintln!("hop: {}", stack.describe_bridge()),
    }
    let spinner = ProgressBar::new_spinner().with_message("starting the functions...");
    spinner.enable_steady_tick(Duration::from_millis(120));
    stack.warm_up().await?;
    spinner.finish_with_message("functions ready");

    let poller = stack.spawn_poller(stack.esm_settings())?;
    stack.wait_for_poller(Duration::from_secs(60)).await?;
    let started = Instant::now();
    let every = Duration::from_secs_f64(1.0 / rate.max(0.01));
    let schedule = stack.spawn_schedule(every, invocations);

    // The producer's warm-ups are rides in the stream too.
    let warm_up_rides = u64::try_from(stack.warm_up_rides()).unwrap_or(u64::MAX);
    let target = invocations.map(|n| n * u64::from(rides_per_invoke) + warm_up_rides);
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:>18} {bar:40} {pos:>8}/{len:8} {per_sec}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = |name: &str| {
        bars.add(ProgressBar::new(target.unwrap_or(0)).with_style(style.clone()).with_prefix(name.to_owned()))
    };
    let (produced, kafka, consumed) = (bar("produced"), bar("in Kafka"), bar("consumed"));
    let deadline = Instant::now().checked_add(timeout);
    // Without a terminal the bars draw nothing: print a line every 2 s instead.
    let plain = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut next_line = Instant::now();
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    let mut terminated = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut published = state::RunState {
        pid: std::process::id(),
        started_unix_ms: state::now_ms(),
        run_dir: run_dir.clone(),
        kinesis_endpoint: stack.kinesis_emulator.endpoint(),
        stream: stack.options.stream.clone(),
        kafka_bootstrap: stack.broker.bootstrap_servers(),
        topic: stack.options.topic.clone(),
        lambda_endpoint: stack.watch.endpoint(),
        connect_endpoint: stack.connect().map(|c| c.rest_endpoint()).unwrap_or_default(),
        connect_pid: stack.connect().and_then(|c| c.pid()),
        bridge: stack.describe_bridge(),
        phase: "running".to_owned(),
        counters: state::Counters::default(),
    };
    let mut next_publish = Instant::now();
    let mut written = 0;
    let mut next_count = Instant::now();
    let mut timeline = local::pace::Timeline::default();
    loop {
        let sent = stack.schedule_stats.rides_sent.load(Ordering::Relaxed) + warm_up_rides;
        if Instant::now() >= next_count {
            next_count += Duration::from_secs(1);
            written = stack.records_in_kafka().unwrap_or(written);
        }
        if kill_pending && target.is_some_and(|t| written >= t / 2) {
            kill_pending = false;
            bars.suspend(|| match stack.connect() {
                Some(_) => eprintln!("restarting the Kafka Connect worker (SIGKILL, then start) with {written} records in Kafka: its task will re-send the stream"),
                None => eprintln!("killing the forwarder's function host (SIGKILL) with {written} records in Kafka: the mapping retries the batches it lost"),
            });
            stack.kill_bridge().await?;
            published.connect_pid = stack.connect().and_then(|c| c.pid());
        }
        let done = rides_taken(&stack);
        if let Some(target) = target {
            timeline.observe(started.elapsed(), target, sent, written, done);
        }
        for (bar, value) in [(&produced, sent), (&kafka, written), (&consumed, done)] {
            if target.is_none() {
                bar.set_length(sent.max(value));
            }
            bar.set_position(value);
        }
        if plain && Instant::now() >= next_line {
            next_line += Duration::from_secs(2);
            eprintln!(
                "{:>6.1}s produced {sent:>7}  in Kafka {written:>7}  consumed {done:>7}  (invocations {}, failed {})",
                started.elapsed().as_secs_f64(),
                stack.esm_stats.invocations.load(Ordering::Relaxed),
                stack.esm_stats.failed_invocations.load(Ordering::Relaxed)
            );
        }
        if Instant::now() >= next_publish {
            next_publish += Duration::from_secs(2);
            published.counters = state::Counters {
                produced: sent,
                in_kafka: written,
                consumed: done,
                invocations: stack.esm_stats.invocations.load(Ordering::Relaxed),
                failed_invocations: stack.esm_stats.failed_invocations.load(Ordering::Relaxed),
                service_errors: stack.esm_stats.service_errors.load(Ordering::Relaxed),
                on_failure_records: stack.esm_stats.records_sent_on_failure.load(Ordering::Relaxed),
                function_host_pid: stack.watch.pid(),
                function_host_restarts: stack.watch.restarts(),
                updated_unix_ms: state::now_ms(),
            };
            state::write(&data_dir, &published)?;
        }
        let finished = schedule.is_finished() && done >= sent && written >= sent;
        let broken = !stack.bridge_is_running() || poller.is_finished() || stack.function_host.is_finished();
        if finished || deadline.is_some_and(|d| Instant::now() > d) || broken {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = &mut interrupted => break,
            _ = terminated.recv() => break,
        }
    }
    // `local status` and `local down` still see the run while it drains
    // and reports; the file goes when the process does.
    published.phase = "stopping".to_owned();
    state::write(&data_dir, &published)?;
    let elapsed = started.elapsed().as_secs_f64();
    for bar in [&produced, &kafka, &consumed] {
        bar.abandon();
    }
    schedule.abort();
    // Stopped early (Ctrl-C, `local down`): let what is already in Kinesis
    // reach the consumer before the report, rather than count it as lost.
    // Another Ctrl-C or SIGTERM (`local down`) ends the draining at once.
    let drain_until = Instant::now() + Duration::from_secs(30);
    tokio::time::sleep(Duration::from_secs(1)).await;
    while Instant::now() < drain_until && stack.bridge_is_running() && !poller.is_finished() {
        let sent = stack.schedule_stats.rides_sent.load(Ordering::Relaxed) + warm_up_rides;
        let written = stack.records_in_kafka().unwrap_or(0);
        let done = rides_taken(&stack);
        if written >= sent && done >= written {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = &mut interrupted => break,
            _ = terminated.recv() => break,
        }
    }
    // Let in-flight batches finish before reading the rides table.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Stop the poller before the stack (and the mock cluster) goes away.
    poller.abort();
    let _ = poller.await;

    let report = tokio::select! {
        report = report::of_stack(&stack, elapsed) => report,
        _ = terminated.recv() => {
            state::remove(&data_dir);
            anyhow::bail!("stopped (SIGTERM) before the report was read");
        }
    };
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            state::remove(&data_dir);
            return Err(e);
        }
    };
    println!("\n{report}");
    if report.on_failure_records > 0 {
        println!(
            "on-failure objects    {} (AWS's invocation record for Kafka, one per batch)",
            stack.on_failure_dir().display()
        );
    }
    println!(
        "function host         cargo lambda watch at {}, restarted {} times; {} invocations did not reach it (retried)",
        stack.watch.endpoint(),
        stack.watch.restarts(),
        stack.esm_stats.service_errors.load(Ordering::Relaxed)
    );
    println!("broker                {}", stack.broker.describe());
    let in_kafka = stack.records_in_kafka().unwrap_or(0);
    let resent = in_kafka.saturating_sub((report.in_kinesis + report.poison_in_kinesis) as u64);
    match (stack.connect(), stack.forwarder()) {
        (Some(connect), _) => {
            println!("hop                   Camel: {}", connect.describe());
            if connect.restarts() > 0 {
                println!(
                    "                      restarted {} time(s) mid-stream (SIGKILL): the task re-sent the stream; the consumer counted {} redundant deliveries, the table holds each ride once",
                    connect.restarts(),
                    report.duplicates
                );
            }
            println!(
                "                      plugin version {} (as the worker lists it), {in_kafka} records in Kafka ({resent} duplicates), {} dropped in the task's hand-off",
                connect.plugin_version().await.unwrap_or_else(|e| format!("unknown ({e})")),
                connect.dropped_in_handoff()
            );
        }
        (None, Some(hop)) => {
            let stats = &hop.stats;
            println!("hop                   {}", stack.describe_bridge());
            println!(
                "                      {in_kafka} records in Kafka ({resent} duplicates); {} invocations ({} failed or partly failed, {} not reaching the function, {} bisections), {} records sent to the on-failure destination",
                stats.invocations.load(Ordering::Relaxed),
                stats.failed_invocations.load(Ordering::Relaxed),
                stats.service_errors.load(Ordering::Relaxed),
                stats.bisections.load(Ordering::Relaxed),
                stats.records_sent_on_failure.load(Ordering::Relaxed)
            );
        }
        (None, None) => {}
    }
    println!("mapping               the template's: {}", stack.esm_settings().describe());
    print_where_the_rides_went(&stack, &report, &timeline);
    println!("alarms                the template's, as this run would have raised them (docs/operating.md):");
    for line in local::signals::lines(&stack, &report) {
        println!("{line}");
    }
    println!("(details: {})", run_dir.display());
    std::fs::write(run_dir.join("report.json"), serde_json::to_vec_pretty(&report)?)?;
    state::remove(&data_dir);
    if stack.function_host.is_finished() {
        if let Ok(Err(error)) = (&mut stack.function_host).await {
            anyhow::bail!("{error:#}");
        }
    }
    anyhow::ensure!(report.lost == 0, "{} rides were lost", report.lost);
    Ok(())
}

/// The rides table's side of the run, and the stage that bounded its pace.
fn print_where_the_rides_went(
    stack: &LocalStack,
    report: &local::report::PipelineReport,
    timeline: &local::pace::Timeline,
) {
    let log = stack.watch.log();
    let total = |metric: &str| local::report::emf_total(log, metric);
    println!(
        "rides table           {} on {}: {} items; the consumer's writes: {} taken, {} refused as already stored, {} refused as a changed ride, {} not answered in time",
        stack.options.rides_table,
        stack.table.describe(),
        report.consumed + report.not_from_stream,
        total("StoredRides"),
        total("DuplicateRides"),
        total("ConflictingRides"),
        total("RidesNotStored"),
    );
    let stats = &stack.esm_stats;
    let consumer = local::pace::ConsumerSide {
        invoking: Duration::from_micros(stats.invoke_micros.load(Ordering::Relaxed)),
        storing: Duration::from_secs_f64(total("StoreMilliseconds") / 1e3),
        // Five per poller, one per partition (`local::esm::lanes`).
        concurrency: local::esm::lanes::max_concurrent_invocations(stack.esm_settings().maximum_pollers)
            .min(usize::try_from(stack.options.partitions).unwrap_or(1)),
    };
    match local::pace::bounding_stage(timeline, &consumer) {
        Some((_, why)) => println!("pace bounded by       {why}"),
        None => println!("pace bounded by       (not known: a stage never held every ride)"),
    }
}

/// Builds both functions the way `cargo lambda watch` will run them, with
/// cargo's own progress on screen, before any clock starts: on a fresh clone
/// the first build takes minutes, which an invocation must not wait for.
fn build_functions() -> anyhow::Result<()> {
    eprintln!("building the functions (producer, kinesis-forwarder, msk-consumer) as cargo lambda watch runs them...");
    let mut command = local::tools::cargo();
    command.args(["build", "--bin", "producer", "--bin", "kinesis-forwarder", "--bin", "msk-consumer"]);
    if let Some(profile) = std::env::var("LOCAL_FUNCTIONS_PROFILE").ok().filter(|p| !p.is_empty()) {
        command.args(["--profile", &profile]);
    }
    let status = command.status().map_err(|e| anyhow::anyhow!("running cargo build: {e}"))?;
    anyhow::ensure!(status.success(), "building the functions failed ({status}): see cargo's output above");
    Ok(())
}

/// The connector's properties: the template's, and what only this loopback run adds.
async fn print_connector(stack: &LocalStack) {
    let Some(connect) = stack.connect() else { return };
    let version = connect.plugin_version().await.unwrap_or_else(|e| format!("unknown ({e})"));
    eprintln!("connector: {}, plugin version {version}, task RUNNING", connect.describe());
    eprintln!("  properties (pipeline_settings::connector, as the template deploys them):");
    for (key, value) in &connect.config {
        if !connect.local_only.iter().any(|(k, _, _)| k == key) {
            eprintln!("    {key}={value}");
        }
    }
    eprintln!("  added for this loopback run only:");
    for (key, value, why) in &connect.local_only {
        eprintln!("    {key}={value}    ({why})");
    }
}

/// Rides the consumer took so far, for progress: its summaries' count, or,
/// with partial batch responses (the template's setting, whose answers carry
/// no summary), the records it accepted. The report counts from the rides table.
fn rides_taken(stack: &LocalStack) -> u64 {
    let stats = &stack.esm_stats;
    stats.rides_consumed.load(Ordering::Relaxed).max(stats.records_delivered.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::stopped_run_verdict;

    #[test]
    fn down_fails_when_the_stopped_run_lost_rides_or_left_no_report() {
        let dir = std::env::temp_dir().join(format!("down-verdict-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("report.json");
        std::fs::write(&path, r#"{"consumed": 10, "lost": 0, "onFailureRecords": 0}"#).expect("write");
        assert!(stopped_run_verdict(&path).expect("no loss").contains("lost 0"));
        std::fs::write(&path, r#"{"consumed": 7, "lost": 3, "onFailureRecords": 3}"#).expect("write");
        let error = stopped_run_verdict(&path).expect_err("loss").to_string();
        assert!(error.contains("3 rides were lost"), "{error}");
        std::fs::remove_file(&path).expect("remove");
        assert!(stopped_run_verdict(&path).is_err(), "no report is a failure too");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
