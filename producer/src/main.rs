//! Lambda entry point: tracing (format from Lambda's logging controls), the
//! Kinesis client and the EMF collector are built once; `producer::handle`
//! does the work.

use lambda_runtime::{service_fn, LambdaEvent};
use producer::config::Config;
use producer::sink::kinesis::KinesisSink;
use producer::{deadline_from_epoch_ms, handle, Deps};
use serde_json::Value;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_init::logging::init_subscriber();
    let config = Config::from_env()?;
    let metrics = producer::metrics::init().map_err(|e| anyhow::anyhow!("metrics recorder: {e}"))?;
    let sink = KinesisSink::from_env(config.stream.clone()).await;
    let deps = Deps::new(sink, config);
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = deadline_from_epoch_ms(event.context.deadline, deps.config.deadline_margin);
        let result = handle(&event.payload, deadline, deps).await;
        lambda_init::logging::line_to_stdout(|line| {
            metrics.set_property("RequestId", event.context.request_id.clone()).flush(line)
        })?;
        result.map_err(lambda_runtime::Diagnostic::from)
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
