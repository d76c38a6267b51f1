//! Lambda entry point: tracing (format from Lambda's logging controls), the
//! dead-letter sink and the EMF collector are built once; the payload is kept
//! as raw JSON so `msk_consumer::handle_payload` can borrow from it.

use lambda_runtime::{service_fn, LambdaEvent};
use msk_consumer::config::{Config, DeadLetterTarget};
use msk_consumer::dead_letter::{dir::DirSink, s3::S3Sink, ConfiguredSink};
use msk_consumer::ledger::RideLedger;
use msk_consumer::{handle_payload, Deps, Invocation};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_runtime::tracing::init_default_subscriber();
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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        let invocation = Invocation { request_id: event.context.request_id.clone(), now_ms: epoch_ms() };
        let result = handle_payload(event.payload.get(), &invocation, deps).await;
        metrics.set_property("RequestId", invocation.request_id).flush(std::io::stdout())?;
        result.map_err(lambda_runtime::Diagnostic::from)
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}

fn epoch_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
