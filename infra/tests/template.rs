//! The rendered template: a reviewed golden file (every infrastructure change
//! is a diff), IAM statements that name their resources, and the offline
//! validators users would run (cfn-lint, checkov).

use std::path::{Path, PathBuf};
use std::process::Command;

use infra::template::iam::UNSCOPABLE_ACTIONS;
use infra::template::render;
use infra::template::settings::Settings;
use serde_json::Value;

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cloudformation/template.json")
}

#[test]
fn the_default_template_matches_the_reviewed_golden_file() {
    let rendered = render(&Settings::default()).expect("render").to_json();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(golden(), &rendered).expect("write golden");
    }
    let committed = std::fs::read_to_string(golden()).unwrap_or_default();
    assert!(
        committed == rendered,
        "infra/cloudformation/template.json is stale: run `make template` (UPDATE_GOLDEN=1) and review the diff"
    );
}

#[test]
fn every_iam_statement_names_its_resources_and_actions() {
    let template: Value = serde_json::from_str(&render(&Settings::default()).expect("render").to_json()).expect("json");
    let mut statements = 0;
    for (id, resource) in template["Resources"].as_object().expect("resources") {
        if resource["Type"] != "AWS::IAM::Role" {
            continue;
        }
        for policy in resource["Properties"]["Policies"].as_array().into_iter().flatten() {
            for statement in policy["PolicyDocument"]["Statement"].as_array().into_iter().flatten() {
                statements += 1;
                let actions: Vec<&str> = match &statement["Action"] {
                    Value::String(a) => vec![a.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    other => panic!("{id}: unexpected Action {other}"),
                };
                assert!(actions.iter().all(|a| !a.contains('*')), "{id}: wildcard action in {actions:?}");
                if statement["Resource"] == "*" {
                    assert!(actions.iter().all(|a| UNSCOPABLE_ACTIONS.contains(a)), "{id}: {actions:?} on Resource *");
                }
            }
        }
    }
    assert!(statements >= 15, "{statements} statements");
}

#[test]
fn the_seed_settings_are_corrected_or_refused() {
    let template: Value = serde_json::from_str(&render(&Settings::default()).expect("render").to_json()).expect("json");
    let props =
        template["Resources"]["KafkaConfiguration"]["Properties"]["ServerProperties"].as_str().expect("properties");
    assert!(props.contains("default.replication.factor=2\n") && props.contains("min.insync.replicas=1\n"), "{props}");
    assert!(props.contains("auto.create.topics.enable=false"));
    let seed = Settings { replication_factor: 3, ..Settings::default() };
    assert!(render(&seed).expect_err("3 on 2").to_string().contains("use --replication-factor 2 or --brokers 4"));
}

fn tool(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv/bin").join(name);
    assert!(path.is_file(), "{} is missing: run `make tools`", path.display());
    path
}

#[test]
fn cfn_lint_reports_nothing() {
    let out = Command::new(tool("cfn-lint")).arg(golden()).output().expect("cfn-lint runs");
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn checkov_fails_no_check() {
    // Run as the README shows, from infra/ with a relative path: checkov 3.3.30
    // reports CKV_AWS_45 on every function when given an absolute path
    // ("/../work/...") and not with a relative one.
    let out = Command::new(tool("checkov"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "--framework",
            "cloudformation",
            "--skip-download",
            "--compact",
            "--quiet",
            "-f",
            "cloudformation/template.json",
        ])
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
        .output()
        .expect("checkov runs");
    assert!(
        out.status.success(),
        "checkov:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_bastion_is_off_by_default_and_reachable_only_through_session_manager() {
    let template: Value = serde_json::from_str(&render(&Settings::default()).expect("render").to_json()).expect("json");
    assert_eq!(template["Parameters"]["EnableBastion"]["Default"], "false");
    let bastion = &template["Resources"]["Bastion"];
    assert_eq!(bastion["Condition"], "WithBastion");
    assert!(bastion["Properties"].get("KeyName").is_none(), "no SSH key pair");
    assert_eq!(bastion["Properties"]["MetadataOptions"]["HttpTokens"], "required");
    let groups = bastion["Properties"]["SecurityGroupIds"].as_array().expect("groups");
    for group in groups {
        let id = group["Ref"].as_str().expect("ref");
        let sg = &template["Resources"][id]["Properties"];
        assert!(sg.get("SecurityGroupIngress").is_none(), "{id} accepts inbound traffic");
        for (other_id, other) in template["Resources"].as_object().expect("resources") {
            if other["Type"] == "AWS::EC2::SecurityGroupIngress" {
                assert_ne!(other["Properties"]["GroupId"]["Ref"], id, "{other_id} opens {id}");
            }
        }
    }
    let role = &template["Resources"]["BastionRole"]["Properties"];
    assert!(role["Policies"].to_string().contains("ssmmessages:OpenControlChannel"), "Session Manager's channels");
}

/// The deploying principal's policy (infra/deployer-policy.json, which the
/// docs/deploying.md points to) allows creating every resource type the template uses.
#[test]
fn the_deployer_policy_covers_every_resource_type() {
    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deployer-policy.json")).expect("policy"),
    )
    .expect("json");
    let allowed: Vec<&str> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        })
        .collect();
    // One create action per resource type: what CloudFormation calls first.
    let creates = |kind: &str| -> Option<&'static [&'static str]> {
        Some(match kind {
            "AWS::EC2::VPC" => &["ec2:CreateVpc"],
            "AWS::EC2::InternetGateway" => &["ec2:CreateInternetGateway"],
            "AWS::EC2::VPCGatewayAttachment" => &["ec2:AttachInternetGateway"],
            "AWS::EC2::RouteTable" => &["ec2:CreateRouteTable"],
            "AWS::EC2::Route" => &["ec2:CreateRoute"],
            "AWS::EC2::Subnet" => &["ec2:CreateSubnet"],
            "AWS::EC2::SubnetRouteTableAssociation" => &["ec2:AssociateRouteTable"],
            "AWS::EC2::EIP" => &["ec2:AllocateAddress"],
            "AWS::EC2::NatGateway" => &["ec2:CreateNatGateway"],
            "AWS::EC2::SecurityGroup" => &["ec2:CreateSecurityGroup"],
            "AWS::EC2::SecurityGroupIngress" => &["ec2:AuthorizeSecurityGroupIngress"],
            "AWS::EC2::SecurityGroupEgress" => &["ec2:AuthorizeSecurityGroupEgress"],
            "AWS::EC2::VPCEndpoint" => &["ec2:CreateVpcEndpoint"],
            "AWS::EC2::FlowLog" => &["ec2:CreateFlowLogs"],
            "AWS::EC2::Instance" => &["ec2:RunInstances"],
            "AWS::Logs::LogGroup" => &["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
            "AWS::IAM::Role" => &["iam:CreateRole", "iam:PutRolePolicy", "iam:PassRole"],
            "AWS::IAM::InstanceProfile" => &["iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile"],
            "AWS::Kinesis::Stream" => &["kinesis:CreateStream", "kinesis:StartStreamEncryption"],
            "AWS::DynamoDB::Table" => {
                &["dynamodb:CreateTable", "dynamodb:UpdateTimeToLive", "dynamodb:UpdateContinuousBackups"]
            }
            "AWS::MSK::Configuration" => &["kafka:CreateConfiguration"],
            "AWS::MSK::Cluster" => &["kafka:CreateCluster", "logs:CreateLogDelivery"],
            "AWS::KafkaConnect::CustomPlugin" => &["kafkaconnect:CreateCustomPlugin"],
            "AWS::KafkaConnect::Connector" => &["kafkaconnect:CreateConnector", "logs:CreateLogDelivery"],
            "AWS::Lambda::Function" => &["lambda:CreateFunction"],
            "AWS::Lambda::EventSourceMapping" => &["lambda:CreateEventSourceMapping"],
            "AWS::Lambda::Permission" => &["lambda:AddPermission"],
            "AWS::Events::Rule" => &["events:PutRule", "events:PutTargets"],
            "AWS::S3::Bucket" => &["s3:CreateBucket", "s3:PutEncryptionConfiguration"],
            "AWS::S3::BucketPolicy" => &["s3:PutBucketPolicy"],
            "AWS::SNS::Topic" => &["sns:CreateTopic"],
            "AWS::SNS::Subscription" => &["sns:Subscribe"],
            "AWS::Logs::MetricFilter" => &["logs:PutMetricFilter"],
            "AWS::CloudWatch::Alarm" => &["cloudwatch:PutMetricAlarm"],
            "AWS::CloudWatch::Dashboard" => &["cloudwatch:PutDashboard"],
            "AWS::Lambda::EventInvokeConfig" => &["lambda:PutFunctionEventInvokeConfig"],
            "Custom::KafkaTopic" => &["lambda:InvokeFunction"],
            _ => return None,
        })
    };
    let template: Value = serde_json::from_str(&render(&Settings::default()).expect("render").to_json()).expect("json");
    for (id, resource) in template["Resources"].as_object().expect("resources") {
        let kind = resource["Type"].as_str().expect("type");
        let needed =
            creates(kind).unwrap_or_else(|| panic!("{id}: {kind} is new: add it here and to deployer-policy.json"));
        for action in needed {
            assert!(allowed.contains(action), "{id} ({kind}) needs {action} in infra/deployer-policy.json");
        }
    }
}

