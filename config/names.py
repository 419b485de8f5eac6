"""Physical names the stacks create and the operator commands look up, in one place.

Pure Python (no aws-cdk import), so `python -m ops` stays quick and both sides agree.
"""

from __future__ import annotations

from config.model import PROJECT

# The migration task logs into the bot's group under this stream prefix.
MIGRATION_STREAM_PREFIX = "migrate"


def secret_name(token: str, purpose: str) -> str:
    """`clever-better/prod/config` (runbook), `.../betfair`, `.../database`, `.../database-admin`."""
    return f"{PROJECT}/{token}/{purpose}"


def log_group_name(prefix: str, service: str) -> str:
    """`/ecs/clever-better-prod/bot` (runbook)."""
    return f"/ecs/{prefix}/{service}"


def approval_parameter_name(token: str, service: str) -> str:
    """Where `make approve` writes the green revision the deployment hook waits for."""
    return f"/{PROJECT}/{token}/deploy/{service}/approved-revision"
