//! The deploy-readiness rules (infra/guard/deploy-readiness.guard) run by
//! AWS CloudFormation Guard itself: the rendered template passes every rule,
//! the template as it was before the review fails every rule, and for each
//! rule a fixture (the rendered template with exactly that mistake put back)
//! fails that rule with its reason.

use std::path::Path;

use infra::template::settings::Settings;
use infra::template::{guard, render};
use serde_json::{json, Value};

const RULES: [&str; 23] = [
    "MSK_POLLERS_OUTBOUND_443",
    "MSK_POLLERS_BROKER_PORT_TO_ITSELF",
    "KAFKA_S3_DESTINATION_HAS_A_VPC_ENDPOINT",
    "KAFKA_S3_DESTINATION_ROLE_CAN_LIST_AND_PUT",
    "CUSTOM_RESOURCE_SERVICE_TIMEOUT",
    "CUSTOM_RESOURCE_OUTLIVES_THE_NAT_ROUTE",
    "MSK_CONFIGURATION_LATEST_REVISION",
    "VPC_FUNCTION_ROLES_MANAGE_ENI_ADDRESSES",
    "MSK_CONNECT_ROLE_TRUST_IS_SCOPED",
    "MSK_KAFKA_VERSION_RECOMMENDED",
    "CONNECTOR_ON_KAFKA_CONNECT_3_7",
    "CONNECTOR_VALUES_BYTE_FOR_BYTE",
    "CONNECTOR_KEY_IS_THE_PARTITION_KEY",
    "CONNECTOR_READS_FULL_PAGES",
    "CONNECTOR_HANDOFF_QUEUE_SIZED",
    "RIDES_TABLE_TTL_AND_RECOVERY",
    "FORWARDER_MAPPING_REPORTS_AND_KEEPS_FAILURES",
    "FORWARDER_MAPPING_RETRIES_UNTIL_KAFKA_TAKES_IT",
    "FORWARDER_EGRESS_TO_BROKERS_ONLY",
    "FORWARDER_ROLE_WRITES_THE_TOPIC",
    "KAFKA_KEEPS_RIDES_SEVEN_DAYS",
    "PRODUCER_IS_NEVER_RETRIED_WITH_NEW_RIDES",
    "OPERATOR_ALARMS_ON_EVERY_SIGNAL",
];

/// Rules of what came after the review (the forwarder hop): the template
/// before it has nothing they apply to.
const AFTER_THE_REVIEW: [&str; 4] = [
    "FORWARDER_MAPPING_REPORTS_AND_KEEPS_FAILURES",
    "FORWARDER_MAPPING_RETRIES_UNTIL_KAFKA_TAKES_IT",
    "FORWARDER_EGRESS_TO_BROKERS_ONLY",
    "FORWARDER_ROLE_WRITES_THE_TOPIC",
];

/// Rules the template before the review already kept (its key was the partition key).
const KEPT_BEFORE_THE_REVIEW: [&str; 1] = ["CONNECTOR_KEY_IS_THE_PARTITION_KEY"];

fn infra_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The rules that fail on `template`, each with its reasons joined.
fn failing_rules(template: &Value, name: &str) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(template).expect("json")).expect("write");
    let (cfn_guard, rules) = guard::repo_paths();
    guard::validate(&cfn_guard, &rules, &file)
        .expect("cfn-guard runs")
        .into_iter()
        .map(|failure| (failure.rule, failure.messages.join(" ")))
        .collect()
}

fn names(failing: &[(String, String)]) -> Vec<String> {
    let mut names: Vec<String> = failing.iter().map(|(rule, _)| rule.clone()).collect();
    names.sort();
    names
}

fn rendered() -> Value {
    serde_json::from_str(&render(&Settings::default()).expect("render").to_json()).expect("json")
}

#[test]
fn the_rendered_template_passes_every_rule() {
    let failing = failing_rules(&rendered(), "rendered");
    assert!(failing.is_empty(), "{failing:?}");
}

#[test]
fn the_template_before_the_review_fails_every_rule() {
    let before: Value = serde_json::from_str(
        &std::fs::read_to_string(infra_dir().join("guard/fixtures/template-before-review.json")).expect("fixture"),
    )
    .expect("json");
    let failing = failing_rules(&before, "before-review");
    let mut all: Vec<String> = RULES
        .into_iter()
        .filter(|r| !KEPT_BEFORE_THE_REVIEW.contains(r) && !AFTER_THE_REVIEW.contains(r))
        .map(str::to_owned)
        .collect();
    all.sort();
    assert_eq!(names(&failing), all, "{failing:?}");
}

