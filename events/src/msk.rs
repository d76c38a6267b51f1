//! The payload an MSK (or self-managed Kafka) event source mapping sends to
//! Lambda. Deserialisation borrows the base64 strings from the request body,
//! and accepts a slightly wider shape than `aws_lambda_events::KafkaEvent`:
//! headers and timestamp may be missing and header bytes may be signed or
//! unsigned, because a payload that fails to deserialise is retried by the
//! mapping forever and blocks its partition. Tests check that both types read
//! every sample the same way.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Lambda's synchronous invocation payload limit, which caps a batch.
pub const MAX_INVOKE_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

pub const EVENT_SOURCE_MSK: &str = "aws:kafka";
pub const EVENT_SOURCE_SELF_MANAGED: &str = "SelfManagedKafka";

/// A string borrowed from the payload unless JSON escapes forced a copy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Text<'static> {
    fn from(s: String) -> Self {
        Text(Cow::Owned(s))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MskEvent<'a> {
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub event_source: Option<Text<'a>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub event_source_arn: Option<Text<'a>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_servers: Option<Text<'a>>,
    /// Keyed `"<topic>-<partition>"`; sorted so serialised samples are stable.
    #[serde(borrow, default, deserialize_with = "null_as_empty")]
    pub records: BTreeMap<Text<'a>, Vec<MskRecord<'a>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MskRecord<'a> {
    #[serde(borrow, default)]
    pub topic: Option<Text<'a>>,
    pub partition: i64,
    pub offset: i64,
    /// Milliseconds since the Unix epoch.
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(borrow, default)]
    pub timestamp_type: Option<Text<'a>>,
    /// Base64; absent or null for a record produced without a key.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Text<'a>>,
    /// Base64; null or absent for a tombstone.
    #[serde(borrow, default)]
    pub value: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub headers: Headers<'a>,
}

/// A record's headers, parsed only when asked for: most records never need
/// them (parsing every byte array dominated decoding a batch), and a
/// malformed header then spoils one record instead of the whole payload.
#[derive(Debug, Clone)]
pub enum Headers<'a> {
    /// The JSON text of the list, as received.
    Raw(&'a str),
    Parsed(Vec<Header>),
}

impl Default for Headers<'_> {
    fn default() -> Self {
        Headers::Parsed(Vec::new())
    }
}

impl Headers<'_> {
    /// The headers, or why they are not a list of `{"name": [bytes]}` maps.
    pub fn parse(&self) -> Result<Cow<'_, [Header]>, String> {
        match self {
            Headers::Parsed(headers) => Ok(Cow::Borrowed(headers)),
            Headers::Raw(raw) => serde_json::from_str::<Option<Vec<Header>>>(raw)
                .map(|h| Cow::Owned(h.unwrap_or_default()))
                .map_err(|e| format!("headers are malformed: {e}")),
        }
    }

    /// The JSON text as received (or as it would be sent).
    pub fn raw_json(&self) -> String {
        match self {
            Headers::Raw(raw) => (*raw).to_owned(),
            Headers::Parsed(headers) => serde_json::to_string(headers).unwrap_or_default(),
        }
    }
}

impl PartialEq for Headers<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self.parse(), other.parse()) {
            (Ok(a), Ok(b)) => a == b,
            _ => self.raw_json() == other.raw_json(),
        }
    }
}

impl Eq for Headers<'_> {}

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            // Written back verbatim when it is JSON; a list the fast path left
            // unread and is broken fails here rather than writing bad JSON.
            Headers::Raw(raw) => match RawValue::from_string((*raw).to_owned()) {
                Ok(json) => json.serialize(s),
                Err(e) => Err(serde::ser::Error::custom(format!("headers are malformed: {e}"))),
            },
            Headers::Parsed(headers) => headers.serialize(s),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Headers<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<&'de RawValue>::deserialize(d)? {
            Some(raw) if raw.get() != "null" => Headers::Raw(raw.get()),
            _ => Headers::default(),
        })
    }
}

/// One Kafka header. On the wire: `{"name": [byte, ...]}`, bytes signed as
/// Lambda sends them (200 arrives as -56).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self { name: name.into(), value: value.into() }
    }
}

