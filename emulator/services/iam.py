"""IAM: a role's ManagedPolicyArns, what a role's identity policies allow, and the names of
service-linked roles.

moto's AWS::IAM::Role handler drops ManagedPolicyArns, so a role looked attached to nothing
(and every permission check against it would fail). ``allows`` evaluates a role's inline and
attached policies the way IAM does for one request: allowed when an Allow statement applies
and no Deny does. Conditions are evaluated for the operators our templates use; any other
operator fails loudly rather than guess. moto derives a service-linked role's name from the
service principal by its own rule (`ecs.amazonaws.com` -> `AWSServiceRoleForecs`); AWS
documents the names per service, and `make bootstrap-ENV` looks them up by those.

AWS::IAM::OIDCProvider, which moto's CloudFormation lacks, is created with moto's
CreateOpenIDConnectProvider after IAM's checks (an https:// URL, at most 100 client IDs, at most
5 thumbprints, one provider per URL: EntityAlreadyExists).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.exceptions import InvalidInput
from moto.iam.models import AWSManagedPolicy, IAMBackend, Role, iam_backends
from moto.utilities.utils import get_partition

from emulator.services.base import ArnModel, Fix, Fixes, Models

_moto_role_update = Role.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]
# The ManagedPolicyArns a role's template last named: an update detaches only those it drops.
_FROM_TEMPLATE = "_emulator_managed_policy_arns"


def backend_for(account_id: str, region_name: str) -> IAMBackend:
    return iam_backends[account_id][get_partition(region_name)]


def _attachable(backend: IAMBackend, arn: str) -> Any:
    """The managed policy `arn`; an AWS managed one is loaded from moto's copy on first use
    (moto loads none of them unless asked to at start-up)."""
    if arn not in backend.managed_policies and ":iam::aws:policy/" in arn:
        name = arn.rsplit("/", 1)[-1]
        data = json.loads(aws_managed_policies_data).get(name)
        if data is not None:
            policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
            backend.managed_policies[policy.arn] = policy
    return backend.managed_policies.get(arn)


def _attach_from_template(role: Role, props: dict[str, Any]) -> None:
    backend = iam_backends[role.account_id][role.partition]
    wanted = [str(arn) for arn in props.get("ManagedPolicyArns", [])]
    for arn in getattr(role, _FROM_TEMPLATE, ()):
        if arn not in wanted and arn in role.managed_policies:
            backend.detach_role_policy(arn, role.name)
    for arn in wanted:
        if _attachable(backend, arn) is None:
            raise ValueError(f"Policy {arn} does not exist or is not attachable.")
        if arn not in role.managed_policies:
            backend.attach_role_policy(arn, role.name)
    setattr(role, _FROM_TEMPLATE, tuple(wanted))


def _role_update(
    cls: Any,
    original_resource: Role,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Role:
    role: Role = _moto_role_update(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    )
    _attach_from_template(role, cloudformation_json.get("Properties", {}))
    return role


# --- what a role's policies allow -----------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _documents(role: Role) -> Iterator[dict[str, Any]]:
    """The role's inline policies and the default versions of its attached managed policies."""
    documents: list[Any] = list(role.policies.values())
    for policy in role.managed_policies.values():
        documents += [v.document for v in policy.versions if v.is_default]
    for document in documents:
        yield json.loads(document) if isinstance(document, str) else document


def _glob(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM's wildcards: * any run of characters, ? one character."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _condition_holds(operator: str, tests: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    for key, expected in tests.items():
        expected = [str(v) for v in _listed(expected)]
        actual = context.get(key)
        if base == "Null":
            if (actual is None) != (expected[0].lower() == "true"):
                return False
            continue
        if actual is None:
            if if_exists:
                continue
            return False
        if base == "StringEquals":
            ok = actual in expected
        elif base in ("StringLike", "ArnEquals", "ArnLike"):
            ok = any(_glob(pattern, actual) for pattern in expected)
        elif base == "Bool":
            ok = actual.lower() in (v.lower() for v in expected)
        else:
            raise NotImplementedError(f"condition operator {operator} is not modelled by the local emulator")
        if not ok:
            return False
    return True


def _applies(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]) -> bool:
    if "Action" in statement:
        if not any(_glob(p, action, case=False) for p in _listed(statement["Action"])):
            return False
    elif any(_glob(p, action, case=False) for p in _listed(statement.get("NotAction", []))):
        return False
    if "Resource" in statement:
        if not any(_glob(str(p), resource) for p in _listed(statement["Resource"])):
            return False
    elif any(_glob(str(p), resource) for p in _listed(statement.get("NotResource", []))):
        return False
    return all(
        _condition_holds(operator, tests, context)
        for operator, tests in statement.get("Condition", {}).items()
    )


def allows(role: Role, action: str, resources: Iterable[str], context: Mapping[str, str]) -> bool:
    """Whether `role`'s identity policies allow `action` on every one of `resources` (a request
    IAM authorizes resource by resource), with the request's condition `context`."""
    statements = [s for document in _documents(role) for s in _listed(document.get("Statement", []))]

    def allowed(resource: str) -> bool:
        effects = {s.get("Effect") for s in statements if _applies(s, action, resource, context)}
        return "Allow" in effects and "Deny" not in effects

    return all(allowed(resource) for resource in resources)


