//! DynamoDB on loopback, from three open-source emulators that speak its
//! protocol: dynoxide (the local stack's default, served in this process)
//! and moto's server (the tools venv) answer `ReturnValuesOnConditionCheckFailure`
//! and `UpdateTimeToLive`; dynalite has neither (docs/consumer.md, "Exactly-once
//! effect"). Here: a client for them, the rides table as the template
//! defines it, reading it back, and a proxy that throttles the way DynamoDB
//! does, since no emulator does.

pub mod throttle_proxy;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

pub use throttle_proxy::ThrottleProxy;

/// A client for a loopback endpoint with dummy credentials.
pub fn client(endpoint: &str) -> Client {
    Client::new(&crate::loopback_sdk_config(endpoint))
}

/// Creates the rides table as the template does (`pipeline_settings::rides_table`):
/// keyed by event id, on demand, TTL on `expiresAt`.
pub async fn create_rides_table(client: &Client, name: &str) -> anyhow::Result<()> {
    create_rides_table_without_ttl(client, name).await?;
    let err = |what: &str, e: String| anyhow::anyhow!("{what} {name}: {e}");
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(pipeline_settings::rides_table::TTL_ATTRIBUTE)
                .build()?,
        )
        .send()
        .await
        .map_err(|e| err("enabling TTL on", aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    Ok(())
}

/// The rides table's key and billing alone: for dynalite, which has no
/// `UpdateTimeToLive` (the items carry `expiresAt` all the same).
pub async fn create_rides_table_without_ttl(client: &Client, name: &str) -> anyhow::Result<()> {
    let err = |what: &str, e: String| anyhow::anyhow!("{what} {name}: {e}");
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(pipeline_settings::rides_table::PARTITION_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(pipeline_settings::rides_table::PARTITION_KEY)
                .key_type(KeyType::Hash)
                .build()?,
        )
        .send()
        .await
        .map_err(|e| err("creating", aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    Ok(())
}

/// Every item of `table` (a paginated scan). moto's server answers a scan
/// that meets concurrent writes with a 500 now and then (its table changes
/// under the iteration, past the SDK's three attempts in a busy run): the
/// whole scan is tried again, a few times, on a server error.
pub async fn scan(client: &Client, table: &str) -> anyhow::Result<Vec<HashMap<String, AttributeValue>>> {
    let mut tries = 0;
    loop {
        tries += 1;
        match scan_once(client, table).await {
            Ok(items) => return Ok(items),
            Err((error, server)) if server && tries < SCAN_TRIES => {
                tracing::warn!(table, tries, error = %error, "scan failed on the server's side; scanning again");
                tokio::time::sleep(std::time::Duration::from_millis(250 * tries)).await;
            }
            Err((error, _)) => return Err(error),
        }
    }
}

const SCAN_TRIES: u64 = 8;

/// One paginated scan; on failure, whether the server was at fault (5xx).
async fn scan_once(
    client: &Client,
    table: &str,
) -> Result<Vec<HashMap<String, AttributeValue>>, (anyhow::Error, bool)> {
    let mut items = Vec::new();
    let mut pages = client.scan().table_name(table).into_paginator().items().send();
    while let Some(item) = pages.next().await {
        match item {
            Ok(item) => items.push(item),
            Err(e) => {
                let server = e.raw_response().is_some_and(|r| r.status().is_server_error());
                let message = aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string();
                return Err((anyhow::anyhow!("scanning {table}: {message}"), server));
            }
        }
    }
    Ok(items)
}

/// dynalite (npm), the other open-source DynamoDB emulator, on loopback:
/// compared with moto (docs/consumer.md, "Exactly-once effect"; the store_path bench).
pub struct Dynalite {
    _service: crate::process::Service,
    port: u16,
}

impl Dynalite {
    pub fn start() -> anyhow::Result<Self> {
        let cli = crate::tools::node_script("dynalite", "node_modules/dynalite/cli.js")?;
        let port = crate::process::free_port()?;
        let mut command = std::process::Command::new("node");
        command.arg(cli).args(["--host", "127.0.0.1", "--port", &port.to_string(), "--createTableMs", "0"]);
        let (service, _) = crate::process::Service::start(
            "dynalite",
            command,
            "Dynalite listening at",
            std::time::Duration::from_secs(20),
        )?;
        Ok(Self { _service: service, port })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// dynoxide (crates.io, Rust on SQLite, in memory), the fastest of the three
/// open-source emulators measured (BENCHMARKS.md, "The write path"): served
/// over HTTP on loopback like the others, from a thread and runtime of its
/// own in this process, so it needs no separate install. It answers every
/// step the consumer relies on as DynamoDB does: the conditional put, the
/// stored item with a refusal, `UpdateTimeToLive`.
pub struct Dynoxide {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Dynoxide {
    pub fn start() -> anyhow::Result<Self> {
        let db = dynoxide::Database::memory().map_err(|e| anyhow::anyhow!("dynoxide: an in-memory database: {e}"))?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dynoxide")
            .enable_all()
            .build()?;
        std::thread::Builder::new().name("dynoxide".into()).spawn(move || {
            runtime.block_on(async move {
                let served = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => dynoxide::server::serve_with_shutdown(listener, db, async {
                        let _ = stopped.await;
                    })
                    .await
                    .map_err(anyhow::Error::msg),
                    Err(e) => Err(e.into()),
                };
                if let Err(e) = served {
                    tracing::error!(error = %e, "dynoxide stopped serving the rides table");
                }
            });
            // A request still running must not hold the stack's shutdown.
            runtime.shutdown_background();
        })?;
        Ok(Self { port, stop: Some(stop) })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Dynoxide {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Which open-source emulator serves the local stack's rides table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TableEmulator {
    /// dynoxide (the default): the fastest measured, and every step the
    /// consumer relies on as AWS answers it.
    #[default]
    Dynoxide,
    /// dynalite: refuses a stored ride without the item (the consumer then
    /// reads it) and has no `UpdateTimeToLive`.
    Dynalite,
    /// moto's server: every step as AWS answers it, the slowest.
    Moto,
}

impl TableEmulator {
    pub fn name(self) -> &'static str {
        match self {
            Self::Dynoxide => "dynoxide",
            Self::Dynalite => "dynalite",
            Self::Moto => "moto",
        }
    }
}

/// A running rides-table emulator.
pub enum TableServer {
    Dynoxide(Dynoxide),
    Dynalite(Dynalite),
    Moto(crate::moto::Moto),
}

impl TableServer {
    pub fn start(kind: TableEmulator) -> anyhow::Result<Self> {
        Ok(match kind {
            TableEmulator::Dynoxide => Self::Dynoxide(Dynoxide::start()?),
            TableEmulator::Dynalite => Self::Dynalite(Dynalite::start()?),
            TableEmulator::Moto => Self::Moto(crate::moto::Moto::start()?),
        })
    }

    pub fn endpoint(&self) -> String {
        match self {
            Self::Dynoxide(d) => d.endpoint(),
            Self::Dynalite(d) => d.endpoint(),
            Self::Moto(m) => m.endpoint(),
        }
    }

    /// The rides table as the template declares it, as far as the emulator
    /// goes (dynalite: without the TTL setting; the items carry `expiresAt`).
    pub async fn create_rides_table(&self, client: &Client, name: &str) -> anyhow::Result<()> {
        match self {
            Self::Dynalite(_) => create_rides_table_without_ttl(client, name).await,
            Self::Dynoxide(_) | Self::Moto(_) => create_rides_table(client, name).await,
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Self::Dynoxide(_) => TableEmulator::Dynoxide,
            Self::Dynalite(_) => TableEmulator::Dynalite,
            Self::Moto(_) => TableEmulator::Moto,
        }
        .name()
    }
}
