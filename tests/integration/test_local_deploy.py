"""`cdk deploy` of dev into a fresh local emulator with the real CDK CLI, checked through boto3.

The same code path as `make deploy-local` (emulator/local.py), on its own port and state folder.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from config import load
from emulator import local
from tests.support import synth, template_files

pytestmark = pytest.mark.integration
STACK = "clever-better-dev-network"
DEV = load(("dev",))[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def deployed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, int, dict[str, dict[str, str]]]]:
    state = tmp_path_factory.mktemp("local")
    port = _free_port()
    try:
        outputs = local.deploy(state, port)
        yield state, port, outputs
    finally:
        local.stop(state)


@pytest.fixture(scope="module")
def clients(deployed: tuple[Path, int, Any]) -> dict[str, Any]:
    _, port, _ = deployed
    env = local.aws_env(port, {})
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=local.REGION,
    )
    return {
        name: session.client(name, endpoint_url=local.endpoint(port))
        for name in ("cloudformation", "ec2", "logs", "kms")
    }


def test_stack_complete_with_outputs(deployed: Any, clients: dict[str, Any]) -> None:
    _, _, outputs = deployed
    (stack,) = clients["cloudformation"].describe_stacks(StackName=STACK)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    described = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert described == outputs[STACK]
    assert set(described) == {
        "VpcId",
        "VpcCidr",
        "PublicSubnetIds",
        "PrivateSubnetIds",
        "IsolatedSubnetIds",
        "FlowLogGroupName",
    }


def test_vpc_and_subnets_as_configured(deployed: Any, clients: dict[str, Any]) -> None:
    outputs = deployed[2][STACK]
    ec2 = clients["ec2"]
    (vpc,) = ec2.describe_vpcs(VpcIds=[outputs["VpcId"]])["Vpcs"]
    assert vpc["CidrBlock"] == DEV.network.vpc_cidr == outputs["VpcCidr"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert len(subnets) == 3 * DEV.network.az_count
    for tier in ("Public", "Private", "Isolated"):
        ids = set(outputs[f"{tier}SubnetIds"].split(","))
        tier_subnets = [s for s in subnets if s["SubnetId"] in ids]
        assert len(tier_subnets) == DEV.network.az_count
        assert {s["AvailabilityZone"] for s in tier_subnets} == {"us-east-1a", "us-east-1b"}
        assert not any(s["MapPublicIpOnLaunch"] for s in tier_subnets)
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NatGateways"]
    assert len(nats) == DEV.network.nat_gateways


def test_endpoints(deployed: Any, clients: dict[str, Any]) -> None:
    vpc_id = deployed[2][STACK]["VpcId"]
    endpoints = clients["ec2"].describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "VpcEndpoints"
    ]
    by_type: dict[str, list[str]] = {}
    for endpoint in endpoints:
        by_type.setdefault(endpoint["VpcEndpointType"], []).append(endpoint["ServiceName"].rsplit(".", 1)[-1])
    assert by_type["Gateway"] == ["s3"]
    suffixes = sorted(
        e["ServiceName"].removeprefix("com.amazonaws.us-east-1.")
        for e in endpoints
        if e["VpcEndpointType"] == "Interface"
    )
    assert suffixes == sorted(
        ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "kms", "sts", "monitoring"]
    )


def test_flow_logs_to_encrypted_group(deployed: Any, clients: dict[str, Any]) -> None:
    outputs = deployed[2][STACK]
    (flow_log,) = clients["ec2"].describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [outputs["VpcId"]]}]
    )["FlowLogs"]
    assert flow_log["LogGroupName"] == outputs["FlowLogGroupName"] == "/vpc/clever-better-dev/flow-logs"
    assert flow_log["TrafficType"] == "ALL"
    (group,) = clients["logs"].describe_log_groups(logGroupNamePrefix=outputs["FlowLogGroupName"])[
        "logGroups"
    ]
    assert group["retentionInDays"] == DEV.network.flow_log_retention_days
    key = clients["kms"].describe_key(KeyId=group["kmsKeyId"])["KeyMetadata"]
    assert key["Enabled"]
    assert clients["kms"].get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]


def test_default_security_group_has_no_rules(deployed: Any, clients: dict[str, Any]) -> None:
    vpc_id = deployed[2][STACK]["VpcId"]
    (default,) = clients["ec2"].describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []


def test_second_deploy_changes_nothing(deployed: Any, clients: dict[str, Any]) -> None:
    state, port, outputs = deployed
    cfn = clients["cloudformation"]
    events_before = cfn.describe_stack_events(StackName=STACK)["StackEvents"]
    assert local.deploy(state, port) == outputs
    events_after = cfn.describe_stack_events(StackName=STACK)["StackEvents"]
    assert len(events_after) == len(events_before), "a no-change deploy must not update the stack"


def test_cli_deploys_exactly_what_the_tests_synthesize(deployed: Any, tmp_path: Path) -> None:
    """One way of synthesizing: the CLI's templates equal the in-process ones, byte for byte."""
    state = deployed[0]
    synth(tmp_path, {"environments": "dev", "dev_account": local.ACCOUNT})
    assert template_files(tmp_path) == template_files(state / "cdk.out")
