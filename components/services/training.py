"""Scheduled training (issue 17; lambdas/training): the ml-service image's training command as a
one-off task, on a schedule from config, one run at a time, each run's outcome a metric.

- EventBridge Scheduler invokes the training function at `schedules.training` (after the backup
  window) with `{"action": "start", "scheduled": TIME}`: it starts the service's current task
  definition with the training command unless a run is still going (RunTask `startedBy` marks
  ours) or the start is over an hour late; TIME is the start's RunTask client token.
- Every 15 minutes, `{"action": "watch"}`: a run past `deployment.training_timeout_minutes` is
  stopped, and so recorded as failed.
- An EventBridge rule sends each of our tasks' STOPPED events to the same function, which
  records the exit code: `TrainingRunFailed`, `TrainingFailureStreak`, `TrainingRunSeconds`.
  P2 on a failure, P1 on two in a row (config/alarms.py). A start or an event that cannot be
  delivered lands in the training dead-letter queue (P2).

A standalone task keeps running whatever its container health check says (ECS stops only a
service's unhealthy tasks), so the service's task definition serves training unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import region_info
from constructs import Construct

from components.context import UnitContext
from components.functions import python_function, role_policy, scheduled_invocation
from components.nag import acknowledge
from components.network import Network, https_out_security_group
from config import metrics
from config.alarms import TRAINING_DLQ
from config.model import TRAINING_WATCH_MINUTES

CODE = "training"
# A few ECS and CloudWatch calls.
TIMEOUT = cdk.Duration.seconds(60)
WATCH = f"rate({TRAINING_WATCH_MINUTES} minutes)"
EVENTS = iam.ServicePrincipal("events.amazonaws.com")


class ScheduledTraining(Construct):
    """Attributes: ``function``, ``schedule``, ``watch``, ``rule``, ``dead_letters``,
    ``security_group``.

    ``service``: the ECS service (in the environment's cluster) whose task definition, network
    and capacity a run uses;
    ``container``: its container whose command becomes ``command``; ``schedule``: a Scheduler
    cron expression in UTC (`schedules.training`); ``size``: the run's Fargate (cpu, memory MiB),
    None for the service's.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        network: Network,
        service: ecs.FargateService,
        task_definition: ecs.TaskDefinition,
        container: str,
        command: Sequence[str],
        timeout_minutes: int,
        schedule: str,
        size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not command:
            raise ValueError("ScheduledTraining needs the training command (command is empty)")
        names = context.names
        stack = cdk.Stack.of(self)
        partition = region_info.RegionInfo.get(stack.region).partition

        # Concrete, as cdk-nag names a finding by the resource; known at synth, so the queue's
        # policy and the function's permission name the rule without waiting for it.
        def arn(service_: str, resource: str) -> str:
            return f"arn:{partition}:{service_}:{stack.region}:{stack.account}:{resource}"

        cluster_name, service_name = names.cluster, service.service_name
        self.security_group = https_out_security_group(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description=f"{names.prefix} training: HTTPS to the ECS and CloudWatch APIs",
            egress="HTTPS to the AWS APIs (endpoints, NAT)",
        )
        self.dead_letters = context.dead_letter_queue(self, "DeadLetters", purpose=TRAINING_DLQ)
        self.function: lambda_.Function = python_function(
            self,
            "Function",
            context=context,
            function_name=names.training_function,
            description="Starts scheduled training, stops an overdue run, records each run's outcome",
            code=CODE,
            statements=[],
            environment={
                "CLUSTER": cluster_name,
                "SERVICE": service_name,
                "CONTAINER": container,
                "COMMAND": json.dumps(list(command)),
                "STARTED_BY": names.training_started_by,
                "TIMEOUT_MINUTES": str(timeout_minutes),
                "ENVIRONMENT": names.token,
                "METRIC_NAMESPACE": metrics.OPERATIONS_NAMESPACE,
                "METRIC_DIMENSION": metrics.ENVIRONMENT,
                "FAILED_METRIC": metrics.TRAINING_FAILED.name,
                "STREAK_METRIC": metrics.TRAINING_FAILURE_STREAK.name,
                "SECONDS_METRIC": metrics.TRAINING_SECONDS.name,
                "SKIPPED_METRIC": metrics.TRAINING_SKIPPED.name,
                **({"TASK_CPU": str(size[0]), "TASK_MEMORY": str(size[1])} if size else {}),
            },
            vpc=network.vpc,
            security_group=self.security_group,
            timeout=TIMEOUT,
            reserved_concurrency=None,
            memory_size=128,
        )
        acknowledge(
            self.function.node.default_child or self.function,
            "Scheduler and EventBridge invoke it and keep its dead-letter queue (P2) for what they "
            "could not deliver; a run it could not start or record is the P2 training-failed alarm "
            "(its metric and Lambda's Errors).",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
        )
        tasks_arn = arn("ecs", f"task/{cluster_name}/*")
        family_arn = arn("ecs", f"task-definition/{task_definition.family}:*")
        in_cluster = {"ArnEquals": {"ecs:cluster": arn("ecs", f"cluster/{cluster_name}")}}
        passed = [task_definition.task_role.role_arn]
        if task_definition.execution_role is not None:
            passed.append(task_definition.execution_role.role_arn)
        role_policy(
            self,
            "RunPolicy",
            function=self.function,
            description=f"{names.training_function}: run, find and stop training tasks; their metrics",
            statements=[
                iam.PolicyStatement(
                    actions=["ecs:DescribeServices"],
                    resources=[arn("ecs", f"service/{cluster_name}/{service_name}")],
                ),
                # Any revision of the service's family: the one the service runs is read at start.
                iam.PolicyStatement(actions=["ecs:RunTask"], resources=[family_arn], conditions=in_cluster),
                iam.PolicyStatement(actions=["ecs:DescribeTasks", "ecs:StopTask"], resources=[tasks_arn]),
                # ListTasks is authorised on container instances; the condition holds it to the cluster.
                iam.PolicyStatement(actions=["ecs:ListTasks"], resources=["*"], conditions=in_cluster),
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=passed,
                    conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": metrics.OPERATIONS_NAMESPACE}},
                ),
                iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"]),
            ],
            reason=(
                "RunTask on the service's task-definition family (family:*, the revision the service "
                "runs is read at start) and only in the environment's cluster; ListTasks is authorised "
                "on container instances and held to that cluster by its condition; DescribeTasks and "
                "StopTask on that cluster's tasks, whose ids ECS gives them (task/CLUSTER/*); "
                "PutMetricData and GetMetricData take no resource, the first held to our operations "
                "namespace by its condition."
            ),
            rules=(
                "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::{tasks_arn}]",
                f"AwsSolutions::AwsSolutions-IAM5[Resource::{family_arn}]",
            ),
        )

        def invocation(
            construct_id: str, *, name: str, description: str, expression: str, sent: dict[str, str]
        ) -> scheduler.CfnSchedule:
            return scheduled_invocation(
                self,
                construct_id,
                name=name,
                description=description,
                expression=expression,
                function=self.function,
                dead_letters=self.dead_letters,
                # A start more than an hour late could run into the day; the next schedule runs.
                max_event_age=cdk.Duration.hours(1),
                retries=3,
                input=json.dumps(sent),
            )

        self.schedule = invocation(
            "Schedule",
            name=names.training_schedule,
            description="Starts the ml-service's training as a one-off task (unless a run is going)",
            expression=schedule,
            # The scheduled time (Scheduler fills it in): the start's RunTask client token, so a
            # start delivered twice starts one task, and how late a start is.
            sent={"action": "start", "scheduled": "<aws.scheduler.scheduled-time>"},
        )
        self.watch = invocation(
            "Watch",
            name=names.training_watch_schedule,
            description=f"Stops a training run past its {timeout_minutes}-minute limit",
            expression=WATCH,
            sent={"action": "watch"},
        )

        rule_arn = arn("events", f"rule/{names.training_outcome_rule}")
        self.rule = events.CfnRule(
            self,
            "Outcome",
            name=names.training_outcome_rule,
            description="A training task stopped: its exit code to the training function",
            state="ENABLED",
            event_pattern={
                "source": ["aws.ecs"],
                "detail-type": ["ECS Task State Change"],
                "detail": {
                    "clusterArn": [arn("ecs", f"cluster/{cluster_name}")],
                    "lastStatus": ["STOPPED"],
                    "startedBy": [names.training_started_by],
                },
            },
            targets=[
                events.CfnRule.TargetProperty(
                    id="Training",
                    arn=self.function.function_arn,
                    retry_policy=events.CfnRule.RetryPolicyProperty(
                        maximum_event_age_in_seconds=int(cdk.Duration.hours(24).to_seconds()),
                        maximum_retry_attempts=185,
                    ),
                    dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                        arn=self.dead_letters.queue_arn
                    ),
                )
            ],
        )
        self.function.add_permission(
            "OutcomeInvoke", principal=EVENTS, source_arn=rule_arn, source_account=stack.account
        )
        # EventBridge sends to the dead-letter queue as itself: the queue's policy and its key's.
        self.dead_letters.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[EVENTS],
                actions=["sqs:SendMessage"],
                resources=[self.dead_letters.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        )
        # The queue's one policy (with its TLS-only statement; a second QueuePolicy would replace
        # it): the rule waits for it, so failures are kept from the rule's first event on.
        queue_policy = self.dead_letters.node.find_child("Policy")
        self.rule.node.add_dependency(queue_policy)
        # No source condition on the key: EventBridge's use of a key does not carry aws:SourceArn
        # (SNS developer guide, EventBridge to encrypted topics); the queue's policy holds it to
        # this rule.
        context.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[EVENTS], actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=["*"]
            )
        )