/// Each rule's fixture: the rendered template with that one mistake back.
fn broken(rule: &str) -> Value {
    let mut t = rendered();
    let r = &mut t["Resources"];
    match rule {
        "MSK_POLLERS_OUTBOUND_443" => {
            r["BrokerSecurityGroup"]["Properties"]["SecurityGroupEgress"] =
                json!([{"IpProtocol": "-1", "CidrIp": "127.0.0.1/32", "Description": "no outbound traffic"}]);
        }
        "MSK_POLLERS_BROKER_PORT_TO_ITSELF" => remove(r, "BrokersToBrokers"),
        "KAFKA_S3_DESTINATION_HAS_A_VPC_ENDPOINT" => remove(r, "S3GatewayEndpoint"),
        "KAFKA_S3_DESTINATION_ROLE_CAN_LIST_AND_PUT" => {
            for statement in statements(&mut r["ConsumerRole"]) {
                if statement["Action"] == json!(["s3:ListBucket"]) {
                    statement["Action"] = json!(["s3:GetBucketLocation"]);
                }
            }
        }
        "CUSTOM_RESOURCE_SERVICE_TIMEOUT" => {
            r["RideTopic"]["Properties"].as_object_mut().expect("properties").remove("ServiceTimeout");
        }
        "CUSTOM_RESOURCE_OUTLIVES_THE_NAT_ROUTE" => {
            r["RideTopic"].as_object_mut().expect("topic").remove("DependsOn");
        }
        "MSK_CONFIGURATION_LATEST_REVISION" => {
            r["KafkaCluster"]["Properties"]["ConfigurationInfo"]["Revision"] = json!(1);
        }
        "VPC_FUNCTION_ROLES_MANAGE_ENI_ADDRESSES" => {
            for statement in statements(&mut r["TopicCreatorRole"]) {
                if let Some(actions) = statement["Action"].as_array_mut() {
                    actions.retain(|a| a != "ec2:AssignPrivateIpAddresses");
                }
            }
        }
        "MSK_CONNECT_ROLE_TRUST_IS_SCOPED" => {
            r["ConnectorRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
                .as_object_mut()
                .expect("trust")
                .remove("Condition");
        }
        "MSK_KAFKA_VERSION_RECOMMENDED" => t["Parameters"]["KafkaVersion"]["Default"] = json!("3.6.0"),
        "CONNECTOR_ON_KAFKA_CONNECT_3_7" => r["Connector"]["Properties"]["KafkaConnectVersion"] = json!("2.7.1"),
        "CONNECTOR_VALUES_BYTE_FOR_BYTE" => {
            connector_property(r, "value.converter", "org.apache.kafka.connect.storage.StringConverter")
        }
        "CONNECTOR_KEY_IS_THE_PARTITION_KEY" => {
            connector_property(r, "camel.source.camelMessageHeaderKey", "CamelAwsKinesisShardId")
        }
        "CONNECTOR_READS_FULL_PAGES" => {
            r["Connector"]["Properties"]["ConnectorConfiguration"]
                .as_object_mut()
                .expect("configuration")
                .remove("camel.component.aws2-kinesis.maxResultsPerRequest");
        }
        "CONNECTOR_HANDOFF_QUEUE_SIZED" => connector_property(r, "camel.component.seda.queueSize", "1000"),
        "RIDES_TABLE_TTL_AND_RECOVERY" => {
            // TTL on an attribute the consumer never writes: items would never expire.
            r["RidesTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"] = json!("ttl");
            r["RidesTable"]["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] =
                json!(false);
        }
        "FORWARDER_MAPPING_REPORTS_AND_KEEPS_FAILURES" => {
            r["ForwarderMapping"]["Properties"].as_object_mut().expect("mapping").remove("FunctionResponseTypes");
        }
        "FORWARDER_MAPPING_RETRIES_UNTIL_KAFKA_TAKES_IT" => {
            // The Kafka mapping's bounded retries copied over: a 10-minute
            // broker outage would discard batches.
            r["ForwarderMapping"]["Properties"]["MaximumRetryAttempts"] = json!(10);
        }
        "FORWARDER_EGRESS_TO_BROKERS_ONLY" => {
            r["ForwarderSecurityGroup"]["Properties"]["SecurityGroupEgress"]
                .as_array_mut()
                .expect("egress")
                .push(json!({"IpProtocol": "-1", "CidrIp": "0.0.0.0/0", "Description": "everything"}));
        }
        "FORWARDER_ROLE_WRITES_THE_TOPIC" => {
            for statement in statements(&mut r["ForwarderRole"]) {
                if let Some(actions) = statement["Action"].as_array_mut() {
                    actions.retain(|a| a != "kafka-cluster:WriteData");
                }
            }
        }
        "KAFKA_KEEPS_RIDES_SEVEN_DAYS" => {
            let properties = &mut r["KafkaConfiguration"]["Properties"]["ServerProperties"];
            let seed =
                properties.as_str().expect("properties").replace("log.retention.hours=168", "log.retention.hours=8");
            *properties = json!(seed);
        }
        "PRODUCER_IS_NEVER_RETRIED_WITH_NEW_RIDES" => remove(r, "ProducerInvokeConfig"),
        // Nobody would hear of rides the table never took.
        "OPERATOR_ALARMS_ON_EVERY_SIGNAL" => remove(r, "AlarmRidesNotStored"),
        other => panic!("no fixture for {other}"),
    }
    t
}

fn connector_property(resources: &mut Value, key: &str, value: &str) {
    resources["Connector"]["Properties"]["ConnectorConfiguration"][key] = json!(value);
}

fn remove(resources: &mut Value, id: &str) {
    assert!(resources.as_object_mut().expect("resources").remove(id).is_some(), "{id} is in the template");
}

fn statements(role: &mut Value) -> impl Iterator<Item = &mut Value> {
    role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].as_array_mut().expect("statements").iter_mut()
}

#[test]
fn each_rule_fails_on_its_fixture_with_its_reason() {
    for rule in RULES {
        let failing = failing_rules(&broken(rule), rule);
        assert_eq!(names(&failing), vec![rule.to_owned()], "{rule}: {failing:?}");
        assert!(failing[0].1.contains("Violation:"), "{rule} says why: {failing:?}");
    }
}
