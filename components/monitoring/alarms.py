"""The alarm catalogue as CloudWatch alarms, and one encrypted SNS topic per severity.

Every row of config/alarms.py becomes one alarm named `clever-better-{token}-{id}-P{n}`, whose
alarm and OK actions notify its severity's topic (`clever-better-{token}-p0` ... `-p3`); the
alerting unit routes the topics to people. The topics are encrypted with the stack's key, so
CloudWatch, which publishes to them, may use that key (a topic with an AWS managed key would
silently drop every alarm: CloudWatch cannot use `alias/aws/sns`), and each topic's policy lets
only this account's alarms publish, over TLS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from components.context import UnitContext
from components.nag import acknowledge
from components.naming import pascal
from config.alarms import HALTS_TRADING, AlarmSpec, Stat, catalogue, dr_catalogue, security_event_rules
from config.model import PAGING_SEVERITIES, SEVERITIES, EnvironmentConfig, Severity

# On each severity topic: whether its alarms page on-call (P0 and P1 where monitoring.pages).
PAGES_TAG = "clever-better:pages"
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# CloudWatch's missing-data treatments, as the catalogue names them.
MISSING = {"notBreaching": "notBreaching", "breaching": "breaching", "missing": "missing", "ignore": "ignore"}
PERCENTILE = re.compile(r"p\d+(\.\d+)?")


def slug(heading: str) -> str:
    """GitHub's anchor for a markdown heading: `High memory or CPU` -> `high-memory-or-cpu`."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def dashboard_url(region: str, name: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"
    )


# Where a disarmed DR alarm says why it is quiet (ops/dr.py arms and disarms them).
ARMED_BY = "Armed by make dr-failover, disarmed by make dr-failback."
DISARMED_REASON = (
    "A health alarm of the DR pilot light, which runs no task until a failover: armed it would sit "
    "in ALARM and page. Its actions (its severity's topic) are written; make dr-failover enables "
    "them once the services are stable and make dr-failback disables them again."
)


def description(
    spec: AlarmSpec, *, config: EnvironmentConfig, region: str, dr: bool = False, disarmed: bool = False
) -> str:
    """What fired, the threshold, the first thing to check, the dashboard and the runbook."""
    names = config.names
    return (
        f"{spec.severity} {spec.title}: {spec.condition()}. First check: {spec.first_check}. "
        f"Dashboard: {dashboard_url(region, names.dashboard(spec.dashboard, dr=dr))} "
        f"Runbook: {config.monitoring.runbook_url}#{slug(spec.runbook_section)}"
        + (f" {ARMED_BY}" if disarmed else "")
    )


def _rule_arn(stack: cdk.Stack, name: str) -> str:
    return stack.format_arn(service="events", resource="rule", resource_name=name)


