"""The daily drift check as Lambda runs it: botocore's Stubber plays CloudFormation's drift
detection (moto lacks it; the Stubber checks every request and answer against CloudFormation's API
model), moto plays CloudWatch, and the published data points are read back from it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from config import metrics
from lambdas.drift_check import handler as drift
from tests.support import offline_aws

STACKS = ("clever-better-prod-network", "clever-better-prod-data", "clever-better-prod-services")
ENVIRON = {
    "STACK_NAMES": ",".join(STACKS),
    "ENVIRONMENT": "prod",
    "METRIC_NAMESPACE": "CleverBetter/Operations",
    "DRIFTED_METRIC": "DriftedStacks",
    "FAILURES_METRIC": "DriftCheckFailures",
    "METRIC_DIMENSION": "Environment",
}
NOW = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)


def _stack_id(stack: str) -> str:
    return f"arn:aws:cloudformation:us-east-1:333333333333:stack/{stack}/0f1e2d3c-aaaa-bbbb-cccc-000000000000"


def _detection(stack: str) -> str:
    return f"{STACKS.index(stack) if stack in STACKS else 9}" * 8 + "-1111-2222-3333-444444444444"


class Context:
    """Lambda's context object: only the remaining time, which the tests control."""

    def __init__(self, remaining: list[int] | None = None) -> None:
        self.remaining = remaining or [600_000]

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    offline_aws(monkeypatch, "us-east-1")
    for key, value in ENVIRON.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        clients = {"cloudformation": cloudformation, "cloudwatch": cloudwatch}
        monkeypatch.setattr(drift, "_client", lambda service: clients[service])
        monkeypatch.setattr(drift.time, "sleep", lambda seconds: None)
        with Stubber(cloudformation) as stubber:
            yield {**clients, "stubber": stubber}
            stubber.assert_no_pending_responses()


def _start(stubber: Stubber, stack: str) -> None:
    stubber.add_response(
        "detect_stack_drift", {"StackDriftDetectionId": _detection(stack)}, {"StackName": stack}
    )


def _missing(stubber: Stubber, stack: str) -> None:
    stubber.add_client_error(
        "detect_stack_drift",
        service_error_code="ValidationError",
        service_message=f"Stack with id {stack} does not exist",
        http_status_code=400,
        expected_params={"StackName": stack},
    )


def _status(stubber: Stubber, stack: str, state: str, drift_status: str | None = None, **extra: Any) -> None:
    answer: dict[str, Any] = {
        "StackId": _stack_id(stack),
        "StackDriftDetectionId": _detection(stack),
        "DetectionStatus": state,
        "Timestamp": NOW,
        **extra,
    }
    if drift_status:
        answer["StackDriftStatus"] = drift_status
    stubber.add_response(
        "describe_stack_drift_detection_status", answer, {"StackDriftDetectionId": _detection(stack)}
    )


def _published(cloudwatch: Any, metric: str) -> list[float]:
    points = cloudwatch.get_metric_statistics(
        Namespace="CleverBetter/Operations",
        MetricName=metric,
        Dimensions=[{"Name": "Environment", "Value": "prod"}],
        StartTime=datetime.now(UTC) - timedelta(minutes=10),
        EndTime=datetime.now(UTC) + timedelta(minutes=10),
        Period=60,
        Statistics=["Maximum"],
        Unit="Count",
    )["Datapoints"]
    return [point["Maximum"] for point in points]


def _events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == "root"]


def test_the_contract_is_what_the_handler_publishes() -> None:
    """The construct passes these from config/metrics.py; the handler's unit is the contract's."""
    assert (metrics.DRIFTED_STACKS.namespace, metrics.DRIFTED_STACKS.name) == (
        "CleverBetter/Operations",
        "DriftedStacks",
    )
    assert (metrics.DRIFT_CHECK_FAILURES.namespace, metrics.DRIFT_CHECK_FAILURES.name) == (
        "CleverBetter/Operations",
        "DriftCheckFailures",
    )
    for spec in (metrics.DRIFTED_STACKS, metrics.DRIFT_CHECK_FAILURES):
        assert spec.dimensions == ("Environment",) and spec.unit.value == drift.UNIT == "Count"


