"""The alarm router's wiring (issue 14): each severity topic -> its SQS queue -> the router Lambda
(lambdas/alarm_router), a dead-letter queue behind the four queues, the deliveries table, and the
on-call email topic for what must not depend on the router.

Delivery chain, each link granted where AWS checks it:

* SNS -> queue: the queue's policy lets only its topic send (aws:SourceArn), and the key's policy
  lets SNS encrypt for the queue (SNS publishes with its own principal, which IAM policies of
  ours cannot grant; without it SNS drops the message unseen).
* queue -> function: an event source mapping per queue, partial batch responses on; the role's
  managed policy holds ReceiveMessage, DeleteMessage, GetQueueAttributes and the key before the
  mapping exists (CreateEventSourceMapping refuses a role without them).
* a message the router cannot deliver returns to its queue; after ``MAX_RECEIVES`` it moves to
  the dead-letter queue, whose P1 alarm (config/alarms.py) also emails on-call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from components.context import UnitContext
from components.functions import python_function, scheduled_invocation, secret_read_statements
from components.nag import acknowledge
from components.network import Network, https_out_security_group
from config.alarms import ALARM_ROUTER_DLQ
from config.model import SEVERITIES, AlertingConfig, Severity

# A few seconds per provider call and its retries; SQS hides a message six times as long as the
# function may run (AWS's advice for Lambda event sources), so a retry never overlaps.
TIMEOUT = cdk.Duration.seconds(60)
VISIBILITY = cdk.Duration.seconds(360)
# Five deliveries (about half an hour of retries with the visibility time-out) before a message
# is a dead letter.
MAX_RECEIVES = 5
BATCH_SIZE = 10
REMINDER_SCHEDULE = "rate(5 minutes)"


class AlarmRouter(Construct):
    """Attributes: ``queues`` (severity -> queue), ``dead_letters``, ``table``, ``function``,
    ``oncall_topic``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        network: Network,
        topics: Mapping[Severity, sns.ITopic],
        secret_arn: str,
        secret_key_arn: str,
        alerting: AlertingConfig,
        pages: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        names = context.names
        stack = cdk.Stack.of(self)
        self._allow_services(context)
        self.dead_letters = context.dead_letter_queue(self, "DeadLetters", purpose=ALARM_ROUTER_DLQ)
        self.queues: dict[Severity, sqs.Queue] = {}
        for severity in SEVERITIES:
            queue = sqs.Queue(
                self,
                f"{severity}Queue",
                queue_name=names.alarm_queue(severity),
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=context.key,
                enforce_ssl=True,
                visibility_timeout=VISIBILITY,
                retention_period=cdk.Duration.days(4),
                removal_policy=context.removal_policy,
                dead_letter_queue=sqs.DeadLetterQueue(
                    queue=self.dead_letters, max_receive_count=MAX_RECEIVES
                ),
            )
            topics[severity].add_subscription(
                subscriptions.SqsSubscription(queue, raw_message_delivery=False)
            )
            self.queues[severity] = queue

        self.table = dynamodb.Table(
            self,
            "Deliveries",
            table_name=names.alarm_deliveries_table,
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expires",
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=context.key,
            removal_policy=context.removal_policy,
        )
        acknowledge(
            self.table,
            "Idempotency records that expire after a day (which destination took which alarm); "
            "restoring them would serve no one, and losing them can at worst post one alarm twice.",
            "AwsSolutions::AwsSolutions-DDB3",
            "NIST.800.53.R5::NIST.800.53.R5-DynamoDBPITREnabled",
            "NIST.800.53.R5::NIST.800.53.R5-DynamoDBInBackupPlan",
        )

        security_group = https_out_security_group(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description=f"{names.prefix} alarm router: HTTPS to PagerDuty, Opsgenie, Slack and AWS",
            egress="HTTPS to the providers (NAT) and the AWS APIs",
        )
        queue_arns = [q.queue_arn for q in self.queues.values()]
        self.function: lambda_.Function = python_function(
            self,
            "Function",
            context=context,
            function_name=names.alarm_router_function,
            description="Routes alarm state changes to PagerDuty or Opsgenie and Slack",
            code="alarm_router",
            statements=[
                iam.PolicyStatement(
                    actions=["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                    resources=queue_arns,
                ),
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[context.key.key_arn]),
                iam.PolicyStatement(
                    actions=["dynamodb:GetItem", "dynamodb:PutItem"], resources=[self.table.table_arn]
                ),
                *secret_read_statements([secret_arn], key_arn=secret_key_arn, region=stack.region),
                # The reminders: which P0/P1 alarms are still in ALARM (a read of alarm states).
                # Its own Sid keeps the CDK from merging it into the VPC statement on `*`.
                iam.PolicyStatement(
                    sid="ReadAlarmStates", actions=["cloudwatch:DescribeAlarms"], resources=["*"]
                ),
            ],
            environment={
                "SECRET_ID": names.secret("alerting"),
                "PAGER": alerting.pager,
                "PAGES": "true" if pages else "false",
                "IDEMPOTENCY_TABLE": names.alarm_deliveries_table,
                "ALARM_PREFIX": f"{names.prefix}-",
            },
            vpc=network.vpc,
            security_group=security_group,
            timeout=TIMEOUT,
            reserved_concurrency=None,
            # The reminder schedule's runs are asynchronous: one failing after Lambda's two retries
            # lands here too (SQS's invocations are synchronous and keep their redrive).
            dead_letter_queue=self.dead_letters,
        )
        for severity, queue in self.queues.items():
            lambda_.EventSourceMapping(
                self,
                f"{severity}Source",
                target=self.function,
                event_source_arn=queue.queue_arn,
                batch_size=BATCH_SIZE,
                report_batch_item_failures=True,
            )
            # Its Ref to the function orders it after the function, whose role names the
            # managed policy (consume, decrypt) that CreateEventSourceMapping checks.

        # While a P0/P1 stays in ALARM, a Slack reminder every 30 minutes (the runbook's update
        # cadence): the router looks every five minutes. A stale look is worth nothing, so one
        # Scheduler cannot make within five minutes is dropped to the dead letters.
        self.reminders = scheduled_invocation(
            self,
            "Reminders",
            name=names.alarm_reminder_schedule,
            description="Every 5 minutes: reminds on Slack of P0/P1 alarms open for each further 30 minutes",
            expression=REMINDER_SCHEDULE,
            function=self.function,
            dead_letters=self.dead_letters,
            max_event_age=cdk.Duration.minutes(5),
            retries=2,
            input=json.dumps({"action": "remind"}),
        )

        self.oncall_topic = sns.Topic(
            self,
            "OncallTopic",
            topic_name=names.oncall_topic,
            display_name=f"Clever Better {names.token} on-call (the alarm router failed)",
            master_key=context.key,
            enforce_ssl=True,
        )
        self.oncall_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.oncall_topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        for address in alerting.oncall_emails:
            self.oncall_topic.add_subscription(subscriptions.EmailSubscription(address))

    @staticmethod
    def _allow_services(context: UnitContext) -> None:
        """CloudWatch encrypts for the on-call topic with this key (the SQS subscriptions add SNS's
        own statement for the queues, one per topic)."""
        account = cdk.Stack.of(context.key).account
        context.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToEncryptedTopics",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )


def alarm_topics(scope: Construct, *, topic_names: Mapping[Severity, str]) -> dict[Severity, sns.ITopic]:
    """The monitoring stack's severity topics, by name (no cross-stack export to hold)."""
    stack = cdk.Stack.of(scope)
    return {
        severity: sns.Topic.from_topic_arn(
            scope,
            f"{severity}Topic",
            stack.format_arn(service="sns", resource=name, arn_format=cdk.ArnFormat.NO_RESOURCE_NAME),
        )
        for severity, name in topic_names.items()
    }