impl MskRecord<'_> {
    /// How a partial batch response names this record.
    pub fn item_identifier(&self, records_key: &str) -> ItemIdentifier {
        ItemIdentifier { partition: records_key.to_owned(), offset: self.offset }
    }

    /// Exact bytes of this record's compact JSON, without building it: what
    /// it adds (plus a comma) to a serialised event's size.
    pub fn json_len(&self) -> usize {
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut count = Count(0);
        // Writing to a counter cannot fail, and the record is plain data.
        let _ = serde_json::to_writer(&mut count, self);
        count.0
    }

    /// The value of the first header called `name` (parsing the headers).
    pub fn header(&self, name: &str) -> Option<Vec<u8>> {
        self.headers.parse().ok()?.iter().find(|h| h.name == name).map(|h| h.value.clone())
    }
}

/// A record in a partial batch response: the `records` key it came under
/// (`"<topic>-<partition>"`) and its offset. Lambda resumes each partition
/// from the lowest reported offset. This object form is what AWS's own
/// libraries send for Kafka (aws-lambda-rust-runtime PR #1164's
/// `KafkaItemIdentifier`; Powertools for Python's `KafkaItemIdentifier`),
/// unlike the plain string identifiers of SQS and Kinesis.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemIdentifier {
    pub partition: String,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: ItemIdentifier,
}

/// The response body when the mapping has `FunctionResponseTypes:
/// [ReportBatchItemFailures]`; an empty list means the whole batch succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

impl BatchResponse {
    pub fn failing(items: impl IntoIterator<Item = ItemIdentifier>) -> Self {
        Self {
            batch_item_failures: items
                .into_iter()
                .map(|item_identifier| BatchItemFailure { item_identifier })
                .collect(),
        }
    }
}

/// Splits `"my-topic-3"` into `("my-topic", 3)`: topic names may contain `-`,
/// so the partition is what follows the last one.
pub fn split_records_key(key: &str) -> Option<(&str, i32)> {
    let (topic, partition) = key.rsplit_once('-')?;
    Some((topic, partition.parse().ok()?))
}

/// What the poller (or a sample generator) knows of a fetched Kafka record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub log_append_time: bool,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<Header>,
}

impl KafkaMessage {
    /// The record exactly as the event source mapping renders it.
    pub fn to_msk_record(&self) -> MskRecord<'static> {
        MskRecord {
            topic: Some(self.topic.clone().into()),
            partition: i64::from(self.partition),
            offset: self.offset,
            timestamp: Some(self.timestamp_ms),
            timestamp_type: Some(
                String::from(if self.log_append_time { "LOG_APPEND_TIME" } else { "CREATE_TIME" }).into(),
            ),
            key: self.key.as_ref().map(|k| BASE64.encode(k).into()),
            value: self.value.as_ref().map(|v| BASE64.encode(v).into()),
            headers: Headers::Parsed(self.headers.clone()),
        }
    }
}

impl<'a> MskEvent<'a> {
    pub fn new(event_source: &str, event_source_arn: &str, bootstrap_servers: &str) -> Self {
        Self {
            event_source: Some(event_source.to_owned().into()),
            event_source_arn: Some(event_source_arn.to_owned().into()),
            bootstrap_servers: Some(bootstrap_servers.to_owned().into()),
            records: BTreeMap::new(),
        }
    }

    pub fn push(&mut self, record: MskRecord<'a>) {
        let topic = record.topic.as_deref().unwrap_or_default();
        let key = format!("{}-{}", topic, record.partition);
        self.records.entry(key.into()).or_default().push(record);
    }

    pub fn record_count(&self) -> usize {
        self.records.values().map(Vec::len).sum()
    }

    /// Every record with its `records` key, partitions in key order, records
    /// in the order Lambda delivered them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &MskRecord<'a>)> {
        self.records.iter().flat_map(|(k, rs)| rs.iter().map(move |r| (&*k.0, r)))
    }
}

fn null_as_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl Serialize for Header {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let signed: Vec<i8> = self.value.iter().map(|&b| b as i8).collect();
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(&self.name, &signed)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(HeaderVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Header;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a header: an object with one name mapped to an array of bytes")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        let Some((name, HeaderBytes(value))) = map.next_entry::<String, HeaderBytes>()? else {
            return Err(de::Error::custom("a header object is empty; expected {\"name\": [bytes]}"));
        };
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format!("header {name:?} object has more than one entry")));
        }
        Ok(Header { name, value })
    }
}

/// Accepts bytes as -128..=255 so both Lambda's signed form and a plain
/// unsigned encoding decode to the same bytes.
struct HeaderBytes(Vec<u8>);

