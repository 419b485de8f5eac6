"""Application Auto Scaling: scalable targets and scaling policies are registered; nothing scales locally."""

from __future__ import annotations

from typing import Any

from moto.applicationautoscaling.models import applicationautoscaling_backends

from emulator.services.base import AppliedModel, Fixes, Models


def _scaling(account_id: str, region_name: str) -> Any:
    return applicationautoscaling_backends[account_id][region_name]


class ScalableTarget(AppliedModel):
    """AWS::ApplicationAutoScaling::ScalableTarget (registered; nothing ever scales locally)."""

    def __init__(self, namespace: str, resource_id: str, dimension: str) -> None:
        self.key = (namespace, resource_id, dimension)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @property
    def physical_resource_id(self) -> str:
        namespace, resource_id, dimension = self.key
        return f"{resource_id}|{dimension}|{namespace}"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> ScalableTarget:
        _scaling(account_id, region_name).register_scalable_target(
            props["ServiceNamespace"],
            props["ResourceId"],
            props["ScalableDimension"],
            int(props["MinCapacity"]),
            int(props["MaxCapacity"]),
            props.get("RoleARN", ""),
            None,
        )
        return cls(props["ServiceNamespace"], props["ResourceId"], props["ScalableDimension"])


class ScalingPolicy(AppliedModel):
    """AWS::ApplicationAutoScaling::ScalingPolicy, attached to its scalable target."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    @property
    def physical_resource_id(self) -> str:
        return str(self.policy.policy_arn)

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> ScalingPolicy:
        target = props.get("ScalingTargetId", "")
        # The target's physical id is "resource|dimension|namespace" (see ScalableTarget).
        resource_id, dimension, namespace = [*target.split("|"), "", "", ""][:3]
        body = {
            key: props[key]
            for key in ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration")
            if key in props
        }
        policy = _scaling(account_id, region_name).put_scaling_policy(
            props["PolicyName"],
            props.get("ServiceNamespace", namespace),
            props.get("ResourceId", resource_id),
            props.get("ScalableDimension", dimension),
            body,
            props["PolicyType"],
        )
        return cls(policy)


MODELS: Models = (ScalableTarget, ScalingPolicy)
FIXES: Fixes = {}
