"""clear-failed-creates against the emulator's CloudFormation (moto + our adapter, in-process):
a stack whose first creation failed is made deletable, so the same deploy command works again;
a healthy stack is never touched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from emulator.adapter import install
from ops.cli import main
from tests.support import offline_aws


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    offline_aws(monkeypatch)
    install()
    with mock_aws():
        boto3.client("logs", region_name="us-east-1").create_log_group(logGroupName="/taken")
        boto3.client("logs", region_name="us-west-2").create_log_group(logGroupName="/taken")
        yield


def _cfn(region: str = "us-east-1") -> Any:
    return boto3.client("cloudformation", region_name=region)


def _failing(extra: dict[str, Any] | None = None) -> str:
    """A template whose creation fails after `extra` (and a RetainExceptOnCreate group) exist."""
    resources = {
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": "/ecs/clever-better-prod/bot"},
            "DeletionPolicy": "RetainExceptOnCreate",
        },
        **(extra or {}),
    }
    resources["Broken"] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": "/taken"},
        "DependsOn": sorted(k for k in resources if k != "Broken"),
    }
    return json.dumps({"Resources": resources})


def _protected_balancer() -> dict[str, Any]:
    subnets = [
        s["SubnetId"] for s in boto3.client("ec2", region_name="us-east-1").describe_subnets()["Subnets"]
    ]
    return {
        "Balancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {
                "Name": "clever-better-prod",
                "Subnets": subnets[:2],
                "LoadBalancerAttributes": [{"Key": "deletion_protection.enabled", "Value": "true"}],
            },
        }
    }


def _stack(name: str, region: str = "us-east-1") -> dict[str, Any] | None:
    try:
        return dict(_cfn(region).describe_stacks(StackName=name)["Stacks"][0])
    except ClientError:
        return None


def run(*argv: str) -> int:
    return main(["clear-failed-creates", "--env", "production", *argv])


def test_nothing_to_clear(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    healthy = json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}})
    _cfn().create_stack(
        StackName="clever-better-prod-data", TemplateBody=healthy, EnableTerminationProtection=True
    )
    assert run() == 0
    assert capsys.readouterr().out == "no stack of production is left from a failed creation\n"
    assert _stack("clever-better-prod-data") == {
        **_stack("clever-better-prod-data"),
        "EnableTerminationProtection": True,
    }  # type: ignore[dict-item]


def test_rolled_back_protected_stack_becomes_deletable(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    _cfn().create_stack(
        StackName="clever-better-prod-data", TemplateBody=_failing(), EnableTerminationProtection=True
    )
    _cfn("us-west-2").create_stack(
        StackName="clever-better-prod-dr-data", TemplateBody=_failing(), EnableTerminationProtection=True
    )
    assert _stack("clever-better-prod-data")["StackStatus"] == "ROLLBACK_COMPLETE"  # type: ignore[index]
    with pytest.raises(ClientError, match="TerminationProtection is enabled"):
        _cfn().delete_stack(StackName="clever-better-prod-data")  # what the CDK CLI would meet

    assert run() == 0
    assert capsys.readouterr().out.splitlines() == [
        "clever-better-prod-data: its first creation failed and was rolled back; the deploy recreates it",
        "+ aws cloudformation update-termination-protection --stack-name clever-better-prod-data "
        "--no-enable-termination-protection",
        "clever-better-prod-dr-data: its first creation failed and was rolled back; the deploy recreates it",
        "+ aws cloudformation update-termination-protection --stack-name clever-better-prod-dr-data "
        "--no-enable-termination-protection --region us-west-2",
    ]
    for name, region in (
        ("clever-better-prod-data", "us-east-1"),
        ("clever-better-prod-dr-data", "us-west-2"),
    ):
        assert _stack(name, region)["EnableTerminationProtection"] is False  # type: ignore[index]
        _cfn(region).delete_stack(StackName=name)  # now the CLI can, and recreates it


def test_failed_rollback_is_deleted_with_its_load_balancer(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _cfn().create_stack(StackName="clever-better-prod-services", TemplateBody=_failing(_protected_balancer()))
    assert _stack("clever-better-prod-services")["StackStatus"] == "ROLLBACK_FAILED"  # type: ignore[index]

    assert run("--dry-run") == 0
    dry = capsys.readouterr().out.splitlines()
    assert dry[0] == (
        "clever-better-prod-services: its first creation failed and could not roll back; "
        "deleting it for a retry"
    )
    assert dry[1].startswith(
        "[dry-run] aws elbv2 modify-load-balancer-attributes --load-balancer-arn arn:aws:"
    )
    assert dry[1].endswith(' --attributes \'[{"Key":"deletion_protection.enabled","Value":"false"}]\'')
    assert dry[2:] == ["[dry-run] aws cloudformation delete-stack --stack-name clever-better-prod-services"]
    assert _stack("clever-better-prod-services")["StackStatus"] == "ROLLBACK_FAILED"  # type: ignore[index]

    assert run() == 0
    assert capsys.readouterr().out.splitlines()[-1] == "clever-better-prod-services: deleted"
    assert _stack("clever-better-prod-services") is None
    balancers = boto3.client("elbv2", region_name="us-east-1").describe_load_balancers()["LoadBalancers"]
    assert balancers == []


def test_failed_services_create_leaves_nothing_for_the_retry_to_meet(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shape of the services stack: a protected ALB logging into a named bucket (kept by
    RetainExceptOnCreate on deletion, and holding ELB's test file). After the command, the
    same creation (fixed) succeeds: no AlreadyExists."""
    resources = {
        "LogsBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": "clever-better-prod-alb-logs-123456789012-us-east-1"},
            "DeletionPolicy": "RetainExceptOnCreate",
        },
        **_protected_balancer(),
    }
    resources["Balancer"]["Properties"]["LoadBalancerAttributes"] += [
        {"Key": "access_logs.s3.enabled", "Value": "true"},
        {"Key": "access_logs.s3.bucket", "Value": {"Ref": "LogsBucket"}},
    ]
    _cfn().create_stack(StackName="clever-better-prod-services", TemplateBody=_failing(resources))
    assert _stack("clever-better-prod-services")["StackStatus"] == "ROLLBACK_FAILED"  # type: ignore[index]
    s3 = boto3.client("s3", region_name="us-east-1")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [
        "clever-better-prod-alb-logs-123456789012-us-east-1"
    ]

    assert run() == 0
    out = capsys.readouterr().out
    assert "+ aws s3api delete-bucket --bucket clever-better-prod-alb-logs-123456789012-us-east-1" in out
    assert _stack("clever-better-prod-services") is None
    assert s3.list_buckets()["Buckets"] == []
    assert [
        g["logGroupName"]
        for g in boto3.client("logs", region_name="us-east-1").describe_log_groups()["logGroups"]
    ] == ["/taken"]
    # The retry of the same (now working) creation meets nothing left behind.
    boto3.client("logs", region_name="us-east-1").delete_log_group(logGroupName="/taken")
    _cfn().create_stack(StackName="clever-better-prod-services", TemplateBody=_failing(resources))
    assert _stack("clever-better-prod-services")["StackStatus"] == "CREATE_COMPLETE"  # type: ignore[index]


def test_failed_data_create_lifts_the_database_protection(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    database = {
        "Database": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                "DBInstanceIdentifier": "clever-better-prod",
                "DBInstanceClass": "db.r7g.large",
                "Engine": "postgres",
                "MasterUsername": "clever_admin",
                "MasterUserPassword": "not-a-real-password",
                "AllocatedStorage": "100",
                "DeletionProtection": True,
            },
            "DeletionPolicy": "Snapshot",
        }
    }
    _cfn().create_stack(
        StackName="clever-better-prod-data", TemplateBody=_failing(database), EnableTerminationProtection=True
    )
    assert _stack("clever-better-prod-data")["StackStatus"] == "ROLLBACK_FAILED"  # type: ignore[index]
    assert run() == 0
    out = capsys.readouterr().out
    assert (
        "+ aws rds modify-db-instance --db-instance-identifier clever-better-prod --no-deletion-protection "
        "--apply-immediately"
    ) in out
    assert _stack("clever-better-prod-data") is None
    assert boto3.client("rds", region_name="us-east-1").describe_db_instances()["DBInstances"] == []