def test_nothing_drifted_publishes_zero(aws: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    stubber = aws["stubber"]
    for stack in STACKS:
        _start(stubber, stack)
    # Every detection is started before the first poll; one still runs on the first round.
    _status(stubber, STACKS[0], "DETECTION_COMPLETE", "IN_SYNC")
    _status(stubber, STACKS[1], "DETECTION_IN_PROGRESS")
    _status(stubber, STACKS[2], "DETECTION_COMPLETE", "IN_SYNC")
    _status(stubber, STACKS[1], "DETECTION_COMPLETE", "IN_SYNC")
    with caplog.at_level(logging.INFO):
        summary = drift.handler({}, Context())
    assert summary == {
        "environment": "prod",
        "driftedStacks": 0,
        "failedStacks": 0,
        "drifted": [],
        "inSync": sorted(STACKS),
        "failures": {},
        "timedOut": False,
    }
    assert _published(aws["cloudwatch"], "DriftedStacks") == [0.0]
    assert _published(aws["cloudwatch"], "DriftCheckFailures") == [0.0]
    # Exactly the contract's dimension set: another combination would be another metric.
    listed = aws["cloudwatch"].list_metrics(Namespace="CleverBetter/Operations")["Metrics"]
    assert sorted((m["MetricName"], json.dumps(m["Dimensions"])) for m in listed) == [
        ("DriftCheckFailures", '[{"Name": "Environment", "Value": "prod"}]'),
        ("DriftedStacks", '[{"Name": "Environment", "Value": "prod"}]'),
    ]
    assert _events(caplog)[-1]["event"] == "drift-check"


def test_one_drifted_stack_publishes_one(aws: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    stubber = aws["stubber"]
    for stack in STACKS:
        _start(stubber, stack)
    _status(stubber, STACKS[0], "DETECTION_COMPLETE", "IN_SYNC")
    _status(stubber, STACKS[1], "DETECTION_COMPLETE", "DRIFTED", DriftedStackResourceCount=2)
    _status(stubber, STACKS[2], "DETECTION_COMPLETE", "IN_SYNC")
    with caplog.at_level(logging.INFO):
        summary = drift.handler({}, Context())
    assert (summary["driftedStacks"], summary["drifted"], summary["failedStacks"]) == (
        1,
        ["clever-better-prod-data"],
        0,
    )
    assert _published(aws["cloudwatch"], "DriftedStacks") == [1.0]
    assert _published(aws["cloudwatch"], "DriftCheckFailures") == [0.0]
    finished = [e for e in _events(caplog) if e["event"] == "detection-finished"]
    assert {e["stack"]: (e["stackDriftStatus"], e["driftedResources"]) for e in finished} == {
        "clever-better-prod-network": ("IN_SYNC", None),
        "clever-better-prod-data": ("DRIFTED", 2),
        "clever-better-prod-services": ("IN_SYNC", None),
    }


def test_a_missing_stack_is_a_failure_not_a_crash(
    aws: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    stubber = aws["stubber"]
    _start(stubber, STACKS[0])
    _missing(stubber, STACKS[1])
    _start(stubber, STACKS[2])
    _status(stubber, STACKS[0], "DETECTION_COMPLETE", "DRIFTED", DriftedStackResourceCount=1)
    _status(stubber, STACKS[2], "DETECTION_COMPLETE", "IN_SYNC")
    with caplog.at_level(logging.INFO):
        summary = drift.handler({}, Context())
    assert summary["failures"] == {
        "clever-better-prod-data": "detection not started: ValidationError: "
        "Stack with id clever-better-prod-data does not exist"
    }
    assert (summary["driftedStacks"], summary["failedStacks"]) == (1, 1)
    assert _published(aws["cloudwatch"], "DriftedStacks") == [1.0]
    assert _published(aws["cloudwatch"], "DriftCheckFailures") == [1.0]
    errors = [e for e in _events(caplog) if e["event"] == "detection-not-started"]
    assert errors == [
        {
            "event": "detection-not-started",
            "stack": "clever-better-prod-data",
            "error": "ValidationError: Stack with id clever-better-prod-data does not exist",
        }
    ]


def test_a_failed_detection_counts_as_a_failure_and_its_drift_as_drift(aws: dict[str, Any]) -> None:
    stubber = aws["stubber"]
    for stack in STACKS:
        _start(stubber, stack)
    reason = "Failed to detect drift on resource [DatabaseRolesFunctionA506F2E1]: access denied"
    _status(stubber, STACKS[0], "DETECTION_FAILED", "IN_SYNC", DetectionStatusReason=reason)
    _status(stubber, STACKS[1], "DETECTION_FAILED", "DRIFTED", DetectionStatusReason=reason)
    _status(stubber, STACKS[2], "DETECTION_COMPLETE", "IN_SYNC")
    summary = drift.handler({}, Context())
    assert summary["drifted"] == ["clever-better-prod-data"]
    assert summary["inSync"] == ["clever-better-prod-services"]
    assert summary["failures"] == {
        "clever-better-prod-network": f"DETECTION_FAILED, stack drift status IN_SYNC: {reason}",
        "clever-better-prod-data": f"DETECTION_FAILED, stack drift status DRIFTED: {reason}",
    }
    assert _published(aws["cloudwatch"], "DriftedStacks") == [1.0]
    assert _published(aws["cloudwatch"], "DriftCheckFailures") == [2.0]


def test_out_of_time_publishes_what_it_knows_and_says_so(
    aws: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    stubber = aws["stubber"]
    for stack in STACKS:
        _start(stubber, stack)
    _status(stubber, STACKS[0], "DETECTION_COMPLETE", "DRIFTED")
    _status(stubber, STACKS[1], "DETECTION_IN_PROGRESS")
    _status(stubber, STACKS[2], "DETECTION_IN_PROGRESS")
    _status(stubber, STACKS[1], "DETECTION_COMPLETE", "IN_SYNC")
    _status(stubber, STACKS[2], "DETECTION_IN_PROGRESS")
    # Enough for one more round after the first, then less than a poll and the reserve.
    with caplog.at_level(logging.INFO):
        summary = drift.handler({}, Context([600_000, 29_999]))
    assert summary["timedOut"] is True
    assert summary["drifted"] == ["clever-better-prod-network"]
    assert summary["inSync"] == ["clever-better-prod-data"]
    assert summary["failures"] == {
        "clever-better-prod-services": "DETECTION_IN_PROGRESS: not finished within this run "
        "(22222222-1111-2222-3333-444444444444)"
    }
    assert _published(aws["cloudwatch"], "DriftedStacks") == [1.0]
    assert _published(aws["cloudwatch"], "DriftCheckFailures") == [1.0]
    assert {"event": "out-of-time", "unfinished": ["clever-better-prod-services"]} in _events(caplog)


def _resources(stubber: Stubber, stack: str, *resources: tuple[str, str]) -> None:
    summaries = [
        {
            "LogicalResourceId": logical,
            "ResourceType": kind,
            "LastUpdatedTimestamp": NOW,
            "ResourceStatus": "CREATE_COMPLETE",
        }
        for logical, kind in resources
    ]
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": stack})


def test_resources_of_skipped_types_are_left_out_of_the_detection(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """What the role may not read (a secret's value) is not asked for: the stack is checked on
    the rest of its resources; a stack without such resources is checked whole."""
    monkeypatch.setenv("STACK_NAMES", "clever-better-prod-network,clever-better-prod-data")
    monkeypatch.setenv(
        "SKIPPED_TYPES", "AWS::SecretsManager::Secret,AWS::SecretsManager::SecretTargetAttachment"
    )
    stubber = aws["stubber"]
    _resources(stubber, STACKS[0], ("Vpc8378EB38", "AWS::EC2::VPC"))
    _start(stubber, STACKS[0])
    _resources(
        stubber,
        STACKS[1],
        ("DatabaseInstance", "AWS::RDS::DBInstance"),
        ("DatabaseSecret", "AWS::SecretsManager::Secret"),
        ("DatabaseSecretAttachment", "AWS::SecretsManager::SecretTargetAttachment"),
        ("DatabaseProxy", "AWS::RDS::DBProxy"),
    )
    stubber.add_response(
        "detect_stack_drift",
        {"StackDriftDetectionId": _detection(STACKS[1])},
        {"StackName": STACKS[1], "LogicalResourceIds": ["DatabaseInstance", "DatabaseProxy"]},
    )
    _status(stubber, STACKS[0], "DETECTION_COMPLETE", "IN_SYNC")
    _status(stubber, STACKS[1], "DETECTION_COMPLETE", "IN_SYNC")
    with caplog.at_level(logging.INFO):
        summary = drift.handler({}, Context())
    assert (summary["inSync"], summary["failures"]) == (sorted(STACKS[:2]), {})
    assert [e for e in _events(caplog) if e["event"] == "resources-skipped"] == [
        {
            "event": "resources-skipped",
            "stack": "clever-better-prod-data",
            "skipped": [
                "DatabaseSecret (AWS::SecretsManager::Secret)",
                "DatabaseSecretAttachment (AWS::SecretsManager::SecretTargetAttachment)",
            ],
        }
    ]


def test_settings_need_a_stack() -> None:
    with pytest.raises(ValueError, match="STACK_NAMES names no stack"):
        drift.Settings.from_environ({**ENVIRON, "STACK_NAMES": " , "})
    settings = drift.Settings.from_environ({**ENVIRON, "STACK_NAMES": " a-stack , b-stack,"})
    assert settings.stacks == ("a-stack", "b-stack")
