//! Quarantine for poison records: everything needed to inspect or replay a
//! record (its Kafka and Kinesis coordinates, the reason, and the key, value
//! and headers exactly as received), written as JSON lines, one object per partition per batch.
//! The object name is derived from the offsets, so a retried batch rewrites
//! the same object instead of duplicating it.

use std::borrow::Cow;
use std::future::Future;

use events::camel::KinesisOrigin;
use events::msk::{Header, MskRecord};
use serde::Serialize;

pub mod dir;
pub mod memory;
pub mod quarantine;
pub mod s3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter<'a> {
    pub topic: String,
    pub partition: i64,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub reason_kind: &'static str,
    pub reason: String,
    /// Base64 as received (even when it is broken), so nothing is lost.
    /// Borrowed from the invocation's body: a value over the record limit is
    /// not copied to be quarantined.
    pub key: Option<Cow<'a, str>>,
    /// Absent only for a record that had none (a tombstone is never poison).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Cow<'a, str>>,
    /// Parsed headers; when they were malformed, `headersJson` keeps the text.
    pub headers: Vec<DeadLetterHeader>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers_json: Option<String>,
    /// Where the record is in Kinesis, from the connector's headers: what an
    /// operator needs to find it there (`GetShardIterator` AT_SEQUENCE_NUMBER).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kinesis: Option<KinesisOrigin<'static>>,
    pub quarantined_at: i64,
    pub request_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetterHeader {
    pub name: String,
    /// Header bytes as base64 (they need not be UTF-8).
    pub value: String,
}

impl<'a> DeadLetter<'a> {
    pub fn new(
        records_key: &str,
        record: &'a MskRecord<'_>,
        reason_kind: &'static str,
        reason: String,
        meta: &LetterMeta,
    ) -> Self {
        use base64::Engine as _;
        let topic = record.topic.as_deref().map(str::to_owned).unwrap_or_else(|| {
            events::msk::split_records_key(records_key).map(|(t, _)| t.to_owned()).unwrap_or_default()
        });
        let header = |h: &Header| DeadLetterHeader {
            name: h.name.clone(),
            value: base64::engine::general_purpose::STANDARD.encode(&h.value),
        };
        let parsed = record.headers.parse();
        Self {
            topic,
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            reason_kind,
            reason,
            key: record.key.as_deref().map(Cow::Borrowed),
            value: record.value.as_deref().map(Cow::Borrowed),
            headers: parsed.as_ref().map(|hs| hs.iter().map(header).collect()).unwrap_or_default(),
            headers_json: parsed.is_err().then(|| record.headers.raw_json()),
            kinesis: parsed.as_ref().ok().and_then(|hs| {
                let origin = KinesisOrigin::from_headers(hs.iter().map(|h| (h.name.as_str(), h.value.as_slice())));
                (!origin.is_empty()).then(|| origin.into_owned())
            }),
            quarantined_at: meta.now_ms,
            request_id: meta.request_id.clone(),
        }
    }

    /// A copy that outlives the body: key and value copied too.
    pub fn to_static(&self) -> DeadLetter<'static> {
        self.with_value(self.value.as_deref().map(|v| Cow::Owned(v.to_owned())))
    }

    /// The letter with `value` for its value; every other field copied.
    fn with_value<'b>(&self, value: Option<Cow<'b, str>>) -> DeadLetter<'b> {
        DeadLetter {
            topic: self.topic.clone(),
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            reason_kind: self.reason_kind,
            reason: self.reason.clone(),
            key: self.key.as_deref().map(|k| Cow::Owned(k.to_owned())),
            value,
            headers: self.headers.clone(),
            headers_json: self.headers_json.clone(),
            kinesis: self.kinesis.clone(),
            quarantined_at: self.quarantined_at,
            request_id: self.request_id.clone(),
        }
    }
}

/// Facts about the invocation stamped on every letter.
#[derive(Debug, Clone)]
pub struct LetterMeta {
    pub request_id: String,
    pub now_ms: i64,
}

/// The poison records of one partition in one batch, in offset order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterBatch<'a> {
    pub records_key: String,
    pub letters: Vec<DeadLetter<'a>>,
}

