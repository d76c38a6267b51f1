//! The connector hop as MSK Connect runs it: Apache Kafka Connect
//! (`connect-runtime` 3.7.x from Maven Central, `tools/connect/pom.xml`) in
//! distributed mode, its config, offset and status topics on the broker, its
//! REST API on loopback only, with the real Camel aws-kinesis-source plugin
//! (fetched by its coordinates, `connector_plugin`) on its `plugin.path`. The
//! connector is created through the REST API with the template's properties
//! (`pipeline_settings::connector::properties`) plus the loopback overrides
//! (`pipeline_settings::connector::local_overrides` and what the emulator needs), and
//! waited for until its task runs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::process::{free_port, Service};
use crate::tools;

/// How long a worker start (JVM, plugin scan, joining its group) may take on
/// a busy 2-core machine.
const STARTUP: Duration = Duration::from_secs(120);

/// The connector's name (MSK Connect's `ConnectorName` is the stack's).
pub const CONNECTOR_NAME: &str = "kinesis-source";

pub struct KafkaConnect {
    service: Mutex<Option<Service>>,
    rest_port: u16,
    dir: PathBuf,
    libs: PathBuf,
    plugin_path: PathBuf,
    bootstrap_servers: String,
    /// The connector's configuration as created: the deployed properties, then the local overrides.
    pub config: Vec<(String, String)>,
    /// The keys (with the reason) that only the loopback run sets.
    pub local_only: Vec<(String, String, &'static str)>,
    restarts: AtomicU64,
    http: reqwest::Client,
}

/// What the REST API says of the connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorState {
    pub connector: String,
    pub tasks: Vec<String>,
}

impl ConnectorState {
    pub fn running(&self) -> bool {
        self.connector == "RUNNING" && !self.tasks.is_empty() && self.tasks.iter().all(|t| t == "RUNNING")
    }
}

impl KafkaConnect {
    /// Fetches the plugin (once), starts a worker storing in `dir`, and
    /// creates the connector for `stream` → `topic` with the deployed
    /// properties, the loopback endpoint and what the emulator needs.
    pub async fn start(
        dir: &Path,
        bootstrap_servers: &str,
        kinesis_endpoint: &str,
        emulator_overrides: Vec<pipeline_settings::connector::LocalOverride>,
        stream: &str,
        topic: &str,
    ) -> anyhow::Result<Self> {
        let local_only =
            pipeline_settings::connector::local_overrides(kinesis_endpoint).into_iter().chain(emulator_overrides);
        Self::start_with(dir, bootstrap_servers, deployed_config(stream, topic), local_only.collect()).await
    }

    /// [`KafkaConnect::start`] with other connector properties (a bench's
    /// baseline): `properties`, then `local_only` on top.
    pub async fn start_with(
        dir: &Path,
        bootstrap_servers: &str,
        properties: Vec<(String, String)>,
        local_only: Vec<pipeline_settings::connector::LocalOverride>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let dir = std::path::absolute(dir)?;
        let plugin_path = plugin_path().await?;
        let mut config = properties;
        let local_only: Vec<_> = local_only.into_iter().map(|(key, value, why)| (key.to_owned(), value, why)).collect();
        config.extend(local_only.iter().map(|(k, v, _)| (k.clone(), v.clone())));
        let connect = Self {
            service: Mutex::new(None),
            rest_port: free_port()?,
            libs: tools::connect_libs()?,
            plugin_path,
            bootstrap_servers: bootstrap_servers.to_owned(),
            config,
            local_only,
            restarts: AtomicU64::new(0),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?,
            dir,
        };
        std::fs::write(connect.dir.join("worker.properties"), connect.worker_properties())?;
        std::fs::write(connect.dir.join("log4j.properties"), LOG4J)?;
        connect.up()?;
        connect.create_connector().await?;
        connect.wait_until_running(STARTUP).await?;
        Ok(connect)
    }

