"""`make db-maintenance` (python -m ops db-maintenance): invokes the scheduled VACUUM (ANALYZE)
function and waits for it. moto for the stack; botocore's Stubber for Lambda (moto runs no function
without Docker): the exact invocation, each database's time, a skipped run, a failed run in one
line. The dry run, a missing stack or function and the emulator: tests/ops/test_function_commands.py."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ops.cli import main
from tests.support import LambdaStub, offline_aws

FUNCTION = "clever-better-prod-db-maintenance"
TEMPLATE = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}'


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaStub]:
    offline_aws(monkeypatch, "us-east-1")
    with mock_aws():
        boto3.client("cloudformation").create_stack(
            StackName="clever-better-prod-data", TemplateBody=TEMPLATE
        )
        stub = LambdaStub(FUNCTION)
        with stub.stubber:
            yield stub


def _run(stub: LambdaStub, *flags: str) -> int:
    return main(["db-maintenance", "--env", "production", *flags], clients=stub.clients)


def test_it_invokes_the_function_waits_and_prints_each_database(
    aws: LambdaStub, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.function_exists()
    aws.answers({"databases": {"clever_better": 12.345}})
    assert _run(aws) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"+ aws lambda invoke --function-name {FUNCTION} --cli-read-timeout 910 out.json",
        "clever_better: VACUUM (ANALYZE) in 12.345 s",
    ]
    aws.stubber.assert_no_pending_responses()
    # The invocation waits out the function's 15 minutes and is never retried (a second run).
    invoke_config = aws.configs[-1]
    assert (invoke_config.read_timeout, invoke_config.retries) == (
        910,
        {"total_max_attempts": 1, "mode": "standard"},
    )


def test_a_run_under_way_is_left_alone_and_said(aws: LambdaStub, capsys: pytest.CaptureFixture[str]) -> None:
    aws.function_exists()
    aws.answers({"databases": {"clever_better": "skipped: another run is vacuuming it"}})
    assert _run(aws) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "clever_better: skipped: another run is vacuuming it"


def test_a_failed_run_exits_1_in_one_line(aws: LambdaStub, capsys: pytest.CaptureFixture[str]) -> None:
    aws.function_exists()
    aws.answers(
        {"errorType": "PgError", "errorMessage": "canceling statement\ndue to timeout"}, error="Unhandled"
    )
    assert _run(aws) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {FUNCTION} failed: PgError: canceling statement\\ndue to timeout; "
        f"its log: aws logs tail /aws/lambda/{FUNCTION} --since 1h"
    ]
