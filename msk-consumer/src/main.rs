//! Lambda entry point: tracing (format from Lambda's logging controls), the
//! dead-letter sink and the EMF collector are built once; the body reaches
//! `msk_consumer::handle_payload` as the bytes Lambda sent (`raw_body`), so
//! the event is parsed once, borrowing from them.

use lambda_runtime::layers::TracingLayer;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent, Runtime};
use msk_consumer::config::{Config, DeadLetterTarget};
use msk_consumer::dead_letter::{dir::DirSink, s3::S3Sink, ConfiguredSink};
use msk_consumer::raw_body::{RawBodies, RawBodyLayer};
use msk_consumer::store::dynamodb::DynamoStore;
use msk_consumer::{handle_payload, Deps, Invocation};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let keeps_memory = msk_consumer::allocator::keep_freed_memory();
    lambda_init::logging::init_subscriber();
    if !keeps_memory {
        tracing::warn!(
            "the allocator did not take msk_consumer::memory's thresholds: freed pages may be faulted in again"
        );
    }
    let config = Config::from_env()?;
    let metrics = msk_consumer::metrics::init().map_err(|e| anyhow::anyhow!("metrics recorder: {e}"))?;
    // One AWS configuration (credentials, region, endpoints) for both clients, loaded only if one needs it.
    let needs_aws = matches!(config.dead_letters, DeadLetterTarget::S3 { .. }) || config.rides_table.is_some();
    let aws = if needs_aws { Some(lambda_init::aws::load_from_env().await) } else { None };
    let dead_letters = match (&config.dead_letters, &aws) {
        (DeadLetterTarget::S3 { bucket, prefix }, Some(aws)) => {
            ConfiguredSink::S3(S3Sink::new(aws_sdk_s3::Client::new(aws), bucket, prefix))
        }
        (DeadLetterTarget::S3 { .. }, None) => anyhow::bail!("unreachable: S3 without an AWS configuration"),
        (DeadLetterTarget::Dir(dir), _) => ConfiguredSink::Dir(DirSink::new(dir)),
    };
    let store = match (&config.rides_table, &aws) {
        (Some(table), Some(aws)) => {
            Some(DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), table, i64::from(config.ride_ttl_days) * 86_400))
        }
        _ => {
            tracing::warn!("{}", msk_consumer::config::STORAGE_OFF);
            None
        }
    };
    let no_deadline_window = config.no_deadline_window();
    let deps = Deps { config, dead_letters, store };
    let deps = &deps;
    let bodies = RawBodies::default();
    let handler_bodies = &bodies;
    let handler = service_fn(move |event: LambdaEvent<()>| async move {
        let now_ms = msk_consumer::epoch_ms();
        // The runtime's deadline (ms since the epoch) less the margin to answer.
        let deadline = Some(lambda_init::deadline::until(
            event.context.deadline,
            msk_consumer::DEADLINE_MARGIN,
            no_deadline_window,
        ));
        let invocation = Invocation { request_id: event.context.request_id.clone(), now_ms, deadline };
        let Some(body) = handler_bodies.take(&invocation.request_id) else {
            return Err(Diagnostic {
                error_type: "PayloadMissing".into(),
                error_message: format!("no body was kept for request {}", invocation.request_id),
            });
        };
        let result = handle_payload(&body, &invocation, deps).await;
        lambda_init::logging::line_to_stdout(|line| {
            metrics.set_property("RequestId", invocation.request_id).flush(line)
        })?;
        result.map_err(Diagnostic::from)
    });
    // Layers added last run first: the body is taken before anything reads it.
    Runtime::new(handler)
        .layer(TracingLayer::new())
        .layer(RawBodyLayer::new(bodies.clone()))
        .run()
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
