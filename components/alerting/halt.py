"""The automatic trading halt (issue 14): the P0 daily-loss and emergency-shutdown alarms invoke
lambdas/trading_halt directly (a Lambda alarm action), which sets the parameter the bot reads,
`/clever-better/{token}/trading/halted`, and posts to Slack. `make resume-trading` clears it.

CloudWatch invokes the function asynchronously, as ``lambda.alarms.cloudwatch.amazonaws.com``,
which the function's resource policy admits for those two alarms of this account only. A halt
that fails after Lambda's retries lands in the router's dead-letter queue, whose alarm emails
on-call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from components.context import UnitContext
from components.functions import python_function, secret_read_statements
from components.naming import pascal
from components.network import Network, https_out_security_group
from config.names import Names

ALARMS_PRINCIPAL = "lambda.alarms.cloudwatch.amazonaws.com"
# What the parameter holds until something halts trading (the bot trades while "halted" is false).
INITIAL = {"halted": False, "by": "deploy", "reason": "created with the alerting stack", "at": ""}


def halt_parameter(scope: Construct, construct_id: str, *, names: Names) -> ssm.StringParameter:
    """`/clever-better/{token}/trading/halted`, as the bot reads it (the alerting stack's, and
    the DR region's own beside its pilot light)."""
    return ssm.StringParameter(
        scope,
        construct_id,
        parameter_name=names.trading_halt_parameter,
        description="The bot places no bets while this says halted (make resume-trading clears it)",
        # Later deploys leave what the halt or an operator wrote: the template value never changes.
        # CloudFormation updates a parameter by putting the template's value again (tags aside,
        # which it changes on their own): a reworded description would clear a halt in force. So
        # tests/unit/test_alerting.py holds its properties literally.
        string_value=json.dumps(INITIAL),
    )


class TradingHalt(Construct):
    """Attributes: ``parameter``, ``function``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        network: Network,
        alarm_ids: Sequence[str],
        secret_arn: str,
        secret_key_arn: str,
        dead_letters: sqs.IQueue,
        parameter_exists: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        names = context.names
        stack = cdk.Stack.of(self)
        # `parameter_exists`: another stack of the region made it (the DR region's pilot light).
        self.parameter: ssm.IStringParameter = (
            ssm.StringParameter.from_string_parameter_name(
                self, "Parameter", string_parameter_name=names.trading_halt_parameter
            )
            if parameter_exists
            else halt_parameter(self, "Parameter", names=names)
        )
        security_group = https_out_security_group(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description=f"{names.prefix} trading halt: HTTPS to Slack and AWS",
            egress="HTTPS to Slack (NAT) and the AWS APIs",
        )
        self.function: lambda_.Function = python_function(
            self,
            "Function",
            context=context,
            function_name=names.trading_halt_function,
            description="Halts trading (the parameter the bot reads) when a P0 loss or shutdown alarm fires",
            code="trading_halt",
            statements=[
                iam.PolicyStatement(
                    actions=["ssm:GetParameter", "ssm:PutParameter"], resources=[self.parameter.parameter_arn]
                ),
                *secret_read_statements([secret_arn], key_arn=secret_key_arn, region=stack.region),
            ],
            environment={
                "HALT_PARAMETER": names.trading_halt_parameter,
                "SECRET_ID": names.secret("alerting"),
                "ENVIRONMENT": names.token,
            },
            vpc=network.vpc,
            security_group=security_group,
            timeout=cdk.Duration.seconds(60),
            reserved_concurrency=None,
            dead_letter_queue=dead_letters,
        )
        # Only the P0 twins of these alarms, in this account, may invoke it (not any alarm's action).
        for alarm_id in alarm_ids:
            self.function.add_permission(
                f"Invoke{pascal(alarm_id)}",
                principal=iam.ServicePrincipal(ALARMS_PRINCIPAL),
                action="lambda:InvokeFunction",
                source_account=stack.account,
                source_arn=stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name=names.alarm(alarm_id, "P0"),
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                ),
            )
