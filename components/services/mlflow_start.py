"""The MLflow tracking server's start: run in its container as `python -c <this file's text>`.

ECS hands the task the database's parts (DB_HOST, DB_PORT, DB_NAME) and, from
`clever-better/{token}/database-mlflow`, DB_USERNAME and DB_PASSWORD. MLflow takes one URI, so
this builds it, percent-encoding the user and password (a rotated password may hold `@ : / % ?
#`), and requires TLS (the instance has rds.force_ssl). The URI reaches `mlflow server` in
its environment (MLFLOW_BACKEND_STORE_URI), never in a log; the rest of its options are
MLFLOW_* variables of the task definition. Standard library only.

First `mlflow db upgrade` brings the store's schema to this image's MLflow: `mlflow server`
creates a fresh store's tables itself but refuses an existing store of an older schema. On a
fresh store the upgrade fails inside its one transaction (PostgreSQL's DDL is transactional)
and changes nothing, so the server starts either way; a store it could not upgrade stops the
server at its own schema check, and the task with it.
"""

import os
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping


def backend_store_uri(environ: Mapping[str, str]) -> str:
    def part(name: str) -> str:
        return urllib.parse.quote(environ[name], safe="")

    return "postgresql://{}:{}@{}:{}/{}?sslmode=require".format(
        part("DB_USERNAME"), part("DB_PASSWORD"), part("DB_HOST"), part("DB_PORT"), part("DB_NAME")
    )


def main() -> None:
    uri = backend_store_uri(os.environ)
    del os.environ["DB_PASSWORD"]
    os.environ["MLFLOW_BACKEND_STORE_URI"] = uri
    # `mlflow db upgrade` takes the URI only as an argument (so it is on that process's command
    # line inside the task while it runs); its session lifts the instance's statement time-out,
    # which a long migration would otherwise hit.
    upgrade = uri + "&options=" + urllib.parse.quote("-c statement_timeout=0", safe="")
    upgraded = subprocess.run(["mlflow", "db", "upgrade", upgrade], check=False)
    if upgraded.returncode:
        print(
            f"mlflow db upgrade exited {upgraded.returncode}: a fresh store (mlflow server creates it) "
            "or one it could not upgrade (mlflow server then refuses it)",
            file=sys.stderr,
            flush=True,
        )
    os.execvp("mlflow", ["mlflow", "server"])


if __name__ == "__main__":
    main()