impl DeadLetterBatch<'_> {
    /// `<topic>-<partition>/<lowest offset>-<highest offset>.jsonl`,
    /// zero-padded so listings sort by offset: from the lowest and highest
    /// offsets whatever the letters' order, so a later batch (whose letters
    /// span other offsets) never takes the name of an object holding more.
    /// The records key comes from the payload: anything but the characters
    /// Kafka allows in a topic name becomes `_`, and a leading `.` too, so no
    /// key (`../x`, `a/b`, `..`) can name a place outside the sink's root or
    /// prefix.
    pub fn object_name(&self) -> String {
        let lowest = self.letters.iter().map(|l| l.offset).min().unwrap_or(0);
        let highest = self.letters.iter().map(|l| l.offset).max().unwrap_or(0);
        format!("{}/{lowest:020}-{highest:020}.jsonl", safe_component(&self.records_key))
    }

    /// A copy that outlives the invocation's body.
    pub fn to_static(&self) -> DeadLetterBatch<'static> {
        DeadLetterBatch {
            records_key: self.records_key.clone(),
            letters: self.letters.iter().map(DeadLetter::to_static).collect(),
        }
    }

    /// One JSON object per line. A value that needs no escaping (base64
    /// never does; the SIMD check says so) is written as it is, as the
    /// line's last field, instead of through serde_json's byte-by-byte
    /// escaping loop, which on a value over the 1 MiB record limit cost more
    /// than decoding the whole batch. Anything else is escaped as usual.
    pub fn to_jsonl(&self) -> Vec<u8> {
        let text_len: usize =
            self.letters.iter().map(|l| l.value.as_deref().map_or(0, str::len) + l.reason.len() + 512).sum();
        let mut out = Vec::with_capacity(text_len);
        for letter in &self.letters {
            // Plain strings and integers always serialise.
            let written = match letter.value.as_deref() {
                Some(plain) if !events::fast::needs_json_escaping(plain) => {
                    serde_json::to_writer(&mut out, &letter.with_value(None)).is_ok() && {
                        out.pop(); // the closing brace
                        out.extend_from_slice(br#","value":""#);
                        out.extend_from_slice(plain.as_bytes());
                        out.extend_from_slice(br#""}"#);
                        true
                    }
                }
                _ => serde_json::to_writer(&mut out, letter).is_ok(),
            };
            if written {
                out.push(b'\n');
            }
        }
        out
    }
}

/// The sink could not take the letters: an infrastructure failure, so the
/// invocation (or these records) must be retried, never skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dead-letter sink {sink} failed for {records_key}: {message}")]
pub struct DeadLetterError {
    pub sink: String,
    pub records_key: String,
    pub message: String,
}

pub trait DeadLetterSink: Send + Sync {
    /// Stores the batch; returns where it went.
    fn put(&self, batch: &DeadLetterBatch<'_>) -> impl Future<Output = Result<String, DeadLetterError>> + Send;
}

/// The sink chosen by configuration at cold start.
pub enum ConfiguredSink {
    S3(s3::S3Sink),
    Dir(dir::DirSink),
}

impl DeadLetterSink for ConfiguredSink {
    async fn put(&self, batch: &DeadLetterBatch<'_>) -> Result<String, DeadLetterError> {
        match self {
            ConfiguredSink::S3(sink) => sink.put(batch).await,
            ConfiguredSink::Dir(sink) => sink.put(batch).await,
        }
    }
}

/// One path component made of `[A-Za-z0-9._-]` that does not start with `.`.
pub fn safe_component(name: &str) -> String {
    let mut safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect();
    if safe.is_empty() || safe.starts_with('.') {
        safe.insert(0, '_');
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(value: &str) -> DeadLetter<'_> {
        DeadLetter {
            topic: "t".into(),
            partition: 0,
            offset: 7,
            timestamp: None,
            reason_kind: "bad_base64",
            reason: "r".into(),
            key: Some("a2V5".into()),
            value: Some(value.into()),
            headers: Vec::new(),
            headers_json: None,
            kinesis: None,
            quarantined_at: 1,
            request_id: "q".into(),
        }
    }

    #[test]
    fn an_object_is_named_from_its_lowest_and_highest_offsets_whatever_their_order() {
        let at = |offset| DeadLetter { offset, ..letter("eyJhIjoxfQ==") };
        // A conflicting ride (offset 2) found after poison at 5 and 9.
        let batch = DeadLetterBatch { records_key: "t-0".into(), letters: vec![at(5), at(9), at(2)] };
        assert_eq!(batch.object_name(), "t-0/00000000000000000002-00000000000000000009.jsonl");
    }

    #[test]
    fn values_are_written_verbatim_when_plain_and_escaped_otherwise() {
        let odd = "quote \" backslash \\ newline \n tab \t and ünïcode";
        for value in ["eyJhIjoxfQ==", odd, ""] {
            let batch = DeadLetterBatch { records_key: "t-0".into(), letters: vec![letter(value)] };
            let jsonl = batch.to_jsonl();
            let line: serde_json::Value = serde_json::from_slice(&jsonl).expect("one JSON line");
            assert_eq!(line["value"], value, "{}", String::from_utf8_lossy(&jsonl));
            assert_eq!(line["key"], "a2V5");
            assert_eq!(jsonl.last(), Some(&b'\n'));
        }
        let plain = DeadLetterBatch { records_key: "t-0".into(), letters: vec![letter("eyJhIjoxfQ==")] }.to_jsonl();
        assert!(String::from_utf8_lossy(&plain).contains(r#""value":"eyJhIjoxfQ==""#));
    }
}
