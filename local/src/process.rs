//! Child processes of the local stack that never outlive it: killed on drop,
//! and on Linux sent SIGTERM by the kernel if this process dies first.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

pub struct Service {
    name: String,
    child: Child,
}

impl Service {
    /// Starts `command` with piped stdin/stdout and waits (up to `timeout`) for
    /// a stdout line containing `ready_marker`; returns that line too.
    pub fn start(name: &str, mut command: Command, ready_marker: &str, timeout: Duration) -> anyhow::Result<(Self, String)> {
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        #[cfg(target_os = "linux")]
        unsafe {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| anyhow::anyhow!("starting {name}: {e}"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("{name}: no stdout"))?;
        let mut service = Self { name: name.to_owned(), child };
        let line = service.wait_for_line(stdout, ready_marker, timeout)?;
        Ok((service, line))
    }

    fn wait_for_line(&mut self, stdout: ChildStdout, marker: &str, timeout: Duration) -> anyhow::Result<String> {
        let (tx, rx) = std::sync::mpsc::channel();
        let marker = marker.to_owned();
        std::thread::spawn(move || {
            let mut found = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !found && line.contains(&marker) {
                    found = true;
                    let _ = tx.send(line);
                }
            }
        });
        rx.recv_timeout(timeout).map_err(|_| match self.child.try_wait() {
            Ok(Some(status)) => anyhow::anyhow!("{} exited ({status}) before it was ready", self.name),
            _ => anyhow::anyhow!("{} was not ready within {timeout:?}", self.name),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}
