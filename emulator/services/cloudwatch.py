"""CloudWatch: metric and composite alarms and dashboards, with the checks CloudWatch makes when
they are created or updated. No alarm is ever evaluated locally.

* AWS::CloudWatch::Alarm, as PutMetricAlarm checks it (CloudWatch API Reference, PutMetricAlarm
  and MetricDataQuery): a metric (MetricName, Namespace, Period and one of Statistic or
  ExtendedStatistic) or a Metrics list, never both; Period 10, 20, 30 or a multiple of 60;
  EvaluationPeriods * Period at most a day for periods under an hour, a week otherwise;
  DatapointsToAlarm at most EvaluationPeriods; in a Metrics list at most 20 queries (10
  metrics, 10 expressions), lowercase-first unique ids, each a metric or an expression, the
  ids an expression uses defined, exactly one returning data (two with ThresholdMetricId);
  the enums; names and descriptions within their lengths; at most five actions per state,
  each in the alarm's partition and region. An SNS action is checked for delivery too
  (emulator.services.sns.check_alarm_can_publish).
* AWS::CloudWatch::CompositeAlarm, as PutCompositeAlarm checks it: the AlarmRule's syntax
  (ALARM/OK/INSUFFICIENT_DATA of a name or ARN, TRUE, FALSE, AND, OR, NOT, parentheses), at
  most 100 child alarms and 500 elements, every child and the actions suppressor existing
  ("Could not save the composite alarm as alarms [...] in the alarm rule do not exist"), the
  suppressor's wait and extension periods given with it. DeleteAlarms refuses an alarm a
  composite alarm's rule still names.
* AWS::CloudWatch::Dashboard (moto's model): the name's characters and the body, as
  PutDashboard checks them (emulator.services.cloudwatch_dashboards).
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.cloudwatch.models import (
    Dashboard,
    Dimension,
    Metric,
    MetricDataQuery,
    MetricStat,
    cloudwatch_backends,
)
from moto.cloudwatch.utils import make_arn_for_alarm
from moto.utilities.utils import get_partition

from emulator.services.base import AppliedModel, Fix, Fixes, Models, tags
from emulator.services.cloudwatch_dashboards import dashboard_body_errors
from emulator.services.refusals import AwsError
from emulator.services.sns import check_alarm_can_publish


class ValidationError(AwsError):
    """CloudWatch's error code for what PutMetricAlarm and PutCompositeAlarm refuse."""


class InvalidParameterValue(AwsError):
    """CloudWatch's error code for a dashboard name it refuses."""


class InvalidParameterInput(AwsError):
    """CloudWatch's error code for a dashboard body it refuses (DashboardInvalidInputError)."""


STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
COMPARISON_OPERATORS = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)
ANOMALY_OPERATORS = COMPARISON_OPERATORS[4:]
TREAT_MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")
_SIZES = ("Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes")
_BITS = ("Bits", "Kilobits", "Megabits", "Gigabits", "Terabits")
UNITS = (
    *("Seconds", "Microseconds", "Milliseconds", *_SIZES, *_BITS, "Percent", "Count"),
    *(f"{unit}/Second" for unit in (*_SIZES, *_BITS, "Count")),
    "None",
)
# ExtendedStatistic's forms (PutMetricAlarm): p90, tm90, tc90, ts90, wm90, IQM, PR(n:m), and
# TC/TM/TS/WM(X%:X%) with X from 10 to 90.
_NUMBER = r"\d+(\.\d+)?"
_PERCENT = r"([1-8]\d(\.\d+)?|90)%"
_EXTENDED = re.compile(
    rf"^(p|tm|tc|ts|wm)(\d{{1,2}}(\.\d+)?|100)$|^IQM$|^PR\(({_NUMBER})?:({_NUMBER})?\)$"
    rf"|^(TC|TM|TS|WM)\(({_PERCENT})?:({_PERCENT})?\)$"
)
# A MetricDataQuery Id: letters, numbers and underscores, a lowercase letter first.
_QUERY_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
# In a metric math expression, ids are lowercase-first and functions are uppercase.
_IDENTIFIER = re.compile(r"\b[a-z][a-zA-Z0-9_]*\b")
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
# Alarm action ARNs: the services PutMetricAlarm and PutCompositeAlarm list.
_ACTION = re.compile(r"^arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):.+$")
_ACTION_SERVICES = ("sns", "lambda", "autoscaling", "automate", "swf", "ssm", "ssm-incidents", "aiops")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValidationError(message)


