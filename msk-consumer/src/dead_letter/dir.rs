//! Dead letters as files under a directory: the local stack's sink, with the
//! same object names and contents as the S3 sink.

use std::path::PathBuf;

use super::{DeadLetterBatch, DeadLetterError, DeadLetterSink};

pub struct DirSink {
    root: PathBuf,
}

impl DirSink {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl DeadLetterSink for DirSink {
    async fn put(&self, batch: &DeadLetterBatch) -> Result<String, DeadLetterError> {
        let path = self.root.join(batch.object_name());
        let error = |e: std::io::Error| DeadLetterError {
            sink: self.root.display().to_string(),
            records_key: batch.records_key.clone(),
            message: e.to_string(),
        };
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(error)?;
        }
        // Write then rename, so a reader never sees half a file.
        let partial = path.with_extension("jsonl.partial");
        tokio::fs::write(&partial, batch.to_jsonl()).await.map_err(error)?;
        tokio::fs::rename(&partial, &path).await.map_err(error)?;
        Ok(path.display().to_string())
    }
}
