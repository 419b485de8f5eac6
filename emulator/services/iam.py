"""IAM: service-linked roles get the names AWS gives them (`make bootstrap-ENV` looks them up).

moto derives a service-linked role's name from the service principal by its own rule
(`ecs.amazonaws.com` -> `AWSServiceRoleForecs`); AWS documents the names per service.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.iam.exceptions import InvalidInput
from moto.iam.models import IAMBackend

from emulator.services.base import Fixes, Models

# Service principal -> the role name AWS documents for it.
SERVICE_LINKED_ROLE_NAMES = {
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "ecs.application-autoscaling.amazonaws.com": "AWSServiceRoleForApplicationAutoScaling_ECSService",
    "rds.amazonaws.com": "AWSServiceRoleForRDS",
    "elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing",
}

MODELS: Models = ()
FIXES: Fixes = {}


def _named_as_aws_does(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create_service_linked_role(self: IAMBackend, service_name: str, description: str, suffix: str) -> Any:
        name = None if suffix else SERVICE_LINKED_ROLE_NAMES.get(service_name)
        if name is None:
            return original(self, service_name, description, suffix)
        if any(role.name == name for role in self.roles.values()):
            # IAM's answer to a second one (what `make bootstrap-ENV` must take in its stride).
            raise InvalidInput(
                f"Service role name {name} has been taken in this account, please try a different suffix."
            )
        role = original(self, service_name, description, suffix)
        role.name = name  # its ARN follows the name
        return role

    return create_service_linked_role


def patch_api() -> None:
    """Idempotent: wraps moto's CreateServiceLinkedRole once."""
    current = IAMBackend.create_service_linked_role
    if not getattr(current, "_named_as_aws", False):
        patched = _named_as_aws_does(current)
        patched._named_as_aws = True  # type: ignore[attr-defined]
        IAMBackend.create_service_linked_role = patched  # type: ignore[method-assign]
