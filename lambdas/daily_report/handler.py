"""The daily operations report's function (issue 17): EventBridge Scheduler invokes it every morning
(schedules.daily_report); it reads the report (report.py) and posts it as one message to the
alerting unit's Slack channel for ``SEVERITY`` (the alerting secret ``SECRET_ID``, JSON,
``slack_webhooks`` by severity: the P3 channel, where what needs no one at once goes).

* Missing metrics (a fresh environment) read "no data"; a section AWS refuses reads
  "unavailable" and is logged: the report still posts.
* Slack failing is retried (429 with Retry-After, 5xx, time-outs, connection errors; backoff
  with full jitter within the invocation's time), then raised: Lambda's Errors raise the P3
  `daily-report-failed`. No webhook for the channel is raised the same way.
* The webhook is never logged, nor any other secret value. Logs are one JSON object per line.

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
from datetime import UTC, datetime
from typing import Any

if __package__:  # lambdas.daily_report.handler: tests
    from .report import Settings, collect
else:  # Lambda: the asset folder is the root
    from report import Settings, collect  # type: ignore[no-redef]

logger = logging.getLogger()
logger.setLevel(logging.INFO)

SEVERITY = "P3"
REQUEST_TIMEOUT = 5.0
BACKOFF_BASE = 0.2
BACKOFF_CAP = 8.0
# Kept back from the invocation's time to log and raise before Lambda stops it.
RESERVE_SECONDS = 1.0
# An AWS endpoint that stalls costs its section (it reads "unavailable"), not the report: short
# time-outs and a few standard retries, well inside the function's 120 seconds.
CLIENT_TIMEOUTS = {
    "connect_timeout": 5,
    "read_timeout": 15,
    "retries": {"total_max_attempts": 3, "mode": "standard"},
}


class Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    pass


class NotPosted(Exception):
    """The report was read but did not reach Slack."""


def _log(level: int, event: str, **fields: Any) -> None:
    logger.log(level, json.dumps({"event": event, **fields}, default=str))


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


def handle(
    *,
    settings: Settings,
    secret_id: str,
    clients: Callable[[str], Any],
    now: datetime,
    deadline: float,
) -> dict[str, Any]:
    report = collect(clients, settings, now)
    for gap in report.unavailable:
        _log(logging.ERROR, "section-unavailable", section=gap)
    url = webhook(clients("secretsmanager"), secret_id)
    if url is None:
        _log(logging.ERROR, "no-slack-webhook", severity=SEVERITY)
        raise NotPosted(f"{secret_id} has no slack_webhooks.{SEVERITY}: the daily report was not posted")
    try:
        attempts = with_retries(lambda timeout: post(url, report.slack(), timeout=timeout), deadline=deadline)
    except (Transient, Permanent) as error:
        _log(logging.ERROR, "slack-undelivered", error=str(error))
        raise NotPosted(f"the daily report did not reach Slack: {error}") from None
    _log(logging.INFO, "report-posted", attempts=attempts, unavailable=report.unavailable)
    return {"posted": True, "at": report.at.isoformat(), "unavailable": report.unavailable}


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    import boto3

    settings = Settings.from_environment(os.environ)
    secret_id = os.environ.get("SECRET_ID")
    if not secret_id:
        raise RuntimeError("environment variables not set: SECRET_ID")
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS
    from botocore.config import Config

    config = Config(**CLIENT_TIMEOUTS)
    return handle(
        settings=settings,
        secret_id=secret_id,
        clients=lambda name: boto3.client(name, config=config),
        now=datetime.now(UTC),
        deadline=deadline,
    )
