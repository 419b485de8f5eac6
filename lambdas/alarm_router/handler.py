"""The alarm router: every CloudWatch alarm state change of the environment, from its severity's SQS
queue (fed by the severity's SNS topic), to the people who must know.

* P0 and P1 page: PagerDuty Events API v2 (``trigger`` on ALARM, ``resolve`` on OK, one
  ``dedup_key`` per alarm so repeats and retries never open a second incident), or Opsgenie
  (``PAGER=opsgenie``: alias = alarm name, closed on OK). ``PAGES=false`` (dev) never pages.
* Every severity posts to its Slack channel (a webhook per severity): what fired, where, the
  reason, the time, and links to the alarm, its dashboard and its runbook section. A P0/P1
  names the incident channel to open and the escalation path.

The audit stack's security events arrive on the same topics as EventBridge events: a GuardDuty
finding (P0, P2 or P3 by its severity band) and an AWS Config rule turning NON_COMPLIANT (P3);
each is routed like an alarm in ALARM, linked to the finding or rule (``_event``).

Never lose an alarm:

* Transient failures (429 with Retry-After, 5xx, time-outs, connection errors) are retried with
  exponential backoff and full jitter while the invocation has time; then the record is
  reported as failed (SQS partial batch response), SQS delivers it again, and after the queue's
  receive limit it lands in the dead-letter queue, whose alarm pages on a path that does not
  depend on this function.
* One destination failing never blocks another. A destination that took a message is recorded
  (``IDEMPOTENCY_TABLE``, DynamoDB, expiring after a day), so a redelivery, or SNS's and SQS's
  at-least-once duplicates, never post it twice.
* A malformed, truncated or unknown-shape message is logged as a structured error and reported
  as failed, so it ends in the dead-letter queue, never silently dropped; an unknown severity
  is routed as P1.

While a P0 or P1 stays in ALARM, a reminder posts to its Slack channel every 30 minutes until it
resolves: a schedule invokes this function with ``{"action": "remind"}`` every five minutes
(``remind``; the alarms of ``ALARM_PREFIX``, each reminder recorded like a delivery).

Integration keys and webhook URLs come from the secret ``SECRET_ID`` (JSON:
``pagerduty_routing_key``, ``opsgenie_api_key``, ``slack_webhooks`` by severity), read once per
container and never logged. boto3 is imported on first use, not at start: a cold start pays
only for the standard library.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

logger = logging.getLogger()
logger.setLevel(logging.INFO)

SEVERITIES = ("P0", "P1", "P2", "P3")
PAGING = ("P0", "P1")
UNKNOWN_SEVERITY = "P1"
STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
OPSGENIE_URL = "https://api.opsgenie.com/v2/alerts"
PAGERDUTY_SEVERITY = {"P0": "critical", "P1": "error"}
OPSGENIE_PRIORITY = {"P0": "P1", "P1": "P2"}
# Per request; the whole invocation is bounded by its remaining time.
REQUEST_TIMEOUT = 5.0
BACKOFF_BASE = 0.2
BACKOFF_CAP = 8.0
# Kept back from the invocation's time to report failures and return.
RESERVE_SECONDS = 2.0
IDEMPOTENCY_SECONDS = 86_400
SEVERITY_IN_NAME = re.compile(r"-(P[0-3])$")
SEVERITY_IN_TOPIC = re.compile(r"-(p[0-3])$")
LINK = re.compile(r"(Dashboard|Runbook): (https://\S+)")
# The runbook's update cadence while a P0/P1 is open; the reminder schedule's event.
REMIND_EVERY = 1800
REMIND_ACTION = "remind"
ESCALATION = {
    "P0": "on-call -> team lead after 30 minutes -> engineering manager after 1 hour",
    "P1": "on-call -> team lead after 30 minutes",
}


class Malformed(ValueError):
    """A message this router cannot read: it goes to the dead-letter queue."""


class Transient(Exception):
    """Worth trying again: 429, 5xx, a time-out, a connection error."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    """The destination refused the request (4xx other than 429): retrying will not help."""


@dataclass(frozen=True)
class Alarm:
    message_id: str
    name: str
    severity: str
    state: str
    reason: str
    time: str
    region: str
    arn: str
    environment: str
    dashboard: str | None
    runbook: str | None
    # Where to look instead of the CloudWatch alarm (a GuardDuty finding, a Config rule).
    link: str | None = None

    @property
    def console(self) -> str:
        if self.link:
            return self.link
        return (
            f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region={self.region}"
            f"#alarmsV2:alarm/{urllib.parse.quote(self.name)}"
        )

    @property
    def incident_channel(self) -> str:
        """`#incident-YYYYMMDD-HHmm` from the state change's time (UTC)."""
        try:
            when = datetime.fromisoformat(self.time.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            when = datetime.now(UTC)
        return f"#incident-{when:%Y%m%d-%H%M}"


def _text(value: Any, field: str, *, limit: int = 4000) -> str:
    if not isinstance(value, str) or not value:
        raise Malformed(f"{field} is missing or not a string")
    return value[:limit]


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _environment(name: str) -> str:
    """`clever-better-prod-daily-loss-P0` -> `prod`; `?` for a name of another shape."""
    return name.split("-")[2] if name.startswith("clever-better-") and name.count("-") >= 3 else "?"


def parse(body: object, *, fallback_id: str = "") -> Alarm:
    """An SQS body (an SNS notification, or a CloudWatch alarm message itself) as an Alarm."""
    if not isinstance(body, str):
        raise Malformed("the body is not a string")
    try:
        envelope = json.loads(body)
    except ValueError as error:
        raise Malformed(f"not JSON: {error}") from None
    if not isinstance(envelope, dict):
        raise Malformed("not a JSON object")
    topic = ""
    message: Any = envelope
    if envelope.get("Type") == "Notification":
        topic = _string(envelope.get("TopicArn"))
        try:
            message = json.loads(_text(envelope.get("Message"), "Message", limit=262_144))
        except ValueError as error:
            raise Malformed(f"Message is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise Malformed("the alarm message is not a JSON object")
    if "detail-type" in message:
        return _event(message, topic=topic, message_id=_string(envelope.get("MessageId")) or fallback_id)
    name = _text(message.get("AlarmName"), "AlarmName", limit=255)
    state = _text(message.get("NewStateValue"), "NewStateValue", limit=32)
    if state not in STATES:
        raise Malformed(f"NewStateValue {state!r} is not one of {', '.join(STATES)}")
    arn = _string(message.get("AlarmArn"))
    parts = arn.split(":")
    region = _region(parts[3] if len(parts) > 3 else "")
    by_name, by_topic = SEVERITY_IN_NAME.search(name), SEVERITY_IN_TOPIC.search(topic)
    severity = by_name.group(1) if by_name else by_topic.group(1).upper() if by_topic else UNKNOWN_SEVERITY
    links = dict(LINK.findall(_string(message.get("AlarmDescription"))))
    environment = _environment(name)
    return Alarm(
        message_id=_string(envelope.get("MessageId")) or fallback_id,
        name=name,
        severity=severity,
        state=state,
        reason=_string(message.get("NewStateReason"))[:1000],
        time=_string(message.get("StateChangeTime"))[:64],
        region=region,
        arn=arn,
        environment=environment,
        dashboard=links.get("Dashboard"),
        runbook=links.get("Runbook"),
    )


def _region(value: Any) -> str:
    region = _string(value)
    return region if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region) else "us-east-1"


def _event(message: Mapping[str, Any], *, topic: str, message_id: str) -> Alarm:
    """An EventBridge event the audit stack routes (a GuardDuty finding, a Config rule turning
    NON_COMPLIANT) as an Alarm: its severity is its topic's, its link the finding or rule."""
    kind = _text(message.get("detail-type"), "detail-type", limit=128)
    detail = message.get("detail")
    if not isinstance(detail, dict):
        raise Malformed(f"{kind}: detail is missing or not an object")
    by_topic = SEVERITY_IN_TOPIC.search(topic)
    severity = by_topic.group(1).upper() if by_topic else UNKNOWN_SEVERITY
    region = _region(message.get("region"))
    home = f"https://{region}.console.aws.amazon.com"
    environment = f"account {_string(message.get('account')) or '?'}"
    when = _string(message.get("time"))[:64]
    if kind == "GuardDuty Finding":
        finding = _text(detail.get("type"), "detail.type", limit=200)
        finding_id = _string(detail.get("id"))
        score = detail.get("severity")
        return Alarm(
            message_id=message_id,
            name=f"guardduty {finding}",
            severity=severity,
            state="ALARM",
            reason=(
                f"{_string(detail.get('title'))} (GuardDuty severity {score}). "
                f"{_string(detail.get('description'))}"
            )[:1000],
            time=_string(detail.get("updatedAt"))[:64] or when,
            region=region,
            arn=_string(detail.get("arn")) or finding_id,
            environment=environment,
            dashboard=None,
            runbook=None,
            link=f"{home}/guardduty/home?region={region}#/findings?fId={urllib.parse.quote(finding_id)}",
        )
    if kind == "Config Rules Compliance Change":
        rule = _text(detail.get("configRuleName"), "detail.configRuleName", limit=128)
        result = detail.get("newEvaluationResult")
        compliance = _string(result.get("complianceType")) if isinstance(result, dict) else ""
        resource = f"{_string(detail.get('resourceType'))} {_string(detail.get('resourceId'))}".strip()
        return Alarm(
            message_id=message_id,
            name=f"config {rule}",
            severity=severity,
            state="ALARM" if compliance == "NON_COMPLIANT" else "OK",
            reason=f"{resource or 'a resource'} is {compliance or 'of unknown compliance'} with {rule}"[
                :1000
            ],
            time=when,
            region=region,
            arn=f"{_string(detail.get('configRuleARN')) or rule}#{resource}",
            environment=environment,
            dashboard=None,
            runbook=None,
            link=f"{home}/config/home?region={region}#/rules/details?configRuleName={urllib.parse.quote(rule)}",
        )
    raise Malformed(f"detail-type {kind!r} is not one this router reads")


# --- requests ------------------------------------------------------------------------------------


def post(url: str, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> int:
    """POST `payload` as JSON; Transient or Permanent on failure. Never logs the URL (a webhook
    URL is a credential)."""
    data = json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        if error.code == 429 or error.code >= 500:
            raise Transient(f"HTTP {error.code}", _retry_after(error.headers.get("Retry-After"))) from None
        raise Permanent(f"HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
        raise Transient(type(error).__name__) from None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def with_retries(
    send: Callable[[], object],
    *,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Call `send` until it succeeds; a Transient is retried with exponential backoff and full
    jitter (or the Retry-After asked for) while another attempt fits before `deadline`. Returns
    the attempts made; re-raises the last failure."""
    attempt = 0
    while True:
        attempt += 1
        try:
            send()
            return attempt
        except Transient as error:
            delay = error.retry_after
            if delay is None:
                delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * jitter()
            if clock() + delay + REQUEST_TIMEOUT > deadline:
                raise
            sleep(delay)


# --- destinations ---------------------------------------------------------------------------------


def pagerduty(alarm: Alarm, routing_key: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger" if alarm.state == "ALARM" else "resolve",
        # One incident per alarm: a repeat or a retry updates it, OK resolves it.
        "dedup_key": alarm.arn or alarm.name,
    }
    if alarm.state == "ALARM":
        event["payload"] = {
            "summary": f"{alarm.severity} {alarm.name}: {alarm.reason}"[:1024],
            "source": alarm.arn or alarm.name,
            "severity": PAGERDUTY_SEVERITY[alarm.severity],
            "component": alarm.environment,
            "custom_details": {
                "reason": alarm.reason,
                "runbook": alarm.runbook,
                "dashboard": alarm.dashboard,
            },
        }
        if alarm.time:
            event["payload"]["timestamp"] = alarm.time
        event["links"] = [
            {"href": href, "text": text}
            for href, text in (
                (alarm.console, "Alarm"),
                (alarm.dashboard, "Dashboard"),
                (alarm.runbook, "Runbook"),
            )
            if href
        ]
    return event


def opsgenie(alarm: Alarm) -> tuple[str, dict[str, Any]]:
    """(URL, body): create on ALARM, close by alias on OK."""
    if alarm.state != "ALARM":
        alias = urllib.parse.quote(alarm.name, safe="")
        return f"{OPSGENIE_URL}/{alias}/close?identifierType=alias", {"source": "clever-better alarm router"}
    return OPSGENIE_URL, {
        "message": f"{alarm.severity} {alarm.name}"[:130],
        "alias": alarm.name,
        "description": f"{alarm.reason}\nRunbook: {alarm.runbook}\nDashboard: {alarm.dashboard}"[:15000],
        "priority": OPSGENIE_PRIORITY[alarm.severity],
        "tags": [alarm.severity, alarm.environment],
    }


def slack(alarm: Alarm) -> dict[str, Any]:
    links = " · ".join(
        f"<{href}|{text}>"
        for href, text in (
            (alarm.console, "Alarm"),
            (alarm.dashboard, "Dashboard"),
            (alarm.runbook, "Runbook"),
        )
        if href
    )
    lines = [
        f"*{alarm.severity} {alarm.state}* `{alarm.name}` ({alarm.environment})",
        alarm.reason,
        f"At {alarm.time or 'an unknown time'} · {links}",
    ]
    if alarm.state == "ALARM" and alarm.severity in PAGING:
        lines.append(
            f"Open {alarm.incident_channel} and post updates every 30 minutes. "
            f"Escalation: {ESCALATION[alarm.severity]}."
        )
    return {"text": "\n".join(line for line in lines if line)}


# --- settings, secret, idempotency --------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    secret_id: str
    pager: str  # pagerduty, opsgenie
    pages: bool
    table: str

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        pager = environ.get("PAGER", "pagerduty")
        if pager not in ("pagerduty", "opsgenie"):
            raise RuntimeError(f"PAGER={pager!r}: expected pagerduty or opsgenie")
        return cls(
            secret_id=environ["SECRET_ID"],
            pager=pager,
            pages=environ.get("PAGES", "true") == "true",
            table=environ["IDEMPOTENCY_TABLE"],
        )


class Store(Protocol):
    def done(self, key: str) -> bool: ...
    def mark(self, key: str) -> None: ...


class DynamoStore:
    """Which (message, destination) pairs were delivered, each expiring after a day (TTL)."""

    def __init__(self, table: str) -> None:
        import boto3

        self.table = table
        self.client = boto3.client("dynamodb")

    def done(self, key: str) -> bool:
        item = self.client.get_item(TableName=self.table, Key={"id": {"S": key}}, ConsistentRead=True)
        return "Item" in item

    def mark(self, key: str) -> None:
        expires = int(time.time()) + IDEMPOTENCY_SECONDS
        self.client.put_item(TableName=self.table, Item={"id": {"S": key}, "expires": {"N": str(expires)}})


_secret: dict[str, Any] | None = None


def secret(secret_id: str) -> dict[str, Any]:
    """The integration keys and webhooks, read once per container."""
    global _secret
    if _secret is None:
        import boto3

        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
        loaded = json.loads(value)
        if not isinstance(loaded, dict):
            raise RuntimeError(f"{secret_id} is not a JSON object")
        _secret = loaded
    return _secret


# --- routing ----------------------------------------------------------------------------------------


def _log(level: int, event: str, **fields: Any) -> None:
    logger.log(level, json.dumps({"event": event, **fields}, default=str))


def deliveries(alarm: Alarm, settings: Settings, keys: Mapping[str, Any]) -> dict[str, Callable[[], object]]:
    """Each destination of `alarm`, by name, as a call that sends it."""
    sends: dict[str, Callable[[], object]] = {}
    if alarm.severity in PAGING and settings.pages and alarm.state != "INSUFFICIENT_DATA":
        if settings.pager == "pagerduty":
            event = pagerduty(alarm, str(keys.get("pagerduty_routing_key", "")))
            sends["pagerduty"] = lambda: post(PAGERDUTY_URL, event)
        else:
            url, body = opsgenie(alarm)
            header = {"Authorization": f"GenieKey {keys.get('opsgenie_api_key', '')}"}
            sends["opsgenie"] = lambda: post(url, body, header)
    webhook = (keys.get("slack_webhooks") or {}).get(alarm.severity)
    if webhook:
        message = slack(alarm)
        sends["slack"] = lambda: post(str(webhook), message)
    else:
        _log(logging.ERROR, "no-slack-webhook", alarm=alarm.name, severity=alarm.severity)
    return sends


def route(
    alarm: Alarm, *, settings: Settings, keys: Mapping[str, Any], store: Store, deadline: float
) -> list[str]:
    """Deliver `alarm` to each destination not yet done; the names of those that failed."""
    failed = []
    for destination, send in deliveries(alarm, settings, keys).items():
        key = f"{alarm.message_id}#{destination}"
        if store.done(key):
            _log(logging.INFO, "duplicate", alarm=alarm.name, destination=destination)
            continue
        try:
            attempts = with_retries(send, deadline=deadline)
        except (Transient, Permanent) as error:
            failed.append(destination)
            _log(logging.ERROR, "undelivered", alarm=alarm.name, destination=destination, error=str(error))
            continue
        store.mark(key)
        _log(logging.INFO, "delivered", alarm=alarm.name, destination=destination, attempts=attempts)
    return failed


def handle(
    event: Mapping[str, Any], *, settings: Settings, keys: Mapping[str, Any], store: Store, deadline: float
) -> dict[str, list[dict[str, str]]]:
    """An SQS batch: the SQS partial batch response naming the records to deliver again."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise Malformed("not an SQS event: no Records")
    failures = []
    for index, record in enumerate(records):
        item = record.get("messageId") if isinstance(record, Mapping) else None
        item = item if isinstance(item, str) and item else f"record-{index}"
        try:
            alarm = parse(record.get("body") if isinstance(record, Mapping) else None, fallback_id=item)
        except Malformed as error:
            _log(logging.ERROR, "malformed", message_id=item, error=str(error))
            failures.append(item)
            continue
        if route(alarm, settings=settings, keys=keys, store=store, deadline=deadline):
            failures.append(item)
    return {"batchItemFailures": [{"itemIdentifier": item} for item in failures]}


# --- reminders -------------------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(UTC)


def _moment(alarm: Mapping[str, Any]) -> datetime | None:
    """When the alarm last changed state (ALARM since then), as boto3 returns it."""
    value = alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp")
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def reminder(name: str, severity: str, since: datetime, now: datetime, region: str) -> dict[str, Any]:
    minutes = int((now - since).total_seconds() // 60)
    alarm = Alarm(
        message_id="",
        name=name,
        severity=severity,
        state="ALARM",
        reason="",
        time=since.isoformat(),
        region=region,
        arn="",
        environment=_environment(name),
        dashboard=None,
        runbook=None,
    )
    return {
        "text": (
            f"*Reminder: {severity} still in ALARM* `{name}` ({alarm.environment}) for "
            f"{minutes // 60} h {minutes % 60:02d} min, since {since:%Y-%m-%d %H:%M} UTC "
            f"· <{alarm.console}|Alarm>\n"
            f"Post the 30-minute update in {alarm.incident_channel}. Escalation: {ESCALATION[severity]}."
        )
    }


def remind(
    *,
    cloudwatch: Any,
    prefix: str,
    region: str,
    keys: Mapping[str, Any],
    store: Store,
    now: datetime,
    deadline: float,
) -> dict[str, list[str]]:
    """One Slack reminder per 30 minutes a P0 or P1 alarm of `prefix` stays in ALARM (the runbook's
    update cadence), until it resolves. Each is recorded by (alarm, since, count), so a run that
    repeats posts nothing twice, and one that failed is made up by the next run."""
    reminded, failed = [], []
    pages = cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=prefix, StateValue="ALARM", AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    for page in pages:
        for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
            name = _string(alarm.get("AlarmName"))
            match = SEVERITY_IN_NAME.search(name)
            since = _moment(alarm)
            # The filter asked for ALARM already; checked again, as a reminder must never be wrong.
            if alarm.get("StateValue") != "ALARM" or match is None or match.group(1) not in PAGING:
                continue
            if since is None:
                continue
            count = int((now - since).total_seconds() // REMIND_EVERY)
            if count < 1:
                continue
            key = f"reminder#{name}#{since.isoformat()}#{count}"
            webhook = (keys.get("slack_webhooks") or {}).get(match.group(1))
            if store.done(key):
                continue
            if not webhook:
                _log(logging.ERROR, "no-slack-webhook", alarm=name, severity=match.group(1))
                failed.append(name)
                continue
            message = reminder(name, match.group(1), since, now, region)
            try:
                with_retries(functools.partial(post, str(webhook), message), deadline=deadline)
            except (Transient, Permanent) as error:
                _log(logging.ERROR, "reminder-undelivered", alarm=name, error=str(error))
                failed.append(name)
                continue
            store.mark(key)
            reminded.append(name)
            _log(logging.INFO, "reminded", alarm=name, count=count)
    return {"reminded": reminded, "failed": failed}


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """An SQS batch of alarm messages, or the reminder schedule's `{"action": "remind"}`."""
    settings = Settings.from_environment(os.environ)
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS
    keys = secret(settings.secret_id)
    store = DynamoStore(settings.table)
    if isinstance(event, Mapping) and event.get("action") == REMIND_ACTION:
        import boto3

        region = os.environ.get("AWS_REGION", "us-east-1")
        return remind(
            cloudwatch=boto3.client("cloudwatch"),
            prefix=os.environ["ALARM_PREFIX"],
            region=region,
            keys=keys,
            store=store,
            now=now(),
            deadline=deadline,
        )
    return handle(event, settings=settings, keys=keys, store=store, deadline=deadline)
