"""The operator docs are part of the product: what they name must exist."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

from tests.support import ROOT, STACKS

DOCS = ["README.md", "docs/RUNBOOK.md"]
# A repository path in backticks: `config/names.py`, `tests/unit/stateful_logical_ids.json`,
# `components/functions.py:python_function`. Runtime outputs (.local/, backups/) are not files here.
REPO_PATH = re.compile(r"`((?:[\w.-]+/)+[\w.-]+\.(?:py|json|md|txt|toml))(?::\w+)?`")


def _text(doc: str) -> str:
    return (ROOT / doc).read_text()


def _make_targets() -> set[str]:
    """Targets as make itself sees them (pattern rules expanded by the listed names)."""
    result = subprocess.run(
        ["make", "-pRrq", "-f", "Makefile", ":"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return {m.group(1) for m in re.finditer(r"^([a-zA-Z][\w-]*):", result.stdout, re.M)}


@pytest.mark.parametrize("doc", DOCS)
def test_every_make_command_exists(doc: str) -> None:
    targets = _make_targets()
    used = set(re.findall(r"\bmake ([a-z][\w-]*)", _text(doc)))
    assert used, doc
    assert sorted(used - targets) == []


def test_every_stack_name_exists(templates: dict[str, Any]) -> None:
    # Over all docs together: the README names no stack today, so a per-document check would pass empty.
    named = {
        name
        for doc in DOCS
        for name in re.findall(
            r"clever-better-[a-z-]+-(?:network|data|secrets|registry|services|monitoring)\b", _text(doc)
        )
    }
    assert named, "no stack name found in the docs: the pattern is broken"
    assert sorted(named - set(templates)) == []


def test_runbook_log_groups_exist(templates: dict[str, Any]) -> None:
    defined = {
        r["Properties"]["LogGroupName"]
        for t in templates.values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::Logs::LogGroup"
    }
    named = set(re.findall(r"(/vpc/clever-better-[a-z]+/flow-logs)", _text("docs/RUNBOOK.md")))
    assert named and named <= defined


def test_readme_starts_with_the_two_commands() -> None:
    text = _text("README.md")
    first_block = text.split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in first_block.strip().splitlines()] == [
        "make deploy-local",
        "make test",
    ]


def test_ci_runs_exactly_make_test() -> None:
    lines = [
        line for line in (ROOT / ".ci/run").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert lines[-1] == "make test"
    assert "make test" in (ROOT / ".github/workflows/ci.yml").read_text()


def test_stack_table_matches_app() -> None:
    named = re.findall(
        r"`(clever-better-[a-z-]+-(?:network|data|secrets|registry|services|monitoring|alerting|audit|access))`",
        _text("docs/RUNBOOK.md"),
    )
    assert sorted(STACKS) == sorted(set(named))


@pytest.mark.parametrize("doc", [*DOCS, "lambdas/README.md"])
def test_every_file_path_named_exists(doc: str) -> None:
    named = {m for m in REPO_PATH.findall(_text(doc)) if not m.startswith((".local/", "backups/"))}
    assert named, doc
    assert sorted(path for path in named if not (ROOT / path).is_file()) == []
