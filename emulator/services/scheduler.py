"""EventBridge Scheduler: AWS::Scheduler::Schedule, created through moto's Scheduler API (so
`aws scheduler get-schedule` reads it) after the checks CreateSchedule makes. No schedule fires
locally.

* the schedule expression: `at(...)`, `rate(...)` or a six-field `cron(...)`
  (emulator.services.events.schedule_expression_fault);
* FlexibleTimeWindow: Mode OFF, or FLEXIBLE with MaximumWindowInMinutes from 1 to 1440;
* the target's RetryPolicy within its bounds (event age 60-86400 s, 0-185 attempts);
* the execution role: CreateSchedule refuses a role that EventBridge Scheduler cannot assume
  ("The execution role you provide must allow AWS EventBridge Scheduler to assume the role."):
  the role must exist and its trust policy allow scheduler.amazonaws.com sts:AssumeRole, its
  conditions evaluated with the schedule group's ARN as aws:SourceArn, as Scheduler does.
* the target's DeadLetterConfig: an SQS queue ARN (CreateSchedule's pattern). Scheduler sends
  to it with the execution role and drops what it cannot send, so a role that may not send to
  the queue or use its key is refused here as locally refused (emulator.services.sqs).

Ref is the schedule's name, GetAtt Arn its ARN.
"""

from __future__ import annotations

import re
from typing import Any

from moto.scheduler.models import scheduler_backends
from moto.utilities.utils import get_partition

from emulator.services.base import AppliedModel, Fixes, Models
from emulator.services.events import schedule_expression_fault
from emulator.services.iam import backend_for
from emulator.services.refusals import AwsError, LocallyRefused, role_refusal
from emulator.services.sqs import delivery_fault

PRINCIPAL = "scheduler.amazonaws.com"
DLQ_ARN = re.compile(r"arn:aws[a-z-]*:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+")


class ValidationException(AwsError):
    """EventBridge Scheduler's error code for a schedule it refuses."""


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValidationException(message)


def _check_role(role_arn: str, group: str, account_id: str, region_name: str) -> None:
    refused = "The execution role you provide must allow AWS EventBridge Scheduler to assume the role."
    partition = get_partition(region_name)
    source = {
        "aws:SourceAccount": account_id,
        "aws:SourceArn": f"arn:{partition}:scheduler:{region_name}:{account_id}:schedule-group/{group}",
    }
    refusal, _ = role_refusal(role_arn, PRINCIPAL, source, account_id, region_name)
    _require(refusal != "missing", f"{refused} ({role_arn} does not exist)")
    _require(not refusal, refused)


def check_schedule(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    expression = str(props.get("ScheduleExpression", ""))
    fault = schedule_expression_fault(expression, allow_at=True)
    _require(fault is None, f"Invalid Schedule Expression {expression}: {fault}")
    window = props.get("FlexibleTimeWindow") or {}
    mode = window.get("Mode")
    _require(mode in ("OFF", "FLEXIBLE"), f"FlexibleTimeWindow Mode must be OFF or FLEXIBLE, not {mode}")
    minutes = window.get("MaximumWindowInMinutes")
    if mode == "FLEXIBLE":
        _require(
            isinstance(minutes, int) and 1 <= minutes <= 1440,
            "FlexibleTimeWindow MaximumWindowInMinutes must be 1 to 1440 when Mode is FLEXIBLE",
        )
    else:
        _require(minutes is None, "FlexibleTimeWindow MaximumWindowInMinutes is only for Mode FLEXIBLE")
    _require(props.get("State", "ENABLED") in ("ENABLED", "DISABLED"), "State must be ENABLED or DISABLED")
    target = props.get("Target") or {}
    _require(bool(target.get("Arn")) and bool(target.get("RoleArn")), "Target needs its Arn and RoleArn")
    retry = target.get("RetryPolicy") or {}
    age, attempts = retry.get("MaximumEventAgeInSeconds"), retry.get("MaximumRetryAttempts")
    _require(
        age is None or 60 <= int(age) <= 86400, "RetryPolicy MaximumEventAgeInSeconds must be 60 to 86400"
    )
    _require(
        attempts is None or 0 <= int(attempts) <= 185, "RetryPolicy MaximumRetryAttempts must be 0 to 185"
    )
    _check_role(str(target["RoleArn"]), str(props.get("GroupName", "default")), account_id, region_name)
    dead_letter = str((target.get("DeadLetterConfig") or {}).get("Arn") or "")
    if dead_letter:
        _require(
            DLQ_ARN.fullmatch(dead_letter) is not None,
            f"DeadLetterConfig Arn {dead_letter} is not an SQS queue ARN",
        )
        role = backend_for(account_id, region_name).get_role_by_arn(str(target["RoleArn"]))
        fault = delivery_fault(role, dead_letter)
        if fault is not None:
            raise LocallyRefused(
                f"schedule {name}'s dead-letter queue: {fault}",
                "Scheduler drops each failed invocation it cannot deliver to the queue",
            )


class Schedule(AppliedModel):
    """AWS::Scheduler::Schedule: checked as CreateSchedule checks it, then created; never fires."""

    def __init__(self, schedule: Any) -> None:
        self.schedule = schedule

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::Schedule"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return str(self.schedule.name)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return str(self.schedule.arn)

    @classmethod
    def create(cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str) -> Schedule:
        name = str(props.get("Name", resource_name))
        check_schedule(name, props, account_id, region_name)
        backend: Any = scheduler_backends[account_id][region_name]  # moto types optional fields as str
        schedule = backend.create_schedule(
            description=props.get("Description"),
            end_date=props.get("EndDate"),
            flexible_time_window=props["FlexibleTimeWindow"],
            group_name=props.get("GroupName"),
            kms_key_arn=props.get("KmsKeyArn"),
            name=name,
            schedule_expression=props["ScheduleExpression"],
            schedule_expression_timezone=props.get("ScheduleExpressionTimezone"),
            start_date=None,  # a CloudFormation StartDate is a string; moto compares numbers
            state=props.get("State"),
            target=dict(props["Target"]),
            action_after_completion=None,
        )
        return cls(schedule)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Schedule,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Schedule:
        props = cloudformation_json["Properties"]
        name = str(props.get("Name", original_resource.schedule.name))
        check_schedule(name, props, account_id, region_name)
        original_resource.delete(account_id, region_name)
        return cls.create(new_resource_name, {**props, "Name": name}, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = scheduler_backends[account_id][region_name]
        backend.delete_schedule(self.schedule.group_name, self.schedule.name)


MODELS: Models = (Schedule,)
FIXES: Fixes = {}
