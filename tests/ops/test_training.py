"""`make train` (python -m ops train): starts scheduled training now through the training
function, as its schedule does. moto for the stack; botocore's Stubber for Lambda (moto runs no
function without Docker): the exact invocation and payload, a started task, a run still going
(none started), a refused start in one line. The dry run, a missing stack or function and the
emulator: tests/ops/test_function_commands.py; what the function does: tests/lambdas/test_training.py."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ops.cli import main
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
