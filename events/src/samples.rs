//! Every trigger payload the two functions receive, generated from code so the
//! committed files under `events/samples/` cannot drift from the contract (a
//! test regenerates them and compares). `cargo run -p events --bin
//! gen-samples` rewrites them; `--large PATH` writes the near-6 MB MSK batch,
//! which is generated rather than committed.

use serde_json::json;

use crate::camel;
use crate::canonical::{compact_sorted, pretty_sorted};
use crate::envelope::encode;
use crate::generate::RideGenerator;
use crate::msk::{Header, KafkaMessage, MskEvent, EVENT_SOURCE_MSK, MAX_INVOKE_PAYLOAD_BYTES};

/// All samples are stamped relative to this instant (2025-11-24T16:00:00Z) so
/// regenerating them is byte-for-byte stable.
pub const SAMPLE_NOW_MS: i64 = 1_764_000_000_000;
/// The topic the connector writes, as in the seed's connector properties.
pub const SAMPLE_TOPIC: &str = "carrides";
pub const SAMPLE_CLUSTER_ARN: &str =
    "arn:aws:kafka:us-east-1:123456789012:cluster/carrides-cluster/5a2e0c1e-6a3b-4c7d-9f10-2b3c4d5e6f70-2";
pub const SAMPLE_BOOTSTRAP: &str = "b-1.carridescluster.x1y2z3.c2.kafka.us-east-1.amazonaws.com:9098,b-2.carridescluster.x1y2z3.c2.kafka.us-east-1.amazonaws.com:9098";

/// One committed sample: its file name under `events/samples/` and contents.
pub struct Sample {
    pub file_name: &'static str,
    pub json: String,
}

pub fn all() -> Vec<Sample> {
    vec![
        Sample { file_name: "schedule-event.json", json: pretty_sorted(&schedule_event()) },
        Sample { file_name: "producer-invoke.json", json: pretty_sorted(&json!({ "count": 250 })) },
        Sample { file_name: "msk-single-record.json", json: pretty(&msk_single_record()) },
        Sample { file_name: "msk-many-partitions.json", json: pretty(&msk_many_partitions()) },
        Sample { file_name: "msk-headers.json", json: pretty(&msk_headers()) },
        Sample { file_name: "msk-poison.json", json: pretty(&msk_poison()) },
        Sample { file_name: "msk-legacy-seed.json", json: pretty(&msk_legacy_seed()) },
        Sample { file_name: "on-failure-s3.json", json: pretty(&msk_on_failure_s3()) },
        Sample { file_name: "cfn-topic-create.json", json: pretty_sorted(&custom_resource("Create")) },
        Sample { file_name: "cfn-topic-delete.json", json: pretty_sorted(&custom_resource("Delete")) },
    ]
}

/// Typed samples keep their fields' declared order.
fn pretty<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("samples are plain JSON values");
    s.push('\n');
    s
}

/// What the mapping writes to its S3 on-failure destination when the
/// single-record batch ran out of retries (AWS's invocation record for
/// Kafka; see [`crate::on_failure`]): the event is in `payload`, as a string.
pub fn msk_on_failure_s3() -> crate::on_failure::InvocationRecord {
    use crate::on_failure::{Condition, Discard, InvocationRecord, ResponseContext};
    let event = msk_single_record();
    let payload = serde_json::to_string(&event).expect("samples are plain JSON values");
    let discard = Discard {
        request_id: "0f6d3c2b-5a4e-4f1d-8c7b-9e8d7c6b5a49".into(),
        function_arn: "arn:aws:lambda:us-east-1:123456789012:function:carrides-msk-consumer".into(),
        condition: Condition::RetryAttemptsExhausted,
        approximate_invoke_count: 11,
        response_context: Some(ResponseContext::unhandled()),
        at: std::time::UNIX_EPOCH + std::time::Duration::from_millis(SAMPLE_NOW_MS.unsigned_abs() + 12_345),
    };
    InvocationRecord::for_s3(&event, &payload, discard)
}

