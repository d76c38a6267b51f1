//! The local stack runs the mapping the template deploys: the rendered
//! `ConsumerMapping` and the consumer's environment against the settings and
//! environment `local` builds. Both come from `events::mapping`; this fails
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
