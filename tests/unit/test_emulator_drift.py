"""The emulator's CloudFormation drift detection, in-process against moto with the adapter
installed (the `aws` fixture). Schedules: tests/unit/test_emulator_monitoring.py."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

REGION = "us-east-1"


def _cfn() -> Any:
    return boto3.client("cloudformation", region_name=REGION)


def _deploy(name: str, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> None:
    body = json.dumps({"Resources": resources, "Outputs": outputs or {}})
    _cfn().create_stack(StackName=name, TemplateBody=body)
    (stack,) = _cfn().describe_stacks(StackName=name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack


def test_drift_detection_finds_every_stack_in_sync(aws: None) -> None:
    _deploy(
        "clever-better-dev-network",
        {"Logs": {"Type": "AWS::Logs::LogGroup"}, "Topic": {"Type": "AWS::SNS::Topic"}},
    )
    cfn = _cfn()
    detection = cfn.detect_stack_drift(StackName="clever-better-dev-network")["StackDriftDetectionId"]
    status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
    assert (status["DetectionStatus"], status["StackDriftStatus"], status["DriftedStackResourceCount"]) == (
        "DETECTION_COMPLETE",
        "IN_SYNC",
        0,
    )
    assert status["StackId"].startswith(
        "arn:aws:cloudformation:us-east-1:123456789012:stack/clever-better-dev-network/"
    )
    drifted = cfn.describe_stack_resource_drifts(
        StackName="clever-better-dev-network", StackResourceDriftStatusFilters=["MODIFIED", "DELETED"]
    )
    assert drifted["StackResourceDrifts"] == []
    every = cfn.describe_stack_resource_drifts(StackName="clever-better-dev-network")["StackResourceDrifts"]
    assert sorted(
        (d["LogicalResourceId"], d["ResourceType"], d["StackResourceDriftStatus"]) for d in every
    ) == [
        ("Logs", "AWS::Logs::LogGroup", "IN_SYNC"),
        ("Topic", "AWS::SNS::Topic", "IN_SYNC"),
    ]
    # A detection on some of the stack's resources (the drift check leaves secrets out).
    cfn.detect_stack_drift(StackName="clever-better-dev-network", LogicalResourceIds=["Topic"])


def test_drift_detection_refuses_what_cloudformation_refuses(aws: None) -> None:
    cfn = _cfn()
    with pytest.raises(ClientError, match="Stack with id clever-better-dev-data does not exist"):
        cfn.detect_stack_drift(StackName="clever-better-dev-data")
    with pytest.raises(ClientError, match="Drift detection 0000 does not exist"):
        cfn.describe_stack_drift_detection_status(StackDriftDetectionId="0000")
    _deploy("s", {"Topic": {"Type": "AWS::SNS::Topic"}})
    with pytest.raises(ClientError, match=r"Resources \['Nope'\] do not exist in stack s"):
        cfn.detect_stack_drift(StackName="s", LogicalResourceIds=["Nope"])
    # A stack whose creation failed (ROLLBACK_COMPLETE) is not one drift detection runs on.
    cfn.create_stack(
        StackName="failed",
        TemplateBody=json.dumps(
            {"Resources": {"Schedule": {"Type": "AWS::Scheduler::Schedule", "Properties": {}}}}
        ),
    )
    with pytest.raises(ClientError, match="Stack failed is in ROLLBACK_COMPLETE state"):
        cfn.detect_stack_drift(StackName="failed")
