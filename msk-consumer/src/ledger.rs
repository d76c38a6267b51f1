//! Local runs only: a JSON-lines record of every ride processed (event id,
//! order id, partition, offset), which the local stack's end-to-end checks
//! read to prove nothing was lost and per-key order held. Not used in AWS,
//! where CloudWatch Logs carries the per-batch summary instead.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry<'a> {
    pub event_id: uuid::Uuid,
    pub order_id: &'a str,
    pub records_key: &'a str,
    pub offset: i64,
    pub ride_timestamp: i64,
    pub consumed_at: i64,
}

pub struct RideLedger {
    path: PathBuf,
}

impl RideLedger {
    /// One file per process, so concurrent function instances never interleave lines.
    pub fn in_dir(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self { path: dir.join(format!("rides-{}.jsonl", std::process::id())) })
    }

    /// Appends one batch's lines in a single write.
    pub fn append(&self, lines: &LedgerLines) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        file.write_all(&lines.0)?;
        file.sync_data()
    }
}

/// A batch's ledger lines, serialised as rides are observed (a ride borrows
/// the decode buffer, so it cannot be kept until the end of the batch).
#[derive(Debug, Default)]
pub struct LedgerLines(Vec<u8>);

impl LedgerLines {
    pub fn push(&mut self, entry: &LedgerEntry<'_>) {
        if serde_json::to_writer(&mut self.0, entry).is_ok() {
            self.0.push(b'\n');
        }
    }
}
