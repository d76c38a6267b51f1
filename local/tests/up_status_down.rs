//! `local up` in the background, `local status` from another process while it
//! runs, `local down` to stop it: the stack stops cleanly (its report says
//! nothing was lost) and leaves no process behind.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn local(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_local")).arg("--data-dir").arg(data_dir).args(args).output().expect("run local")
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn counter(status: &str, name: &str) -> u64 {
    status
        .split(&format!("{name} "))
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn up_runs_in_the_background_status_reports_it_and_down_stops_it_cleanly() {
    let scratch = local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), "local-up").expect("scratch");
    let data_dir = scratch.path().join("data");
    assert!(stdout(&local(&data_dir, &["status"])).contains("not running"));

    let mut up = Command::new(env!("CARGO_BIN_EXE_local"))
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["up", "--rides-per-invoke", "50", "--invokes-per-second", "4"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(scratch.path().join("local-up.log")).expect("log file"))
        .spawn()
        .expect("spawn local up");

    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        let status = stdout(&local(&data_dir, &["status"]));
        if status.contains("running (pid") && counter(&status, "consumed") >= 100 {
            break status;
        }
        if let Ok(Some(exit)) = up.try_wait() {
            panic!("local up exited early ({exit})");
        }
        assert!(Instant::now() < deadline, "no rides consumed in time; last status:\n{status}");
        std::thread::sleep(Duration::from_secs(1));
    };
    for endpoint in ["kinesis   http://127.0.0.1:", "kafka     127.0.0.1:", "lambda    http://127.0.0.1:"] {
        assert!(status.contains(endpoint), "{status}");
    }
    let second = local(&data_dir, &["up"]);
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("a local stack is already running"));

    let down = local(&data_dir, &["down"]);
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    assert!(stdout(&down).contains("local stack stopped"));
    let exit = up.wait().expect("wait for up");
    let mut report = String::new();
    std::io::Read::read_to_string(up.stdout.as_mut().expect("stdout"), &mut report).expect("report");
    assert!(exit.success(), "local up failed after down:\n{report}");
    assert!(report.lines().any(|l| l.split_whitespace().eq(["lost", "0"])), "{report}");
    // Its services went with it: nothing listens on the published ports.
    for line in status.lines().filter(|l| l.trim_start().starts_with("kinesis") || l.trim_start().starts_with("lambda"))
    {
        let port = line.split("127.0.0.1:").nth(1).and_then(|r| r.split_whitespace().next()).expect("port");
        let addr = format!("127.0.0.1:{port}");
        assert!(std::net::TcpStream::connect(&addr).is_err(), "{addr} still listening after down");
    }
    assert!(stdout(&local(&data_dir, &["status"])).contains("not running"));
}
