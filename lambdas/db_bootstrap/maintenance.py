"""The runbook's monthly "database maintenance (vacuum, analyze)": `VACUUM (ANALYZE)` of each of the
application's databases, run by EventBridge Scheduler inside the maintenance window and by an
operator's `make db-maintenance` on demand (ops/db_maintenance.py invokes it and waits).

It logs in as the admin, like the bootstrap (the same secret, either rotation stage). VACUUM
skips, with only a warning, a table its user does not own ("only table or database owner can
vacuum it"). The migrator owns the application's database and its tables, `mlflow` MLflow's,
and the bootstrap makes the admin a member of both, so the admin vacuums them with their rights.

One run at a time: each database is vacuumed under a session-level advisory lock. A run that
finds the lock taken (a scheduled run while an operator's works, or the other way round)
leaves that database alone and says so. It never waits.

It publishes `DatabaseMaintenanceSeconds` (the run's VACUUM time) and
`DatabaseMaintenanceFailures` (1 when a database could not be vacuumed), both per environment.
A run that times out publishes nothing; its Lambda `Errors` datapoint is what the P3 alarm
also reads.

Environment: ``DB_HOST``, ``DB_PORT``, ``ADMIN_SECRET_ARN``, ``DATABASES`` (comma-separated),
``ENVIRONMENT``, ``METRIC_NAMESPACE``, ``SECONDS_METRIC``, ``FAILURES_METRIC``,
``METRIC_DIMENSION``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import boto3

if __package__:  # lambdas.db_bootstrap.maintenance: tests
    from . import bootstrap, handler, pgwire
else:  # Lambda: the asset folder is the root
    import bootstrap  # type: ignore[no-redef]
    import handler  # type: ignore[no-redef]
    import pgwire  # type: ignore[no-redef]

logger = logging.getLogger()
logger.setLevel(logging.INFO)

# pg_try_advisory_lock's key: any bigint, the same in every run (a hash of "clever-better vacuum").
LOCK_KEY = 7_114_052_026_301
SKIPPED = "skipped: another run is vacuuming it"


def vacuum(
    connect: bootstrap.Connect, databases: Sequence[str], clock: Callable[[], float] = time.monotonic
) -> dict[str, float | str]:
    """Each database's VACUUM (ANALYZE) time in seconds, or why it was left alone."""
    results: dict[str, float | str] = {}
    for database in databases:
        with connect(database) as connection:
            if pgwire.single(connection.query(f"SELECT pg_try_advisory_lock({LOCK_KEY})")) != "t":
                results[database] = SKIPPED
                continue
            began = clock()
            # One statement per Query message: VACUUM refuses to run inside a transaction block.
            connection.query("VACUUM (ANALYZE)")
            results[database] = round(clock() - began, 3)
            # Closing the session would release it too; said outright for the next database.
            connection.query(f"SELECT pg_advisory_unlock({LOCK_KEY})")
    return results


def _publish(environ: Mapping[str, str], *, seconds: float | None, failed: bool) -> None:
    dimensions = [{"Name": environ["METRIC_DIMENSION"], "Value": environ["ENVIRONMENT"]}]
    data: list[dict[str, Any]] = [
        {"MetricName": environ["FAILURES_METRIC"], "Dimensions": dimensions, "Value": 1.0 if failed else 0.0}
    ]
    if seconds is not None:
        data.append(
            {
                "MetricName": environ["SECONDS_METRIC"],
                "Dimensions": dimensions,
                "Value": seconds,
                "Unit": "Seconds",
            }
        )
    boto3.client("cloudwatch").put_metric_data(Namespace=environ["METRIC_NAMESPACE"], MetricData=data)


def run(environ: Mapping[str, str]) -> dict[str, float | str]:
    connect = handler.admin_connector(
        {
            "Host": environ["DB_HOST"],
            "Port": environ["DB_PORT"],
            "AdminSecretArn": environ["ADMIN_SECRET_ARN"],
        }
    )
    databases = [d for d in environ["DATABASES"].split(",") if d]
    try:
        results = vacuum(connect, databases)
    except Exception:
        logger.exception("VACUUM (ANALYZE) failed")
        _publish(environ, seconds=None, failed=True)
        raise
    seconds = sum(v for v in results.values() if isinstance(v, float))
    _publish(environ, seconds=seconds, failed=False)
    for database, result in results.items():
        logger.info(
            "%s: %s", database, f"VACUUM (ANALYZE) in {result} s" if isinstance(result, float) else result
        )
    return results


def main(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The function's handler (`maintenance.main`): the schedule sends `{}`; the result is what an
    operator's invocation prints."""
    return {"databases": run(os.environ)}