/// What an EventBridge rule (`AWS::Events::Rule` with `ScheduleExpression`) sends.
pub fn schedule_event() -> serde_json::Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2025-11-24T16:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/carrides-producer-schedule"],
        "detail": {}
    })
}

/// What CloudFormation sends the topic-creator custom resource (scalars as
/// strings, as CloudFormation passes them). Tests point `ResponseURL` at a
/// local server.
pub fn custom_resource(request_type: &str) -> serde_json::Value {
    let mut event = json!({
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:carrides-topic-creator",
        "ResponseURL": "https://cloudformation-response.example.invalid/response",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/carrides/5b0c1f40-0000-11f0-8000-0a1b2c3d4e5f",
        "RequestId": "7c1d9e2a-3b4f-4a5b-9c6d-7e8f90a1b2c3",
        "ResourceType": "Custom::KafkaTopic",
        "LogicalResourceId": "RideTopic",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:carrides-topic-creator",
            "ClusterArn": SAMPLE_CLUSTER_ARN,
            "Topic": SAMPLE_TOPIC,
            "Partitions": "4",
            "ReplicationFactor": "2"
        }
    });
    if request_type != "Create" {
        event["PhysicalResourceId"] = json!(format!("{SAMPLE_CLUSTER_ARN}/{SAMPLE_TOPIC}"));
    }
    event
}

/// The Kafka record the Camel connector writes for one Kinesis record.
pub fn camel_message(partition: i32, offset: i64, data: Vec<u8>, partition_key: &str, shard: u32) -> KafkaMessage {
    let sequence = format!("4963{:0>52}", offset * 7 + i64::from(partition));
    KafkaMessage {
        topic: SAMPLE_TOPIC.into(),
        partition,
        offset,
        timestamp_ms: SAMPLE_NOW_MS + offset,
        log_append_time: false,
        key: None,
        value: Some(data),
        headers: vec![
            Header::new(camel::PARTITION_KEY, partition_key.as_bytes()),
            Header::new(camel::SEQUENCE_NUMBER, sequence.into_bytes()),
            Header::new(camel::SHARD_ID, format!("shardId-{shard:012}").into_bytes()),
        ],
    }
}

fn ride_message(rides: &mut RideGenerator, partition: i32, offset: i64) -> KafkaMessage {
    let record = encode(&rides.ride(SAMPLE_NOW_MS));
    let shard = u32::try_from(partition).unwrap_or(0);
    camel_message(partition, offset, record.data, &record.partition_key, shard)
}

fn msk_event(messages: impl IntoIterator<Item = KafkaMessage>) -> MskEvent<'static> {
    let mut event = MskEvent::new(EVENT_SOURCE_MSK, SAMPLE_CLUSTER_ARN, SAMPLE_BOOTSTRAP);
    for message in messages {
        event.push(message.to_msk_record());
    }
    event
}

/// The simplest batch: one ride, no headers, as a plain Kafka producer writes it.
pub fn msk_single_record() -> MskEvent<'static> {
    let mut rides = RideGenerator::seeded(1);
    let mut message = ride_message(&mut rides, 0, 15);
    message.headers.clear();
    msk_event([message])
}

/// Three partitions of one topic in one invocation, offsets ascending within each.
pub fn msk_many_partitions() -> MskEvent<'static> {
    let mut rides = RideGenerator::seeded(2);
    let messages: Vec<_> =
        (0..3).flat_map(|p| (0..4).map(move |o| (p, 100 + o))).map(|(p, o)| ride_message(&mut rides, p, o)).collect();
    msk_event(messages)
}

