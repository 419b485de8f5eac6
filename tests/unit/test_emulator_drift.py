"""The emulator's EventBridge Scheduler schedules and CloudFormation drift detection, in-process
against moto with the adapter installed (the `aws` fixture)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

REGION = "us-east-1"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:clever-better-dev-drift-check"
ROLE = "arn:aws:iam::123456789012:role/scheduler"
SCHEDULE = {
    "Type": "AWS::Scheduler::Schedule",
    "Properties": {
        "Name": "clever-better-dev-drift-check",
        "GroupName": "default",
        "Description": "Daily configuration-drift check",
        "ScheduleExpression": "cron(0 6 * * ? *)",
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": FUNCTION,
            "RoleArn": ROLE,
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
        },
    },
}


def _cfn() -> Any:
    return boto3.client("cloudformation", region_name=REGION)


def _deploy(name: str, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> None:
    body = json.dumps({"Resources": resources, "Outputs": outputs or {}})
    _cfn().create_stack(StackName=name, TemplateBody=body)
    (stack,) = _cfn().describe_stacks(StackName=name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack


def test_a_schedule_is_created_and_deleted_with_its_stack(aws: None) -> None:
    _deploy(
        "s",
        {"Schedule": SCHEDULE},
        {"Name": {"Value": {"Ref": "Schedule"}}, "Arn": {"Value": {"Fn::GetAtt": ["Schedule", "Arn"]}}},
    )
    scheduler = boto3.client("scheduler", region_name=REGION)
    found = scheduler.get_schedule(Name="clever-better-dev-drift-check")
    assert (found["ScheduleExpression"], found["FlexibleTimeWindow"], found["State"]) == (
        "cron(0 6 * * ? *)",
        {"Mode": "OFF"},
        "ENABLED",
    )
    assert (found["Target"]["Arn"], found["Target"]["RoleArn"]) == (FUNCTION, ROLE)
    (stack,) = _cfn().describe_stacks(StackName="s")["Stacks"]
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {
        "Name": "clever-better-dev-drift-check",
        "Arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/clever-better-dev-drift-check",
    }
    _cfn().delete_stack(StackName="s")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        scheduler.get_schedule(Name="clever-better-dev-drift-check")


def test_a_schedule_without_its_time_window_fails_the_deploy(aws: None) -> None:
    properties = {k: v for k, v in SCHEDULE["Properties"].items() if k != "FlexibleTimeWindow"}  # type: ignore[attr-defined]
    _cfn().create_stack(
        StackName="s",
        TemplateBody=json.dumps({"Resources": {"Schedule": {**SCHEDULE, "Properties": properties}}}),
    )
    (stack,) = _cfn().describe_stacks(StackName="s")["Stacks"]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"


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
