//! The template's alarms (infra `template::alarms`, docs/operating.md)
//! as the local stack can see them: for each signal it has, the value a run
//! reached, so a demo shows which alarm a deployment would have raised.

use std::sync::atomic::Ordering;

use crate::report::PipelineReport;
use crate::stack::LocalStack;

/// One line per signal the local stack measures: name, value, and whether
/// the deployed alarm would have fired (its threshold is the template's).
pub fn lines(stack: &LocalStack, report: &PipelineReport) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = |alarm: &str, value: u64, threshold: u64, unit: &str| {
        let state = if value >= threshold { "ALARM" } else { "ok" };
        lines.push(format!("  {alarm:<26} {state:<6} {value} {unit} (alarm at {threshold})"));
    };
    if let Some(connect) = stack.connect() {
        line("ConnectorQueueFull", connect.dropped_in_handoff() as u64, 1, "records dropped in the task's hand-off");
    }
    if let Some(hop) = stack.forwarder() {
        line(
            "HopBehind",
            hop.stats.max_iterator_age_ms.load(Ordering::Relaxed),
            600_000,
            "ms, the oldest a batch's newest record was when invoked",
        );
        line("ForwarderBatchesDiscarded", hop.stats.records_sent_on_failure.load(Ordering::Relaxed), 1, "records");
    }
    line("ConsumerBatchesDiscarded", stack.esm_stats.records_sent_on_failure.load(Ordering::Relaxed), 1, "records");
    line("PoisonDeadLettered", report.dead_lettered as u64, 1, "records");
    line("ProducerRidesNotWritten", stack.schedule_stats.rides_failed.load(Ordering::Relaxed), 1, "rides");
    lines
}
