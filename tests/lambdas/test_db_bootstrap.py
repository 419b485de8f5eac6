"""The database bootstrap's SQL and its custom-resource handler, against a real PostgreSQL.

The server is started by the test (tests/postgres.py says how it stands in for RDS); the
bootstrap runs through its own client (pgwire, SCRAM) as the non-superuser admin, and the
catalog is read back through an independent driver (pg8000) as the server's superuser.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from moto import mock_aws

from components.services import mlflow_start
from lambdas.db_bootstrap import bootstrap, handler, pgwire
from tests import postgres as pg
from tests.support import offline_aws

PLAN = bootstrap.Plan(database="clever_better", app_user="app", migrator_user="app_migrator")
MIGRATOR_PASSWORD = "migrator-Password-1"
# As the hosted rotation may generate it: URL-hostile characters included.
MLFLOW_PASSWORD = "ml:flow/Pass%word#1?"
FIRST_RUN = [
    "create role app_migrator (password login)",
    "make the admin a member of app_migrator",
    "create database clever_better",
    "revoke PUBLIC's CONNECT and TEMPORARY on clever_better",
    "create role app (IAM login only)",
    "grant rds_iam to app",
    "grant CONNECT on clever_better to app",
    "default privileges on app_migrator's future tables for app",
    "default privileges on app_migrator's future sequences for app",
    "create role mlflow (password login)",
    "make the admin a member of mlflow",
    "create database mlflow",
    "revoke PUBLIC's CONNECT and TEMPORARY on mlflow",
]
# Everything the bootstrap may touch, as the catalog holds it (OIDs resolved to names).
CATALOG = {
    "roles": "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, "
    "rolreplication, rolbypassrls, rolconnlimit, rolpassword, rolvaliduntil FROM pg_authid "
    "WHERE rolname IN ('app', 'app_migrator', 'clever_admin', 'mlflow', 'rds_iam') ORDER BY rolname",
    "members": "SELECT m.roleid::regrole::text, m.member::regrole::text, m.admin_option FROM "
    "pg_auth_members m ORDER BY 1, 2",
    "databases": "SELECT datname, datdba::regrole::text, datacl::text FROM pg_database ORDER BY datname",
}
CATALOG_IN_DATABASE = {
    "schemas": "SELECT nspname, nspowner::regrole::text, nspacl::text FROM pg_namespace ORDER BY nspname",
    "defaults": "SELECT defaclrole::regrole::text, defaclnamespace::regnamespace::text, defaclobjtype, "
    "defaclacl::text FROM pg_default_acl ORDER BY 1, 2, 3",
    "relations": "SELECT relname, relowner::regrole::text, relacl::text FROM pg_class "
    "WHERE relnamespace = 'public'::regnamespace ORDER BY relname",
}


@pytest.fixture(scope="module")
def started() -> Iterator[pg.Postgres]:
    yield from pg.start()


@pytest.fixture
def server(started: pg.Postgres) -> Iterator[pg.Postgres]:
    """The server as `pg.start` left it: each test begins before any bootstrap."""
    yield started
    started.run("DROP DATABASE IF EXISTS clever_better WITH (FORCE)")
    started.run("DROP DATABASE IF EXISTS mlflow WITH (FORCE)")
    started.run("DROP ROLE IF EXISTS app, app_migrator, mlflow, intruder")
    started.run(f"ALTER ROLE {pg.ADMIN} PASSWORD '{pg.ADMIN_PASSWORD}'")


def _converge(server: pg.Postgres, password: str = MIGRATOR_PASSWORD) -> list[str]:
    return bootstrap.converge(
        pg.admin_connect(server),
        PLAN,
        migrator_verifier=pgwire.scram_verifier(password),
        tracking_verifier=pgwire.scram_verifier(MLFLOW_PASSWORD),
    )


def _catalog(server: pg.Postgres) -> dict[str, Any]:
    state = {name: server.run(sql) for name, sql in CATALOG.items()}
    state |= {name: server.run(sql, database="clever_better") for name, sql in CATALOG_IN_DATABASE.items()}
    return state


def _error(run: Any) -> str:
    """The SQLSTATE of the error `run()` raises (pg8000 puts it under "C"; a refused login
    surfaces as the network error of closing the socket the server already closed)."""
    import pg8000.exceptions

    with pytest.raises(pg8000.exceptions.Error) as raised:
        run()
    error: BaseException | None = raised.value
    while error is not None and not isinstance(error, pg8000.exceptions.DatabaseError):
        error = error.__context__
    assert error is not None, raised.value
    return str(error.args[0]["C"])


def test_first_run_creates_roles_database_and_grants(server: pg.Postgres) -> None:
    assert _converge(server) == FIRST_RUN
    roles = {row[0]: row for row in server.run(CATALOG["roles"])}
    # app: logs in, no password at all (only the IAM path), no power over roles or databases.
    assert roles["app"][1:9] == [False, True, False, False, True, False, False, -1]
    assert roles["app"][9] is None
    # app_migrator: logs in with a SCRAM password, no special attributes either.
    assert roles["app_migrator"][1:9] == [False, True, False, False, True, False, False, -1]
    assert roles["app_migrator"][9].startswith("SCRAM-SHA-256$4096:")
    members = server.run(CATALOG["members"])
    assert ["rds_iam", "app", False] in members
    assert not [m for m in members if m[0] == "rds_iam" and m[1] == "app_migrator"]
    assert ["app_migrator", "clever_admin", False] in members
    (database,) = [row for row in server.run(CATALOG["databases"]) if row[0] == "clever_better"]
    assert database[1] == "app_migrator"
    assert database[2] == "{app_migrator=CTc/app_migrator,app=c/app_migrator}"
    defaults = server.run(CATALOG_IN_DATABASE["defaults"], database="clever_better")
    assert defaults == [
        ["app_migrator", "public", "S", "{app=rU/app_migrator}"],
        ["app_migrator", "public", "r", "{app=arwd/app_migrator}"],
    ]


def test_second_run_changes_nothing(server: pg.Postgres) -> None:
    _converge(server)
    before = _catalog(server)
    assert _converge(server) == []
    assert _catalog(server) == before


def test_a_rotated_migrator_password_is_left_alone(server: pg.Postgres) -> None:
    _converge(server)
    server.run("ALTER ROLE app_migrator PASSWORD 'rotated-Password-2'")  # what rotation does
    assert _converge(server, password="another-Password-3") == []
    server.connect("app_migrator", "clever_better", password="rotated-Password-2").close()


def test_what_is_missing_is_put_back_and_nothing_else(server: pg.Postgres) -> None:
    _converge(server)
    # As the admin, who granted them (PostgreSQL 16 records each grant's grantor).
    for sql in ("REVOKE CONNECT ON DATABASE clever_better FROM app", "REVOKE rds_iam FROM app"):
        server.run(sql, user=pg.ADMIN, password=pg.ADMIN_PASSWORD)
    assert not server.run("SELECT 1 FROM pg_auth_members WHERE member = 'app'::regrole")
    assert _converge(server) == ["grant rds_iam to app", "grant CONNECT on clever_better to app"]


def test_tables_made_before_the_defaults_are_granted_too(server: pg.Postgres) -> None:
    _converge(server)
    server.run(
        "ALTER DEFAULT PRIVILEGES FOR ROLE app_migrator IN SCHEMA public "
        "REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM app",
        database="clever_better",
    )
    migrator = server.connect("app_migrator", "clever_better", password=MIGRATOR_PASSWORD)
    migrator.run("CREATE TABLE early (id serial PRIMARY KEY)")
    migrator.close()
    assert _converge(server) == [
        "default privileges on app_migrator's future tables for app",
        "grant app its privileges on existing tables",
    ]
    app = server.connect("app", "clever_better")
    app.run("INSERT INTO early DEFAULT VALUES")
    assert app.run("SELECT count(*) FROM early") == [[1]]
    app.close()


def test_the_app_reads_and_writes_the_migrators_tables_and_changes_no_schema(server: pg.Postgres) -> None:
    _converge(server)
    # The migrator logs in with its secret's password (SCRAM) and owns what it creates.
    migrator = server.connect("app_migrator", "clever_better", password=MIGRATOR_PASSWORD)
    migrator.run("CREATE TABLE bets (id serial PRIMARY KEY, stake numeric NOT NULL)")
    migrator.close()
    app = server.connect("app", "clever_better")
    app.run("INSERT INTO bets (stake) VALUES (2.5)")
    app.run("UPDATE bets SET stake = 3")
    assert app.run("SELECT id, stake::text FROM bets") == [[1, "3"]]
    app.run("DELETE FROM bets")
    assert _error(lambda: app.run("CREATE TABLE mine (id int)")) == "42501"  # insufficient_privilege
    assert _error(lambda: app.run("DROP TABLE bets")) == "42501"
    assert _error(lambda: app.run("TRUNCATE bets")) == "42501"
    app.close()


def test_roles_without_the_grants_cannot_get_in(server: pg.Postgres) -> None:
    _converge(server)
    server.run("CREATE ROLE intruder LOGIN PASSWORD 'intruder-Password-1'")
    # A valid login without CONNECT on the database: refused (PUBLIC's CONNECT is revoked).
    assert (
        _error(lambda: server.connect("intruder", "clever_better", password="intruder-Password-1")) == "42501"
    )
    # Not in rds_iam, so no IAM path: the migrator gets in with its password only.
    assert _error(lambda: server.connect("app_migrator", "clever_better", password="wrong")) == "28P01"


def test_mlflow_owns_its_database_and_nothing_else(server: pg.Postgres) -> None:
    _converge(server)
    roles = {row[0]: row for row in server.run(CATALOG["roles"])}
    # mlflow: logs in with a SCRAM password, no special attributes, not in rds_iam.
    assert roles["mlflow"][1:9] == [False, True, False, False, True, False, False, -1]
    assert roles["mlflow"][9].startswith("SCRAM-SHA-256$4096:")
    members = server.run(CATALOG["members"])
    assert ["mlflow", "clever_admin", False] in members
    assert not [m for m in members if m[1] == "mlflow"]
    (database,) = [row for row in server.run(CATALOG["databases"]) if row[0] == "mlflow"]
    assert database[1:] == ["mlflow", "{mlflow=CTc/mlflow}"]
    # MLflow creates and migrates its own tables (what `mlflow server` does on a fresh store).
    tracking = ("mlflow", "mlflow", MLFLOW_PASSWORD)
    server.run("CREATE TABLE experiments (experiment_id int PRIMARY KEY, name text)", *tracking)
    server.run("INSERT INTO experiments VALUES (0, 'Default')", *tracking)
    server.run("ALTER TABLE experiments ADD COLUMN lifecycle_stage text", *tracking)
    assert server.run("SELECT name FROM experiments", *tracking) == [["Default"]]
    # Neither side reaches the other's database.
    assert _error(lambda: server.connect("mlflow", "clever_better", password=MLFLOW_PASSWORD)) == "42501"
    assert _error(lambda: server.connect("app_migrator", "mlflow", password=MIGRATOR_PASSWORD)) == "42501"
    server.run("CREATE ROLE intruder LOGIN PASSWORD 'intruder-Password-1'")
    assert _error(lambda: server.connect("intruder", "mlflow", password="intruder-Password-1")) == "42501"
    # What the tracking server's start builds from the secret's fields logs in as that role.
    uri = urlsplit(
        mlflow_start.backend_store_uri(
            {
                "DB_USERNAME": "mlflow",
                "DB_PASSWORD": MLFLOW_PASSWORD,
                "DB_HOST": server.socket_dir,
                "DB_PORT": str(server.port),
                "DB_NAME": "mlflow",
            }
        )
    )
    assert (uri.scheme, uri.query) == ("postgresql", "sslmode=require")
    assert unquote(uri.password or "") == MLFLOW_PASSWORD
    assert unquote(uri.path[1:]) == "mlflow"
    login = (unquote(uri.path[1:]), unquote(uri.username or ""), unquote(uri.password or ""))
    assert server.run("SELECT current_user, current_database()", *login) == [["mlflow", "mlflow"]]
    # A rotated password is the rotation's business: a second run leaves it alone.
    server.run("ALTER ROLE mlflow PASSWORD 'rotated-Password-2'")
    assert _converge(server) == []
    assert server.run("SELECT 1", "mlflow", "mlflow", "rotated-Password-2") == [[1]]


def test_client_reports_a_wrong_password_with_its_sqlstate(server: pg.Postgres) -> None:
    with pytest.raises(pgwire.PostgresError) as error:
        pgwire.Connection.open(
            host=server.socket_dir,
            port=server.port,
            user=pg.ADMIN,
            password="wrong",
            database="postgres",
            tls=False,
        )
    assert error.value.code == "28P01"


def test_plan_refuses_names_that_need_quoting() -> None:
    with pytest.raises(ValueError, match="app_user='App; DROP'"):
        bootstrap.Plan(database="clever_better", app_user="App; DROP", migrator_user="app_migrator")
    verifier = pgwire.scram_verifier(MIGRATOR_PASSWORD)
    with pytest.raises(ValueError, match="app_migrator's password must be given as a SCRAM-SHA-256 verifier"):
        bootstrap.steps(PLAN, migrator_verifier="plain-text", tracking_verifier=verifier)
    with pytest.raises(ValueError, match="mlflow's password must be given as a SCRAM-SHA-256 verifier"):
        bootstrap.steps(PLAN, migrator_verifier=verifier, tracking_verifier="plain-text")


# The custom resource, end to end: Secrets Manager (moto), the real server, CloudFormation's
# response URL (a local HTTP stub).

ADMIN_ARN_NAME, MIGRATOR_NAME = "clever-better/dev/database-admin", "clever-better/dev/database"
MLFLOW_NAME = "clever-better/dev/database-mlflow"


class _ResponseStub(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def cloudformation(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    offline_aws(monkeypatch, "us-east-1")
    monkeypatch.setattr(handler, "RETRY_SECONDS", 0.0)
    _ResponseStub.bodies = []
    http = HTTPServer(("127.0.0.1", 0), _ResponseStub)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    with mock_aws():
        sm = boto3.client("secretsmanager")
        admin = sm.create_secret(
            Name=ADMIN_ARN_NAME,
            SecretString=json.dumps({"username": pg.ADMIN, "password": pg.ADMIN_PASSWORD}),
        )["ARN"]
        migrator = sm.create_secret(
            Name=MIGRATOR_NAME,
            SecretString=json.dumps({"username": "app_migrator", "password": MIGRATOR_PASSWORD}),
        )["ARN"]
        mlflow = sm.create_secret(
            Name=MLFLOW_NAME,
            SecretString=json.dumps({"username": "mlflow", "password": MLFLOW_PASSWORD}),
        )["ARN"]
        yield {
            "sm": sm,
            "admin": admin,
            "migrator": migrator,
            "mlflow": mlflow,
            "url": f"http://127.0.0.1:{http.server_port}/r",
        }
    http.shutdown()


def _event(request: str, aws: dict[str, Any], server: pg.Postgres, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request,
        "ResponseURL": aws["url"],
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/clever-better-dev-data/x",
        "RequestId": "r-1",
        "LogicalResourceId": "DatabaseRolesBootstrap",
        "ResourceProperties": {
            "Host": server.socket_dir,
            "Port": str(server.port),
            "InstanceIdentifier": "clever-better-dev",
            "AdminSecretArn": aws["admin"],
            "MigratorSecretArn": aws["migrator"],
            "Database": "clever_better",
            "AppUser": "app",
            "MigratorUser": "app_migrator",
            "IamRole": "rds_iam",
            "MlflowSecretArn": aws["mlflow"],
            "MlflowDatabase": "mlflow",
            "MlflowUser": "mlflow",
        },
        **extra,
    }


def test_create_then_update_answers_cloudformation(
    server: pg.Postgres, cloudformation: dict[str, Any]
) -> None:
    handler.handler(_event("Create", cloudformation, server))
    handler.handler(
        _event("Update", cloudformation, server, PhysicalResourceId="clever-better-dev/clever_better")
    )
    created, updated = _ResponseStub.bodies
    assert created["Status"] == "SUCCESS" and created["Data"] == {"Changes": str(len(FIRST_RUN))}
    assert created["PhysicalResourceId"] == "clever-better-dev/clever_better"
    assert created["LogicalResourceId"] == "DatabaseRolesBootstrap" and created["RequestId"] == "r-1"
    assert updated["Status"] == "SUCCESS" and updated["Data"] == {"Changes": "0"}
    assert updated["PhysicalResourceId"] == "clever-better-dev/clever_better"


def test_admin_secret_mid_rotation_logs_in_with_the_pending_version(
    server: pg.Postgres, cloudformation: dict[str, Any]
) -> None:
    sm = cloudformation["sm"]
    # Rotation's setSecret has run (the database has the pending password), finishSecret not yet.
    sm.put_secret_value(
        SecretId=cloudformation["admin"],
        SecretString=json.dumps({"username": pg.ADMIN, "password": "pending-Password-9"}),
        VersionStages=["AWSPENDING"],
    )
    server.run(f"ALTER ROLE {pg.ADMIN} PASSWORD 'pending-Password-9'")
    handler.handler(_event("Create", cloudformation, server))
    (body,) = _ResponseStub.bodies
    assert body["Status"] == "SUCCESS", body["Reason"]


def test_failure_is_reported_not_left_waiting(server: pg.Postgres, cloudformation: dict[str, Any]) -> None:
    server.run(f"ALTER ROLE {pg.ADMIN} PASSWORD 'nobody-knows-this'")
    handler.handler(_event("Create", cloudformation, server))
    (body,) = _ResponseStub.bodies
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "RuntimeError: no version of the admin secret logs in (AWSCURRENT, AWSPENDING)"


def test_a_secret_for_another_user_is_refused(server: pg.Postgres, cloudformation: dict[str, Any]) -> None:
    cloudformation["sm"].put_secret_value(
        SecretId=cloudformation["migrator"], SecretString=json.dumps({"username": "app", "password": "x"})
    )
    handler.handler(_event("Create", cloudformation, server))
    (body,) = _ResponseStub.bodies
    assert body["Status"] == "FAILED" and "app_migrator" in body["Reason"]
    assert server.run("SELECT count(*) FROM pg_roles WHERE rolname = 'app_migrator'") == [[0]]


def test_an_mlflow_secret_for_another_user_is_refused(
    server: pg.Postgres, cloudformation: dict[str, Any]
) -> None:
    cloudformation["sm"].put_secret_value(
        SecretId=cloudformation["mlflow"], SecretString=json.dumps({"username": "app", "password": "x"})
    )
    handler.handler(_event("Create", cloudformation, server))
    (body,) = _ResponseStub.bodies
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "RuntimeError: the MLflow secret does not hold mlflow's credentials"
    assert server.run("SELECT count(*) FROM pg_roles WHERE rolname = 'mlflow'") == [[0]]


def test_delete_touches_nothing(cloudformation: dict[str, Any], tmp_path: Path) -> None:
    event = {
        "RequestType": "Delete",
        "ResponseURL": cloudformation["url"],
        "StackId": "s",
        "RequestId": "r-2",
        "LogicalResourceId": "DatabaseRolesBootstrap",
        "PhysicalResourceId": "clever-better-dev/clever_better",
        # No server at this address: a Delete must not try to connect.
        "ResourceProperties": {"Host": str(tmp_path), "Port": "5432"},
    }
    handler.handler(event)
    (body,) = _ResponseStub.bodies
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == "clever-better-dev/clever_better"
