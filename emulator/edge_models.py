"""CloudFormation models for the services stack's types stock moto skips: the certificate,
WAF, deployment alarms and auto scaling, each applied through moto's own service API so
the result is visible through boto3 (describe-alarms, get-web-acl-for-resource, ...).

What cannot happen locally is recorded, never faked as done: the certificate stays
PENDING_VALIDATION (nobody answers DNS), no alarm is ever evaluated, nothing scales.
"""

from __future__ import annotations

from typing import Any

from moto.acm.models import acm_backends
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.wafv2.models import wafv2_backends

from emulator.models import AppliedModel, FromProperties


def _tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])]


class Certificate(FromProperties, CloudFormationModel):
    """AWS::CertificateManager::Certificate: requested, left pending validation."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CertificateManager::Certificate"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> Certificate:
        arn = acm_backends[account_id][region_name].request_certificate(
            domain_name=props["DomainName"],
            idempotency_token=resource_name[:32],
            subject_alt_names=props.get("SubjectAlternativeNames") or [],
            tags=_tags(props),
        )
        return cls(arn)


class WebAcl(FromProperties, CloudFormationModel):
    """AWS::WAFv2::WebACL (rules, default action and visibility as given)."""

    def __init__(self, acl: Any) -> None:
        self.acl = acl

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::WebACL"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.acl.name}|{self.acl.id}|REGIONAL"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Id")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return str(self.acl.arn if attribute_name == "Arn" else self.acl.id)

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> WebAcl:
        acl = wafv2_backends[account_id][region_name].create_web_acl(
            name=props["Name"],
            visibility_config=props["VisibilityConfig"],
            default_action=props["DefaultAction"],
            scope=props["Scope"],
            description=props.get("Description", ""),
            tags=_tags(props),
            rules=props.get("Rules", []),
            association_config=None,
            captcha_config=None,
            challenge_config=None,
            custom_response_bodies=None,
            token_domains=None,
        )
        return cls(acl)


class WebAclAssociation(AppliedModel):
    """AWS::WAFv2::WebACLAssociation."""

    def __init__(self, resource_arn: str) -> None:
        self.resource_arn = resource_arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::WebACLAssociation"

    @property
    def physical_resource_id(self) -> str:
        return self.resource_arn

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> WebAclAssociation:
        wafv2_backends[account_id][region_name].associate_web_acl(props["WebACLArn"], props["ResourceArn"])
        return cls(props["ResourceArn"])


class WafLogging(AppliedModel):
    """AWS::WAFv2::LoggingConfiguration."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::LoggingConfiguration"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> WafLogging:
        wafv2_backends[account_id][region_name].put_logging_configuration(
            arn=props["ResourceArn"],
            log_destination_configs=props["LogDestinationConfigs"],
            redacted_fields=props.get("RedactedFields"),
            managed_gy_firewall_manager=False,
            logging_filter=props.get("LoggingFilter") or {},
        )
        return cls(props["ResourceArn"])


def _query(query: dict[str, Any]) -> MetricDataQuery:
    stat = query.get("MetricStat")
    metric_stat = None
    if stat:
        metric = stat["Metric"]
        metric_stat = MetricStat(
            metric=Metric(
                metric_name=metric["MetricName"],
                namespace=metric["Namespace"],
                dimensions=[Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])],
            ),
            period=str(stat["Period"]),
            stat=stat["Stat"],
            unit=stat.get("Unit", ""),
        )
    return MetricDataQuery(
        query_id=query["Id"],
        label=query.get("Label", ""),
        period=str(query["Period"]) if "Period" in query else None,  # type: ignore[arg-type]
        return_data=str(query.get("ReturnData", True)).lower(),
        expression=query.get("Expression"),
        metric_stat=metric_stat,
    )


class Alarm(AppliedModel):
    """AWS::CloudWatch::Alarm: created with its metric or metric-math queries; never evaluated."""

    def __init__(self, alarm: Any) -> None:
        self.alarm = alarm

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @property
    def physical_resource_id(self) -> str:
        return str(self.alarm.name)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return str(self.alarm.alarm_arn)

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> Alarm:
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=props.get("AlarmName", resource_name),
            namespace=props.get("Namespace", ""),
            metric_name=props.get("MetricName", ""),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]),
            period=int(props.get("Period", 60)),
            threshold=float(props["Threshold"]),
            statistic=props.get("Statistic", ""),
            extended_statistic=props.get("ExtendedStatistic"),
            description=props.get("AlarmDescription", ""),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions", [])],
            alarm_actions=props.get("AlarmActions", []),
            ok_actions=props.get("OKActions", []),
            insufficient_data_actions=props.get("InsufficientDataActions", []),
            metric_data_queries=[_query(q) for q in props.get("Metrics", [])] or None,
            datapoints_to_alarm=props.get("DatapointsToAlarm"),
            treat_missing_data=props.get("TreatMissingData"),
            actions_enabled=bool(props.get("ActionsEnabled", True)),
        )
        return cls(alarm)


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


EDGE_MODELS: tuple[Any, ...] = (
    Certificate,
    WebAcl,
    WebAclAssociation,
    WafLogging,
    Alarm,
    ScalableTarget,
    ScalingPolicy,
)
