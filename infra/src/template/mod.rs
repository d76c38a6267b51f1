//! The CloudFormation template of the whole pipeline, built by one module
//! per concern and serialised once.

pub mod alarms;
pub mod args;
pub mod bastion;
pub mod connector;
pub mod forwarder;
pub mod functions;
pub mod guard;
pub mod iam;
pub mod kafka;
pub mod model;
pub mod network;
pub mod parameters;
pub mod rides_table;
pub mod schedule;
pub mod settings;
pub mod stream;

pub use args::TemplateArgs;
use model::{get_att, r#ref, Template};
use settings::{Settings, SettingsError};

pub fn render(settings: &Settings) -> Result<Template, SettingsError> {
    settings.validate()?;
    let mut t = Template {
        format_version: "2010-09-09",
        description: "Kinesis -> MSK (Camel aws-kinesis-source on MSK Connect, or the kinesis-forwarder Lambda) -> Lambda car-ride pipeline, rendered by `infra template`".into(),
        ..Template::default()
    };
    parameters::add(&mut t);
    network::add(&mut t);
    stream::add(&mut t);
    rides_table::add(&mut t);
    kafka::add(&mut t, settings);
    functions::add(&mut t, settings);
    schedule::add(&mut t);
    forwarder::add(&mut t, settings);
    connector::add(&mut t, settings);
    bastion::add(&mut t, settings);
    alarms::add(&mut t, settings);
    t.output("StreamName", "Kinesis stream the producer writes", r#ref(stream::STREAM));
    t.output("ClusterArn", "MSK cluster", r#ref(kafka::CLUSTER));
    t.output("BootstrapBrokers", "IAM bootstrap brokers (port 9098)", get_att(kafka::TOPIC, "BootstrapBrokersSaslIam"));
    t.output("Topic", "Topic the connector fills", serde_json::Value::from(settings.topic.clone()));
    t.output("ProducerFunction", "Producer Lambda", r#ref(functions::PRODUCER));
    t.output("ConsumerFunction", "MSK consumer Lambda", r#ref(functions::CONSUMER));
    t.output("Bridge", "The Kinesis -> MSK hop deployed (camel or lambda)", r#ref(forwarder::BRIDGE_PARAMETER));
    t.output("DeadLetterBucket", "Poison records and discarded batches", r#ref(functions::DEAD_LETTERS));
    t.output("RidesTable", "Every valid ride, once, keyed by event id", r#ref(rides_table::RIDES_TABLE));
    Ok(t)
}
