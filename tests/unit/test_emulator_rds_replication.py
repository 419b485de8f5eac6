"""The emulator's cross-region automated backups (emulator/services/rds.py): listed in the DR
region, restorable there, and refused as RDS refuses a restore."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from emulator.adapter import install
from tests.support import offline_aws

KEY = "arn:aws:kms:us-west-2:123456789012:key/dr"


@pytest.fixture
def regions(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    offline_aws(monkeypatch)
    install()
    with mock_aws():
        east, west = (
            boto3.client("rds", region_name="us-east-1"),
            boto3.client("rds", region_name="us-west-2"),
        )
        east.create_db_instance(
            DBInstanceIdentifier="clever-better-prod",
            DBInstanceClass="db.r7g.large",
            Engine="postgres",
            MasterUsername="clever_admin",
            MasterUserPassword="not-a-real-password",
            AllocatedStorage=100,
            BackupRetentionPeriod=30,
        )
        ec2 = boto3.client("ec2", region_name="us-west-2")
        vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
        other = ec2.create_vpc(CidrBlock="10.31.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"us-west-2{z}")[
                "Subnet"
            ]["SubnetId"]
            for i, z in enumerate("ab")
        ]
        west.create_db_subnet_group(
            DBSubnetGroupName="standby", DBSubnetGroupDescription="s", SubnetIds=subnets
        )
        groups = {
            name: ec2.create_security_group(GroupName=name, Description=name, VpcId=v)["GroupId"]
            for name, v in (("db", vpc), ("elsewhere", other))
        }
        yield {"east": east, "west": west, "groups": groups}


def _replicate(regions: dict[str, Any]) -> dict[str, Any]:
    arn = regions["east"].describe_db_instances()["DBInstances"][0]["DBInstanceArn"]
    regions["west"].start_db_instance_automated_backups_replication(SourceDBInstanceArn=arn, KmsKeyId=KEY)
    (backup,) = regions["west"].describe_db_instance_automated_backups(
        DBInstanceIdentifier="clever-better-prod"
    )["DBInstanceAutomatedBackups"]
    return dict(backup)


def _restore(regions: dict[str, Any], arn: str, **params: Any) -> dict[str, Any]:
    call = {
        "SourceDBInstanceAutomatedBackupsArn": arn,
        "TargetDBInstanceIdentifier": "clever-better-prod",
        "DBSubnetGroupName": "standby",
        "VpcSecurityGroupIds": [regions["groups"]["db"]],
        "UseLatestRestorableTime": True,
    } | params
    return dict(
        regions["west"].restore_db_instance_to_point_in_time(
            **{k: v for k, v in call.items() if v is not None}
        )["DBInstance"]
    )


def _refusal(regions: dict[str, Any], arn: str, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        _restore(regions, arn, **params)
    error = raised.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_nothing_is_listed_until_backups_replicate(regions: dict[str, Any]) -> None:
    assert regions["west"].describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"] == []


def test_a_replicated_backup_is_listed_with_its_window_and_key(regions: dict[str, Any]) -> None:
    backup = _replicate(regions)
    assert backup["Region"] == "us-east-1" and backup["Status"] == "replicating"
    assert backup["KmsKeyId"] == KEY and backup["Encrypted"] is True
    assert backup["DBInstanceAutomatedBackupsArn"].startswith(
        "arn:aws:rds:us-west-2:123456789012:auto-backup:ab-"
    )
    window = backup["RestoreWindow"]
    assert window["EarliestTime"] <= window["LatestTime"] <= datetime.now(UTC)


def test_a_restore_lands_in_the_standby_encrypted_with_the_dr_key(regions: dict[str, Any]) -> None:
    arn = _replicate(regions)["DBInstanceAutomatedBackupsArn"]
    restored = _restore(regions, arn, MultiAZ=True, Tags=[{"Key": "Purpose", "Value": "dr-failover"}])
    assert restored["DBInstanceArn"] == "arn:aws:rds:us-west-2:123456789012:db:clever-better-prod"
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == "standby" and restored["KmsKeyId"] == KEY
    assert restored["MultiAZ"] is True and restored["TagList"] == [{"Key": "Purpose", "Value": "dr-failover"}]
    assert restored["Engine"] == "postgres" and restored["MasterUsername"] == "clever_admin"


@pytest.mark.parametrize(
    "params, code, message",
    [
        (
            {"DBSubnetGroupName": None},
            "InvalidParameterValue",
            "No DBSubnetGroupName: RDS would restore into the default VPC",
        ),
        ({"DBSubnetGroupName": "missing"}, "DBSubnetGroupNotFoundFault", "Subnet Group missing not found."),
        (
            {"RestoreTime": datetime(2020, 1, 1, tzinfo=UTC)},
            "InvalidParameterCombination",
            "Specify exactly one of",
        ),
        (
            {"UseLatestRestorableTime": None, "RestoreTime": datetime(2020, 1, 1, tzinfo=UTC)},
            "InvalidParameterValue",
            "RestoreTime 2020-01-01T00:00:00+00:00 is outside the restore window",
        ),
        ({"UseLatestRestorableTime": None}, "InvalidParameterCombination", "Specify exactly one of"),
    ],
)
def test_a_restore_rds_would_refuse_is_refused(
    regions: dict[str, Any], params: dict[str, Any], code: str, message: str
) -> None:
    arn = _replicate(regions)["DBInstanceAutomatedBackupsArn"]
    found = _refusal(regions, arn, **params)
    assert found[0] == code and found[1].startswith(message), found


def test_security_groups_of_another_vpc_and_a_taken_name_are_refused(regions: dict[str, Any]) -> None:
    arn = _replicate(regions)["DBInstanceAutomatedBackupsArn"]
    elsewhere = regions["groups"]["elsewhere"]
    code, message = _refusal(regions, arn, VpcSecurityGroupIds=[elsewhere])
    assert code == "InvalidParameterCombination" and message.startswith(
        f"Security group {elsewhere} is not in"
    )
    _restore(regions, arn)
    assert _refusal(regions, arn)[0] == "DBInstanceAlreadyExists"


def test_an_unknown_backup_and_a_window_restore_time(regions: dict[str, Any]) -> None:
    arn = _replicate(regions)["DBInstanceAutomatedBackupsArn"]
    assert _refusal(regions, arn + "x")[0] == "DBInstanceAutomatedBackupNotFound"
    latest = regions["west"].describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"][0][
        "RestoreWindow"
    ]["LatestTime"]
    restored = _restore(regions, arn, UseLatestRestorableTime=None, RestoreTime=latest - timedelta(seconds=0))
    assert restored["DBInstanceStatus"] == "available"


def test_a_missing_proxys_targets_are_a_not_found_fault(regions: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as raised:
        regions["west"].describe_db_proxy_targets(DBProxyName="clever-better-prod")
    assert raised.value.response["Error"]["Code"] == "DBProxyNotFoundFault"


def _role(name: str, service: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    iam = boto3.client("iam", region_name="us-east-1")
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def test_enhanced_monitoring_needs_a_role_rds_monitoring_may_assume(regions: dict[str, Any]) -> None:
    """As ModifyDBInstance refuses them (make dr-failover's point step turns it on): an interval
    without a role, a missing role, and one that does not trust monitoring.rds.amazonaws.com."""
    east = regions["east"]
    untrusted = _role("ec2-role", "ec2.amazonaws.com")
    missing = "arn:aws:iam::123456789012:role/not-there"
    refusals = (
        ({}, "InvalidParameterCombination", "A MonitoringRoleARN value is required"),
        ({"MonitoringRoleArn": untrusted}, "InvalidParameterValue", "ENHANCED_MONITORING"),
        ({"MonitoringRoleArn": missing}, "InvalidParameterValue", "ENHANCED_MONITORING"),
    )
    for extra, code, message in refusals:
        with pytest.raises(ClientError) as refused:
            east.modify_db_instance(DBInstanceIdentifier="clever-better-prod", MonitoringInterval=60, **extra)
        assert refused.value.response["Error"]["Code"] == code, extra
        assert message in refused.value.response["Error"]["Message"], extra
    role = _role("rds-monitoring", "monitoring.rds.amazonaws.com")
    east.modify_db_instance(
        DBInstanceIdentifier="clever-better-prod", MonitoringInterval=60, MonitoringRoleArn=role
    )
    (instance,) = east.describe_db_instances(DBInstanceIdentifier="clever-better-prod")["DBInstances"]
    assert (instance["MonitoringInterval"], instance["MonitoringRoleArn"]) == (60, role)
