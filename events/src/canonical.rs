//! JSON with object keys in sorted order, for files compared byte-for-byte
//! (the samples, the CloudFormation golden file): serde_json keeps insertion
//! order or sorts depending on whether any crate in the build enabled its
//! `preserve_order` feature, so the files must not depend on either.

use serde_json::Value;

pub fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, mut child) in entries {
                sort_keys(&mut child);
                map.insert(key, child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// Compact JSON with sorted keys.
pub fn compact_sorted(value: &Value) -> String {
    let mut value = value.clone();
    sort_keys(&mut value);
    value.to_string()
}

/// Pretty JSON with sorted keys and a final newline.
pub fn pretty_sorted(value: &Value) -> String {
    let mut value = value.clone();
    sort_keys(&mut value);
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_out_sorted_at_every_depth() {
        let value = serde_json::json!({"b": 1, "a": [{"z": 1, "y": {"d": 0, "c": 0}}]});
        assert_eq!(
            serde_json::to_string(&{
                let mut v = value.clone();
                sort_keys(&mut v);
                v
            })
            .expect("json"),
            r#"{"a":[{"y":{"c":0,"d":0},"z":1}],"b":1}"#
        );
        assert!(pretty_sorted(&value).ends_with("}\n"));
    }
}
