"""The MLflow tracking server, for operators (issue 17; docs/RUNBOOK.md "MLflow tracking server").

    python -m ops mlflow-ui --env production [--port 5000] [--dry-run]
    python -m ops model-versions --env production [--model NAME] [--port 5000]

`mlflow-ui` opens the UI on http://localhost:PORT: a Session Manager port-forward to port 5000
of a running `mlflow` task, through the ECS Exec agent the service enables (the server has no
route from the internet). It runs `aws ssm start-session` (the AWS CLI and its Session Manager
plugin) until Ctrl-C; --dry-run prints that command. `model-versions` is the runbook's "List
model versions": it asks MLflow's REST API through that tunnel (open in another terminal) for
every registered model's versions, or one model's. Neither changes anything in AWS.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

from config.names import MLFLOW, MLFLOW_PORT
from ops.core import Command, Context, OpsError, flag, require_services, short, stack_outputs

DOCUMENT = "AWS-StartPortForwardingSession"
HTTP_TIMEOUT = 10
PAGE = 100


def session_command(ctx: Context, *, port: int) -> list[str]:
    """`aws ssm start-session` to a running mlflow task's container, as argv (no shell)."""
    stack_outputs(ctx, "services")
    require_services(ctx, (MLFLOW,))
    cluster = ctx.names.cluster
    if ctx.emulated:
        raise OpsError(
            f"the local emulator runs no tasks: service {MLFLOW} is deployed in cluster {cluster} but has "
            "nothing to forward a port to; run make mlflow-ui against AWS (DRY_RUN=1 prints the session)"
        )
    ecs = ctx.clients("ecs")
    arns = ecs.list_tasks(cluster=cluster, serviceName=MLFLOW, desiredStatus="RUNNING").get("taskArns", [])
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", []) if arns else []
    for task in tasks:
        if task.get("lastStatus") != "RUNNING" or not task.get("enableExecuteCommand"):
            continue
        for container in task.get("containers", []):
            agents = {a.get("name"): a.get("lastStatus") for a in container.get("managedAgents", [])}
            if (
                container.get("name") == MLFLOW
                and container.get("runtimeId")
                and (agents.get("ExecuteCommandAgent") == "RUNNING")
            ):
                target = f"ecs:{cluster}_{short(task['taskArn'])}_{container['runtimeId']}"
                parameters = {"portNumber": [str(MLFLOW_PORT)], "localPortNumber": [str(port)]}
                return [
                    "aws",
                    "ssm",
                    "start-session",
                    "--region",
                    ctx.config.region,
                    "--target",
                    target,
                    "--document-name",
                    DOCUMENT,
                    "--parameters",
                    json.dumps(parameters, separators=(",", ":")),
                ]
    raise OpsError(
        f"no {MLFLOW} task in cluster {cluster} has its ECS Exec agent running ({len(arns)} running "
        f"tasks); check: aws ecs describe-services --cluster {cluster} --services {MLFLOW}"
    )


# The AWS CLI runs the session in the foreground; tests replace it.
start_session = subprocess.run


def mlflow_ui(ctx: Context, args: argparse.Namespace) -> None:
    argv = session_command(ctx, port=args.port)
    line = shlex.join(argv)
    if ctx.dry_run:
        ctx.out(f"[dry-run] {line}")
        return
    ctx.out(f"+ {line}")
    ctx.out(f"MLflow UI: http://localhost:{args.port} (Ctrl-C closes the tunnel)")
    try:
        finished = start_session(argv, check=False)
    except FileNotFoundError:
        raise OpsError(
            "the AWS CLI (aws) is not on PATH; install it and its Session Manager plugin, then rerun"
        ) from None
    except KeyboardInterrupt:  # Ctrl-C: how the tunnel is meant to close
        ctx.out("tunnel closed")
        return
    if finished.returncode:
        raise OpsError(
            f"aws ssm start-session exited {finished.returncode}; it needs the Session Manager plugin "
            "and ssm:StartSession on the task (the AdminRole; ReadOnlyRole has none: MLflow takes writes)"
        )


