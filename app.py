#!/usr/bin/env python3
"""CDK entry point: the only place that reads context and environment variables.

Context (all optional):
  -c environments=dev[,staging,...]   synthesize only these environments (default: all)
  -c dev_account=123456789012         real account ids (also CLEVER_BETTER_DEV_ACCOUNT, ...)
  -c image_tag=v1.4.2                 the release all three services run; default
                                      config.model.DEFAULT_IMAGE_TAG ("bootstrap")
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

import config
from config.model import ENVIRONMENTS
from stacks.stages import add_environment


def _settings(app: cdk.App, environ: Mapping[str, str]) -> tuple[tuple[str, ...], dict[str, str], str | None]:
    selected = app.node.try_get_context("environments")
    names = tuple(n.strip() for n in str(selected).split(",") if n.strip()) if selected else ENVIRONMENTS
    accounts = {}
    for name in ENVIRONMENTS:
        value = app.node.try_get_context(f"{name}_account") or environ.get(
            f"CLEVER_BETTER_{name.upper()}_ACCOUNT"
        )
        if value:
            accounts[name] = str(value)
    image_tag = app.node.try_get_context("image_tag")
    return names, accounts, None if image_tag is None else str(image_tag)


def create_app(
    *,
    context: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    outdir: str | None = None,
) -> cdk.App:
    """Build the whole app. Tests call this with cdk.json's context, as the CLI does."""
    app = cdk.App(context=dict(context) if context is not None else None, outdir=outdir)
    names, accounts, image_tag = _settings(app, os.environ if environ is None else environ)
    for cfg in config.load(names, accounts=accounts, image_tag=image_tag):
        add_environment(app, cfg)
    add_compliance_checks(app)
    return app


def add_compliance_checks(app: cdk.App) -> None:
    """cdk-nag v3 runs as a validation plugin: any unacknowledged finding fails synth."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))


def findings(report_file: Path) -> list[str]:
    """The unacknowledged findings in a synth's validation report, as `Pack::Rule path`."""
    if not report_file.exists():
        return []
    report = json.loads(report_file.read_text())
    found = []
    for plugin in report.get("pluginReports", []):
        if plugin.get("conclusion") != "failure":
            continue
        named = [
            f"{plugin['pluginName']}::{violation['ruleName']} {construct['constructPath']}"
            for violation in plugin.get("violations", [])
            for construct in violation.get("violatingConstructs", [])
        ]
        # A plugin that crashed fails with no violation; its error is in the metadata.
        error = (plugin.get("metadata") or {}).get("error", "no reason given")
        found += named or [f"{plugin['pluginName']} failed: {error}"]
    return found


def synthesize(app: cdk.App) -> None:
    """Synthesize, and fail on any unacknowledged finding. Under the CDK CLI (the app runs in
    "process" mode) a failed validation only sets the exit code of the jsii kernel's Node
    process, not ours: the CLI would report success. So the report decides."""
    assembly = app.synth()
    found = findings(Path(assembly.directory) / "validation-report.json")
    if found:
        shown = "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
        sys.exit(
            f"synth failed: {len(found)} unacknowledged cdk-nag finding(s): {shown}. "
            f"Fix them or acknowledge each on its construct (components/nag.py); "
            f"report: {assembly.directory}/validation-report.json"
        )


def main() -> None:
    try:
        app = create_app()
    except config.ConfigError as error:
        sys.exit(f"configuration error: {error}")
    synthesize(app)


if __name__ == "__main__":
    main()
