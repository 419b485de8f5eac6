from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from components.alerting import AlarmRouter, DailyReport, TradingHalt, alarm_topics
from components.nag import acknowledge
from components.network import Network
from config.alarms import HALTS_TRADING
from config.model import SERVICES, SEVERITIES, EnvironmentConfig
from stacks.base import CleverBetterStack
from stacks.monitoring_stack import MonitoringStack


class AlertingStack(CleverBetterStack):
    """Stateless, after monitoring: the severity topics' queues, the alarm router and its
    deliveries table, the on-call email topic. It subscribes to the monitoring stack's topics by
    name and reads `clever-better/{token}/alerting` (the secrets stack) for the providers' keys.

    With `dr`, production's DR region (`clever-better-prod-dr-alerting`): the same router and
    halt under the same names, reading the alerting secret's replica (encrypted with the DR data
    key) and halting through the pilot light's own halt parameter."""

    UNIT = "alerting"
    STATEFUL = False
    SUMMARY = (
        "alarm router: severity queues, PagerDuty/Opsgenie and Slack, on-call email; trading halt; "
        "daily operations report"
    )
    DR_SUMMARY = "the DR region's alarm router and trading halt (the pilot light's alarms)"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        monitoring: MonitoringStack,
        network: Network,
        secret_key: kms.IKey,
        dr: bool = False,
    ) -> None:
        """`secret_key` encrypts the alerting secret in this region (the replica's: the DR data key)."""
        super().__init__(scope, construct_id, config=config, dr=dr)
        names = config.names
        # The topics it subscribes to are the monitoring stack's.
        self.add_stack_dependency(monitoring)
        key = self.unit_key(
            "AlertingKey",
            alias=names.key_alias("alerting"),
            description=(
                f"Encrypts {names.prefix}'s alarm queues, deliveries, on-call topic, and its functions' "
                "logs and dead-letter queues"
            ),
            log_group_names=[
                names.lambda_log_group(names.alarm_router_function),
                names.lambda_log_group(names.trading_halt_function),
                # The daily report runs in the primary region only.
                *([] if dr else [names.lambda_log_group(names.daily_report_function)]),
            ],
        )
        context = self.unit_context(key)
        secret_arn = self.format_arn(
            service="secretsmanager",
            resource="secret",
            # Secrets Manager appends six random characters to a secret's name in its ARN.
            resource_name=f"{names.secret('alerting')}-??????",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.router = AlarmRouter(
            self,
            "Router",
            context=context,
            network=network,
            topics=alarm_topics(self, topic_names={s: names.alarm_topic(s) for s in SEVERITIES}),
            secret_arn=secret_arn,
            secret_key_arn=secret_key.key_arn,
            alerting=config.alerting,
            pages=config.monitoring.pages,
        )
        self.halt = TradingHalt(
            self,
            "Halt",
            context=context,
            network=network,
            alarm_ids=HALTS_TRADING,
            secret_arn=secret_arn,
            secret_key_arn=secret_key.key_arn,
            dead_letters=self.router.dead_letters,
            parameter_exists=dr,
        )
        # The report covers the environment, read in its primary region.
        self.report = (
            None
            if dr
            else DailyReport(
                self,
                "DailyReport",
                context=context,
                network=network,
                secret_arn=secret_arn,
                secret_key_arn=secret_key.key_arn,
                services=SERVICES,
                schedule=config.schedules.daily_report,
            )
        )
        for policy in (
            self.router.node.find_child("FunctionPolicy"),
            self.halt.node.find_child("FunctionPolicy"),
        ):
            acknowledge(
                policy,
                "The alerting secret's ARN ends in six characters Secrets Manager chooses when it "
                "creates the secret (clever-better/{token}/alerting-??????): that one secret only.",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::{secret_arn}]",
            )
        for output_id, value, description in (
            (
                "OncallTopicArn",
                self.router.oncall_topic.topic_arn,
                "On-call email: the router's own failures",
            ),
            ("DeadLetterQueueUrl", self.router.dead_letters.queue_url, "Alarms the router could not deliver"),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description)