def _integer(value: Any) -> Any:
    """A template integer (CloudFormation takes "60" for 60); anything else as it is."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _valid_period(period: Any) -> bool:
    return isinstance(period, int) and period > 0 and (period in (10, 20, 30) or period % 60 == 0)


def _check_period(period: Any, evaluation_periods: int, what: str) -> None:
    _require(
        _valid_period(period),
        f"{what} {period!r} is not valid: valid values are 10, 20, 30 and any multiple of 60",
    )
    if period < 3600:
        _require(
            period * evaluation_periods <= 86400,
            "Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= 86400)",
        )
    _require(
        period * evaluation_periods <= 604800,
        "Metrics cannot be checked across more than a week (EvaluationPeriods * Period must be <= 604800)",
    )


def _check_statistic(stat: Any, what: str) -> None:
    _require(
        isinstance(stat, str) and (stat in STATISTICS or _EXTENDED.match(stat) is not None),
        f"The value {stat} for parameter {what} is not supported.",
    )


def _check_dimensions(dimensions: Any, what: str) -> None:
    _require(isinstance(dimensions, list) and len(dimensions) <= 30, f"{what}: at most 30 dimensions")
    for dimension in dimensions:
        name, value = str(dimension.get("Name", "")), str(dimension.get("Value", ""))
        _require(
            1 <= len(name) <= 255 and 1 <= len(value) <= 1024 and not name.startswith(":"),
            f"{what}: dimension {name!r} must have a name of 1-255 characters, not starting with a "
            "colon, and a value of 1-1024 characters",
        )


def _check_name_and_description(name: str, props: dict[str, Any]) -> None:
    _require(
        1 <= len(name) <= 255 and not _CONTROL.search(name),
        f"AlarmName {name!r} must be 1 to 255 characters, without ASCII control characters",
    )
    _require(len(str(props.get("AlarmDescription", ""))) <= 1024, "AlarmDescription is longer than 1024")


def _check_actions(props: dict[str, Any], alarm_arn: str, account_id: str, region_name: str) -> None:
    partition = get_partition(region_name)
    for field in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        actions = [str(action) for action in props.get(field, [])]
        _require(len(actions) <= 5, f"{field}: at most 5 actions, got {len(actions)}")
        for action in actions:
            parsed = _ACTION.match(action)
            _require(parsed is not None, f"Invalid arn syntax: {action}")
            assert parsed is not None
            _require(
                parsed["partition"] == partition,
                f"Invalid partition {parsed['partition']} specified. Only {partition} is supported.",
            )
            _require(parsed["service"] in _ACTION_SERVICES, f"Invalid alarm action {action}")
            _require(
                parsed["region"] == region_name,
                f"Invalid region {parsed['region']} specified. Only {region_name} is supported.",
            )
            if parsed["service"] == "sns" and parsed["account"] == account_id:
                check_alarm_can_publish(action, alarm_arn, account_id, region_name)


def _check_queries(props: dict[str, Any], evaluation_periods: int) -> None:
    queries = props["Metrics"]
    _require(isinstance(queries, list) and 0 < len(queries) <= 20, "Metrics: 1 to 20 queries")
    stats = [q for q in queries if "MetricStat" in q]
    expressions = [q for q in queries if "Expression" in q]
    _require(len(stats) <= 10, "Metrics: at most 10 queries may retrieve a metric (MetricStat)")
    _require(len(expressions) <= 10, "Metrics: at most 10 queries may be expressions")
    ids = [str(q.get("Id", "")) for q in queries]
    for query_id in ids:
        _require(
            _QUERY_ID.match(query_id) is not None,
            f"Invalid metrics list: Id {query_id!r} must start with a lowercase letter and contain only "
            "letters, numbers and underscores",
        )
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    _require(not duplicates, f"Invalid metrics list: the Ids {duplicates} are not unique")
    for query in queries:
        query_id = query["Id"]
        _require(
            ("MetricStat" in query) != ("Expression" in query),
            f"Invalid metrics list: query {query_id} must have exactly one of MetricStat and Expression",
        )
        if "MetricStat" in query:
            stat = query["MetricStat"]
            metric = stat.get("Metric", {})
            _require(
                bool(metric.get("MetricName")) and bool(metric.get("Namespace")),
                f"Invalid metrics list: query {query_id} needs its metric's MetricName and Namespace",
            )
            _check_dimensions(metric.get("Dimensions", []), f"query {query_id}")
            _check_statistic(stat.get("Stat"), f"Stat of query {query_id}")
            unit = stat.get("Unit")
            _require(unit in (None, *UNITS), f"Invalid Unit {unit} of query {query_id}")
            _check_period(_integer(stat.get("Period")), evaluation_periods, f"Period of query {query_id}")
        else:
            expression = str(query["Expression"])
            if not re.match(r"\s*(SELECT|SEARCH)\b", expression, re.IGNORECASE):
                used = set(_IDENTIFIER.findall(_STRING.sub("", expression)))
                unknown = sorted(used - set(ids))
                _require(
                    not unknown,
                    f"Invalid metrics list: expression {query_id} uses {unknown}, "
                    "which no query has as its Id",
                )
    returning = sum(1 for q in queries if str(q.get("ReturnData", True)).lower() == "true")
    threshold_id = props.get("ThresholdMetricId")
    if threshold_id is None:
        _require(returning == 1, "Exactly one element of the metrics list should return data.")
    else:
        _require(returning == 2, "Exactly two elements of the metrics list should return data.")
        _require(
            threshold_id in ids,
            f"ThresholdMetricId {threshold_id} does not match any Id in the metrics list.",
        )


def check_metric_alarm(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    """Raise what PutMetricAlarm raises for these properties (ValidationError), or refuse an
    action whose notifications would not be delivered (LocallyRefused)."""
    _check_name_and_description(name, props)
    for unsupported in ("EvaluationCriteria", "EvaluationInterval"):
        _require(
            unsupported not in props, f"{unsupported} (PromQL alarms) is not modelled by the local emulator"
        )
    operator = props.get("ComparisonOperator")
    _require(operator in COMPARISON_OPERATORS, f"Invalid ComparisonOperator {operator}")
    if operator in ANOMALY_OPERATORS:
        _require(
            "ThresholdMetricId" in props,
            f"ComparisonOperator {operator} is only for alarms based on anomaly detection models "
            "(ThresholdMetricId)",
        )
    else:
        _require("Threshold" in props, "Threshold is required for an alarm with a static threshold")
    _require(
        props.get("TreatMissingData", "missing") in TREAT_MISSING_DATA,
        f"Invalid TreatMissingData {props.get('TreatMissingData')}: valid values are "
        + " | ".join(TREAT_MISSING_DATA),
    )
    _require(
        props.get("EvaluateLowSampleCountPercentile", "evaluate") in ("evaluate", "ignore"),
        f"Option {props.get('EvaluateLowSampleCountPercentile')} is not supported. Supported options for "
        "parameter EvaluateLowSampleCountPercentile are evaluate and ignore.",
    )
    evaluation_periods = _integer(props.get("EvaluationPeriods"))
    _require(
        isinstance(evaluation_periods, int) and evaluation_periods >= 1,
        "EvaluationPeriods must be at least 1",
    )
    datapoints = _integer(props.get("DatapointsToAlarm"))
    if datapoints is not None:
        _require(
            isinstance(datapoints, int) and 1 <= datapoints <= evaluation_periods,
            f"DatapointsToAlarm must be between 1 and EvaluationPeriods ({evaluation_periods}), "
            f"got {datapoints}",
        )
    single = ("MetricName", "Namespace", "Dimensions", "Period", "Unit", "Statistic", "ExtendedStatistic")
    if "Metrics" in props:
        given = [field for field in single if field in props]
        _require(
            not given,
            f"If you use the Metrics parameter, you cannot include {', '.join(given)} in the same alarm",
        )
        _check_queries(props, evaluation_periods)
    else:
        _require(
            "MetricName" in props and "Namespace" in props,
            "Specify either MetricName and Namespace or a Metrics list",
        )
        _require(1 <= len(str(props["MetricName"])) <= 255, "MetricName must be 1 to 255 characters")
        namespace = str(props["Namespace"])
        _require(
            1 <= len(namespace) <= 255 and not namespace.startswith(":"),
            "Namespace must be 1 to 255 characters, not starting with a colon",
        )
        _require(
            ("Statistic" in props) != ("ExtendedStatistic" in props),
            "Specify either Statistic or ExtendedStatistic, but not both",
        )
        if "Statistic" in props:
            _require(props["Statistic"] in STATISTICS, f"Invalid Statistic {props['Statistic']}")
        else:
            _check_statistic(props["ExtendedStatistic"], "ExtendedStatistic")
        _require(props.get("Unit") in (None, *UNITS), f"Invalid Unit {props.get('Unit')}")
        _check_dimensions(props.get("Dimensions", []), "Dimensions")
        _require("Period" in props, "Period is required for an alarm on a single metric")
        _check_period(_integer(props["Period"]), evaluation_periods, "Period")
    _check_actions(props, make_arn_for_alarm(region_name, account_id, name), account_id, region_name)


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


def _backend(account_id: str, region_name: str) -> Any:
    return cloudwatch_backends[account_id][region_name]


def _composites_naming(name: str, account_id: str, region_name: str) -> list[str]:
    """The composite alarms whose rule names the alarm `name` (by name or ARN)."""
    arn = make_arn_for_alarm(region_name, account_id, name)
    return sorted(
        alarm.name
        for alarm in _backend(account_id, region_name).alarms.values()
        if alarm.rule is not None and alarm.name != name and {name, arn} & set(rule_children(alarm.rule))
    )


class _AlarmModel(AppliedModel):
    """What metric and composite alarms share: Ref is the name, GetAtt Arn the ARN; a renamed
    alarm replaces the old one; deletion is refused while a composite alarm names it."""

    def __init__(self, alarm: Any, account_id: str, region_name: str) -> None:
        self.alarm = alarm
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @property
    def physical_resource_id(self) -> str:
        return str(self.alarm.name)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return str(self.alarm.alarm_arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        updated = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        if updated.physical_resource_id != original_resource.physical_resource_id:
            original_resource.delete(account_id, region_name)
        return updated

    def delete(self, account_id: str, region_name: str) -> None:
        parents = _composites_naming(self.alarm.name, account_id, region_name)
        _require(
            not parents,
            f"Alarm {self.alarm.name} cannot be deleted: the composite alarms {parents} "
            "name it in their rule",
        )
        _backend(account_id, region_name).delete_alarms([self.alarm.name])


class Alarm(_AlarmModel):
    """AWS::CloudWatch::Alarm: checked as PutMetricAlarm checks it, then created with its metric or
    metric-math queries; never evaluated."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> Alarm:
        name = str(props.get("AlarmName", resource_name))
        check_metric_alarm(name, props, account_id, region_name)
        alarm = _backend(account_id, region_name).put_metric_alarm(
            name=name,
            namespace=props.get("Namespace", ""),
            metric_name=props.get("MetricName", ""),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]),
            period=int(props.get("Period", 60)),
            threshold=float(props.get("Threshold", 0)),
            statistic=props.get("Statistic", ""),
            extended_statistic=props.get("ExtendedStatistic"),
            description=props.get("AlarmDescription", ""),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions", [])],
            alarm_actions=props.get("AlarmActions", []),
            ok_actions=props.get("OKActions", []),
            insufficient_data_actions=props.get("InsufficientDataActions", []),
            metric_data_queries=[_query(q) for q in props.get("Metrics", [])] or None,
            datapoints_to_alarm=props.get("DatapointsToAlarm"),
            unit=props.get("Unit"),
            treat_missing_data=props.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=props.get("ThresholdMetricId"),
            actions_enabled=bool(props.get("ActionsEnabled", True)),
            tags=tags(props),
        )
        return cls(alarm, account_id, region_name)


