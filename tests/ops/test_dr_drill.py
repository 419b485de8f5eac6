"""`make dr-drill`: production's failover and failback end to end in an in-process emulator."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import ops.dr
from emulator.drill import ADMIN_PASSWORD
from tests.support import offline_aws
from tools import dr_drill

ROOT = Path(__file__).resolve().parent.parent.parent
PHASES = [
    "drill 1/4: production in the emulator: clever-better-prod in us-east-1 replicating its automated "
    "backups to us-west-2; the pilot light dark (0 tasks, health alarms disarmed)",
    "drill 2/4: us-east-1 goes dark (simulated: its /health stops answering, the DR load balancer's "
    "answers); fail over",
    "$ make dr-failover CONFIRM=yes",
    "drill 3/4: us-east-1 comes back (its services on the stale instance); fail back",
    "$ make dr-failback CONFIRM=yes",
    "drill 4/4: the end state",
]


def _make(*variables: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("DRY_RUN", "MAKEFLAGS")
    }
    return subprocess.run(
        ["make", "-s", "dr-drill", *variables],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_make_dr_drill_fails_over_and_back_and_prints_each_phase() -> None:
    result = _make()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith(("drill ", "$ make"))] == [
        *PHASES,
        "drill complete: the data went to us-west-2 and back home to us-east-1 (clever-better-prod, the "
        "stale instance kept as clever-better-prod-old); the pilot light dark again. The emulator's times "
        "are not AWS's: time a real drill as docs/RUNBOOK.md says",
    ]
    # Every step of both procedures ran, and acted (no dry run).
    for step in ("assess", "restore", "point", "scale", "verify", "dns", "stop", "copy", "swap", "resume"):
        assert any(line.startswith("[") and f"] {step} done in " in line for line in lines), step
    assert "failover complete in" in result.stdout and "failback complete in" in result.stdout
    assert sum(line.startswith("+ aws ") for line in lines) >= 20 and "[dry-run]" not in result.stdout
    assert ADMIN_PASSWORD not in result.stdout + result.stderr


def test_make_dr_drill_with_dry_run_plans_the_failover_only() -> None:
    result = _make("DRY_RUN=1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith(("drill ", "$ make"))] == [
        PHASES[0].replace("1/4", "1/2"),
        PHASES[1].replace("2/4", "2/2"),
        "$ make dr-failover",
        "drill planned: nothing was failed over (dry run), so there is nothing to fail back",
    ]
    assert "failover planned in" in result.stdout
    assert not [line for line in lines if line.startswith("+ aws ")]
    assert sum(line.startswith("[dry-run] aws ") for line in lines) >= 8


def test_a_drill_whose_failover_leaves_the_alarms_disarmed_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The end state is checked, not assumed: a failover that scaled but never armed the health
    alarms does not pass."""
    offline_aws(monkeypatch)
    monkeypatch.setattr(ops.dr, "_alarm_actions", lambda f, *, armed: None)
    assert dr_drill.drill() == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the drill's failover ended wrong: us-west-2's health alarms armed: ")
    assert "'clever-better-prod-bot-unhealthy-P0': False" in err
