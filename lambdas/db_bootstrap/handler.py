"""CloudFormation custom resource `Custom::DatabaseBootstrap`: the application's roles and grants.

On Create and Update: read the admin (master) credentials and the migrator's password from
Secrets Manager, connect to the instance (TLS, SCRAM) and converge (`bootstrap.converge`):
create what is missing, change nothing that is there. On Delete: nothing (the roles live and
die with the database). Whatever happens, answer CloudFormation through the pre-signed
``ResponseURL``, so a failure fails the deploy instead of leaving it waiting.

Resource properties: ``Host``, ``Port``, ``InstanceIdentifier``, ``AdminSecretArn``,
``MigratorSecretArn``, ``Database``, ``AppUser``, ``MigratorUser``, ``IamRole``,
``MlflowSecretArn``, ``MlflowDatabase``, ``MlflowUser`` (and
``CodeHash``, which only makes CloudFormation run an update when this code changes).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Mapping
from typing import Any

import boto3

if __package__:  # lambdas.db_bootstrap.handler: tests
    from . import bootstrap, pgwire
else:  # Lambda: the asset folder is the root, so this file is the top-level module `handler`
    import bootstrap  # type: ignore[no-redef]
    import pgwire  # type: ignore[no-redef]

logger = logging.getLogger()
logger.setLevel(logging.INFO)

WRONG_PASSWORD = "28P01"  # SQLSTATE invalid_password
# The admin secret rotates on its own schedule (its first rotation may run during this very
# deploy): between setSecret and finishSecret only AWSPENDING works. Try both, a few times.
ADMIN_STAGES = ("AWSCURRENT", "AWSPENDING")
ATTEMPTS = 4
RETRY_SECONDS = 10.0
RESPONSE_TIMEOUT_SECONDS = 30


def _client(service: str) -> Any:
    return boto3.client(service)


def _secret(arn: str, stage: str) -> dict[str, Any] | None:
    secrets = _client("secretsmanager")
    try:
        value = secrets.get_secret_value(SecretId=arn, VersionStage=stage)
    except secrets.exceptions.ResourceNotFoundException:
        return None  # no version in that stage (no rotation under way)
    secret: dict[str, Any] = json.loads(value["SecretString"])
    return secret


def admin_connector(props: Mapping[str, Any]) -> bootstrap.Connect:
    """Log in as the admin once, with whichever version of its secret works now."""
    host, port = str(props["Host"]), int(props["Port"])
    # A Unix-socket directory (tests) cannot do TLS; the instance endpoint always does.
    tls = not host.startswith("/")
    for attempt in range(1, ATTEMPTS + 1):
        for stage in ADMIN_STAGES:
            admin = _secret(str(props["AdminSecretArn"]), stage)
            if admin is None:
                continue
            try:
                pgwire.Connection.open(
                    host=host,
                    port=port,
                    user=admin["username"],
                    password=admin["password"],
                    database=bootstrap.MAINTENANCE_DATABASE,
                    tls=tls,
                ).close()
            except pgwire.PostgresError as error:
                if error.code != WRONG_PASSWORD:
                    raise
                logger.info("admin login with %s failed (attempt %d)", stage, attempt)
                continue

            def connect(database: str, admin: dict[str, Any] = admin) -> pgwire.Connection:
                return pgwire.Connection.open(
                    host=host,
                    port=port,
                    user=admin["username"],
                    password=admin["password"],
                    database=database,
                    tls=tls,
                )

            return connect
        if attempt < ATTEMPTS:
            time.sleep(RETRY_SECONDS)
    raise RuntimeError("no version of the admin secret logs in (AWSCURRENT, AWSPENDING)")


def converge(props: Mapping[str, Any]) -> list[str]:
    plan = bootstrap.Plan(
        database=str(props["Database"]),
        app_user=str(props["AppUser"]),
        migrator_user=str(props["MigratorUser"]),
        iam_role=str(props["IamRole"]),
        tracking_database=str(props["MlflowDatabase"]),
        tracking_user=str(props["MlflowUser"]),
    )
    return bootstrap.converge(
        admin_connector(props),
        plan,
        migrator_verifier=_verifier(props, "MigratorSecretArn", plan.migrator_user, "migrator"),
        tracking_verifier=_verifier(props, "MlflowSecretArn", plan.tracking_user, "MLflow"),
    )


def _verifier(props: Mapping[str, Any], arn: str, user: str, purpose: str) -> str:
    """The SCRAM verifier of the password the secret holds for `user` (never the password)."""
    secret = _secret(str(props[arn]), "AWSCURRENT")
    if secret is None or secret.get("username") != user:
        raise RuntimeError(f"the {purpose} secret does not hold {user}'s credentials")
    return pgwire.scram_verifier(secret["password"])


def _respond(
    event: Mapping[str, Any], status: str, physical_id: str, reason: str, data: dict[str, str]
) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS):
        pass


def handler(event: Mapping[str, Any], context: Any = None) -> None:
    props = event.get("ResourceProperties", {})
    physical_id = str(
        event.get("PhysicalResourceId") or f"{props.get('InstanceIdentifier')}/{props.get('Database')}"
    )
    try:
        changed = [] if event["RequestType"] == "Delete" else converge(props)
    except Exception as error:
        logger.exception("bootstrap failed")
        _respond(event, "FAILED", physical_id, f"{type(error).__name__}: {error}", {})
        return
    for change in changed:
        logger.info("changed: %s", change)
    _respond(event, "SUCCESS", physical_id, f"{len(changed)} change(s)", {"Changes": str(len(changed))})
