"""Rotation for `clever-better/{env}/betfair`, Secrets Manager's four steps.

Betfair application keys are issued by hand, so this function cannot mint one. An
operator stores the new key as a version labelled ``OPERATOR_NEW``
(`make betfair-key-store`); rotation then promotes it:

* createSecret: copy the ``OPERATOR_NEW`` value into this rotation's ``AWSPENDING``
  version. With no new key, leave AWSCURRENT untouched, tag the secret
  ``rotation-pending``, publish a P2 reminder and fail this attempt (Secrets Manager
  tries again at the next scheduled window, or at once after `rotate-secret`).
* setSecret: nothing to set on Betfair's side (the key is already issued there).
* testSecret: the pending value is complete, differs from the current key and, when
  ``BETFAIR_LOGIN_URL`` is set, logs in to Betfair with it. Secrets Manager also runs this
  step alone to test the rotation configuration (RotateSecret with RotateImmediately=false,
  which CloudFormation does for a RotationSchedule with RotateImmediatelyOnUpdate: false): it
  makes a short-lived AWSPENDING version holding the current value. That test passes here
  without checking anything, so creating the schedule never depends on a key nobody has
  stored yet (the placeholder).
* finishSecret: move AWSCURRENT to the pending version (the old key stays as
  AWSPREVIOUS: the runbook's backup key), drop ``OPERATOR_NEW`` and the pending tag. A
  pending value that is not a complete key is never promoted.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

OPERATOR_STAGE = "OPERATOR_NEW"
PENDING_TAG = "rotation-pending"
REQUIRED_FIELDS = ("app_key", "username", "password")
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
LOGIN_TIMEOUT_SECONDS = 10


class RotationError(Exception):
    """The step failed; AWSCURRENT is unchanged."""


class RotationPending(RotationError):
    """No operator-issued key yet: the rotation waits for one (P2 reminder sent)."""


def _client(service: str) -> Any:
    return boto3.client(service)


def handler(event: dict[str, Any], context: Any = None) -> None:
    try:
        secret_id, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    except (KeyError, TypeError) as missing:
        raise RotationError(f"malformed rotation event, missing {missing}: {event!r}") from None
    if step not in STEPS:
        raise RotationError(f"unknown rotation step {step!r}; expected one of {', '.join(STEPS)}")
    sm = _client("secretsmanager")
    metadata = sm.describe_secret(SecretId=secret_id)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"rotation is not enabled for {secret_id}")
    stages = metadata.get("VersionIdsToStages", {})
    if "AWSCURRENT" in stages.get(token, []):
        logger.info("version %s is already AWSCURRENT; nothing to do", token)
        return
    # createSecret makes the pending version; every later step needs it.
    if step != "createSecret" and "AWSPENDING" not in stages.get(token, []):
        raise RotationError(f"version {token} of {secret_id} is not AWSPENDING")
    logger.info("rotation step %s for %s (version %s)", step, secret_id, token)
    {
        "createSecret": create_secret,
        "setSecret": set_secret,
        "testSecret": test_secret,
        "finishSecret": finish_secret,
    }[step](sm, secret_id, token, metadata)


def _value(sm: Any, secret_id: str, **version: str) -> dict[str, Any]:
    raw = sm.get_secret_value(SecretId=secret_id, **version)["SecretString"]
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise RotationError(f"{secret_id} ({version}) is not JSON") from None
    if not isinstance(value, dict):
        raise RotationError(f"{secret_id} ({version}) is not a JSON object")
    return value


def _stage_version(metadata: dict[str, Any], stage: str) -> str | None:
    for version, stages in metadata.get("VersionIdsToStages", {}).items():
        if stage in stages:
            return str(version)
    return None


def create_secret(sm: Any, secret_id: str, token: str, metadata: dict[str, Any]) -> None:
    try:
        sm.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")
        logger.info("AWSPENDING already exists for %s; createSecret is done", token)
        return
    except sm.exceptions.ResourceNotFoundException:
        pass
    current = _value(sm, secret_id, VersionStage="AWSCURRENT")
    staged_version = _stage_version(metadata, OPERATOR_STAGE)
    staged = _value(sm, secret_id, VersionId=staged_version) if staged_version else None
    if not staged or staged.get("app_key") == current.get("app_key"):
        _mark_pending(sm, secret_id, metadata)
        raise RotationPending(
            f"{secret_id}: no new Betfair key stored yet; AWSCURRENT is unchanged. Issue a key in "
            "Betfair's developer portal, store it with `make betfair-key-store`, then rotate again."
        )
    sm.put_secret_value(
        SecretId=secret_id,
        ClientRequestToken=token,
        SecretString=json.dumps(staged),
        VersionStages=["AWSPENDING"],
    )
    logger.info("staged the operator's new key as AWSPENDING (%s)", token)


def _mark_pending(sm: Any, secret_id: str, metadata: dict[str, Any]) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sm.tag_resource(SecretId=secret_id, Tags=[{"Key": PENDING_TAG, "Value": f"awaiting-new-key-since-{now}"}])
    topic = os.environ.get("REMINDER_TOPIC_ARN")
    if topic:
        _client("sns").publish(
            TopicArn=topic,
            Subject="P2: Betfair API key rotation is waiting for a new key",
            Message=json.dumps(
                {
                    "severity": "P2",
                    "secret": metadata.get("Name", secret_id),
                    "since": now,
                    "action": "Issue a new application key in Betfair's developer portal, then run "
                    "`make betfair-key-store ENV=<env> FILE=<key.json>`; rotation completes by itself.",
                }
            ),
        )
    logger.warning("rotation of %s is pending an operator-issued key (P2 reminder sent)", secret_id)


def set_secret(sm: Any, secret_id: str, token: str, metadata: dict[str, Any]) -> None:
    logger.info("setSecret: Betfair issues keys itself; nothing to set for %s", token)


def _complete(credentials: dict[str, Any]) -> None:
    missing = [field for field in REQUIRED_FIELDS if not str(credentials.get(field, "")).strip()]
    if missing:
        raise RotationError(f"pending Betfair credentials lack {', '.join(missing)}")


def test_secret(sm: Any, secret_id: str, token: str, metadata: dict[str, Any]) -> None:
    current = _value(sm, secret_id, VersionStage="AWSCURRENT")
    try:
        pending = _value(sm, secret_id, VersionId=token, VersionStage="AWSPENDING")
    except sm.exceptions.ResourceNotFoundException:
        pending = None  # a rotation's createSecret always stores one: only the test lacks it
    if pending is None or pending == current:
        # Secrets Manager's configuration test, not a rotation: nothing new to prove, and
        # finishSecret never runs after it.
        logger.info("testSecret: version %s holds no new key; rotation configuration test passed", token)
        return
    _complete(pending)
    if pending["app_key"] == current.get("app_key"):
        raise RotationError("pending Betfair app_key equals the current one")
    url = os.environ.get("BETFAIR_LOGIN_URL")
    if url:
        _login(url, pending)


def _login(url: str, credentials: dict[str, Any]) -> None:
    """Betfair's interactive login: a SUCCESS status proves the key and account work."""
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(
            {"username": credentials["username"], "password": credentials["password"]}
        ).encode(),
        headers={
            "X-Application": str(credentials["app_key"]),
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=LOGIN_TIMEOUT_SECONDS) as response:
            body = json.loads(response.read().decode() or "{}")
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as error:
        raise RotationError(f"Betfair login with the pending key failed: {error}") from None
    if body.get("status") != "SUCCESS":
        raise RotationError(f"Betfair login with the pending key failed: {body.get('error') or body}")


def finish_secret(sm: Any, secret_id: str, token: str, metadata: dict[str, Any]) -> None:
    _complete(_value(sm, secret_id, VersionId=token, VersionStage="AWSPENDING"))
    current_version = _stage_version(metadata, "AWSCURRENT")
    sm.update_secret_version_stage(
        SecretId=secret_id,
        VersionStage="AWSCURRENT",
        MoveToVersionId=token,
        RemoveFromVersionId=current_version,
    )
    staged_version = _stage_version(metadata, OPERATOR_STAGE)
    if staged_version:
        sm.update_secret_version_stage(
            SecretId=secret_id, VersionStage=OPERATOR_STAGE, RemoveFromVersionId=staged_version
        )
    sm.untag_resource(SecretId=secret_id, TagKeys=[PENDING_TAG])
    logger.info("version %s is now AWSCURRENT for %s (previous kept as AWSPREVIOUS)", token, secret_id)
