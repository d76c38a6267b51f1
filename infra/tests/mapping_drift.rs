//! The local stack runs the mapping the template deploys: the rendered
//! `ConsumerMapping` and the consumer's environment against the settings and
//! environment `local` builds. Both come from `pipeline_settings::mapping`; this fails
//! if either side stops using it or renders it differently.

use std::time::Duration;

use infra::template::render;
use infra::template::settings::Settings;
use local::esm::StartingPosition;
use local::stack::{esm_settings, function_environment, StackOptions};
use serde_json::Value;

#[test]
fn the_local_mapping_is_the_deployed_mapping() {
    let settings = Settings::default();
    let template: Value = serde_json::from_str(&render(&settings).expect("render").to_json()).expect("json");
    let mapping = &template["Resources"]["ConsumerMapping"]["Properties"];
    let parameter_default = |name: &str| template["Parameters"][name]["Default"].as_u64().expect("default");
    let local = esm_settings(&StackOptions::new("/tmp/unused"));

    assert_eq!(mapping["Topics"][0], local.topic.as_str());
    assert_eq!(mapping["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"], local.consumer_group_id.as_str());
    let starting = match local.starting_position {
        StartingPosition::TrimHorizon => "TRIM_HORIZON",
        StartingPosition::Latest => "LATEST",
    };
    assert_eq!(mapping["StartingPosition"], starting);
    assert_eq!(mapping["BatchSize"]["Ref"], "BatchSize");
    assert_eq!(parameter_default("BatchSize"), local.batch_size as u64);
    assert_eq!(mapping["MaximumBatchingWindowInSeconds"]["Ref"], "BatchingWindowSeconds");
    assert_eq!(Duration::from_secs(parameter_default("BatchingWindowSeconds")), local.maximum_batching_window);
    assert_eq!(mapping["MaximumRetryAttempts"], i64::from(local.maximum_retry_attempts));
    assert_eq!(mapping["BisectBatchOnFunctionError"], local.bisect_batch_on_function_error);
    let reports =
        mapping["FunctionResponseTypes"].as_array().is_some_and(|t| t.iter().any(|t| t == "ReportBatchItemFailures"));
    assert_eq!(reports, local.report_batch_item_failures);
    assert!(mapping["DestinationConfig"]["OnFailure"]["Destination"].is_object(), "an on-failure destination");
    assert!(local.on_failure.is_some(), "and locally too");
    assert!(mapping.get("MaximumRecordAgeInSeconds").is_none(), "not set in the template, so not imitated");

    // The consumer's variables the mapping needs are given to it locally.
    let deployed = &template["Resources"]["ConsumerFunction"]["Properties"]["Environment"]["Variables"];
    let local_env = function_environment(&StackOptions::new("/tmp/unused"), "http://127.0.0.1:1", "http://127.0.0.1:2");
    let local_value = |name: &str| local_env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
    assert_eq!(deployed["PARTIAL_BATCH_RESPONSE"], "true");
    assert_eq!(local_value("PARTIAL_BATCH_RESPONSE").as_deref(), Some("true"));
}

