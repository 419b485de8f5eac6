"""`make resume-trading` (python -m ops resume-trading) against moto's SSM and STS: the dry run prints
the exact PutParameter call and changes nothing, a typed confirmation (or CONFIRM=) is required and
a wrong one refuses in one line, a parameter that is not halted is left alone, a missing one names
the alerting stack, and the resumption records who resumed and when."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops import trading
from ops.cli import main
from tests.support import ROOT, hostile, offline_aws

PARAMETER = "/clever-better/prod/trading/halted"
HALTED = (
    '{"halted":true,"by":"clever-better-prod-daily-loss-P0","reason":"Threshold Crossed: 1 datapoint '
    '[-1200.0] was less than the threshold (-1000.0).","at":"2026-12-02T03:15:42Z"}'
)
NOW = datetime(2026, 12, 2, 9, 30, 5, tzinfo=UTC)
CALLER = "arn:aws:sts::123456789012:user/moto"  # moto's caller identity
RESUMED = (
    '{"halted":false,"by":"arn:aws:sts::123456789012:user/moto","reason":"resumed by operator",'
    '"at":"2026-12-02T09:30:05Z"}'
)
SHOWN = (
    "trading is halted in production since 2026-12-02T03:15:42Z by clever-better-prod-daily-loss-P0: "
    "Threshold Crossed: 1 datapoint [-1200.0] was less than the threshold (-1000.0)."
)


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    offline_aws(monkeypatch, "us-east-1")
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-1")
        client.put_parameter(Name=PARAMETER, Value=HALTED, Type="String")
        yield client


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The operator's terminal, where they type `production`: the prompts it showed."""
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return "production"

    monkeypatch.setattr(trading, "ask", ask)
    monkeypatch.setattr(trading, "interactive", lambda: True)
    return asked


def run(*argv: str) -> int:
    return main(["--env", "production", "resume-trading", *argv], now=lambda: NOW)


def value(ssm: Any) -> str:
    return str(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])


def versions(ssm: Any) -> int:
    return len(ssm.get_parameter_history(Name=PARAMETER)["Parameters"])


