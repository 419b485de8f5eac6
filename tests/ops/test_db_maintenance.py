"""`make db-maintenance` (python -m ops db-maintenance): invokes the scheduled VACUUM (ANALYZE)
function and waits for it. moto for the stack; botocore's Stubber for Lambda (moto runs no function
without Docker): the exact invocation, each database's time, a skipped run, a failed run in one
line, a missing stack or function named, the dry run and the emulator invoking nothing."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

import config
from ops import db_maintenance
from ops.cli import main
from ops.core import Context, OpsError
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


def test_the_dry_run_prints_the_invocation_and_makes_none(
    aws: LambdaStub, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.function_exists()
    assert _run(aws, "--dry-run") == 0
    assert capsys.readouterr().out.splitlines() == [
        f"[dry-run] aws lambda invoke --function-name {FUNCTION} --cli-read-timeout 910 out.json"
    ]
    aws.stubber.assert_no_pending_responses()  # and no invoke was asked for (the stubber refuses one)


def test_a_missing_function_is_named_in_one_line(aws: LambdaStub, capsys: pytest.CaptureFixture[str]) -> None:
    aws.function_exists(False)
    assert _run(aws) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: stack clever-better-prod-data is not deployed in us-east-1 "
        f"(function {FUNCTION} not found); deploy it first: make deploy-production"
    ]


def test_a_missing_stack_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    offline_aws(monkeypatch, "us-east-1")
    with mock_aws():
        assert main(["db-maintenance", "--env", "production"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: stack clever-better-prod-data is not deployed in us-east-1; "
        "deploy it first: make deploy-production"
    ]


def test_against_the_emulator_a_real_run_refuses_in_one_line(aws: LambdaStub) -> None:
    (dev,) = config.load(("dev",))
    aws.function_exists(name="clever-better-dev-db-maintenance")
    out: list[str] = []
    ctx = Context(
        config=dev,
        dry_run=False,
        today="20261204",
        clients=lambda name, **_: aws.client if name == "lambda" else boto3.client(name),
        out=out.append,
        emulated=True,
    )
    boto3.client("cloudformation").create_stack(StackName="clever-better-dev-data", TemplateBody=TEMPLATE)
    with pytest.raises(OpsError, match="the local emulator runs no Lambda code") as refused:
        db_maintenance.db_maintenance(ctx, argparse.Namespace())
    assert "\n" not in str(refused.value) and out == []
