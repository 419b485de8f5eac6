"""The smoke tests of the runbook's "Deployment Procedures" (staging's "Run smoke tests",
production's "Verify green environment" and "Verify rollback successful").

    python -m ops smoke-test --env production [--url https://...]

The HTTP checks are the deployment hook's own (lambdas/deployment_hook/smoke.py), so the live
endpoint is held to exactly what a deployment's green tasks are.
"""

from __future__ import annotations

import argparse

from botocore.exceptions import ClientError

from config.model import SmokeCheck
from lambdas.deployment_hook import smoke
from ops.core import Command, Context, OpsError, error_code, flag, target_states


def _smoke_check(base_url: str, check: SmokeCheck, timeout: float) -> str | None:
    """None when the check passes, else why it failed."""
    return smoke.probe(base_url, check, timeout, user_agent="clever-better-ops")


def _target_health(ctx: Context, name: str) -> str | None:
    """None when the load balancer has a healthy target and no unhealthy one, else why not."""
    elbv2 = ctx.clients("elbv2")
    try:
        (balancer,) = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"]
    except ClientError as error:
        if error_code(error) == "LoadBalancerNotFound":
            return f"load balancer {name}: not found"
        raise
    states = target_states(elbv2, balancer["LoadBalancerArn"])
    healthy, unhealthy = states.count("healthy"), states.count("unhealthy")
    if unhealthy or not healthy:
        return f"load balancer {name}: {healthy} healthy, {unhealthy} unhealthy targets"
    return None


def smoke_test(ctx: Context, args: argparse.Namespace) -> None:
    """The configured smoke checks against the live endpoint, then the load balancers' targets."""
    config = ctx.config
    url = (args.url or "").strip()
    if ctx.emulated and not url:  # the domain is the real environment's, not the emulator's
        raise OpsError(
            "the local emulator runs no application: pass URL= with the base URL of one that serves "
            "/health (e.g. URL=http://127.0.0.1:8080)"
        )
    base = (url or f"https://{config.domain_name}").rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise OpsError(f"--url {url!r} is not an http(s) URL")
    timeout = float(config.deployment.smoke_timeout_seconds)
    failures: list[str] = []
    checks = 0
    for check in config.deployment.smoke_checks:
        checks += 1
        failure = _smoke_check(base, check, timeout)
        ctx.out(f"FAIL {failure}" if failure else f"ok   GET {base}{check.path}: {check.status}")
        failures += [failure] if failure else []
    if not url:  # the environment's own endpoint: its load balancers' targets count too
        for name in ctx.names.load_balancers:
            checks += 1
            failure = _target_health(ctx, name)
            ctx.out(f"FAIL {failure}" if failure else f"ok   load balancer {name}: targets healthy")
            failures += [failure] if failure else []
    if failures:
        raise OpsError(f"{len(failures)} of {checks} smoke checks failed: " + "; ".join(failures))
    ctx.out(f"all {checks} smoke checks passed")


COMMANDS = (
    Command(
        "smoke-test",
        "GET the live endpoint's smoke checks and the load balancers' target health",
        smoke_test,
        (flag("--url", help="a base URL to check instead of the environment's domain"),),
    ),
)