/// Camel connector records with their Kinesis headers, plus one with a key
/// and a header carrying bytes above 127 (signed on the wire).
pub fn msk_headers() -> MskEvent<'static> {
    let mut rides = RideGenerator::seeded(3);
    let mut messages: Vec<_> = (0..3).map(|o| ride_message(&mut rides, 1, 40 + o)).collect();
    let mut keyed = ride_message(&mut rides, 1, 43);
    keyed.key = Some(b"ord-keyed".to_vec());
    keyed.headers.push(Header::new("trace-bytes", vec![0xde, 0xad, 0xbe, 0xef]));
    messages.push(keyed);
    msk_event(messages)
}

/// Good rides interleaved with one record of every poison kind the consumer
/// must quarantine, and a tombstone. Offsets name what each one is.
pub fn msk_poison() -> MskEvent<'static> {
    let mut rides = RideGenerator::seeded(4);
    let good = |rides: &mut RideGenerator, o| ride_message(rides, 2, o);
    let v1 = String::from_utf8(encode(&rides.ride(SAMPLE_NOW_MS)).data).expect("JSON is UTF-8");
    let raw = |o, data: &[u8]| camel_message(2, o, data.to_vec(), "poison", 2);
    let mut messages = vec![good(&mut rides, 200)];
    messages.push(raw(201, &[0x7b, 0xff, 0xfe, 0x7d])); // not UTF-8
    messages.push(raw(202, b"{\"schemaVersion\":1,\"eventId\":")); // truncated JSON
    messages.push(raw(203, v1.replace("sector_", "zone_").as_bytes())); // fails validation
    messages.push(raw(204, v1.replace("\"schemaVersion\":1", "\"schemaVersion\":9").as_bytes())); // unknown version
    messages.push(good(&mut rides, 205));
    let mut tombstone = raw(206, b"");
    tombstone.value = None;
    messages.push(tombstone);
    let mut event = msk_event(messages);
    // Broken base64 cannot come from a Kafka record; it is a corrupted payload.
    let mut broken = camel_message(2, 207, b"{}".to_vec(), "poison", 2).to_msk_record();
    broken.value = Some(String::from("eyJub3QiOiJiYXNlNjQi*fQ==").into());
    event.push(broken);
    event.push(good(&mut rides, 208).to_msk_record());
    event
}

/// Records the seed lab's Python producer wrote, still in a stream after a
/// migration: double-encoded ride, epoch seconds as a string.
pub fn msk_legacy_seed() -> MskEvent<'static> {
    let legacy = |order: &str, customer: &str, pickup: &str, destination: &str| {
        let ride = json!({ "orderID": order, "customerID": customer, "pickup": pickup, "destination": destination });
        let envelope =
            json!({ "carRide": compact_sorted(&ride), "timestamp": (SAMPLE_NOW_MS / 1000 - 60).to_string() });
        compact_sorted(&envelope).into_bytes()
    };
    msk_event([
        camel_message(0, 7, legacy("order-0007", "customer-12", "sector_03", "sector_09"), "order-0007", 0),
        camel_message(0, 8, legacy("order-0008", "customer-40", "sector_11", "sector_11"), "order-0008", 0),
    ])
}

/// A batch as large as Lambda allows: valid rides across four partitions,
/// just under the 6 MB invoke payload limit. Used by tests and benchmarks.
pub fn msk_large(target_bytes: usize) -> MskEvent<'static> {
    let target = target_bytes.min(MAX_INVOKE_PAYLOAD_BYTES);
    let mut rides = RideGenerator::seeded(6);
    let mut event = MskEvent::new(EVENT_SOURCE_MSK, SAMPLE_CLUSTER_ARN, SAMPLE_BOOTSTRAP);
    // Envelope fields plus each partition's `"carrides-N":[...]` wrapper.
    let mut size = serde_json::to_vec(&event).map_or(0, |v| v.len()) + 4 * 32;
    for i in 0.. {
        let record = ride_message(&mut rides, i % 4, i64::from(i / 4)).to_msk_record();
        size += record.json_len() + 1;
        if size > target {
            break;
        }
        event.push(record);
    }
    event
}

