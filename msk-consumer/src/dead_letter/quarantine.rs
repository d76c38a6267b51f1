//! Writing a batch's dead letters: one object per partition, all at once
//! (on S3 each put is a round trip), each put raced against the time the
//! function has left to answer, and one bounded warning per stored object.

use std::collections::BTreeMap;

use super::{DeadLetterBatch, DeadLetterError, DeadLetterSink};

/// Puts every partition's dead letters; the answers come in partition
/// order. A sink that has not answered by `answer_by` fails that
/// partition's records, in time for the function to say so.
pub async fn put_all<D: DeadLetterSink>(
    sink: &D,
    quarantine: &[DeadLetterBatch<'_>],
    answer_by: tokio::time::Instant,
    request_id: &str,
) -> Vec<Result<String, DeadLetterError>> {
    let puts = futures::future::join_all(quarantine.iter().map(|batch| async move {
        tokio::time::timeout_at(answer_by, sink.put(batch)).await.unwrap_or_else(|_| {
            Err(DeadLetterError {
                sink: "dead-letter sink".into(),
                records_key: batch.records_key.clone(),
                message: "no answer by the invocation's deadline".into(),
            })
        })
    }))
    .await;
    for (batch, put) in quarantine.iter().zip(&puts) {
        if let Ok(location) = put {
            log_quarantine(batch, location, request_id);
        }
    }
    puts
}

/// Reasons written out in full on a partition's quarantine line; the rest
/// are counted, and every one is in the dead-letter object.
const REASONS_PER_LINE: usize = 10;

/// One warning per partition with poison records, once they are stored:
/// how many, their kinds, the first and last offsets, the first reasons
/// (each names its offset) and the object that holds them all. Its size is
/// bounded whatever the batch holds (CloudWatch Logs cuts events at
/// 256 KB). One line per record would cost a log event per record, and a
/// schema change that poisons a whole batch (thousands of records, again on
/// every retry) would flood the log group and its bill.
fn log_quarantine(batch: &DeadLetterBatch<'_>, location: &str, request_id: &str) {
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    for letter in &batch.letters {
        *kinds.entry(letter.reason_kind).or_default() += 1;
    }
    let mut reasons: Vec<&str> = batch.letters.iter().take(REASONS_PER_LINE).map(|l| l.reason.as_str()).collect();
    let more = batch.letters.len().saturating_sub(REASONS_PER_LINE);
    let more_note = (more > 0).then(|| format!("and {more} more in the dead-letter object"));
    reasons.extend(more_note.as_deref());
    tracing::warn!(
        request_id,
        records_key = batch.records_key.as_str(),
        poison = batch.letters.len(),
        poison_by_kind = ?kinds,
        first_offset = batch.letters.first().map(|l| l.offset),
        last_offset = batch.letters.last().map(|l| l.offset),
        reasons = ?reasons,
        dead_letters = location,
        "poison records quarantined"
    );
}
