"""The runbook's "Incident response": the trading halt (issue 14).

    python -m ops resume-trading --env production [--confirm production] [--dry-run]

The P0 daily-loss and emergency-shutdown alarms halt trading (lambdas/trading_halt): the SSM
parameter /clever-better/{token}/trading/halted, which the bot reads, says
{"halted":true,"by":ALARM,"reason":...,"at":...}. resume-trading prints that record, asks the
operator to type the environment's name (--confirm, CONFIRM= in make, answers it without a
terminal), then writes {"halted":false,"by":CALLER,"reason":"resumed by operator","at":NOW}, the
caller being the ARN sts get-caller-identity names. Not halted: it says so and changes nothing.
--dry-run prints the record and the exact PutParameter call, asks nothing and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from ops.core import Call, Command, Context, OpsError, error_code, flag, not_deployed

UNIT = "alerting"  # the stack that creates the parameter
RESUMED = "resumed by operator"

# The operator's terminal; replaced in tests.
ask: Callable[[str], str] = input


def interactive() -> bool:
    return sys.stdin.isatty()


def _record(ctx: Context) -> tuple[str, dict[str, Any] | None]:
    """(the parameter's value, its record if that says halted)."""
    name = ctx.names.trading_halt_parameter
    try:
        value = str(ctx.clients("ssm").get_parameter(Name=name)["Parameter"]["Value"])
    except ClientError as error:
        if error_code(error) == "ParameterNotFound":
            raise not_deployed(ctx, UNIT, f"parameter {name}") from None
        raise
    try:
        record = json.loads(value)
    except ValueError:
        return value, None
    return value, record if isinstance(record, dict) and record.get("halted") is True else None


def _text(value: Any) -> str:
    """A record's field on one line (it came from an alarm's state reason)."""
    return str(value).replace("\r", "\\r").replace("\n", "\\n")


def _confirmed(ctx: Context, given: str | None) -> str:
    if given is None:
        if not interactive():
            raise OpsError(
                f"resume-trading needs a typed confirmation: run it in a terminal, or set CONFIRM={ctx.env}"
            )
        given = ask(f"Type the environment's name ({ctx.env}) to resume trading: ")
    return given.strip()


def _refuse(ctx: Context, answer: str) -> OpsError:
    name = ctx.names.trading_halt_parameter
    return OpsError(f"confirmation {answer!r} is not {ctx.env!r}; {name} left as it is")


def resume_trading(ctx: Context, args: argparse.Namespace) -> None:
    name = ctx.names.trading_halt_parameter
    if args.confirm is not None and args.confirm.strip() != ctx.env:
        raise _refuse(ctx, args.confirm.strip())  # before anything is read, in a dry run too
    value, record = _record(ctx)
    if record is None:
        ctx.out(f"trading is not halted in {ctx.env} ({name} = {_text(value)}); nothing to resume")
        return
    ctx.out(
        f"trading is halted in {ctx.env} since {_text(record.get('at'))} by {_text(record.get('by'))}: "
        f"{_text(record.get('reason'))}"
    )
    if not ctx.dry_run:
        answer = _confirmed(ctx, args.confirm)
        if answer != ctx.env:
            raise _refuse(ctx, answer)
        # A halt that came in while the operator read and typed is not resumed unseen.
        if _record(ctx)[0] != value:
            raise OpsError(f"{name} changed since it was read; run make resume-trading ENV={ctx.env} again")
    caller = str(ctx.clients("sts").get_caller_identity()["Arn"])
    at = ctx.now().isoformat(timespec="seconds").replace("+00:00", "Z")
    resumed = {"halted": False, "by": caller, "reason": RESUMED, "at": at}
    ctx.run(
        Call(
            "ssm",
            "PutParameter",
            {
                "Name": name,
                "Value": json.dumps(resumed, separators=(",", ":")),
                "Type": "String",
                "Overwrite": True,
            },
        )
    )
    if not ctx.dry_run:
        ctx.out(f"trading resumed in {ctx.env} by {caller} ({name})")


COMMANDS = (
    Command(
        "resume-trading",
        "Clear the trading halt /clever-better/{token}/trading/halted after a typed confirmation",
        resume_trading,
        (flag("--confirm", metavar="ENV", help="the environment's name, typed in advance (CONFIRM=)"),),
    ),
)
