"""The daily operations report (issue 17; lambdas/daily_report): every morning at
`schedules.daily_report` it reads what the runbook's "Daily Tasks" ask an operator to look at and
posts one message to the P3 Slack channel, through the alerting secret the router reads. `make
daily-report ENV=...` prints the same report with an operator's credentials.

Its role reads only: metrics and alarms (CloudWatch takes no resource for GetMetricData), the
environment's services and their tasks, its database instance, the backup jobs (ListBackupJobs
takes no resource), and the alerting secret. A report Scheduler cannot start lands in the P3
dead-letter queue; one that does not reach Slack is the P3 `daily-report-failed` (Lambda Errors).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import region_info
from constructs import Construct

from components.context import UnitContext
from components.functions import python_function, role_policy, scheduled_invocation, secret_read_statements
from components.nag import acknowledge
from components.network import Network, https_out_security_group
from config import metrics
from config.alarms import DAILY_REPORT_DLQ

CODE = "daily_report"
# A few dozen read calls and one Slack post with its retries.
TIMEOUT = cdk.Duration.seconds(120)


class DailyReport(Construct):
    """Attributes: ``function``, ``schedule``, ``dead_letters``, ``security_group``.

    ``services``: the ECS services whose tasks and error lines it reports; ``schedule``: a
    Scheduler cron expression in UTC (`schedules.daily_report`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        network: Network,
        secret_arn: str,
        secret_key_arn: str,
        services: Sequence[str],
        schedule: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if not services:
            raise ValueError("DailyReport needs the services to report on (services is empty)")
        names = context.names
        stack = cdk.Stack.of(self)
        self.security_group = https_out_security_group(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description=f"{names.prefix} daily report: HTTPS to the AWS APIs and Slack",
            egress="HTTPS to the AWS APIs (endpoints, NAT) and Slack's webhook",
        )
        self.dead_letters = context.dead_letter_queue(self, "DeadLetters", purpose=DAILY_REPORT_DLQ)

        # Concrete, as cdk-nag names a finding by the resource (the partition by region).
        partition = region_info.RegionInfo.get(stack.region).partition

        def arn(service: str, resource: str) -> str:
            return f"arn:{partition}:{service}:{stack.region}:{stack.account}:{resource}"

        self.function: lambda_.Function = python_function(
            self,
            "Function",
            context=context,
            function_name=names.daily_report_function,
            description="The daily operations report (runbook: Daily Tasks) to the P3 Slack channel",
            code=CODE,
            statements=secret_read_statements([secret_arn], key_arn=secret_key_arn, region=stack.region),
            environment={
                "ENVIRONMENT": names.token,
                "CLUSTER": names.cluster,
                "SERVICES": ",".join(services),
                "DB_INSTANCE": names.db_instance,
                "BACKUP_VAULT": names.backup_vault,
                "ALARM_PREFIX": f"{names.prefix}-",
                "APP_NAMESPACE": metrics.APPLICATION_NAMESPACE,
                "ERRORS_METRIC": metrics.ERROR_LOG_LINES.name,
                "ERRORS_NAMESPACE": metrics.logs_namespace(names.token, "{service}"),
                "SECRET_ID": names.secret("alerting"),
            },
            vpc=network.vpc,
            security_group=self.security_group,
            timeout=TIMEOUT,
            reserved_concurrency=None,
            memory_size=256,
        )
        acknowledge(
            self.function.node.default_child or self.function,
            "Scheduler invokes it and keeps its own dead-letter queue (P3) for a report it cannot start; "
            "a report that does not reach Slack is the P3 daily-report-failed alarm (Lambda Errors), "
            "and tomorrow's report reads the same sources again.",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
        )
        acknowledge(
            self.node.find_child("FunctionPolicy"),
            "The alerting secret's ARN ends in six characters Secrets Manager chooses when it "
            "creates the secret (clever-better/{token}/alerting-??????): that one secret only.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{secret_arn}]",
        )
        # The reads (the role names this policy too, so it is in place before the function exists).
        services_arn, tasks_arn = (
            arn("ecs", f"service/{names.cluster}/*"),
            arn("ecs", f"task/{names.cluster}/*"),
        )
        role_policy(
            self,
            "ReadPolicy",
            function=self.function,
            description=f"{names.daily_report_function}: what the report reads",
            statements=[
                iam.PolicyStatement(actions=["ecs:DescribeServices"], resources=[services_arn]),
                iam.PolicyStatement(actions=["ecs:DescribeTasks"], resources=[tasks_arn]),
                # ListTasks is authorised on container instances; the condition holds it to the
                # environment's cluster.
                iam.PolicyStatement(
                    actions=["ecs:ListTasks"],
                    resources=["*"],
                    conditions={"ArnEquals": {"ecs:cluster": arn("ecs", f"cluster/{names.cluster}")}},
                ),
                iam.PolicyStatement(
                    actions=["rds:DescribeDBInstances"], resources=[arn("rds", f"db:{names.db_instance}")]
                ),
                iam.PolicyStatement(
                    actions=[
                        "backup:ListBackupJobs",
                        "cloudwatch:DescribeAlarms",
                        "cloudwatch:GetMetricData",
                    ],
                    resources=["*"],
                ),
            ],
            reason=(
                "Reads only. GetMetricData and ListBackupJobs take no resource, and DescribeAlarms is "
                "asked for the environment's alarms by name prefix (*); ListTasks is authorised on "
                "container instances and held to the environment's cluster by its condition; the "
                "services and tasks of that one cluster have ids ECS gives them (service/CLUSTER/*, "
                "task/CLUSTER/*)."
            ),
            rules=(
                "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::{services_arn}]",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::{tasks_arn}]",
            ),
        )
        self.schedule: scheduler.CfnSchedule = scheduled_invocation(
            self,
            "Schedule",
            name=names.daily_report_schedule,
            description="The daily operations report to Slack (make daily-report prints the same)",
            expression=schedule,
            function=self.function,
            dead_letters=self.dead_letters,
            # A report more than an hour late is the next morning's business.
            max_event_age=cdk.Duration.hours(1),
            retries=3,
        )
