"""What the create-time checks of CloudWatch, CloudWatch Logs and SNS share.

* ``AwsError``: a refusal AWS makes, named by AWS's error code, so the stack event reads
  ``<code>: <message>`` (as ``ValidationError: Exactly one element of the metrics list should
  return data.``).
* ``LocallyRefused``: what AWS accepts when the resource is created and fails later, silently:
  an alarm whose notifications are never delivered, a saved query over a log group that is
  not there. The emulator refuses it when the resource is created, and its message says that
  AWS would not.
* ``resource_policy_allows``: a resource policy (a topic's, a key's) evaluated for a service
  principal's request, with the condition operators emulator.services.iam evaluates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from moto.iam.exceptions import NotFoundException

from emulator.services.iam import _applies, _listed, backend_for


class AwsError(Exception):
    """A refusal as AWS makes it; subclasses are named by AWS's error code."""


class LocallyRefused(Exception):
    """What AWS accepts at create time but fails later without an error anyone sees."""

    def __init__(self, what: str, later: str) -> None:
        super().__init__(f"{what} (AWS accepts this when it is created; {later})")


class _ConditionKeys(dict[str, str]):
    """Request context whose keys match case-insensitively, as IAM condition keys do."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


def request_context(values: Mapping[str, str]) -> Mapping[str, str]:
    """A request's condition keys (aws:SourceArn, ...), looked up case-insensitively."""
    return _ConditionKeys({key.lower(): value for key, value in values.items()})


def _names_principal(statement: Mapping[str, Any], service: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    return principal.get("AWS") == "*" or service in _listed(principal.get("Service", []))


def resource_policy_allows(
    document: Mapping[str, Any], service: str, action: str, resource: str, context: Mapping[str, str]
) -> bool:
    """Whether `document` lets the service principal `service` perform `action` on `resource`:
    an Allow naming it applies and no Deny does (a service principal has no identity policy, so
    the resource policy alone decides)."""
    effects = {
        statement.get("Effect")
        for statement in _listed(document.get("Statement", []))
        if _names_principal(statement, service) and _applies(statement, action, resource, context)
    }
    return "Allow" in effects and "Deny" not in effects


def role_refusal(
    role_arn: str, service: str, context: Mapping[str, str], account_id: str, region_name: str
) -> tuple[str, Any]:
    """Whether `service` may assume the role (the role must exist, and its trust policy allow
    `service` sts:AssumeRole under `context`'s condition keys): ("missing", None),
    ("untrusted", role) or ("", role)."""
    try:
        role = backend_for(account_id, region_name).get_role_by_arn(role_arn)
    except NotFoundException:
        return "missing", None
    trust = role.assume_role_policy_document
    document = json.loads(trust) if isinstance(trust, str) else trust
    if not resource_policy_allows(document, service, "sts:AssumeRole", role_arn, request_context(context)):
        return "untrusted", role
    return "", role