# --- composite alarms --------------------------------------------------------------------------

_RULE_TOKEN = re.compile(
    r"\s*(?:(?P<function>ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(?:\"(?P<quoted>[^\"]*)\"|(?P<bare>[^()\"\s]+))\s*\)"
    r"|(?P<word>TRUE|FALSE|AND|OR|NOT)\b|(?P<paren>[()]))",
    re.IGNORECASE,
)


def _rule_tokens(rule: str) -> list[tuple[str, str]]:
    """The rule as (kind, value) tokens: ("alarm", name) for a function, ("word", ...), ("paren", ...)."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(rule):
        if rule[position:].strip() == "":
            break
        match = _RULE_TOKEN.match(rule, position)
        _require(match is not None, f"Invalid AlarmRule: unexpected text at character {position + 1}")
        assert match is not None
        if match["function"]:
            tokens.append(("alarm", match["quoted"] if match["quoted"] is not None else match["bare"]))
        elif match["word"]:
            tokens.append(("word", match["word"].upper()))
        else:
            tokens.append(("paren", match["paren"]))
        position = match.end()
    return tokens


def _parse_rule(tokens: list[tuple[str, str]]) -> None:
    """expression := term ((AND|OR) term)*; term := NOT term | ( expression ) | ALARM(..) | TRUE | FALSE."""
    position = 0

    def term() -> None:
        nonlocal position
        _require(
            position < len(tokens), "Invalid AlarmRule: it ends where an alarm state or TRUE/FALSE is due"
        )
        kind, value = tokens[position]
        position += 1
        if kind == "word" and value == "NOT":
            term()
        elif kind == "paren" and value == "(":
            expression()
            _require(
                position < len(tokens) and tokens[position] == ("paren", ")"), "Invalid AlarmRule: unclosed ("
            )
            position += 1
        else:
            _require(
                kind == "alarm" or value in ("TRUE", "FALSE"),
                f"Invalid AlarmRule: {value} where an alarm state or TRUE/FALSE is due",
            )

    def expression() -> None:
        nonlocal position
        term()
        while position < len(tokens) and tokens[position] in (("word", "AND"), ("word", "OR")):
            position += 1
            term()

    expression()
    if position < len(tokens):
        raise ValidationError(f"Invalid AlarmRule: unexpected {tokens[position][1]}")


def rule_children(rule: str) -> list[str]:
    """The alarm names or ARNs a composite alarm's rule names (empty when the rule does not parse)."""
    try:
        return [value for kind, value in _rule_tokens(rule) if kind == "alarm"]
    except ValidationError:
        return []


