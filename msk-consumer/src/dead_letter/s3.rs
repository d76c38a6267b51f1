//! Dead letters as S3 objects under a prefix: the sink in AWS. Objects are
//! JSON lines, encrypted at rest by the bucket's default encryption.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::{DeadLetterBatch, DeadLetterError, DeadLetterSink};

pub struct S3Sink {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3Sink {
    pub fn new(client: Client, bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into(), prefix: prefix.into() }
    }
}

impl DeadLetterSink for S3Sink {
    async fn put(&self, batch: &DeadLetterBatch<'_>) -> Result<String, DeadLetterError> {
        let key = format!("{}{}", self.prefix, batch.object_name());
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/x-ndjson")
            .body(ByteStream::from(batch.to_jsonl()))
            .send()
            .await
            .map_err(|e| DeadLetterError {
                sink: format!("s3://{}/{}", self.bucket, self.prefix),
                records_key: batch.records_key.clone(),
                message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
            })?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }
}