    pub fn rest_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.rest_port)
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("connect.log")
    }

    /// Starts the worker's JVM (again, after [`KafkaConnect::kill`]: same REST
    /// port, same internal topics, so it resumes the connector it had).
    pub fn up(&self) -> anyhow::Result<()> {
        let mut command = tools::java_main(
            &self.libs,
            &self.dir.join("log4j.properties"),
            "org.apache.kafka.connect.cli.ConnectDistributed",
        );
        command
            .arg(self.dir.join("worker.properties"))
            .current_dir(&self.dir)
            // The kamelet's default credentials chain reads these; MSK Connect
            // gives the service execution role's instead.
            .env("AWS_ACCESS_KEY_ID", crate::LOCAL_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", crate::LOCAL_SECRET_KEY)
            .env("AWS_REGION", crate::LOCAL_REGION);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.rest_port));
        let service = Service::start_listening("kafka connect", command, &self.log(), addr, STARTUP)?;
        *self.service.lock().map_err(|_| anyhow::anyhow!("connect state poisoned"))? = Some(service);
        Ok(())
    }

    /// Kills the worker (SIGKILL, as a crash would); nothing is flushed.
    pub fn kill(&self) -> anyhow::Result<()> {
        let mut service = self.service.lock().map_err(|_| anyhow::anyhow!("connect state poisoned"))?;
        if let Some(mut running) = service.take() {
            running.stop();
        }
        Ok(())
    }

    /// Kills the worker, starts it again and waits for the connector's task.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.kill()?;
        self.up()?;
        self.restarts.fetch_add(1, Ordering::Relaxed);
        self.wait_until_running(STARTUP).await
    }

    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    pub fn pid(&self) -> Option<u32> {
        self.service.lock().ok()?.as_ref().map(Service::pid)
    }

    pub fn is_running(&self) -> bool {
        self.service.lock().ok().is_some_and(|mut s| s.as_mut().is_some_and(Service::is_running))
    }

    /// Creates (or updates) the connector. The REST API listens before the
    /// worker has joined its group and read its config topic, and answers 404
    /// or 409 until then: those are retried until [`STARTUP`] runs out.
    async fn create_connector(&self) -> anyhow::Result<()> {
        let body: serde_json::Map<String, serde_json::Value> =
            self.config.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
        let body = serde_json::to_vec(&body)?;
        let url = format!("{}/connectors/{CONNECTOR_NAME}/config", self.rest_endpoint());
        let started = Instant::now();
        loop {
            let response =
                self.http.put(&url).header("content-type", "application/json").body(body.clone()).send().await?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let not_ready = matches!(status.as_u16(), 404 | 409 | 500 | 503);
            anyhow::ensure!(
                not_ready && started.elapsed() < STARTUP,
                "creating the connector ({url}): {status} {}; see {}",
                response.text().await.unwrap_or_default(),
                self.log().display()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The connector's and its tasks' states from the REST API.
    pub async fn state(&self) -> anyhow::Result<ConnectorState> {
        connector_state(&self.http, &self.rest_endpoint()).await
    }

    /// Waits until the connector and its task are RUNNING (a FAILED task is an
    /// error at once, with the worker's log).
    pub async fn wait_until_running(&self, timeout: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            match self.state().await {
                Ok(state) if state.running() => return Ok(()),
                Ok(state) if state.tasks.iter().any(|t| t == "FAILED") || state.connector == "FAILED" => {
                    anyhow::bail!("the connector failed: {state:?}; see {}", self.log().display())
                }
                _ => {}
            }
            anyhow::ensure!(
                started.elapsed() < timeout,
                "the connector's task was not RUNNING within {timeout:?}; see {}",
                self.log().display()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The plugin's version, as the worker reports it.
    pub async fn plugin_version(&self) -> anyhow::Result<String> {
        plugin_version(&self.http, &self.rest_endpoint()).await
    }

    /// Records the task's hand-off dropped ("Queue full"), from the worker's log.
    pub fn dropped_in_handoff(&self) -> usize {
        std::fs::read_to_string(self.log())
            .map(|log| log.matches("caught: java.lang.IllegalStateException: Queue full").count())
            .unwrap_or(0)
    }

    pub fn describe(&self) -> String {
        format!(
            "Kafka Connect {} (distributed, REST {}) + {}:{} (the real plugin), connector {CONNECTOR_NAME}",
            pipeline_settings::connector::KAFKA_CONNECT_VERSION,
            self.rest_endpoint(),
            pipeline_settings::connector::PLUGIN.artifact,
            pipeline_settings::connector::PLUGIN.version
        )
    }

    fn worker_properties(&self) -> String {
        format!(
            "bootstrap.servers={bootstrap}
group.id=local-connect
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
config.storage.topic=__local_connect_configs
offset.storage.topic=__local_connect_offsets
status.storage.topic=__local_connect_status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
listeners=http://127.0.0.1:{port}
rest.advertised.host.name=127.0.0.1
rest.advertised.port={port}
plugin.path={plugins}
# One worker: a killed worker comes back as a new group member, and the
# default (300000) would hold its tasks back for five minutes waiting for the
# old member to return; MSK Connect replaces workers itself.
scheduled.rebalance.max.delay.ms=0
",
            bootstrap = self.bootstrap_servers,
            port = self.rest_port,
            plugins = self.plugin_path.display(),
        )
    }
}

/// The connector's and its tasks' states, from the REST API of the worker at
/// `endpoint` (this process's or, for `local status`, a running stack's).
pub async fn connector_state(http: &reqwest::Client, endpoint: &str) -> anyhow::Result<ConnectorState> {
    let url = format!("{endpoint}/connectors/{CONNECTOR_NAME}/status");
    let status: serde_json::Value = serde_json::from_slice(&http.get(&url).send().await?.bytes().await?)?;
    let state = |v: &serde_json::Value| v["state"].as_str().unwrap_or("UNKNOWN").to_owned();
    Ok(ConnectorState {
        connector: state(&status["connector"]),
        tasks: status["tasks"].as_array().map(|t| t.iter().map(state).collect()).unwrap_or_default(),
    })
}

/// The Camel plugin's version as the worker at `endpoint` lists it.
pub async fn plugin_version(http: &reqwest::Client, endpoint: &str) -> anyhow::Result<String> {
    let url = format!("{endpoint}/connector-plugins");
    let plugins: serde_json::Value = serde_json::from_slice(&http.get(&url).send().await?.bytes().await?)?;
    plugins
        .as_array()
        .and_then(|all| all.iter().find(|p| p["class"] == pipeline_settings::connector::CONNECTOR_CLASS))
        .and_then(|p| p["version"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!("the worker does not list {}", pipeline_settings::connector::CONNECTOR_CLASS))
}

/// The deployed properties (`pipeline_settings::connector::properties`) with the
/// stream's name and the local region filled in.
pub fn deployed_config(stream: &str, topic: &str) -> Vec<(String, String)> {
    pipeline_settings::connector::properties(topic)
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                pipeline_settings::connector::Value::Fixed(v) => v,
                pipeline_settings::connector::Value::Region => crate::LOCAL_REGION.to_owned(),
                pipeline_settings::connector::Value::StreamName => stream.to_owned(),
            };
            (key.to_owned(), value)
        })
        .collect()
}

/// The plugin by its coordinates (Maven Central, then `MAVEN_EXTRA_REPOSITORIES`),
/// verified and unpacked once into the cache: a `plugin.path` directory.
pub async fn plugin_path() -> anyhow::Result<PathBuf> {
    let cache = connector_plugin::cache_dir();
    let pins = connector_plugin::Pins {
        committed: tools::repo_root().join("infra/camel-plugin.sha256"),
        machine: cache.join("machine-pins.sha256"),
    };
    let plugin = pipeline_settings::connector::PLUGIN;
    let fetched = connector_plugin::fetch(&plugin, &connector_plugin::Repositories::from_env(), &cache, &pins).await?;
    if let connector_plugin::PinOutcome::Recorded(file) = &fetched.pin {
        eprintln!("pinned {plugin} from {} (SHA-256 {}) in {}", fetched.repository, fetched.sha256, file.display());
    }
    let bytes = fetched.bytes()?;
    Ok(connector_plugin::unpack(&fetched.path, &bytes, &fetched.sha256, &cache)?)
}

impl Drop for KafkaConnect {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

const LOG4J: &str = "log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.connect.runtime.rest=WARN
log4j.logger.org.reflections=ERROR
";
