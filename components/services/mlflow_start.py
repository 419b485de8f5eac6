"""The MLflow tracking server's start: run in its container as `python -c <this file's text>`.

ECS hands the task the database's parts (DB_HOST, DB_PORT, DB_NAME) and, from
`clever-better/{token}/database-mlflow`, DB_USERNAME and DB_PASSWORD. MLflow takes one URI, so
this builds it, percent-encoding the user and password (a rotated password may hold `@ : / % ?
#`), and requires TLS (the instance has rds.force_ssl). The URI reaches `mlflow server` in
its environment (MLFLOW_BACKEND_STORE_URI), never on a command line or in a log; the rest of
its options are MLFLOW_* variables of the task definition. Standard library only.
"""

import os
import urllib.parse
from collections.abc import Mapping


def backend_store_uri(environ: Mapping[str, str]) -> str:
    def part(name: str) -> str:
        return urllib.parse.quote(environ[name], safe="")

    return "postgresql://{}:{}@{}:{}/{}?sslmode=require".format(
        part("DB_USERNAME"), part("DB_PASSWORD"), part("DB_HOST"), part("DB_PORT"), part("DB_NAME")
    )


if __name__ == "__main__":
    os.environ["MLFLOW_BACKEND_STORE_URI"] = backend_store_uri(os.environ)
    del os.environ["DB_PASSWORD"]
    os.execvp("mlflow", ["mlflow", "server"])
