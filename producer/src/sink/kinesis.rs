//! The real adapter: `PutRecords` through `aws-sdk-kinesis`. The SDK retries
//! whole-call throttling and transient errors itself (standard retry mode);
//! what reaches us is classified for the per-entry retry loop in `send`.

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sdk_kinesis::Client;
use events::OutboundRecord;

use super::{EntryOutcome, RecordSink, SinkError};
use crate::config::StreamTarget;

pub struct KinesisSink {
    client: Client,
    stream: StreamTarget,
}

impl KinesisSink {
    pub fn new(client: Client, stream: StreamTarget) -> Self {
        Self { client, stream }
    }

    /// Builds a client from the standard AWS configuration chain, which also
    /// honours `AWS_ENDPOINT_URL_KINESIS` for the local emulator.
    pub async fn from_env(stream: StreamTarget) -> Self {
        let config = lambda_init::aws::load_from_env().await;
        Self::new(Client::new(&config), stream)
    }
}

impl RecordSink for KinesisSink {
    async fn put_records(&self, records: &[&OutboundRecord]) -> Result<Vec<EntryOutcome>, SinkError> {
        let entries = records
            .iter()
            .map(|r| {
                PutRecordsRequestEntry::builder()
                    .partition_key(&r.partition_key)
                    .data(Blob::new(r.data.clone()))
                    .build()
                    .map_err(|e| SinkError { code: "InvalidEntry".into(), message: e.to_string(), retryable: false })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let request = self.client.put_records().set_records(Some(entries));
        let request = match &self.stream {
            StreamTarget::Name(name) => request.stream_name(name),
            StreamTarget::Arn(arn) => request.stream_arn(arn),
        };
        let output = request.send().await.map_err(|e| classify(&self.stream, e))?;
        if output.records().len() != records.len() {
            return Err(SinkError {
                code: "MalformedResponse".into(),
                message: format!("{} results for {} records", output.records().len(), records.len()),
                retryable: true,
            });
        }
        Ok(output
            .records()
            .iter()
            .map(|entry| match (entry.error_code(), entry.sequence_number(), entry.shard_id()) {
                (None, Some(seq), Some(shard)) => {
                    EntryOutcome::Written { shard_id: shard.to_owned(), sequence_number: seq.to_owned() }
                }
                (code, _, _) => EntryOutcome::Failed {
                    code: code.unwrap_or("MissingSequenceNumber").to_owned(),
                    message: entry.error_message().unwrap_or_default().to_owned(),
                },
            })
            .collect())
    }
}

fn classify<E, R>(stream: &StreamTarget, error: SdkError<E, R>) -> SinkError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = error.code().unwrap_or("TransportError").to_owned();
    let detail = aws_smithy_types::error::display::DisplayErrorContext(&error).to_string();
    let (message, retryable) = match code.as_str() {
        "ResourceNotFoundException" => (
            format!(
                "{stream} not found: create it (`make demo` does locally) or fix STREAM_NAME / STREAM_ARN ({detail})"
            ),
            false,
        ),
        "AccessDeniedException"
        | "ValidationException"
        | "InvalidArgumentException"
        | "UnrecognizedClientException"
        | "KMSAccessDeniedException"
        | "KMSDisabledException"
        | "KMSInvalidStateException"
        | "KMSNotFoundException"
        | "KMSOptInRequired" => (detail, false),
        _ => (detail, true),
    };
    SinkError { code, message, retryable }
}
