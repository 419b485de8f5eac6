"""Operator commands behind the runbook's Makefile targets, against one environment's AWS.

    python -m ops --env production --dry-run db-snapshot      (as the Makefile calls it)
    python -m ops db-snapshot --env production --dry-run      (the same)
    python -m ops COMMAND --help                              (that command's flags)

They run against real AWS with the caller's credentials. --dry-run still makes the
read-only calls it needs (describe, list, get) and prints every call that would
change something, as an `aws` command line, without making it.

This module only parses and dispatches: each runbook section's module (ops/bootstrap.py, ops/backup.py,
ops/secrets.py, ops/release.py, ops/maintenance.py, ops/migrations.py, ops/smoke.py) declares
its commands and their flags, on top of ops/core.py.
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
from ops import backup, bootstrap, maintenance, migrations, release, retry, secrets, smoke
from ops.core import Command, Context, OpsError, aws_clients, utc_now

COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        *bootstrap.COMMANDS,
        *backup.COMMANDS,
        *secrets.COMMANDS,
        *release.COMMANDS,
        *retry.COMMANDS,
        *maintenance.COMMANDS,
        *migrations.COMMANDS,
        *smoke.COMMANDS,
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
    try:
        config = load((args.env,))[0]
        ctx = Context(
            config=config,
            dry_run=args.dry_run,
            today=args.date or now().strftime("%Y%m%d"),
            clients=clients or aws_clients(config.region),
            sleep=sleep,
            now=now,
        )
        COMMANDS[args.command].run(ctx, args)
    except ConfigError as error:
        # The same line synth prints for it (app.py).
        print(f"configuration error: {error}", file=sys.stderr)
        return 1
    except OpsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - an AWS error is one line for the operator
        print(f"error: {args.command} failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0
