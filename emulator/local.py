"""Run the local AWS emulator and `cdk deploy` the dev stacks into it.

    python -m emulator serve   --port 4599                # foreground: moto + adapter
    python -m emulator deploy  --port 4599 --state .local # start if needed, bootstrap, deploy
    python -m emulator diff    --port 4599 --state .local # cdk diff dev against what it deployed
    python -m emulator destroy --state .local             # stop it and remove its state

`make deploy-local` / `make diff-local` / `make destroy-local` call these. The integration
tests use the same functions with a fresh port and state folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# moto's default account; the dev stage is synthesized for it with -c dev_account.
ACCOUNT = "123456789012"
REGION = "us-east-1"
DEFAULT_PORT = 4599
# The one environment the emulator holds (ops --local refuses any other).
ENVIRONMENT = "dev"
STACKS = (f"{ENVIRONMENT}/*",)


def endpoint(port: int) -> str:
    # `localhost`, not 127.0.0.1: the CLI hands CloudFormation a path-style
    # template URL that moto resolves only for this host name.
    return f"http://localhost:{port}"


def aws_env(port: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the CDK CLI and boto3: the emulator, dummy credentials, no network calls."""
    env = dict(os.environ if base is None else base)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        env.pop(key, None)
    env.update(
        AWS_ENDPOINT_URL=endpoint(port),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="true",
        PATH=f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def serve(host: str, port: int) -> None:
    from moto.server import main as moto_main

    from emulator.adapter import install

    install()
    moto_main(["-H", host, "-p", str(port)])


def is_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint(port)}/moto-api/config", timeout=2) as resp:
            return 200 <= int(resp.status) < 300
    except (urllib.error.URLError, OSError):
        return False


def start(state: Path, port: int, *, timeout: float = 60.0) -> None:
    """Start the emulator in the background unless it already answers on `port`."""
    state.mkdir(parents=True, exist_ok=True)
    if is_up(port):
        print(f"emulator already running on {endpoint(port)}")
        return
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            sys.exit(f"port {port} is taken by something that is not the emulator")
    log = (state / "emulator.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # survives `make`; stopped by destroy
    )
    (state / "emulator.pid").write_text(f"{process.pid}\n")
    deadline = time.monotonic() + timeout
    while not is_up(port):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"emulator did not start; see {state / 'emulator.log'}")
        time.sleep(0.2)
    print(f"emulator started on {endpoint(port)} (pid {process.pid})")


def stop(state: Path) -> None:
    pid_file = state / "emulator.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text())
        try:
            os.killpg(pid, signal.SIGTERM)
            for _ in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        print(f"emulator (pid {pid}) stopped")
    if state.exists():
        shutil.rmtree(state)
        print(f"removed {state}")


def cdk(
    args: Sequence[str],
    *,
    port: int,
    state: Path,
    context: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> None:
    extra = [arg for key, value in (context or {}).items() for arg in ("--context", f"{key}={value}")]
    command = [
        str(ROOT / "node_modules" / ".bin" / "cdk"),
        *args,
        "--no-notices",
        "--output",
        str(state / "cdk.out"),
        "--context",
        f"environments={ENVIRONMENT}",
        "--context",
        f"{ENVIRONMENT}_account={ACCOUNT}",
        *extra,
    ]
    if dry_run:
        print(f"[dry-run] AWS_ENDPOINT_URL={endpoint(port)} {shlex.join(command)}")
        return
    print("+ " + " ".join(command), flush=True)
    result = subprocess.run(command, cwd=ROOT, env=aws_env(port))
    if result.returncode != 0:
        sys.exit(f"cdk {args[0]} failed with exit code {result.returncode}")


def deploy(state: Path, port: int, *, image_tag: str | None = None) -> dict[str, dict[str, str]]:
    """Start (if needed), bootstrap and deploy dev; return and print the stack outputs."""
    start(state, port)
    cdk(["bootstrap", f"aws://{ACCOUNT}/{REGION}"], port=port, state=state)
    # The rest of `make bootstrap-dev`: the service-linked roles the stacks name (AWS Config's
    # recorder records with its own); the emulator refuses a recorder whose role does not exist.
    roles = subprocess.run(
        [sys.executable, "-m", "ops", "--env", "dev", "--local", str(port), "service-linked-roles"], cwd=ROOT
    )
    if roles.returncode != 0:
        sys.exit(f"python -m ops service-linked-roles failed with exit code {roles.returncode}")
    outputs_file = state / "outputs.json"
    cdk(
        [
            "deploy",
            *STACKS,
            # The emulator's change-set path is unreliable (lost outputs, 500s on
            # a no-change redeploy); direct create/update is what it models well.
            "--method=direct",
            "--previous-parameters=false",
            "--require-approval=never",
            "--outputs-file",
            str(outputs_file),
        ],
        port=port,
        state=state,
        context={"image_tag": image_tag} if image_tag else None,
    )
    outputs: dict[str, dict[str, str]] = json.loads(outputs_file.read_text())
    print(operator_outputs(outputs))
    print(f"(every output, the CDK's cross-stack exports included: {outputs_file})")
    port_flag = "" if port == DEFAULT_PORT else f" LOCAL_PORT={port}"
    print(f"the runbook's commands against it: make deploy-status ENV={ENVIRONMENT} LOCAL=1{port_flag}")
    return outputs


def diff(state: Path, port: int, *, image_tag: str | None = None, dry_run: bool = False) -> None:
    """`cdk diff` of dev against the stacks deployed in the emulator on `port`."""
    if not dry_run and not is_up(port):
        sys.exit(f"error: no local emulator answers on {endpoint(port)}; start it: make deploy-local")
    cdk(
        # change-set: the emulator answers change sets as CloudFormation does
        # (emulator/change_sets.py); if it ever cannot, fail rather than fall back silently
        # to a template-only diff.
        ["diff", *STACKS, "--method=change-set"],
        port=port,
        state=state,
        context={"image_tag": image_tag} if image_tag else None,
        dry_run=dry_run,
    )


def operator_outputs(outputs: dict[str, dict[str, str]]) -> str:
    """What an operator reads (endpoints, names), one line each; the CDK's cross-stack exports
    (`ExportsOutput...`) stay in the outputs file."""
    return "\n".join(
        f"{stack}.{key} = {value}"
        for stack, values in sorted(outputs.items())
        for key, value in sorted(values.items())
        if not key.startswith("ExportsOutput")
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "start", "deploy", "diff", "destroy"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--port", type=int, default=DEFAULT_PORT)
        cmd.add_argument("--host", default="127.0.0.1")
        cmd.add_argument("--state", type=Path, default=ROOT / ".local")
        cmd.add_argument("--image-tag", help="deploy, diff: the services' image tag (-c image_tag)")
        if name == "diff":  # the others change local state: no dry run to offer
            cmd.add_argument("--dry-run", action="store_true", help="print the cdk command, run nothing")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port)
    elif args.command == "start":
        start(args.state, args.port)
    elif args.command == "deploy":
        deploy(args.state, args.port, image_tag=args.image_tag)
    elif args.command == "diff":
        diff(args.state, args.port, image_tag=args.image_tag, dry_run=args.dry_run)
    else:
        stop(args.state)
