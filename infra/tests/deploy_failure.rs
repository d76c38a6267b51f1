//! A deployment that fails reaches the user as the first failing resource and
//! its reason, not as "ROLLBACK_COMPLETE". moto does not roll back, so this
//! replays CloudFormation's recorded answers (aws-smithy-mocks) through the
//! real `deploy` flow.

mod support;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ResourceChange, ResourceStatus, Stack, StackEvent, StackStatus,
};
use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_mocks::{mock, RuleMode};
use aws_smithy_types::DateTime;
use infra::aws::Clients;
use infra::deploy::{deploy, DeployArgs};
use infra::package::{PackageArgs, ZipsArgs};
use infra::template::TemplateArgs;

/// `aws_smithy_mocks::mock_client!` without the SDKs' `test-util` feature,
/// which would make the workspace build differ from the functions' own builds
/// (`cargo lambda watch` would then compile the AWS SDK a second time).
macro_rules! mocked {
    ($sdk:ident, $mode:expr, [$($rule:expr),+ $(,)?]) => {{
        let interceptor = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode($mode)$(.with_rule($rule))+;
        $sdk::Client::from_conf(
            $sdk::config::Config::builder()
                .behavior_version($sdk::config::BehaviorVersion::latest())
                .region($sdk::config::Region::new("eu-west-1"))
                .credentials_provider($sdk::config::Credentials::new("test", "test", None, None, "test"))
                .retry_config($sdk::config::retry::RetryConfig::disabled())
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}

const STACK_ID: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/kml/1";

fn event(n: i64, logical_id: &str, kind: &str, status: ResourceStatus, reason: Option<&str>) -> StackEvent {
    StackEvent::builder()
        .event_id(format!("e{n}"))
        .stack_id(STACK_ID)
        .stack_name("kml")
        .logical_resource_id(logical_id)
        .resource_type(kind)
        .resource_status(status)
        .set_resource_status_reason(reason.map(str::to_owned))
        .timestamp(DateTime::from_secs(1_795_000_000 + n))
        .build()
}

fn rolled_back() -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name("kml")
                .stack_id(STACK_ID)
                .stack_status(StackStatus::RollbackComplete)
                .creation_time(DateTime::from_secs(1_795_000_000))
                .build(),
        )
        .build()
}

/// Packaging the zips already in `lambda_dir`, the plugin from Maven Central.
fn prebuilt_zips(lambda_dir: std::path::PathBuf) -> PackageArgs {
    PackageArgs {
        zips: ZipsArgs { lambda_dir, zip_budgets: String::new() },
        skip_build: true,
        plugin_archive: None,
        plugin_sha256: None,
        artifacts_bucket: None,
        plugin_repository: connector_plugin::MAVEN_CENTRAL.into(),
        extra_repositories: String::new(),
    }
}

fn deploy_args(package: PackageArgs) -> DeployArgs {
    DeployArgs {
        package,
        template: TemplateArgs {
            brokers: 2,
            replication_factor: 2,
            partitions: 4,
            topic: "carrides".into(),
            storage_for_shards: 2,
        },
        template_file: None,
        parameters: vec![],
        yes: true,
        poll_seconds: 1,
    }
}

/// Newest first, as DescribeStackEvents answers.
fn rollback_events() -> Vec<StackEvent> {
    let stack = "AWS::CloudFormation::Stack";
    vec![
        event(8, "kml", stack, ResourceStatus::from("ROLLBACK_COMPLETE"), None),
        event(7, "RideTopic", "Custom::KafkaTopic", ResourceStatus::DeleteComplete, None),
        event(6, "kml", stack, ResourceStatus::from("ROLLBACK_IN_PROGRESS"), Some("The following resource(s) failed to create: [RideTopic]")),
        event(5, "Connector", "AWS::KafkaConnect::Connector", ResourceStatus::CreateFailed, Some("Resource creation cancelled")),
        event(4, "RideTopic", "Custom::KafkaTopic", ResourceStatus::CreateFailed,
            Some("Received response status [FAILED] from custom resource. Message returned: creating topic carrides: replication factor 3 larger than available brokers 2")),
        event(3, "RideTopic", "Custom::KafkaTopic", ResourceStatus::CreateInProgress, None),
        event(2, "kml", stack, ResourceStatus::CreateInProgress, Some("User Initiated")),
        event(1, "kml", stack, ResourceStatus::from("REVIEW_IN_PROGRESS"), Some("User Initiated")),
    ]
}

#[tokio::test]
async fn a_failed_create_names_the_first_failing_resource_and_its_reason() {
    let not_found = r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id kml does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>"#;
    let describe_stacks = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .sequence()
        .http_status(400, Some(not_found.to_owned()))
        .output(rolled_back)
        .repeatedly()
        .build();
    let create = mock!(aws_sdk_cloudformation::Client::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("cs").stack_id(STACK_ID).build());
    let describe_change_set = mock!(aws_sdk_cloudformation::Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .changes(
                Change::builder()
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Add)
                            .logical_resource_id("RideTopic")
                            .resource_type("Custom::KafkaTopic")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let events = mock!(aws_sdk_cloudformation::Client::describe_stack_events)
        .sequence()
        .output(|| DescribeStackEventsOutput::builder().stack_events(rollback_events()[7].clone()).build())
        .output(|| DescribeStackEventsOutput::builder().set_stack_events(Some(rollback_events())).build())
        .repeatedly()
        .build();
    let execute = mock!(aws_sdk_cloudformation::Client::execute_change_set)
        .then_output(|| ExecuteChangeSetOutput::builder().build());
    let cloudformation = mocked!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_change_set, &events, &execute]
    );
    let identity = mock!(aws_sdk_sts::Client::get_caller_identity)
        .then_output(|| GetCallerIdentityOutput::builder().account("123456789012").build());
    let sts = mocked!(aws_sdk_sts, RuleMode::MatchAny, [&identity]);
    let head_bucket = mock!(aws_sdk_s3::Client::head_bucket).then_output(|| HeadBucketOutput::builder().build());
    let head_object = mock!(aws_sdk_s3::Client::head_object).then_output(|| HeadObjectOutput::builder().build());
    let s3 = mocked!(aws_sdk_s3, RuleMode::MatchAny, [&head_bucket, &head_object]);

    let config =
        SdkConfig::builder().region(Region::new("eu-west-1")).behavior_version(BehaviorVersion::latest()).build();
    let mut clients = Clients::new(config);
    clients.cloudformation = cloudformation;
    clients.sts = sts;
    clients.s3 = s3;

    let work = tempfile::tempdir().expect("tempdir");
    support::lambda_zips(&work.path().join("lambda"), "v1");
    let archive = work.path().join("camel.tar.gz");
    let digest = support::plugin_archive(&archive);
    let args = deploy_args(PackageArgs {
        plugin_archive: Some(archive),
        plugin_sha256: Some(digest),
        ..prebuilt_zips(work.path().join("lambda"))
    });
    let err = deploy(&clients, &"kml".parse().expect("stack name"), &args).await.expect_err("the deployment fails");
    let message = err.to_string();
    assert!(message.starts_with("stack kml ended in ROLLBACK_COMPLETE"), "{message}");
    assert!(
        message.contains("first failure: RideTopic (Custom::KafkaTopic) CREATE_FAILED: Received response status [FAILED] from custom resource. Message returned: creating topic carrides: replication factor 3 larger than available brokers 2"),
        "{message}"
    );
    assert_eq!(execute.num_calls(), 1);
    // Four zips, the plugin, and the template itself: over CloudFormation's
    // 51,200-byte TemplateBody limit, it goes by URL from the same bucket.
    assert_eq!(head_object.num_calls(), 6, "every artifact checked, none re-uploaded");
}

