"""Fine-grained assertions on the network stack of every environment."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

import config
from tests.support import STACKS, resources, stacks_of

CONFIGS = {c.name: c for c in config.load()}
PROD = CONFIGS["production"]
assert PROD.disaster_recovery is not None
NETWORKS = {
    "clever-better-dev-network": CONFIGS["dev"].network,
    "clever-better-staging-network": CONFIGS["staging"].network,
    "clever-better-prod-network": PROD.network,
    "clever-better-prod-dr-network": PROD.disaster_recovery.network,
}
# README's configuration reference (network.flow_log_retention_days), literally.
FLOW_LOG_RETENTION_DAYS = {
    "clever-better-dev-network": 14,
    "clever-better-staging-network": 30,
    "clever-better-prod-network": 365,
    "clever-better-prod-dr-network": 365,
}


@pytest.fixture(params=sorted(stacks_of("network")), scope="module")
def stack(request: pytest.FixtureRequest, templates: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    return request.param, templates[request.param]


def test_every_environment_is_synthesized(templates: dict[str, dict[str, Any]]) -> None:
    assert sorted(templates) == sorted(STACKS)


def test_vpc_cidr_and_dns(stack: tuple[str, dict[str, Any]]) -> None:
    name, template = stack
    Template.from_json(template).has_resource_properties(
        "AWS::EC2::VPC",
        {"CidrBlock": NETWORKS[name].vpc_cidr, "EnableDnsHostnames": True, "EnableDnsSupport": True},
    )


# Literal: the zones each network is pinned to.
ZONE_IDS = {
    "clever-better-dev-network": ("use1-az1", "use1-az2"),
    "clever-better-staging-network": ("use1-az1", "use1-az2"),
    "clever-better-prod-network": ("use1-az1", "use1-az2", "use1-az4"),
    "clever-better-prod-dr-network": ("usw2-az1", "usw2-az2", "usw2-az3"),
}


def test_three_subnet_tiers_per_az(stack: tuple[str, dict[str, Any]]) -> None:
    name, template = stack
    net = NETWORKS[name]
    subnets = resources(template, "AWS::EC2::Subnet").values()
    assert len(subnets) == 3 * net.az_count
    # Pinned by zone ID (the same physical zone in every account), never by a zone name;
    # use1-az3 (no RDS Proxy there) is not among them.
    assert not any("AvailabilityZone" in s["Properties"] for s in subnets)
    zones = sorted(s["Properties"]["AvailabilityZoneId"] for s in subnets)
    assert zones == sorted(3 * list(ZONE_IDS[name]))
    tiers: dict[str, int] = {}
    for subnet in subnets:
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        tiers[tags["aws-cdk:subnet-type"]] = tiers.get(tags["aws-cdk:subnet-type"], 0) + 1
        # Nothing gets a public IP just by launching in a subnet.
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    assert tiers == {"Public": net.az_count, "Private": net.az_count, "Isolated": net.az_count}


def test_nat_gateways_as_configured(stack: tuple[str, dict[str, Any]]) -> None:
    name, template = stack
    assert len(resources(template, "AWS::EC2::NatGateway")) == NETWORKS[name].nat_gateways
    # Every private subnet has a default route through a NAT gateway; isolated ones have none.
    nat_routes = [
        r for r in resources(template, "AWS::EC2::Route").values() if "NatGatewayId" in r["Properties"]
    ]
    assert len(nat_routes) == NETWORKS[name].az_count


def test_flow_logs_encrypted_with_retention(stack: tuple[str, dict[str, Any]]) -> None:
    name, template = stack
    t = Template.from_json(template)
    t.has_resource_properties(
        "AWS::EC2::FlowLog",
        {
            "ResourceType": "VPC",
            "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
            "ResourceId": {"Ref": Match.string_like_regexp("^NetworkVpc")},
        },
    )
    prefix = name.removesuffix("-network").removesuffix("-dr")
    t.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": f"/vpc/{prefix}/flow-logs",
            "RetentionInDays": FLOW_LOG_RETENTION_DAYS[name],
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^NetworkFlowLogKey"), "Arn"]},
        },
    )
    t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    # Only CloudWatch Logs, and only for this log group, may use the key.
    key_policy = next(iter(resources(template, "AWS::KMS::Key").values()))["Properties"]["KeyPolicy"]
    logs_statements = [
        s
        for s in key_policy["Statement"]
        if "Service" in s["Principal"] and "logs." in s["Principal"]["Service"]
    ]
    assert len(logs_statements) == 1
    assert "kms:EncryptionContext:aws:logs:arn" in logs_statements[0]["Condition"]["ArnLike"]


def test_flow_log_role_is_least_privilege(stack: tuple[str, dict[str, Any]]) -> None:
    _, template = stack
    (policy,) = resources(template, "AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    (log_group_id,) = resources(template, "AWS::Logs::LogGroup")
    assert statement["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    assert not resources(template, "AWS::IAM::Policy"), "no inline policies"
    Template.from_json(template).has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Condition": {"StringEquals": {"aws:SourceAccount": Match.any_value()}},
                        }
                    )
                ]
            }
        },
    )


# README's configuration reference (network.interface_endpoints), literally: the private
# subnets each interface endpoint sits in. dev and the DR VPC: the first zone only.
ENDPOINT_SUBNETS = {
    "clever-better-dev-network": ["NetworkVpcPrivateSubnet1Subnet6DD86AE6"],
    "clever-better-staging-network": [
        "NetworkVpcPrivateSubnet1Subnet6DD86AE6",
        "NetworkVpcPrivateSubnet2Subnet1BDBE877",
    ],
    "clever-better-prod-network": [
        "NetworkVpcPrivateSubnet1Subnet6DD86AE6",
        "NetworkVpcPrivateSubnet2Subnet1BDBE877",
        "NetworkVpcPrivateSubnet3Subnet8ABFAF5C",
    ],
    "clever-better-prod-dr-network": ["NetworkVpcPrivateSubnet1Subnet6DD86AE6"],
}


def test_endpoints(stack: tuple[str, dict[str, Any]]) -> None:
    name, template = stack
    endpoints = resources(template, "AWS::EC2::VPCEndpoint").values()
    gateway = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Gateway"]
    interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
    assert len(gateway) == 1
    assert "s3" in str(gateway[0]["Properties"]["ServiceName"])
    subnets = ENDPOINT_SUBNETS[name]
    assert len(interface) == (9 if subnets else 0)
    if not subnets:
        return
    services = sorted(str(e["Properties"]["ServiceName"]) for e in interface)
    _, region = STACKS[name]
    expected = sorted(
        f"com.amazonaws.{region}.{s}"
        for s in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "kms", "sts", "monitoring", "ecs")
    )
    assert services == expected
    for endpoint in interface:
        props = endpoint["Properties"]
        assert props["PrivateDnsEnabled"] is True
        assert [ref["Ref"] for ref in props["SubnetIds"]] == subnets
    # The first private subnet is in the first configured zone.
    first = template["Resources"][subnets[0]]["Properties"]["AvailabilityZoneId"]
    assert first == ZONE_IDS[name][0]


@pytest.mark.parametrize(
    "prefix, cidr",
    [
        ("clever-better-dev", "10.0.0.0/16"),
        ("clever-better-staging", "10.10.0.0/16"),
        ("clever-better-prod", "10.20.0.0/16"),
        # The DR pilot light: the standby's proxy and the services' hooks.
        ("clever-better-prod-dr", "10.30.0.0/16"),
    ],
)
def test_each_vpc_holds_consumers_that_only_reach_the_endpoints(
    templates: dict[str, dict[str, Any]], prefix: str, cidr: str
) -> None:
    """Why no VPC of ours may go without interface endpoints (config.model._check_endpoints_reachable):
    the rotation functions', RDS Proxy's and the deployment hooks' security groups send HTTPS
    (443) only to the VPC's range, never out through NAT."""

    def https_out(template: dict[str, Any], description: str) -> list[Any]:
        (group,) = [
            g["Properties"]
            for g in resources(template, "AWS::EC2::SecurityGroup").values()
            if g["Properties"]["GroupDescription"] == description
        ]
        return [r.get("CidrIp") for r in group["SecurityGroupEgress"] if r["FromPort"] == 443]

    data, services = templates[f"{prefix}-data"], templates[f"{prefix}-services"]
    name = prefix.removesuffix("-dr")  # the DR region's resources have the primary's names
    assert https_out(data, f"Clients of the {name} database (services, migrations, rotation)") == [cidr]
    assert https_out(data, f"RDS Proxy of {name}") == [cidr]
    vpc_range = {
        "Fn::ImportValue": f"{prefix}-network:ExportsOutputFnGetAttNetworkVpc7FB7348FCidrBlock4A3584D8"
    }
    for service in ("bot", "ml-service"):
        description = f"{name}-{service} deployment hook: test listener and VPC endpoints"
        assert https_out(services, description) == [vpc_range]


