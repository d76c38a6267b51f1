//! `local status` and `local down`: a running `demo` or `up`, seen and
//! stopped from another terminal through its state file (`local::state`).

use std::time::{Duration, Instant};

use local::state;

/// The state of a live run, or `None` (removing a stale file left by a crash).
pub(crate) fn live_state(data_dir: &std::path::Path) -> anyhow::Result<Option<state::RunState>> {
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

pub(crate) async fn status(data_dir: &std::path::Path) -> anyhow::Result<()> {
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
    let connector = match local::kafka::connect::connector_state(&http, &s.connect_endpoint).await {
        Ok(state) => format!(
            "connector {} {} (tasks: {})",
            local::kafka::connect::CONNECTOR_NAME,
            state.connector,
            state.tasks.join(", ")
        ),
        Err(_) => "connector unreachable".to_owned(),
    };
    let version =
        local::kafka::connect::plugin_version(&http, &s.connect_endpoint).await.unwrap_or_else(|_| "?".to_owned());
    format!("{worker}, {connector}, plugin {} {version}", pipeline_settings::connector::PLUGIN.artifact)
}

pub(crate) async fn down(data_dir: &std::path::Path, timeout: Duration) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::stopped_run_verdict;

    #[test]
    fn down_fails_when_the_stopped_run_lost_rides_or_left_no_report() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("report.json");
        std::fs::write(&path, r#"{"consumed": 10, "lost": 0, "onFailureRecords": 0}"#).expect("write");
        assert!(stopped_run_verdict(&path).expect("no loss").contains("lost 0"));
        std::fs::write(&path, r#"{"consumed": 7, "lost": 3, "onFailureRecords": 3}"#).expect("write");
        let error = stopped_run_verdict(&path).expect_err("loss").to_string();
        assert!(error.contains("3 rides were lost"), "{error}");
        std::fs::remove_file(&path).expect("remove");
        assert!(stopped_run_verdict(&path).is_err(), "no report is a failure too");
    }
}
