//! The producer's schedule: an EventBridge rule, whose scheduled-event
//! payload is `events/samples/schedule-event.json`.

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
