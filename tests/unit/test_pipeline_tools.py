"""The pipeline's tools: `make pr-comment` (tools/pr_comment.py) against a stand-in gh, and
`make cfn-lint` (tools/cfn_lint.py) on cloud assemblies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, STACKS

MARKER = "<!-- clever-better:pr-comment -->"
# A gh that logs each call (arguments, stdin) and answers the comment search with $GH_FOUND.
FAKE_GH = """#!/usr/bin/env python3
import json, os, sys
stdin = sys.stdin.read()
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps({"args": sys.argv[1:], "stdin": stdin}) + "\\n")
if os.environ.get("GH_FAIL"):
    print("gh: Resource not accessible by integration (HTTP 403)", file=sys.stderr)
    sys.exit(1)
if "--paginate" in sys.argv:
    print(os.environ.get("GH_FOUND", ""))
"""


def _event(tmp_path: Path, *, head: str | None = "acme/infra", number: int = 7) -> Path:
    pull: dict[str, Any] = {
        "number": number,
        "base": {"repo": {"full_name": "acme/infra"}},
        "head": {"repo": None if head is None else {"full_name": head}},
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"action": "synchronize", "pull_request": pull}))
    return path


def _run(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """tools/pr_comment.py with only the variables given (none of this runner's GITHUB_*)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(0o755)
    log = tmp_path / "gh.log"
    base = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GH_LOG": str(log),
        "GH_TOKEN": "ghs_secret",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "pr_comment.py")],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "report.md"
    path.write_text("## cdk diff\n\nproduction: no changes\n")
    return path


