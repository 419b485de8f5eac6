"""EventBridge: a rule's schedule expression checked as PutRule checks it (moto takes any
`cron(...)` and a rate without a number).

Schedule expressions (EventBridge User Guide, "Schedule expressions for rules"; the same forms
for EventBridge Scheduler, which adds `at(...)`):

* `rate(value unit)`: a positive whole number and minute(s), hour(s) or day(s), the unit
  singular for 1 and plural otherwise (`rate(1 day)`, `rate(5 minutes)`);
* `cron(minutes hours day-of-month month day-of-week year)`: six fields (a five-field Unix cron
  is refused), and one of day-of-month and day-of-week must be `?`.

PutRule answers anything else with ValidationException "Parameter ScheduleExpression is not
valid.". A rule also has at most five targets, each with an id of 1-64 letters, digits, `.`,
`-` or `_`, unique within the rule.

An SNS target that exists is delivered to only if its policy, and its key's policy when it is
encrypted, let events.amazonaws.com publish for the rule (aws:SourceArn); PutTargets takes it
either way and EventBridge drops every event later, so it is refused here as locally refused.

A target's RetryPolicy is refused outside PutTargets' ranges (MaximumRetryAttempts 0-185,
MaximumEventAgeInSeconds 60-86400). Its dead-letter queue (an SQS queue's ARN) takes
EventBridge's failures as EventBridge itself, not through a role (EventBridge User Guide,
"Granting permissions to the dead-letter queue"): only if the queue's policy lets
events.amazonaws.com sqs:SendMessage for the rule and, for a queue under a customer managed key,
the key's policy lets it kms:GenerateDataKey and kms:Decrypt (SQS's AWS managed key, whose
policy cannot change, never does). EventBridge's use of a key carries no aws:SourceArn (SNS
developer guide, EventBridge to encrypted topics; assumed the same for queues), so a key
statement that conditions on it admits nothing. Otherwise the failures are lost as they happen:
refused here, locally, as the rule is created (the rule must depend on its queue's policy).
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.events.models import Rule

from emulator.services.base import Fix, Fixes, Models
from emulator.services.kms import service_key_fault
from emulator.services.refusals import AwsError, LocallyRefused, request_context, resource_policy_allows
from emulator.services.sns import check_service_can_publish
from emulator.services.sqs import find_queue


class ValidationException(AwsError):
    """EventBridge's error code for a rule it refuses."""


_RATE = re.compile(r"^rate\((?P<value>[1-9]\d*) (?P<unit>minutes?|hours?|days?)\)$")
_CRON = re.compile(r"^cron\((?P<fields>[^()]*)\)$")
# Each field's characters (the User Guide's table): minutes, hours, day-of-month, month,
# day-of-week, year.
_CRON_FIELDS = (
    r"[0-9,\-*/]+",
    r"[0-9,\-*/]+",
    r"[0-9,\-*?/LW]+",
    r"[0-9A-Za-z,\-*/]+",
    r"[0-9A-Za-z,\-*?/L#]+",
    r"[0-9,\-*/]+",
)
_AT = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")
_TARGET_ID = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
EVENTS = "events.amazonaws.com"
_LOST = "EventBridge drops the events it could not deliver instead of keeping them"


def schedule_expression_fault(expression: str, *, allow_at: bool = False) -> str | None:
    """What is wrong with a schedule expression, or None when EventBridge takes it."""
    if allow_at and expression.startswith("at("):
        return None if _AT.match(expression) else "at() takes yyyy-mm-ddThh:mm:ss"
    rate = _RATE.match(expression)
    if rate:
        plural = rate["unit"].endswith("s")
        if (int(rate["value"]) == 1) == plural:
            return "the unit is singular for 1 and plural otherwise"
        return None
    if expression.startswith("rate("):
        return "rate(value unit) takes a positive whole number and minute(s), hour(s) or day(s)"
    cron = _CRON.match(expression)
    if not cron:
        return "a schedule is rate(...) or cron(...)" + (" or at(...)" if allow_at else "")
    fields = cron["fields"].split()
    if len(fields) != 6:
        return (
            f"cron() takes six fields (minutes hours day-of-month month day-of-week year), not {len(fields)}"
        )
    for field, pattern in zip(fields, _CRON_FIELDS, strict=True):
        if not re.fullmatch(pattern, field):
            return f"cron() field {field!r} is not valid"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "one of day-of-month and day-of-week must be ?"
    return None


