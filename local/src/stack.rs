//! Starts the whole pipeline on loopback, in dependency order: Kinesis
//! emulator and stream, Kafka broker and topic, the Kinesis → Kafka hop (the
//! Kafka Connect worker with the Camel connector, or the forwarder's Kinesis
//! mapping), the rides table on dynoxide (or dynalite, or moto), the functions under
//! `cargo lambda watch`, then the MSK mapping's poller and the schedule as
//! tasks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::esm::kinesis::{KinesisMapping, KinesisMappingSettings};
use crate::esm::{EsmPoller, EsmSettings, EsmStats, FunctionInvoker};
use crate::kafka::connect::KafkaConnect;
use crate::kafka::Broker;
use crate::kinesis::{self, Emulator};
use crate::lambda_watch::LambdaWatch;
use crate::schedule::{self, ScheduleStats};

/// Which Kinesis → Kafka hop the stack runs (the template's `Bridge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BridgeKind {
    /// The Camel aws-kinesis-source connector on Kafka Connect (the default).
    #[default]
    Camel,
    /// The kinesis-forwarder function behind a Kinesis event source mapping.
    Lambda,
}

impl BridgeKind {
    /// `BRIDGE` from the environment (`make … BRIDGE=lambda`), else Camel.
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var("BRIDGE").unwrap_or_default().trim() {
            "" | "camel" => Ok(Self::Camel),
            "lambda" => Ok(Self::Lambda),
            other => anyhow::bail!("BRIDGE={other:?}: use camel (the default) or lambda"),
        }
    }
}

/// The running hop.
pub enum Bridge {
    Camel(KafkaConnect),
    Lambda(ForwarderHop),
}

/// The forwarder behind the emulated Kinesis mapping.
pub struct ForwarderHop {
    pub settings: KinesisMappingSettings,
    pub stats: Arc<EsmStats>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Drop for ForwarderHop {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, Clone)]
pub struct StackOptions {
    pub stream: String,
    pub shards: i32,
    pub topic: String,
    pub partitions: i32,
    pub rides_per_schedule: u32,
    /// The DynamoDB table the consumer stores rides in.
    pub rides_table: String,
    /// Throttle the consumer's writes to the table the way DynamoDB does
    /// (a proxy between the consumer and the table), for fault tests.
    pub rides_throttle: Option<crate::dynamodb::throttle_proxy::ThrottlePlan>,
    /// Where dead letters, the on-failure objects and logs go.
    pub data_dir: PathBuf,
    pub bridge: BridgeKind,
    /// The rides table's emulator.
    pub table: crate::dynamodb::TableEmulator,
}

impl StackOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            stream: "carrides".into(),
            shards: 4,
            topic: "carrides".into(),
            partitions: 8,
            rides_per_schedule: 500,
            rides_table: "carrides-rides".into(),
            rides_throttle: None,
            data_dir: data_dir.into(),
            bridge: BridgeKind::Camel,
            table: crate::dynamodb::TableEmulator::default(),
        }
    }
}

pub struct LocalStack {
    pub options: StackOptions,
    pub kinesis_emulator: Emulator,
    pub kinesis: aws_sdk_kinesis::Client,
    pub broker: Broker,
    /// The Kinesis → Kafka hop: Kafka Connect with the real Camel
    /// aws-kinesis-source connector, or the forwarder and its mapping.
    pub bridge: Bridge,
    /// The rides table's emulator (dynoxide by default; dynalite or moto's server).
    pub table: crate::dynamodb::TableServer,
    /// A client for the rides table.
    pub rides: aws_sdk_dynamodb::Client,
    /// Between the consumer and the table when `rides_throttle` is set.
    pub rides_proxy: Option<crate::dynamodb::ThrottleProxy>,
    pub watch: Arc<LambdaWatch>,
    /// Restarts `cargo lambda watch` when it dies; ends with an error when it
    /// keeps dying (see [`crate::lambda_watch::supervise`]).
    pub function_host: JoinHandle<anyhow::Result<()>>,
    pub esm_stats: Arc<EsmStats>,
    pub schedule_stats: Arc<ScheduleStats>,
    warm_up_rides: std::sync::atomic::AtomicUsize,
    /// A test's or a bench's scratch directory holding `options.data_dir`:
    /// the last field, so it goes after every process of the stack.
    pub scratch: Option<crate::scratch::Scratch>,
}

