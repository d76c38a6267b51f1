//! What a running `local up` (or `local demo`) publishes about itself in the
//! data directory, so `local status` can show it and `local down` can stop
//! it from another terminal: its pid, the loopback endpoints to point tools
//! at, and counters refreshed every couple of seconds.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub produced: u64,
    pub in_kafka: u64,
    pub consumed: u64,
    pub invocations: u64,
    pub failed_invocations: u64,
    /// Invocations that never reached the function (host down), retried.
    #[serde(default)]
    pub service_errors: u64,
    #[serde(default)]
    pub on_failure_records: u64,
    #[serde(default)]
    pub function_host_pid: Option<u32>,
    #[serde(default)]
    pub function_host_restarts: u64,
    pub updated_unix_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    pub pid: u32,
    pub started_unix_ms: u64,
    pub run_dir: PathBuf,
    pub kinesis_endpoint: String,
    pub stream: String,
    pub kafka_bootstrap: String,
    pub topic: String,
    pub lambda_endpoint: String,
    /// Kafka Connect's REST API (the connector's worker).
    #[serde(default)]
    pub connect_endpoint: String,
    #[serde(default)]
    pub connect_pid: Option<u32>,
    /// The Kinesis → Kafka hop, as the report names it.
    #[serde(default)]
    pub bridge: String,
    /// What the run is doing: `running`, or `stopping` while it drains and reports.
    #[serde(default)]
    pub phase: String,
    pub counters: Counters,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a run state file ({source}): delete it if no `local up` is running")]
    Corrupt { path: PathBuf, source: serde_json::Error },
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("running.json")
}

pub fn now_ms() -> u64 {
    lambda_init::clock::epoch_ms_unsigned()
}

/// Written to a temporary file and renamed, so a reader never sees half.
pub fn write(data_dir: &Path, state: &RunState) -> Result<(), StateError> {
    let target = path(data_dir);
    let temporary = data_dir.join(format!(".running.json.{}", std::process::id()));
    let write = |p: &Path, bytes: &[u8]| std::fs::write(p, bytes);
    let bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
    write(&temporary, &bytes).map_err(|source| StateError::Write { path: temporary.clone(), source })?;
    std::fs::rename(&temporary, &target).map_err(|source| StateError::Write { path: target, source })
}

pub fn read(data_dir: &Path) -> Result<Option<RunState>, StateError> {
    let path = path(data_dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| StateError::Corrupt { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Read { path, source }),
    }
}

pub fn remove(data_dir: &Path) {
    let _ = std::fs::remove_file(path(data_dir));
}

/// Whether a process with this pid is running (signal 0 checks without
/// sending; an exited child its parent has not reaped yet is a zombie, not
/// running).
pub fn alive(pid: u32) -> bool {
    if crate::process::send_signal(pid, 0).is_err() {
        return false;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    state != Some("Z")
}

/// Asks the process to stop as Ctrl-C would (SIGTERM; `up` handles both).
pub fn terminate(pid: u32) -> std::io::Result<()> {
    crate::process::send_signal(pid, libc::SIGTERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_a_missing_or_corrupt_file_is_explained() {
        let scratch = tempfile::tempdir().expect("dir");
        let dir = scratch.path();
        assert_eq!(read(dir).expect("read"), None);
        let state = RunState {
            pid: std::process::id(),
            started_unix_ms: 1,
            run_dir: dir.join("run-1"),
            kinesis_endpoint: "http://127.0.0.1:1".into(),
            stream: "carrides".into(),
            kafka_bootstrap: "127.0.0.1:2".into(),
            topic: "carrides".into(),
            lambda_endpoint: "http://127.0.0.1:3".into(),
            connect_endpoint: "http://127.0.0.1:4".into(),
            connect_pid: None,
            bridge: "camel".into(),
            phase: "running".into(),
            counters: Counters { produced: 5, ..Counters::default() },
        };
        write(dir, &state).expect("write");
        assert_eq!(read(dir).expect("read"), Some(state));
        assert!(alive(std::process::id()));
        std::fs::write(path(dir), b"{").expect("corrupt");
        let err = read(dir).expect_err("corrupt");
        assert!(err.to_string().contains("is not a run state file"), "{err}");
        remove(dir);
    }
}