def test_endpoint_security_group_only_https_from_vpc(stack: tuple[str, dict[str, Any]]) -> None:
    name, template = stack
    groups = resources(template, "AWS::EC2::SecurityGroup")
    if not ENDPOINT_SUBNETS[name]:
        assert groups == {}  # no endpoints, no group for them
        return
    (group,) = groups.values()
    assert group["Properties"]["SecurityGroupIngress"] == [
        {
            "CidrIp": NETWORKS[name].vpc_cidr,
            "Description": "HTTPS from the VPC",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    # allow_all_outbound=False renders CDK's "disallow all traffic" placeholder egress rule.
    assert [r["CidrIp"] for r in group["Properties"]["SecurityGroupEgress"]] == ["255.255.255.255/32"]


def test_default_security_group_locked_down(stack: tuple[str, dict[str, Any]]) -> None:
    _, template = stack
    Template.from_json(template).has_resource_properties(
        "Custom::VpcRestrictDefaultSG",
        {
            "DefaultSecurityGroupId": {
                "Fn::GetAtt": [Match.string_like_regexp("^NetworkVpc"), "DefaultSecurityGroup"]
            }
        },
    )


def test_outputs_for_operators(stack: tuple[str, dict[str, Any]]) -> None:
    name, template = stack
    named = sorted(k for k in template["Outputs"] if not k.startswith("ExportsOutput"))
    assert named == [
        "FlowLogGroupName",
        "IsolatedSubnetIds",
        "PrivateSubnetIds",
        "PublicSubnetIds",
        "VpcCidr",
        "VpcId",
    ]
    # The rest are the CDK's strong cross-stack references: exports named after this stack.
    exports = [o["Export"]["Name"] for k, o in template["Outputs"].items() if k not in named]
    assert all(export.startswith(f"{name}:ExportsOutput") for export in exports)
    assert not any("Export" in template["Outputs"][k] for k in named)


def test_common_tags(stack: tuple[str, dict[str, Any]]) -> None:
    name, template = stack
    stage, _ = STACKS[name]
    (vpc,) = resources(template, "AWS::EC2::VPC").values()
    tags = {t["Key"]: t["Value"] for t in vpc["Properties"]["Tags"]}
    assert tags["Project"] == "clever-better"
    assert tags["Environment"] == stage.removesuffix("-dr")
    assert tags["Unit"] == "network"
    assert tags["Name"] == name.removesuffix("-network").removesuffix("-dr")