/// docs/deploying.md says the template's own statements use `"Resource": "*"` only
/// for unscopable actions, and that the bastion's AWS-managed SSM policy is
/// the one exception: it must stay the only managed policy.
/// No managed policy anywhere: the bastion's Session Manager access is the
/// five actions the agent needs (AmazonSSMManagedInstanceCore would also let
/// it read every SSM parameter of the account).
#[test]
fn no_role_has_a_managed_policy_and_the_bastion_only_session_manager() {
    let template: Value = serde_json::from_str(&render(&Settings::default()).expect("render").to_json()).expect("json");
    let resources = template["Resources"].as_object().expect("resources");
    let managed: Vec<&String> =
        resources.iter().filter(|(_, r)| r["Properties"]["ManagedPolicyArns"].is_array()).map(|(id, _)| id).collect();
    assert!(managed.is_empty(), "{managed:?}");
    let statements = resources["BastionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].to_string();
    assert!(statements.contains("ssmmessages:OpenDataChannel"), "{statements}");
    assert!(!statements.contains("ssm:GetParameter"), "{statements}");
}

/// The local broker runs the Kafka minor version the template deploys by default.
#[test]
fn the_local_broker_is_the_deployed_kafka_version() {
    let deployed = infra::template::parameters::RECOMMENDED_KAFKA_VERSION.trim_end_matches(".x");
    let pom =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/kafka/pom.xml")).expect("pom");
    let local = pom.split("<kafka.version>").nth(1).and_then(|r| r.split('<').next()).expect("kafka.version");
    assert!(local.starts_with(&format!("{deployed}.")), "local Kafka {local}, template default {deployed}.x");
}

/// `docs/operating.md`'s alarm table is the alarms' own definitions
/// rendered (`UPDATE_GOLDEN=1` rewrites it between its markers).
#[test]
fn the_operating_guide_explains_every_alarm() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operating.md");
    let readme = std::fs::read_to_string(&path).expect("docs/operating.md");
    let (start, end) = ("<!-- alarms:start -->\n", "<!-- alarms:end -->");
    let table = infra::template::alarms::operating_table(&Settings::default());
    let (Some(from), Some(to)) = (readme.find(start), readme.find(end)) else {
        panic!("docs/operating.md needs the {start:?} and {end:?} markers")
    };
    let current = &readme[from + start.len()..to];
    if std::env::var_os("UPDATE_GOLDEN").is_some() && current != table {
        std::fs::write(&path, format!("{}{table}{}", &readme[..from + start.len()], &readme[to..]))
            .expect("write docs/operating.md");
        return;
    }
    assert_eq!(
        current, table,
        "docs/operating.md's alarm table is stale: run UPDATE_GOLDEN=1 cargo test -p infra --test template"
    );
}

/// What a stack delete keeps, and how the dead letters are reached: the
/// rides table (the pipeline's output) and the dead-letter bucket are
/// retained; the bucket refuses requests not made over TLS.
#[test]
fn the_rides_table_is_kept_and_the_dead_letters_need_tls() {
    let template: Value = serde_json::from_str(&render(&Settings::default()).expect("render").to_json()).expect("json");
    let r = &template["Resources"];
    for kept in ["RidesTable", "DeadLetterBucket"] {
        assert_eq!(r[kept]["DeletionPolicy"], "Retain", "{kept}");
        assert_eq!(r[kept]["UpdateReplacePolicy"], "Retain", "{kept}");
    }
    let policy = &r["DeadLetterBucketPolicy"]["Properties"];
    assert_eq!(policy["Bucket"]["Ref"], "DeadLetterBucket");
    let deny = &policy["PolicyDocument"]["Statement"][0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
    assert_eq!(deny["Resource"].as_array().map(Vec::len), Some(2), "the bucket and its objects");
}
