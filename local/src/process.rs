//! Child processes of the local stack that never outlive it: killed on drop,
//! and on Linux sent SIGTERM by the kernel if this process dies first.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Service {
    name: String,
    child: Child,
}

impl Service {
    /// Starts `command` with piped stdin/stdout and waits (up to `timeout`) for
    /// a stdout line containing `ready_marker`; returns that line too.
    pub fn start(
        name: &str,
        mut command: Command,
        ready_marker: &str,
        timeout: Duration,
    ) -> anyhow::Result<(Self, String)> {
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = spawn(name, command)?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("{name}: no stdout"))?;
        let mut service = Self { name: name.to_owned(), child };
        let line = service.wait_for_line(stdout, ready_marker, timeout)?;
        Ok((service, line))
    }

    /// Starts `command` with stdout and stderr appended to `log`, and waits
    /// (up to `timeout`) until something accepts connections on `addr`.
    pub fn start_listening(
        name: &str,
        mut command: Command,
        log: &Path,
        addr: SocketAddr,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
        command.stdin(Stdio::piped()).stdout(file.try_clone()?).stderr(file);
        let child = spawn(name, command)?;
        let mut service = Self { name: name.to_owned(), child };
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = service.child.try_wait() {
                anyhow::bail!("{name} exited ({status}) before it listened on {addr}; see {}", log.display());
            }
            if started.elapsed() > timeout {
                anyhow::bail!("{name} did not listen on {addr} within {timeout:?}; see {}", log.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(service)
    }

    fn wait_for_line(&mut self, stdout: ChildStdout, marker: &str, timeout: Duration) -> anyhow::Result<String> {
        let (tx, rx) = std::sync::mpsc::channel();
        let marker = marker.to_owned();
        // Keeps draining stdout after the marker so the child never blocks on a full pipe.
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

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `signal` to the process `pid` (signal 0 only asks whether it
/// exists): the one place the local stack signals a process.
#[allow(unsafe_code)]
pub fn send_signal(pid: u32, signal: libc::c_int) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| std::io::Error::other(format!("pid {pid} out of range")))?;
    // SAFETY: kill(2) takes two integers and touches none of our memory.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[allow(unsafe_code)]
fn spawn(name: &str, mut command: Command) -> anyhow::Result<Child> {
    #[cfg(target_os = "linux")]
    unsafe {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    spawner()
        .and_then(|spawner| {
            let (reply, answer) = std::sync::mpsc::channel();
            spawner.send((command, reply)).ok()?;
            // fork + exec takes milliseconds; never wait forever on it.
            answer.recv_timeout(Duration::from_secs(60)).ok()
        })
        .unwrap_or_else(|| Err(std::io::Error::other("the spawner thread is gone or did not answer")))
        .map_err(|e| anyhow::anyhow!("starting {name}: {e}"))
}

type SpawnRequest = (Command, std::sync::mpsc::Sender<std::io::Result<Child>>);

/// The kernel's parent-death signal follows the *thread* that forked, not
/// the process: a child started from a short-lived thread (a test's, a
/// blocking task's) would be killed when that thread ends. So every child is
/// forked by one thread that lives as long as the process.
fn spawner() -> Option<std::sync::mpsc::Sender<SpawnRequest>> {
    static SPAWNER: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<SpawnRequest>>> =
        std::sync::OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (sender, requests) = std::sync::mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("child-spawner".into())
            .spawn(move || {
                for (mut command, reply) in requests {
                    let _ = reply.send(command.spawn());
                }
            })
            .ok();
        std::sync::Mutex::new(sender)
    });
    sender.lock().ok().map(|s| s.clone())
}

/// A free TCP port on loopback (the OS picks; racy only against other
/// programs grabbing the same port in the next instant).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}
