//! Roles: one per function and per connector, each statement naming the
//! resources it applies to. The only `"Resource": "*"` statements are for
//! read-only EC2 lookups (functions and mappings in a VPC), X-Ray trace
//! uploads and the bastion's Session Manager channels, which IAM cannot
//! scope to a resource.

use serde_json::{json, Value};

use super::model::{get_att, sub, Resource};
use super::network::VPC;

/// Actions allowed on `"Resource": "*"`, because they take no other.
pub const UNSCOPABLE_ACTIONS: [&str; 11] = [
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
];

pub fn role(service: &str, statements: Vec<Value>) -> Resource {
    role_with_trust_condition(service, None, statements)
}

/// A role whose trust policy also carries `condition` (the confused-deputy
/// guard `aws:SourceAccount` / `aws:SourceArn` where the service sets them).
pub fn role_with_trust_condition(service: &str, condition: Option<Value>, statements: Vec<Value>) -> Resource {
    let mut trust = json!({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"});
    if let (Some(condition), Some(object)) = (condition, trust.as_object_mut()) {
        object.insert("Condition".into(), condition);
    }
    Resource::new(
        "AWS::IAM::Role",
        json!({
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]},
            "Policies": [{"PolicyName": "least-privilege", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
        }),
    )
}

/// Writing to the function's own log group.
pub fn logs_statement(log_group: &str) -> Value {
    json!({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": get_att(log_group, "Arn")})
}

/// What Lambda needs for a function (or an MSK mapping's pollers) in a VPC,
/// the actions of AWS's `AWSLambdaVPCAccessExecutionRole`: network interfaces
/// created, deleted and given addresses in this stack's VPC only (EC2's
/// `ec2:Vpc` condition key, which the network interface, subnet and security
/// group resources of these actions carry), and the read-only lookups,
/// which take no resource.
pub const VPC_ENI_ACTIONS: [&str; 4] = [
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
];

pub fn vpc_eni_statements() -> [Value; 2] {
    [
        json!({"Effect": "Allow", "Action": VPC_ENI_ACTIONS,
            "Resource": sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:*"),
            "Condition": {"ArnEquals": {"ec2:Vpc": sub(&format!(
                "arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:vpc/${{{VPC}}}"))}}}),
        json!({"Effect": "Allow",
            "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
            "Resource": "*"}),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_interfaces_are_managed_in_the_stacks_vpc_only() {
        let [managed, _] = vpc_eni_statements();
        assert_eq!(
            managed["Condition"]["ArnEquals"]["ec2:Vpc"]["Fn::Sub"],
            "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${Vpc}"
        );
    }
}
