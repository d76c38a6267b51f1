//! The rides table: every valid ride, once, keyed by its event id
//! (`pipeline_settings::rides_table`), on demand, TTL on `expiresAt`, point-in-time
//! recovery, encrypted at rest. Retained when the stack is deleted (or the
//! table replaced): it is the pipeline's output, and `infra destroy` says it
//! kept it and how to delete it.

use serde_json::json;

use super::model::{sub, Resource, Template};

pub const RIDES_TABLE: &str = "RidesTable";

pub fn add(t: &mut Template) {
    t.add(
        RIDES_TABLE,
        Resource::new(
            "AWS::DynamoDB::Table",
            json!({
                "TableName": sub("${AWS::StackName}-rides"),
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": pipeline_settings::rides_table::PARTITION_KEY, "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": pipeline_settings::rides_table::PARTITION_KEY, "KeyType": "HASH"}],
                "TimeToLiveSpecification": {"AttributeName": pipeline_settings::rides_table::TTL_ATTRIBUTE, "Enabled": true},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true},
                "SSESpecification": {"SSEEnabled": true}
            }),
        )
        .retained()
        .skip_check(
            "CKV_AWS_119",
            "encrypted with the AWS managed key (SSEEnabled); a customer KMS key adds cost to a demo",
        ),
    );
}
