"""`make drift` (python -m ops drift): the dry run prints the exact detections, a real run prints each
stack's drift and exits 1 on drift, a missing stack is named in one line. Against moto with the
emulator's drift detection (every stack in sync), and with botocore's Stubber for the answers moto
cannot give (a drifted stack, a detection that never finishes)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

import config
import config.names
from emulator.adapter import install
from ops import drift
from ops.cli import main
from ops.core import Context, OpsError
from tests.support import hostile, offline_aws

PRIMARY = ["network", "data", "secrets", "registry", "services", "monitoring", "alerting", "audit", "access"]
DR = ["network", "data", "registry", "services", "monitoring", "alerting", "audit"]
TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
NOW = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    offline_aws(monkeypatch)
    install()  # the emulator's drift detection on moto's CloudFormation
    with mock_aws():
        yield


def _deploy(prefix: str, units: list[str], region: str, *, skip: str = "") -> None:
    cloudformation = boto3.client("cloudformation", region_name=region)
    for unit in units:
        if unit != skip:
            cloudformation.create_stack(StackName=f"{prefix}-{unit}", TemplateBody=TEMPLATE)


def test_dry_run_prints_every_detection_it_would_start(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    _deploy("clever-better-prod", PRIMARY, "us-east-1")
    _deploy("clever-better-prod-dr", DR, "us-west-2")
    assert main(["drift", "--env", "production", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-network",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-data",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-secrets",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-registry",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-services",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-monitoring",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-alerting",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-audit",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-access",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-dr-network "
        "--region us-west-2",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-dr-data "
        "--region us-west-2",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-dr-registry "
        "--region us-west-2",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-dr-services "
        "--region us-west-2",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-dr-monitoring "
        "--region us-west-2",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-dr-alerting "
        "--region us-west-2",
        "[dry-run] aws cloudformation detect-stack-drift --stack-name clever-better-prod-dr-audit "
        "--region us-west-2",
        "would wait for 16 detections and print each stack's drift",
    ]


def test_a_missing_stack_is_named_in_one_line(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    _deploy("clever-better-prod", PRIMARY, "us-east-1", skip="services")
    _deploy("clever-better-prod-dr", DR, "us-west-2", skip="data")
    for dry_run in (["--dry-run"], []):
        assert main(["drift", "--env", "production", *dry_run]) == 1
        captured = capsys.readouterr()
        assert captured.err.splitlines() == [
            "error: drift not determined for clever-better-prod-services (not deployed in us-east-1); "
            "clever-better-prod-dr-data (us-west-2) (not deployed in us-west-2)"
        ]
        assert "clever-better-prod-services: not deployed in us-east-1" in captured.out.splitlines()
    # The real run checked the others.
    assert "clever-better-prod-dr-network (us-west-2): IN_SYNC" in captured.out.splitlines()


def test_every_stack_in_sync(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    _deploy("clever-better-dev", PRIMARY, "us-east-1")
    assert main(["drift", "--env", "dev"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "+ aws cloudformation detect-stack-drift --stack-name clever-better-dev-network",
        "+ aws cloudformation detect-stack-drift --stack-name clever-better-dev-data",
        "+ aws cloudformation detect-stack-drift --stack-name clever-better-dev-secrets",
        "+ aws cloudformation detect-stack-drift --stack-name clever-better-dev-registry",
        "+ aws cloudformation detect-stack-drift --stack-name clever-better-dev-services",
        "+ aws cloudformation detect-stack-drift --stack-name clever-better-dev-monitoring",
        "+ aws cloudformation detect-stack-drift --stack-name clever-better-dev-alerting",
        "+ aws cloudformation detect-stack-drift --stack-name clever-better-dev-audit",
        "+ aws cloudformation detect-stack-drift --stack-name clever-better-dev-access",
        "clever-better-dev-network: IN_SYNC",
        "clever-better-dev-data: IN_SYNC",
        "clever-better-dev-secrets: IN_SYNC",
        "clever-better-dev-registry: IN_SYNC",
        "clever-better-dev-services: IN_SYNC",
        "clever-better-dev-monitoring: IN_SYNC",
        "clever-better-dev-alerting: IN_SYNC",
        "clever-better-dev-audit: IN_SYNC",
        "clever-better-dev-access: IN_SYNC",
        "no drift: all 9 stacks of dev match their templates",
    ]


def test_a_hostile_environment_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    value = hostile(tmp_path)
    assert main(["drift", "--env", value]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error: unknown environment 'v1;touch ")
    assert list(tmp_path.iterdir()) == []


# --- answers moto cannot give: botocore's Stubber checks them against CloudFormation's API model ---


def _stack_id(name: str) -> str:
    return f"arn:aws:cloudformation:us-east-1:111111111111:stack/{name}/5b0f6f80-aaaa-bbbb-cccc-000000000000"


class Fixture:
    """A dev Context whose CloudFormation client is stubbed, and what the command printed."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        self.stubber = Stubber(self.client)
        self.lines: list[str] = []
        self.clock = [NOW]

    def context(self) -> Context:
        def now() -> datetime:
            return self.clock[0]

        def sleep(seconds: float) -> None:
            self.clock[0] += timedelta(seconds=seconds)

        return Context(
            config=config.load(("dev",))[0],
            dry_run=False,
            today="20260101",
            clients=lambda service: self.client,
            out=self.lines.append,
            sleep=sleep,
            now=now,
        )

    def deployed(self, name: str) -> None:
        self.stubber.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": name,
                        "StackId": _stack_id(name),
                        "CreationTime": NOW,
                        "StackStatus": "UPDATE_COMPLETE",
                    }
                ]
            },
            {"StackName": name},
        )

    def started(self, name: str, detection: str) -> None:
        self.stubber.add_response(
            "detect_stack_drift", {"StackDriftDetectionId": detection}, {"StackName": name}
        )

    def status(
        self, name: str, detection: str, state: str, drift_status: str | None = None, **extra: Any
    ) -> None:
        answer = {
            "StackId": _stack_id(name),
            "StackDriftDetectionId": detection,
            "DetectionStatus": state,
            "Timestamp": NOW,
            **extra,
        }
        if drift_status:
            answer["StackDriftStatus"] = drift_status
        self.stubber.add_response(
            "describe_stack_drift_detection_status", answer, {"StackDriftDetectionId": detection}
        )


