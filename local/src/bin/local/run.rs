//! A `demo` or `up` run: start the stack and warm the functions, run the
//! schedule while [`crate::progress`] follows it, drain what is already in
//! Kinesis once it stops, then read the report and print it
//! ([`crate::summary`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use local::kafka::Broker;
use local::report;
use local::stack::{BridgeKind, LocalStack, StackOptions};
use local::state;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::control::live_state;
use crate::progress::{self, Follow};

/// What a `demo` or `up` run does.
pub(crate) struct RunOptions {
    pub rides_per_invoke: u32,
    /// Producer invocations per second.
    pub rate: f64,
    /// `None`: until stopped.
    pub invocations: Option<u64>,
    pub timeout: Duration,
    /// Kill the hop (SIGKILL) once half the rides are in Kafka.
    pub kill_bridge: bool,
    pub bridge: BridgeKind,
    pub table: local::dynamodb::TableEmulator,
}

/// Ctrl-C (SIGINT) and SIGTERM (`local down`): each asks the run to stop,
/// and a second one ends the draining at once.
pub(crate) struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    fn new() -> std::io::Result<Self> {
        Ok(Self { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    /// Waits `pause`; true when a stop signal came first.
    pub(crate) async fn pause(&mut self, pause: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(pause) => false,
            _ = self.interrupt.recv() => true,
            _ = self.terminate.recv() => true,
        }
    }
}

pub(crate) async fn run(data_dir: PathBuf, run_options: RunOptions) -> anyhow::Result<()> {
    if let Some(running) = live_state(&data_dir)? {
        anyhow::bail!(
            "a local stack is already running from {} (pid {}): `make local-down` first, or pass another --data-dir",
            data_dir.display(),
            running.pid
        );
    }
    let run_dir = data_dir.join(format!("run-{}", std::process::id()));
    let mut stack = start(&run_dir, &run_options).await?;
    let poller = stack.spawn_poller(stack.esm_settings())?;
    stack.wait_for_poller(Duration::from_secs(60)).await?;
    let started = Instant::now();
    let every = Duration::from_secs_f64(1.0 / run_options.rate.max(0.01));
    let schedule = stack.spawn_schedule(every, run_options.invocations);
    // The producer's warm-ups are rides in the stream too.
    let warm_up_rides = u64::try_from(stack.warm_up_rides()).unwrap_or(u64::MAX);
    let mut stop = StopSignals::new()?;
    let follow = Follow {
        target: run_options.invocations.map(|n| n * u64::from(run_options.rides_per_invoke) + warm_up_rides),
        deadline: Instant::now().checked_add(run_options.timeout),
        kill_bridge: run_options.kill_bridge,
        data_dir: &data_dir,
        run_dir: &run_dir,
    };
    let timeline = progress::follow(&mut stack, &schedule, &poller, follow, started, &mut stop).await?;
    let elapsed = started.elapsed().as_secs_f64();
    schedule.abort();
    drain(&stack, &poller, &mut stop).await;
    // Stop the poller before the stack (and the mock cluster) goes away.
    poller.abort();
    let _ = poller.await;

    let report = tokio::select! {
        report = report::of_stack(&stack, elapsed) => report,
        _ = stop.terminate.recv() => Err(anyhow::anyhow!("stopped (SIGTERM) before the report was read")),
    };
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            state::remove(&data_dir);
            return Err(e);
        }
    };
    crate::summary::print(&stack, &report, &timeline).await;
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

/// Builds the functions, starts every part and warms every function
/// instance, all before the run's clock starts.
async fn start(run_dir: &Path, run_options: &RunOptions) -> anyhow::Result<LocalStack> {
    let mut options = StackOptions::new(run_dir);
    options.rides_per_schedule = run_options.rides_per_invoke;
    options.bridge = run_options.bridge;
    options.table = run_options.table;
    build_functions()?;
    let broker = Broker::from_env(3, run_dir)?;
    eprintln!(
        "starting: kinesalite, {}, {}, the rides table on {}, cargo lambda watch (data in {})",
        broker.describe(),
        match run_options.bridge {
            BridgeKind::Camel => "Kafka Connect with the Camel connector",
            BridgeKind::Lambda => "the kinesis-forwarder behind the (emulated) Kinesis event source mapping",
        },
        run_options.table.name(),
        run_dir.display()
    );
    let stack = LocalStack::start(options, broker).await?;
    match stack.connect() {
        Some(_) => crate::summary::print_connector(&stack).await,
        None => eprintln!("hop: {}", stack.describe_bridge()),
    }
    let spinner = ProgressBar::new_spinner().with_message("starting the functions...");
    spinner.enable_steady_tick(Duration::from_millis(120));
    stack.warm_up().await?;
    spinner.finish_with_message("functions ready");
    Ok(stack)
}

/// Stopped early (Ctrl-C, `local down`): let what is already in Kinesis
/// reach the consumer before the report, rather than count it as lost.
/// Another stop signal ends the draining at once.
async fn drain(stack: &LocalStack, poller: &tokio::task::JoinHandle<anyhow::Result<()>>, stop: &mut StopSignals) {
    let drain_until = Instant::now() + Duration::from_secs(30);
    tokio::time::sleep(Duration::from_secs(1)).await;
    while Instant::now() < drain_until && stack.bridge_is_running() && !poller.is_finished() {
        let sent = progress::rides_produced(stack);
        let written = stack.records_in_kafka().unwrap_or(0);
        if written >= sent && progress::rides_taken(stack) >= written {
            break;
        }
        if stop.pause(Duration::from_millis(250)).await {
            break;
        }
    }
    // Let in-flight batches finish before reading the rides table.
    tokio::time::sleep(Duration::from_secs(1)).await;
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
