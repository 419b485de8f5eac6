"""ECS blue/green lifecycle hook (stage POST_TEST_TRAFFIC_SHIFT): smoke test, then approval.

ECS has pointed the test listener at the green tasks. This function:

1. requests every configured check (``CHECKS``: path, expected status, optional body
   substring) from ``TEST_URL`` with a time-out each (``smoke.probe``, which
   `make smoke-test` runs too); any failure returns ``FAILED`` and ECS
   rolls back, leaving the blue tasks on 100% of production traffic. Unless ECS describes
   the deployment's green revision as asking for and running no task (a service at desired
   count 0, as the DR region's pilot light is): then nothing can answer, and nothing untested
   can serve either;
2. when ``APPROVAL_PARAMETER`` is set (production's approval gate), waits for an operator
   (`make approve`) to write the green revision's ARN into that SSM parameter, returning
   ``IN_PROGRESS`` so ECS calls again; after ``APPROVAL_TIMEOUT_SECONDS`` it returns
   ``FAILED`` (roll back). Except for a service's first deployment (its creation): ECS
   describes that deployment (the event's ``resourceArn``) with no source revision, nothing
   serves production yet and `make approve` has no revision to approve, so a passed smoke
   test is enough.

A malformed event or any unexpected error also returns ``FAILED``: when in doubt, the old
tasks keep serving.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3

if __package__:  # lambdas.deployment_hook.handler: tests and the repository's tools
    from . import smoke
else:  # Lambda: the asset folder is the root, so this file is the top-level module `handler`
    import smoke  # type: ignore[no-redef]

logger = logging.getLogger()
logger.setLevel(logging.INFO)

SUCCEEDED, FAILED, IN_PROGRESS = "SUCCEEDED", "FAILED", "IN_PROGRESS"
CALLBACK_SECONDS = 30
STARTED = "approvalWaitStartedAt"


class MalformedEvent(ValueError):
    """The hook event lacks what ECS always sends."""


class LookupFailed(RuntimeError):
    """ECS did not describe the deployment the event names."""


@dataclass(frozen=True)
class Event:
    revision: str  # executionDetails.targetServiceRevisionArn: the green revision
    deployment: object  # resourceArn: the service deployment (checked where it is needed)
    state: dict[str, Any]  # hookDetails: what we returned last time


@dataclass(frozen=True)
class Check:
    path: str
    status: int = 200
    body_contains: str | None = None


@dataclass(frozen=True)
class Settings:
    test_url: str
    checks: tuple[Check, ...]
    timeout: float
    approval_parameter: str | None
    approval_timeout: float

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        checks = tuple(Check(**c) for c in json.loads(environ["CHECKS"]))
        if not checks:
            raise ValueError("CHECKS is empty")
        return cls(
            test_url=environ["TEST_URL"].rstrip("/"),
            checks=checks,
            timeout=float(environ.get("TIMEOUT_SECONDS", "5")),
            approval_parameter=environ.get("APPROVAL_PARAMETER") or None,
            approval_timeout=float(environ.get("APPROVAL_TIMEOUT_SECONDS", "3600")),
        )


def _client(service: str) -> Any:
    return boto3.client(service)


def _result(status: str, reason: str, **extra: Any) -> dict[str, Any]:
    log = logger.info if status != FAILED else logger.error
    log(json.dumps({"hookStatus": status, "reason": reason}))
    return {"hookStatus": status, **extra}


def _parse(event: Any) -> Event:
    if not isinstance(event, dict):
        raise MalformedEvent(f"event is a {type(event).__name__}, not an object")
    details = event.get("executionDetails")
    if not isinstance(details, dict):
        raise MalformedEvent("event has no executionDetails object")
    for name in ("serviceArn", "targetServiceRevisionArn"):
        value = details.get(name)
        if not isinstance(value, str) or not value.startswith("arn:"):
            raise MalformedEvent(f"executionDetails.{name} is missing or not an ARN: {value!r}")
    state = event.get("hookDetails") or {}
    if not isinstance(state, dict):
        raise MalformedEvent(f"hookDetails is a {type(state).__name__}, not an object")
    return Event(str(details["targetServiceRevisionArn"]), event.get("resourceArn"), state)


def _deployment(deployment: object, revision: str) -> dict[str, Any]:
    """ECS's description of `deployment`, which must deploy `revision`."""
    if not isinstance(deployment, str) or ":service-deployment/" not in deployment:
        raise MalformedEvent(f"resourceArn is not a service deployment ARN: {deployment!r}")
    answer = _client("ecs").describe_service_deployments(serviceDeploymentArns=[deployment])
    found = [d for d in answer.get("serviceDeployments", []) if d.get("serviceDeploymentArn") == deployment]
    if answer.get("failures") or len(found) != 1:
        raise LookupFailed(f"ECS did not describe {deployment}: {answer.get('failures')}")
    target = found[0].get("targetServiceRevision", {}).get("arn")
    if target != revision:
        raise LookupFailed(f"{deployment} deploys {target!r}, not {revision}")
    return dict(found[0])


