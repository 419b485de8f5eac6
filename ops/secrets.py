"""The runbook's "Access and Permissions" secrets: Betfair API Key Management and Secrets
Manager Usage, with "Configuration Updates" (Deployment Procedures), which updates a secret.

    python -m ops betfair-key-store --env production --file new-key.json [--no-rotate] [--dry-run]
    python -m ops config-update     --env production --file config.json [--dry-run]
"""

from __future__ import annotations

import argparse
import json

from config.model import SERVICES
from config.names import BETFAIR_FIELDS
from ops.core import (
    Call,
    Command,
    Context,
    OpsError,
    flag,
    read_json,
    redeploy,
    require_services,
    start_deployments,
    status_hint,
)

OPERATOR_STAGE = "OPERATOR_NEW"  # lambdas/betfair_rotation promotes this version


def betfair_key_store(ctx: Context, args: argparse.Namespace) -> None:
    """Store an operator-issued Betfair key for the rotation to promote, then start the rotation."""
    if not args.file:
        raise OpsError("FILE is required: a JSON file with app_key, username and password")
    value = read_json(args.file)
    missing = [f for f in BETFAIR_FIELDS if not isinstance(value, dict) or not str(value.get(f, "")).strip()]
    if missing:
        raise OpsError(f"{args.file} lacks {', '.join(missing)}")
    secret = ctx.names.secret("betfair")
    ctx.run(
        Call(
            "secretsmanager",
            "PutSecretValue",
            {"SecretId": secret, "SecretString": json.dumps(value), "VersionStages": [OPERATOR_STAGE]},
        )
    )
    if args.no_rotate:
        return
    ctx.run(Call("secretsmanager", "RotateSecret", {"SecretId": secret}))


def config_update(ctx: Context, args: argparse.Namespace) -> None:
    """Replace the config secret, then restart all three services so they read it."""
    if not args.file:
        raise OpsError("FILE is required: a JSON object with the new configuration")
    value = read_json(args.file)
    if not isinstance(value, dict):
        raise OpsError(f"{args.file} holds a JSON {type(value).__name__}, not an object")
    secret = ctx.names.secret("config")
    ctx.clients("secretsmanager").describe_secret(SecretId=secret)  # fails clearly if missing
    require_services(ctx, SERVICES)
    ctx.run(
        Call(
            "secretsmanager",
            "UpdateSecret",
            {"SecretId": secret, "SecretString": json.dumps(value, separators=(",", ":"))},
        )
    )
    start_deployments(ctx, [(s, redeploy(ctx, s), "restart to read the new configuration") for s in SERVICES])
    ctx.out(status_hint(ctx))


COMMANDS = (
    Command(
        "betfair-key-store",
        "Store --file as the next Betfair key and start its rotation",
        betfair_key_store,
        (
            flag("--file", help="a JSON file with app_key, username and password"),
            flag("--no-rotate", action="store_true", help="store the key only; start no rotation"),
        ),
    ),
    Command(
        "config-update",
        "Put --file into clever-better/{token}/config and restart the services",
        config_update,
        (flag("--file", help="a JSON file holding the new configuration object"),),
    ),
)
