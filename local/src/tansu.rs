//! tansu, a Kafka-compatible broker written in Rust, as the local stack's real
//! broker: on loopback, storing into a sqlite file so a restart keeps topics,
//! records and committed offsets (the "broker down and back up" fault, for
//! real). Installed once by `make tansu` into a cache outside the clone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use crate::process::{free_port, Service};
use crate::tools;

pub struct Tansu {
    service: Mutex<Option<Service>>,
    port: u16,
    data_dir: PathBuf,
}

impl Tansu {
    /// Starts a broker whose sqlite file lives in `data_dir`.
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let tansu = Self { service: Mutex::new(None), port: free_port()?, data_dir: data_dir.to_path_buf() };
        tansu.up()?;
        Ok(tansu)
    }

    pub fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the process again (same port, same sqlite file) after [`Tansu::down`].
    pub fn up(&self) -> anyhow::Result<()> {
        let binary = tools::tansu()?;
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut command = Command::new(binary);
        // The sqlite path is taken relative to the working directory.
        command
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(&self.data_dir);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let service = Service::start_listening(
            "tansu",
            command,
            &self.data_dir.join("tansu.log"),
            addr,
            Duration::from_secs(30),
        )?;
        *self.service.lock().map_err(|_| anyhow::anyhow!("tansu state poisoned"))? = Some(service);
        Ok(())
    }

    /// Kills the broker process (as a crash would); clients see refused connections.
    pub fn down(&self) -> anyhow::Result<()> {
        let mut service = self.service.lock().map_err(|_| anyhow::anyhow!("tansu state poisoned"))?;
        if let Some(mut running) = service.take() {
            running.stop();
        }
        Ok(())
    }
}
