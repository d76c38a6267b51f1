//! Lambda entry point: tracing (format from Lambda's logging controls), the
//! dead-letter sink and the EMF collector are built once; the body reaches
//! `msk_consumer::handle_payload` as the bytes Lambda sent (`raw_body`), so
//! the event is parsed once, borrowing from them.

use lambda_runtime::layers::TracingLayer;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent, Runtime};
use msk_consumer::config::{Config, DeadLetterTarget};
use msk_consumer::dead_letter::{dir::DirSink, s3::S3Sink, ConfiguredSink};
use msk_consumer::ledger::RideLedger;
use msk_consumer::raw_body::{RawBodies, RawBodyLayer};
use msk_consumer::{handle_payload, Deps, Invocation};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let keeps_memory = msk_consumer::memory::keep_freed_memory();
    lambda_runtime::tracing::init_default_subscriber();
    if !keeps_memory {
        tracing::warn!(
            "the allocator did not take msk_consumer::memory's thresholds: freed pages may be faulted in again"
        );
    }
    let config = Config::from_env()?;
    let metrics = msk_consumer::metrics::init().map_err(|e| anyhow::anyhow!("metrics recorder: {e}"))?;
    let dead_letters = match &config.dead_letters {
        DeadLetterTarget::S3 { bucket, prefix } => {
            let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            ConfiguredSink::S3(S3Sink::new(aws_sdk_s3::Client::new(&aws), bucket, prefix))
        }
        DeadLetterTarget::Dir(dir) => ConfiguredSink::Dir(DirSink::new(dir)),
    };
    let ledger = config.ride_ledger_dir.as_deref().map(RideLedger::in_dir).transpose()?;
    let deps = Deps { config, dead_letters, ledger };
    let deps = &deps;
    let bodies = RawBodies::default();
    let handler_bodies = &bodies;
    let handler = service_fn(move |event: LambdaEvent<()>| async move {
        let invocation = Invocation { request_id: event.context.request_id.clone(), now_ms: msk_consumer::epoch_ms() };
        let Some(body) = handler_bodies.take(&invocation.request_id) else {
            return Err(Diagnostic {
                error_type: "PayloadMissing".into(),
                error_message: format!("no body was kept for request {}", invocation.request_id),
            });
        };
        let result = handle_payload(&body, &invocation, deps).await;
        metrics.set_property("RequestId", invocation.request_id).flush(std::io::stdout())?;
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