/// A batch as Lambda sends it in production, near `target_bytes`: Camel
/// records over ten partitions, each with the Kinesis partition key as its
/// Kafka key, about 1 % poison cycling through the seven kinds the consumer
/// quarantines (one of them a value over the 1 MiB record limit), and a
/// tombstone every 150 records. The Lambda-path bench's input.
pub fn msk_lambda_batch(target_bytes: usize) -> MskEvent<'static> {
    const PARTITIONS: i32 = 10;
    let target = target_bytes.min(MAX_INVOKE_PAYLOAD_BYTES);
    let mut rides = RideGenerator::seeded(9);
    let v1 = String::from_utf8(encode(&rides.ride(SAMPLE_NOW_MS)).data).expect("JSON is UTF-8");
    let mut event = MskEvent::new(EVENT_SOURCE_MSK, SAMPLE_CLUSTER_ARN, SAMPLE_BOOTSTRAP);
    let mut size = serde_json::to_vec(&event).map_or(0, |v| v.len()) + PARTITIONS as usize * 32;
    let mut poison_made = 0usize;
    for i in 0.. {
        let (partition, offset) = (i % PARTITIONS, i64::from(i / PARTITIONS));
        let mut message = ride_message(&mut rides, partition, offset);
        message.key = Some(format!("ord-{offset:08}").into_bytes());
        let mut broken_base64 = false;
        if i % 150 == 149 {
            message.value = None;
        } else if i % 100 == 99 {
            let kind = poison_made % 6;
            poison_made += 1;
            message.value = Some(match kind {
                0 => vec![0x7b, 0xff, 0xfe, 0x7d],
                1 => b"{\"schemaVersion\":1,\"eventId\":".to_vec(),
                2 => v1.replace("sector_", "zone_").into_bytes(),
                3 => v1.replace("\"schemaVersion\":1", "\"schemaVersion\":9").into_bytes(),
                4 => v1.replacen('{', "{\"surprise\":true,", 1).into_bytes(),
                _ => {
                    broken_base64 = true;
                    b"{}".to_vec()
                }
            });
        } else if i == 500 {
            // Over the 1 MiB record limit (a Kafka broker would need
            // message.max.bytes raised to accept it).
            message.value = Some(vec![b' '; 1024 * 1024 + 1]);
        }
        let mut record = message.to_msk_record();
        if broken_base64 {
            record.value = Some(String::from("eyJub3QiOiJiYXNlNjQi*fQ==").into());
        }
        size += record.json_len() + 1;
        if size > target {
            break;
        }
        event.push(record);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lambda_batch_is_near_the_limit_with_ten_partitions_and_every_poison_kind() {
        let event = msk_lambda_batch(MAX_INVOKE_PAYLOAD_BYTES);
        let bytes = serde_json::to_vec(&event).expect("json").len();
        assert!(bytes <= MAX_INVOKE_PAYLOAD_BYTES && bytes > MAX_INVOKE_PAYLOAD_BYTES * 9 / 10, "{bytes}");
        assert_eq!(event.records.len(), 10);
        let tombstones = event.iter().filter(|(_, r)| r.value.is_none()).count();
        assert!(tombstones > 10, "{tombstones}");
        assert!(event.iter().all(|(_, r)| r.key.is_some()));
    }

    #[test]
    fn the_large_batch_is_just_under_the_invoke_limit() {
        let event = msk_large(MAX_INVOKE_PAYLOAD_BYTES);
        let bytes = serde_json::to_vec(&event).expect("json").len();
        assert!(bytes <= MAX_INVOKE_PAYLOAD_BYTES, "{bytes}");
        assert!(bytes > MAX_INVOKE_PAYLOAD_BYTES * 9 / 10, "{bytes} is not near 6 MB");
        assert!(event.record_count() > 5_000, "{}", event.record_count());
    }
}
