//! `cargo lambda watch`: the local Lambda runtime and Invoke API that runs
//! the functions from source, exactly as `cargo lambda invoke` and the AWS SDK
//! reach them. Bound to loopback; environment passed per function run.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::process::{free_port, Service};
use crate::tools;

pub struct LambdaWatch {
    service: Mutex<Option<Service>>,
    env_vars: Vec<String>,
    port: u16,
    log: PathBuf,
    restarts: AtomicU64,
    concurrency: usize,
}

/// How often [`supervise`] may restart the function host before it gives up:
/// a host that keeps dying is a broken build or machine, not a blip.
const MAX_RESTARTS: usize = 5;
const RESTART_WINDOW: Duration = Duration::from_secs(300);

impl LambdaWatch {
    /// Starts the runtime with `env` given to every function it runs, up to
    /// `concurrency` instances of each at once (as Lambda runs one
    /// environment per concurrent invocation). Functions compile on their
    /// first invocation (`cargo build`, sharing the target dir).
    pub fn start(env: &[(&str, String)], log: &Path, concurrency: usize) -> anyhow::Result<Self> {
        tools::cargo_lambda()?;
        let watch = Self {
            service: Mutex::new(None),
            env_vars: env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            port: free_port()?,
            log: log.to_path_buf(),
            restarts: AtomicU64::new(0),
            concurrency: concurrency.max(1),
        };
        watch.spawn()?;
        Ok(watch)
    }

    /// The most instances of one function it runs at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Starts `cargo lambda watch` on this host's port (again, after a crash:
    /// the Invoke API endpoint every client holds stays the same).
    fn spawn(&self) -> anyhow::Result<()> {
        let port = self.port;
        let mut command = tools::cargo();
        command.args(["lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", &port.to_string()]);
        command.args(["--concurrency", &self.concurrency.to_string()]);
        // `make demo` runs the functions optimised (profile `demo`); tests
        // share the workspace's debug build.
        if let Some(profile) = std::env::var("LOCAL_FUNCTIONS_PROFILE").ok().filter(|p| !p.is_empty()) {
            command.args(["--profile", &profile]);
        }
        for var in &self.env_vars {
            command.args(["--env-var", var]);
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let service =
            Service::start_listening("cargo lambda watch", command, &self.log, addr, Duration::from_secs(60))?;
        *self.service.lock().map_err(|_| anyhow::anyhow!("lambda watch state poisoned"))? = Some(service);
        Ok(())
    }

    /// Whether the host process is alive (reaping it if it exited, so a dead
    /// host is never a zombie that looks alive).
    pub fn is_running(&self) -> bool {
        self.service.lock().ok().and_then(|mut s| s.as_mut().map(Service::is_running)).unwrap_or(false)
    }

    pub fn pid(&self) -> Option<u32> {
        self.service.lock().ok()?.as_ref().map(Service::pid)
    }

    /// SIGKILLs the host, as a crash would; [`supervise`] starts it again.
    pub fn kill(&self) -> anyhow::Result<()> {
        let pid = self.pid().ok_or_else(|| anyhow::anyhow!("cargo lambda watch is not running"))?;
        crate::process::send_signal(pid, libc::SIGKILL)
            .map_err(|e| anyhow::anyhow!("kill -9 cargo lambda watch (pid {pid}): {e}"))
    }

    /// Times [`supervise`] restarted the host.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Lambda Invoke API endpoint, for `aws-sdk-lambda`'s `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Runs `cargo lambda invoke FUNCTION --data-file FILE` as a user would and
    /// returns its stdout (the function's response) or its stderr as the error.
    pub fn invoke_cli(&self, function: &str, data_file: &Path) -> anyhow::Result<String> {
        let output = tools::cargo()
            .args(["lambda", "invoke", function, "-A", "127.0.0.1", "-P", &self.port.to_string(), "--data-file"])
            .arg(data_file)
            .output()?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            anyhow::bail!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
        }
    }
}

/// Keeps the function host running: when `cargo lambda watch` exits (killed,
/// crashed), it is started again on the same port, while the mapping's
/// poller retries the batch it could not deliver (a service error, never
/// counted against its retries). Ends with `Ok` when the host is dropped (the
/// stack stopped), with an error when the host died more than
/// [`MAX_RESTARTS`] times in [`RESTART_WINDOW`]: the caller stops the
/// pipeline and says why.
pub async fn supervise(watch: Weak<LambdaWatch>) -> anyhow::Result<()> {
    let mut recent: Vec<Instant> = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Some(host) = watch.upgrade() else { return Ok(()) };
        if host.is_running() {
            continue;
        }
        recent.retain(|t| t.elapsed() < RESTART_WINDOW);
        anyhow::ensure!(
            recent.len() < MAX_RESTARTS,
            "cargo lambda watch exited {} times within {:?}; the pipeline is stopped (see {})",
            recent.len() + 1,
            RESTART_WINDOW,
            host.log().display()
        );
        recent.push(Instant::now());
        tracing::warn!(port = host.port(), "cargo lambda watch exited; starting it again on the same port");
        let restarted = Arc::clone(&host);
        // Waiting for the port is blocking (bounded by 60 s).
        tokio::task::spawn_blocking(move || restarted.spawn()).await??;
        host.restarts.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(pid = ?host.pid(), "cargo lambda watch restarted");
    }
}
