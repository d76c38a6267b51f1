//! `local`: the whole Kinesis → Kafka → Lambda pipeline on this machine.
//!
//!     cargo run -p local -- demo --rides 20000     # bounded run with a report (make demo)
//!     cargo run -p local -- up                     # run until Ctrl-C
//!
//! This file is the command line; [`run`] is a `demo` or `up` run (start,
//! [`progress`], drain, [`summary`]), [`control`] the `status` and `down`
//! commands that talk to a run from another terminal.

mod control;
mod progress;
mod run;
mod summary;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use local::stack::BridgeKind;
use run::RunOptions;

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
            run::run(cli.data_dir, run_options).await
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
            run::run(cli.data_dir, run_options).await
        }
        Command::Status => control::status(&cli.data_dir).await,
        Command::Down { timeout } => control::down(&cli.data_dir, Duration::from_secs(timeout)).await,
    }
}
