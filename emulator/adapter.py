"""Teach moto's CloudFormation what our unmodified templates need, and fail loudly on the rest.

Stock moto (pinned in requirements-dev.txt: these patches touch its internals) silently skips
resource types it does not model, never completes Lambda-backed custom resources (no
Lambda runs without Docker) and answers a failing stack with HTTP 500 and a stack stuck
IN_PROGRESS. ``install()`` patches, in the process that serves moto:

* the CloudFormation engine (emulator.cloudformation): unknown types rejected, failures as
  failed stacks, dependents updated, empty updates refused, Fn::GetStackOutput resolved;
* CloudFormation's drift detection (emulator.drift), which finds every stack IN_SYNC;
* moto's own models, with each AWS service's fixes (emulator.services: FIXES), while the
  types moto lacks come from the same modules' MODELS;
* the services' APIs where moto records but does not enforce, or lacks an action (each
  module's patch_api): IAM's service-linked role names, load balancers' deletion protection,
  CloudWatch Logs' saved queries (query definitions);
* S3 policy evaluation, without conditional statements: moto ignores conditions, so the
  standard "deny unless TLS" statement would deny everything.
"""

from __future__ import annotations

from moto.s3.models import FakeBucket

from emulator import cloudformation, drift
from emulator.services import FIXES, SERVICES
from emulator.services.s3 import permission_without_conditions

_installed = False


def install() -> None:
    """Patch moto in this process (idempotent)."""
    global _installed
    if _installed:
        return
    cloudformation.patch()
    drift.patch()
    for service in SERVICES:
        # API-level fixes (IAM's service-linked role names, ELB deletion protection, ...).
        getattr(service, "patch_api", lambda: None)()
    for model, fix in FIXES.items():
        fix.apply(model)
    FakeBucket.get_permission = permission_without_conditions(  # type: ignore[method-assign]
        FakeBucket.get_permission
    )
    _installed = True
