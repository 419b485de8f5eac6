"""`make pr-comment FILE=report.md`: a report as the pull request's one sticky comment and as
the job summary, in GitHub Actions.

    FILE=cdk.out.diff/report.md GH_TOKEN=... python tools/pr_comment.py

Reads the pull request from the event GitHub wrote ($GITHUB_EVENT_PATH) and appends FILE to
$GITHUB_STEP_SUMMARY when that is set. Then, with the gh CLI (on GitHub's runners), it edits
the comment this workflow posted before (the hidden marker, author github-actions[bot]) or posts
the first one, so a pull request carries one report that follows its latest push, not one per
push. A fork's pull request gets a read-only token: one line says the comment was skipped, and
it exits 0. DRY_RUN=1 prints the gh calls and changes nothing (not the summary either).
Stdlib only: it runs on the runner's python3 without the project's virtualenv. Errors are one
line; the token is never printed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MARKER = "<!-- clever-better:pr-comment -->"
# The author of comments made with a workflow's GITHUB_TOKEN.
BOT = "github-actions[bot]"
# GitHub refuses a comment body over 65,536 characters and a step summary over 1 MiB (bytes).
COMMENT_LIMIT = 65_536
SUMMARY_LIMIT = 1_000_000
REPOSITORY = re.compile(r"^[\w.-]+/[\w.-]+$")


class Stop(Exception):
    """One line for the log; the exit code."""

    def __init__(self, line: str, code: int) -> None:
        super().__init__(line)
        self.code = code


def _pull_request(environ: Mapping[str, str]) -> tuple[str, int, bool]:
    """(repository, number, from a fork) of the event's pull request."""
    path = environ.get("GITHUB_EVENT_PATH", "")
    try:
        event: dict[str, Any] = json.loads(Path(path).read_text()) if path else {}
    except (OSError, ValueError) as error:
        raise Stop(f"error: cannot read the GitHub event {path!r} ({error})", 2) from None
    pull = event.get("pull_request")
    if not isinstance(pull, dict):
        raise Stop("error: no pull request in this event; make pr-comment runs on pull_request", 2)
    base = str(((pull.get("base") or {}).get("repo") or {}).get("full_name", ""))
    head_repo = (pull.get("head") or {}).get("repo") or {}
    number = pull.get("number")
    if not REPOSITORY.match(base) or not isinstance(number, int):
        raise Stop(f"error: unexpected pull request in the event: {base!r} #{number!r}", 2)
    # A deleted fork has no head repository; it is still not this repository.
    return base, number, head_repo.get("full_name") != base


def body(report: str, run_url: str) -> str:
    """The marker, then the report, cut to fit GitHub's comment limit."""
    text = f"{MARKER}\n{report}"
    if len(text) <= COMMENT_LIMIT:
        return text
    note = f"\n\n... truncated: the whole report is in the job summary of {run_url or 'this run'}\n"
    return text[: COMMENT_LIMIT - len(note)] + note


def _gh(args: list[str], stdin: str | None = None) -> str:
    """gh's output; its last error line (never the token: gh does not print it) on failure."""
    # stdin is always given (empty when unused): gh must never wait on a terminal.
    result = subprocess.run(["gh", *args], input=stdin or "", capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise Stop(f"error: gh api {args[-1]} failed: {reason}", 1)
    return result.stdout


def run(environ: Mapping[str, str]) -> str:
    """Do it; returns the line to print."""
    name = environ.get("FILE", "")
    if not name:
        raise Stop("error: FILE is required, e.g. make pr-comment FILE=cdk.out.diff/report.md", 2)
    path = Path(name)
    if not path.is_file():
        raise Stop(f"error: FILE {name!r} is not a file", 2)
    report = path.read_text()
    repository, number, fork = _pull_request(environ)
    dry_run = bool(environ.get("DRY_RUN"))
    summary = environ.get("GITHUB_STEP_SUMMARY", "")
    if summary:
        if dry_run:
            print(f"[dry-run] append {name} to the job summary")
        else:
            with open(summary, "a", encoding="utf-8") as out:
                out.write(report.encode()[:SUMMARY_LIMIT].decode(errors="ignore") + "\n")
    if fork:
        return f"pr-comment: skipped: #{number} comes from a fork, whose token cannot comment"
    find = [
        "api",
        "--paginate",
        "--jq",
        f'.[] | select(.user.login == "{BOT}" and (.body | contains("{MARKER}"))) | .id',
        f"repos/{repository}/issues/{number}/comments",
    ]
    post = ["api", "--method", "POST", "--input", "-", f"repos/{repository}/issues/{number}/comments"]
    if dry_run:
        print(f"[dry-run] {shlex.join(['gh', *find])}")
        print(f"[dry-run] {shlex.join(['gh', *post])}  (or PATCH the comment the first call finds)")
        return "pr-comment: dry run, nothing posted"
    if not shutil.which("gh"):
        raise Stop("error: the gh CLI is not on PATH (GitHub's runners have it)", 2)
    if not environ.get("GH_TOKEN"):
        raise Stop("error: GH_TOKEN is not set; the workflow passes github.token", 2)
    server = environ.get("GITHUB_SERVER_URL", "https://github.com")
    run_id = environ.get("GITHUB_RUN_ID", "")
    run_url = f"{server}/{repository}/actions/runs/{run_id}" if run_id else ""
    payload = json.dumps({"body": body(report, run_url)})
    existing = [word for word in _gh(find).split() if word.isdigit()]
    if existing:
        comment = f"repos/{repository}/issues/comments/{existing[0]}"
        _gh(["api", "--method", "PATCH", "--input", "-", comment], payload)
        return f"pr-comment: updated the report on #{number}"
    _gh(post, payload)
    return f"pr-comment: posted the report on #{number}"


def main(environ: Mapping[str, str] | None = None, argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv):
        print("usage: FILE=report.md python tools/pr_comment.py", file=sys.stderr)
        return 2
    try:
        print(run(os.environ if environ is None else environ))
    except Stop as stop:
        print(stop, file=sys.stderr if stop.code else sys.stdout)
        return stop.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
