"""Elastic Load Balancing v2: the GetAtt names alarm dimensions use, which moto lacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup

from emulator.services.base import Fix, Fixes, Models


def _arn_tail(marker: str) -> Callable[[Any], str]:
    """CloudWatch's "full name" of a load balancer: the ARN after `marker`."""
    return lambda obj: str(obj.arn).split(marker, 1)[1]


MODELS: Models = ()
FIXES: Fixes = {
    FakeLoadBalancer: Fix(
        attributes={
            "LoadBalancerFullName": _arn_tail(":loadbalancer/"),
            "LoadBalancerArn": lambda lb: lb.arn,
        }
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
