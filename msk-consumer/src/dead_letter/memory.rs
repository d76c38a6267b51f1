//! Dead letters kept in memory, with a switch that makes the sink fail like
//! an unreachable bucket, for tests of the retry semantics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::{DeadLetterBatch, DeadLetterError, DeadLetterSink};

#[derive(Default)]
pub struct MemorySink {
    batches: Mutex<Vec<DeadLetterBatch<'static>>>,
    failing: AtomicBool,
}

impl MemorySink {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub fn batches(&self) -> Vec<DeadLetterBatch<'static>> {
        self.batches.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl DeadLetterSink for MemorySink {
    async fn put(&self, batch: &DeadLetterBatch<'_>) -> Result<String, DeadLetterError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(DeadLetterError {
                sink: "memory".into(),
                records_key: batch.records_key.clone(),
                message: "sink unreachable (simulated)".into(),
            });
        }
        self.batches.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(batch.to_static());
        Ok(format!("memory://{}", batch.object_name()))
    }
}
