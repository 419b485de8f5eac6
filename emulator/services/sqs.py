"""SQS: AWS::SQS::QueuePolicy (moto creates the queues), and whether a role can deliver to a
dead-letter queue.

AWS::SQS::QueuePolicy is set as each queue's Policy attribute (readable with
get-queue-attributes), as SetQueueAttributes does: every queue must exist ("The specified queue
does not exist") and every action be an SQS one. Deleting it removes the queues' policy.

A service that sends its failures to a dead-letter queue does so with a role: Lambda with the
function's execution role, EventBridge Scheduler with the schedule's. Lambda's CreateFunction
checks sqs:SendMessage ("The provided execution role does not have permissions to call
SendMessage on SQS"); nothing checks the queue's key. A queue encrypted with a customer managed
key takes a message only from a sender that may also call kms:GenerateDataKey and kms:Decrypt on
that key (SQS developer guide, "Configure KMS permissions for producers"), so without them the
failure is dropped when it happens, unseen: ``delivery_fault`` names what is missing.
Limit: only the role's identity policies are read, as our keys grant through IAM (their key
policies admit the account); a key policy naming the role itself is not evaluated.
"""

from __future__ import annotations

import json
from typing import Any

from moto.kms.models import kms_backends
from moto.sqs.exceptions import QueueDoesNotExist as MotoQueueDoesNotExist
from moto.sqs.models import sqs_backends
from moto.utilities.utils import get_partition

from emulator.services.base import AppliedModel, Fixes, Models
from emulator.services.iam import _listed, allows
from emulator.services.refusals import AwsError

# SQS's own key for SSE-KMS without a customer managed key: its key policy lets the account's
# principals use it, so a sender needs nothing more.
AWS_MANAGED_KEY = "alias/aws/sqs"


def find_queue(queue_arn: str) -> Any:
    """The moto queue `arn:aws:sqs:REGION:ACCOUNT:NAME`, or None where there is none."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return None
    region, account, name = parts[3], parts[4], parts[5]
    try:
        return sqs_backends[account][region].get_queue(name)
    except MotoQueueDoesNotExist:
        return None


def _key_arn(key: str, region_name: str, account_id: str) -> str:
    """The key ARN behind a KmsMasterKeyId (key ARN, key id, alias or alias ARN): IAM authorizes
    KMS calls on the key's ARN, never the alias's."""
    arn = f"arn:{get_partition(region_name)}:kms:{region_name}:{account_id}"
    if key.startswith("arn:") and ":key/" in key:
        return key
    if "alias/" in key:
        alias = "alias/" + key.split("alias/", 1)[1]
        key_id = kms_backends[account_id][region_name].get_key_id_from_alias(alias)
        return f"{arn}:key/{key_id}" if key_id else f"{arn}:{alias}"
    return f"{arn}:key/{key}"


def send_message_fault(role: Any, queue_arn: str) -> str | None:
    """What stops `role` sending to `queue_arn` by its identity policies, or None."""
    if not allows(role, "sqs:SendMessage", [queue_arn], {}):
        return f"{role.arn} may not call sqs:SendMessage on {queue_arn}"
    return None


def key_fault(role: Any, queue_arn: str) -> str | None:
    """What stops `role` encrypting a message for `queue_arn`'s key, or None (no key, SQS's)."""
    queue = find_queue(queue_arn)
    key = getattr(queue, "kms_master_key_id", None) if queue is not None else None
    if not key or key == AWS_MANAGED_KEY:
        return None
    region_name, account_id = queue_arn.split(":")[3], queue_arn.split(":")[4]
    key_arn = _key_arn(str(key), region_name, account_id)
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        if not allows(role, action, [key_arn], {}):
            return f"{role.arn} may not call {action} on {queue_arn}'s key {key_arn}"
    return None


def delivery_fault(role: Any, queue_arn: str) -> str | None:
    """Why `role` could not put a message on the dead-letter queue `queue_arn`, or None."""
    if find_queue(queue_arn) is None:
        return f"dead-letter queue {queue_arn} does not exist"
    return send_message_fault(role, queue_arn) or key_fault(role, queue_arn)


class InvalidAttributeValue(AwsError):
    """SQS's error code for a policy it refuses."""


class QueueDoesNotExist(AwsError):
    """SQS's error code (JSON protocol) for a queue that is not there."""


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class QueuePolicy(AppliedModel):
    """AWS::SQS::QueuePolicy: set as each queue's Policy attribute."""

    def __init__(self, queues: list[str], account_id: str, region_name: str) -> None:
        self.queues = queues
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.queues)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.physical_resource_id

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> QueuePolicy:
        document = props["PolicyDocument"]
        for statement in _listed(document.get("Statement", [])):
            for action in _listed(statement.get("Action", [])):
                if not str(action).lower().startswith("sqs:") and action != "*":
                    raise InvalidAttributeValue(f"Invalid value for the parameter Policy: action {action}")
        queues = [str(q) for q in props["Queues"]]
        backend = sqs_backends[account_id][region_name]
        for url in queues:
            try:
                backend.get_queue(_queue_name(url))
            except MotoQueueDoesNotExist:
                raise QueueDoesNotExist(f"The specified queue does not exist: {url}") from None
        for url in queues:
            backend.set_queue_attributes(_queue_name(url), {"Policy": json.dumps(document)})
        return cls(queues, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = sqs_backends[account_id][region_name]
        for url in self.queues:
            try:
                backend.set_queue_attributes(_queue_name(url), {"Policy": ""})
            except MotoQueueDoesNotExist:
                continue


MODELS: Models = (QueuePolicy,)
FIXES: Fixes = {}
