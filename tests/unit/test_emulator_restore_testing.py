"""The local emulator's AWS Backup restore testing (emulator/services/backup.py), in-process
against moto: a plan and an RDS selection as the data stack makes them, and each refusal, AWS's
at create time and the emulator's of what a weekly restore would fail on."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from emulator.services.backup import RESTORE_TESTING

REGION, ACCOUNT = "us-east-1", "123456789012"
PLAN = "clever_better_dev_database"


def _cfn() -> Any:
    return boto3.client("cloudformation", region_name=REGION)


def _network() -> tuple[str, str]:
    """A DB subnet group and a security group that exist before the stack (name, group id)."""
    ec2, rds = boto3.client("ec2", region_name=REGION), boto3.client("rds", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate("ab")
    ]
    rds.create_db_subnet_group(DBSubnetGroupName="isolated", DBSubnetGroupDescription="d", SubnetIds=subnets)
    group = ec2.create_security_group(GroupName="db", Description="d", VpcId=vpc)["GroupId"]
    return "isolated", group


def _template(group_id: str, *, trust: str = "backup.amazonaws.com", **overrides: Any) -> dict[str, Any]:
    selection: dict[str, Any] = {
        "RestoreTestingPlanName": {"Ref": "Plan"},
        "RestoreTestingSelectionName": "database",
        "ProtectedResourceType": "RDS",
        "ProtectedResourceArns": [f"arn:aws:rds:{REGION}:{ACCOUNT}:db:clever-better-dev"],
        "IamRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
        "ValidationWindowHours": 1,
        "RestoreMetadataOverrides": {
            "dbInstanceClass": "db.t4g.micro",
            "dbSubnetGroupName": "isolated",
            "vpcSecurityGroupIds": json.dumps([group_id]),
            "multiAz": "false",
        },
    }
    plan: dict[str, Any] = {
        "RestoreTestingPlanName": PLAN,
        "ScheduleExpression": "cron(0 6 ? * SAT *)",
        "StartWindowHours": 4,
        "RecoveryPointSelection": {
            "Algorithm": "LATEST_WITHIN_WINDOW",
            "IncludeVaults": [f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:clever-better-dev"],
            "RecoveryPointTypes": ["SNAPSHOT"],
            "SelectionWindowDays": 7,
        },
    }
    for key, value in overrides.items():
        where, _, field = key.partition("__")
        target = {"plan": plan, "selection": selection, "override": selection["RestoreMetadataOverrides"]}[
            where
        ]
        if value is None:
            target.pop(field, None)
        else:
            target[field] = value
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": trust},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Plan": {"Type": "AWS::Backup::RestoreTestingPlan", "Properties": plan},
            "Selection": {"Type": "AWS::Backup::RestoreTestingSelection", "Properties": selection},
        }
    }


def _deploy(template: dict[str, Any]) -> tuple[str, list[str]]:
    _cfn().create_stack(StackName="s", TemplateBody=json.dumps(template))
    (stack,) = _cfn().describe_stacks(StackName="s")["Stacks"]
    reasons = [
        e.get("ResourceStatusReason", "") for e in _cfn().describe_stack_events(StackName="s")["StackEvents"]
    ]
    return stack["StackStatus"], reasons


def test_the_data_stacks_restore_test_is_recorded(aws: None) -> None:
    _, group = _network()
    status, reasons = _deploy(_template(group))
    assert status == "CREATE_COMPLETE", reasons
    recorded = RESTORE_TESTING[(ACCOUNT, REGION)][PLAN]
    assert recorded["plan"]["ScheduleExpression"] == "cron(0 6 ? * SAT *)"
    assert recorded["selections"]["database"]["RestoreMetadataOverrides"]["dbSubnetGroupName"] == "isolated"
    _cfn().delete_stack(StackName="s")
    assert PLAN not in RESTORE_TESTING[(ACCOUNT, REGION)]


REFUSED: dict[str, tuple[Callable[[str], dict[str, Any]], str]] = {
    "a hyphen in the plan's name": (
        lambda g: _template(g, plan__RestoreTestingPlanName="clever-better-dev"),
        "RestoreTestingPlanName 'clever-better-dev': letters, digits, _; 1-50",
    ),
    "a five-field cron": (
        lambda g: _template(g, plan__ScheduleExpression="cron(0 6 * * 6)"),
        "ScheduleExpression 'cron(0 6 * * 6)' is not valid",
    ),
    "a start window beyond a week": (
        lambda g: _template(g, plan__StartWindowHours=169),
        "StartWindowHours 169 must be 1 to 168",
    ),
    "a role AWS Backup cannot assume": (
        lambda g: _template(g, trust="ecs-tasks.amazonaws.com"),
        "IAM Role cannot be assumed by AWS Backup",
    ),
    "no subnet group: the default VPC": (
        lambda g: _template(g, override__dbSubnetGroupName=None),
        "no dbSubnetGroupName override: AWS Backup would restore into the default VPC",
    ),
    "a subnet group that does not exist": (
        lambda g: _template(g, override__dbSubnetGroupName="nowhere"),
        "dbSubnetGroupName nowhere does not exist",
    ),
    "security groups not as a JSON array": (
        lambda g: _template(g, override__vpcSecurityGroupIds=g),
        "is not a JSON array of ids",
    ),
    "an override restore testing does not take": (
        lambda g: _template(g, override__deletionProtection="true"),
        "RestoreMetadataOverrides ['deletionProtection'] are not RDS restore-testing overrides",
    ),
    "a validation window of more than a week": (
        lambda g: _template(g, selection__ValidationWindowHours=200),
        "ValidationWindowHours 200 must be 1 to 168",
    ),
}


@pytest.mark.parametrize("build, reason", REFUSED.values(), ids=REFUSED.keys())
def test_refused_as_aws_refuses_it_or_as_its_restore_would_fail(
    aws: None, build: Callable[[str], dict[str, Any]], reason: str
) -> None:
    _, group = _network()
    status, reasons = _deploy(build(group))
    assert status == "ROLLBACK_COMPLETE", reasons
    assert any(reason in r for r in reasons), reasons