def _get(base: str, path: str, query: dict[str, str]) -> dict[str, Any]:
    url = f"{base}/api/2.0/mlflow/{path}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer
    except urllib.error.HTTPError as error:
        detail = error.read(300).decode(errors="replace").strip()
        raise OpsError(f"MLflow at {base} answered {error.code} to {path}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise OpsError(
            f"no MLflow at {base} ({reason}); open the tunnel first, in another terminal: "
            "make mlflow-ui ENV=..."
        ) from None


def _pages(base: str, path: str, key: str, query: dict[str, str]) -> list[dict[str, Any]]:
    """Every page's `key` items; a page token seen before ends it (a server repeating one
    would otherwise keep this asking)."""
    items: list[dict[str, Any]] = []
    token, seen = "", set()
    while True:
        answer = _get(
            base, path, {**query, "max_results": str(PAGE), **({"page_token": token} if token else {})}
        )
        items += answer.get(key, [])
        token = str(answer.get("next_page_token", ""))
        if not token or token in seen:
            return items
        seen.add(token)


def _newest_first(version: dict[str, Any]) -> tuple[int, int, str]:
    """Numeric versions (MLflow's) by value, newest first; anything else after them."""
    number = str(version.get("version", ""))
    return (0, -int(number), "") if number.isdigit() else (1, 0, number)


def _when(millis: Any) -> str:
    if not isinstance(millis, int | str) or not str(millis).isdigit():
        return "-"
    return datetime.fromtimestamp(int(millis) / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def model_versions(ctx: Context, args: argparse.Namespace) -> None:
    if ctx.emulated:
        raise OpsError(
            "the local emulator runs no MLflow server: list model versions against AWS, through "
            "make mlflow-ui ENV=... in another terminal"
        )
    base = f"http://127.0.0.1:{args.port}"
    if ctx.dry_run:
        ctx.out("[dry-run] it only reads MLflow's API; it is the same with or without DRY_RUN")
    if args.model is not None:
        if not _filterable(args.model):
            raise OpsError(f"model name {args.model!r} is not allowed: give a registered model's name")
        # A name MLflow does not know answers 404 (RESOURCE_DOES_NOT_EXIST): said in one line.
        _get(base, "registered-models/get", {"name": args.model})
        models = [args.model]
    else:
        models = [m["name"] for m in _pages(base, "registered-models/search", "registered_models", {})]
    if not models:
        ctx.out(f"no registered models in the MLflow at {base}")
        return
    ctx.out(f"{'MODEL':<32} {'VERSION':>7}  {'STAGE':<10} {'STATUS':<20} {'ALIASES':<16} {'CREATED':<20} RUN")
    for name in models:
        if not _filterable(name):
            ctx.out(f"{name!r}: a name the search filter cannot quote; see it in make mlflow-ui")
            continue
        versions = _pages(base, "model-versions/search", "model_versions", {"filter": f"name='{name}'"})
        if not versions:
            ctx.out(f"{name:<32} {'-':>7}  (no versions)")
        for version in sorted(versions, key=_newest_first):
            ctx.out(
                f"{name:<32} {version.get('version', '-'):>7}  {version.get('current_stage', '-'):<10} "
                f"{version.get('status', '-'):<20} {','.join(version.get('aliases', [])) or '-':<16} "
                f"{_when(version.get('creation_timestamp')):<20} {version.get('run_id', '-')}"
            )


def _filterable(name: str) -> bool:
    """Whether `name` can stand quoted in MLflow's search filter (`name='...'`)."""
    return bool(name) and "'" not in name and "\\" not in name


def _port(value: str) -> int:
    if not value.isdigit() or not 1024 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port from 1024 to 65535")
    return int(value)


PORT_FLAG = flag(
    "--port", type=_port, default=MLFLOW_PORT, help=f"the tunnel's local port (default {MLFLOW_PORT})"
)

COMMANDS = (
    Command(
        "mlflow-ui",
        "Open the MLflow UI on localhost through a Session Manager port-forward to a running mlflow task",
        mlflow_ui,
        (PORT_FLAG,),
    ),
    Command(
        "model-versions",
        "List the MLflow registry's model versions (runbook: List model versions) through make mlflow-ui's "
        "tunnel",
        model_versions,
        (PORT_FLAG, flag("--model", help="one registered model (default: every model)")),
    ),
)
