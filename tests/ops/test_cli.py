"""Operator commands against moto: dry-runs print the exact calls, real runs make them,
refusals are one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.cli import main
from tests.support import offline_aws

REGION = "us-east-1"
TODAY = "20261126"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    offline_aws(monkeypatch)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-1{z}")[
                "Subnet"
            ]["SubnetId"]
            for i, z in enumerate("ab")
        ]
        group = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
        rds = boto3.client("rds", region_name=REGION)
        rds.create_db_subnet_group(
            DBSubnetGroupName="isolated", DBSubnetGroupDescription="db", SubnetIds=subnets
        )
        rds.create_db_parameter_group(
            DBParameterGroupName="pg17", DBParameterGroupFamily="postgres17", Description="params"
        )
        rds.create_db_instance(
            DBSubnetGroupName="isolated",
            VpcSecurityGroupIds=[group],
            DBParameterGroupName="pg17",
            DBInstanceIdentifier="clever-better-prod",
            DBInstanceClass="db.r7g.large",
            Engine="postgres",
            MasterUsername="clever_admin",
            MasterUserPassword="not-a-real-password",
            AllocatedStorage=100,
            MultiAZ=True,
        )
        yield {"rds": rds}


def run(*argv: str) -> int:
    return main([*argv, "--date", TODAY])


def test_db_snapshot_dry_run_prints_the_call(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert run("db-snapshot", "--env", "production", "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.strip() == (
        "[dry-run] aws rds create-db-snapshot --db-instance-identifier clever-better-prod "
        "--db-snapshot-identifier clever-better-prod-manual-20261126 "
        """--tags '[{"Key":"Purpose","Value":"manual"},{"Key":"Environment","Value":"production"}]'"""
    )
    assert not aws["rds"].describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]


def test_db_snapshot_creates_waits_and_refuses_a_second(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("db-snapshot", "--env", "production") == 0
    (snapshot,) = aws["rds"].describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert snapshot["DBSnapshotIdentifier"] == "clever-better-prod-manual-20261126"
    assert snapshot["Status"] == "available"
    assert "is available" in capsys.readouterr().out
    assert run("db-snapshot", "--env", "production") == 1
    assert capsys.readouterr().err.strip() == (
        "error: snapshot clever-better-prod-manual-20261126 already exists; today's manual snapshot is taken"
    )


def test_db_restore(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert run("db-snapshot", "--env", "production") == 0
    snapshot = "clever-better-prod-manual-20261126"
    assert run("db-restore", "--env", "production", "--snapshot", snapshot, "--dry-run") == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith(
        "[dry-run] aws rds restore-db-instance-from-db-snapshot "
        "--db-instance-identifier clever-better-prod-restored "
        f"--db-snapshot-identifier {snapshot} --db-instance-class db.r7g.large"
    )
    assert "--multi-az" in line and "--no-publicly-accessible" in line and "--deletion-protection" in line
    assert "--db-subnet-group-name isolated" in line and "--db-parameter-group-name pg17" in line
    assert run("db-restore", "--env", "production", "--snapshot", snapshot) == 0
    (restored,) = aws["rds"].describe_db_instances(DBInstanceIdentifier="clever-better-prod-restored")[
        "DBInstances"
    ]
    assert restored["DBInstanceStatus"] == "available"
    assert run("db-restore", "--env", "production", "--snapshot", snapshot) == 1
    assert "already exists" in capsys.readouterr().err


def test_db_restore_needs_a_snapshot(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert run("db-restore", "--env", "production") == 1
    assert capsys.readouterr().err.startswith("error: SNAPSHOT is required")
    assert run("db-restore", "--env", "production", "--snapshot", "nope") == 1
    assert "DBSnapshotNotFound" in capsys.readouterr().err


def test_backup_config_writes_once(
    aws: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION)
    sm.create_secret(Name="clever-better/prod/config", SecretString=json.dumps({"max_stake": 10}))
    args = ("backup-config", "--env", "production", "--backups-dir", str(tmp_path))
    assert run(*args, "--dry-run") == 0
    assert capsys.readouterr().out.strip() == (
        "[dry-run] aws secretsmanager get-secret-value --secret-id clever-better/prod/config "
        f"> {tmp_path}/config-{TODAY}.json"
    )
    assert run(*args) == 0
    saved = json.loads((tmp_path / f"config-{TODAY}.json").read_text())
    assert (
        json.loads(saved["SecretString"]) == {"max_stake": 10}
        and saved["Name"] == "clever-better/prod/config"
    )
    assert run(*args) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert json.loads(json.loads((tmp_path / f"config-{TODAY}.json").read_text())["SecretString"]) == {
        "max_stake": 10
    }


def _data_stack(models: dict[str, bytes]) -> tuple[str, str]:
    s3 = boto3.client("s3", region_name=REGION)
    source, target = "clever-better-prod-mlflow-1-us-east-1", "clever-better-prod-backups-1-us-east-1"
    for bucket in (source, target):
        s3.create_bucket(Bucket=bucket)
    for key, body in models.items():
        s3.put_object(Bucket=source, Key=key, Body=body)
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ModelBucketName": {"Value": source}, "BackupsBucketName": {"Value": target}},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="clever-better-prod-data", TemplateBody=json.dumps(template)
    )
    return source, target


def test_backup_models(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    source, target = _data_stack({"models/a/model.pkl": b"1", "models/b/model.pkl": b"2", "other/x": b"3"})
    assert run("backup-models", "--env", "production", "--dry-run") == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == (
        f"[dry-run] aws s3api copy-object --bucket {target} --key models-{TODAY}/a/model.pkl "
        f"--copy-source {source}/models/a/model.pkl"
    )
    assert out[-1] == f"would copy 2 objects to s3://{target}/models-{TODAY}/"
    assert run("backup-models", "--env", "production") == 0
    s3 = boto3.client("s3", region_name=REGION)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=target)["Contents"])
    assert keys == [f"models-{TODAY}/a/model.pkl", f"models-{TODAY}/b/model.pkl"]
    assert run("backup-models", "--env", "production") == 1
    assert "today's model backup is taken" in capsys.readouterr().err


def test_betfair_key_store(aws: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION)
    sm.create_secret(Name="clever-better/prod/betfair", SecretString=json.dumps({"app_key": "old"}))
    key = tmp_path / "key.json"
    secret = {"app_key": "appkey-7f3e", "username": "trader-91c2", "password": "pw-4d8a!"}
    key.write_text(json.dumps(secret))
    assert run("betfair-key-store", "--env", "production", "--file", str(key), "--dry-run") == 0
    printed = capsys.readouterr()
    lines = printed.out.strip().splitlines()
    assert lines[0] == (
        "[dry-run] aws secretsmanager put-secret-value --secret-id clever-better/prod/betfair "
        "--secret-string '<redacted>' --version-stages '[\"OPERATOR_NEW\"]'"
    )
    assert not any(value in printed.out + printed.err for value in secret.values())
    assert lines[1] == "[dry-run] aws secretsmanager rotate-secret --secret-id clever-better/prod/betfair"
    assert run("betfair-key-store", "--env", "production", "--file", str(key), "--no-rotate") == 0
    printed = capsys.readouterr()
    assert not any(value in printed.out + printed.err for value in secret.values())
    staged = sm.get_secret_value(SecretId="clever-better/prod/betfair", VersionStage="OPERATOR_NEW")
    assert json.loads(staged["SecretString"])["app_key"] == "appkey-7f3e"
    current = sm.get_secret_value(SecretId="clever-better/prod/betfair", VersionStage="AWSCURRENT")
    assert json.loads(current["SecretString"]) == {"app_key": "old"}
    key.write_text(json.dumps({"app_key": "new"}))
    assert run("betfair-key-store", "--env", "production", "--file", str(key)) == 1
    assert capsys.readouterr().err.strip() == f"error: {key} lacks username, password"


def test_unknown_environment_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db-snapshot", "--env", "qa"]) == 2
    assert (
        capsys.readouterr().err
        == "error: unknown environment 'qa'; expected one of dev, staging, production\n"
    )


def test_makefile_target_dry_run(tmp_path: Path) -> None:
    """The Makefile target passes ENV and DRY_RUN through (backup-config's dry-run makes no AWS call)."""
    import subprocess

    from tests.support import ROOT

    result = subprocess.run(
        ["make", "-s", "backup-config", "ENV=production", "DRY_RUN=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(
        "[dry-run] aws secretsmanager get-secret-value --secret-id clever-better/prod/config "
        "> backups/prod/config-"
    )
    missing = subprocess.run(
        ["make", "-s", "db-snapshot"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert missing.returncode == 2
    assert "error: ENV is required (dev, staging or production)" in missing.stdout + missing.stderr


def test_clients_are_made_in_the_configured_region(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The region comes from the environment's configuration (here moved to eu-west-1, so a
    hard-coded us-east-1 would show), loaded once for the run."""
    from dataclasses import replace

    from config.environments import load

    regions: list[str] = []
    loads: list[tuple[str, ...]] = []

    def clients(region: str) -> Any:
        regions.append(region)
        return lambda name: pytest.fail(f"a dry-run of backup-config made a {name} client")

    def counting_load(names: tuple[str, ...]) -> Any:
        loads.append(names)
        zones = ("euw1-az1", "euw1-az2", "euw1-az3")
        return [
            replace(cfg, region="eu-west-1", network=replace(cfg.network, zone_ids=zones))
            for cfg in load(names)
        ]

    monkeypatch.setattr("ops.cli.aws_clients", clients)
    monkeypatch.setattr("ops.cli.load", counting_load)
    assert run("backup-config", "--env", "production", "--dry-run", "--backups-dir", str(tmp_path)) == 0
    assert regions == ["eu-west-1"]
    assert loads == [("production",)]
    assert capsys.readouterr().out.startswith("[dry-run] aws secretsmanager get-secret-value")


def test_common_flags_before_or_after_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The Makefile puts --env and --dry-run before the command; they may also follow it."""
    expected = (
        "[dry-run] aws secretsmanager get-secret-value --secret-id clever-better/prod/config "
        f"> {tmp_path}/config-{TODAY}.json"
    )
    for argv in (
        [
            "--env",
            "production",
            "--dry-run",
            "--date",
            TODAY,
            "backup-config",
            "--backups-dir",
            str(tmp_path),
        ],
        [
            "backup-config",
            "--backups-dir",
            str(tmp_path),
            "--env",
            "production",
            "--dry-run",
            "--date",
            TODAY,
        ],
        [
            "--env",
            "production",
            "backup-config",
            "--dry-run",
            "--backups-dir",
            str(tmp_path),
            "--date",
            TODAY,
        ],
    ):
        assert main(argv) == 0, argv
        assert capsys.readouterr().out.strip() == expected, argv


def test_each_command_takes_only_its_own_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--env", "production", "backup-config", "--snapshot", "x"])
    assert raised.value.code == 2
    assert "unrecognized arguments: --snapshot x" in capsys.readouterr().err


def test_configuration_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A configuration that does not validate reads as synth reports it, not as a crash."""
    from config.model import ConfigError

    def broken(names: tuple[str, ...]) -> Any:
        raise ConfigError("production: account = '12' is not allowed; expected a 12-digit AWS account id")

    monkeypatch.setattr("ops.cli.load", broken)
    assert run("db-snapshot", "--env", "production", "--dry-run") == 1
    err = capsys.readouterr().err
    assert err == (
        "configuration error: production: account = '12' is not allowed; expected a 12-digit AWS account id\n"
    )
