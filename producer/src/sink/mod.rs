//! Where records go: a small port with a Kinesis adapter for real runs and an
//! in-memory one (with scripted failures) for unit tests and benchmarks.

use std::future::Future;

use events::OutboundRecord;

pub mod kinesis;
pub mod memory;

/// What Kinesis said about one entry of a `PutRecords` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome {
    Written { shard_id: String, sequence_number: String },
    Failed { code: String, message: String },
}

/// A whole `PutRecords` call failed (after the SDK's own retries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PutRecords failed: {code}: {message}")]
pub struct SinkError {
    pub code: String,
    pub message: String,
    /// Whether sending the same entries again later can succeed.
    pub retryable: bool,
}

pub trait RecordSink: Send + Sync {
    /// Sends one request's worth of records; the outcomes are in input order.
    fn put_records(
        &self,
        records: &[&OutboundRecord],
    ) -> impl Future<Output = Result<Vec<EntryOutcome>, SinkError>> + Send;
}

/// Per-entry error codes worth retrying: throttling and transient failures.
/// Everything else (KMS access or state errors, ...) will not heal by waiting.
pub fn is_retryable_entry_code(code: &str) -> bool {
    matches!(
        code,
        "ProvisionedThroughputExceededException" | "KMSThrottlingException" | "InternalFailure" | "ServiceUnavailable"
    )
}
