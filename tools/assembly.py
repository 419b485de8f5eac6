"""Synthesize a checkout of this app offline, the way `cdk synth` runs it, and read the assembly back.

Shared by `make diff` (tools/synth_diff.py) and the tests (tests/support.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_BIN = ROOT / "node_modules" / ".bin"


def cli_context(tree: Path = ROOT) -> dict[str, Any]:
    """What `cdk synth` hands the app: cdk.json's context plus what the CLI derives from its own
    settings there (pathMetadata, assetMetadata, versionReporting; aws:cdk:* keys are the CLI's
    to set, never cdk.json's)."""
    settings = json.loads((tree / "cdk.json").read_text())
    return {
        **settings["context"],
        "aws:cdk:enable-path-metadata": settings["pathMetadata"],
        "aws:cdk:enable-asset-metadata": settings["assetMetadata"],
        "aws:cdk:disable-version-reporting": not settings["versionReporting"],
    }


def synth_command(
    tree: Path, outdir: Path, context: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """`python app.py` in `tree` writing to `outdir`: cdk.json's context (plus `context`, e.g.
    `environments`), no account variables (placeholder accounts, so two trees synthesize
    comparably, nothing reaches AWS and no real account id lands in a generated file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_BETTER_")}
    env.update(
        PATH=f"{NODE_BIN}{os.pathsep}{env.get('PATH', '')}",
        CDK_OUTDIR=str(outdir),
        CDK_CONTEXT_JSON=json.dumps({**cli_context(tree), **(context or {})}),
    )
    return [sys.executable, "app.py"], env


def synth(tree: Path, outdir: Path) -> subprocess.Popen[str]:
    """Start synthesizing `tree` into `outdir`; the caller waits (two trees run side by side)."""
    command, env = synth_command(tree, outdir)
    return subprocess.Popen(
        command, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def synthesize(outdir: Path, *, context: Mapping[str, str] | None = None) -> None:
    """Synthesize this checkout into `outdir` and wait; a failure is one line (SystemExit)."""
    command, env = synth_command(ROOT, outdir, context)
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        raise SystemExit(f"error: synth failed: {lines[-1] if lines else f'exit {result.returncode}'}")


@dataclass(frozen=True)
class Stack:
    name: str
    stage: str
    region: str
    template: Mapping[str, Any]


def load(outdir: Path) -> dict[str, Stack]:
    """Every stack of a cloud assembly (one nested assembly per stage), by stack name."""
    stacks: dict[str, Stack] = {}
    top = json.loads((outdir / "manifest.json").read_text())
    for artifact in top["artifacts"].values():
        if artifact["type"] != "cdk:cloud-assembly":
            continue
        folder = outdir / artifact["properties"]["directoryName"]
        stage = artifact["properties"]["displayName"]
        manifest = json.loads((folder / "manifest.json").read_text())
        for stack in manifest["artifacts"].values():
            if stack["type"] != "aws:cloudformation:stack":
                continue
            properties = stack["properties"]
            name = properties["stackName"]
            template = json.loads((folder / properties["templateFile"]).read_text())
            region = stack["environment"].rsplit("/", 1)[-1]
            stacks[name] = Stack(name=name, stage=stage, region=region, template=template)
    return stacks


def templates(outdir: Path) -> dict[str, dict[str, Any]]:
    """Every stack's template by stack name."""
    return {name: dict(stack.template) for name, stack in load(outdir).items()}
