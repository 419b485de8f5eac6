"""`make train` (python -m ops train): starts scheduled training now through the training
function, as its schedule does. moto for the stack; botocore's Stubber for Lambda (moto runs no
function without Docker): the exact invocation and payload, a started task, a run still going
(none started), a refused start in one line, a missing stack or function named, the dry run and
the emulator invoking nothing. What the function does with it is tests/lambdas/test_training.py."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

import config
from ops import training
from ops.cli import main
from ops.core import Context, OpsError
from tests.support import LambdaStub, offline_aws

FUNCTION = "clever-better-prod-training"
TASK = "arn:aws:ecs:us-east-1:333333333333:task/clever-better-prod/0123456789abcdef0123456789abcdef"
TEMPLATE = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}'
START = {"action": "start"}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaStub]:
    offline_aws(monkeypatch, "us-east-1")
    with mock_aws():
        boto3.client("cloudformation").create_stack(
            StackName="clever-better-prod-services", TemplateBody=TEMPLATE
        )
        stub = LambdaStub(FUNCTION)
        with stub.stubber:
            yield stub


def _run(stub: LambdaStub, *flags: str) -> int:
    return main(["train", "--env", "production", *flags], clients=stub.clients)


def test_it_starts_a_run_and_says_where_to_follow_it(
    aws: LambdaStub, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.function_exists()
    aws.answers({"started": TASK}, sent=START)
    assert _run(aws) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"+ aws lambda invoke --function-name {FUNCTION} --cli-binary-format raw-in-base64-out "
        """--payload '{"action": "start"}' --cli-read-timeout 70 out.json""",
        f"started {TASK}",
        "follow it: aws logs tail /ecs/clever-better-prod/ml-service --follow "
        "--log-stream-names ml-service/ml-service/0123456789abcdef0123456789abcdef",
        f"its outcome, when it stops: aws logs tail /aws/lambda/{FUNCTION} --since 1d",
    ]
    aws.stubber.assert_no_pending_responses()
    # Never retried: a retry could start a second run.
    invoke_config = aws.configs[-1]
    assert (invoke_config.read_timeout, invoke_config.retries) == (
        70,
        {"total_max_attempts": 1, "mode": "standard"},
    )


def test_a_run_still_going_is_said_and_none_started(
    aws: LambdaStub, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.function_exists()
    aws.answers({"skipped": [TASK], "stopped": []}, sent=START)
    assert _run(aws) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [f"not started: a run is still going ({TASK})"]


def test_a_run_past_its_limit_is_said_stopped(aws: LambdaStub, capsys: pytest.CaptureFixture[str]) -> None:
    aws.function_exists()
    aws.answers({"skipped": [TASK], "stopped": [TASK]}, sent=START)
    assert _run(aws) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        f"not started: a run is still going ({TASK})",
        f"stopped past its limit: {TASK}",
    ]


def test_a_refused_start_exits_1_in_one_line(aws: LambdaStub, capsys: pytest.CaptureFixture[str]) -> None:
    aws.function_exists()
    aws.answers(
        {
            "task": "td",
            "failed": True,
            "reason": "RunTask refused: ClientException: TaskDefinition is inactive",
            "streak": 1,
        },
        sent=START,
    )
    assert _run(aws) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {FUNCTION} could not start a run: RunTask refused: ClientException: TaskDefinition is "
        "inactive; it is recorded as a failed run"
    ]


def test_a_failed_function_exits_1_in_one_line(aws: LambdaStub, capsys: pytest.CaptureFixture[str]) -> None:
    aws.function_exists()
    aws.answers(
        {"errorType": "ClientError", "errorMessage": "AccessDenied\non ListTasks"},
        error="Unhandled",
        sent=START,
    )
    assert _run(aws) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {FUNCTION} failed: ClientError: AccessDenied\\non ListTasks; "
        f"its log: aws logs tail /aws/lambda/{FUNCTION} --since 1h"
    ]


def test_the_dry_run_prints_the_invocation_and_makes_none(
    aws: LambdaStub, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.function_exists()
    assert _run(aws, "--dry-run") == 0
    assert capsys.readouterr().out.splitlines() == [
        f"[dry-run] aws lambda invoke --function-name {FUNCTION} --cli-binary-format raw-in-base64-out "
        """--payload '{"action": "start"}' --cli-read-timeout 70 out.json"""
    ]
    aws.stubber.assert_no_pending_responses()  # and no invoke was asked for (the stubber refuses one)


def test_a_missing_function_is_named_in_one_line(aws: LambdaStub, capsys: pytest.CaptureFixture[str]) -> None:
    aws.function_exists(False)
    assert _run(aws) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: stack clever-better-prod-services is not deployed in us-east-1 "
        f"(function {FUNCTION} not found); deploy it first: make deploy-production"
    ]


def test_a_missing_stack_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    offline_aws(monkeypatch, "us-east-1")
    with mock_aws():
        assert main(["train", "--env", "production"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: stack clever-better-prod-services is not deployed in us-east-1; "
        "deploy it first: make deploy-production"
    ]


def test_against_the_emulator_a_real_run_refuses_in_one_line(aws: LambdaStub) -> None:
    (dev,) = config.load(("dev",))
    aws.function_exists(name="clever-better-dev-training")
    out: list[str] = []
    ctx = Context(
        config=dev, dry_run=False, today="20261204", clients=aws.clients, out=out.append, emulated=True
    )
    boto3.client("cloudformation").create_stack(StackName="clever-better-dev-services", TemplateBody=TEMPLATE)
    with pytest.raises(OpsError) as refused:
        training.train(ctx, argparse.Namespace())
    assert str(refused.value) == (
        "the local emulator runs no Lambda code and starts no task: clever-better-dev-training is "
        "deployed but cannot run here; run make train against AWS (DRY_RUN=1 prints the call)"
    )
    assert out == []
