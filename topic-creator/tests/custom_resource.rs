//! The topic creator without AWS: the CloudFormation samples from
//! `events/samples/`, the answer PUT to a loopback server standing in for
//! CloudFormation's response URL, and topic creation through `rdkafka`'s
//! admin API against Apache Kafka (the local stack's broker, from Maven
//! Central): in plaintext, and on its SASL_SSL + OAUTHBEARER listener through
//! the IAM path the Lambda takes on MSK.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::Value;
use topic_creator::admin::{Auth, KafkaTopicAdmin};
use topic_creator::brokers::FixedBrokers;
use topic_creator::request::TopicSpec;
use topic_creator::respond::HttpResponder;
use topic_creator::{handle, Deps, TopicAdmin, TopicError, TopicOutcome};

/// A loopback server that records every PUT body.
async fn response_catcher() -> (SocketAddr, Arc<Mutex<Vec<Value>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let store = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let store = store.clone();
                    async move {
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        if let Ok(v) = serde_json::from_slice(&body) {
                            store.lock().expect("lock").push(v);
                        }
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

fn sample(name: &str, response_url: &str) -> CloudFormationCustomResourceRequest {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/samples/");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).expect("sample")).expect("json");
    event["ResponseURL"] = Value::from(response_url);
    serde_json::from_value(event).expect("a CloudFormation request")
}

fn partitions(bootstrap: &str, topic: &str) -> usize {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("client");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    metadata.topics().first().map_or(0, |t| t.partitions().len())
}

/// Remembers the topics it was asked for; the first ask creates.
#[derive(Default)]
struct RecordingAdmin(Mutex<Vec<TopicSpec>>);

impl TopicAdmin for RecordingAdmin {
    async fn ensure_topic(&self, _bootstrap: &str, spec: &TopicSpec) -> Result<TopicOutcome, TopicError> {
        let mut seen = self.0.lock().expect("lock");
        let outcome = if seen.iter().any(|s| s.topic == spec.topic) {
            TopicOutcome::AlreadyExisted
        } else {
            TopicOutcome::Created
        };
        seen.push(spec.clone());
        Ok(outcome)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_answers_with_the_brokers_and_delete_always_succeeds() {
    let bootstrap = "b-1.example:9098,b-2.example:9098".to_owned();
    let (addr, answers) = response_catcher().await;
    let url = format!("http://{addr}/response");
    let deps = Deps {
        brokers: FixedBrokers(bootstrap.clone()),
        admin: RecordingAdmin::default(),
        responder: HttpResponder::new(),
    };
    let created = handle(sample("cfn-topic-create.json", &url), &deps).await.expect("answered");
    assert_eq!(created.reason, None);
    let asked = deps.admin.0.lock().expect("lock")[0].clone();
    assert_eq!((asked.topic.as_str(), asked.partitions, asked.replication_factor), ("carrides", 4, 2));
    // A retried create (CloudFormation may resend) finds the topic and succeeds.
    handle(sample("cfn-topic-create.json", &url), &deps).await.expect("answered again");
    handle(sample("cfn-topic-delete.json", &url), &deps).await.expect("delete answered");
    let answers = answers.lock().expect("lock").clone();
    assert_eq!(answers.len(), 3);
    for answer in &answers[..2] {
        assert_eq!(answer["Status"], "SUCCESS", "{answer}");
        assert_eq!(answer["Data"]["BootstrapBrokersSaslIam"], bootstrap.as_str());
        assert!(answer["PhysicalResourceId"].as_str().is_some_and(|id| id.ends_with("/carrides")), "{answer}");
        assert_eq!(answer["LogicalResourceId"], "RideTopic");
    }
    assert_eq!(answers[2]["Status"], "SUCCESS");
}

/// One Apache Kafka for the tests of this binary (a JVM start is seconds).
fn kafka() -> &'static local::kafka::apache::ApacheKafka {
    static KAFKA: std::sync::OnceLock<local::kafka::apache::ApacheKafka> = std::sync::OnceLock::new();
    KAFKA.get_or_init(|| {
        let dir = local::scratch::shared(env!("CARGO_TARGET_TMPDIR"), "topic-creator-kafka").expect("dir");
        local::kafka::apache::ApacheKafka::start(&dir).expect("Apache Kafka (make tools)")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_the_topic_on_a_real_broker_idempotently() {
    let bootstrap = kafka().bootstrap_servers();
    let admin = KafkaTopicAdmin::new(Auth::Plaintext);
    let spec = TopicSpec {
        cluster_arn: "local".into(),
        topic: format!("carrides-{}", std::process::id()),
        partitions: 4,
        replication_factor: 1,
    };
    assert_eq!(admin.ensure_topic(&bootstrap, &spec).await.expect("created"), TopicOutcome::Created);
    assert_eq!(admin.ensure_topic(&bootstrap, &spec).await.expect("again"), TopicOutcome::AlreadyExisted);
    assert_eq!(partitions(&bootstrap, &spec.topic), 4);

    // The whole custom resource: CloudFormation's Create request for the
    // sample topic, created on the broker, answered SUCCESS with the brokers.
    let (addr, answers) = response_catcher().await;
    let deps = Deps {
        brokers: FixedBrokers(bootstrap.clone()),
        admin: KafkaTopicAdmin::new(Auth::Plaintext),
        responder: HttpResponder::new(),
    };
    let mut request = serde_json::to_value(sample("cfn-topic-create.json", &format!("http://{addr}/r"))).expect("json");
    let topic = format!("carrides-cfn-{}", std::process::id());
    request["ResourceProperties"]["Topic"] = Value::from(topic.as_str());
    request["ResourceProperties"]["ReplicationFactor"] = Value::from("1");
    let request: CloudFormationCustomResourceRequest = serde_json::from_value(request).expect("request");
    handle(request, &deps).await.expect("answered");
    let answer = answers.lock().expect("lock")[0].clone();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"]["BootstrapBrokersSaslIam"], bootstrap.as_str());
    assert_eq!(partitions(&bootstrap, &topic), 4);
}

/// The Lambda's IAM path (`Auth::Iam`: SASL_SSL, OAUTHBEARER, a token from
/// `topic_creator::iam_token`) against a broker listener speaking the same
/// protocols. It must get through TLS (the broker's certificate checked
/// against its CA, host name included) and the SASL handshake; the broker
/// then validates the token with Kafka's default handler, which accepts only
/// unsecured JWTs, so an MSK IAM token (a signed URL) is refused as
/// `invalid_token`. That refusal is the expected end: it can only come from a
/// broker that completed TLS and received the OAUTHBEARER token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_iam_path_gets_through_tls_and_sasl_to_the_token_check() {
    // Dummy credentials (in `iam_refusal`): the token is presigned locally, nothing reaches AWS.
    let kafka = kafka();
    let spec = TopicSpec {
        cluster_arn: "local".into(),
        topic: format!("carrides-iam-{}", std::process::id()),
        partitions: 2,
        replication_factor: 1,
    };
    let reason = iam_refusal(kafka, &kafka.ca_pem(), &spec).await;
    println!("IAM token refused: {reason}");
    assert!(reason.contains("SASL authentication error"), "{reason}");
    assert!(reason.contains("invalid_token"), "{reason}");

    // Control: the same call trusting another CA stops at the TLS handshake,
    // so the refusal above came after TLS succeeded.
    let (_ca_dir, ca) = untrusted_ca();
    let reason = iam_refusal(kafka, &ca, &spec).await;
    println!("unknown certificate: {reason}");
    assert!(reason.contains("SSL handshake failed"), "{reason}");
    assert!(!reason.contains("invalid_token"), "{reason}");
}

/// Why the topic creator's IAM path, trusting `ca`, fails on the broker's
/// SASL_SSL listener (it must fail: the broker takes no MSK IAM token).
async fn iam_refusal(kafka: &local::kafka::apache::ApacheKafka, ca: &std::path::Path, spec: &TopicSpec) -> String {
    let admin = KafkaTopicAdmin {
        auth: Auth::Iam {
            region: local::LOCAL_REGION.into(),
            ca_location: ca.display().to_string(),
            credentials: SharedCredentialsProvider::new(Credentials::new(
                local::LOCAL_ACCESS_KEY,
                local::LOCAL_SECRET_KEY,
                None,
                None,
                "test",
            )),
        },
        timeout: Duration::from_secs(5),
    };
    admin
        .ensure_topic(&kafka.sasl_ssl_bootstrap_servers(), spec)
        .await
        .expect_err("the IAM path is refused")
        .to_string()
}

/// A CA certificate that did not sign the broker's (another broker's), in
/// the directory that holds it.
fn untrusted_ca() -> (local::scratch::Scratch, std::path::PathBuf) {
    let dir = local::scratch::Scratch::new(env!("CARGO_TARGET_TMPDIR"), "topic-creator-other-ca").expect("dir");
    let ca = local::kafka::apache::self_signed_certificate(dir.path()).expect("keytool");
    (dir, ca)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_is_answered_as_failed_with_the_reason() {
    let (addr, answers) = response_catcher().await;
    let deps = Deps {
        // Nothing listens here: the admin call fails.
        brokers: FixedBrokers("127.0.0.1:1".into()),
        admin: KafkaTopicAdmin::new(Auth::Plaintext),
        responder: HttpResponder::new(),
    };
    let mut request = serde_json::to_value(sample("cfn-topic-create.json", &format!("http://{addr}/r"))).expect("json");
    request["ResourceProperties"]["Partitions"] = Value::from("many");
    let request: CloudFormationCustomResourceRequest = serde_json::from_value(request).expect("request");
    let answer = handle(request, &deps).await.expect("answered");
    assert_eq!(answer.reason.as_deref(), Some("Partitions must be a whole number from 1 to 1000, got \"many\""));
    assert_eq!(answers.lock().expect("lock")[0]["Status"], "FAILED");
}

/// Partitions grow on update; fewer partitions or another replication factor
/// fail with the reason, and a rollback to what the broker has succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_grow_partitions_and_refuse_what_kafka_cannot_change() {
    let bootstrap = kafka().bootstrap_servers();
    let admin = KafkaTopicAdmin::new(Auth::Plaintext);
    let mut spec = TopicSpec {
        cluster_arn: "local".into(),
        topic: format!("carrides-update-{}", std::process::id()),
        partitions: 2,
        replication_factor: 1,
    };
    assert_eq!(admin.ensure_topic(&bootstrap, &spec).await.expect("created"), TopicOutcome::Created);
    spec.partitions = 5;
    assert_eq!(admin.ensure_topic(&bootstrap, &spec).await.expect("grown"), TopicOutcome::Grown { from: 2, to: 5 });
    assert_eq!(partitions(&bootstrap, &spec.topic), 5);

    spec.partitions = 3;
    let fewer = admin.ensure_topic(&bootstrap, &spec).await.expect_err("Kafka cannot remove partitions").to_string();
    assert!(fewer.contains("exists with 5 partitions, more than 3: Kafka cannot remove partitions"), "{fewer}");
    spec.partitions = 5;
    spec.replication_factor = 2;
    let rf = admin.ensure_topic(&bootstrap, &spec).await.expect_err("replication is fixed").to_string();
    assert!(rf.contains("exists with replication factor 1, not 2: Kafka cannot change it in place"), "{rf}");
    // The rollback CloudFormation sends after such a refusal asks for what
    // the broker already has: it succeeds.
    spec.replication_factor = 1;
    assert_eq!(admin.ensure_topic(&bootstrap, &spec).await.expect("rollback"), TopicOutcome::AlreadyExisted);
    assert_eq!(partitions(&bootstrap, &spec.topic), 5);
}

/// A payload of an unknown type, or one that does not decode, is answered
/// FAILED with the reason (CloudFormation would otherwise wait for
/// `ServiceTimeout`); without a response URL there is nobody to answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_payload_is_answered() {
    let (addr, answers) = response_catcher().await;
    let url = format!("http://{addr}/r");
    let deps = Deps {
        brokers: FixedBrokers("127.0.0.1:1".into()),
        admin: RecordingAdmin::default(),
        responder: HttpResponder::new(),
    };
    let mut unknown = serde_json::to_value(sample("cfn-topic-create.json", &url)).expect("json");
    unknown["RequestType"] = Value::from("Import");
    let answer = topic_creator::handle_payload(unknown, &deps, Duration::from_secs(5)).await.expect("answered");
    assert!(answer.reason.as_deref().is_some_and(|r| r.contains("request type \"Import\"")), "{:?}", answer.reason);

    let mut broken = serde_json::to_value(sample("cfn-topic-create.json", &url)).expect("json");
    broken.as_object_mut().expect("object").remove("ResourceProperties");
    broken["StackId"] = Value::from(42);
    topic_creator::handle_payload(broken, &deps, Duration::from_secs(5)).await.expect("answered");

    let seen = answers.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    for answer in &seen {
        assert_eq!(answer["Status"], "FAILED", "{answer}");
        assert_eq!(answer["LogicalResourceId"], "RideTopic", "{answer}");
        assert!(answer["Reason"].as_str().is_some_and(|r| r.contains("does not decode")), "{answer}");
    }
    let nobody = topic_creator::handle_payload(serde_json::json!({"hello": 1}), &deps, Duration::from_secs(5)).await;
    assert!(nobody.expect_err("no ResponseURL").to_string().contains("no ResponseURL"));
}

/// An admin call that never returns (unreachable brokers) is cut at the
/// budget and answered FAILED; an answer that cannot be delivered fails
/// within the responder's timeout instead of holding the function.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_call_is_answered_within_the_budget() {
    struct HangingAdmin;
    impl TopicAdmin for HangingAdmin {
        async fn ensure_topic(&self, _bootstrap: &str, _spec: &TopicSpec) -> Result<TopicOutcome, TopicError> {
            std::future::pending().await
        }
    }
    let (addr, answers) = response_catcher().await;
    let deps = Deps { brokers: FixedBrokers("b:9098".into()), admin: HangingAdmin, responder: HttpResponder::new() };
    let payload = serde_json::to_value(sample("cfn-topic-create.json", &format!("http://{addr}/r"))).expect("json");
    let started = std::time::Instant::now();
    let answer = topic_creator::handle_payload(payload, &deps, Duration::from_secs(1)).await.expect("answered");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(answer.reason.as_deref().is_some_and(|r| r.contains("not ready within 1s")), "{:?}", answer.reason);
    assert_eq!(answers.lock().expect("lock")[0]["Status"], "FAILED");

    // A response URL that accepts the connection and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_url = format!("http://{}/r", silent.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let deps = Deps {
        brokers: FixedBrokers("b:9098".into()),
        admin: RecordingAdmin::default(),
        responder: HttpResponder::with_timeout(Duration::from_secs(1)),
    };
    let started = std::time::Instant::now();
    let undelivered = handle(sample("cfn-topic-create.json", &silent_url), &deps).await;
    assert!(undelivered.is_err(), "the answer could not be delivered");
    assert!(started.elapsed() < Duration::from_secs(5));
}
