"""The monthly `VACUUM (ANALYZE)` (lambdas/db_bootstrap/maintenance.py) against a real PostgreSQL
set up by the bootstrap, as the non-superuser admin: the migrator's tables are vacuumed and
analyzed, a concurrent run leaves a database alone, and the metrics reach CloudWatch (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.db_bootstrap import bootstrap, maintenance, pgwire
from tests import postgres as pg
from tests.support import offline_aws

PLAN = bootstrap.Plan(database="clever_better", app_user="app", migrator_user="app_migrator")
MIGRATOR_PASSWORD = "migrator-Password-1"
NAMESPACE, DIMENSION = "CleverBetter/Operations", "Environment"


@pytest.fixture(scope="module")
def server() -> Iterator[pg.Postgres]:
    """The bootstrap's roles and database, and a table of the migrator's with dead rows."""
    for started in pg.start():
        bootstrap.converge(
            pg.admin_connect(started),
            PLAN,
            migrator_verifier=pgwire.scram_verifier(MIGRATOR_PASSWORD),
            tracking_verifier=pgwire.scram_verifier("mlflow-Password-1"),
        )
        migrator = ("clever_better", "app_migrator", MIGRATOR_PASSWORD)
        started.run("CREATE TABLE bets (id int PRIMARY KEY, stake numeric)", *migrator)
        started.run("INSERT INTO bets SELECT g, g FROM generate_series(1, 2000) g", *migrator)
        started.run("DELETE FROM bets WHERE id % 2 = 0", *migrator)
        tracking = ("mlflow", "mlflow", "mlflow-Password-1")
        started.run("CREATE TABLE metrics (run_uuid text, value float)", *tracking)
        started.run("INSERT INTO metrics SELECT g::text, g FROM generate_series(1, 1000) g", *tracking)
        started.run("DELETE FROM metrics WHERE value > 500", *tracking)
        yield started


def _environ(server: pg.Postgres, secret_arn: str) -> dict[str, str]:
    return {
        "DB_HOST": server.socket_dir,
        "DB_PORT": str(server.port),
        "ADMIN_SECRET_ARN": secret_arn,
        "DATABASES": "clever_better",
        "ENVIRONMENT": "dev",
        "METRIC_NAMESPACE": NAMESPACE,
        "SECONDS_METRIC": "DatabaseMaintenanceSeconds",
        "FAILURES_METRIC": "DatabaseMaintenanceFailures",
        "METRIC_DIMENSION": DIMENSION,
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto with the admin secret; yields its ARN."""
    offline_aws(monkeypatch)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        secret = boto3.client("secretsmanager").create_secret(
            Name="clever-better/dev/database-admin",
            SecretString=json.dumps({"username": pg.ADMIN, "password": pg.ADMIN_PASSWORD}),
        )
        yield str(secret["ARN"])


def _stats(server: pg.Postgres) -> list[Any]:
    return server.run(
        "SELECT n_dead_tup, last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM pg_stat_user_tables "
        "WHERE relname = 'bets'",
        "clever_better",
    )[0]


def _metrics() -> dict[str, list[float]]:
    cloudwatch = boto3.client("cloudwatch")
    found: dict[str, list[float]] = {}
    for metric in cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]:
        assert metric["Dimensions"] == [{"Name": DIMENSION, "Value": "dev"}]
        stats = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName=metric["MetricName"],
            Dimensions=metric["Dimensions"],
            StartTime="2000-01-01T00:00:00Z",
            EndTime="2100-01-01T00:00:00Z",
            Period=60,
            Statistics=["Sum"],
        )
        found[metric["MetricName"]] = [p["Sum"] for p in stats["Datapoints"]]
    return found


def test_the_admin_vacuums_and_analyzes_mlflows_tables_too(
    server: pg.Postgres, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin is a member of mlflow too (the bootstrap), so MLflow's tables are vacuumed."""
    monkeypatch.setenv("DATABASES", "mlflow")
    query = "SELECT n_dead_tup, last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'metrics'"
    assert server.run(query, "mlflow") == [[500, False]]
    assert list(maintenance.main({}, None)["databases"]) == ["mlflow"]
    assert server.run(query, "mlflow") == [[0, True]]


def test_the_admin_vacuums_and_analyzes_the_migrators_tables(
    server: pg.Postgres, environ: dict[str, str]
) -> None:
    """As a member of the migrator, the non-superuser admin may vacuum its tables: a table it
    could not vacuum would be skipped with only a warning, and last_vacuum would stay empty."""
    assert _stats(server)[0] == 1000 and _stats(server)[1:] == [False, False]
    result = maintenance.main({}, None)
    (seconds,) = result["databases"].values()
    assert list(result["databases"]) == ["clever_better"] and isinstance(seconds, float)
    dead, vacuumed, analyzed = _stats(server)
    assert (dead, vacuumed, analyzed) == (0, True, True)
    metrics = _metrics()
    assert metrics["DatabaseMaintenanceFailures"] == [0.0]
    assert len(metrics["DatabaseMaintenanceSeconds"]) == 1


@pytest.fixture
def environ(server: pg.Postgres, aws: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = _environ(server, aws)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def test_a_run_while_another_holds_the_lock_leaves_the_database_alone(
    server: pg.Postgres, environ: dict[str, str]
) -> None:
    holder = server.connect(pg.ADMIN, "clever_better", pg.ADMIN_PASSWORD)
    try:
        holder.run(f"SELECT pg_advisory_lock({maintenance.LOCK_KEY})")
        assert maintenance.main({}, None) == {"databases": {"clever_better": maintenance.SKIPPED}}
    finally:
        holder.close()
    # Released with the session: the next run vacuums.
    assert isinstance(maintenance.main({}, None)["databases"]["clever_better"], float)


def test_a_failure_is_published_and_raised(
    server: pg.Postgres, environ: dict[str, str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("DATABASES", "clever_better,no_such_database")
    with pytest.raises(pgwire.PostgresError, match="no_such_database"):
        maintenance.main({}, None)
    assert _metrics()["DatabaseMaintenanceFailures"] == [1.0]
    assert "DatabaseMaintenanceSeconds" not in _metrics()


def test_a_wrong_admin_password_fails_with_no_password_in_the_message(
    server: pg.Postgres, environ: dict[str, str], monkeypatch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("lambdas.db_bootstrap.handler.ATTEMPTS", 1)
    boto3.client("secretsmanager").put_secret_value(
        SecretId=environ["ADMIN_SECRET_ARN"],
        SecretString=json.dumps({"username": pg.ADMIN, "password": "not-the-Password-9"}),
    )
    with pytest.raises(RuntimeError, match=r"no version of the admin secret logs in") as raised:
        maintenance.main({}, None)
    assert "not-the-Password-9" not in str(raised.value) and "not-the-Password-9" not in caplog.text
