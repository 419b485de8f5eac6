"""The pipeline (.github/): what runs where, with which permissions, and nothing else.

Every step that does work is a `make` target, so the pipeline runs what a developer runs; AWS is
reached only through the DeploymentRole (OIDC), only by the jobs listed here, each in its GitHub
environment; actions are pinned by commit; zizmor finds nothing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT
from tests.unit.test_docs import _make_targets

WORKFLOWS = ROOT / ".github" / "workflows"
# Every `run:` step: one make target, then only VAR=value words (values without spaces or `$`).
MAKE_STEP = re.compile(r"make ([a-z][\w-]*)((?: [A-Z_]+=[\w./-]+)*)")
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials"


def _load(path: Path) -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean true.
    workflow["on"] = workflow.pop(True)
    return workflow


ALL = {path.stem: _load(path) for path in sorted(WORKFLOWS.glob("*.yml"))}


def _jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(name, job_id, job) for name, wf in ALL.items() for job_id, job in wf["jobs"].items()]


def _steps() -> list[tuple[str, str, dict[str, Any]]]:
    return [(name, job_id, step) for name, job_id, job in _jobs() for step in job["steps"]]


def _uses(step: dict[str, Any]) -> str:
    return str(step.get("uses", "")).split("@")[0]


def _aws_jobs() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (name, job_id): job
        for name, job_id, job in _jobs()
        if any(_uses(step) == AWS_CREDENTIALS for step in job["steps"])
    }


def test_the_workflows() -> None:
    assert sorted(ALL) == ["audit", "ci", "deploy", "release", "rollback"]
    assert sorted(path.name for path in WORKFLOWS.iterdir()) == [f"{name}.yml" for name in sorted(ALL)]
    assert ALL["ci"]["on"] == {"pull_request": None, "push": {"branches": ["main"]}}
    assert ALL["deploy"]["on"]["push"] == {"branches": ["develop", "staging"]}
    assert ALL["release"]["on"] == {"push": {"tags": ["v*"]}}
    assert list(ALL["rollback"]["on"]) == ["workflow_dispatch"]
    assert list(ALL["audit"]["on"]) == ["schedule", "workflow_dispatch"]


def test_no_trigger_runs_a_pull_requests_code_with_write_access() -> None:
    # No pull_request_target, no workflow_run: nothing runs a pull request's code, or consumes
    # what it produced, with a token or environment the pull request was not given.
    triggers = {trigger for wf in ALL.values() for trigger in wf["on"]}
    assert triggers == {"pull_request", "push", "workflow_dispatch", "schedule"}


def test_every_run_step_is_one_make_target() -> None:
    runs = [(name, job_id, str(step["run"])) for name, job_id, step in _steps() if "run" in step]
    assert len(runs) > 20
    used = set()
    for name, job_id, command in runs:
        match = MAKE_STEP.fullmatch(command.strip())
        assert match and "\n" not in command.strip(), (name, job_id, command)
        used.add(match.group(1))
    assert not [step for _, _, step in _steps() if "shell" in step]
    assert used == {
        "install", "lint", "typecheck", "lint-workflows", "test", "synth", "cfn-lint", "diff",
        "pr-comment", "audit", "deploy-dev", "smoke-test-dev", "deploy-staging", "smoke-test-staging",
        "deploy-production", "smoke-test-production", "deploy-status", "approve", "rollback",
    }  # fmt: skip
    assert sorted(used - _make_targets()) == []


def test_every_step_either_runs_make_or_uses_a_pinned_action() -> None:
    for name, job_id, step in _steps():
        assert ("run" in step) != ("uses" in step), (name, job_id, step)


def test_actions_are_pinned_by_commit_with_their_version() -> None:
    pins: dict[str, set[str]] = {}
    lines = [line for path in WORKFLOWS.glob("*.yml") for line in path.read_text().splitlines()]
    uses = [line for line in lines if re.match(r"^\s*(- )?uses:", line)]
    assert len(uses) == len([step for _, _, step in _steps() if "uses" in step]) > 10
    for line in uses:
        match = PINNED.match(line)
        assert match, line
        pins.setdefault(match.group(1), set()).add(match.group(2))
    # One commit per action everywhere: an update moves every workflow at once.
    assert {action: len(commits) for action, commits in pins.items()} == dict.fromkeys(pins, 1)
    assert sorted(pins) == [
        "actions/checkout", "actions/download-artifact", "actions/setup-node", "actions/setup-python",
        "actions/upload-artifact", AWS_CREDENTIALS,
    ]  # fmt: skip


def test_permissions_are_empty_by_default_and_granted_per_job() -> None:
    for name, wf in ALL.items():
        assert wf["permissions"] == {}, name
    writes = set()
    for name, job_id, job in _jobs():
        assert job["permissions"].get("contents") == "read", (name, job_id)
        writes |= {(name, job_id, scope) for scope, level in job["permissions"].items() if level == "write"}
    assert writes == {
        ("ci", "comment", "pull-requests"),
        ("deploy", "dev", "id-token"),
        ("deploy", "staging", "id-token"),
        ("release", "deploy", "id-token"),
        ("release", "approve", "id-token"),
        ("release", "rollback", "id-token"),
        ("rollback", "rollback", "id-token"),
    }


def test_aws_only_through_the_deployment_role_in_a_github_environment() -> None:
    jobs = _aws_jobs()
    assert {key: job["environment"] for key, job in jobs.items()} == {
        ("deploy", "dev"): "dev",
        ("deploy", "staging"): "staging",
        ("release", "deploy"): "production",
        ("release", "approve"): "production-approval",
        ("release", "rollback"): "production",
        ("rollback", "rollback"): "${{ inputs.environment }}",
    }
    # The jobs that may ask for an OIDC token are exactly these.
    assert {key for key, job in jobs.items() if job["permissions"].get("id-token") == "write"} == set(jobs)
    for key, job in jobs.items():
        # A fork's copy of the workflow skips them (it has no environments or role trust anyway).
        assert "!github.event.repository.fork" in job["if"], key
        (credentials,) = [step for step in job["steps"] if _uses(step) == AWS_CREDENTIALS]
        assert credentials["with"]["role-to-assume"] == "${{ vars.DEPLOYMENT_ROLE_ARN }}", key
        assert credentials["with"]["aws-region"] == "us-east-1", key
        assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials["with"]), key
    texts = " ".join(path.read_text() for path in WORKFLOWS.glob("*.yml"))
    assert "secrets." not in texts and "AWS_ACCESS_KEY_ID" not in texts


def test_production_is_a_tag_through_two_reviewed_environments() -> None:
    jobs = ALL["release"]["jobs"]
    deploy_steps = [step for step in jobs["deploy"]["steps"] if "run" in step]
    assert [step["run"] for step in deploy_steps] == ["make deploy-production", "make smoke-test-production"]
    assert deploy_steps[0]["env"]["IMAGE_TAG"] == "${{ github.ref_name }}"
    assert deploy_steps[0]["env"]["REQUIRE_APPROVAL"] == "never"
    # The approval runs beside the deploy (which waits for it), not after it.
    assert jobs["approve"]["needs"] == "test" and jobs["deploy"]["needs"] == "test"
    assert [step["run"] for step in jobs["approve"]["steps"] if "run" in step] == [
        "make deploy-status ENV=production",
        "make approve ENV=production",
    ]
    # Rolled back only when the smoke test failed, not when the deploy did (already rolled back).
    assert jobs["rollback"]["if"] == (
        "${{ failure() && !github.event.repository.fork && needs.deploy.outputs.smoke-test == 'failure' }}"
    )
    assert jobs["deploy"]["outputs"]["smoke-test"] == "${{ steps.smoke-test.outcome }}"


def test_dev_and_staging_deploy_their_branch() -> None:
    jobs = ALL["deploy"]["jobs"]
    for env, branch in (("dev", "develop"), ("staging", "staging")):
        job = jobs[env]
        assert f"github.ref == 'refs/heads/{branch}'" in job["if"]
        assert [step["run"] for step in job["steps"] if "run" in step] == [
            f"make deploy-{env}",
            f"make smoke-test-{env}",
        ]
        env_vars = job["steps"][-2]["env"]
        assert env_vars == {
            "REQUIRE_APPROVAL": "never",
            "IMAGE_TAG": "${{ inputs.image_tag || vars.IMAGE_TAG }}",
            f"CLEVER_BETTER_{env.upper()}_ACCOUNT": f"${{{{ vars.CLEVER_BETTER_{env.upper()}_ACCOUNT }}}}",
        }


def test_deploys_are_serialized_and_never_cancelled() -> None:
    assert ALL["deploy"]["concurrency"] == {
        "group": "deploy-${{ github.ref_name }}",
        "cancel-in-progress": False,
    }
    assert ALL["release"]["concurrency"] == {"group": "release-production", "cancel-in-progress": False}
    assert ALL["rollback"]["jobs"]["rollback"]["concurrency"] == {
        "group": "rollback-${{ inputs.environment }}",
        "cancel-in-progress": False,
    }


def test_every_job_has_a_timeout_and_checks_out_without_credentials() -> None:
    checkouts = [step for _, _, step in _steps() if _uses(step) == "actions/checkout"]
    assert len(checkouts) == len(_jobs()) > 5
    for step in checkouts:
        assert step["with"]["persist-credentials"] is False
    for name, job_id, job in _jobs():
        assert 0 < job["timeout-minutes"] <= 180, (name, job_id)


def test_pull_requests_run_make_test_and_get_the_diff_report() -> None:
    jobs = ALL["ci"]["jobs"]
    # The same command as .ci/run and the README (tests/unit/test_docs.py checks those two).
    assert [step["run"] for step in jobs["test"]["steps"] if "run" in step][-1] == "make test"
    (checkout, *_) = jobs["synth"]["steps"]
    assert checkout["with"]["fetch-depth"] == 0  # the merge-base is synthesized too
    runs = [step for step in jobs["synth"]["steps"] if "run" in step]
    assert [step["run"] for step in runs] == ["make install", "make synth", "make cfn-lint", "make diff"]
    # Against the merge commit's first parent (the base branch's tip), into the file uploaded.
    assert runs[-1]["env"] == {
        "BASE": "${{ github.event.pull_request.base.sha }}",
        "DIFF_REPORT": "cdk.out.diff/report.md",
    }
    (upload,) = [step for step in jobs["synth"]["steps"] if _uses(step) == "actions/upload-artifact"]
    assert upload["with"]["path"] == "cdk.out.diff/report.md"
    (comment,) = [step for step in jobs["comment"]["steps"] if "run" in step]
    assert comment == {
        "env": {"GH_TOKEN": "${{ github.token }}"},
        "run": "make pr-comment FILE=cdk.out.diff/report.md",
    }
    # The job that runs the change's code holds no write token; the one that comments runs only
    # the comment tool.
    assert jobs["synth"]["permissions"] == {"contents": "read"}


def test_zizmor_finds_nothing() -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "zizmor"), "--offline", "--no-progress", ".github/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout


def test_dependabot_updates_quarterly_grouped() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert sorted(updates) == ["github-actions", "npm", "pip"]
    groups = {"pip": "python", "npm": "npm", "github-actions": "actions"}
    for ecosystem, update in updates.items():
        assert update["directory"] == "/", ecosystem
        # The runbook's quarterly dependency updates, one pull request per ecosystem.
        assert update["schedule"] == {"interval": "quarterly"}, ecosystem
        assert update["groups"] == {groups[ecosystem]: {"patterns": ["*"]}}, ecosystem
        assert update["cooldown"] == {"default-days": 7}, ecosystem


@pytest.mark.parametrize("name", ["ci", "deploy", "release", "rollback"])
def test_each_workflow_says_why_forks_cannot_misuse_it(name: str) -> None:
    assert "# Forks: " in (WORKFLOWS / f"{name}.yml").read_text()