# --- OIDC providers ---------------------------------------------------------------------------


class ValidationError(Exception):
    """IAM's error code for a parameter it refuses (refusals.AwsError builds on this module, so
    IAM's refusals are plain exceptions named by their codes)."""


class LimitExceeded(Exception):
    """IAM's error code for more client IDs or thumbprints than a provider may have."""


class EntityAlreadyExists(Exception):
    """IAM's error code for a second provider of one URL in the account."""


def _check_oidc_provider(props: dict[str, Any]) -> None:
    """CreateOpenIDConnectProvider's checks: an https:// URL, at most 100 client IDs (IAM takes
    none as well) of 1 to 255 characters, at most 5 thumbprints of 40 characters."""
    url = str(props.get("Url") or "")
    if not url.startswith("https://") or len(url) <= len("https://") or len(url) > 255:
        raise ValidationError(f"Invalid Open ID Connect Provider URL {url!r}: it must begin with https://")
    clients = [str(c) for c in props.get("ClientIdList") or []]
    if len(clients) > 100:
        raise LimitExceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100")
    if any(not 1 <= len(client) <= 255 for client in clients):
        raise ValidationError("Each client ID must have 1 to 255 characters")
    thumbprints = [str(t) for t in props.get("ThumbprintList") or []]
    if len(thumbprints) > 5:
        raise LimitExceeded("Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5")
    if any(len(thumbprint) != 40 for thumbprint in thumbprints):
        raise ValidationError("Each thumbprint must have 40 characters")


class OIDCProvider(ArnModel):
    """AWS::IAM::OIDCProvider: created with CreateOpenIDConnectProvider (readable with `aws iam
    list-open-id-connect-providers`); one per URL in the account. Ref and GetAtt Arn are its ARN;
    an update of the client IDs, thumbprints or tags keeps the provider."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::OIDCProvider"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> OIDCProvider:
        _check_oidc_provider(props)
        backend = backend_for(account_id, region_name)
        url = str(props["Url"])
        host_and_path = url.removeprefix("https://").rstrip("/")
        if any(provider.url == host_and_path for provider in backend.open_id_providers.values()):
            raise EntityAlreadyExists(f"Provider with url {url} already exists.")
        provider = backend.create_open_id_connect_provider(
            url,
            [str(t) for t in props.get("ThumbprintList") or []],
            [str(c) for c in props.get("ClientIdList") or []],
            [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])],
        )
        return cls(provider.arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: OIDCProvider,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> OIDCProvider:
        props = cloudformation_json["Properties"]
        backend = backend_for(account_id, region_name)
        provider = backend.get_open_id_connect_provider(original_resource.arn)
        if str(props.get("Url") or "").removeprefix("https://").rstrip("/") != provider.url:
            # A new URL replaces the provider.
            created = cls.create(new_resource_name, props, account_id, region_name)
            original_resource.delete(account_id, region_name)
            return created
        _check_oidc_provider(props)
        provider.client_id_list = [str(c) for c in props.get("ClientIdList") or []]
        provider.thumbprint_list = [str(t) for t in props.get("ThumbprintList") or []]
        provider.tags = {}
        backend.tag_open_id_connect_provider(
            original_resource.arn, [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])]
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        backend_for(account_id, region_name).delete_open_id_connect_provider(self.arn)


MODELS: Models = (OIDCProvider,)
FIXES: Fixes = {Role: Fix(after_create=_attach_from_template, update=_role_update)}


# --- service-linked roles ---------------------------------------------------------------------

# Service principal -> the role name AWS documents for it.
SERVICE_LINKED_ROLE_NAMES = {
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "ecs.application-autoscaling.amazonaws.com": "AWSServiceRoleForApplicationAutoScaling_ECSService",
    "rds.amazonaws.com": "AWSServiceRoleForRDS",
    "elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing",
    "config.amazonaws.com": "AWSServiceRoleForConfig",
}


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


_moto_role_delete = Role.delete_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _role_delete(
    cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
) -> None:
    """CloudFormation detaches a role's ManagedPolicyArns when it deletes the role; IAM itself
    refuses to delete a role with policies attached (DeleteConflict)."""
    backend = backend_for(account_id, region_name)
    for role in list(backend.roles.values()):
        if role.name == resource_name:
            for arn in list(role.managed_policies):
                backend.detach_role_policy(arn, role.name)
    _moto_role_delete(cls, resource_name, cloudformation_json, account_id, region_name)


def patch_api() -> None:
    """Idempotent: CreateServiceLinkedRole names roles as AWS does; CloudFormation's role
    deletion detaches managed policies first."""
    current = IAMBackend.create_service_linked_role
    if not getattr(current, "_named_as_aws", False):
        patched = _named_as_aws_does(current)
        patched._named_as_aws = True  # type: ignore[attr-defined]
        IAMBackend.create_service_linked_role = patched  # type: ignore[method-assign]
        Role.delete_from_cloudformation_json = classmethod(_role_delete)  # type: ignore[method-assign,assignment]