impl LocalStack {
    pub async fn start(mut options: StackOptions, broker: Broker) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&options.data_dir)?;
        // The functions run in `cargo lambda watch`'s working directory, which
        // is not ours (with a shared CARGO_TARGET_DIR, not even our clone's):
        // every path handed to them is absolute.
        options.data_dir = std::path::absolute(&options.data_dir)?;
        let kinesis_emulator = Emulator::start_configured()?;
        let kinesis = kinesis::client(&kinesis_emulator.endpoint());
        kinesis::create_stream(&kinesis, &options.stream, options.shards).await?;
        broker.create_topic(&options.topic, options.partitions).await?;
        let connect = match options.bridge {
            BridgeKind::Camel => Some(
                KafkaConnect::start(
                    &options.data_dir.join("connect"),
                    &broker.bootstrap_servers(),
                    &kinesis_emulator.endpoint(),
                    kinesis_emulator.connector_overrides(),
                    &options.stream,
                    &options.topic,
                )
                .await?,
            ),
            BridgeKind::Lambda => None,
        };
        let table = crate::dynamodb::TableServer::start(options.table)?;
        let rides = crate::dynamodb::client(&table.endpoint());
        table.create_rides_table(&rides, &options.rides_table).await?;
        let rides_proxy = match options.rides_throttle {
            Some(plan) => Some(crate::dynamodb::ThrottleProxy::start(&table.endpoint(), plan).await?),
            None => None,
        };
        let rides_endpoint = rides_proxy.as_ref().map_or_else(|| table.endpoint(), |proxy| proxy.endpoint());
        let mut env = function_environment(&options, &kinesis_emulator.endpoint(), &rides_endpoint);
        if options.bridge == BridgeKind::Lambda {
            env.extend(forwarder_environment(&options, &broker.bootstrap_servers()));
        }
        // One instance of each function per shard, as Lambda runs one per
        // shard's batch (and per partition for the MSK mapping).
        let concurrency = usize::try_from(options.shards.max(options.partitions)).unwrap_or(1).max(1);
        let watch = Arc::new(LambdaWatch::start(&env, &options.data_dir.join("functions.log"), concurrency)?);
        let function_host = tokio::spawn(crate::lambda_watch::supervise(Arc::downgrade(&watch)));
        let bridge = match connect {
            Some(connect) => Bridge::Camel(connect),
            None => {
                let settings = forwarder_mapping_settings(&options);
                let stats: Arc<EsmStats> = Arc::default();
                let mapping = Arc::new(KinesisMapping {
                    settings: settings.clone(),
                    kinesis: kinesis.clone(),
                    invoker: FunctionInvoker::new(&watch.endpoint(), "kinesis-forwarder"),
                    stats: stats.clone(),
                });
                Bridge::Lambda(ForwarderHop { settings, stats, task: tokio::spawn(mapping.run()) })
            }
        };
        Ok(Self {
            options,
            kinesis_emulator,
            kinesis,
            broker,
            bridge,
            table,
            rides,
            rides_proxy,
            watch,
            function_host,
            esm_stats: Arc::default(),
            schedule_stats: Arc::default(),
            warm_up_rides: Default::default(),
            scratch: None,
        })
    }

    /// The Camel hop's Kafka Connect worker, when the stack runs it.
    pub fn connect(&self) -> Option<&KafkaConnect> {
        match &self.bridge {
            Bridge::Camel(connect) => Some(connect),
            Bridge::Lambda(_) => None,
        }
    }

    /// The forwarder hop, when the stack runs it.
    pub fn forwarder(&self) -> Option<&ForwarderHop> {
        match &self.bridge {
            Bridge::Lambda(hop) => Some(hop),
            Bridge::Camel(_) => None,
        }
    }

    /// Whether the hop still runs (the worker's process; the mapping's task).
    pub fn bridge_is_running(&self) -> bool {
        match &self.bridge {
            Bridge::Camel(connect) => connect.is_running(),
            Bridge::Lambda(hop) => !hop.task.is_finished(),
        }
    }

    /// Kills the hop mid-stream as a crash would, and lets it come back:
    /// the Connect worker is SIGKILLed and started again; the forwarder's
    /// host (`cargo lambda watch`) is SIGKILLed and its supervisor starts it
    /// again while the mapping retries the batch it lost.
    pub async fn kill_bridge(&self) -> anyhow::Result<()> {
        match &self.bridge {
            Bridge::Camel(connect) => connect.restart().await,
            Bridge::Lambda(_) => self.watch.kill(),
        }
    }

    /// Records the hop dropped on its way (the Camel task's hand-off).
    pub fn dropped_in_handoff(&self) -> usize {
        self.connect().map_or(0, KafkaConnect::dropped_in_handoff)
    }

    /// One line naming the hop.
    pub fn describe_bridge(&self) -> String {
        match &self.bridge {
            Bridge::Camel(connect) => connect.describe(),
            Bridge::Lambda(hop) => format!(
                "kinesis-forwarder (rdkafka, idempotent, acks=all) under cargo lambda watch, behind an emulation of Lambda's Kinesis event source mapping: {}",
                hop.settings.describe()
            ),
        }
    }

    pub fn invoker(&self, function: &str) -> FunctionInvoker {
        FunctionInvoker::new(&self.watch.endpoint(), function)
    }

    /// Compiles and starts the functions (their first invocation builds
    /// them), then every instance the host may run of each: `cargo lambda
    /// watch` starts an instance when an invocation finds none idle, through
    /// `cargo run` (about a second of CPU each here, where Lambda's Rust cold
    /// start is milliseconds), so a run's timings include neither. Each
    /// producer warm-up is a direct invoke of one ride (the producer checked
    /// end to end): [`Self::warm_up_rides`] counts them.
    pub async fn warm_up(&self) -> anyhow::Result<()> {
        let empty = serde_json::to_vec(&events::msk::MskEvent::default())?;
        let mut warm_ups = vec![("msk-consumer", empty)];
        if self.forwarder().is_some() {
            warm_ups.push(("kinesis-forwarder", br#"{"Records":[]}"#.to_vec()));
        }
        warm_ups.push(("producer", br#"{"count": 1}"#.to_vec()));
        let warm = |function: &'static str, payload: Vec<u8>| async move {
            self.invoker(function).invoke(payload).await.map_err(|e| anyhow::anyhow!("warming {function}: {e}"))
        };
        for (function, payload) in &warm_ups {
            warm(function, payload.clone()).await?;
        }
        let instances = self.watch.concurrency();
        let all_at_once =
            warm_ups.iter().flat_map(|(function, payload)| (1..instances).map(|_| warm(function, payload.clone())));
        futures::future::try_join_all(all_at_once).await?;
        self.warm_up_rides.store(instances, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Rides the producer's warm-ups put in the stream ([`Self::warm_up`]).
    pub fn warm_up_rides(&self) -> usize {
        self.warm_up_rides.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records in the pipeline's topic (the sum of its partitions' high
    /// watermarks): what the connector wrote, duplicates included.
    pub fn records_in_kafka(&self) -> anyhow::Result<u64> {
        tokio::task::block_in_place(|| self.broker.records_in(&self.options.topic))
    }

    /// The mapping's settings for this stack: the template's (see [`esm_settings`]).
    pub fn esm_settings(&self) -> EsmSettings {
        esm_settings(&self.options)
    }

    pub fn spawn_poller(&self, settings: EsmSettings) -> anyhow::Result<JoinHandle<anyhow::Result<()>>> {
        let poller = EsmPoller::new(
            settings,
            &self.broker.bootstrap_servers(),
            self.invoker("msk-consumer"),
            self.esm_stats.clone(),
        )?;
        Ok(tokio::spawn(poller.run()))
    }

    /// Waits until the poller joined its consumer group (a first rebalance
    /// takes seconds), so a run's latency does not include it.
    pub async fn wait_for_poller(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        while !self.esm_stats.assigned.load(std::sync::atomic::Ordering::Relaxed) {
            anyhow::ensure!(std::time::Instant::now() < deadline, "the poller got no partitions within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    pub fn spawn_schedule(&self, every: Duration, invocations: Option<u64>) -> JoinHandle<()> {
        tokio::spawn(schedule::run(self.invoker("producer"), every, invocations, self.schedule_stats.clone()))
    }

    pub fn dead_letter_dir(&self) -> PathBuf {
        self.options.data_dir.join("dead-letters")
    }

    /// The on-failure destination's directory (see [`on_failure_dir`]).
    pub fn on_failure_dir(&self) -> PathBuf {
        on_failure_dir(&self.options)
    }

    pub fn data_dir(&self) -> &Path {
        &self.options.data_dir
    }
}

/// The mapping's settings, from the same definition the template renders
/// (`pipeline_settings::mapping::CONSUMER_MAPPING`): the template's group id, batch
/// size and window, retries, bisect and partial batch responses; the
/// on-failure destination (an S3 bucket in the template) is the directory
/// [`on_failure_dir`] in the stack's directory.
pub fn esm_settings(options: &StackOptions) -> EsmSettings {
    let mapping = pipeline_settings::mapping::CONSUMER_MAPPING;
    let mut settings = EsmSettings::new(&options.topic, "carrides-msk-consumer");
    settings.starting_position = match mapping.starting_position {
        "LATEST" => crate::esm::StartingPosition::Latest,
        _ => crate::esm::StartingPosition::TrimHorizon,
    };
    settings.batch_size = mapping.batch_size as usize;
    settings.maximum_batching_window = Duration::from_secs(u64::from(mapping.maximum_batching_window_seconds));
    settings.maximum_retry_attempts = mapping.maximum_retry_attempts;
    settings.bisect_batch_on_function_error = mapping.bisect_batch_on_function_error;
    settings.report_batch_item_failures = mapping.report_batch_item_failures;
    settings.maximum_pollers = mapping.maximum_pollers;
    settings.on_failure = Some(on_failure_dir(options));
    settings
}

/// The forwarder's Kinesis mapping for this stack: the template's
/// (`pipeline_settings::mapping::FORWARDER_MAPPING`), its on-failure destination the
/// directory [`kinesis_on_failure_dir`].
pub fn forwarder_mapping_settings(options: &StackOptions) -> KinesisMappingSettings {
    let mut settings =
        KinesisMappingSettings::from_definition(&pipeline_settings::mapping::FORWARDER_MAPPING, &options.stream);
    settings.on_failure = Some(kinesis_on_failure_dir(options));
    settings
}

/// Where the Kinesis mapping writes discarded batches (AWS's Kinesis
/// invocation record, `events::on_failure::KinesisInvocationRecord`).
pub fn kinesis_on_failure_dir(options: &StackOptions) -> PathBuf {
    options.data_dir.join("on-failure-kinesis")
}

/// What the forwarder needs besides [`function_environment`]: the local
/// broker's plaintext listener (MSK's IAM listener in the template).
pub fn forwarder_environment(options: &StackOptions, bootstrap_servers: &str) -> Vec<(&'static str, String)> {
    vec![
        ("KAFKA_BOOTSTRAP_SERVERS", bootstrap_servers.to_owned()),
        ("KAFKA_TOPIC", options.topic.clone()),
        ("KAFKA_AUTH", "plaintext".to_owned()),
    ]
}

/// Where the local mapping writes discarded batches, one JSON object per
/// batch in AWS's invocation record format (`events::on_failure`).
pub fn on_failure_dir(options: &StackOptions) -> PathBuf {
    options.data_dir.join("on-failure")
}

/// What `cargo lambda watch` gives both functions: the local endpoints and
/// dummy credentials, the stack's directories (absolute), and the consumer's
/// variables its mapping needs, as in the template.
pub fn function_environment(
    options: &StackOptions,
    kinesis_endpoint: &str,
    dynamodb_endpoint: &str,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("STREAM_NAME", options.stream.clone()),
        ("RIDES_PER_SCHEDULE", options.rides_per_schedule.to_string()),
        ("AWS_ENDPOINT_URL_KINESIS", kinesis_endpoint.to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint.to_owned()),
        ("RIDES_TABLE", options.rides_table.clone()),
        ("AWS_ACCESS_KEY_ID", crate::LOCAL_ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", crate::LOCAL_SECRET_KEY.to_owned()),
        ("AWS_REGION", crate::LOCAL_REGION.to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("DEAD_LETTER_DIR", options.data_dir.join("dead-letters").display().to_string()),
    ];
    env.extend(pipeline_settings::mapping::CONSUMER_MAPPING.consumer_environment());
    // `cargo lambda watch` sends no usable deadline: the template's timeout
    // bounds each invocation instead (msk_consumer::config).
    env.push(("FUNCTION_TIMEOUT_SECONDS", pipeline_settings::mapping::CONSUMER_TIMEOUT_SECONDS.to_string()));
    env
}
