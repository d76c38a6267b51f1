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
    async fn put(&self, batch: &DeadLetterBatch<'_>) -> Result<String, DeadLetterError> {
        let path = self.root.join(batch.object_name());
        let error = |e: std::io::Error| DeadLetterError {
            sink: self.root.display().to_string(),
            records_key: batch.records_key.clone(),
            message: e.to_string(),
        };
        // One trip to the blocking pool for the three file operations, the
        // lines moved there rather than copied (as `tokio::fs::write` would).
        // Written then renamed, so a reader never sees half a file.
        let (lines, target) = (batch.to_jsonl(), path.clone());
        tokio::task::spawn_blocking(move || {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let partial = target.with_extension("jsonl.partial");
            std::fs::write(&partial, lines)?;
            std::fs::rename(&partial, &target)
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|written| written)
        .map_err(error)?;
        Ok(path.display().to_string())
    }
}
