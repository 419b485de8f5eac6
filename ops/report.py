"""The daily operations report in a terminal (issue 17; runbook "Daily Tasks").

    python -m ops daily-report --env production [--dry-run]

Prints what the scheduled report (lambdas/daily_report, every morning at schedules.daily_report)
posts to Slack: the last trading day's P&L, win rate, ROI and bets; alarms in ALARM now; each
service's tasks; ERROR log lines per service and the database's load over the last 24 hours; the
backup jobs and the latest restorable time. The same code reads it (lambdas/daily_report/report.py),
with the caller's credentials. It only reads: --dry-run prints the same report. A metric with no
data reads "no data"; a part AWS refuses reads "unavailable" with the error code, and the command
then exits 1 with one line naming it.
"""

from __future__ import annotations

import argparse

from config import metrics
from config.model import SERVICES
from lambdas.daily_report import report
from ops.core import Command, Context, OpsError, stack_outputs

# The stacks whose resources the report reads (the cluster and services; the database).
READS_FROM = ("data", "services")


def settings(ctx: Context) -> report.Settings:
    """What the scheduled function's environment holds (components/alerting/report.py)."""
    names = ctx.names
    return report.Settings(
        environment=names.token,
        cluster=names.cluster,
        services=SERVICES,
        db_instance=names.db_instance,
        backup_vault=names.backup_vault,
        alarm_prefix=f"{names.prefix}-",
        app_namespace=metrics.APPLICATION_NAMESPACE,
        errors_metric=metrics.ERROR_LOG_LINES.name,
        errors_namespace=metrics.logs_namespace(names.token, "{service}"),
    )


def daily_report(ctx: Context, args: argparse.Namespace) -> None:
    for unit in READS_FROM:
        stack_outputs(ctx, unit)  # a stack not deployed is named as such
    if ctx.dry_run:
        ctx.out("[dry-run] the report only reads; it is the same with or without DRY_RUN")
    read = report.collect(ctx.clients, settings(ctx), ctx.now())
    ctx.out(read.text())
    if read.unavailable:
        raise OpsError(
            f"part of {ctx.env}'s report is unavailable ({'; '.join(read.unavailable)}); "
            "check the caller's read permissions and that the environment is fully deployed"
        )


COMMANDS = (
    Command(
        "daily-report",
        "The daily operations report (trading, alarms, tasks, errors, database, backups) of ENV",
        daily_report,
    ),
)
