//! One readable line per log event. The functions log JSON (Lambda's JSON log
//! format around tracing's fields; the runtime's `platform.*` records); the
//! connector logs plain text. JSON becomes `LEVEL message key=value ...`,
//! anything else passes through unchanged.

use serde_json::{Map, Value};

/// Keys shown elsewhere on the line or of no use when reading a tail.
const SKIPPED: [&str; 8] = ["timestamp", "time", "level", "message", "target", "span", "spans", "requestId"];

pub fn pretty(message: &str) -> String {
    let trimmed = message.trim_end();
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(trimmed) else {
        return trimmed.to_owned();
    };
    let fields = object.get("fields").and_then(Value::as_object);
    let level = object.get("level").and_then(Value::as_str).unwrap_or("");
    let text = object
        .get("message")
        .or_else(|| fields.and_then(|f| f.get("message")))
        .or_else(|| object.get("type"))
        .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
        .unwrap_or_default();
    let mut line = String::new();
    if !level.is_empty() {
        line.push_str(&format!("{level:<5} "));
    }
    line.push_str(&text);
    let mut pairs = Vec::new();
    flatten("", &object, &mut pairs);
    for (key, value) in pairs {
        line.push_str(&format!(" {key}={value}"));
    }
    line
}

fn flatten(prefix: &str, object: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (key, value) in object {
        if prefix.is_empty() && (SKIPPED.contains(&key.as_str()) || key == "type") {
            continue;
        }
        // tracing's `fields` and the platform's `record` hold the interesting
        // keys; show them without the wrapper's name.
        let nested_prefix = if prefix.is_empty() && (key == "fields" || key == "record") {
            String::new()
        } else if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) => flatten(&nested_prefix, inner, out),
            _ if nested_prefix.is_empty() => {}
            _ if key == "message" && prefix.is_empty() => {}
            Value::String(s) => out.push((nested_prefix, s.clone())),
            other => out.push((nested_prefix, other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pretty;

    #[test]
    fn tracing_json_lines_become_level_message_and_fields() {
        let line = r#"{"timestamp":"2026-11-25T16:00:00Z","level":"INFO","fields":{"message":"batch processed","records":500,"poison":1},"target":"msk_consumer","requestId":"abc"}"#;
        assert_eq!(pretty(line), "INFO  batch processed records=500 poison=1");
    }

    #[test]
    fn lambda_platform_records_and_plain_text_stay_readable() {
        let report = r#"{"time":"2026-11-25T16:00:00Z","type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":12.5,"maxMemoryUsedMB":20}}}"#;
        assert_eq!(pretty(report), "platform.report metrics.durationMs=12.5 metrics.maxMemoryUsedMB=20");
        assert_eq!(pretty("[Worker-0a] INFO task started\n"), "[Worker-0a] INFO task started");
        assert_eq!(pretty("[1,2]"), "[1,2]");
    }
}