impl<'de> Deserialize<'de> for HeaderBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = HeaderBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of byte values from -128 to 255")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeaderBytes, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(16));
                while let Some(n) = seq.next_element::<i64>()? {
                    let byte = match n {
                        -128..=-1 => (n as i8) as u8,
                        0..=255 => n as u8,
                        _ => return Err(de::Error::custom(format!("header byte {n} is outside -128..=255"))),
                    };
                    out.push(byte);
                }
                Ok(HeaderBytes(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<HeaderBytes, E> {
                Ok(HeaderBytes(Vec::new()))
            }
        }
        d.deserialize_any(BytesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(partition: i32, offset: i64, value: Option<&[u8]>) -> KafkaMessage {
        KafkaMessage {
            topic: "car-rides".into(),
            partition,
            offset,
            timestamp_ms: 1_764_000_000_000,
            log_append_time: false,
            key: None,
            value: value.map(<[u8]>::to_vec),
            headers: vec![Header::new("h", vec![0u8, 127, 128, 200, 255])],
        }
    }

    #[test]
    fn partial_batch_responses_name_partition_key_and_offset() {
        let response = BatchResponse::failing([ItemIdentifier { partition: "some.topic-3".into(), offset: 42 }]);
        let json = serde_json::to_value(&response).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": {"partition": "some.topic-3", "offset": 42}}]})
        );
        let empty: BatchResponse = serde_json::from_str(r#"{"batchItemFailures": null}"#).expect("null list");
        assert!(empty.batch_item_failures.is_empty());
    }

    #[test]
    fn records_key_splits_on_the_last_dash() {
        assert_eq!(split_records_key("car-rides-12"), Some(("car-rides", 12)));
        assert_eq!(split_records_key("carrides-0"), Some(("carrides", 0)));
        assert_eq!(split_records_key("carrides"), None);
        assert_eq!(split_records_key("carrides-x"), None);
    }

    #[test]
    fn header_bytes_are_signed_on_the_wire_and_read_back_either_way() {
        let json = serde_json::to_string(&message(0, 1, Some(b"v")).to_msk_record()).expect("json");
        assert!(json.contains(r#""headers":[{"h":[0,127,-128,-56,-1]}]"#), "{json}");
        assert!(!json.contains("\"key\""), "a keyless record has no key field: {json}");
        let back: MskRecord<'_> = serde_json::from_str(&json).expect("read back");
        assert_eq!(back.header("h").as_deref(), Some(&[0u8, 127, 128, 200, 255][..]));
        let unsigned = json.replace("[0,127,-128,-56,-1]", "[0,127,128,200,255]");
        let back: MskRecord<'_> = serde_json::from_str(&unsigned).expect("unsigned form");
        assert_eq!(back.header("h").as_deref(), Some(&[0u8, 127, 128, 200, 255][..]));
        // A bad header spoils only its record, and only when read.
        let bad = json.replace("-56", "256");
        let record: MskRecord<'_> = serde_json::from_str(&bad).expect("the record still parses");
        assert!(record.headers.parse().expect_err("256").contains("outside -128..=255"));
        assert_eq!(record.headers.raw_json(), r#"[{"h":[0,127,-128,256,-1]}]"#);
    }

    #[test]
    fn wide_shape_accepts_missing_and_null_fields() {
        let json = r#"{"records":{"t-0":[{"partition":0,"offset":5,"value":null,"headers":null,"keySchemaMetadata":{"x":1}}]}}"#;
        let event: MskEvent<'_> = serde_json::from_str(json).expect("wide");
        let (key, record) = event.iter().next().expect("one record");
        assert_eq!((key, record.value.as_ref(), record.timestamp), ("t-0", None, None));
        assert_eq!(record.item_identifier(key), ItemIdentifier { partition: "t-0".into(), offset: 5 });
        let empty: MskEvent<'_> = serde_json::from_str(r#"{"records":null}"#).expect("null records");
        assert_eq!(empty.record_count(), 0);
    }

    #[test]
    fn events_group_records_by_topic_partition_and_borrow_values() {
        let mut event = MskEvent::new(EVENT_SOURCE_MSK, "arn", "b-1:9098");
        for (p, o) in [(1, 7), (0, 3), (1, 8)] {
            event.push(message(p, o, Some(b"{}")).to_msk_record());
        }
        let json = serde_json::to_string(&event).expect("json");
        let back: MskEvent<'_> = serde_json::from_str(&json).expect("back");
        let ids: Vec<(String, i64)> = back.iter().map(|(k, r)| (k.to_owned(), r.offset)).collect();
        assert_eq!(ids, [("car-rides-0".into(), 3), ("car-rides-1".into(), 7), ("car-rides-1".into(), 8)]);
        assert!(back.iter().all(|(_, r)| matches!(r.value.as_ref().map(|t| &t.0), Some(Cow::Borrowed(_)))));
    }
}
