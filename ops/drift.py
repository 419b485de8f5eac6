"""Configuration drift (issue 13; runbook "Maintenance tasks"): CloudFormation drift detection on
every stack of the environment, production's DR stacks in their region included.

    python -m ops drift --env production [--dry-run]

Starts a detection on each deployed stack (DetectStackDrift records a detection and changes no
resource), waits for them all, then prints each stack's drift status and, for a drifted stack, each
resource that was MODIFIED or DELETED with the paths of the properties that differ. Their values
are not printed: what someone set by hand may be a secret (`aws cloudformation
describe-stack-resource-drifts` shows them). Exits 1, with one line naming them, when any stack
drifted or could not be checked (not deployed, detection failed or still running). --dry-run
prints the detections it would start and starts none. The daily drift check
(components/monitoring/drift.py) runs the same detection in AWS and publishes the count.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from ops.core import Call, Command, Context, OpsError, error_code

# Stack statuses drift detection runs on (CloudFormation User Guide, drift detection).
DETECTABLE = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED"}
)
DRIFTED_RESOURCES = ["MODIFIED", "DELETED"]
POLL_SECONDS = 10.0
# A detection takes minutes per stack; they all run side by side.
WAIT = timedelta(minutes=15)


@dataclass
class Stack:
    name: str
    region: str
    detection: str | None = None
    status: dict[str, Any] = field(default_factory=dict)
    # Why its drift is unknown (not deployed, refused, failed, still running).
    problem: str | None = None
    drifted: bool = False

    def label(self, ctx: Context) -> str:
        return self.name if self.region == ctx.config.region else f"{self.name} ({self.region})"


def _stacks(ctx: Context) -> list[Stack]:
    """Every stack of the environment in deploy order, then its DR region's."""
    found = [Stack(name, ctx.config.region) for name in ctx.names.stacks()]
    dr = ctx.config.disaster_recovery
    if dr is not None:
        found += [Stack(name, dr.region) for name in ctx.names.stacks(dr=True)]
    return found


def _cloudformation(ctx: Context, region: str) -> Any:
    return (
        ctx.clients("cloudformation")
        if region == ctx.config.region
        else ctx.regional_clients(region)("cloudformation")
    )


def _check_deployed(ctx: Context, stack: Stack) -> None:
    try:
        (described,) = _cloudformation(ctx, stack.region).describe_stacks(StackName=stack.name)["Stacks"]
    except ClientError as error:
        if error_code(error) == "ValidationError" and "does not exist" in str(error):
            stack.problem = f"not deployed in {stack.region}"
            return
        raise
    if described["StackStatus"] not in DETECTABLE:
        stack.problem = f"in {described['StackStatus']}: drift detection runs on a complete stack only"


def _start(ctx: Context, stack: Stack) -> None:
    try:
        answer = ctx.run(
            Call("cloudformation", "DetectStackDrift", {"StackName": stack.name}), region=stack.region
        )
    except ClientError as error:
        stack.problem = (
            f"detection refused: {error_code(error)}: {error.response['Error'].get('Message', '')}"
        )
        return
    if answer is not None:
        stack.detection = str(answer["StackDriftDetectionId"])


def _wait(ctx: Context, stacks: list[Stack]) -> None:
    """Poll every running detection until it finishes or WAIT runs out."""
    deadline = ctx.now() + WAIT
    running = [s for s in stacks if s.detection]
    while running:
        for stack in running:
            stack.status = _cloudformation(ctx, stack.region).describe_stack_drift_detection_status(
                StackDriftDetectionId=stack.detection
            )
        running = [s for s in running if s.status["DetectionStatus"] == "DETECTION_IN_PROGRESS"]
        if running and ctx.now() >= deadline:
            for stack in running:
                stack.problem = (
                    f"detection {stack.detection} still running after {int(WAIT.total_seconds()) // 60} min"
                )
            return
        if running:
            ctx.sleep(POLL_SECONDS)


def _drifted_resources(ctx: Context, stack: Stack) -> list[str]:
    """One line per MODIFIED or DELETED resource: status, type, logical and physical id, and the
    paths of the properties that differ (values left out)."""
    cloudformation = _cloudformation(ctx, stack.region)
    params: dict[str, Any] = {"StackName": stack.name, "StackResourceDriftStatusFilters": DRIFTED_RESOURCES}
    lines = []
    while True:
        page = cloudformation.describe_stack_resource_drifts(**params)
        for drift in page.get("StackResourceDrifts", []):
            differences = ", ".join(
                f"{d['PropertyPath']} {d['DifferenceType']}" for d in drift.get("PropertyDifferences", [])
            )
            lines.append(
                f"  {drift['StackResourceDriftStatus']} {drift['ResourceType']} {drift['LogicalResourceId']}"
                f" ({drift.get('PhysicalResourceId', '-')})" + (f": {differences}" if differences else "")
            )
        if not page.get("NextToken"):
            return lines
        params["NextToken"] = page["NextToken"]


def _report(ctx: Context, stack: Stack) -> None:
    """Print a finished detection's outcome: the stack's drift status and its drifted resources."""
    state, drift = stack.status.get("DetectionStatus"), stack.status.get("StackDriftStatus")
    if state == "DETECTION_FAILED":
        # Results stand for the resources it did check: drift found is drift.
        stack.problem = f"detection failed: {stack.status.get('DetectionStatusReason', 'no reason given')}"
    stack.drifted = drift == "DRIFTED"
    if stack.drifted:
        count = stack.status.get("DriftedStackResourceCount")
        ctx.out(f"{stack.label(ctx)}: DRIFTED ({count} resources)")
        for line in _drifted_resources(ctx, stack):
            ctx.out(line)
    elif stack.problem is None:
        ctx.out(f"{stack.label(ctx)}: {drift}")


def drift(ctx: Context, args: argparse.Namespace) -> None:
    stacks = _stacks(ctx)
    for stack in stacks:
        _check_deployed(ctx, stack)
    for stack in stacks:
        if stack.problem is None:
            _start(ctx, stack)
    if ctx.dry_run:
        started = sum(1 for s in stacks if s.problem is None)
        ctx.out(f"would wait for {started} detections and print each stack's drift")
    else:
        _wait(ctx, stacks)
        for stack in stacks:
            if stack.detection and stack.problem is None:
                _report(ctx, stack)
    for stack in stacks:
        if stack.problem:
            ctx.out(f"{stack.label(ctx)}: {stack.problem}")
    drifted = [s.label(ctx) for s in stacks if s.drifted]
    unknown = [f"{s.label(ctx)} ({s.problem})" for s in stacks if s.problem]
    parts = []
    if drifted:
        parts.append(f"{len(drifted)} of {len(stacks)} stacks of {ctx.env} drifted: {', '.join(drifted)}")
    if unknown:
        parts.append(f"drift not determined for {'; '.join(unknown)}")
    if parts:
        raise OpsError("; ".join(parts))
    if not ctx.dry_run:
        ctx.out(f"no drift: all {len(stacks)} stacks of {ctx.env} match their templates")


COMMANDS = (
    Command(
        "drift",
        "CloudFormation drift detection on every stack of ENV (DR region included); exit 1 on drift",
        drift,
    ),
)
