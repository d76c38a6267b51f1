//! The topic creator without AWS: the CloudFormation samples from
//! `events/samples/`, the answer PUT to a loopback server standing in for
//! CloudFormation's response URL, and topic creation through `rdkafka`'s
//! admin API against a real broker. librdkafka's mock cluster does not serve
//! CreateTopics, so that test runs against the local stack's real broker,
//! tansu (or any plaintext broker at `KAFKA_BOOTSTRAP_SERVERS`); it is ignored
//! unless `make test` finds tansu installed (`make tansu`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
        responder: HttpResponder(reqwest::Client::new()),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs tansu: `make tansu` once (make test runs it when installed)"]
async fn creates_the_topic_on_a_real_broker_idempotently() {
    let dir = std::env::temp_dir().join(format!("topic-creator-tansu-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let tansu = match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
        Ok(_) => None,
        Err(_) => Some(local::tansu::Tansu::start(&dir).expect("tansu (make tansu)")),
    };
    let bootstrap = match &tansu {
        Some(t) => t.bootstrap_servers(),
        None => std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_default(),
    };
    let admin = KafkaTopicAdmin { auth: Auth::Plaintext };
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
        admin: KafkaTopicAdmin { auth: Auth::Plaintext },
        responder: HttpResponder(reqwest::Client::new()),
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
    drop(tansu);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_is_answered_as_failed_with_the_reason() {
    let (addr, answers) = response_catcher().await;
    let deps = Deps {
        // Nothing listens here: the admin call fails.
        brokers: FixedBrokers("127.0.0.1:1".into()),
        admin: KafkaTopicAdmin { auth: Auth::Plaintext },
        responder: HttpResponder(reqwest::Client::new()),
    };
    let mut request = serde_json::to_value(sample("cfn-topic-create.json", &format!("http://{addr}/r"))).expect("json");
    request["ResourceProperties"]["Partitions"] = Value::from("many");
    let request: CloudFormationCustomResourceRequest = serde_json::from_value(request).expect("request");
    let answer = handle(request, &deps).await.expect("answered");
    assert_eq!(answer.reason.as_deref(), Some("Partitions must be a whole number from 1 to 1000, got \"many\""));
    assert_eq!(answers.lock().expect("lock")[0]["Status"], "FAILED");
}
