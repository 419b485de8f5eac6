"""Operator commands behind the runbook's Makefile targets, against one environment's AWS.

    python -m ops --env production --dry-run db-snapshot      (as the Makefile calls it)
    python -m ops db-snapshot --env production --dry-run      (the same)
    python -m ops COMMAND --help                              (that command's flags)

They run against real AWS with the caller's credentials, or with --local PORT against the
local emulator `make deploy-local` started (dev only). --dry-run still makes the
read-only calls it needs (describe, list, get) and prints every call that would
change something, as an `aws` command line, without making it.

This module only parses and dispatches: each runbook section's module (ops/bootstrap.py, ops/backup.py,
ops/secrets.py, ops/release.py, ops/maintenance.py, ops/migrations.py, ops/smoke.py, ops/drift.py,
ops/trading.py, ops/dr.py, ops/report.py,
ops/db_maintenance.py, ops/training.py, ops/mlflow.py)
declares its commands and their flags, on top of ops/core.py.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from config.environments import load
from config.model import ENVIRONMENTS, ConfigError
from emulator import local
from ops import (
    backup,
    bootstrap,
    db_maintenance,
    dr,
    drift,
    maintenance,
    migrations,
    mlflow,
    release,
    report,
    retry,
    secrets,
    smoke,
    trading,
    training,
)
from ops.core import Command, Context, OpsError, aws_clients, emulator_clients, utc_now

COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        *bootstrap.COMMANDS,
        *backup.COMMANDS,
        *secrets.COMMANDS,
        *release.COMMANDS,
        *retry.COMMANDS,
        *maintenance.COMMANDS,
        *drift.COMMANDS,
        *report.COMMANDS,
        *db_maintenance.COMMANDS,
        *training.COMMANDS,
        *mlflow.COMMANDS,
        *migrations.COMMANDS,
        *smoke.COMMANDS,
        *trading.COMMANDS,
        *dr.COMMANDS,
    )
}


def _common_flags(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """--env, --dry-run and --date: accepted before the command (as the Makefile passes them)
    and after it. After it they default to SUPPRESS, so that when absent there they leave
    what came before the command alone."""
    absent = argparse.SUPPRESS if after_command else None
    parser.add_argument("--env", default=absent, help=f"one of {', '.join(ENVIRONMENTS)} (required)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=argparse.SUPPRESS if after_command else False,
        help="print the calls that would change something instead of making them",
    )
    parser.add_argument(
        "--date", default=absent, metavar="YYYYMMDD", help="the date in backup names instead of today (UTC)"
    )
    parser.add_argument(
        "--local",
        default=absent,
        metavar="PORT",
        help=f"run against `make deploy-local`'s emulator on localhost:PORT ({local.ENVIRONMENT} only)",
    )


def _one_line(error: Exception) -> str:
    """An error is one line, even where AWS's message echoes an operator's value with a newline."""
    return str(error).replace("\r", "\\r").replace("\n", "\\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__.split("\n")[0])
    _common_flags(parser, after_command=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        _common_flags(sub, after_command=True)
        for add in command.flags:
            add(sub)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: Callable[[str], Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = utc_now,
) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.env is None:
        parser.error("the following arguments are required: --env")
    if args.env not in ENVIRONMENTS:
        print(
            f"error: unknown environment {args.env!r}; expected one of {', '.join(ENVIRONMENTS)}",
            file=sys.stderr,
        )
        return 2
    if args.date and not re.fullmatch(r"\d{8}", args.date):
        print(f"error: --date {args.date!r} is not YYYYMMDD", file=sys.stderr)
        return 2
    regional: Callable[[str], Callable[[str], Any]] = aws_clients
    if args.local is not None:
        port = str(args.local).strip()
        if not port.isdigit() or not 0 < int(port) < 65536:
            print(f"error: --local {args.local!r} is not a port number (LOCAL_PORT)", file=sys.stderr)
            return 2
        if args.env != local.ENVIRONMENT:
            print(
                f"error: the local emulator holds only {local.ENVIRONMENT} (make deploy-local), "
                f"not {args.env}; use ENV={local.ENVIRONMENT}",
                file=sys.stderr,
            )
            return 2
        if clients is None and not local.is_up(int(port)):
            print(
                f"error: no local emulator answers on {local.endpoint(int(port))}; "
                "start it: make deploy-local",
                file=sys.stderr,
            )
            return 1
        regional = emulator_clients(local.endpoint(int(port)))
    try:
        config = load((args.env,))[0]
        ctx = Context(
            config=config,
            dry_run=args.dry_run,
            today=args.date or now().strftime("%Y%m%d"),
            clients=clients or regional(config.region),
            regional_clients=regional,
            emulated=args.local is not None,
            sleep=sleep,
            now=now,
        )
        COMMANDS[args.command].run(ctx, args)
    except ConfigError as error:
        # The same line synth prints for it (app.py).
        print(f"configuration error: {_one_line(error)}", file=sys.stderr)
        return 1
    except OpsError as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - an AWS error is one line for the operator
        print(f"error: {args.command} failed: {type(error).__name__}: {_one_line(error)}", file=sys.stderr)
        return 1
    return 0
