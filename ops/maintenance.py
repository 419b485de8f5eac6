"""Maintenance mode, the optional step of the runbook's Production Environment Deployment
("Pre-deployment steps: Enable maintenance mode") in "Deployment Procedures".

    python -m ops maintenance-on  --env production [--dry-run]
    python -m ops maintenance-off --env production [--dry-run]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ops.core import Call, Command, Context, OpsError, stack_outputs

# Ahead of the production rule, which ECS owns and rewrites during blue/green deployments.
MAINTENANCE_PRIORITY = "1"
MAINTENANCE_BODY = json.dumps({"status": "maintenance"}, separators=(",", ":"))


def _production_listener(ctx: Context) -> str:
    return stack_outputs(ctx, "services")["ProductionListenerArn"]


def _maintenance_rule(ctx: Context, listener: str) -> dict[str, Any] | None:
    elbv2 = ctx.clients("elbv2")
    params: dict[str, Any] = {"ListenerArn": listener}
    while True:
        page = elbv2.describe_rules(**params)
        for rule in page.get("Rules", []):
            if str(rule.get("Priority")) == MAINTENANCE_PRIORITY:
                return dict(rule)
        if not page.get("NextMarker"):
            return None
        params["Marker"] = page["NextMarker"]


def _is_fixed_response(rule: dict[str, Any]) -> bool:
    actions = rule.get("Actions", [])
    return bool(actions) and all(a.get("Type") == "fixed-response" for a in actions)


def maintenance_on(ctx: Context, args: argparse.Namespace) -> None:
    """A priority-1 fixed-response 503 rule in front of the production rule (ECS owns that one)."""
    listener = _production_listener(ctx)
    rule = _maintenance_rule(ctx, listener)
    if rule is not None:
        if not _is_fixed_response(rule):
            raise OpsError(
                f"priority {MAINTENANCE_PRIORITY} on the production listener is taken by a non-maintenance "
                f"rule ({rule.get('RuleArn')}); refusing to touch it"
            )
        ctx.out(f"maintenance mode is already on in {ctx.env}")
        return
    ctx.run(
        Call(
            "elbv2",
            "CreateRule",
            {
                "ListenerArn": listener,
                "Priority": int(MAINTENANCE_PRIORITY),
                "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
                "Actions": [
                    {
                        "Type": "fixed-response",
                        "FixedResponseConfig": {
                            "StatusCode": "503",
                            "ContentType": "application/json",
                            "MessageBody": MAINTENANCE_BODY,
                        },
                    }
                ],
                "Tags": [{"Key": "Purpose", "Value": "maintenance"}],
            },
        )
    )
    if not ctx.dry_run:
        ctx.out(f"maintenance mode is on in {ctx.env}: every request is answered 503 {MAINTENANCE_BODY}")


def maintenance_off(ctx: Context, args: argparse.Namespace) -> None:
    """Delete the priority-1 rule, and only when it is the fixed-response maintenance rule."""
    rule = _maintenance_rule(ctx, _production_listener(ctx))
    if rule is None or not _is_fixed_response(rule):
        ctx.out(f"maintenance mode is already off in {ctx.env}")
        return
    ctx.run(Call("elbv2", "DeleteRule", {"RuleArn": rule["RuleArn"]}))
    if not ctx.dry_run:
        ctx.out(f"maintenance mode is off in {ctx.env}")


COMMANDS = (
    Command(
        "maintenance-on",
        "Public listener answers 503 (maintenance) to everything; target groups untouched",
        maintenance_on,
    ),
    Command("maintenance-off", "Remove the maintenance response", maintenance_off),
)
