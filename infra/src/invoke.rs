//! `infra invoke`: run a deployed function once with a sample event, the way
//! `cargo lambda invoke` does locally, and show its answer and log tail.

use std::path::PathBuf;

use anyhow::Context;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine;

use crate::aws::{describe, Clients};
use crate::names::{Function, StackName};

#[derive(Debug, Clone, clap::Args)]
pub struct InvokeArgs {
    /// The event to send (any file from events/samples/).
    #[arg(long, default_value = "events/samples/producer-invoke.json")]
    pub payload: PathBuf,
    /// Which function of the stack.
    #[arg(long, value_enum, default_value = "producer")]
    pub function: Function,
    /// Invoke this function name instead of the stack's.
    #[arg(long)]
    pub function_name: Option<String>,
}

pub async fn invoke(clients: &Clients, stack: &StackName, args: &InvokeArgs) -> anyhow::Result<()> {
    let name = match (args.function_name.clone(), stack.function_name(args.function)) {
        (Some(name), _) | (None, Some(name)) => name,
        (None, None) => anyhow::bail!("the connector is not a Lambda function: choose producer or msk-consumer"),
    };
    let payload = std::fs::read(&args.payload).with_context(|| format!("reading {}", args.payload.display()))?;
    serde_json::from_slice::<serde_json::Value>(&payload)
        .with_context(|| format!("{} is not JSON", args.payload.display()))?;
    // One attempt: a retried producer invocation would emit its rides twice.
    let config = aws_sdk_lambda::config::Builder::from(&clients.config)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let lambda = aws_sdk_lambda::Client::from_conf(config);
    let out = lambda
        .invoke()
        .function_name(&name)
        .invocation_type(InvocationType::RequestResponse)
        .log_type(LogType::Tail)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("invoking {name}: {}", describe(&e)))?;
    if let Some(tail) = out.log_result() {
        let decoded = base64::engine::general_purpose::STANDARD.decode(tail).unwrap_or_default();
        eprintln!("--- log tail of {name} ---\n{}", String::from_utf8_lossy(&decoded).trim_end());
    }
    let body = out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default();
    let shown = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    println!("{shown}");
    if let Some(error) = out.function_error() {
        anyhow::bail!("{name} returned a function error ({error})");
    }
    Ok(())
}
