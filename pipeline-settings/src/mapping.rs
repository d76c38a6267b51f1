//! The consumer's MSK event source mapping as deployed: one definition that
//! `infra`'s template renders (`ConsumerMapping`, the consumer's
//! environment) and the local stack's poller runs, so the branches AWS takes
//! in production (bisect, `batchItemFailures`, retries, the on-failure
//! destination) are the ones the tests drive. A test in `infra` compares the
//! rendered template with what `local` builds from this.

/// `AWS::Lambda::EventSourceMapping` properties of the consumer's mapping
/// (names as in CloudFormation; the topic and group id are render settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerMapping {
    /// `StartingPosition`.
    pub starting_position: &'static str,
    /// `BatchSize` (the template parameter's default).
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds` (the template parameter's default).
    pub maximum_batching_window_seconds: u32,
    /// `MaximumRetryAttempts`.
    pub maximum_retry_attempts: i32,
    /// `BisectBatchOnFunctionError`.
    pub bisect_batch_on_function_error: bool,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`, and the consumer's
    /// `PARTIAL_BATCH_RESPONSE=true` that goes with it.
    pub report_batch_item_failures: bool,
    /// `ProvisionedPollerConfig.MinimumPollers`.
    pub minimum_pollers: u32,
    /// `ProvisionedPollerConfig.MaximumPollers`: an event poller runs up to
    /// five invocations at once, and Lambda caps the pollers at the topic's
    /// partition count to keep each partition in order (Lambda guide,
    /// "Apache Kafka event poller scaling modes"); two pollers cover the
    /// default eight partitions.
    pub maximum_pollers: u32,
}

pub const CONSUMER_MAPPING: ConsumerMapping = ConsumerMapping {
    starting_position: "TRIM_HORIZON",
    batch_size: 500,
    maximum_batching_window_seconds: 1,
    maximum_retry_attempts: 10,
    bisect_batch_on_function_error: true,
    report_batch_item_failures: true,
    minimum_pollers: 1,
    maximum_pollers: 2,
};

/// The consumer function's `Timeout` (seconds): the template's, and the
/// window the local stack gives it (`FUNCTION_TIMEOUT_SECONDS`), where the
/// function host sends no usable deadline.
pub const CONSUMER_TIMEOUT_SECONDS: u32 = 120;

impl ConsumerMapping {
    /// The consumer's environment variables this mapping needs.
    pub fn consumer_environment(&self) -> [(&'static str, String); 1] {
        [("PARTIAL_BATCH_RESPONSE", self.report_batch_item_failures.to_string())]
    }
}

/// `AWS::Lambda::EventSourceMapping` properties of the forwarder's Kinesis
/// mapping (the Kinesis → MSK hop when the template's `Bridge` is
/// `lambda`): rendered by the template and run by the local stack's Kinesis
/// mapping, as [`CONSUMER_MAPPING`] is for the consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwarderMapping {
    /// `StartingPosition`: from the oldest record the stream keeps, as the
    /// Camel hop reads it.
    pub starting_position: &'static str,
    /// `BatchSize`.
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds`: 0, each poll's records at once.
    pub maximum_batching_window_seconds: u32,
    /// `ParallelizationFactor` (the template parameter's default): 1 keeps
    /// each shard in order; up to 10 keeps order per partition key only.
    pub parallelization_factor: u32,
    /// `BisectBatchOnFunctionError`.
    pub bisect_batch_on_function_error: bool,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
    pub report_batch_item_failures: bool,
    /// `MaximumRetryAttempts`: -1, a batch Kafka did not take is retried
    /// until it is taken or grows too old: the hop never discards because
    /// Kafka was away.
    pub maximum_retry_attempts: i32,
    /// `MaximumRecordAgeInSeconds`: one hour less than the stream's 24-hour
    /// retention, so a batch stuck that long reaches the S3 on-failure
    /// destination (its payload holds the records) before Kinesis deletes it.
    pub maximum_record_age_seconds: i32,
}

pub const FORWARDER_MAPPING: ForwarderMapping = ForwarderMapping {
    starting_position: "TRIM_HORIZON",
    batch_size: 1_000,
    maximum_batching_window_seconds: 0,
    parallelization_factor: 1,
    bisect_batch_on_function_error: true,
    report_batch_item_failures: true,
    maximum_retry_attempts: -1,
    maximum_record_age_seconds: 23 * 3_600,
};
