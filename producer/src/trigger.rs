//! What started this invocation: an EventBridge schedule, an EventBridge
//! Scheduler target with no input (`{}`), or a direct invoke naming how many
//! rides to emit (`{"count": 250}`, see `events/samples/producer-invoke.json`).

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Direct { count: u32 },
}

impl Trigger {
    pub fn name(&self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Direct { .. } => "direct",
        }
    }

    /// How many rides to emit, checked against the configured bound.
    pub fn ride_count(&self, per_schedule: u32, max: u32) -> Result<u32, TriggerError> {
        match *self {
            Trigger::Schedule => Ok(per_schedule),
            Trigger::Direct { count: 0 } => Err(TriggerError::ZeroCount),
            Trigger::Direct { count } if count > max => Err(TriggerError::TooMany { count, max }),
            Trigger::Direct { count } => Ok(count),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TriggerError {
    #[error("unrecognised trigger: {0}; send an EventBridge scheduled event or {{\"count\": N}}")]
    Unrecognised(String),
    #[error("count must be at least 1")]
    ZeroCount,
    #[error("count {count} is above this function's limit of {max} rides per invocation (MAX_RIDES_PER_INVOKE); invoke several times or raise the limit")]
    TooMany { count: u32, max: u32 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectInvoke {
    count: u32,
}

pub fn parse(payload: &Value) -> Result<Trigger, TriggerError> {
    let Some(object) = payload.as_object() else {
        return match payload {
            Value::Null => Ok(Trigger::Schedule),
            other => Err(TriggerError::Unrecognised(format!("expected a JSON object, got {other}"))),
        };
    };
    if object.is_empty() {
        return Ok(Trigger::Schedule);
    }
    if let Some(detail_type) = object.get("detail-type") {
        return match (detail_type.as_str(), object.get("source").and_then(Value::as_str)) {
            (Some("Scheduled Event"), Some("aws.events" | "aws.scheduler")) => Ok(Trigger::Schedule),
            _ => Err(TriggerError::Unrecognised(format!(
                "an EventBridge event of detail-type {detail_type} is not a schedule"
            ))),
        };
    }
    DirectInvoke::deserialize(payload)
        .map(|d| Trigger::Direct { count: d.count })
        .map_err(|e| TriggerError::Unrecognised(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/samples").join(name);
        serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("json")
    }

    #[test]
    fn the_samples_are_recognised() {
        assert_eq!(parse(&sample("schedule-event.json")), Ok(Trigger::Schedule));
        assert_eq!(parse(&sample("producer-invoke.json")), Ok(Trigger::Direct { count: 250 }));
        assert_eq!(parse(&json!({})), Ok(Trigger::Schedule));
    }

    #[test]
    fn bad_triggers_say_what_is_expected() {
        let err = parse(&json!({"cont": 3})).expect_err("typo");
        assert!(err.to_string().contains("unknown field `cont`"), "{err}");
        assert!(err.to_string().contains("{\"count\": N}"), "{err}");
        assert!(parse(&json!({"count": -1})).is_err());
        assert!(parse(&json!([1])).expect_err("array").to_string().contains("expected a JSON object"));
        let err = parse(&json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2"}))
            .expect_err("ec2");
        assert!(err.to_string().contains("is not a schedule"));
    }

    #[test]
    fn counts_are_bounded() {
        assert_eq!(Trigger::Direct { count: 10 }.ride_count(5, 10), Ok(10));
        assert_eq!(Trigger::Direct { count: 11 }.ride_count(5, 10), Err(TriggerError::TooMany { count: 11, max: 10 }));
        assert_eq!(Trigger::Direct { count: 0 }.ride_count(5, 10), Err(TriggerError::ZeroCount));
        assert_eq!(Trigger::Schedule.ride_count(5, 10), Ok(5));
    }
}
