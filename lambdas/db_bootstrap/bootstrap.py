"""The application's database, roles and grants: created when missing, never changed when present.

Run as the instance's admin (master) user, which on RDS is no superuser: it has CREATEROLE and
CREATEDB and may grant ``rds_iam``. Each step first asks the catalog whether it is already
done and acts only if not, so a second run changes nothing and reports no change; a run that
stopped half-way is finished by the next one.

* ``app`` (the services): LOGIN without a password, member of ``rds_iam``, so it can only log
  in with an IAM token (through RDS Proxy, end-to-end IAM). CONNECT to the database, USAGE on
  schema ``public``, SELECT/INSERT/UPDATE/DELETE on its tables and USAGE/SELECT on its
  sequences, now and for every table the migrator creates later; no DDL.
* ``app_migrator`` (the migration task): LOGIN with the password of
  ``clever-better/{token}/database``, set once at creation as a SCRAM verifier (rotation
  changes it afterwards); owns the database and so schema ``public``.
* ``mlflow`` (the MLflow tracking server): LOGIN with the password of
  ``clever-better/{token}/database-mlflow`` (set once, as the migrator's), owner of its own
  database ``mlflow``, where MLflow creates and migrates its tables; nothing in the
  application's database.
* PUBLIC: no CONNECT or TEMPORARY on either database, no CREATE on ``public``; the admin is a
  member of ``app_migrator`` and ``mlflow`` so it can hand objects over and fix ownership.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

if __package__:  # lambdas.db_bootstrap.bootstrap: tests
    from .pgwire import Connection, quote_ident, quote_literal, single
else:  # Lambda: the asset folder is the root
    from pgwire import Connection, quote_ident, quote_literal, single  # type: ignore[no-redef]

NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
VERIFIER = re.compile(r"^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT")
MAINTENANCE_DATABASE = "postgres"


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Who and what: names as the CloudFormation custom resource passes them."""

    database: str
    app_user: str
    migrator_user: str
    tracking_database: str = "mlflow"
    tracking_user: str = "mlflow"
    iam_role: str = "rds_iam"

    def __post_init__(self) -> None:
        for field, value in vars(self).items():
            if not NAME.match(value):
                raise ValueError(f"{field}={value!r}: a lower-case SQL name is required")


@dataclass(frozen=True)
class Step:
    """`done` returns one boolean: true when the catalog already says what `do` would make true."""

    says: str
    database: str
    done: str
    do: str


def owned_database(*, database: str, owner: str, password_verifier: str) -> tuple[Step, ...]:
    """A password-login role and a database it owns, closed to PUBLIC: made by the admin, who
    becomes a member of the owner (on RDS the admin is no superuser: it must be able to act as
    the owner to create a database for it, and to fix ownership later)."""
    if not VERIFIER.match(password_verifier):
        raise ValueError(f"{owner}'s password must be given as a SCRAM-SHA-256 verifier")
    db, role, db_l, role_l = (
        quote_ident(database),
        quote_ident(owner),
        quote_literal(database),
        quote_literal(owner),
    )
    return (
        Step(
            f"create role {owner} (password login)",
            MAINTENANCE_DATABASE,
            f"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {role_l})",
            f"CREATE ROLE {role} LOGIN PASSWORD {quote_literal(password_verifier)}",
        ),
        Step(
            f"make the admin a member of {owner}",
            MAINTENANCE_DATABASE,
            f"SELECT pg_has_role(current_user, {role_l}, 'USAGE')",
            f"GRANT {role} TO CURRENT_USER",
        ),
        Step(
            f"create database {database}",
            MAINTENANCE_DATABASE,
            f"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = {db_l})",
            f"CREATE DATABASE {db} OWNER {role}",
        ),
        Step(
            f"make {owner} the owner of {database}",
            MAINTENANCE_DATABASE,
            f"SELECT datdba = {role_l}::regrole FROM pg_database WHERE datname = {db_l}",
            f"ALTER DATABASE {db} OWNER TO {role}",
        ),
        Step(
            f"revoke PUBLIC's CONNECT and TEMPORARY on {database}",
            MAINTENANCE_DATABASE,
            f"SELECT NOT (has_database_privilege('public', {db_l}, 'CONNECT') "
            f"OR has_database_privilege('public', {db_l}, 'TEMPORARY'))",
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC",
        ),
    )


