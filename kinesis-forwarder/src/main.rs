//! Lambda entry point: tracing (format from Lambda's logging controls), the
//! Kafka producer (it lives across invocations) and the EMF collector are
//! built once; `kinesis_forwarder::handle` does the work.

use kinesis_forwarder::config::{AuthMode, Config};
use kinesis_forwarder::event::KinesisEvent;
use kinesis_forwarder::sink::kafka::KafkaSink;
use kinesis_forwarder::{ack_deadline, handle};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_init::logging::init_subscriber();
    let config = Config::from_env()?;
    let metrics = kinesis_forwarder::metrics::init().map_err(|e| anyhow::anyhow!("metrics recorder: {e}"))?;
    let auth = match config.auth {
        AuthMode::Iam => {
            let aws = lambda_init::aws::load_from_env().await;
            match msk_iam::Auth::iam(&aws)? {
                msk_iam::Auth::Iam { region, credentials, .. } => {
                    msk_iam::Auth::Iam { region, credentials, ca_location: config.ca_location.clone() }
                }
                plaintext => plaintext,
            }
        }
        AuthMode::Plaintext => msk_iam::Auth::Plaintext,
    };
    let sink = KafkaSink::new(&config, &auth)?;
    let (sink, config) = (&sink, &config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<KinesisEvent>| async move {
        let deadline = ack_deadline(event.context.deadline, config.deadline_margin, config.max_ack_wait);
        let left_ms = deadline.saturating_duration_since(std::time::Instant::now()).as_millis();
        let result = handle(&event.payload, sink, deadline).await;
        if let Ok((_, summary)) = &result {
            kinesis_forwarder::metrics::record(summary);
            tracing::info!(
                records = summary.records,
                acknowledged = summary.acknowledged,
                not_acknowledged = summary.not_acknowledged,
                refused = summary.refused,
                left_ms,
                "batch forwarded"
            );
        }
        lambda_init::logging::line_to_stdout(|line| {
            metrics.set_property("RequestId", event.context.request_id.clone()).flush(line)
        })?;
        result
            .map(|(response, _)| response)
            .map_err(|e| Diagnostic { error_type: "ForwardError".into(), error_message: e.to_string() })
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
