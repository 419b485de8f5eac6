"""What watches a blue/green deployment: alarms at the load balancer and the smoke-test hook.

The alarms are measured at the load balancer (5xx rate, p95 latency) or across both target
groups (unhealthy hosts), so they see whichever colour is live. ECS watches them through the
deployment and the bake time and rolls back when one fires; the hook fails the deployment
before any production traffic moves when the green tasks fail their smoke test.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from components.context import UnitContext
from components.edge import ServiceLoadBalancer
from components.functions import python_function
from components.nag import acknowledge
from components.network import closed_security_group
from config.alarms import DEPLOYMENT_ALARM_SEVERITY
from config.model import DeploymentConfig
from config.names import Names

PERIOD = cdk.Duration.minutes(1)
# Two bad minutes out of three: one slow request burst does not roll a release back.
EVALUATION_PERIODS, DATAPOINTS_TO_ALARM = 3, 2
NO_APPROVAL = "none"


class DeploymentGuard(Construct):
    """Attributes: ``alarms`` (name -> alarm), ``hook`` (function), ``invoke_role`` (what ECS
    assumes to call it), ``approval`` (parameter or None)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        service: str,
        endpoint: ServiceLoadBalancer,
        settings: DeploymentConfig,
        reserved_concurrency: int | None,
        standby: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        names = context.names
        name = names.deployment_name(service)
        self.alarms = self._alarms(names, service, endpoint, settings)

        security_group = closed_security_group(
            self,
            "HookSecurityGroup",
            vpc=endpoint.vpc,
            description=f"{name} deployment hook: test listener and VPC endpoints",
        )
        port = ec2.Port.tcp(settings.test_listener_port)
        # A public test listener is called by its public name, so out through NAT; an internal
        # one directly, security group to security group.
        hook_egress = ec2.Peer.any_ipv4() if endpoint.internet_facing else endpoint.security_group
        security_group.add_egress_rule(hook_egress, port, "The test listener")
        endpoint.security_group.add_ingress_rule(security_group, port, "The deployment hook")
        # SSM (the approval parameter) and ECS (is this the first deployment?) through the
        # VPC's interface endpoints.
        security_group.add_egress_rule(
            ec2.Peer.ipv4(endpoint.vpc.vpc_cidr_block), ec2.Port.tcp(443), "VPC endpoints"
        )

        statements: list[iam.PolicyStatement] = []
        environment = {
            "TEST_URL": endpoint.test_url,
            "CHECKS": json.dumps(
                [
                    {"path": c.path, "status": c.status, "body_contains": c.body_contains}
                    for c in settings.smoke_checks
                ],
                separators=(",", ":"),
            ),
            "TIMEOUT_SECONDS": str(settings.smoke_timeout_seconds),
        }
        self.approval: ssm.StringParameter | None = None
        # The DR pilot light deploys the release production's gate let through, at 0 tasks.
        approval_gate = settings.approval_gate and not standby
        # The gate lets a service's first deployment through: the hook asks ECS whether the
        # deployment replaces any revision. ECS authorizes DescribeServiceDeployments on the
        # service and on the deployment (Service Authorization Reference); deployment ids
        # exist only at run time.
        stack, on_service = cdk.Stack.of(self), f"{names.cluster}/{service}"
        deployments = stack.format_arn(
            service="ecs", resource="service-deployment", resource_name=f"{on_service}/*"
        )
        # The hook asks ECS about the deployment when the smoke test fails (does the green
        # revision run any task?) and, behind the gate, whether it is the service's first.
        statements.append(
            iam.PolicyStatement(
                actions=["ecs:DescribeServiceDeployments"],
                resources=[
                    stack.format_arn(service="ecs", resource="service", resource_name=on_service),
                    deployments,
                ],
            )
        )
        if approval_gate:
            # `make approve` writes the green revision's ARN here; the template's value never
            # changes, so a deploy never overwrites an approval.
            self.approval = ssm.StringParameter(
                self,
                "Approval",
                parameter_name=names.approval_parameter(service),
                string_value=NO_APPROVAL,
                description=f"{name}: the service revision an operator approved (make approve)",
            )
            statements.append(
                iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[self.approval.parameter_arn])
            )
            environment["APPROVAL_PARAMETER"] = self.approval.parameter_name
            environment["APPROVAL_TIMEOUT_SECONDS"] = str(settings.approval_timeout_minutes * 60)
        checks_time = len(settings.smoke_checks) * settings.smoke_timeout_seconds
        self.hook: lambda_.Function = python_function(
            self,
            "Hook",
            context=context,
            function_name=names.deployment_hook_function(service),
            description=f"{name}: smoke-tests green tasks through the test listener"
            + (" and waits for approval" if approval_gate else ""),
            code="deployment_hook",
            statements=statements,
            environment=environment,
            vpc=endpoint.vpc,
            security_group=security_group,
            timeout=cdk.Duration.seconds(checks_time + 30),
            reserved_concurrency=reserved_concurrency,
        )
        acknowledge(
            self.node.find_child("HookPolicy"),
            "A service deployment's id exists only once ECS starts it; the wildcard stays within "
            "this one service's deployments, and the action only reads them.",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{deployments}]",
        )
        # ECS assumes this role to call the hook: that one function, nothing else (the CDK's
        # default role would also grant its versions, a wildcard, in an inline policy).
        self.invoke_role = iam.Role(
            self,
            "InvokeRole",
            assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
            description=f"{name}: lets ECS invoke the deployment hook",
        )
        self.invoke_role.add_managed_policy(
            iam.ManagedPolicy(
                self,
                "InvokePolicy",
                statements=[
                    iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.hook.function_arn])
                ],
            )
        )
        acknowledge(
            self.hook.node.default_child or self.hook,
            "ECS invokes the hook synchronously and rolls the deployment back on any error, "
            "so a failed invocation is already handled; a dead-letter queue would stay empty.",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
        )

    def _alarms(
        self, names: Names, service: str, endpoint: ServiceLoadBalancer, settings: DeploymentConfig
    ) -> dict[str, cw.Alarm]:
        lb = endpoint.load_balancer.metrics
        # Target 5xx only: the load balancer's own 503s (maintenance mode) are not a bad release.
        errors = lb.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=PERIOD, statistic="Sum")
        requests = lb.request_count(period=PERIOD, statistic="Sum")
        unhealthy: Sequence[cw.IMetric] = [
            group.metrics.unhealthy_host_count(period=PERIOD, statistic="Maximum")
            for group in (endpoint.blue, endpoint.green)
        ]
        definitions: dict[str, tuple[cw.IMetric, float, str]] = {
            "5xx": (
                cw.MathExpression(
                    expression="IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)",
                    using_metrics={"errors": errors, "requests": requests},
                    period=PERIOD,
                    label="Target 5xx (% of requests)",
                ),
                settings.alarm_5xx_percent,
                f"more than {settings.alarm_5xx_percent}% of requests end in a target 5xx",
            ),
            "latency": (
                lb.target_response_time(period=PERIOD, statistic="p95"),
                settings.alarm_p95_latency_ms / 1000,
                f"p95 target response time above {settings.alarm_p95_latency_ms} ms",
            ),
            "unhealthy": (
                cw.MathExpression(
                    expression="MAX([FILL(blue, 0), FILL(green, 0)])",
                    using_metrics={"blue": unhealthy[0], "green": unhealthy[1]},
                    period=PERIOD,
                    label="Unhealthy targets (either colour)",
                ),
                0,
                "a target of either colour fails its health check",
            ),
        }
        alarms = {}
        for kind, (metric, threshold, meaning) in definitions.items():
            alarm_name = names.deployment_alarm(service, kind)
            alarms[alarm_name] = cw.Alarm(
                self,
                f"{kind.capitalize()}Alarm",
                alarm_name=alarm_name,
                alarm_description=f"{DEPLOYMENT_ALARM_SEVERITY} Deployment alarm: {meaning}; ECS rolls "
                "back a deployment (or its bake time) while this is in ALARM. First check: the deployment's "
                "events (make deploy-status) and the new revision's log.",
                metric=metric,
                threshold=threshold,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=EVALUATION_PERIODS,
                datapoints_to_alarm=DATAPOINTS_TO_ALARM,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
            # It also joins the alarm catalogue (docs/ALARMS.md) at P1: a release is being rolled
            # back. The severity's topic lives in the monitoring stack, deployed after this one;
            # CloudWatch takes an action's ARN without looking the topic up.
            topic = sns.Topic.from_topic_arn(
                self,
                f"{kind.capitalize()}AlarmTopic",
                cdk.Stack.of(self).format_arn(
                    service="sns",
                    resource=names.alarm_topic(DEPLOYMENT_ALARM_SEVERITY),
                    arn_format=cdk.ArnFormat.NO_RESOURCE_NAME,
                ),
            )
            action = cw_actions.SnsAction(topic)
            alarms[alarm_name].add_alarm_action(action)
            alarms[alarm_name].add_ok_action(action)
        return alarms
