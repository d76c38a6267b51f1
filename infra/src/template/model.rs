//! A CloudFormation template as data: typed resources, parameters, conditions
//! and outputs, plus the intrinsic functions, serialised once at the end.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Template {
    #[serde(rename = "AWSTemplateFormatVersion")]
    pub format_version: &'static str,
    pub description: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, Value>,
    pub resources: BTreeMap<String, Resource>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_replace_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    pub properties: Value,
}

impl Resource {
    pub fn new(kind: &'static str, properties: Value) -> Self {
        Self {
            kind,
            condition: None,
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            metadata: None,
            properties,
        }
    }

    /// Deleted with the stack, and replaced without a snapshot: the
    /// pipeline's data is a demo's, reproducible by running it again.
    pub fn disposable(mut self) -> Self {
        self.deletion_policy = Some("Delete");
        self.update_replace_policy = Some("Delete");
        self
    }

    /// Kept when the stack is deleted (dead letters are evidence).
    pub fn retained(mut self) -> Self {
        self.deletion_policy = Some("Retain");
        self.update_replace_policy = Some("Retain");
        self
    }

    pub fn depends_on(mut self, logical_id: &str) -> Self {
        self.depends_on.push(logical_id.to_owned());
        self
    }

    pub fn when(mut self, condition: &'static str) -> Self {
        self.condition = Some(condition);
        self
    }

    /// A checkov check skipped on purpose, with the reason in the template.
    pub fn skip_check(mut self, id: &str, reason: &str) -> Self {
        let metadata = self.metadata.get_or_insert_with(|| json!({}));
        let skips = metadata
            .as_object_mut()
            .map(|m| m.entry("checkov").or_insert_with(|| json!({"skip": []})))
            .and_then(|c| c.get_mut("skip"))
            .and_then(Value::as_array_mut);
        if let Some(skips) = skips {
            skips.push(json!({"id": id, "comment": reason}));
        }
        self
    }
}

impl Template {
    pub fn add(&mut self, logical_id: &str, resource: Resource) {
        self.resources.insert(logical_id.to_owned(), resource);
    }

    pub fn output(&mut self, name: &str, description: &str, value: Value) {
        self.outputs.insert(name.to_owned(), json!({"Description": description, "Value": value}));
    }

    /// One rendering whatever the build: the top-level sections in
    /// [`SECTION_ORDER`] and every key below them sorted. (Going through a
    /// `serde_json::Value` alone is not enough: its object order is
    /// insertion order or sorted depending on whether any crate in the build
    /// turned on serde_json's `preserve_order`, and test builds do.)
    pub fn to_json(&self) -> String {
        let Ok(Value::Object(top)) = serde_json::to_value(self) else {
            return String::new();
        };
        let mut sections: Vec<(String, Value)> = top.into_iter().collect();
        sections.sort_by_key(|(name, _)| SECTION_ORDER.iter().position(|s| s == name).unwrap_or(usize::MAX));
        for (_, section) in &mut sections {
            events::canonical::sort_keys(section);
        }
        let mut s = serde_json::to_string_pretty(&InOrder(&sections)).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The template's sections in the order CloudFormation's documentation
/// lists them.
pub const SECTION_ORDER: [&str; 6] =
    ["AWSTemplateFormatVersion", "Description", "Parameters", "Conditions", "Resources", "Outputs"];

/// A JSON object written in the order of its entries.
struct InOrder<'a>(&'a [(String, Value)]);

impl Serialize for InOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

pub fn r#ref(name: &str) -> Value {
    json!({"Ref": name})
}

pub fn get_att(resource: &str, attribute: &str) -> Value {
    json!({"Fn::GetAtt": [resource, attribute]})
}

pub fn sub(text: &str) -> Value {
    json!({"Fn::Sub": text})
}

pub fn az(index: usize) -> Value {
    json!({"Fn::Select": [index, {"Fn::GetAZs": ""}]})
}

pub fn tags(name: Value) -> Value {
    json!([{"Key": "Name", "Value": name}, {"Key": "project", "Value": "kinesis-msk-lambda"}])
}
