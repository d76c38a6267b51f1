//! Following a run while the schedule produces: three progress bars (or a
//! line every 2 s without a terminal), the state file `local status` reads,
//! the pace timeline the report judges, and the optional kill of the hop.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use local::pace::Timeline;
use local::stack::LocalStack;
use local::state;
use tokio::task::JoinHandle;

use crate::run::StopSignals;

/// What [`follow`] watches for.
pub(crate) struct Follow<'a> {
    /// Rides the run ends at (`None`: until stopped).
    pub target: Option<u64>,
    pub deadline: Option<Instant>,
    /// Kill the hop once half the rides are in Kafka.
    pub kill_bridge: bool,
    pub data_dir: &'a Path,
    pub run_dir: &'a Path,
}

/// Follows the run until every ride is consumed, the deadline passes, a
/// part breaks or a stop signal comes; the state file then says
/// "stopping" (`local status` and `local down` still see the run while it
/// drains and reports; the file goes when the process does).
pub(crate) async fn follow(
    stack: &mut LocalStack,
    schedule: &JoinHandle<()>,
    poller: &JoinHandle<anyhow::Result<()>>,
    follow: Follow<'_>,
    started: Instant,
    stop: &mut StopSignals,
) -> anyhow::Result<Timeline> {
    let Follow { target, deadline, kill_bridge, data_dir, run_dir } = follow;
    let mut kill_pending = kill_bridge;
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:>18} {bar:40} {pos:>8}/{len:8} {per_sec}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = |name: &str| {
        bars.add(ProgressBar::new(target.unwrap_or(0)).with_style(style.clone()).with_prefix(name.to_owned()))
    };
    let (produced, kafka, consumed) = (bar("produced"), bar("in Kafka"), bar("consumed"));
    // Without a terminal the bars draw nothing: print a line every 2 s instead.
    let plain = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut next_line = Instant::now();
    let mut published = run_state(stack, run_dir);
    let mut next_publish = Instant::now();
    let mut written = 0;
    let mut next_count = Instant::now();
    let mut timeline = Timeline::default();
    loop {
        let sent = rides_produced(stack);
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
        let done = rides_taken(stack);
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
            published.counters = counters(stack, sent, written, done);
            state::write(data_dir, &published)?;
        }
        let finished = schedule.is_finished() && done >= sent && written >= sent;
        let broken = !stack.bridge_is_running() || poller.is_finished() || stack.function_host.is_finished();
        if finished || deadline.is_some_and(|d| Instant::now() > d) || broken {
            break;
        }
        if stop.pause(Duration::from_millis(250)).await {
            break;
        }
    }
    published.phase = "stopping".to_owned();
    state::write(data_dir, &published)?;
    for bar in [&produced, &kafka, &consumed] {
        bar.abandon();
    }
    Ok(timeline)
}

/// Rides in the stream so far: the schedule's and the warm-ups'.
pub(crate) fn rides_produced(stack: &LocalStack) -> u64 {
    let warm_up = u64::try_from(stack.warm_up_rides()).unwrap_or(u64::MAX);
    stack.schedule_stats.rides_sent.load(Ordering::Relaxed).saturating_add(warm_up)
}

/// Rides the consumer took so far, for progress: its summaries' count, or,
/// with partial batch responses (the template's setting, whose answers carry
/// no summary), the records it accepted. The report counts from the rides table.
pub(crate) fn rides_taken(stack: &LocalStack) -> u64 {
    let stats = &stack.esm_stats;
    stats.rides_consumed.load(Ordering::Relaxed).max(stats.records_delivered.load(Ordering::Relaxed))
}

/// What `local status` reads of a running stack: its endpoints.
fn run_state(stack: &LocalStack, run_dir: &Path) -> state::RunState {
    state::RunState {
        pid: std::process::id(),
        started_unix_ms: state::now_ms(),
        run_dir: run_dir.to_path_buf(),
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
    }
}

/// The live counters `local status` prints.
fn counters(stack: &LocalStack, produced: u64, in_kafka: u64, consumed: u64) -> state::Counters {
    let stats = &stack.esm_stats;
    state::Counters {
        produced,
        in_kafka,
        consumed,
        invocations: stats.invocations.load(Ordering::Relaxed),
        failed_invocations: stats.failed_invocations.load(Ordering::Relaxed),
        service_errors: stats.service_errors.load(Ordering::Relaxed),
        on_failure_records: stats.records_sent_on_failure.load(Ordering::Relaxed),
        function_host_pid: stack.watch.pid(),
        function_host_restarts: stack.watch.restarts(),
        updated_unix_ms: state::now_ms(),
    }
}
