//! The producer's schedule: an EventBridge rule, whose scheduled-event
//! payload is `events/samples/schedule-event.json`, and the producer's
//! contract on failure: never retried. EventBridge invokes it
//! asynchronously, and Lambda would retry a failed invocation twice by
//! default; each retry would generate other rides rather than re-send the
//! ones that failed. The rides not written are named in the function's
//! ERROR log line and counted in its `RidesFailed` metric (alarmed), and the
//! invocation still fails, so Lambda's `Errors` counts it.

use serde_json::json;

use super::functions::PRODUCER;
use super::model::{get_att, r#ref, Resource, Template};

pub fn add(t: &mut Template) {
    t.add(
        "ProducerSchedule",
        Resource::new(
            "AWS::Events::Rule",
            json!({
        "Description": "Emit car rides into the stream",
        "ScheduleExpression": r#ref("ScheduleRate"),
        "State": "ENABLED",
        "Targets": [{"Id": "producer", "Arn": get_att(PRODUCER, "Arn")}]}),
        ),
    );
    t.add(
        "ProducerInvokeConfig",
        Resource::new(
            "AWS::Lambda::EventInvokeConfig",
            json!({
        "FunctionName": r#ref(PRODUCER),
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 0}),
        ),
    );
    t.add(
        "ProducerSchedulePermission",
        Resource::new(
            "AWS::Lambda::Permission",
            json!({
        "Action": "lambda:InvokeFunction",
        "FunctionName": r#ref(PRODUCER),
        "Principal": "events.amazonaws.com",
        "SourceArn": get_att("ProducerSchedule", "Arn")}),
        ),
    );
}
