"""EventBridge Scheduler: schedules, recorded through moto's Scheduler (`aws scheduler
get-schedule` shows them). Nothing is ever invoked locally: no schedule fires."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.scheduler.exceptions import ScheduleNotFound
from moto.scheduler.models import scheduler_backends

from emulator.services.base import Fixes, FromProperties, Models


def _epoch(value: str | None) -> Any:
    """A template's ISO 8601 date as the epoch seconds moto's backend takes (None: not set)."""
    return None if value is None else int(datetime.fromisoformat(value).timestamp())


def _create(name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
    # Absent settings as None, as moto's own API handler passes them (its hints say str).
    backend: Any = scheduler_backends[account_id][region_name]
    return backend.create_schedule(
        description=props.get("Description"),
        end_date=_epoch(props.get("EndDate")),
        # Required by CloudFormation (and CreateSchedule): a template without it fails here too.
        flexible_time_window=props["FlexibleTimeWindow"],
        group_name=props.get("GroupName", "default"),
        kms_key_arn=props.get("KmsKeyArn"),
        name=name,
        schedule_expression=props["ScheduleExpression"],
        schedule_expression_timezone=props.get("ScheduleExpressionTimezone", "UTC"),
        start_date=_epoch(props.get("StartDate")),
        state=props.get("State", "ENABLED"),
        target=props["Target"],
        action_after_completion=None,
    )


def _delete(group: str, name: str, account_id: str, region_name: str) -> None:
    with contextlib.suppress(ScheduleNotFound):  # already gone: nothing to delete
        scheduler_backends[account_id][region_name].delete_schedule(group, name)


class Schedule(FromProperties, CloudFormationModel):
    """AWS::Scheduler::Schedule: created in its group (`default` unless named); Ref is its name."""

    def __init__(self, schedule: Any) -> None:
        self.schedule = schedule

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::Schedule"

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
        return cls(_create(props.get("Name", resource_name), props, account_id, region_name))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Schedule,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Schedule:
        """Name and group are create-only (a change makes a new schedule); the rest is replaced
        in place, as UpdateSchedule replaces every setting."""
        old = original_resource.schedule
        _delete(old.group_name, old.name, account_id, region_name)
        return cls.create(new_resource_name, cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        group = cloudformation_json.get("Properties", {}).get("GroupName", "default")
        _delete(group, resource_name, account_id, region_name)


MODELS: Models = (Schedule,)
FIXES: Fixes = {}
