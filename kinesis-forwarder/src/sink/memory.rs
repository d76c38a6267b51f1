//! An in-memory sink: keeps what it was given, and answers as told, so the
//! handler's mapping from deliveries to `batchItemFailures` is tested
//! without a broker.

use std::sync::Mutex;
use std::time::Instant;

use super::{Delivery, RecordSink};
use crate::record::ForwardRecord;

/// How the sink answers the record at a position of a call.
pub type Answer = fn(usize, &ForwardRecord) -> Delivery;

pub struct MemorySink {
    pub written: Mutex<Vec<ForwardRecord>>,
    answer: Answer,
}

impl MemorySink {
    /// Acknowledges everything, at offsets in arrival order.
    pub fn acknowledging() -> Self {
        Self::answering(|i, _| Delivery::Acknowledged { partition: 0, offset: i as i64 })
    }

    pub fn answering(answer: Answer) -> Self {
        Self { written: Mutex::new(Vec::new()), answer }
    }

    pub fn written(&self) -> Vec<ForwardRecord> {
        self.written.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

impl RecordSink for MemorySink {
    async fn send_all(&self, records: &[ForwardRecord], _deadline: Instant) -> Vec<Delivery> {
        let answers: Vec<Delivery> = records.iter().enumerate().map(|(i, r)| (self.answer)(i, r)).collect();
        if let Ok(mut written) = self.written.lock() {
            written.extend(records.iter().zip(&answers).filter(|(_, d)| d.is_acknowledged()).map(|(r, _)| r.clone()));
        }
        answers
    }
}
