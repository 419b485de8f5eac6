"""CloudWatch: alarms, with their metric or metric-math queries. No alarm is ever evaluated locally."""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends

from emulator.services.base import AppliedModel, Fixes, Models


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


MODELS: Models = (Alarm,)
FIXES: Fixes = {}