/// The forwarder's Kinesis mapping: the rendered `ForwarderMapping` against
/// the settings the local stack's Kinesis mapping runs
/// (`pipeline_settings::mapping::FORWARDER_MAPPING` on both sides).
#[test]
fn the_local_kinesis_mapping_is_the_deployed_forwarder_mapping() {
    let template: Value = serde_json::from_str(&render(&Settings::default()).expect("render").to_json()).expect("json");
    let resource = &template["Resources"]["ForwarderMapping"];
    assert_eq!(resource["Condition"], "BridgeIsLambda", "deployed with the forwarder hop only");
    let mapping = &resource["Properties"];
    let local = local::stack::forwarder_mapping_settings(&StackOptions::new("/tmp/unused"));

    let starting = match local.starting_position {
        StartingPosition::TrimHorizon => "TRIM_HORIZON",
        StartingPosition::Latest => "LATEST",
    };
    assert_eq!(mapping["StartingPosition"], starting);
    assert_eq!(mapping["BatchSize"], local.batch_size as u64);
    assert_eq!(
        Duration::from_secs(mapping["MaximumBatchingWindowInSeconds"].as_u64().expect("window")),
        local.maximum_batching_window
    );
    assert_eq!(mapping["ParallelizationFactor"]["Ref"], "ForwarderParallelizationFactor");
    assert_eq!(
        template["Parameters"]["ForwarderParallelizationFactor"]["Default"].as_u64(),
        Some(local.parallelization_factor as u64)
    );
    assert_eq!(mapping["BisectBatchOnFunctionError"], local.bisect_batch_on_function_error);
    let reports =
        mapping["FunctionResponseTypes"].as_array().is_some_and(|t| t.iter().any(|t| t == "ReportBatchItemFailures"));
    assert_eq!(reports, local.report_batch_item_failures);
    assert_eq!(mapping["MaximumRetryAttempts"], i64::from(local.maximum_retry_attempts));
    assert_eq!(mapping["MaximumRecordAgeInSeconds"].as_u64(), local.maximum_record_age.map(|age| age.as_secs()));
    assert!(mapping["DestinationConfig"]["OnFailure"]["Destination"].is_object(), "an on-failure destination");
    assert!(local.on_failure.is_some(), "and locally too");

    // The forwarder's topic is the one the local stack gives it.
    let deployed = &template["Resources"]["ForwarderFunction"]["Properties"]["Environment"]["Variables"];
    let options = StackOptions::new("/tmp/unused");
    let local_env = local::stack::forwarder_environment(&options, "127.0.0.1:9092");
    let local_value = |name: &str| local_env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
    assert_eq!(deployed["KAFKA_TOPIC"].as_str(), local_value("KAFKA_TOPIC").as_deref());
    assert_eq!(deployed["KAFKA_AUTH"], "iam", "IAM in AWS; the local broker's plaintext listener locally");
}

/// Exactly one hop is deployed for each `Bridge`, and no resource left in
/// either choice refers to one that is not.
#[test]
fn each_bridge_choice_deploys_one_hop_and_every_reference_resolves() {
    let template: Value = serde_json::from_str(&render(&Settings::default()).expect("render").to_json()).expect("json");
    let resources = template["Resources"].as_object().expect("resources");
    for (choice, kept, dropped) in
        [("camel", "Connector", "ForwarderFunction"), ("lambda", "ForwarderFunction", "Connector")]
    {
        let live = |condition: Option<&str>| match condition {
            Some("BridgeIsCamel") => choice == "camel",
            Some("BridgeIsLambda") => choice == "lambda",
            _ => true,
        };
        let deployed: std::collections::BTreeSet<&str> = resources
            .iter()
            .filter(|(_, r)| live(r.get("Condition").and_then(Value::as_str)))
            .map(|(id, _)| id.as_str())
            .collect();
        assert!(deployed.contains(kept) && !deployed.contains(dropped), "{choice}: {kept} only");
        let known = |name: &str| {
            deployed.contains(name) || template["Parameters"].get(name).is_some() || name.starts_with("AWS::")
        };
        for id in &deployed {
            let resource = &resources[*id];
            for target in references(resource) {
                assert!(known(&target), "{choice}: {id} refers to {target}, which this choice does not deploy");
            }
        }
        for (name, output) in template["Outputs"].as_object().expect("outputs") {
            if output.get("Condition").is_none() {
                for target in references(output) {
                    assert!(known(&target), "{choice}: output {name} refers to {target}");
                }
            }
        }
    }
}

/// Every `Ref`, `Fn::GetAtt`, `Fn::Sub` `${Name}` and `DependsOn` target in `value`.
fn references(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("Ref", Value::String(name)) => found.push(name.clone()),
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        found.extend(parts.first().and_then(Value::as_str).map(str::to_owned))
                    }
                    ("Fn::Sub", Value::String(text)) => found.extend(
                        text.split("${")
                            .skip(1)
                            .filter_map(|s| s.split('}').next())
                            .filter(|s| !s.starts_with('!'))
                            .map(|s| s.split('.').next().unwrap_or(s).to_owned()),
                    ),
                    ("DependsOn", Value::String(name)) => found.push(name.clone()),
                    ("DependsOn", Value::Array(names)) => {
                        found.extend(names.iter().filter_map(Value::as_str).map(str::to_owned))
                    }
                    _ => found.extend(references(inner)),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| found.extend(references(item))),
        _ => {}
    }
    found
}
