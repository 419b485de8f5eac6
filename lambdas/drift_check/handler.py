"""The daily configuration-drift check: CloudFormation drift detection on every stack of the
environment in this function's region, and the count of drifted stacks as a CloudWatch metric.

1. Starts a detection (DetectStackDrift) on each stack in ``STACK_NAMES`` (comma-separated), all
   before polling any: each runs for minutes, and CloudFormation runs them side by side. A stack
   holding resources of a type in ``SKIPPED_TYPES`` (comma-separated; those whose reading needs
   secret values, which this function's role may not read) is checked on its other resources
   (``LogicalResourceIds``); `make drift`, with an operator's credentials, checks them all.
2. Polls DescribeStackDriftDetectionStatus until each is DETECTION_COMPLETE or DETECTION_FAILED,
   within the invocation's time (``context.get_remaining_time_in_millis``), keeping enough to
   publish.
3. Publishes two data points (namespace and names from ``METRIC_NAMESPACE``, ``DRIFTED_METRIC``,
   ``FAILURES_METRIC``; dimension ``METRIC_DIMENSION`` = ``ENVIRONMENT``, the environment's token):
   the stacks whose drift status is DRIFTED, and the stacks whose drift could not be determined:
   not deployed, the detection refused or FAILED, or not finished in time. A failed detection
   that still found drift counts in both: the drift it found is real.

It always publishes what it knows, even when some detections failed or time ran out, and says
so in its log (one JSON object per line) and in what it returns. CloudFormation reads each
resource with this function's credentials (its role grants the read actions of every resource
type in our stacks); what a resource's drift is, `make drift` shows.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger()
logger.setLevel(logging.INFO)

COMPLETE, FAILED, IN_PROGRESS = "DETECTION_COMPLETE", "DETECTION_FAILED", "DETECTION_IN_PROGRESS"
DRIFTED, IN_SYNC = "DRIFTED", "IN_SYNC"
UNIT = "Count"
POLL_SECONDS = 10.0
# Kept back from the invocation's time for the last poll round and PutMetricData.
RESERVE_MILLIS = 20_000
# DetectStackDrift's LogicalResourceIds holds at most this many (CloudFormation API Reference).
MAX_LOGICAL_IDS = 200
# Throttled starts and polls are retried by botocore (standard mode), not by this code.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@dataclass(frozen=True)
class Settings:
    stacks: tuple[str, ...]
    environment: str
    namespace: str
    drifted_metric: str
    failures_metric: str
    dimension: str
    skipped_types: frozenset[str] = frozenset()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        stacks = tuple(name.strip() for name in environ["STACK_NAMES"].split(",") if name.strip())
        if not stacks:
            raise ValueError("STACK_NAMES names no stack")
        return cls(
            stacks=stacks,
            environment=environ["ENVIRONMENT"],
            namespace=environ["METRIC_NAMESPACE"],
            drifted_metric=environ["DRIFTED_METRIC"],
            failures_metric=environ["FAILURES_METRIC"],
            dimension=environ["METRIC_DIMENSION"],
            skipped_types=frozenset(
                kind.strip() for kind in environ.get("SKIPPED_TYPES", "").split(",") if kind.strip()
            ),
        )


@dataclass
class Result:
    drifted: list[str] = field(default_factory=list)
    in_sync: list[str] = field(default_factory=list)
    # Stack -> why its drift is unknown.
    failures: dict[str, str] = field(default_factory=dict)
    timed_out: bool = False

    def summary(self, environment: str) -> dict[str, Any]:
        return {
            "environment": environment,
            "driftedStacks": len(self.drifted),
            "failedStacks": len(self.failures),
            "drifted": sorted(self.drifted),
            "inSync": sorted(self.in_sync),
            "failures": dict(sorted(self.failures.items())),
            "timedOut": self.timed_out,
        }


def _client(service: str) -> Any:
    return boto3.client(service, config=CLIENT_CONFIG)


def _log(level: int, event: str, **fields: Any) -> None:
    logger.log(level, json.dumps({"event": event, **fields}, default=str))


def _error(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', '')}"
    return f"{type(error).__name__}: {error}"


class NotChecked(Exception):
    """The stack's drift cannot be detected by this function."""


def _resources(cloudformation: Any, stack: str) -> list[tuple[str, str]]:
    """(logical id, type) of every resource of the stack."""
    found: list[tuple[str, str]] = []
    params = {"StackName": stack}
    while True:
        page = cloudformation.list_stack_resources(**params)
        found += [(r["LogicalResourceId"], r["ResourceType"]) for r in page.get("StackResourceSummaries", [])]
        if not page.get("NextToken"):
            return found
        params["NextToken"] = page["NextToken"]


