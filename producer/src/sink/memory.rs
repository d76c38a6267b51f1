//! An in-memory stream: records land in a Vec, and a script of failures lets a
//! test make chosen entries or calls fail the way Kinesis does.

use std::collections::VecDeque;
use std::sync::Mutex;

use events::OutboundRecord;

use super::{EntryOutcome, RecordSink, SinkError};

/// What the next `PutRecords` call does.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// Fail the entries at these positions of the request with this code.
    FailEntries { positions: Vec<usize>, code: &'static str },
    /// Fail the whole call.
    FailCall(SinkError),
    /// Never answer (a stalled endpoint).
    Hang,
}

#[derive(Default)]
pub struct MemorySink {
    written: Mutex<Vec<OutboundRecord>>,
    script: Mutex<VecDeque<Scripted>>,
    calls: Mutex<usize>,
}

impl MemorySink {
    pub fn new() -> Self {
        Self::default()
    }

    /// Scripts the next calls, in order; later calls succeed.
    pub fn then(self, step: Scripted) -> Self {
        lock(&self.script).push_back(step);
        self
    }

    pub fn written(&self) -> Vec<OutboundRecord> {
        lock(&self.written).clone()
    }

    pub fn calls(&self) -> usize {
        *lock(&self.calls)
    }
}

/// A poisoned lock only means another test thread panicked; the data is fine.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RecordSink for MemorySink {
    async fn put_records(&self, records: &[&OutboundRecord]) -> Result<Vec<EntryOutcome>, SinkError> {
        *lock(&self.calls) += 1;
        let step = lock(&self.script).pop_front();
        if let Some(Scripted::Hang) = step {
            return std::future::pending().await;
        }
        let failing: Vec<usize> = match step {
            Some(Scripted::FailCall(error)) => return Err(error),
            Some(Scripted::FailEntries { ref positions, .. }) => positions.clone(),
            Some(Scripted::Hang) | None => Vec::new(),
        };
        let mut written = lock(&self.written);
        let outcomes = records
            .iter()
            .enumerate()
            .map(|(i, record)| match &step {
                Some(Scripted::FailEntries { code, .. }) if failing.contains(&i) => {
                    EntryOutcome::Failed { code: (*code).to_owned(), message: "scripted failure".to_owned() }
                }
                _ => {
                    written.push((*record).clone());
                    EntryOutcome::Written {
                        shard_id: "shardId-000000000000".to_owned(),
                        sequence_number: written.len().to_string(),
                    }
                }
            })
            .collect();
        Ok(outcomes)
    }
}
