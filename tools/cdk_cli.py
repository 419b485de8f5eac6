"""Run the CDK CLI for the Makefile: user-set values never reach a shell, DRY_RUN is honoured.

    python tools/cdk_cli.py synth
    python tools/cdk_cli.py diff ENV
    python tools/cdk_cli.py deploy ENV
    python tools/cdk_cli.py bootstrap ENV

Reads IMAGE_TAG, CDK_ARGS, REQUIRE_APPROVAL and DRY_RUN from the environment (the Makefile
exports them). REQUIRE_APPROVAL is the deploy's `--require-approval`: `broadening` (default: a
security-broadening change asks at the terminal) or `never`, for the pipeline, which has no
terminal and has shown those changes in the pull request's report (`make diff`) and gates
staging and production behind reviewed GitHub environments.
CDK_ARGS is split as a shell would split words, but never run by one; every `-c`/`--context`
in it must be `key=value` (the CLI drops one without `=` with only a warning, and synth would
silently fall back to a placeholder account). IMAGE_TAG is validated as configuration is.
With DRY_RUN set, the exact commands are printed and none is run. Errors are one line.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import ConfigError, load  # noqa: E402 - after the path, as a script
from config.model import ENVIRONMENTS  # noqa: E402

CDK = [str(ROOT / "node_modules" / ".bin" / "cdk"), "--no-notices"]
# Each environment's stack selections (production's DR stage in us-west-2 too).
SELECTIONS = {
    "dev": ["dev/*"],
    "staging": ["staging/*"],
    "production": ["production/*", "production-dr/*"],
}


APPROVALS = ("broadening", "never")
# Where a deploy's one synthesis goes (cdk.out.production, ...), beside `make synth`'s cdk.out.
ASSEMBLY_PREFIX = "cdk.out."


def deploy_order(env: str) -> list[list[str]]:
    """The stack selections of each deploy, in order. Production: the DR region's data and
    registry first (they receive production's copies, and production reads the DR key's ARN),
    then production, then the rest of the DR region (the pilot light reads the secrets stack's
    outputs, the replicas' ARNs). Each deploy also deploys what its stacks depend on."""
    if env != "production":
        return [SELECTIONS[env]]
    return [["production-dr/data", "production-dr/registry"], ["production/*"], ["production-dr/*"]]


class UsageError(Exception):
    """One line for the operator; exit 2."""


def cdk_args(raw: str) -> list[str]:
    """CDK_ARGS as words; refuses what would be dropped or misread."""
    try:
        words = shlex.split(raw)
    except ValueError as error:
        raise UsageError(f"CDK_ARGS cannot be read ({error}); quote it as one shell word") from None
    for index, word in enumerate(words):
        if word in ("-c", "--context"):
            value = words[index + 1] if index + 1 < len(words) else ""
            if "=" not in value or value.startswith("="):
                raise UsageError(
                    f"CDK_ARGS: context argument {value!r} is not key=value, "
                    "e.g. -c production_account=123456789012"
                )
    return words


def commands(action: str, env: str | None, environ: Mapping[str, str]) -> list[list[str]]:
    """The CDK CLI invocations for `action` in `env`, in order."""
    extra = cdk_args(environ.get("CDK_ARGS", ""))
    tag = environ.get("IMAGE_TAG", "")
    if env is not None and env not in ENVIRONMENTS:
        raise UsageError(f"unknown environment {env!r}; expected one of {', '.join(ENVIRONMENTS)}")
    if tag:
        try:
            load((env or "dev",), image_tag=tag)
        except ConfigError as error:
            raise UsageError(f"configuration error: {error}") from None
    tag_args = ["-c", f"image_tag={tag}"] if tag else []
    approval = environ.get("REQUIRE_APPROVAL") or "broadening"
    if approval not in APPROVALS:
        raise UsageError(
            f"REQUIRE_APPROVAL={approval!r} is not allowed; expected one of {', '.join(APPROVALS)}"
        )
    if action == "synth":
        return [[*CDK, "synth", "--quiet", *extra]]
    assert env is not None
    # Only this environment is synthesized (app.py's `environments`), not all four stages.
    only = ["-c", f"environments={env}"]
    if action == "diff":
        return [[*CDK, "diff", *SELECTIONS[env], *only, *tag_args, *extra]]
    if action == "bootstrap":
        return [[*CDK, "bootstrap", *SELECTIONS[env], *only, *extra]]
    if action == "deploy":
        # Synthesized once; each deploy (production: the DR stage first) reads that assembly, so
        # both deploy exactly the same templates and the app is not synthesized per deploy.
        assembly = f"{ASSEMBLY_PREFIX}{env}"
        return [
            [*CDK, "synth", "--quiet", *only, *tag_args, *extra, "--output", assembly],
            *(
                [*CDK, "deploy", "--app", assembly, *selection, "--require-approval", approval, *extra]
                for selection in deploy_order(env)
            ),
        ]
    raise UsageError(f"unknown action {action!r}; expected synth, diff, deploy or bootstrap")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    if not args or len(args) > 2 or (args[0] != "synth" and len(args) != 2):
        print("usage: python tools/cdk_cli.py synth | {diff,deploy,bootstrap} ENV", file=sys.stderr)
        return 2
    try:
        planned = commands(args[0], args[1] if len(args) == 2 else None, environ)
    except UsageError as error:
        text = str(error)
        print(text if text.startswith("configuration error") else f"error: {text}", file=sys.stderr)
        return 2
    for command in planned:
        shown = shlex.join(["cdk", *command[1:]])
        if environ.get("DRY_RUN"):
            print(f"[dry-run] {shown}")
            continue
        print(f"+ {shown}", flush=True)
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
