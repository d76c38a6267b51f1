//! CloudWatch metrics as Embedded Metric Format lines: the handler records
//! through the `metrics` facade, `main` flushes one EMF line per invocation.

use crate::ProducerOutput;

pub const NAMESPACE: &str = "CarRides/Producer";

/// Installs the EMF recorder for this process (once, at cold start).
pub fn init() -> Result<&'static metrics_cloudwatch_embedded::Collector, metrics_cloudwatch_embedded::Error> {
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension("Function", "producer")
        // Zeros keep failure alarms fed with data points instead of gaps.
        .emit_zeros(true)
        .init()?;
    for name in ["RidesSent", "RidesRetried", "RidesFailed", "PutRecordsCalls"] {
        metrics::describe_counter!(name, metrics::Unit::Count, "");
    }
    metrics::describe_histogram!("InvocationMillis", metrics::Unit::Milliseconds, "");
    Ok(collector)
}

pub fn record(output: &ProducerOutput) {
    metrics::counter!("RidesSent").increment(output.sent as u64);
    metrics::counter!("RidesRetried").increment(output.retried as u64);
    metrics::counter!("RidesFailed").increment(output.failed as u64);
    metrics::counter!("PutRecordsCalls").increment(output.put_calls as u64);
    metrics::histogram!("InvocationMillis").record(output.elapsed_ms as f64);
}
