//! An optional bastion (parameter `EnableBastion=true`, off by default): a tiny
//! arm64 instance in a private subnet, reachable only through SSM Session
//! Manager (no inbound rule, no key pair, no port 22), in the Kafka clients'
//! security group so a user can run the Kafka CLI against the brokers.

use serde_json::{json, Value};

use super::iam::role;
use super::kafka::kafka_cluster_statement;
use super::model::{r#ref, sub, tags, Resource, Template};
use super::network::{CLIENT_SG, PRIVATE_SUBNETS};
use super::settings::Settings;

pub const CONDITION: &str = "WithBastion";
pub const INSTANCE: &str = "Bastion";

/// What the SSM agent needs for Session Manager and nothing else (Session
/// Manager user guide, "Verify or add instance permissions for Session
/// Manager"): register the instance and open its session channels. Not
/// `AmazonSSMManagedInstanceCore`, which also reads every SSM parameter and
/// document of the account. None of these actions takes a resource.
pub static SESSION_MANAGER_STATEMENT: std::sync::LazyLock<Value> =
    std::sync::LazyLock::new(|| json!({"Effect": "Allow", "Action": SESSION_MANAGER_ACTIONS, "Resource": "*"}));

pub const SESSION_MANAGER_ACTIONS: [&str; 5] = [
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
];

pub fn add(t: &mut Template, s: &Settings) {
    t.parameters.insert(
        "EnableBastion".into(),
        json!({"Type": "String", "Default": "false", "AllowedValues": ["false", "true"],
        "Description": "Add a t4g.nano reachable only through SSM Session Manager, for the Kafka CLI (billed by the hour)"}),
    );
    t.conditions.insert(CONDITION.into(), json!({"Fn::Equals": [{"Ref": "EnableBastion"}, "true"]}));

    let bastion_role = role(
        "ec2.amazonaws.com",
        vec![
            SESSION_MANAGER_STATEMENT.clone(),
            kafka_cluster_statement(
                &[
                    "kafka-cluster:Connect",
                    "kafka-cluster:DescribeCluster",
                    "kafka-cluster:DescribeTopic",
                    "kafka-cluster:ReadData",
                    "kafka-cluster:DescribeGroup",
                    "kafka-cluster:AlterGroup",
                ],
                &[&s.topic],
                &["bastion-*"],
            ),
        ],
    )
    .when(CONDITION);
    t.add("BastionRole", bastion_role);
    t.add(
        "BastionProfile",
        Resource::new("AWS::IAM::InstanceProfile", json!({"Roles": [r#ref("BastionRole")]})).when(CONDITION),
    );
    t.add(
        INSTANCE,
        Resource::new(
            "AWS::EC2::Instance",
            json!({
                "ImageId": "{{resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64}}",
                "InstanceType": "t4g.nano",
                "SubnetId": r#ref(PRIVATE_SUBNETS[0]),
                "SecurityGroupIds": [r#ref(CLIENT_SG)],
                "IamInstanceProfile": r#ref("BastionProfile"),
                "EbsOptimized": true,
                "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
                "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "VolumeType": "gp3", "Encrypted": true}}],
                "Tags": tags(sub("${AWS::StackName}-bastion"))
            }),
        )
        .when(CONDITION)
        .skip_check("CKV_AWS_126", "detailed monitoring costs extra for an idle, optional debugging host"),
    );
    t.outputs.insert(
        "BastionSession".into(),
        json!({"Condition": CONDITION, "Description": "Open a shell on the bastion (Session Manager; no SSH)",
            "Value": sub(&format!("aws ssm start-session --target ${{{INSTANCE}}} --region ${{AWS::Region}}"))}),
    );
}
