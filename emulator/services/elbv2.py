"""Elastic Load Balancing v2: the GetAtt names alarm dimensions use, which moto lacks; and
deletion protection, which moto records but never enforces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.exceptions import ServiceException
from moto.elbv2.models import ELBv2Backend, FakeLoadBalancer, FakeTargetGroup
from moto.s3.models import s3_backends

from emulator.services.base import Fix, Fixes, Models


def _arn_tail(marker: str) -> Callable[[Any], str]:
    """CloudWatch's "full name" of a load balancer: the ARN after `marker`."""
    return lambda obj: str(obj.arn).split(marker, 1)[1]


def _load_balancer_after(balancer: FakeLoadBalancer, props: dict[str, Any]) -> None:
    """moto's handler drops LoadBalancerAttributes (deletion protection, access logs, ...). With
    access logs on, ELB writes its test file into the bucket at once, as AWS does: the bucket
    is no longer empty (and CloudFormation can no longer delete it)."""
    for attribute in props.get("LoadBalancerAttributes", []):
        if attribute["Key"] in FakeLoadBalancer.VALID_ATTRS:
            balancer.attrs[attribute["Key"]] = str(attribute["Value"])
    attrs = balancer.attrs
    if str(attrs.get("access_logs.s3.enabled")).lower() == "true" and attrs.get("access_logs.s3.bucket"):
        prefix = attrs.get("access_logs.s3.prefix") or ""
        account = str(balancer.arn).split(":")[4]
        key = "/".join(p for p in (prefix, "AWSLogs", account, "ELBAccessLogTestFile") if p)
        s3_backends[account]["aws"].put_object(attrs["access_logs.s3.bucket"], key, b"")


MODELS: Models = ()
FIXES: Fixes = {
    FakeLoadBalancer: Fix(
        after_create=_load_balancer_after,
        attributes={
            "LoadBalancerFullName": _arn_tail(":loadbalancer/"),
            "LoadBalancerArn": lambda lb: lb.arn,
        },
    ),
    FakeTargetGroup: Fix(
        attributes={
            "TargetGroupFullName": lambda group: str(group.arn).split(":", 5)[5],
            "TargetGroupName": lambda group: group.name,
            "TargetGroupArn": lambda group: group.arn,
            "LoadBalancerArns": lambda group: list(group.load_balancer_arns),
        }
    ),
}


class OperationNotPermitted(ServiceException):
    code = "OperationNotPermitted"


def _refuse_protected(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_load_balancer(self: ELBv2Backend, arn: str) -> None:
        balancer = self.load_balancers.get(arn)
        if balancer is not None and balancer.attrs.get("deletion_protection.enabled") == "true":
            raise OperationNotPermitted(
                f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled"
            )
        original(self, arn)

    delete_load_balancer._refuses_protected = True  # type: ignore[attr-defined]
    return delete_load_balancer


def patch_api() -> None:
    """Idempotent: DeleteLoadBalancer (and CloudFormation's delete) refuse a protected one."""
    if not getattr(ELBv2Backend.delete_load_balancer, "_refuses_protected", False):
        ELBv2Backend.delete_load_balancer = _refuse_protected(ELBv2Backend.delete_load_balancer)  # type: ignore[method-assign]
