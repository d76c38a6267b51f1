//! Lambda entry point: the MSK and HTTP clients are built once;
//! `topic_creator::handle` answers each CloudFormation request.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use lambda_runtime::{service_fn, LambdaEvent};
use topic_creator::admin::{Auth, KafkaTopicAdmin};
use topic_creator::brokers::MskBrokers;
use topic_creator::respond::HttpResponder;
use topic_creator::{handle, Deps};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_runtime::tracing::init_default_subscriber();
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let region = aws.region().map(ToString::to_string).ok_or_else(|| anyhow::anyhow!("AWS_REGION is not set"))?;
    let deps = Deps {
        brokers: MskBrokers(aws_sdk_kafka::Client::new(&aws)),
        admin: KafkaTopicAdmin { auth: Auth::Iam { region } },
        responder: HttpResponder(reqwest::Client::new()),
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<CloudFormationCustomResourceRequest>| async move {
        handle(event.payload, deps)
            .await
            .map_err(|e| lambda_runtime::Diagnostic { error_type: "TopicCreator".into(), error_message: e.to_string() })
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
