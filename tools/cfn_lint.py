"""`make cfn-lint`: cfn-lint over every stack template in a cloud assembly (default cdk.out).

    python tools/cfn_lint.py [ASSEMBLY_DIR]

Reads the assembly's manifests (stages are nested assemblies), lints each stack's template in
its own region, and fails on any error or warning. The ignore policy is the quality gate's
(tests/unit/test_quality_gates.py, which lints the templates the tests synthesize): this
applies the same policy to what the CDK CLI wrote, so the two cannot drift apart.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cfnlint.api import ManualArgs, lint  # noqa: E402 - after the path, as a script

# Loaded by name: mypy checks tools/, not the test module this policy lives in.
_GATE = importlib.import_module("tests.unit.test_quality_gates")
CFN_LINT_IGNORED: dict[str, str] = _GATE.CFN_LINT_IGNORED
CFN_LINT_IGNORED_WHEN: dict[str, tuple[re.Pattern[str], str]] = _GATE.CFN_LINT_IGNORED_WHEN


def stacks(assembly: Path) -> Iterator[tuple[str, str, Path]]:
    """(stack name, region, template file) for every stack, nested assemblies included."""
    manifest: dict[str, Any] = json.loads((assembly / "manifest.json").read_text())
    for artifact in manifest.get("artifacts", {}).values():
        properties = artifact.get("properties", {})
        if artifact["type"] == "cdk:cloud-assembly":
            yield from stacks(assembly / properties["directoryName"])
        elif artifact["type"] == "aws:cloudformation:stack":
            region = artifact["environment"].rsplit("/", 1)[1]
            yield properties["stackName"], region, assembly / properties["templateFile"]


def problems(template: str, region: str) -> list[str]:
    matches = lint(template, regions=[region], config=ManualArgs(ignore_checks=list(CFN_LINT_IGNORED)))
    return [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        if m.rule.id[0] in "EW"
        and not (m.rule.id in CFN_LINT_IGNORED_WHEN and CFN_LINT_IGNORED_WHEN[m.rule.id][0].search(m.message))
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1:
        print("usage: python tools/cfn_lint.py [ASSEMBLY_DIR]", file=sys.stderr)
        return 2
    assembly = Path(args[0] if args else "cdk.out")
    if not (assembly / "manifest.json").is_file():
        print(f"error: no cloud assembly in {assembly}; run make synth first", file=sys.stderr)
        return 2
    found = sorted(stacks(assembly))
    if not found:
        print(f"error: {assembly} holds no stack templates", file=sys.stderr)
        return 2
    failed = 0
    for name, region, path in found:
        for problem in problems(path.read_text(), region):
            print(f"{name} ({region}): {problem}")
            failed += 1
    if failed:
        print(f"cfn-lint: {failed} error(s) or warning(s) in {len(found)} templates", file=sys.stderr)
        return 1
    print(f"cfn-lint: {len(found)} templates, no errors or warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
