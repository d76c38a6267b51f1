//! The Kinesis emulator, started on free loopback ports, in memory, streams
//! ACTIVE at once: a real Kinesis-protocol server the SDKs talk to as to AWS.
//! Two are supported and compared (docs/local-stack.md, "The Kinesis emulator";
//! `local/tests/emulators.rs`): kinesalite, the default, and kinesis-local
//! (kinesis-mock's Node build). `LOCAL_KINESIS_EMULATOR` picks one.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::process::{free_port, Service};
use crate::tools;

/// Which emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmulatorKind {
    /// kinesalite 3.3 (npm): JSON and CBOR, answers in microseconds.
    Kinesalite,
    /// kinesis-local (npm), kinesis-mock compiled to JavaScript.
    KinesisLocal,
}

impl EmulatorKind {
    pub const ALL: [EmulatorKind; 2] = [EmulatorKind::Kinesalite, EmulatorKind::KinesisLocal];
    pub const DEFAULT: EmulatorKind = EmulatorKind::Kinesalite;

    pub fn name(self) -> &'static str {
        match self {
            EmulatorKind::Kinesalite => "kinesalite",
            EmulatorKind::KinesisLocal => "kinesis-local",
        }
    }

    /// `LOCAL_KINESIS_EMULATOR` (`kinesalite` or `kinesis-local`), else the default.
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var("LOCAL_KINESIS_EMULATOR") {
            Err(_) => Ok(Self::DEFAULT),
            Ok(name) => Self::ALL
                .into_iter()
                .find(|kind| kind.name() == name)
                .ok_or_else(|| anyhow::anyhow!("LOCAL_KINESIS_EMULATOR={name}: expected kinesalite or kinesis-local")),
        }
    }

    /// The connector properties a loopback run on this emulator needs beyond
    /// the endpoint (key, value, why), as `local/tests/emulators.rs` measured.
    pub fn connector_overrides(self) -> Vec<(&'static str, String, &'static str)> {
        match self {
            EmulatorKind::Kinesalite => vec![(
                pipeline_settings::connector::CBOR_ENABLED,
                "false".into(),
                "kinesalite's CBOR pages fail to parse in the Java SDK",
            )],
            EmulatorKind::KinesisLocal => Vec::new(),
        }
    }
}

pub struct Emulator {
    kind: EmulatorKind,
    service: Service,
    port: u16,
}

impl Emulator {
    pub fn start(kind: EmulatorKind) -> anyhow::Result<Self> {
        match kind {
            EmulatorKind::Kinesalite => Self::kinesalite(),
            EmulatorKind::KinesisLocal => Self::kinesis_local(),
        }
    }

    /// The one `LOCAL_KINESIS_EMULATOR` names, else the default.
    pub fn start_configured() -> anyhow::Result<Self> {
        Self::start(EmulatorKind::from_env()?)
    }

    fn kinesalite() -> anyhow::Result<Self> {
        let script = tools::node_script("kinesalite", "kinesalite-loopback.js")?;
        let mut command = Command::new("node");
        command.arg(&script).arg("0").current_dir(tools::repo_root().join("tools"));
        let (service, line) =
            Service::start("kinesalite", command, "kinesalite listening on", Duration::from_secs(20))?;
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("kinesalite printed no port: {line:?}"))?;
        Ok(Self { kind: EmulatorKind::Kinesalite, service, port })
    }

    fn kinesis_local() -> anyhow::Result<Self> {
        let script = tools::node_script("kinesis-local", "kinesis-local-loopback.js")?;
        let port = free_port()?;
        let log = std::env::temp_dir().join(format!("kinesis-local-{}-{port}.log", std::process::id()));
        let mut command = Command::new("node");
        command
            .arg(&script)
            .current_dir(tools::repo_root().join("tools"))
            .env("KINESIS_MOCK_PLAIN_PORT", port.to_string())
            .env("KINESIS_MOCK_TLS_PORT", free_port()?.to_string())
            .env("LOG_LEVEL", "WARN")
            .env("SHARD_LIMIT", "1000");
        // Its default makes every stream change take 500 ms; AWS takes
        // seconds, the tests want none.
        for setting in [
            "CREATE_STREAM_DURATION",
            "DELETE_STREAM_DURATION",
            "SPLIT_SHARD_DURATION",
            "MERGE_SHARDS_DURATION",
            "UPDATE_SHARD_COUNT_DURATION",
        ] {
            command.env(setting, "0ms");
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let service = Service::start_listening("kinesis-local", command, &log, addr, Duration::from_secs(30))?;
        Ok(Self { kind: EmulatorKind::KinesisLocal, service, port })
    }

    pub fn kind(&self) -> EmulatorKind {
        self.kind
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

    /// The connector properties a loopback run on this emulator adds.
    pub fn connector_overrides(&self) -> Vec<(&'static str, String, &'static str)> {
        self.kind.connector_overrides()
    }
}