def _detection_request(cloudformation: Any, stack: str, skipped_types: frozenset[str]) -> dict[str, Any]:
    """DetectStackDrift's parameters: the whole stack, or all but its resources of skipped types."""
    if not skipped_types:
        return {"StackName": stack}
    resources = _resources(cloudformation, stack)
    checked = [logical for logical, kind in resources if kind not in skipped_types]
    if len(checked) == len(resources):
        return {"StackName": stack}
    skipped = sorted(f"{logical} ({kind})" for logical, kind in resources if kind in skipped_types)
    _log(logging.INFO, "resources-skipped", stack=stack, skipped=skipped)
    if not checked:
        raise NotChecked("every resource is of a type this check skips")
    if len(checked) > MAX_LOGICAL_IDS:
        raise NotChecked(
            f"{len(checked)} resources to check, more than one detection takes ({MAX_LOGICAL_IDS})"
        )
    return {"StackName": stack, "LogicalResourceIds": checked}


def _start(cloudformation: Any, settings: Settings, result: Result) -> dict[str, str]:
    """Stack -> detection id, for each stack CloudFormation started a detection on."""
    started: dict[str, str] = {}
    for stack in settings.stacks:
        try:
            request = _detection_request(cloudformation, stack, settings.skipped_types)
            started[stack] = str(cloudformation.detect_stack_drift(**request)["StackDriftDetectionId"])
        except (ClientError, BotoCoreError, NotChecked) as error:
            # A stack that does not exist answers ValidationError "Stack with id ... does not exist".
            result.failures[stack] = f"detection not started: {_error(error)}"
            _log(logging.ERROR, "detection-not-started", stack=stack, error=_error(error))
    return started


def _poll(cloudformation: Any, stack: str, detection: str, result: Result) -> bool:
    """Record the detection's outcome; False while it is still running."""
    try:
        status = cloudformation.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
    except (ClientError, BotoCoreError) as error:
        result.failures[stack] = f"status unavailable: {_error(error)}"
        _log(logging.ERROR, "status-unavailable", stack=stack, detection=detection, error=_error(error))
        return True
    state = status.get("DetectionStatus")
    if state == IN_PROGRESS:
        return False
    drift = status.get("StackDriftStatus")
    if drift == DRIFTED:
        result.drifted.append(stack)
    elif state == COMPLETE and drift == IN_SYNC:
        result.in_sync.append(stack)
    if state != COMPLETE or drift not in (DRIFTED, IN_SYNC):
        reason = status.get("DetectionStatusReason", "no reason given")
        result.failures[stack] = f"{state}, stack drift status {drift}: {reason}"
    level = logging.INFO if stack in result.in_sync else logging.WARNING
    _log(
        level,
        "detection-finished",
        stack=stack,
        detection=detection,
        detectionStatus=state,
        stackDriftStatus=drift,
        driftedResources=status.get("DriftedStackResourceCount"),
        reason=status.get("DetectionStatusReason"),
    )
    return True


def check(
    settings: Settings,
    cloudformation: Any,
    remaining_millis: Callable[[], int],
    sleep: Callable[[float], None] = time.sleep,
) -> Result:
    """Detect drift on every stack, waiting for the detections while time allows."""
    result = Result()
    pending = _start(cloudformation, settings, result)
    while pending:
        pending = {
            stack: detection
            for stack, detection in pending.items()
            if not _poll(cloudformation, stack, detection, result)
        }
        if pending and remaining_millis() < RESERVE_MILLIS + POLL_SECONDS * 1000:
            result.timed_out = True
            for stack, detection in pending.items():
                result.failures[stack] = f"{IN_PROGRESS}: not finished within this run ({detection})"
            _log(logging.ERROR, "out-of-time", unfinished=sorted(pending))
            break
        if pending:
            sleep(POLL_SECONDS)
    return result


def publish(settings: Settings, cloudwatch: Any, result: Result) -> None:
    dimensions = [{"Name": settings.dimension, "Value": settings.environment}]
    cloudwatch.put_metric_data(
        Namespace=settings.namespace,
        MetricData=[
            {
                "MetricName": settings.drifted_metric,
                "Dimensions": dimensions,
                "Value": float(len(result.drifted)),
                "Unit": UNIT,
            },
            {
                "MetricName": settings.failures_metric,
                "Dimensions": dimensions,
                "Value": float(len(result.failures)),
                "Unit": UNIT,
            },
        ],
    )


def handler(event: Any, context: Any) -> dict[str, Any]:
    settings = Settings.from_environ(os.environ)
    result = check(settings, _client("cloudformation"), context.get_remaining_time_in_millis)
    publish(settings, _client("cloudwatch"), result)
    summary = result.summary(settings.environment)
    level = logging.INFO if not (result.drifted or result.failures) else logging.WARNING
    _log(level, "drift-check", **summary)
    return summary
