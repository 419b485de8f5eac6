"""What `make db-maintenance` and `make train` share (ops/core.py `invoke`): the dry run prints
the exact invocation and makes none, a missing stack or function is named in one line, and against
the emulator (it runs no Lambda code) a real run refuses in one line. moto for the stack,
botocore's Stubber for Lambda. Each command's own answers: tests/ops/test_db_maintenance.py and
tests/ops/test_training.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from ops.cli import main
from tests.support import LambdaStub, offline_aws

TEMPLATE = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}'


@dataclass(frozen=True)
class Case:
    command: str
    unit: str
    function: str  # production's
    dry_run: str
    refusal: str  # dev's, against the emulator


CASES = [
    Case(
        "db-maintenance",
        "data",
        "clever-better-prod-db-maintenance",
        "[dry-run] aws lambda invoke --function-name clever-better-prod-db-maintenance "
        "--cli-read-timeout 910 out.json",
        "error: the local emulator runs no Lambda code and holds no PostgreSQL: "
        "clever-better-dev-db-maintenance is deployed but cannot run here; run make db-maintenance "
        "against AWS (DRY_RUN=1 prints the call)",
    ),
    Case(
        "train",
        "services",
        "clever-better-prod-training",
        "[dry-run] aws lambda invoke --function-name clever-better-prod-training --cli-binary-format "
        """raw-in-base64-out --payload '{"action": "start"}' --cli-read-timeout 70 out.json""",
        "error: the local emulator runs no Lambda code and starts no task: clever-better-dev-training "
        "is deployed but cannot run here; run make train against AWS (DRY_RUN=1 prints the call)",
    ),
]
IDS = [case.command for case in CASES]


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    offline_aws(monkeypatch, "us-east-1")
    with mock_aws():
        yield


def _deployed(case: Case, token: str) -> LambdaStub:
    boto3.client("cloudformation").create_stack(
        StackName=f"clever-better-{token}-{case.unit}", TemplateBody=TEMPLATE
    )
    return LambdaStub(case.function.replace("-prod-", f"-{token}-"))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_dry_run_prints_the_invocation_and_makes_none(
    moto: None, case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = _deployed(case, "prod")
    with stub.stubber:
        stub.function_exists()
        assert main([case.command, "--env", "production", "--dry-run"], clients=stub.clients) == 0
        stub.stubber.assert_no_pending_responses()  # and no invoke was asked for (the stubber refuses one)
    assert capsys.readouterr().out.splitlines() == [case.dry_run]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_missing_function_is_named_in_one_line(
    moto: None, case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = _deployed(case, "prod")
    with stub.stubber:
        stub.function_exists(False)
        assert main([case.command, "--env", "production"], clients=stub.clients) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: stack clever-better-prod-{case.unit} is not deployed in us-east-1 "
        f"(function {case.function} not found); deploy it first: make deploy-production"
    ]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_missing_stack_is_named_in_one_line(
    moto: None, case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([case.command, "--env", "production"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: stack clever-better-prod-{case.unit} is not deployed in us-east-1; "
        "deploy it first: make deploy-production"
    ]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_against_the_emulator_a_real_run_refuses_in_one_line(
    moto: None, case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    """As `--local` (emulated), on dev, with the function deployed: the one line, no invocation."""
    stub = _deployed(case, "dev")
    with stub.stubber:
        stub.function_exists()
        assert main([case.command, "--env", "dev", "--local", "4566"], clients=stub.clients) == 1
        stub.stubber.assert_no_pending_responses()
    assert capsys.readouterr().err.splitlines() == [case.refusal]
