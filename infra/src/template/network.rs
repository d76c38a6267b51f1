//! A VPC over two zones: public subnets with one NAT gateway, private subnets
//! for the brokers, the connector and the topic-creator function, and the
//! security groups between them. One NAT (not one per zone): cheaper than
//! the four interface endpoints (Kinesis, Lambda, STS, MSK) in two zones the
//! private resources would otherwise need, at the cost of zone redundancy
//! for outbound calls, which a demo pipeline can afford.

use serde_json::json;

use super::model::{az, get_att, r#ref, sub, tags, Resource, Template};

pub const VPC: &str = "Vpc";
pub const PRIVATE_SUBNETS: [&str; 2] = ["PrivateSubnetA", "PrivateSubnetB"];
pub const BROKER_SG: &str = "BrokerSecurityGroup";
pub const CLIENT_SG: &str = "ClientSecurityGroup";
pub const PRIVATE_ROUTE_TABLE: &str = "PrivateRouteTable";
pub const S3_ENDPOINT: &str = "S3GatewayEndpoint";
/// MSK's port for TLS with IAM access control.
pub const BROKER_PORT: u16 = 9098;
/// What an in-VPC function needs before it can reach anything outside the
/// VPC (CloudFormation's response URL, AWS APIs): the NAT route and both
/// private subnets' route-table associations. Resources used by such a
/// function depend on these, so a stack delete removes them last.
pub const PRIVATE_EGRESS: [&str; 3] = ["PrivateDefaultRoute", "PrivateSubnetARoutes", "PrivateSubnetBRoutes"];

pub fn add(t: &mut Template) {
    t.add(
        VPC,
        Resource::new(
            "AWS::EC2::VPC",
            json!({
        "CidrBlock": "10.40.0.0/16", "EnableDnsSupport": true, "EnableDnsHostnames": true,
        "Tags": tags(sub("${AWS::StackName}-vpc"))}),
        ),
    );
    t.add(
        "InternetGateway",
        Resource::new("AWS::EC2::InternetGateway", json!({"Tags": tags(sub("${AWS::StackName}-igw"))})),
    );
    t.add(
        "GatewayAttachment",
        Resource::new(
            "AWS::EC2::VPCGatewayAttachment",
            json!({"VpcId": r#ref(VPC), "InternetGatewayId": r#ref("InternetGateway")}),
        ),
    );

    t.add(
        "PublicRouteTable",
        Resource::new(
            "AWS::EC2::RouteTable",
            json!({"VpcId": r#ref(VPC), "Tags": tags(sub("${AWS::StackName}-public"))}),
        ),
    );
    t.add("PublicDefaultRoute", Resource::new("AWS::EC2::Route", json!({
        "RouteTableId": r#ref("PublicRouteTable"), "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": r#ref("InternetGateway")}))
        .depends_on("GatewayAttachment"));
    t.add(
        PRIVATE_ROUTE_TABLE,
        Resource::new(
            "AWS::EC2::RouteTable",
            json!({"VpcId": r#ref(VPC), "Tags": tags(sub("${AWS::StackName}-private"))}),
        ),
    );
    t.add("PrivateDefaultRoute", Resource::new("AWS::EC2::Route", json!({
        "RouteTableId": r#ref("PrivateRouteTable"), "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": r#ref("NatGateway")})));

    for (i, zone) in ["A", "B"].iter().enumerate() {
        let public = format!("PublicSubnet{zone}");
        t.add(
            &public,
            Resource::new(
                "AWS::EC2::Subnet",
                json!({
            "VpcId": r#ref(VPC), "AvailabilityZone": az(i), "CidrBlock": format!("10.40.{}.0/24", i),
            "MapPublicIpOnLaunch": false, "Tags": tags(sub(&format!("${{AWS::StackName}}-public-{zone}")))}),
            ),
        );
        t.add(
            &format!("{public}Routes"),
            Resource::new(
                "AWS::EC2::SubnetRouteTableAssociation",
                json!({"SubnetId": r#ref(&public), "RouteTableId": r#ref("PublicRouteTable")}),
            ),
        );
        let private = PRIVATE_SUBNETS[i];
        t.add(
            private,
            Resource::new(
                "AWS::EC2::Subnet",
                json!({
            "VpcId": r#ref(VPC), "AvailabilityZone": az(i), "CidrBlock": format!("10.40.{}.0/24", 10 + i),
            "MapPublicIpOnLaunch": false, "Tags": tags(sub(&format!("${{AWS::StackName}}-private-{zone}")))}),
            ),
        );
        t.add(
            &format!("{private}Routes"),
            Resource::new(
                "AWS::EC2::SubnetRouteTableAssociation",
                json!({"SubnetId": r#ref(private), "RouteTableId": r#ref("PrivateRouteTable")}),
            ),
        );
    }
    t.add("NatAddress", Resource::new("AWS::EC2::EIP", json!({"Domain": "vpc"})).depends_on("GatewayAttachment"));
    t.add(
        "NatGateway",
        Resource::new(
            "AWS::EC2::NatGateway",
            json!({
        "AllocationId": get_att("NatAddress", "AllocationId"), "SubnetId": r#ref("PublicSubnetA"),
        "Tags": tags(sub("${AWS::StackName}-nat"))}),
        ),
    );

    t.add(
        CLIENT_SG,
        Resource::new(
            "AWS::EC2::SecurityGroup",
            json!({
        "GroupDescription": "Kafka clients: the connector, the topic creator and the bastion",
        "VpcId": r#ref(VPC),
        "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0",
            "Description": "AWS APIs (Kinesis, MSK, STS, CloudWatch) through the NAT gateway"}],
        "Tags": tags(sub("${AWS::StackName}-clients"))}),
        ),
    );
    t.add("ClientToBrokers", broker_port_rule(Direction::Egress, CLIENT_SG, BROKER_SG, "Kafka over TLS with IAM auth"));
    t.add(
        BROKER_SG,
        Resource::new(
            "AWS::EC2::SecurityGroup",
            json!({
        "GroupDescription": "MSK brokers: IAM-authenticated TLS from the clients only",
        "VpcId": r#ref(VPC),
        "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": BROKER_PORT, "ToPort": BROKER_PORT,
            "SourceSecurityGroupId": r#ref(CLIENT_SG), "Description": "Kafka over TLS with IAM auth"}],
        // The event source mapping's pollers use this group (the cluster's),
        // not the function's: AWS's Lambda guide ("Configuring your Amazon
        // MSK cluster and Amazon VPC network for Lambda", with-msk-cluster-
        // network) requires outbound 443 to all destinations (STS, Lambda, and
        // the on-failure destination's endpoint) and outbound on the broker
        // port to this group itself.
        "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0",
            "Description": "event source mapping pollers: AWS APIs (STS, Lambda, S3 on-failure destination)"}],
        "Tags": tags(sub("${AWS::StackName}-brokers"))}),
        ),
    );
    // ...and inbound on the broker port from this group itself.
    t.add(
        "BrokersFromBrokers",
        broker_port_rule(Direction::Ingress, BROKER_SG, BROKER_SG, "Lambda event source mapping pollers"),
    );
    t.add(
        "BrokersToBrokers",
        broker_port_rule(Direction::Egress, BROKER_SG, BROKER_SG, "event source mapping pollers to the brokers"),
    );
    // The mapping writes discarded batches to the S3 on-failure destination
    // from inside this VPC: AWS's "Capturing discarded batches for Amazon MSK
    // and self-managed Apache Kafka" requires an endpoint for the
    // destination's service in the cluster's VPC. A gateway endpoint costs
    // nothing per hour.
    t.add(
        S3_ENDPOINT,
        Resource::new(
            "AWS::EC2::VPCEndpoint",
            json!({
        "VpcId": r#ref(VPC), "VpcEndpointType": "Gateway",
        "ServiceName": sub("com.amazonaws.${AWS::Region}.s3"),
        "RouteTableIds": [r#ref(PRIVATE_ROUTE_TABLE)]}),
        ),
    );

    t.add(
        "FlowLogGroup",
        Resource::new(
            "AWS::Logs::LogGroup",
            json!({
        "LogGroupName": sub("/${AWS::StackName}/vpc-flow-logs"), "RetentionInDays": r#ref("LogRetentionDays")}),
        )
        .disposable()
        .skip_check(
            "CKV_AWS_158",
            "CloudWatch Logs encrypts at rest with its own key; a customer KMS key adds cost to a demo",
        ),
    );
    t.add(
        "FlowLogRole",
        Resource::new(
            "AWS::IAM::Role",
            json!({
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "write-flow-logs", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": get_att("FlowLogGroup", "Arn")}]}}]}),
        ),
    );
    t.add(
        "FlowLog",
        Resource::new(
            "AWS::EC2::FlowLog",
            json!({
        "ResourceId": r#ref(VPC), "ResourceType": "VPC", "TrafficType": "REJECT",
        "LogDestinationType": "cloud-watch-logs", "LogGroupName": r#ref("FlowLogGroup"),
        "DeliverLogsPermissionArn": get_att("FlowLogRole", "Arn")}),
        ),
    );
}

enum Direction {
    Ingress,
    Egress,
}

/// A security-group rule of its own (so a group can name itself) on the
/// broker port, between `group` and the `peer` group.
fn broker_port_rule(direction: Direction, group: &str, peer: &str, description: &str) -> Resource {
    let (kind, peer_key) = match direction {
        Direction::Ingress => ("AWS::EC2::SecurityGroupIngress", "SourceSecurityGroupId"),
        Direction::Egress => ("AWS::EC2::SecurityGroupEgress", "DestinationSecurityGroupId"),
    };
    let mut rule = json!({"GroupId": r#ref(group), "IpProtocol": "tcp", "FromPort": BROKER_PORT, "ToPort": BROKER_PORT,
        "Description": description});
    if let Some(fields) = rule.as_object_mut() {
        fields.insert(peer_key.to_owned(), r#ref(peer));
    }
    Resource::new(kind, rule)
}
