"""The runbook's monthly "database maintenance (vacuum, analyze)" (lambdas/db_bootstrap/maintenance.py).

A function in the data stack, beside the bootstrap it shares its code and its admin login with.
EventBridge Scheduler invokes it at `schedules.db_maintenance`, inside the RDS maintenance
window; an operator runs it on demand with `make db-maintenance` (ops/db_maintenance.py). Its
failures raise the P3 `db-maintenance-failed`: a run that fails (its metric), one that times
out or crashes (Lambda's `Errors`), or one that Scheduler could not start (its dead-letter
queue, whose alarm is P3 too). One run at a time is the handler's advisory lock. Lambda's 15
minutes bound a run; that is far beyond a VACUUM (not FULL) of the application's database and
MLflow's.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from components.context import UnitContext
from components.data.roles import admin_security_group
from components.functions import python_function, role_policy, scheduled_invocation, secret_read_statements
from components.nag import acknowledge
from config import metrics
from config.alarms import DB_MAINTENANCE_DLQ
from config.names import DATABASE, MLFLOW_DATABASE

DESCRIPTION = f"Monthly VACUUM (ANALYZE) of {DATABASE} and {MLFLOW_DATABASE}, inside the maintenance window"

CODE = "db_bootstrap"
HANDLER = "maintenance.main"
TIMEOUT = cdk.Duration.minutes(15)


class DatabaseMaintenance(Construct):
    """Attributes: ``function``, ``schedule``, ``security_group``, ``dead_letters``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        instance: rds.DatabaseInstance,
        database_security_group: ec2.ISecurityGroup,
        admin_secret: sm.ISecret,
        port: int,
        schedule: str,
    ) -> None:
        super().__init__(scope, construct_id)
        names = context.names
        vpc = instance.vpc
        self.security_group = admin_security_group(
            self,
            vpc=vpc,
            function_name=names.db_maintenance_function,
            database_security_group=database_security_group,
            port=port,
            to_database="Database maintenance to the database",
            https="HTTPS: Secrets Manager and CloudWatch (endpoints)",
        )
        # Where Scheduler puts a run it could not start (P3, config/alarms.py).
        self.dead_letters = context.dead_letter_queue(self, "DeadLetters", purpose=DB_MAINTENANCE_DLQ)
        stack = cdk.Stack.of(self)
        self.function: lambda_.Function = python_function(
            self,
            "Function",
            context=context,
            function_name=names.db_maintenance_function,
            description=DESCRIPTION,
            code=CODE,
            handler=HANDLER,
            statements=secret_read_statements(
                [admin_secret.secret_arn], key_arn=context.key.key_arn, region=stack.region
            ),
            environment={
                "DB_HOST": instance.db_instance_endpoint_address,
                "DB_PORT": instance.db_instance_endpoint_port,
                "ADMIN_SECRET_ARN": admin_secret.secret_arn,
                "DATABASES": f"{DATABASE},{MLFLOW_DATABASE}",
                "ENVIRONMENT": names.token,
                "METRIC_NAMESPACE": metrics.OPERATIONS_NAMESPACE,
                "SECONDS_METRIC": metrics.DB_MAINTENANCE_SECONDS.name,
                "FAILURES_METRIC": metrics.DB_MAINTENANCE_FAILURES.name,
                "METRIC_DIMENSION": metrics.ENVIRONMENT,
            },
            vpc=vpc,
            security_group=self.security_group,
            timeout=TIMEOUT,
            reserved_concurrency=None,
            memory_size=128,
        )
        acknowledge(
            self.function.node.default_child or self.function,
            "Scheduler invokes it asynchronously and keeps its own dead-letter queue for a run it "
            "cannot start; a run that fails or times out is the P3 db-maintenance-failed alarm (its "
            "metric and Lambda's Errors), and the next month's run vacuums again: a second queue "
            "would hold nothing an operator does not already see.",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
        )
        role_policy(
            self,
            "MetricsPolicy",
            function=self.function,
            description=f"{names.db_maintenance_function}: its run's metrics",
            statements=[
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": metrics.OPERATIONS_NAMESPACE}},
                )
            ],
            reason=(
                "PutMetricData takes no resource (*); the condition holds it to our operations namespace."
            ),
            rules=("AwsSolutions::AwsSolutions-IAM5[Resource::*]",),
        )
        self.schedule: scheduler.CfnSchedule = scheduled_invocation(
            self,
            "Schedule",
            name=names.db_maintenance_schedule,
            description=DESCRIPTION,
            expression=schedule,
            function=self.function,
            dead_letters=self.dead_letters,
            # A run that cannot start within the hour waits for the next month's (or an operator).
            max_event_age=cdk.Duration.hours(1),
            retries=3,
        )