def steps(plan: Plan, *, migrator_verifier: str, tracking_verifier: str) -> tuple[Step, ...]:
    db, app, migrator, iam = (
        quote_ident(n) for n in (plan.database, plan.app_user, plan.migrator_user, plan.iam_role)
    )
    app_l, migrator_l, db_l, iam_l = (
        quote_literal(n) for n in (plan.app_user, plan.migrator_user, plan.database, plan.iam_role)
    )
    maintenance, own = MAINTENANCE_DATABASE, plan.database

    def all_of(function: str, role: str, target: str, privileges: Sequence[str]) -> str:
        return " AND ".join(f"{function}({role}, {target}, '{p}')" for p in privileges)

    def default_acl(kind: str, privileges: Sequence[str]) -> str:
        wanted = ", ".join(f"'{p}'" for p in privileges)
        return (
            "SELECT count(DISTINCT a.privilege_type) = "
            f"{len(privileges)} FROM pg_default_acl d, aclexplode(d.defaclacl) a "
            f"WHERE d.defaclrole = {migrator_l}::regrole AND d.defaclnamespace = 'public'::regnamespace "
            f"AND d.defaclobjtype = '{kind}' AND a.grantee = {app_l}::regrole "
            f"AND a.privilege_type IN ({wanted})"
        )

    def every_relation(kinds: str, function: str, privileges: Sequence[str]) -> str:
        return (
            "SELECT NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            f"AND c.relkind IN ({kinds}) AND NOT ({all_of(function, app_l, 'c.oid', privileges)}))"
        )

    tables, sequences = ", ".join(TABLE_PRIVILEGES), ", ".join(SEQUENCE_PRIVILEGES)
    return (
        *owned_database(
            database=plan.database, owner=plan.migrator_user, password_verifier=migrator_verifier
        ),
        Step(
            f"create role {plan.app_user} (IAM login only)",
            maintenance,
            f"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {app_l})",
            f"CREATE ROLE {app} LOGIN",
        ),
        Step(
            f"grant {plan.iam_role} to {plan.app_user}",
            maintenance,
            "SELECT EXISTS (SELECT 1 FROM pg_auth_members "
            f"WHERE roleid = {iam_l}::regrole AND member = {app_l}::regrole)",
            f"GRANT {iam} TO {app}",
        ),
        Step(
            f"grant CONNECT on {plan.database} to {plan.app_user}",
            maintenance,
            f"SELECT has_database_privilege({app_l}, {db_l}, 'CONNECT')",
            f"GRANT CONNECT ON DATABASE {db} TO {app}",
        ),
        Step(
            "revoke PUBLIC's CREATE on schema public",
            own,
            "SELECT NOT has_schema_privilege('public', 'public', 'CREATE')",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        ),
        Step(
            f"grant USAGE on schema public to {plan.app_user}",
            own,
            f"SELECT has_schema_privilege({app_l}, 'public', 'USAGE')",
            f"GRANT USAGE ON SCHEMA public TO {app}",
        ),
        Step(
            f"default privileges on {plan.migrator_user}'s future tables for {plan.app_user}",
            own,
            default_acl("r", TABLE_PRIVILEGES),
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {migrator} IN SCHEMA public "
            f"GRANT {tables} ON TABLES TO {app}",
        ),
        Step(
            f"default privileges on {plan.migrator_user}'s future sequences for {plan.app_user}",
            own,
            default_acl("S", SEQUENCE_PRIVILEGES),
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {migrator} IN SCHEMA public "
            f"GRANT {sequences} ON SEQUENCES TO {app}",
        ),
        Step(
            f"grant {plan.app_user} its privileges on existing tables",
            own,
            every_relation("'r', 'p', 'v', 'm', 'f'", "has_table_privilege", TABLE_PRIVILEGES),
            f"GRANT {tables} ON ALL TABLES IN SCHEMA public TO {app}",
        ),
        Step(
            f"grant {plan.app_user} its privileges on existing sequences",
            own,
            every_relation("'S'", "has_sequence_privilege", SEQUENCE_PRIVILEGES),
            f"GRANT {sequences} ON ALL SEQUENCES IN SCHEMA public TO {app}",
        ),
        *owned_database(
            database=plan.tracking_database, owner=plan.tracking_user, password_verifier=tracking_verifier
        ),
        Step(
            f"revoke PUBLIC's CREATE on schema public in {plan.tracking_database}",
            plan.tracking_database,
            "SELECT NOT has_schema_privilege('public', 'public', 'CREATE')",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        ),
    )


Connect = Callable[[str], Connection]


def converge(connect: Connect, plan: Plan, *, migrator_verifier: str, tracking_verifier: str) -> list[str]:
    """Run each step that is not done yet, in order; what was changed (empty: nothing)."""
    changed: list[str] = []
    connection: Connection | None = None
    current = ""
    try:
        for step in steps(plan, migrator_verifier=migrator_verifier, tracking_verifier=tracking_verifier):
            if connection is None or step.database != current:
                if connection is not None:
                    connection.close()
                connection, current = connect(step.database), step.database
            if single(connection.query(step.done)) == "t":
                continue
            connection.query(step.do)
            if single(connection.query(step.done)) != "t":
                raise RuntimeError(f"{step.says}: still not done after {step.do.split(' PASSWORD ')[0]}")
            changed.append(step.says)
    finally:
        if connection is not None:
            connection.close()
    return changed
