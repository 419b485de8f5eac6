"""The trading halt (issue 14): the P0 daily-loss and emergency-shutdown alarms invoke this function
directly (a Lambda alarm action); on ALARM it sets the SSM parameter the bot reads,
``HALT_PARAMETER`` (``/clever-better/{token}/trading/halted``), to one compact JSON object::

    {"halted":true,"by":"<alarm name>","reason":"<state reason, <= 500 chars>","at":"<ISO 8601 UTC>"}

then posts one message to the P0 Slack channel. ``make resume-trading ENV=...`` clears it.

* Only ALARM halts; OK and INSUFFICIENT_DATA are logged and change nothing: resuming is an
  operator's decision, never an alarm's.
* Idempotent: a parameter that already says halted keeps its who, why and when (the first halt
  is the one that counts); the invocation still succeeds and still posts.
* The halt comes first. Slack failing never undoes it: after retries (429 with Retry-After, 5xx,
  time-outs, connection errors; backoff with full jitter, within the invocation's remaining
  time) the function raises, so Lambda's asynchronous retries and its failure destination see
  it; a retry finds the halt in place and only posts.
* The webhook comes from the alerting secret ``SECRET_ID`` (JSON, ``slack_webhooks`` by
  severity; this uses ``P0``) and is never logged, nor is any other secret value. Logs are one
  JSON object per line.

The event is CloudWatch's Lambda alarm action payload (CloudWatch User Guide, "Lambda alarm
action event payload")::

    {"source": "aws.cloudwatch", "alarmArn": "...", "accountId": "...", "time": "...", "region": "...",
     "alarmData": {"alarmName": "...", "state": {"value": "ALARM", "reason": "...",
                   "timestamp": "2023-08-04T12:36:15.490+0000"}, "previousState": {...}, ...}}

Standard library at start; boto3 on first use.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger()
logger.setLevel(logging.INFO)

HALT_STATE = "ALARM"
STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")
SEVERITY = "P0"
REASON_LIMIT = 500
# Per request; the whole invocation is bounded by its remaining time.
REQUEST_TIMEOUT = 5.0
BACKOFF_BASE = 0.2
BACKOFF_CAP = 8.0
# Kept back from the invocation's time to log and raise before Lambda stops it.
RESERVE_SECONDS = 1.0
# The name token in ENVIRONMENT -> the environment `make ... ENV=` takes.
MAKE_ENV = {"prod": "production"}


class Malformed(ValueError):
    """Not a CloudWatch alarm action event: raised, so Lambda's retries and failure destination
    keep it."""


class Transient(Exception):
    """Worth trying again: 429, 5xx, a time-out, a connection error."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    """Slack refused the request (4xx other than 429): retrying will not help."""


class NotNotified(RuntimeError):
    """The halt is in place, but Slack could not be told."""


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str
    reason: str
    at: str  # ISO 8601 UTC


def _log(level: int, event: str, **fields: Any) -> None:
    logger.log(level, json.dumps({"event": event, **fields}, default=str))


def iso_utc(value: object, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> str:
    """CloudWatch's `2023-08-04T12:36:15.490+0000` as `2023-08-04T12:36:15Z`; now if absent or unreadable."""
    moment = now()
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            moment = parsed
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse(event: object) -> Alarm:
    """The alarm and its new state from a CloudWatch Lambda alarm action event."""
    if not isinstance(event, Mapping):
        raise Malformed("the event is not a JSON object")
    data = event.get("alarmData")
    if not isinstance(data, Mapping):
        raise Malformed("no alarmData: not a CloudWatch alarm action event")
    name = data.get("alarmName")
    state = data.get("state")
    if not isinstance(name, str) or not name:
        raise Malformed("alarmData.alarmName is missing or not a string")
    if not isinstance(state, Mapping) or state.get("value") not in STATES:
        raise Malformed(f"alarmData.state.value is not one of {', '.join(STATES)}")
    reason = state.get("reason")
    return Alarm(
        name=name[:255],
        state=str(state["value"]),
        reason=(reason if isinstance(reason, str) else "")[:REASON_LIMIT],
        at=iso_utc(state.get("timestamp") or event.get("time")),
    )


# --- the parameter ---------------------------------------------------------------------------------


def current_halt(ssm: Any, parameter: str) -> dict[str, Any] | None:
    """The parameter's record if it says halted; None if it does not (or does not exist, or
    cannot be read: halting is the safe direction, so such a value is overwritten)."""
    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        # The alerting stack creates it; a halt must not wait for that.
        _log(logging.WARNING, "halt-parameter-missing", parameter=parameter)
        return None
    try:
        record = json.loads(value)
    except ValueError:
        _log(logging.WARNING, "halt-parameter-unreadable", parameter=parameter)
        return None
    return record if isinstance(record, dict) and record.get("halted") is True else None