def test_dry_run_prints_the_call_asks_nothing_and_changes_nothing(
    ssm: Any, terminal: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--dry-run") == 0
    assert capsys.readouterr().out.splitlines() == [
        SHOWN,
        f"[dry-run] aws ssm put-parameter --name {PARAMETER} --value '{RESUMED}' --type String --overwrite",
    ]
    assert terminal == []  # no prompt
    assert value(ssm) == HALTED and versions(ssm) == 1


def test_a_typed_confirmation_resumes_and_records_who(
    ssm: Any, terminal: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run() == 0
    assert terminal == ["Type the environment's name (production) to resume trading: "]
    assert value(ssm) == RESUMED
    assert capsys.readouterr().out.splitlines() == [
        SHOWN,
        f"+ aws ssm put-parameter --name {PARAMETER} --value '{RESUMED}' --type String --overwrite",
        f"trading resumed in production by {CALLER} ({PARAMETER})",
    ]


def test_confirm_answers_without_a_terminal(
    ssm: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(trading, "interactive", lambda: False)
    monkeypatch.setattr(trading, "ask", lambda prompt: pytest.fail("asked with --confirm given"))
    assert run("--confirm", "production") == 0
    assert value(ssm) == RESUMED


@pytest.mark.parametrize("answer", ["prod", "staging", "", "Production", "yes"])
def test_a_wrong_confirmation_refuses_in_one_line(
    ssm: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], answer: str
) -> None:
    monkeypatch.setattr(trading, "interactive", lambda: True)
    monkeypatch.setattr(trading, "ask", lambda prompt: answer)
    assert run() == 1
    assert capsys.readouterr().err == (
        f"error: confirmation {answer!r} is not 'production'; {PARAMETER} left as it is\n"
    )
    assert value(ssm) == HALTED and versions(ssm) == 1


def test_a_wrong_confirm_refuses_before_anything_even_in_a_dry_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def clients(region: str) -> Any:
        return lambda name: pytest.fail(f"made a {name} client")

    monkeypatch.setattr("ops.cli.aws_clients", clients)
    assert run("--confirm", "staging", "--dry-run") == 1
    assert (
        capsys.readouterr().err
        == f"error: confirmation 'staging' is not 'production'; {PARAMETER} left as it is\n"
    )


def test_no_terminal_and_no_confirm_refuses_in_one_line(
    ssm: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(trading, "interactive", lambda: False)
    assert run() == 1
    assert capsys.readouterr().err == (
        "error: resume-trading needs a typed confirmation: run it in a terminal, or set CONFIRM=production\n"
    )
    assert versions(ssm) == 1


def test_a_hostile_confirmation_is_only_text(
    ssm: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    value_ = hostile(tmp_path)
    assert run("--confirm", value_) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error: confirmation 'v1;touch ")
    assert os.listdir(tmp_path) == [] and versions(ssm) == 1


@pytest.mark.parametrize(
    "current",
    [
        '{"halted":false}',
        '{"halted":false,"by":"arn:aws:sts::123456789012:user/ops","reason":"resumed by operator",'
        '"at":"2026-12-01T00:00:00Z"}',
        "not json",
    ],
)
def test_not_halted_says_so_and_changes_nothing(
    ssm: Any, terminal: list[str], capsys: pytest.CaptureFixture[str], current: str
) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=current, Type="String", Overwrite=True)
    assert run() == 0
    assert capsys.readouterr().out.splitlines() == [
        f"trading is not halted in production ({PARAMETER} = {current}); nothing to resume"
    ]
    assert terminal == [] and versions(ssm) == 2


def test_a_missing_parameter_names_the_alerting_stack(
    ssm: Any, terminal: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    ssm.delete_parameter(Name=PARAMETER)
    assert run("--dry-run") == 1
    assert capsys.readouterr().err == (
        "error: stack clever-better-prod-alerting is not deployed in us-east-1 (parameter "
        f"{PARAMETER} not found); deploy it first: make deploy-production\n"
    )


def test_a_halt_that_changes_while_confirming_is_not_resumed(
    ssm: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def ask(prompt: str) -> str:
        # A resume by someone else, then a new halt, while this operator typed.
        ssm.put_parameter(Name=PARAMETER, Value=HALTED.replace("03:15:42", "09:29:00"), Overwrite=True)
        return "production"

    monkeypatch.setattr(trading, "interactive", lambda: True)
    monkeypatch.setattr(trading, "ask", ask)
    assert run() == 1
    assert capsys.readouterr().err == (
        f"error: {PARAMETER} changed since it was read; run make resume-trading ENV=production again\n"
    )
    assert json.loads(value(ssm))["halted"] is True


def test_a_reason_with_a_newline_prints_on_one_line(
    ssm: Any, terminal: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    ssm.put_parameter(
        Name=PARAMETER, Value=HALTED.replace("Threshold Crossed: ", "line\\nbreak "), Overwrite=True
    )
    assert run("--dry-run") == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(": line\\nbreak 1 datapoint [-1200.0] was less "
                                                             "than the threshold (-1000.0).")  # fmt: skip


def test_the_makefile_passes_confirm_as_a_value(tmp_path: Path) -> None:
    """make resume-trading ENV=... CONFIRM=...: the value reaches --confirm quoted, never a shell."""
    canary = tmp_path / "canary"
    canary.mkdir()
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "resume-trading"],
        cwd=ROOT,
        env={**os.environ, "ENV": "production", "CONFIRM": hostile(canary)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        f'{ROOT}/.venv/bin/python -m ops --env "$ENV"   resume-trading --confirm "$CONFIRM"'
    )
    assert os.listdir(canary) == []
