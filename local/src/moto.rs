//! moto's server on loopback: an S3 (and CloudFormation, CloudWatch Logs, ...)
//! stand-in for the parts of the AWS path that have no dedicated emulator.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::process::{free_port, Service};
use crate::tools;

pub struct Moto {
    _service: Service,
    port: u16,
}

impl Moto {
    pub fn start() -> anyhow::Result<Self> {
        let server = tools::moto_server()?;
        let port = free_port()?;
        let mut command = Command::new(server);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let log = std::env::temp_dir().join(format!("moto-{port}.log"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let service = Service::start_listening("moto_server", command, &log, addr, Duration::from_secs(30))?;
        Ok(Self { _service: service, port })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