def halt(ssm: Any, parameter: str, alarm: Alarm) -> tuple[dict[str, Any], bool]:
    """(the halt record in force, whether this invocation set it)."""
    existing = current_halt(ssm, parameter)
    if existing is not None:
        return existing, False
    record = {"halted": True, "by": alarm.name, "reason": alarm.reason, "at": alarm.at}
    ssm.put_parameter(
        Name=parameter, Value=json.dumps(record, separators=(",", ":")), Type="String", Overwrite=True
    )
    return record, True


# --- Slack -------------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Slack's three control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(environment: str, alarm: Alarm, record: Mapping[str, Any]) -> dict[str, str]:
    env = MAKE_ENV.get(environment, environment)
    reason = alarm.reason.rstrip(". ") or "no reason given"
    text = f":octagonal_sign: Trading halted in {env} by {alarm.name}: {reason}."
    if (record.get("by"), record.get("at")) != (alarm.name, alarm.at):
        text += f" Already halted since {record.get('at')} by {record.get('by')}; that record stands."
    text += f" Resume with `make resume-trading ENV={env}` after review."
    return {"text": _escape(text)}


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def post(url: str, payload: Mapping[str, Any], *, timeout: float) -> int:
    """POST `payload` as JSON; Transient or Permanent on failure, never naming the URL (a webhook
    URL is a credential)."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        if error.code == 429 or error.code >= 500:
            raise Transient(f"HTTP {error.code}", _retry_after(error.headers.get("Retry-After"))) from None
        raise Permanent(f"HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
        raise Transient(type(error).__name__) from None


def with_retries(
    send: Callable[[float], object],
    *,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Call `send(timeout)` until it succeeds; a Transient is retried with exponential backoff and
    full jitter (or the Retry-After asked for) while another attempt fits before `deadline`.
    Returns the attempts made; re-raises the last failure."""
    attempt = 0
    while True:
        attempt += 1
        try:
            send(max(0.1, min(REQUEST_TIMEOUT, deadline - clock())))
            return attempt
        except Transient as error:
            delay = error.retry_after
            if delay is None:
                delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * jitter()
            if clock() + delay + min(REQUEST_TIMEOUT, 1.0) > deadline:
                raise
            sleep(delay)


def webhook(secrets: Any, secret_id: str) -> str | None:
    value = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
    hooks = value.get("slack_webhooks") if isinstance(value, dict) else None
    url = hooks.get(SEVERITY) if isinstance(hooks, dict) else None
    return url if isinstance(url, str) and url else None


# --- the handler -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    parameter: str
    secret_id: str
    environment: str

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        missing = [k for k in ("HALT_PARAMETER", "SECRET_ID", "ENVIRONMENT") if not environ.get(k)]
        if missing:
            raise RuntimeError(f"environment variables not set: {', '.join(missing)}")
        return cls(environ["HALT_PARAMETER"], environ["SECRET_ID"], environ["ENVIRONMENT"])


def handle(event: object, *, settings: Settings, ssm: Any, secrets: Any, deadline: float) -> dict[str, Any]:
    try:
        alarm = parse(event)
    except Malformed as error:
        _log(logging.ERROR, "malformed", error=str(error))
        raise
    if alarm.state != HALT_STATE:
        _log(logging.INFO, "no-halt", alarm=alarm.name, state=alarm.state)
        return {"halted": None, "alarm": alarm.name, "state": alarm.state}
    record, changed = halt(ssm, settings.parameter, alarm)
    _log(
        logging.WARNING,
        "halted" if changed else "already-halted",
        parameter=settings.parameter,
        alarm=alarm.name,
        by=record.get("by"),
        at=record.get("at"),
    )
    try:
        url = webhook(secrets, settings.secret_id)
    except Exception as error:  # noqa: BLE001 - named by type only: its text could quote the secret
        _log(logging.ERROR, "secret-unreadable", secret=settings.secret_id, error=type(error).__name__)
        raise NotNotified(
            f"trading is halted ({settings.parameter}); Slack not notified: "
            f"{settings.secret_id} unreadable ({type(error).__name__})"
        ) from None
    try:
        if url is None:
            raise Permanent(f"the secret has no slack_webhooks.{SEVERITY}")
        payload = message(settings.environment, alarm, record)
        attempts = with_retries(lambda timeout: post(url, payload, timeout=timeout), deadline=deadline)
    except (Transient, Permanent) as error:
        _log(logging.ERROR, "slack-undelivered", alarm=alarm.name, error=str(error))
        raise NotNotified(f"trading is halted ({settings.parameter}); Slack not notified: {error}") from None
    _log(logging.INFO, "slack-delivered", alarm=alarm.name, attempts=attempts)
    return {"halted": True, "changed": changed, "by": record.get("by"), "alarm": alarm.name}


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    import boto3

    settings = Settings.from_environment(os.environ)
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS
    return handle(
        event,
        settings=settings,
        ssm=boto3.client("ssm"),
        secrets=boto3.client("secretsmanager"),
        deadline=deadline,
    )
