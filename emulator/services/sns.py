"""SNS: topic policies, the topic's KMS key, and whether a CloudWatch alarm could publish to a topic.

* AWS::SNS::TopicPolicy sets each topic's Policy attribute (readable with
  get-topic-attributes); its topics must exist, its statements may only name SNS actions, and
  deleting it restores the topic's default policy, as SNS does.
* AWS::SNS::Topic's KmsMasterKeyId must name a key KMS has (an AWS managed alias, alias/aws/*,
  always exists). SNS itself checks the key only when a message is published, so the emulator
  refuses a missing key locally (LocallyRefused) rather than let every publish fail.
* ``check_alarm_can_publish``: an alarm's SNS action is delivered only if the topic's policy
  lets cloudwatch.amazonaws.com publish and, for an encrypted topic, the key's policy lets it
  use the key (kms:GenerateDataKey*, kms:Decrypt); an AWS managed key (alias/aws/sns) never
  does. AWS creates such an alarm and its notifications fail at the first state change
  (the alarm's history says so, nothing else does), so the emulator refuses it locally, when
  the alarm or a later topic policy is created. ``check_service_can_publish`` is the same check
  for any service principal: EventBridge rules' SNS targets use it (emulator.services.events).
  For EventBridge, the key's policy is read without aws:SourceArn and aws:SourceAccount, which
  the SNS developer guide says are not supported for EventBridge-to-encrypted topics: a key
  statement conditioned on either is refused, as its publishes would be.
* AWS::SNS::Subscription: created with Subscribe (the topic must exist). For an SQS endpoint,
  SNS delivers only if the queue's policy lets sns.amazonaws.com send from this topic and, for
  a queue encrypted with a customer managed key, the key's policy lets SNS use it; Subscribe
  checks neither and the messages are dropped, so the emulator refuses either locally. An email
  endpoint stays pending until someone confirms it, as in AWS.
"""

from __future__ import annotations

import json
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.sns.models import Topic, sns_backends

from emulator.services.base import AppliedModel, ArnModel, Fix, Fixes, Models
from emulator.services.iam import _listed
from emulator.services.kms import aws_managed, find_key, service_key_fault
from emulator.services.refusals import AwsError, LocallyRefused, request_context, resource_policy_allows

PUBLISHER = "cloudwatch.amazonaws.com"
SNS = "sns.amazonaws.com"
PROTOCOLS = ("sqs", "email", "email-json", "lambda", "https", "http", "sms", "application", "firehose")


class NotFound(AwsError):
    """SNS's error code for a topic that does not exist."""


class InvalidParameter(AwsError):
    """SNS's error code for a policy it refuses."""


def _topic(topic_arn: str, account_id: str, region_name: str) -> Topic | None:
    topic: Topic | None = sns_backends[account_id][region_name].topics.get(topic_arn)
    return topic