def _ids(n: int) -> str:
    return f"{n}" * 8 + "-1111-2222-3333-444444444444"


def test_drifted_resources_are_printed_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config.names, "UNITS", ("network", "data"))
    fixture = Fixture()
    names = ["clever-better-dev-network", "clever-better-dev-data"]
    for name in names:
        fixture.deployed(name)
    for n, name in enumerate(names):
        fixture.started(name, _ids(n))
    fixture.status(names[0], _ids(0), "DETECTION_COMPLETE", "IN_SYNC")
    fixture.status(names[1], _ids(1), "DETECTION_IN_PROGRESS")
    fixture.status(names[1], _ids(1), "DETECTION_COMPLETE", "DRIFTED", DriftedStackResourceCount=2)
    fixture.stubber.add_response(
        "describe_stack_resource_drifts",
        {
            "StackResourceDrifts": [
                {
                    "StackId": _stack_id(names[1]),
                    "LogicalResourceId": "DatabaseSecurityGroup7319C0F6",
                    "PhysicalResourceId": "sg-0123456789abcdef0",
                    "ResourceType": "AWS::EC2::SecurityGroup",
                    "StackResourceDriftStatus": "MODIFIED",
                    "Timestamp": NOW,
                    "ExpectedProperties": "{}",
                    "ActualProperties": '{"SecurityGroupIngress": [{"CidrIp": "0.0.0.0/0"}]}',
                    "PropertyDifferences": [
                        {
                            "PropertyPath": "/SecurityGroupIngress/0",
                            "ExpectedValue": "",
                            "ActualValue": '{"CidrIp": "0.0.0.0/0"}',
                            "DifferenceType": "ADD",
                        }
                    ],
                },
                {
                    "StackId": _stack_id(names[1]),
                    "LogicalResourceId": "BackupsBucket1A2B3C4D",
                    "PhysicalResourceId": "clever-better-dev-backups-111111111111-us-east-1",
                    "ResourceType": "AWS::S3::Bucket",
                    "StackResourceDriftStatus": "DELETED",
                    "Timestamp": NOW,
                },
            ]
        },
        {"StackName": names[1], "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]},
    )
    with fixture.stubber, pytest.raises(OpsError) as error:
        drift.drift(fixture.context(), argparse.Namespace())
    fixture.stubber.assert_no_pending_responses()
    assert str(error.value) == "1 of 2 stacks of dev drifted: clever-better-dev-data"
    assert fixture.lines[2:] == [
        "clever-better-dev-network: IN_SYNC",
        "clever-better-dev-data: DRIFTED (2 resources)",
        "  MODIFIED AWS::EC2::SecurityGroup DatabaseSecurityGroup7319C0F6 (sg-0123456789abcdef0): "
        "/SecurityGroupIngress/0 ADD",
        "  DELETED AWS::S3::Bucket BackupsBucket1A2B3C4D (clever-better-dev-backups-111111111111-us-east-1)",
    ]
    # No property value is printed: what was set by hand may be a secret.
    assert not any("0.0.0.0/0" in line for line in fixture.lines)


def test_a_detection_that_never_finishes_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config.names, "UNITS", ("network",))
    fixture = Fixture()
    fixture.deployed("clever-better-dev-network")
    fixture.started("clever-better-dev-network", _ids(0))
    # 15 minutes of polls every 10 seconds, then the first one past the deadline.
    for _ in range(91):
        fixture.status("clever-better-dev-network", _ids(0), "DETECTION_IN_PROGRESS")
    with fixture.stubber, pytest.raises(OpsError) as error:
        drift.drift(fixture.context(), argparse.Namespace())
    fixture.stubber.assert_no_pending_responses()
    assert str(error.value) == (
        "drift not determined for clever-better-dev-network "
        "(detection 00000000-1111-2222-3333-444444444444 still running after 15 min)"
    )


def test_a_failed_detection_reports_what_it_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config.names, "UNITS", ("network",))
    fixture = Fixture()
    fixture.deployed("clever-better-dev-network")
    fixture.started("clever-better-dev-network", _ids(0))
    reason = "Failed to detect drift on resource [Vpc8378EB38]: access denied"
    fixture.status(
        "clever-better-dev-network", _ids(0), "DETECTION_FAILED", "IN_SYNC", DetectionStatusReason=reason
    )
    with fixture.stubber, pytest.raises(OpsError) as error:
        drift.drift(fixture.context(), argparse.Namespace())
    assert (
        str(error.value) == f"drift not determined for clever-better-dev-network (detection failed: {reason})"
    )
    assert fixture.lines[1:] == [f"clever-better-dev-network: detection failed: {reason}"]
