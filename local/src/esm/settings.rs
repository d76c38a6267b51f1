//! The mapping's settings, named as in `AWS::Lambda::EventSourceMapping`, so
//! the template and the local poller are driven by the same values.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
}

#[derive(Debug, Clone)]
pub struct EsmSettings {
    pub topic: String,
    /// `AmazonManagedKafkaEventSourceConfig.ConsumerGroupId`.
    pub consumer_group_id: String,
    pub starting_position: StartingPosition,
    /// `BatchSize`: 1 to 10,000 records.
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds` (0 to 300).
    pub maximum_batching_window: Duration,
    /// `MaximumRetryAttempts`: -1 is infinite (capped at 10 when an on-failure
    /// destination is set, as Lambda does).
    pub maximum_retry_attempts: i32,
    /// `BisectBatchOnFunctionError`.
    pub bisect_batch_on_function_error: bool,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
    pub report_batch_item_failures: bool,
    /// `DestinationConfig.OnFailure`: an S3 bucket in the template, here a
    /// directory that gets one object (file) per discarded batch.
    pub on_failure: Option<PathBuf>,
    /// The function's ARN, as the on-failure record names it.
    pub function_arn: String,
    /// Lambda's invoke payload limit.
    pub max_payload_bytes: usize,
    pub event_source_arn: String,
    /// `ProvisionedPollerConfig.MaximumPollers`: with five invocations per
    /// poller, the bound on batches in flight ([`super::lanes`]).
    pub maximum_pollers: u32,
}

impl EsmSettings {
    pub fn new(topic: &str, consumer_group_id: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            consumer_group_id: consumer_group_id.to_owned(),
            starting_position: StartingPosition::TrimHorizon,
            batch_size: 500,
            maximum_batching_window: Duration::from_millis(500),
            maximum_retry_attempts: -1,
            bisect_batch_on_function_error: false,
            report_batch_item_failures: false,
            on_failure: None,
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:msk-consumer".to_owned(),
            max_payload_bytes: events::msk::MAX_INVOKE_PAYLOAD_BYTES,
            event_source_arn:
                "arn:aws:kafka:us-east-1:000000000000:cluster/local/00000000-0000-0000-0000-000000000000-1".to_owned(),
            maximum_pollers: 1,
        }
    }

    /// One line for reports: the settings as the template names them.
    pub fn describe(&self) -> String {
        format!(
            "BatchSize {}, MaximumBatchingWindowInSeconds {}, MaximumPollers {}, MaximumRetryAttempts {}, BisectBatchOnFunctionError {}, FunctionResponseTypes [{}], on-failure {}",
            self.batch_size,
            self.maximum_batching_window.as_secs_f64(),
            self.maximum_pollers,
            self.maximum_retry_attempts,
            self.bisect_batch_on_function_error,
            if self.report_batch_item_failures { "ReportBatchItemFailures" } else { "" },
            self.on_failure.as_ref().map_or_else(|| "none".to_owned(), |p| p.display().to_string())
        )
    }

    /// Retries allowed after the first attempt; `None` is unbounded.
    pub fn effective_retry_limit(&self) -> Option<u32> {
        match (self.maximum_retry_attempts, &self.on_failure) {
            (-1, Some(_)) => Some(10),
            (-1, None) => None,
            (n, _) => Some(u32::try_from(n).unwrap_or(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinite_retries_are_capped_when_a_destination_exists() {
        let mut s = EsmSettings::new("t", "g");
        assert_eq!(s.effective_retry_limit(), None);
        s.on_failure = Some("f".into());
        assert_eq!(s.effective_retry_limit(), Some(10));
        s.maximum_retry_attempts = 2;
        assert_eq!(s.effective_retry_limit(), Some(2));
    }
}
