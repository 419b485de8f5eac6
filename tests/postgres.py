"""A real PostgreSQL for tests, started by the test itself (PyPI `pgserver`: PostgreSQL 16 binaries).

Set up like an RDS instance where it matters to the bootstrap, and said so where it differs:

* ``clever_admin`` stands for the RDS master user: LOGIN, CREATEROLE, CREATEDB, no superuser,
  password login (SCRAM).
* Vanilla PostgreSQL has no ``rds_iam``: a NOLOGIN stand-in is created, which the admin may
  grant (ADMIN OPTION), as the RDS master user may.
* Members of ``rds_iam`` log in without a password here (``trust`` in pg_hba.conf), standing
  in for the IAM token RDS requires of them; everyone else needs a SCRAM password, and the
  server's own superuser ``postgres`` (for setup and catalog reads) is trusted.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ADMIN, ADMIN_PASSWORD = "clever_admin", "admin-Password-1"
HBA = """\
local all postgres trust
local all clever_admin scram-sha-256
# Stand-in for RDS's IAM token authentication of rds_iam members.
local all +rds_iam trust
local all all scram-sha-256
"""


@dataclass(frozen=True)
class Postgres:
    """pgserver listens on a Unix socket only: its directory, and the port that names it."""

    socket_dir: str
    port: int

    def connect(self, user: str, database: str = "postgres", password: str | None = None) -> Any:
        """A pg8000 connection (autocommit) over the server's Unix socket."""
        import pg8000.native

        return pg8000.native.Connection(
            user,
            password=password,
            database=database,
            unix_sock=f"{self.socket_dir}/.s.PGSQL.{self.port}",
        )

    def run(
        self, sql: str, database: str = "postgres", user: str = "postgres", password: str | None = None
    ) -> list[list[Any]]:
        connection = self.connect(user, database, password)
        try:
            return list(connection.run(sql) or [])
        finally:
            connection.close()


def admin_connect(server: Postgres) -> Callable[[str], Any]:
    """The bootstrap's own client (pgwire, SCRAM) logging in as the admin, per database."""
    from lambdas.db_bootstrap import pgwire

    def connect(database: str) -> Any:
        return pgwire.Connection.open(
            host=server.socket_dir,
            port=server.port,
            user=ADMIN,
            password=ADMIN_PASSWORD,
            database=database,
            tls=False,  # a Unix socket; on AWS the handler always asks for TLS
        )

    return connect


def start() -> Iterator[Postgres]:
    """Start a fresh server, set it up as above, stop and remove it afterwards.

    Its data lives in a directory of its own, not under pytest's shared numbered temporary
    directories: PostgreSQL shuts down when its data directory disappears."""
    pgserver = pytest.importorskip("pgserver", reason="pgserver (requirements-dev.txt) is not installed")
    pytest.importorskip("pg8000", reason="pg8000 (requirements-dev.txt) is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="clever-better-pg-"))
    server = pgserver.get_server(tmp / "pgdata", cleanup_mode="stop")
    try:
        info = server.get_postmaster_info()
        postgres = Postgres(socket_dir=str(info.socket_dir), port=int(info.port))
        postgres.run("SET password_encryption = 'scram-sha-256'")
        postgres.run(f"CREATE ROLE {ADMIN} LOGIN CREATEROLE CREATEDB PASSWORD '{ADMIN_PASSWORD}'")
        postgres.run("CREATE ROLE rds_iam NOLOGIN")  # stand-in: RDS has it, vanilla PostgreSQL not
        postgres.run(f"GRANT rds_iam TO {ADMIN} WITH ADMIN OPTION")
        (Path(server.pgdata) / "pg_hba.conf").write_text(HBA)
        postgres.run("SELECT pg_reload_conf()")
        yield postgres
    finally:
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
