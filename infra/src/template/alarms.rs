//! Observability as code: every place a ride can wait or fall, as one list
//! of [`Signal`]s from which the template renders a CloudWatch alarm each
//! (notifying one SNS topic, with an optional e-mail subscription), the
//! dashboard, and `docs/operating.md`'s table ([`operating_table`]).
//! `infra status` lists the alarms' states by the same names. A guard rule
//! (`OPERATOR_ALARMS_ON_EVERY_SIGNAL`) fails a template that drops one.

use serde_json::{json, Value};

use super::forwarder::{CAMEL, FORWARDER_MAPPING_ID, LAMBDA};
use super::functions::CONSUMER;
use super::model::{r#ref, sub, Resource, Template};
use super::rides_table::RIDES_TABLE;
use super::settings::Settings;
use super::stream::STREAM;

pub const TOPIC: &str = "AlarmTopic";
pub const EMAIL_PARAMETER: &str = "AlarmEmail";
pub const HAS_EMAIL: &str = "HasAlarmEmail";
/// The connector log's metric filter's namespace and metric.
pub const CONNECTOR_NAMESPACE: &str = "CarRides/Connector";
pub const QUEUE_FULL_METRIC: &str = "QueueFullDrops";

/// A dimension's value: a resource's `Ref`, a `Fn::Sub` string, a literal.
#[derive(Debug, Clone)]
pub enum Dim {
    Ref(&'static str),
    Sub(String),
    Literal(String),
}

impl Dim {
    fn cfn(&self) -> Value {
        match self {
            Dim::Ref(id) => r#ref(id),
            Dim::Sub(s) => sub(s),
            Dim::Literal(s) => Value::from(s.as_str()),
        }
    }

    /// The value inside a `Fn::Sub` body (the dashboard's).
    fn in_sub(&self) -> String {
        match self {
            Dim::Ref(id) => format!("${{{id}}}"),
            Dim::Sub(s) | Dim::Literal(s) => s.clone(),
        }
    }
}

/// One place a ride can wait or fall, and its alarm.
#[derive(Debug, Clone)]
pub struct Signal {
    /// The alarm's name after the stack's (`<stack>-<id>`) and its logical id (`Alarm<id>`).
    pub id: String,
    pub meaning: &'static str,
    pub first_step: &'static str,
    /// Only with this hop (`BridgeIsCamel` / `BridgeIsLambda`).
    pub when: Option<&'static str>,
    pub namespace: &'static str,
    pub metric: &'static str,
    pub dimensions: Vec<(&'static str, Dim)>,
    pub statistic: &'static str,
    pub period: u32,
    pub periods: u32,
    pub threshold: f64,
}

impl Signal {
    fn any(id: &str, meaning: &'static str, first_step: &'static str) -> Self {
        Self {
            id: id.to_owned(),
            meaning,
            first_step,
            when: None,
            namespace: "",
            metric: "",
            dimensions: Vec::new(),
            statistic: "Sum",
            period: 300,
            periods: 1,
            threshold: 1.0,
        }
    }

    fn metric(mut self, namespace: &'static str, metric: &'static str, dimensions: Vec<(&'static str, Dim)>) -> Self {
        self.namespace = namespace;
        self.metric = metric;
        self.dimensions = dimensions;
        self
    }

    fn maximum_over(mut self, threshold: f64, period: u32, periods: u32) -> Self {
        self.statistic = "Maximum";
        self.threshold = threshold;
        self.period = period;
        self.periods = periods;
        self
    }

    fn when(mut self, condition: &'static str) -> Self {
        self.when = Some(condition);
        self
    }

    pub fn logical_id(&self) -> String {
        format!("Alarm{}", self.id)
    }
}

fn stack_function(name: &str) -> Dim {
    Dim::Sub(format!("${{AWS::StackName}}-{name}"))
}

fn own_metric(
    namespace: &'static str,
    metric: &'static str,
    function: &str,
) -> (&'static str, &'static str, Vec<(&'static str, Dim)>) {
    (namespace, metric, vec![("Function", Dim::Literal(function.to_owned()))])
}

/// Every signal, in the order the dashboard and `docs/operating.md` show them.
pub fn signals(s: &Settings) -> Vec<Signal> {
    let emf = |signal: Signal, (namespace, metric, dims): (&'static str, &'static str, Vec<(&'static str, Dim)>)| {
        signal.metric(namespace, metric, dims)
    };
    let mut all = vec![
        Signal::any(
            "HopBehind",
            "The Kinesis -> Kafka hop reads the stream more than 10 minutes behind (GetRecords.IteratorAgeMilliseconds, max) for 15 minutes: rides are late, and past the stream's 24 h retention they are gone.",
            "Camel: `infra status` shows the connector's state; its log group shows task restarts. Lambda: the forwarder's errors and its UnacknowledgedRecords (Kafka slow or away); raise ForwarderParallelizationFactor or the shard count.",
        )
        .metric("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", vec![("StreamName", Dim::Ref(STREAM))])
        .maximum_over(600_000.0, 300, 3),
        Signal::any(
            "ConnectorQueueFull",
            "The Camel task dropped records: its hand-off queue was full (`Queue full` in the connector's log). Those rides never reach Kafka.",
            "The rides are still in the stream for 24 h: find the window in the connector's log, restart the connector to replay (it re-reads the whole retention; the table absorbs the duplicates), or switch to Bridge=lambda.",
        )
        .metric(CONNECTOR_NAMESPACE, QUEUE_FULL_METRIC, Vec::new())
        .when(CAMEL),
        Signal::any(
            "ConsumerBehind",
            "The MSK mapping is more than 50,000 records behind the topic (OffsetLag, max) for 15 minutes: rides are late; past Kafka's 7-day retention they are gone.",
            "Look at the consumer's Errors and Duration and at RidesNotStored (a slow or throttled table); raise the mapping's MaximumPollers.",
        )
        .metric("AWS/Lambda", "OffsetLag", vec![("FunctionName", Dim::Ref(CONSUMER))])
        .maximum_over(50_000.0, 300, 3),
        Signal::any(
            "ConsumerBatchesDiscarded",
            "The MSK mapping gave up on records after its retries and wrote them to the on-failure destination (OnFailureDestinationDeliveredEventCount): they are not in the table.",
            "Read the invocation records under the dead-letter bucket, fix the cause, then replay the records they name.",
        )
        .metric("AWS/Lambda", "OnFailureDestinationDeliveredEventCount", vec![("EventSourceMappingUUID", Dim::Ref("ConsumerMapping"))]),
        Signal::any(
            "ForwarderBatchesDiscarded",
            "The forwarder's Kinesis mapping gave up on records (past MaximumRecordAgeInSeconds) and wrote them to the on-failure destination: they never reached Kafka.",
            "The invocation records in the dead-letter bucket name the shard and sequence numbers: replay them from the stream while it still holds them (24 h).",
        )
        .metric("AWS/Lambda", "OnFailureDestinationDeliveredEventCount", vec![("EventSourceMappingUUID", Dim::Ref(FORWARDER_MAPPING_ID))])
        .when(LAMBDA),
        emf(
            Signal::any(
                "PoisonDeadLettered",
                "The consumer quarantined poison records (undecodable, invalid, oversized) in the dead-letter bucket.",
                "Read the objects under dead-letters/ (each names its reason and its place in Kinesis); fix the producer, replay what is worth keeping.",
            ),
            own_metric("CarRides/Consumer", "PoisonRecords", "msk-consumer"),
        ),
        emf(
            Signal::any(
                "ConflictingRides",
                "A ride arrived under an event id the table holds with other content (a producer bug); it was dead-lettered, the stored ride kept.",
                "Compare the dead letter (kind conflicting_ride) with the stored item; fix the producer's event ids.",
            ),
            own_metric("CarRides/Consumer", "ConflictingRides", "msk-consumer"),
        ),
        emf(
            Signal::any(
                "RidesNotStored",
                "The consumer could not store rides by its deadline (table throttled, unreachable or refusing); the mapping delivers them again.",
                "Check TableWriteThrottled and the consumer's ERROR lines (`rides not stored`, with the reason); persistent refusals end in ConsumerBatchesDiscarded.",
            ),
            own_metric("CarRides/Consumer", "RidesNotStored", "msk-consumer"),
        ),
        emf(
            Signal::any(
                "ProducerRidesNotWritten",
                "The producer could not write rides to the stream (throttled past its deadline, refused); it is never retried, so those rides do not exist.",
                "The ERROR line `some rides were not written` names them and the first error; add shards if throttled.",
            ),
            own_metric("CarRides/Producer", "RidesFailed", "producer"),
        ),
        emf(
            Signal::any(
                "ForwarderRefusedRecords",
                "Kafka refused records for good (too large, not authorised); the forwarder reports them, so the mapping retries them until MaximumRecordAgeInSeconds.",
                "The forwarder's ERROR lines name shard, sequence number and size: fix the topic's max.message.bytes or the role, before the records age out.",
            ),
            own_metric("CarRides/Forwarder", "RefusedRecords", "kinesis-forwarder"),
        )
        .when(LAMBDA),
        Signal::any(
            "TableWriteThrottled",
            "DynamoDB throttled writes to the rides table (WriteThrottleEvents): storing slows and rides wait in Kafka.",
            "On demand tables throttle past twice their previous peak: pre-warm it (warm throughput) or switch to provisioned capacity with auto scaling.",
        )
        .metric("AWS/DynamoDB", "WriteThrottleEvents", vec![("TableName", Dim::Ref(RIDES_TABLE))]),
    ];
    for (id, function, when) in [
        ("Producer", "producer", None),
        ("Consumer", "msk-consumer", None),
        ("Forwarder", "kinesis-forwarder", Some(LAMBDA)),
    ] {
        for (what, metric, meaning, first_step) in [
            (
                "Errors",
                "Errors",
                "The function failed invocations (AWS/Lambda Errors): with a mapping, the batch is retried; the producer's rides are lost.",
                "Its log group's ERROR lines (JSON) say why: `make logs`.",
            ),
            (
                "Throttled",
                "Throttles",
                "Lambda throttled the function (AWS/Lambda Throttles): the account's or the function's concurrency is exhausted; batches wait.",
                "Raise the account's concurrency quota or the function's reserved concurrency.",
            ),
        ] {
            let mut signal = Signal::any(&format!("{id}{what}"), meaning, first_step)
                .metric("AWS/Lambda", metric, vec![("FunctionName", stack_function(function))]);
            signal.when = when;
            all.push(signal);
        }
    }
    for broker in 1..=s.broker_count {
        all.push(
            Signal::any(
                &format!("Broker{broker}DiskFilling"),
                "A broker's data disk is over 80% full (AWS/Kafka KafkaDataLogsDiskUsed): at 100% the broker stops taking writes and the hop stalls.",
                "Raise the cluster's broker storage (UpdateBrokerStorage) or re-render with `--storage-for-shards` above the shards you run.",
            )
            .metric(
                "AWS/Kafka",
                "KafkaDataLogsDiskUsed",
                vec![
                    ("Cluster Name", Dim::Sub("${AWS::StackName}-carrides".into())),
                    ("Broker ID", Dim::Literal(broker.to_string())),
                ],
            )
            .maximum_over(80.0, 300, 1),
        );
    }
    all
}

/// The SNS topic, its optional e-mail subscription, the connector log's
/// metric filter, one alarm per signal and the dashboard (one per hop: each
/// names only the resources that hop deploys).
pub fn add(t: &mut Template, s: &Settings) {
    t.parameters.insert(
        EMAIL_PARAMETER.into(),
        json!({"Type": "String", "Default": "",
        "Description": "E-mail address the alarms notify (confirm the subscription AWS sends); empty: subscribe to the AlarmTopic output yourself"}),
    );
    t.conditions.insert(HAS_EMAIL.into(), json!({"Fn::Not": [{"Fn::Equals": [{"Ref": EMAIL_PARAMETER}, ""]}]}));
    t.add(
        TOPIC,
        Resource::new("AWS::SNS::Topic", json!({"TopicName": sub("${AWS::StackName}-alarms")})).skip_check(
            "CKV_AWS_26",
            "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key (alias/aws/sns); alarm notifications carry no ride data",
        ),
    );
    t.add(
        "AlarmEmailSubscription",
        Resource::new(
            "AWS::SNS::Subscription",
            json!({"TopicArn": r#ref(TOPIC), "Protocol": "email", "Endpoint": r#ref(EMAIL_PARAMETER)}),
        )
        .when(HAS_EMAIL),
    );
    t.add(
        "ConnectorQueueFullFilter",
        Resource::new(
            "AWS::Logs::MetricFilter",
            json!({
                "LogGroupName": r#ref("ConnectorLogGroup"),
                "FilterPattern": "\"Queue full\"",
                "MetricTransformations": [{"MetricNamespace": CONNECTOR_NAMESPACE, "MetricName": QUEUE_FULL_METRIC,
                    "MetricValue": "1", "DefaultValue": 0}]
            }),
        )
        .when(CAMEL),
    );
    let signals = signals(s);
    for signal in &signals {
        let mut alarm = Resource::new(
            "AWS::CloudWatch::Alarm",
            json!({
                "AlarmName": sub(&format!("${{AWS::StackName}}-{}", signal.id)),
                "AlarmDescription": format!("{} First: {}", signal.meaning, signal.first_step),
                "Namespace": signal.namespace,
                "MetricName": signal.metric,
                "Dimensions": signal.dimensions.iter().map(|(name, value)| json!({"Name": name, "Value": value.cfn()})).collect::<Vec<_>>(),
                "Statistic": signal.statistic,
                "Period": signal.period,
                "EvaluationPeriods": signal.periods,
                "Threshold": signal.threshold,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [r#ref(TOPIC)],
                "OKActions": [r#ref(TOPIC)]
            }),
        );
        if let Some(condition) = signal.when {
            alarm = alarm.when(condition);
        }
        t.add(&signal.logical_id(), alarm);
    }
    for (suffix, condition) in [("Camel", CAMEL), ("Lambda", LAMBDA)] {
        let shown: Vec<&Signal> = signals.iter().filter(|s| s.when.is_none_or(|w| w == condition)).collect();
        t.add(
            &format!("Dashboard{suffix}"),
            Resource::new(
                "AWS::CloudWatch::Dashboard",
                json!({"DashboardName": sub("${AWS::StackName}-pipeline"), "DashboardBody": {"Fn::Sub": dashboard_body(&shown)}}),
            )
            .when(condition),
        );
    }
    t.output("AlarmTopic", "SNS topic every alarm notifies", r#ref(TOPIC));
}

/// The dashboard: the alarms' states first, then one graph per signal with
/// its threshold. A `Fn::Sub` body: refs as `${LogicalId}`.
fn dashboard_body(signals: &[&Signal]) -> String {
    let alarms: Vec<String> = signals.iter().map(|s| format!("${{{}.Arn}}", s.logical_id())).collect();
    let mut widgets = vec![json!({"type": "alarm", "x": 0, "y": 0, "width": 24, "height": 4,
        "properties": {"title": "Alarms", "alarms": alarms}})];
    for (i, signal) in signals.iter().enumerate() {
        let mut metric: Vec<Value> = vec![signal.namespace.into(), signal.metric.into()];
        for (name, value) in &signal.dimensions {
            metric.push((*name).into());
            metric.push(value.in_sub().into());
        }
        let i = u32::try_from(i).unwrap_or(0);
        widgets.push(json!({"type": "metric", "x": (i % 3) * 8, "y": 4 + (i / 3) * 6, "width": 8, "height": 6,
            "properties": {"title": signal.id, "region": "${AWS::Region}", "stat": signal.statistic,
                "period": signal.period, "metrics": [metric],
                "annotations": {"horizontal": [{"label": "alarm", "value": signal.threshold}]}}}));
    }
    let mut body = json!({"widgets": widgets});
    // Whatever serde_json's map keeps (insertion order under
    // `preserve_order`), the body is the same string.
    events::canonical::sort_keys(&mut body);
    body.to_string()
}

/// `docs/operating.md`'s alarm table, from the same definitions.
pub fn operating_table(s: &Settings) -> String {
    let mut out = String::from("| alarm | hop | what it means | first thing to do |\n| --- | --- | --- | --- |\n");
    for signal in signals(s) {
        let hop = match signal.when {
            Some(c) if c == CAMEL => "camel",
            Some(c) if c == LAMBDA => "lambda",
            _ => "both",
        };
        out.push_str(&format!("| `{}` | {hop} | {} | {} |\n", signal.id, signal.meaning, signal.first_step));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signal_has_a_unique_name_and_a_metric() {
        let all = signals(&Settings::default());
        let mut ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "unique ids");
        assert!(all.iter().all(|s| !s.namespace.is_empty() && !s.metric.is_empty()));
        assert_eq!(all.iter().filter(|s| s.metric == "KafkaDataLogsDiskUsed").count(), 2, "one per broker");
    }

    #[test]
    fn the_dashboard_body_names_only_its_hops_resources() {
        let all = signals(&Settings::default());
        let camel: Vec<&Signal> = all.iter().filter(|s| s.when.is_none_or(|w| w == CAMEL)).collect();
        let body = dashboard_body(&camel);
        assert!(body.contains("${AlarmConnectorQueueFull.Arn}"));
        assert!(!body.contains("Forwarder"), "no forwarder resource on the Camel dashboard");
        let parsed: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(parsed["widgets"].as_array().map(Vec::len), Some(camel.len() + 1));
    }
}