def _existing(reference: str, account_id: str, region_name: str) -> bool:
    alarms = _backend(account_id, region_name).alarms
    return reference in alarms or any(alarm.alarm_arn == reference for alarm in alarms.values())


def check_composite_alarm(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    """Raise what PutCompositeAlarm raises for these properties (ValidationError)."""
    _check_name_and_description(name, props)
    rule = props.get("AlarmRule")
    _require(isinstance(rule, str) and 1 <= len(rule) <= 10240, "AlarmRule must be 1 to 10240 characters")
    assert isinstance(rule, str)
    _require(rule == rule.strip(), "AlarmRule must not contain leading or trailing whitespace or be null")
    tokens = _rule_tokens(rule)
    _parse_rule(tokens)
    children = [value for kind, value in tokens if kind == "alarm"]
    _require(len(set(children)) <= 100, f"AlarmRule names {len(set(children))} alarms; at most 100")
    _require(len(tokens) <= 500, f"AlarmRule has {len(tokens)} elements; at most 500")
    missing = [child for child in dict.fromkeys(children) if not _existing(child, account_id, region_name)]
    _require(
        not missing,
        f"Could not save the composite alarm as alarms [{', '.join(missing)}] in the alarm rule do not exist",
    )
    suppressor = props.get("ActionsSuppressor")
    if suppressor is not None:
        _require(
            _existing(str(suppressor), account_id, region_name),
            f"ActionsSuppressor {suppressor} is not an existing alarm",
        )
        _require(
            "ActionsSuppressorWaitPeriod" in props and "ActionsSuppressorExtensionPeriod" in props,
            "ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod are required "
            "with ActionsSuppressor",
        )
    _check_actions(props, make_arn_for_alarm(region_name, account_id, name), account_id, region_name)


class CompositeAlarm(_AlarmModel):
    """AWS::CloudWatch::CompositeAlarm: checked as PutCompositeAlarm checks it, then created
    (describe-alarms --alarm-types CompositeAlarm lists it); never evaluated."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::CompositeAlarm"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> CompositeAlarm:
        name = str(props.get("AlarmName", resource_name))
        check_composite_alarm(name, props, account_id, region_name)
        alarm = _backend(account_id, region_name).put_metric_alarm(
            name=name,
            namespace="",
            metric_name="",
            comparison_operator="",
            evaluation_periods=0,
            period=0,
            threshold=0.0,
            statistic="",
            description=props.get("AlarmDescription", ""),
            dimensions=[],
            alarm_actions=props.get("AlarmActions", []),
            ok_actions=props.get("OKActions", []),
            insufficient_data_actions=props.get("InsufficientDataActions", []),
            actions_enabled=bool(props.get("ActionsEnabled", True)),
            rule=props["AlarmRule"],
            tags=tags(props),
        )
        alarm.actions_suppressor = props.get("ActionsSuppressor")
        alarm.actions_suppressor_wait_period = props.get("ActionsSuppressorWaitPeriod")
        alarm.actions_suppressor_extension_period = props.get("ActionsSuppressorExtensionPeriod")
        return cls(alarm, account_id, region_name)


# --- dashboards ----------------------------------------------------------------------------------

_DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def _check_dashboard(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    dashboard_name = props.get("DashboardName")
    if dashboard_name is not None and not _DASHBOARD_NAME.match(str(dashboard_name)):
        raise InvalidParameterValue(
            f"The value {dashboard_name} for field DashboardName contains invalid characters. "
            "It can only contain alphanumerics, dash (-) and underscore (_)."
        )
    # Dashboards are global, not regional (PutDashboard): CloudFormation refuses a name another
    # region of the account already holds.
    for region, backend in cloudwatch_backends[account_id].items():
        if region != region_name and dashboard_name in backend.dashboards:
            raise InvalidParameterValue(
                f"Resource of type 'AWS::CloudWatch::Dashboard' with identifier '{dashboard_name}' already "
                f"exists: dashboard names are global to the account (it is in {region})"
            )
    errors = dashboard_body_errors(props.get("DashboardBody"))
    if errors is None:
        raise InvalidParameterInput("The field DashboardBody must be a valid JSON object")
    if errors:
        raise InvalidParameterInput(
            f"The dashboard body is invalid, there are {len(errors)} validation errors: " + json.dumps(errors)
        )


MODELS: Models = (Alarm, CompositeAlarm)
FIXES: Fixes = {Dashboard: Fix(check=_check_dashboard)}