def _first_deployment(deployment: object, revision: str) -> bool:
    """Whether ECS describes `deployment` (of `revision`) as replacing no revision at all."""
    return not _deployment(deployment, revision).get("sourceServiceRevisions")


def _runs_no_task(deployment: object, revision: str) -> bool:
    """Whether the green revision asks for and runs no task (a service at desired count 0, such
    as the DR region's pilot light): its test listener has nothing behind it to answer."""
    target = _deployment(deployment, revision).get("targetServiceRevision", {})
    return bool(target.get("requestedTaskCount") == 0 and target.get("runningTaskCount") == 0)


def _approved(parameter: str, revision: str) -> bool:
    value = _client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    return bool(value == revision)


def evaluate(event: Any, settings: Settings, now: float) -> dict[str, Any]:
    parsed = _parse(event)
    revision = parsed.revision
    started = parsed.state.get(STARTED)
    if started is None:
        # First call for this deployment: the smoke test decides.
        results = (smoke.probe(settings.test_url, c, settings.timeout) for c in settings.checks)
        failures = [failure for failure in results if failure]
        if not failures:
            passed = f"smoke test of {revision} passed ({len(settings.checks)} checks)"
        elif _runs_no_task(parsed.deployment, revision):
            # Nothing answers because nothing runs: no task can serve what was not tested.
            passed = f"{revision} runs no task (desired count 0): nothing to smoke-test"
        else:
            return _result(FAILED, f"smoke test of {revision} failed: " + "; ".join(failures))
        if settings.approval_parameter is None:
            return _result(SUCCEEDED, passed)
        if _first_deployment(parsed.deployment, revision):
            return _result(SUCCEEDED, f"{passed}; the service's first deployment needs no approval")
        started = now
    elif (
        isinstance(started, bool)
        or not isinstance(started, (int, float))
        or not math.isfinite(started)
        or started > now + CALLBACK_SECONDS
    ):
        # What we returned last time is a past timestamp; anything else would wait forever.
        raise MalformedEvent(f"hookDetails.{STARTED} is not a past timestamp: {started!r}")
    assert settings.approval_parameter is not None
    if _approved(settings.approval_parameter, revision):
        return _result(SUCCEEDED, f"{revision} approved")
    waited = now - float(started)
    if waited >= settings.approval_timeout:
        return _result(FAILED, f"{revision} not approved within {settings.approval_timeout:g}s; rolling back")
    return _result(
        IN_PROGRESS,
        f"waiting for approval of {revision} (`make approve`), {waited:.0f}s so far",
        callBackDelay=CALLBACK_SECONDS,
        hookDetails={STARTED: started},
    )


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    try:
        return evaluate(event, Settings.from_environ(os.environ), time.time())
    except MalformedEvent as error:
        return _result(FAILED, f"malformed hook event, failing safe: {error}")
    except Exception as error:  # any surprise must roll back, not hang or pass
        logger.exception("deployment hook error")
        return _result(FAILED, f"hook error, failing safe: {type(error).__name__}: {error}")