class AlarmCatalogue(Construct):
    """Attributes: ``topics`` (severity -> topic), ``alarms`` (alarm name -> alarm).

    With `dr`, production's DR region: the rows of `dr_catalogue`, and those whose silence is
    their failure (`AlarmSpec.disarmed_in_dr`) created with their actions off, since the pilot
    light is silent until `make dr-failover` arms them."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        config: EnvironmentConfig,
        dimensions: Mapping[str, str],
        dr: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self._dimensions = {"environment": config.token, **dimensions}
        self._pages = config.monitoring.pages
        self._allow_publisher(
            context.key, service="cloudwatch.amazonaws.com", sid="CloudWatchAlarmsPublishToEncryptedTopics"
        )
        # The DR region's audit stack forwards its findings to the primary's rules.
        self._event_rules = {} if dr else security_event_rules(config)
        if self._event_rules:
            self._allow_publisher(
                context.key, service="events.amazonaws.com", sid="SecurityFindingsPublishToEncryptedTopics"
            )
        self.topics: dict[Severity, sns.Topic] = {
            severity: self._topic(severity, context=context) for severity in SEVERITIES
        }
        self.alarms: dict[str, cw.IAlarm] = {}
        self.specs: dict[str, AlarmSpec] = {}
        topic_arns = {severity: topic.topic_arn for severity, topic in self.topics.items()}
        region = stack.region
        oncall = stack.format_arn(
            service="sns", resource=config.names.oncall_topic, arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
        )

        halt_function = stack.format_arn(
            service="lambda",
            resource="function",
            resource_name=config.names.trading_halt_function,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

        # Both live in the alerting stack, deployed after this one; CloudWatch takes their ARNs.
        def extra(spec: AlarmSpec) -> list[str]:
            return [oncall] if spec.email_oncall else []

        def halt(spec: AlarmSpec) -> list[str]:
            return [halt_function] if spec.severity == "P0" and spec.id in HALTS_TRADING else []

        for spec in dr_catalogue(config) if dr else catalogue(config):
            name = config.names.alarm(spec.id, spec.severity)
            disarmed = dr and spec.disarmed_in_dr
            # L1 from the row: the L2 Alarm with its Metric, Duration and SnsAction objects cost a
            # dozen jsii round trips an alarm (a tenth of the app's synth). The holder keeps the
            # L2's construct path (.../Resource), so the logical IDs, and the alarms, stay.
            holder = Construct(self, pascal(f"{spec.id}-{spec.severity}"))
            alarm = cw.CfnAlarm(
                holder,
                "Resource",
                alarm_name=name,
                alarm_description=description(spec, config=config, region=region, dr=dr, disarmed=disarmed),
                # Unset (CloudFormation's default, enabled) everywhere else.
                actions_enabled=False if disarmed else None,
                alarm_actions=[topic_arns[spec.severity], *extra(spec), *halt(spec)],
                ok_actions=[topic_arns[spec.severity], *extra(spec)],
                threshold=spec.threshold,
                comparison_operator=spec.comparison,
                evaluation_periods=spec.evaluation_periods,
                datapoints_to_alarm=spec.datapoints_to_alarm,
                treat_missing_data=MISSING[spec.missing_data],
                **self._metric_properties(spec),
            )
            if disarmed:
                acknowledge(alarm, DISARMED_REASON, "NIST.800.53.R5::NIST.800.53.R5-CloudWatchAlarmAction")
            self.alarms[name] = cw.Alarm.from_alarm_arn(holder, "Alarm", alarm.attr_arn)
            self.specs[name] = spec

    def _dimensions_of(self, stat: Stat) -> list[cw.CfnAlarm.DimensionProperty]:
        # Sorted by name, as the L2 Metric renders them.
        return [
            cw.CfnAlarm.DimensionProperty(name=name, value=self._value(value))
            for name, value in sorted(stat.dimensions)
        ]

    def _metric_properties(self, spec: AlarmSpec) -> dict[str, Any]:
        """The alarm's metric as CloudFormation takes it: one metric, or metric math."""
        if spec.expression is None:
            (only,) = spec.metrics.values()
            statistic = (
                {"extended_statistic": only.statistic}
                if PERCENTILE.fullmatch(only.statistic)
                else {"statistic": only.statistic}
            )
            return {
                "namespace": only.namespace,
                "metric_name": only.metric,
                "dimensions": self._dimensions_of(only),
                "period": only.period_seconds,
                **statistic,
            }
        queries = [
            cw.CfnAlarm.MetricDataQueryProperty(
                id="expr_1", expression=spec.expression, label=spec.title, return_data=True
            )
        ]
        queries += [
            cw.CfnAlarm.MetricDataQueryProperty(
                id=key,
                metric_stat=cw.CfnAlarm.MetricStatProperty(
                    metric=cw.CfnAlarm.MetricProperty(
                        namespace=stat.namespace,
                        metric_name=stat.metric,
                        dimensions=self._dimensions_of(stat),
                    ),
                    period=stat.period_seconds,
                    stat=stat.statistic,
                ),
                return_data=False,
            )
            for key, stat in spec.metrics.items()
        ]
        return {"metrics": queries}

    def _topic(self, severity: Severity, *, context: UnitContext) -> sns.Topic:
        stack = cdk.Stack.of(self)
        pages = severity in PAGING_SEVERITIES and self._pages
        topic = sns.Topic(
            self,
            f"{severity}Topic",
            topic_name=context.names.alarm_topic(severity),
            display_name=f"Clever Better {context.names.token} {severity} alarms",
            master_key=context.key,
            enforce_ssl=True,
        )
        # What the alerting router does with the topic's alarms: page (and post), or only post.
        cdk.Tags.of(topic).add(PAGES_TAG, "true" if pages else "false")
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        rules = sorted(rule for rule, to in self._event_rules.items() if to == severity)
        if rules:
            # The audit stack's GuardDuty and AWS Config rules (components/security/baseline.py).
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="SecurityFindingsOfThisAccount",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["sns:Publish"],
                    resources=[topic.topic_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": [_rule_arn(stack, r) for r in rules]}},
                )
            )
        return topic

    @staticmethod
    def _allow_publisher(key: kms.IKey, *, service: str, sid: str) -> None:
        """An AWS service publishing to the encrypted topics uses their key (SNS developer guide,
        "Enable compatibility between event sources from AWS services and encrypted topics"):
        CloudWatch for the alarms, held to this account; EventBridge for the security rules,
        with no condition, as the same guide says aws:SourceAccount and aws:SourceArn in a key
        policy are not supported for EventBridge-to-encrypted topics (with one, every finding's
        publish fails). Which alarms or rules may publish is each topic policy's (aws:SourceArn)."""
        stack = cdk.Stack.of(key)
        events = service == "events.amazonaws.com"
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=None if events else {"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )

    def _value(self, template: str) -> str:
        return PLACEHOLDER.sub(lambda m: self._dimensions[m.group(1)], template)

    def metric_of(self, stat: Stat, *, label: str | None = None) -> cw.Metric:
        """`stat` as a CloudWatch metric, its `{placeholders}` filled (dashboards use this too)."""
        return cw.Metric(
            namespace=stat.namespace,
            metric_name=stat.metric,
            dimensions_map={name: self._value(value) for name, value in stat.dimensions},
            statistic=stat.statistic,
            period=cdk.Duration.seconds(stat.period_seconds),
            label=label,
        )
