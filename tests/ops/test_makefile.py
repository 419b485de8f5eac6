"""The Makefile with hostile and mistaken input: nothing an operator sets ever runs as code,
DRY_RUN is honoured or refused in one line, and a bad value is one clear line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT, hostile
from tools import cdk_cli

# Every target that takes an operator's value or acts on something. Left out: help, install,
# the checks (test, lint, typecheck, unit, integration, bench, cfn-lint, lint-workflows, audit)
# and cost, which take no value and only read (cost's DRY_RUN=1 is its ordinary run:
# test_cost_takes_no_value_and_acts_on_nothing).
TARGETS = [
    "synth", "diff", "diff-dev", "diff-staging", "diff-production", "deploy-dev", "deploy-staging",
    "deploy-production", "bootstrap-dev", "bootstrap-staging", "bootstrap-production",
    "deploy-local", "diff-local", "destroy-local", "clean", "format", "snapshot-update", "constraints",
    "diagram", "monitoring-docs",
    "db-snapshot", "db-restore", "backup-config", "backup-models", "betfair-key-store",
    "predeploy-check", "approve", "rollback", "deploy-status", "maintenance-on",
    "maintenance-off", "config-update", "restart", "smoke-test-dev", "db-migrate",
    "db-migrate-dev", "db-migrate-staging", "db-migrate-prod", "db-migration-status", "drift",
    "resume-trading", "daily-report", "db-maintenance", "train", "mlflow-ui", "model-versions",
    "pr-comment",
]  # fmt: skip
OPERATOR_VARS = (
    "IMAGE_TAG", "CDK_ARGS", "FILE", "SNAPSHOT", "SERVICE", "URL", "ALLOW_STALE_BACKUP", "BACKUPS_DIR",
    "BASE", "DIFF_ALLOW", "DIFF_REPORT", "REQUIRE_APPROVAL", "CONFIRM", "MODEL", "MLFLOW_PORT",
)  # fmt: skip


def _make(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # AWS points at a closed local port: read-only calls fail at once, and nothing leaves the machine.
    base = {
        **os.environ,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        ["make", "-s", target], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_every_make_target_with_hostile_values_runs_nothing(tmp_path: Path) -> None:
    assert len(TARGETS) == 47
    for target in TARGETS:
        canary = tmp_path / target
        canary.mkdir()
        value = hostile(canary)
        result = _make(target, {**dict.fromkeys(OPERATOR_VARS, value), "ENV": "production", "DRY_RUN": "1"})
        assert sorted(os.listdir(canary)) == [], (target, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, (target, result.stderr)
    # ENV itself, and the target that once ran `echo PWNED`, without DRY_RUN.
    for target, env in (
        ("db-snapshot", {"ENV": hostile(tmp_path / "env")}),
        ("deploy-local", {"IMAGE_TAG": hostile(tmp_path / "local")}),
    ):
        (tmp_path / target.replace("db-snapshot", "env").replace("deploy-local", "local")).mkdir(
            exist_ok=True
        )
        result = _make(target, env)
        assert result.returncode != 0
        assert sorted(os.listdir(tmp_path / ("env" if target == "db-snapshot" else "local"))) == []


def test_cost_takes_no_value_and_acts_on_nothing(tmp_path: Path) -> None:
    """`make cost` only synthesizes into a temporary directory and prints: no operator value
    reaches its command, and DRY_RUN=1 leaves it unchanged (there is nothing to dry-run)."""
    value = hostile(tmp_path)
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "cost"],
        cwd=ROOT,
        env={**os.environ, **dict.fromkeys(OPERATOR_VARS, value), "ENV": value, "DRY_RUN": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"{ROOT}/.venv/bin/python tools/cost.py"
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize(
    "target", ["deploy-local", "diff-local", "diff-dev", "deploy-dev", "deploy-staging", "deploy-production"]
)
def test_a_bad_image_tag_is_the_same_configuration_error_everywhere(target: str) -> None:
    result = _make(target, {"IMAGE_TAG": "bad tag"})
    assert result.returncode != 0
    first = result.stderr.splitlines()[0]
    env = {"deploy-staging": "staging", "deploy-production": "production"}.get(target, "dev")
    assert first.startswith(f"configuration error: {env}: deployment.image_tag = 'bad tag' is not allowed;")


@pytest.mark.parametrize(
    "target", ["deploy-local", "destroy-local", "clean", "format", "snapshot-update", "constraints"]
)
def test_targets_without_a_dry_run_refuse_it_in_one_line(target: str) -> None:
    result = _make(target, {"DRY_RUN": "1"})
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"error: make {'destroy-local' if target == 'clean' else target} has no dry run "
        "(it changes local state); run it without DRY_RUN"
    )


def test_deploy_production_dry_run_deploys_nothing() -> None:
    """Before: DRY_RUN was ignored and `cdk deploy` ran. Now every step is a dry run; with no
    AWS to read from, the pre-deployment check stops it before any deploy."""
    result = _make("deploy-production", {"IMAGE_TAG": "v1.2.3", "DRY_RUN": "1"})
    assert "+ cdk" not in result.stdout and "deploy production" not in result.stdout
    assert result.returncode != 0


def test_cdk_targets_print_their_exact_command_under_dry_run() -> None:
    result = _make(
        "diff-production",
        {"IMAGE_TAG": "v1.2.3", "DRY_RUN": "1", "CDK_ARGS": "-c production_account=123456789012"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[dry-run] cdk --no-notices diff 'production/*' 'production-dr/*' -c environments=production "
        "-c image_tag=v1.2.3 -c production_account=123456789012"
    ]


def test_a_context_argument_without_a_value_stops_in_one_line() -> None:
    result = _make("synth", {"CDK_ARGS": "-c production_account", "DRY_RUN": "1"})
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "error: CDK_ARGS: context argument 'production_account' is not key=value, "
        "e.g. -c production_account=123456789012"
    )


def test_production_deploys_its_dr_stage_first() -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "tools/cdk_cli.py", "deploy", "production"],
        cwd=ROOT,
        env={**os.environ, "DRY_RUN": "1", "IMAGE_TAG": "v1.2.3", "CDK_ARGS": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # One synthesis of production alone; every deploy reads that assembly: the DR region's data
    # and registry first (production reads the DR key), the pilot light last (it reads the
    # secrets stack's replica ARNs).
    assert result.stdout.splitlines() == [
        "[dry-run] cdk --no-notices synth --quiet -c environments=production -c image_tag=v1.2.3 "
        "--output cdk.out.production",
        "[dry-run] cdk --no-notices deploy --app cdk.out.production "
        "production-dr/data production-dr/registry --require-approval broadening",
        "[dry-run] cdk --no-notices deploy --app cdk.out.production 'production/*' "
        "--require-approval broadening",
        "[dry-run] cdk --no-notices deploy --app cdk.out.production 'production-dr/*' "
        "--require-approval broadening",
    ]


@pytest.mark.parametrize(("value", "expected"), [("never", "never"), ("", "broadening")])
def test_the_pipeline_deploys_without_a_terminal_prompt_only_when_it_says_so(
    value: str, expected: str
) -> None:
    planned = cdk_cli.commands("deploy", "dev", {"REQUIRE_APPROVAL": value})
    assert [command[1:] for command in planned[1:]] == [
        ["--no-notices", "deploy", "--app", "cdk.out.dev", "dev/*", "--require-approval", expected]
    ]


def test_an_unknown_approval_mode_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = cdk_cli.main(["deploy", "dev"], {"DRY_RUN": "1", "REQUIRE_APPROVAL": "any-change; touch /tmp/x"})
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: REQUIRE_APPROVAL='any-change; touch /tmp/x' is not allowed; expected one of broadening, never"
    ]


OPS_TARGETS = TARGETS[TARGETS.index("db-snapshot") : TARGETS.index("pr-comment")]


@pytest.mark.parametrize(
    "target", ["deploy-dev", "deploy-production", "diff-dev", "bootstrap-dev", "deploy-checks-dev"]
)
def test_local_never_reaches_aws_through_a_cdk_target(target: str) -> None:
    """LOCAL=1 points the operator commands at the emulator; the CDK targets would still reach
    AWS, so make stops before any recipe runs."""
    result = _make(target, {"LOCAL": "1", "IMAGE_TAG": "v1.2.3"})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[0].endswith(
        "*** LOCAL=1 is for the runbook's operator commands; the CDK targets run against AWS, "
        "and the emulator's are make deploy-local and make diff-local.  Stop."
    )


def test_the_local_diff_prints_its_exact_command_under_dry_run(tmp_path: Path) -> None:
    """diff-local is the CDK diff against the emulator: LOCAL=1 is no refusal there, and the
    dry run prints the one command (the emulator's endpoint, the change-set method) and runs
    nothing, so no emulator needs to answer."""
    result = _make(
        "diff-local",
        {
            "DRY_RUN": "1",
            "LOCAL": "1",
            "IMAGE_TAG": "v1.2.3",
            "LOCAL_PORT": "4601",
            "LOCAL_STATE": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "dev: configuration valid; image tag v1.2.3",
        f"[dry-run] AWS_ENDPOINT_URL=http://localhost:4601 {ROOT}/node_modules/.bin/cdk diff 'dev/*' "
        f"--method=change-set --no-notices --output {tmp_path}/cdk.out --context environments=dev "
        "--context dev_account=123456789012 --context image_tag=v1.2.3",
    ]
    assert sorted(os.listdir(tmp_path)) == []


def test_the_local_diff_needs_a_running_emulator() -> None:
    result = _make("diff-local", {"LOCAL_PORT": "9"})
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        "error: no local emulator answers on http://localhost:9; start it: make deploy-local"
    )


def test_local_port_and_environment_are_checked_in_one_line(tmp_path: Path) -> None:
    assert len(OPS_TARGETS) == 26
    for target in OPS_TARGETS:
        canary = tmp_path / target
        canary.mkdir()
        result = _make(target, {"ENV": "dev", "LOCAL": "1", "LOCAL_PORT": hostile(canary), "SERVICE": "bot"})
        assert result.returncode != 0 and sorted(os.listdir(canary)) == [], (target, result.stderr)
        assert result.stderr.splitlines()[0].startswith("error: --local 'v1;touch "), (target, result.stderr)
        assert result.stderr.splitlines()[0].endswith(" is not a port number (LOCAL_PORT)")
    production = _make("deploy-status", {"ENV": "production", "LOCAL": "1"})
    assert production.stderr.splitlines()[0] == (
        "error: the local emulator holds only dev (make deploy-local), not production; use ENV=dev"
    )
    closed = _make("deploy-status", {"ENV": "dev", "LOCAL": "1", "LOCAL_PORT": "9"})
    assert closed.stderr.splitlines()[0] == (
        "error: no local emulator answers on http://localhost:9; start it: make deploy-local"
    )
