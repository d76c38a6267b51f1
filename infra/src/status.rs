//! `infra status`: is the pipeline running? The stack and its outputs, the
//! consumer's event source mapping, the Camel connector, and how far behind
//! the topic the consumer group is (Lambda's OffsetLag metric), and the
//! state of every alarm (docs/operating.md). Each part is reported on
//! its own, so one missing permission does not hide the rest.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Statistic};

use crate::aws::{describe, Clients};
use crate::names::{Function, StackName};
use crate::stack;

pub async fn status(clients: &Clients, stack_name: &StackName) -> anyhow::Result<()> {
    let name = stack_name.as_str();
    let Some(deployed) = stack::find(&clients.cloudformation, name).await? else {
        println!("Stack {name}: not deployed in {} (run `make deploy`)", clients.region());
        return Ok(());
    };
    println!(
        "Stack {name}: {}{}",
        deployed.stack_status().map(|s| s.as_str()).unwrap_or("UNKNOWN"),
        deployed.stack_status_reason().map(|r| format!(" ({r})")).unwrap_or_default()
    );
    stack::print_outputs(&deployed);

    let consumer = stack::output(&deployed, "ConsumerFunction")
        .map(str::to_owned)
        .or_else(|| stack_name.function_name(Function::MskConsumer))
        .unwrap_or_default();
    println!("Event source mapping ({consumer}):");
    match clients.lambda.list_event_source_mappings().function_name(&consumer).send().await {
        Ok(out) if out.event_source_mappings().is_empty() => println!("  none"),
        Ok(out) => {
            for m in out.event_source_mappings() {
                println!(
                    "  {}  state {}  last result {}  batch {}  topics {}{}",
                    m.uuid().unwrap_or_default(),
                    m.state().unwrap_or("?"),
                    m.last_processing_result().unwrap_or("none yet"),
                    m.batch_size().map(|b| b.to_string()).unwrap_or_default(),
                    m.topics().join(","),
                    m.state_transition_reason().map(|r| format!("  ({r})")).unwrap_or_default()
                );
            }
        }
        Err(e) => println!("  unavailable: {}", describe(&e)),
    }

    let prefix = format!("{name}-kinesis-source");
    println!("Connector ({prefix}):");
    match clients.kafkaconnect.list_connectors().connector_name_prefix(&prefix).send().await {
        Ok(out) if out.connectors().is_empty() => println!("  none"),
        Ok(out) => {
            for c in out.connectors() {
                println!(
                    "  {}  state {}",
                    c.connector_name().unwrap_or_default(),
                    c.connector_state().map(|s| s.as_str()).unwrap_or("?")
                );
            }
        }
        Err(e) => println!("  unavailable: {}", describe(&e)),
    }

    println!("Consumer offset lag (AWS/Lambda OffsetLag, max over the last 15 minutes):");
    let now = SystemTime::now();
    let lag = clients
        .cloudwatch
        .get_metric_statistics()
        .namespace("AWS/Lambda")
        .metric_name("OffsetLag")
        .dimensions(Dimension::builder().name("FunctionName").value(&consumer).build())
        .start_time((now - Duration::from_secs(900)).into())
        .end_time(now.into())
        .period(60)
        .statistics(Statistic::Maximum)
        .send()
        .await;
    match lag {
        Ok(out) => match out.datapoints().iter().max_by_key(|d| d.timestamp().map(|t| t.secs())) {
            Some(latest) => println!("  {} records behind", latest.maximum().unwrap_or_default()),
            None => println!("  no data yet (the mapping publishes it once it polls)"),
        },
        Err(e) => println!("  unavailable: {}", describe(&e)),
    }
    alarms(clients, name).await;
    Ok(())
}

/// Each of the stack's alarms (named `<stack>-<signal>`) and its state,
/// those in ALARM first.
async fn alarms(clients: &Clients, stack: &str) {
    let prefix = format!("{stack}-");
    println!("Alarms (docs/operating.md says what each means and the first thing to do):");
    let mut found = Vec::new();
    let mut pages = clients.cloudwatch.describe_alarms().alarm_name_prefix(&prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => found.extend(page.metric_alarms().iter().map(|a| {
                let state = a.state_value().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "?".into());
                let name = a.alarm_name().unwrap_or_default().trim_start_matches(&prefix).to_owned();
                (state != "ALARM", name, state)
            })),
            Err(e) => {
                println!("  unavailable: {}", describe(&e));
                return;
            }
        }
    }
    if found.is_empty() {
        println!("  none (deployed before the alarms were added?)");
    }
    found.sort();
    for (_, name, state) in found {
        println!("  {state:<17} {name}");
    }
}