def _check_topic(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    key_id = props.get("KmsMasterKeyId")
    if key_id and not aws_managed(str(key_id)) and find_key(str(key_id), account_id, region_name) is None:
        raise LocallyRefused(
            f"topic {props.get('TopicName', name)}: KmsMasterKeyId {key_id} is not a KMS key",
            "SNS checks the key only when a message is published, and every publish fails",
        )


def check_alarm_can_publish(topic_arn: str, alarm_arn: str, account_id: str, region_name: str) -> None:
    """Refuse (LocallyRefused) an alarm action whose topic would not accept the alarm's publish."""
    check_service_can_publish(topic_arn, alarm_arn, account_id, region_name)


def check_service_can_publish(
    topic_arn: str,
    source_arn: str,
    account_id: str,
    region_name: str,
    *,
    publisher: str = PUBLISHER,
    what: str = "alarm action",
    consequence: str = "the alarm's notifications fail and only its history says so",
) -> None:
    """Refuse (LocallyRefused) a service publishing for `source_arn` (an alarm, an EventBridge
    rule) to a topic whose policy, or whose key's policy, would not let `publisher` publish: the
    service accepts the ARN and every delivery fails later."""
    topic = _topic(topic_arn, account_id, region_name)
    if topic is None:
        # A topic a later stack creates (the deployment alarms name the P1 topic of the monitoring
        # stack, deployed after theirs): PutMetricAlarm takes the ARN without looking it up, and
        # deliveries start once it exists. That it does is a template test
        # (tests/unit/test_monitoring.py::test_deployment_alarms_join_the_catalogue_at_p1).
        return
    context = request_context(
        {
            "aws:SourceArn": source_arn,
            "aws:SourceAccount": account_id,
            "aws:SourceOwner": account_id,
            "aws:SecureTransport": "true",
        }
    )
    if not resource_policy_allows(json.loads(topic.policy), publisher, "sns:Publish", topic.arn, context):
        raise LocallyRefused(
            f"{what} {topic_arn}: the topic policy does not let {publisher} publish", consequence
        )
    key_id = topic.kms_master_key_id
    if not key_id:
        return
    # EventBridge's use of the key carries neither aws:SourceArn nor aws:SourceAccount (SNS
    # developer guide: not supported for EventBridge-to-encrypted topics), so a key statement
    # conditioned on either admits nothing for it.
    sources = (
        {}
        if publisher == "events.amazonaws.com"
        else {"aws:SourceArn": source_arn, "aws:SourceAccount": account_id}
    )
    fault = service_key_fault(
        key_id,
        publisher,
        holder="topic",
        via="sns",
        sources=sources,
        account_id=account_id,
        region_name=region_name,
    )
    if fault:
        raise LocallyRefused(f"{what} {topic_arn}: {fault}", consequence)


def _alarms_publishing_to(topic_arn: str, account_id: str, region_name: str) -> list[Any]:
    return [
        alarm
        for alarm in cloudwatch_backends[account_id][region_name].alarms.values()
        if topic_arn in [*alarm.alarm_actions, *alarm.ok_actions, *alarm.insufficient_data_actions]
    ]


class TopicPolicy(AppliedModel):
    """AWS::SNS::TopicPolicy: set as each topic's Policy attribute (readable with get-topic-attributes)."""

    def __init__(self, topics: list[str], account_id: str, region_name: str) -> None:
        self.topics = topics
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.topics)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.physical_resource_id

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> TopicPolicy:
        document = props["PolicyDocument"]
        for statement in _listed(document.get("Statement", [])):
            for action in _listed(statement.get("Action", [])):
                if not str(action).lower().startswith("sns:") and action != "*":
                    raise InvalidParameter("Invalid parameter: Policy statement action out of service scope!")
        topics = [str(topic) for topic in props["Topics"]]
        for topic_arn in topics:
            if _topic(topic_arn, account_id, region_name) is None:
                raise NotFound(f"Topic does not exist: {topic_arn}")
        backend = sns_backends[account_id][region_name]
        for topic_arn in topics:
            backend.set_topic_attribute(topic_arn, "policy", json.dumps(document))
        # An alarm created before this policy publishes under it from now on.
        for topic_arn in topics:
            for alarm in _alarms_publishing_to(topic_arn, account_id, region_name):
                check_alarm_can_publish(topic_arn, alarm.alarm_arn, account_id, region_name)
        return cls(topics, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: TopicPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> TopicPolicy:
        updated = cls.create(new_resource_name, cloudformation_json["Properties"], account_id, region_name)
        _restore_default_policies(
            [t for t in original_resource.topics if t not in updated.topics], account_id, region_name
        )
        return updated

    def delete(self, account_id: str, region_name: str) -> None:
        _restore_default_policies(self.topics, account_id, region_name)


def _restore_default_policies(topic_arns: list[str], account_id: str, region_name: str) -> None:
    """SNS gives a topic whose policy is removed its default policy back."""
    for topic_arn in topic_arns:
        topic = _topic(topic_arn, account_id, region_name)
        if topic is not None:
            topic._policy_json = topic._create_default_topic_policy(region_name, account_id, topic.name)


def _check_sqs_delivery(topic_arn: str, queue_arn: str, account_id: str, region_name: str) -> None:
    from moto.sqs.exceptions import QueueDoesNotExist
    from moto.sqs.models import sqs_backends

    later = "SNS drops every message it cannot deliver to the queue, and nothing says so"
    parts = queue_arn.split(":")
    try:
        queue = sqs_backends[parts[4]][parts[3]].get_queue(parts[5])
    except (IndexError, QueueDoesNotExist):
        raise NotFound(f"Endpoint {queue_arn} is not an existing queue") from None
    policy = json.loads(queue.policy) if getattr(queue, "policy", None) else {"Statement": []}
    context = request_context({"aws:SourceArn": topic_arn, "aws:SourceAccount": account_id})
    if not resource_policy_allows(policy, SNS, "sqs:SendMessage", queue_arn, context):
        raise LocallyRefused(
            f"subscription {topic_arn} -> {queue_arn}: the queue policy does not let {SNS} send", later
        )
    key_id = getattr(queue, "kms_master_key_id", None)
    if not key_id or key_id == "alias/aws/sqs":
        return
    fault = service_key_fault(
        str(key_id),
        SNS,
        holder="queue",
        via="sqs",
        sources={"aws:SourceArn": topic_arn, "aws:SourceAccount": account_id},
        account_id=account_id,
        region_name=region_name,
    )
    if fault:
        raise LocallyRefused(f"subscription {topic_arn} -> {queue_arn}: {fault}", later)


class Subscription(ArnModel):
    """AWS::SNS::Subscription: Subscribe, after the checks above. Ref is the subscription's ARN."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> Subscription:
        topic_arn, protocol, endpoint = str(props["TopicArn"]), str(props["Protocol"]), str(props["Endpoint"])
        if protocol not in PROTOCOLS:
            raise InvalidParameter(f"Invalid parameter: Protocol {protocol}")
        if _topic(topic_arn, account_id, region_name) is None:
            raise NotFound(f"Topic does not exist: {topic_arn}")
        if protocol == "sqs":
            _check_sqs_delivery(topic_arn, endpoint, account_id, region_name)
        backend = sns_backends[account_id][region_name]
        subscription = backend.subscribe(topic_arn, endpoint, protocol)
        if str(props.get("RawMessageDelivery", "false")).lower() == "true":
            backend.set_subscription_attributes(subscription.arn, "RawMessageDelivery", "true")
        return cls(str(subscription.arn))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Subscription,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Subscription:
        # Every property but RawMessageDelivery and the filters replaces a subscription.
        original_resource.delete(account_id, region_name)
        return cls.create(new_resource_name, cloudformation_json["Properties"], account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        sns_backends[account_id][region_name].unsubscribe(self.arn)


def _topic_arn(topic: Topic) -> str:
    return str(topic.arn)


MODELS: Models = (TopicPolicy, Subscription)
FIXES: Fixes = {Topic: Fix(check=_check_topic, attributes={"TopicArn": _topic_arn})}