def test_first_report_is_posted_with_the_marker(tmp_path: Path, report: Path) -> None:
    summary = tmp_path / "summary.md"
    result, calls = _run(
        tmp_path, FILE=str(report), GITHUB_EVENT_PATH=str(_event(tmp_path)), GITHUB_STEP_SUMMARY=str(summary)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pr-comment: posted the report on #7\n"
    assert [call["args"] for call in calls] == [
        [
            "api",
            "--paginate",
            "--jq",
            f'.[] | select(.user.login == "github-actions[bot]" and (.body | contains("{MARKER}"))) | .id',
            "repos/acme/infra/issues/7/comments",
        ],
        ["api", "--method", "POST", "--input", "-", "repos/acme/infra/issues/7/comments"],
    ]
    assert json.loads(calls[1]["stdin"]) == {"body": f"{MARKER}\n## cdk diff\n\nproduction: no changes\n"}
    assert summary.read_text() == "## cdk diff\n\nproduction: no changes\n\n"
    assert "ghs_secret" not in result.stdout + result.stderr


def test_later_reports_edit_the_same_comment(tmp_path: Path, report: Path) -> None:
    result, calls = _run(
        tmp_path, FILE=str(report), GITHUB_EVENT_PATH=str(_event(tmp_path)), GH_FOUND="4242\n4343"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pr-comment: updated the report on #7\n"
    assert calls[1]["args"] == [
        "api",
        "--method",
        "PATCH",
        "--input",
        "-",
        "repos/acme/infra/issues/comments/4242",
    ]
    assert json.loads(calls[1]["stdin"])["body"].startswith(MARKER)


@pytest.mark.parametrize("head", ["someone/infra", None])
def test_a_forks_pull_request_is_skipped_in_one_line(tmp_path: Path, report: Path, head: str | None) -> None:
    summary = tmp_path / "summary.md"
    result, calls = _run(
        tmp_path,
        FILE=str(report),
        GITHUB_EVENT_PATH=str(_event(tmp_path, head=head)),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == "pr-comment: skipped: #7 comes from a fork, whose token cannot comment\n"
    assert calls == []
    assert summary.read_text().startswith("## cdk diff")  # the summary needs no write token


def test_dry_run_prints_the_calls_and_changes_nothing(tmp_path: Path, report: Path) -> None:
    summary = tmp_path / "summary.md"
    result, calls = _run(
        tmp_path,
        FILE=str(report),
        GITHUB_EVENT_PATH=str(_event(tmp_path)),
        GITHUB_STEP_SUMMARY=str(summary),
        DRY_RUN="1",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"[dry-run] append {report} to the job summary"
    assert lines[1].startswith("[dry-run] gh api --paginate --jq ") and lines[1].endswith(
        " repos/acme/infra/issues/7/comments"
    )
    assert lines[2] == (
        "[dry-run] gh api --method POST --input - repos/acme/infra/issues/7/comments"
        "  (or PATCH the comment the first call finds)"
    )
    assert lines[3:] == ["pr-comment: dry run, nothing posted"]
    assert calls == [] and not summary.exists()


def test_errors_are_one_line(tmp_path: Path, report: Path) -> None:
    event = str(_event(tmp_path))
    cases = [
        (
            {"GITHUB_EVENT_PATH": event},
            2,
            "error: FILE is required, e.g. make pr-comment FILE=cdk.out.diff/report.md",
        ),
        ({"FILE": str(tmp_path / "nope.md"), "GITHUB_EVENT_PATH": event}, 2, "error: FILE '"),
        (
            {"FILE": str(report)},
            2,
            "error: no pull request in this event; make pr-comment runs on pull_request",
        ),
        ({"FILE": str(report), "GITHUB_EVENT_PATH": event, "GH_TOKEN": ""}, 2, "error: GH_TOKEN is not set"),
        (
            {"FILE": str(report), "GITHUB_EVENT_PATH": event, "GH_FAIL": "1"},
            1,
            "error: gh api repos/acme/infra/issues/7/comments failed: "
            "gh: Resource not accessible by integration (HTTP 403)",
        ),
    ]
    for env, code, start in cases:
        result, _ = _run(tmp_path, **env)
        assert result.returncode == code, (env, result.stderr)
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(start), (env, result.stderr)
        assert result.stdout == ""


def test_a_long_report_is_cut_to_fit_a_comment() -> None:
    sys.path.insert(0, str(ROOT))
    from tools.pr_comment import body

    text = body("x" * 70_000, "https://github.com/acme/infra/actions/runs/1")
    assert len(text) == 65_536
    assert text.startswith(MARKER) and text.endswith(
        "... truncated: the whole report is in the job summary of https://github.com/acme/infra/actions/runs/1\n"
    )
    assert body("short", "") == f"{MARKER}\nshort"


def test_make_pr_comment_reads_file_from_the_environment(tmp_path: Path, report: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_"))}
    env |= {"GITHUB_EVENT_PATH": str(_event(tmp_path)), "DRY_RUN": "1"}
    result = subprocess.run(
        ["make", "-s", "pr-comment", f"FILE={report}"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "pr-comment: dry run, nothing posted"


# --- cfn-lint -----------------------------------------------------------------------------


def _run_cfn_lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "tools/cfn_lint.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cfn_lint_finds_every_stack_in_its_region(synthesized: Any, assembly_dir: Path) -> None:
    from tools.cfn_lint import stacks

    found = {name: region for name, region, _ in stacks(assembly_dir)}
    assert found == {name: region for name, (_, region) in STACKS.items()}
    assert found["clever-better-prod-dr-data"] == "us-west-2"


def test_cfn_lint_fails_on_a_finding_and_names_the_stack(tmp_path: Path) -> None:
    nested = tmp_path / "assembly-dev"
    nested.mkdir()
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "assembly-dev": {
                        "type": "cdk:cloud-assembly",
                        "properties": {"directoryName": "assembly-dev"},
                    }
                }
            }
        )
    )
    (nested / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "devprobe": {
                        "type": "aws:cloudformation:stack",
                        "environment": "aws://111111111111/us-east-1",
                        "properties": {"templateFile": "probe.template.json", "stackName": "probe"},
                    }
                }
            }
        )
    )
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"NoSuchProperty": 1}}}}
    (nested / "probe.template.json").write_text(json.dumps(template))
    result = _run_cfn_lint(str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.startswith("probe (us-east-1): E3002 ")
    assert result.stderr == "cfn-lint: 1 error(s) or warning(s) in 1 templates\n"


def test_cfn_lint_without_an_assembly_says_so(tmp_path: Path) -> None:
    result = _run_cfn_lint(str(tmp_path))
    assert result.returncode == 2
    assert result.stderr == f"error: no cloud assembly in {tmp_path}; run make synth first\n"
