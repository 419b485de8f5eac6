"""CloudFormation's drift detection, which moto lacks, so that `make drift ENV=dev LOCAL=1` runs.

The emulator does not compare resources with their templates: every detection completes at once
and finds the stack IN_SYNC, and DescribeStackResourceDrifts reports each resource IN_SYNC (with
the MODIFIED/DELETED filter `make drift` uses, nothing). What it checks as CloudFormation does: the
stack exists ("Stack with id X does not exist") and is in a state drift detection accepts, the
logical ids asked for are the stack's, and a detection id it did not issue is refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult

# Stack statuses drift detection runs on (User Guide, "Detect unmanaged configuration changes to
# stacks and resources with drift detection").
DETECTABLE = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED"}
)


def _detections(response: CloudFormationResponse) -> dict[str, dict[str, Any]]:
    """This account and region's detections, by id (kept on moto's backend, reset with it)."""
    backend: Any = response.cloudformation_backend
    if not hasattr(backend, "emulator_drift_detections"):
        backend.emulator_drift_detections = {}
    found: dict[str, dict[str, Any]] = backend.emulator_drift_detections
    return found


def _stack(response: CloudFormationResponse) -> Any:
    stack = response.cloudformation_backend.get_stack(response._get_param("StackName"))
    if stack.status not in DETECTABLE:
        raise ValidationError(
            stack.name,
            message=f"Stack {stack.name} is in {stack.status} state; drift detection needs one of "
            + ", ".join(sorted(DETECTABLE)),
        )
    return stack


def _resources(response: CloudFormationResponse, stack: Any) -> list[tuple[str, str, str]]:
    """(logical id, physical id, type) of the stack's resources, as ListStackResources has them."""
    _, resources = response.cloudformation_backend.list_stack_resources(stack.stack_id)
    return [
        (
            str(getattr(resource, "logical_resource_id", "")),
            str(getattr(resource, "physical_resource_id", "")),
            str(getattr(resource, "cf_resource_type", "")),
        )
        for resource in resources
    ]


def detect_stack_drift(self: CloudFormationResponse) -> ActionResult:
    stack = _stack(self)
    wanted = self._get_param("LogicalResourceIds", [])
    unknown = sorted(set(wanted) - {logical for logical, _, _ in _resources(self, stack)})
    if unknown:
        raise ValidationError(stack.name, message=f"Resources {unknown} do not exist in stack {stack.name}")
    detection = str(uuid.uuid4())
    _detections(self)[detection] = {
        "StackId": stack.stack_id,
        "StackDriftDetectionId": detection,
        "StackDriftStatus": "IN_SYNC",
        "DetectionStatus": "DETECTION_COMPLETE",
        "DriftedStackResourceCount": 0,
        "Timestamp": datetime.now(UTC),
    }
    return ActionResult({"StackDriftDetectionId": detection})


def describe_stack_drift_detection_status(self: CloudFormationResponse) -> ActionResult:
    detection = self._get_param("StackDriftDetectionId")
    found = _detections(self).get(detection)
    if found is None:
        raise ValidationError(detection, message=f"Drift detection {detection} does not exist")
    return ActionResult(dict(found))


def describe_stack_resource_drifts(self: CloudFormationResponse) -> ActionResult:
    stack = _stack(self)
    statuses = set(self._get_param("StackResourceDriftStatusFilters", [])) or {"IN_SYNC"}
    now = datetime.now(UTC)
    drifts = [
        {
            "StackId": stack.stack_id,
            "LogicalResourceId": logical,
            "PhysicalResourceId": physical,
            "ResourceType": kind,
            "StackResourceDriftStatus": "IN_SYNC",
            "Timestamp": now,
        }
        for logical, physical, kind in _resources(self, stack)
    ]
    return ActionResult(
        {"StackResourceDrifts": [d for d in drifts if d["StackResourceDriftStatus"] in statuses]}
    )


def patch() -> None:
    """Add the three actions to moto's CloudFormation API in this process."""
    CloudFormationResponse.detect_stack_drift = detect_stack_drift  # type: ignore[attr-defined]
    CloudFormationResponse.describe_stack_drift_detection_status = (  # type: ignore[attr-defined]
        describe_stack_drift_detection_status
    )
    CloudFormationResponse.describe_stack_resource_drifts = describe_stack_resource_drifts  # type: ignore[attr-defined]
