//! Lambda entry point: the MSK and HTTP clients are built once;
//! `topic_creator::handle_payload` answers each CloudFormation request
//! before the function's deadline, whatever the payload holds.

use std::time::Duration;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use topic_creator::admin::{Auth, KafkaTopicAdmin};
use topic_creator::brokers::MskBrokers;
use topic_creator::respond::HttpResponder;
use topic_creator::{handle_payload, Deps};

/// Left for answering CloudFormation after the topic work gives up.
const ANSWER_MARGIN: Duration = Duration::from_secs(15);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_init::logging::init_subscriber();
    let aws = lambda_init::aws::load_from_env().await;
    let auth = Auth::iam(&aws).map_err(|e| anyhow::anyhow!(e))?;
    let deps = Deps {
        brokers: MskBrokers(aws_sdk_kafka::Client::new(&aws)),
        admin: KafkaTopicAdmin::new(auth),
        responder: HttpResponder::new(),
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let budget = time_left(event.context.deadline).saturating_sub(ANSWER_MARGIN);
        handle_payload(event.payload, deps, budget)
            .await
            .map_err(|e| lambda_runtime::Diagnostic { error_type: "TopicCreator".into(), error_message: e.to_string() })
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}

/// Time until `deadline_ms` (milliseconds since the epoch, as Lambda gives it).
fn time_left(deadline_ms: u64) -> Duration {
    Duration::from_millis(deadline_ms.saturating_sub(lambda_init::clock::epoch_ms_unsigned()))
}
