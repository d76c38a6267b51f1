//! kinesalite, started on a free loopback port (in memory, streams ACTIVE at
//! once). A real Kinesis-protocol server: the SDK talks to it as to AWS.

use std::process::Command;
use std::time::Duration;

use crate::process::Service;
use crate::tools;

pub struct Kinesalite {
    service: Service,
    port: u16,
}

impl Kinesalite {
    pub fn start() -> anyhow::Result<Self> {
        let script = tools::kinesalite_script()?;
        let mut command = Command::new("node");
        command.arg(&script).arg("0").current_dir(tools::repo_root().join("tools"));
        let (service, line) =
            Service::start("kinesalite", command, "kinesalite listening on", Duration::from_secs(20))?;
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("kinesalite printed no port: {line:?}"))?;
        Ok(Self { service, port })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.service.pid()
    }
}
