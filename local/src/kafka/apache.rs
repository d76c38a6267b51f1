//! Apache Kafka itself as the local stack's broker: the jars `make tools`
//! resolves from Maven Central (tools/kafka/pom.xml, the version MSK
//! recommends), run as `java kafka.Kafka` in KRaft mode (one node, broker and
//! controller) on loopback, with its log directory in the stack's data
//! directory so a restart keeps topics, records and committed offsets.
//!
//! Two client listeners, as an MSK cluster has several:
//! - PLAINTEXT, for the local pipeline;
//! - SASL_SSL with `OAUTHBEARER`, the protocol of MSK's IAM listener (port
//!   9098), behind a self-signed certificate made with the JDK's `keytool`
//!   at start, so the topic creator's IAM path is exercised through a real
//!   TLS and SASL handshake. The broker validates tokens with Kafka's default
//!   (unsecured JWT) handler, so an MSK IAM token gets past TLS and the SASL
//!   handshake and is then refused as not a JWT.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use crate::process::{free_port, Service};
use crate::tools;

/// How long a JVM start may take on a busy 2-core machine.
const STARTUP: Duration = Duration::from_secs(90);

/// The keystore's password: a throwaway certificate on loopback only.
const KEYSTORE_PASSWORD: &str = "local-only";

pub struct ApacheKafka {
    service: Mutex<Option<Service>>,
    plaintext_port: u16,
    sasl_ssl_port: u16,
    controller_port: u16,
    data_dir: PathBuf,
    libs: PathBuf,
    /// A test's scratch directory holding `data_dir`: it goes after the
    /// broker does.
    scratch: Option<crate::scratch::Scratch>,
}