#[tokio::test]
async fn a_stack_left_in_rollback_complete_is_explained_before_anything_is_uploaded() {
    let describe_stacks = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(rolled_back);
    let cloudformation = mocked!(aws_sdk_cloudformation, RuleMode::MatchAny, [&describe_stacks]);
    let config =
        SdkConfig::builder().region(Region::new("eu-west-1")).behavior_version(BehaviorVersion::latest()).build();
    let mut clients = Clients::new(config);
    clients.cloudformation = cloudformation;
    let args = deploy_args(prebuilt_zips("does-not-matter".into()));
    let err = deploy(&clients, &"kml".parse().expect("stack name"), &args).await.expect_err("refused");
    assert!(err.to_string().contains("is ROLLBACK_COMPLETE after a failed first deployment"), "{err}");
}

/// `infra package` with a function past its size budget (lowered here) stops
/// before it asks AWS anything: no account lookup, no bucket, no upload.
#[tokio::test]
async fn a_zip_past_its_budget_stops_packaging_before_any_aws_call() {
    let identity = mock!(aws_sdk_sts::Client::get_caller_identity)
        .then_output(|| GetCallerIdentityOutput::builder().account("123456789012").build());
    let sts = mocked!(aws_sdk_sts, RuleMode::MatchAny, [&identity]);
    let head_bucket = mock!(aws_sdk_s3::Client::head_bucket).then_output(|| HeadBucketOutput::builder().build());
    let s3 = mocked!(aws_sdk_s3, RuleMode::MatchAny, [&head_bucket]);
    let config =
        SdkConfig::builder().region(Region::new("eu-west-1")).behavior_version(BehaviorVersion::latest()).build();
    let mut clients = Clients::new(config);
    clients.sts = sts;
    clients.s3 = s3;
    let work = tempfile::tempdir().expect("tempdir");
    support::lambda_zips(&work.path().join("lambda"), "v1");
    let consumer_zip = std::fs::metadata(work.path().join("lambda/msk-consumer/bootstrap.zip")).expect("zip").len();
    let mut args = prebuilt_zips(work.path().join("lambda"));
    args.zips.zip_budgets = format!("msk-consumer={}", consumer_zip - 1);
    let err = infra::package::package(&clients, &"kml".parse().expect("stack name"), &args)
        .await
        .expect_err("past the budget");
    let message = format!("{err:#}");
    assert!(message.contains("1 function zip is past its size budget"), "{message}");
    assert!(message.contains(&format!("msk-consumer: bootstrap.zip is {consumer_zip} bytes")), "{message}");
    assert!(message.contains("over its budget of"), "{message}");
    assert_eq!(identity.num_calls(), 0, "no AWS call before the sizes are checked");
    assert_eq!(head_bucket.num_calls(), 0);
}