def _check_rule(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    expression = props.get("ScheduleExpression")
    if expression is not None:
        fault = schedule_expression_fault(str(expression))
        if fault:
            raise ValidationException(f"Parameter ScheduleExpression is not valid. ({expression}: {fault})")
    targets = props.get("Targets", [])
    if len(targets) > 5:
        raise ValidationException(f"A rule has at most 5 targets, not {len(targets)}")
    ids = [str(target.get("Id", "")) for target in targets]
    for target_id in ids:
        if not _TARGET_ID.match(target_id):
            raise ValidationException(
                f"1 validation error detected: Value '{target_id}' at 'targets.member.id' failed to "
                r"satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+"
            )
    if len(set(ids)) != len(ids):
        raise ValidationException(f"The target ids of a rule are unique: {ids}")
    rule_arn = f"arn:aws:events:{region_name}:{account_id}:rule/{props.get('Name') or name}"
    for target in targets:
        _check_retry_policy(target.get("RetryPolicy") or {})
        dead_letters = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letters:
            _check_dead_letters(str(dead_letters), rule_arn, account_id, region_name)
        arn = str(target.get("Arn", ""))
        if arn.startswith("arn:aws:sns:") and not target.get("RoleArn"):
            check_service_can_publish(
                arn,
                rule_arn,
                account_id,
                region_name,
                publisher="events.amazonaws.com",
                what=f"rule {props.get('Name') or name}'s target",
                consequence="EventBridge drops every event it cannot deliver (FailedInvocations)",
            )


def _check_retry_policy(policy: dict[str, Any]) -> None:
    attempts, age = policy.get("MaximumRetryAttempts"), policy.get("MaximumEventAgeInSeconds")
    if attempts is not None and not 0 <= int(attempts) <= 185:
        raise ValidationException(f"MaximumRetryAttempts {attempts} is not valid: 0 to 185")
    if age is not None and not 60 <= int(age) <= 86400:
        raise ValidationException(f"MaximumEventAgeInSeconds {age} is not valid: 60 to 86400")


def _check_dead_letters(queue_arn: str, rule_arn: str, account_id: str, region_name: str) -> None:
    if not queue_arn.startswith("arn:aws:sqs:"):
        raise ValidationException(f"DeadLetterConfig Arn {queue_arn} is not an SQS queue's ARN")
    what = f"rule {rule_arn.rsplit('/', 1)[-1]}'s dead-letter queue {queue_arn}"
    queue = find_queue(queue_arn)
    if queue is None:
        raise LocallyRefused(f"{what} does not exist", _LOST)
    context = request_context(
        {"aws:SourceArn": rule_arn, "aws:SourceAccount": account_id, "aws:SecureTransport": "true"}
    )
    policy = json.loads(queue.policy) if getattr(queue, "policy", None) else {"Statement": []}
    if not resource_policy_allows(policy, EVENTS, "sqs:SendMessage", queue_arn, context):
        raise LocallyRefused(
            f"{what}: the queue policy does not let {EVENTS} sqs:SendMessage for the rule", _LOST
        )
    key_id = getattr(queue, "kms_master_key_id", None)
    if not key_id:
        return
    fault = service_key_fault(
        str(key_id),
        EVENTS,
        holder="queue",
        via="sqs",
        sources={},
        account_id=account_id,
        region_name=region_name,
        note=" (without aws:SourceArn, which EventBridge does not send to KMS)",
    )
    if fault:
        raise LocallyRefused(f"{what}: {fault}", _LOST)


MODELS: Models = ()
FIXES: Fixes = {Rule: Fix(check=_check_rule)}