impl ApacheKafka {
    /// Formats a KRaft log directory in `data_dir` (unless one is there) and
    /// starts the broker.
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let data_dir = std::path::absolute(data_dir)?;
        let kafka = Self {
            service: Mutex::new(None),
            plaintext_port: free_port()?,
            sasl_ssl_port: free_port()?,
            controller_port: free_port()?,
            libs: tools::kafka_libs()?,
            data_dir,
            scratch: None,
        };
        kafka.make_certificate()?;
        std::fs::write(kafka.data_dir.join("server.properties"), kafka.server_properties())?;
        std::fs::write(kafka.data_dir.join("log4j.properties"), LOG4J)?;
        if !kafka.log_dir().join("meta.properties").is_file() {
            kafka.format_storage()?;
        }
        kafka.up()?;
        Ok(kafka)
    }

    /// [`ApacheKafka::start`] in a test's scratch directory, which the
    /// broker keeps until it is dropped.
    pub fn start_in(scratch: crate::scratch::Scratch) -> anyhow::Result<Self> {
        let mut kafka = Self::start(scratch.path())?;
        kafka.scratch = Some(scratch);
        Ok(kafka)
    }

    pub fn version() -> &'static str {
        tools::KAFKA_VERSION
    }

    pub fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.plaintext_port)
    }

    /// The SASL_SSL + OAUTHBEARER listener (MSK's IAM listener's protocol).
    pub fn sasl_ssl_bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.sasl_ssl_port)
    }

    /// The PEM of the listener's self-signed certificate, for `ssl.ca.location`.
    pub fn ca_pem(&self) -> PathBuf {
        self.data_dir.join(CA_PEM)
    }

    /// Starts the JVM again (same ports, same log directory) after [`ApacheKafka::down`].
    pub fn up(&self) -> anyhow::Result<()> {
        let mut command = self.java("kafka.Kafka");
        command.arg(self.data_dir.join("server.properties"));
        let addr = SocketAddr::from(([127, 0, 0, 1], self.plaintext_port));
        let log = self.data_dir.join("kafka.log");
        let service = Service::start_listening("kafka", command, &log, addr, STARTUP)?;
        *self.service.lock().map_err(|_| anyhow::anyhow!("kafka state poisoned"))? = Some(service);
        self.wait_until_serving(&log)
    }

    /// A listening socket is not a serving broker: both client listeners
    /// must accept, and the broker must have registered with its controller
    /// (until then, CreateTopics fails with InvalidReplicationFactor).
    fn wait_until_serving(&self, log: &Path) -> anyhow::Result<()> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let started = std::time::Instant::now();
        let sasl = SocketAddr::from(([127, 0, 0, 1], self.sasl_ssl_port));
        while std::net::TcpStream::connect_timeout(&sasl, Duration::from_millis(200)).is_err() {
            anyhow::ensure!(
                started.elapsed() < STARTUP,
                "kafka's SASL_SSL listener did not open; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let client: BaseConsumer =
            rdkafka::ClientConfig::new().set("bootstrap.servers", self.bootstrap_servers()).create()?;
        loop {
            let registered = client
                .fetch_metadata(None, Duration::from_secs(2))
                .is_ok_and(|metadata| !metadata.brokers().is_empty());
            if registered {
                return Ok(());
            }
            anyhow::ensure!(started.elapsed() < STARTUP, "kafka did not register its broker; see {}", log.display());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills the broker (SIGKILL, as a crash would); clients see refused connections.
    pub fn down(&self) -> anyhow::Result<()> {
        let mut service = self.service.lock().map_err(|_| anyhow::anyhow!("kafka state poisoned"))?;
        if let Some(mut running) = service.take() {
            running.stop();
        }
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.service.lock().ok()?.as_ref().map(Service::pid)
    }

    /// Freezes the broker (SIGSTOP): its sockets stay open and accept, but
    /// nothing answers, as a broker in a long GC pause or a partitioned
    /// network looks to clients. [`ApacheKafka::thaw`] resumes it.
    pub fn freeze(&self) -> anyhow::Result<()> {
        self.signal(libc::SIGSTOP)
    }

    /// Resumes a frozen broker (SIGCONT).
    pub fn thaw(&self) -> anyhow::Result<()> {
        self.signal(libc::SIGCONT)
    }

    fn signal(&self, signal: libc::c_int) -> anyhow::Result<()> {
        let pid = self.pid().ok_or_else(|| anyhow::anyhow!("kafka is not running"))?;
        crate::process::send_signal(pid, signal)
            .map_err(|e| anyhow::anyhow!("signal {signal} to kafka (pid {pid}): {e}"))
    }

    fn log_dir(&self) -> PathBuf {
        self.data_dir.join("kraft-logs")
    }

    fn java(&self, main_class: &str) -> Command {
        let mut command = tools::java_main(&self.libs, &self.data_dir.join("log4j.properties"), main_class);
        command.current_dir(&self.data_dir);
        command
    }

    fn format_storage(&self) -> anyhow::Result<()> {
        // A cluster id is 16 bytes in URL-safe base64 without padding.
        use base64::Engine as _;
        // One starting with '-' is read as an option by the tool's argument
        // parser ("expected one argument"): draw again.
        let cluster_id = std::iter::repeat_with(|| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
        })
        .find(|id| !id.starts_with('-'))
        .unwrap_or_default();
        let mut command = self.java("kafka.tools.StorageTool");
        command.args(["format", "--ignore-formatted", "-t", &cluster_id, "-c"]);
        command.arg(self.data_dir.join("server.properties"));
        run(command, "formatting the Kafka log directory")
    }

    fn make_certificate(&self) -> anyhow::Result<()> {
        if !(self.data_dir.join(KEYSTORE).is_file() && self.ca_pem().is_file()) {
            self_signed_certificate(&self.data_dir)?;
        }
        Ok(())
    }

    fn server_properties(&self) -> String {
        let (plain, sasl, controller) = (self.plaintext_port, self.sasl_ssl_port, self.controller_port);
        format!(
            "process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller}
listeners=PLAINTEXT://127.0.0.1:{plain},SASL_SSL://127.0.0.1:{sasl},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{plain},SASL_SSL://127.0.0.1:{sasl}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
log.dirs={log_dir}
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
sasl.enabled.mechanisms=OAUTHBEARER
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location={keystore}
ssl.keystore.password={KEYSTORE_PASSWORD}
ssl.key.password={KEYSTORE_PASSWORD}
",
            log_dir = self.log_dir().display(),
            keystore = self.data_dir.join(KEYSTORE).display(),
        )
    }
}

const KEYSTORE: &str = "broker.p12";
const CA_PEM: &str = "broker-ca.pem";

/// Makes a self-signed certificate for `localhost` / 127.0.0.1 with the
/// JDK's `keytool`: `dir/broker.p12` (key and certificate) and
/// `dir/broker-ca.pem` (the certificate, to trust). Returns the PEM's path.
pub fn self_signed_certificate(dir: &Path) -> anyhow::Result<PathBuf> {
    let keystore = dir.join(KEYSTORE);
    let _ = std::fs::remove_file(&keystore);
    let mut generate = Command::new(tools::keytool());
    generate
        .args(["-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048", "-validity", "7"])
        .args(["-dname", "CN=localhost", "-ext", "SAN=IP:127.0.0.1,DNS:localhost", "-storetype", "PKCS12"])
        .args(["-storepass", KEYSTORE_PASSWORD, "-keypass", KEYSTORE_PASSWORD, "-keystore"])
        .arg(&keystore);
    run(generate, "making the broker's TLS certificate (keytool)")?;
    let pem = dir.join(CA_PEM);
    let mut export = Command::new(tools::keytool());
    export
        .args(["-exportcert", "-rfc", "-alias", "broker", "-storepass", KEYSTORE_PASSWORD, "-keystore"])
        .arg(&keystore)
        .arg("-file")
        .arg(&pem);
    run(export, "exporting the broker's certificate (keytool)")?;
    Ok(pem)
}

const LOG4J: &str = "log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
";

fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let output = command.output().map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
