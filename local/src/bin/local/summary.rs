//! The report's text: the pipeline's figures (`local::report`), then what
//! ran (function host, broker, hop, mapping), where the rides went and what
//! bounded the pace, and the template's alarms as the run would have raised
//! them.

use std::sync::atomic::Ordering;
use std::time::Duration;

use local::report::PipelineReport;
use local::stack::LocalStack;

/// Prints the report of a finished run.
pub(crate) async fn print(stack: &LocalStack, report: &PipelineReport, timeline: &local::pace::Timeline) {
    println!("\n{report}");
    if report.on_failure_records > 0 {
        println!(
            "on-failure objects    {} (AWS's invocation record for Kafka, one per batch)",
            stack.on_failure_dir().display()
        );
    }
    println!(
        "function host         cargo lambda watch at {}, restarted {} times; {} invocations did not reach it (retried)",
        stack.watch.endpoint(),
        stack.watch.restarts(),
        stack.esm_stats.service_errors.load(Ordering::Relaxed)
    );
    println!("broker                {}", stack.broker.describe());
    let in_kafka = stack.records_in_kafka().unwrap_or(0);
    let resent = in_kafka.saturating_sub((report.in_kinesis + report.poison_in_kinesis) as u64);
    match (stack.connect(), stack.forwarder()) {
        (Some(connect), _) => {
            println!("hop                   Camel: {}", connect.describe());
            if connect.restarts() > 0 {
                println!(
                    "                      restarted {} time(s) mid-stream (SIGKILL): the task re-sent the stream; the consumer counted {} redundant deliveries, the table holds each ride once",
                    connect.restarts(),
                    report.duplicates
                );
            }
            println!(
                "                      plugin version {} (as the worker lists it), {in_kafka} records in Kafka ({resent} duplicates), {} dropped in the task's hand-off",
                connect.plugin_version().await.unwrap_or_else(|e| format!("unknown ({e})")),
                connect.dropped_in_handoff()
            );
        }
        (None, Some(hop)) => {
            let stats = &hop.stats;
            println!("hop                   {}", stack.describe_bridge());
            println!(
                "                      {in_kafka} records in Kafka ({resent} duplicates); {} invocations ({} failed or partly failed, {} not reaching the function, {} bisections), {} records sent to the on-failure destination",
                stats.invocations.load(Ordering::Relaxed),
                stats.failed_invocations.load(Ordering::Relaxed),
                stats.service_errors.load(Ordering::Relaxed),
                stats.bisections.load(Ordering::Relaxed),
                stats.records_sent_on_failure.load(Ordering::Relaxed)
            );
        }
        (None, None) => {}
    }
    println!("mapping               the template's: {}", stack.esm_settings().describe());
    print_where_the_rides_went(stack, report, timeline);
    println!("alarms                the template's, as this run would have raised them (docs/operating.md):");
    for line in local::signals::lines(stack, report) {
        println!("{line}");
    }
}

/// The rides table's side of the run, and the stage that bounded its pace.
fn print_where_the_rides_went(stack: &LocalStack, report: &PipelineReport, timeline: &local::pace::Timeline) {
    let log = stack.watch.log();
    let total = |metric: &str| local::report::emf_total(log, metric);
    println!(
        "rides table           {} on {}: {} items; the consumer's writes: {} taken, {} refused as already stored, {} refused as a changed ride, {} not answered in time",
        stack.options.rides_table,
        stack.table.describe(),
        report.consumed + report.not_from_stream,
        total("StoredRides"),
        total("DuplicateRides"),
        total("ConflictingRides"),
        total("RidesNotStored"),
    );
    let stats = &stack.esm_stats;
    let consumer = local::pace::ConsumerSide {
        invoking: Duration::from_micros(stats.invoke_micros.load(Ordering::Relaxed)),
        storing: Duration::from_secs_f64(total("StoreMilliseconds") / 1e3),
        // Five per poller, one per partition (`local::esm::lanes`).
        concurrency: local::esm::lanes::max_concurrent_invocations(stack.esm_settings().maximum_pollers)
            .min(usize::try_from(stack.options.partitions).unwrap_or(1)),
    };
    match local::pace::bounding_stage(timeline, &consumer) {
        Some((_, why)) => println!("pace bounded by       {why}"),
        None => println!("pace bounded by       (not known: a stage never held every ride)"),
    }
}

/// The connector's properties: the template's, and what only this loopback run adds.
pub(crate) async fn print_connector(stack: &LocalStack) {
    let Some(connect) = stack.connect() else { return };
    let version = connect.plugin_version().await.unwrap_or_else(|e| format!("unknown ({e})"));
    eprintln!("connector: {}, plugin version {version}, task RUNNING", connect.describe());
    eprintln!("  properties (pipeline_settings::connector, as the template deploys them):");
    for (key, value) in &connect.config {
        if !connect.local_only.iter().any(|(k, _, _)| k == key) {
            eprintln!("    {key}={value}");
        }
    }
    eprintln!("  added for this loopback run only:");
    for (key, value, why) in &connect.local_only {
        eprintln!("    {key}={value}    ({why})");
    }
}
