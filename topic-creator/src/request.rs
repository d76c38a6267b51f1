//! The custom resource's properties, as CloudFormation sends them (every
//! scalar as a string), checked into what the topic needs.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub cluster_arn: String,
    pub topic: String,
    pub partitions: i32,
    pub replication_factor: i32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Raw {
    cluster_arn: String,
    topic: String,
    partitions: Value,
    replication_factor: Value,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    #[error("resource properties are not a topic spec: {0}")]
    Shape(String),
    #[error("{field} must be a whole number from 1 to {max}, got {value}")]
    Number { field: &'static str, value: String, max: i32 },
}

pub fn topic_spec(properties: &Value) -> Result<TopicSpec, SpecError> {
    let raw: Raw = serde_json::from_value(properties.clone()).map_err(|e| SpecError::Shape(e.to_string()))?;
    Ok(TopicSpec {
        cluster_arn: raw.cluster_arn,
        topic: raw.topic,
        partitions: number("Partitions", &raw.partitions, 1000)?,
        replication_factor: number("ReplicationFactor", &raw.replication_factor, 15)?,
    })
}

fn number(field: &'static str, value: &Value, max: i32) -> Result<i32, SpecError> {
    let parsed = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.and_then(|n| i32::try_from(n).ok()).filter(|n| (1..=max).contains(n)).ok_or_else(|| SpecError::Number {
        field,
        value: value.to_string(),
        max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_and_numbers_both_parse() {
        let spec = topic_spec(
            &json!({"ClusterArn": "arn", "Topic": "t", "Partitions": "4", "ReplicationFactor": 2, "ServiceToken": "x"}),
        )
        .expect("spec");
        assert_eq!((spec.partitions, spec.replication_factor), (4, 2));
        let err = topic_spec(&json!({"ClusterArn": "arn", "Topic": "t", "Partitions": "0", "ReplicationFactor": 2}))
            .expect_err("0");
        assert_eq!(err.to_string(), "Partitions must be a whole number from 1 to 1000, got \"0\"");
        assert!(topic_spec(&json!({"Topic": "t"})).is_err());
    }
}
