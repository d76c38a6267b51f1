//! The local event source mapping: an `rdkafka` consumer group that does what
//! Lambda's MSK poller does: batches records, builds exactly the JSON AWS
//! sends, invokes `msk-consumer` through the Lambda Invoke API, commits
//! offsets only after success, and on failure retries, bisects, honours
//! partial batch responses and sends discarded batches to an on-failure
//! destination, as the mapping's settings say.

pub mod consumer;
pub mod delivery;
pub mod invoke;
pub mod kinesis;
pub mod lanes;
pub mod msk_source;
pub mod poller;
pub mod settings;

pub use delivery::{deliver, GiveUp, RetryPolicy, Source};
pub use invoke::{FunctionInvoker, InvokeError};
pub use poller::{EsmPoller, EsmStats};
pub use settings::{EsmSettings, StartingPosition};
