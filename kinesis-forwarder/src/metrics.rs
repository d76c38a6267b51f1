//! One CloudWatch Embedded Metric Format line per invocation, through the
//! `metrics` facade: records forwarded, not acknowledged in time, refused.

use crate::ForwardSummary;

pub const NAMESPACE: &str = "CarRides/Forwarder";

const COUNTS: [&str; 4] = ["Records", "ForwardedRecords", "UnacknowledgedRecords", "RefusedRecords"];

pub fn init() -> Result<&'static metrics_cloudwatch_embedded::Collector, metrics_cloudwatch_embedded::Error> {
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension("Function", "kinesis-forwarder")
        .emit_zeros(true)
        .init()?;
    for name in COUNTS {
        metrics::describe_counter!(name, metrics::Unit::Count, "");
    }
    metrics::describe_counter!("ValueBytes", metrics::Unit::Bytes, "");
    Ok(collector)
}

pub fn record(s: &ForwardSummary) {
    for (name, value) in COUNTS.into_iter().zip([s.records, s.acknowledged, s.not_acknowledged, s.refused]) {
        metrics::counter!(name).increment(value as u64);
    }
    metrics::counter!("ValueBytes").increment(s.bytes as u64);
}
