"""Days (as configured) to the CDK's RetentionDays enum; config validation guarantees a match."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

from config.model import LOG_RETENTION_DAYS

# RetentionDays lists the same values in the same order, then INFINITE.
_BY_DAYS = dict(zip(LOG_RETENTION_DAYS, list(logs.RetentionDays)[: len(LOG_RETENTION_DAYS)], strict=True))


def retention(days: int) -> logs.RetentionDays:
    return _BY_DAYS[days]
