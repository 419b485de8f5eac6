"""The alarm router (lambdas/alarm_router) against a local HTTP stub standing in for PagerDuty,
Opsgenie and Slack, with moto for SNS, SQS, Secrets Manager and DynamoDB: what each provider
receives, retries and their limits, one destination failing without blocking another, duplicates
never posted twice, malformed input always reported, and no secret in any log line."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from lambdas.alarm_router import handler as router
from tests.support import http_stub, offline_aws

ROUTING_KEY = "R0UT1NGKEY0000000000000000000000"
GENIE_KEY = "00000000-aaaa-bbbb-cccc-genie0secret"
ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:clever-better-prod-daily-loss-P0"
DESCRIPTION = (
    "P0 Daily loss above $1000: < -1000 USD. First check: open positions. Dashboard: "
    "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/"
    "clever-better-prod-main Runbook: https://github.com/clever-better/infrastructure/blob/main/docs/"
    "RUNBOOK.md#incident-response"
)


def alarm_message(name: str = "clever-better-prod-daily-loss-P0", state: str = "ALARM", **extra: Any) -> str:
    return json.dumps(
        {
            "AlarmName": name,
            "AlarmDescription": DESCRIPTION,
            "AWSAccountId": "123456789012",
            "NewStateValue": state,
            "NewStateReason": "Threshold Crossed: 1 datapoint [-1200.0] was less than the threshold.",
            "StateChangeTime": "2026-12-02T03:15:42.123+0000",
            "Region": "US East (N. Virginia)",
            "AlarmArn": ARN.replace("clever-better-prod-daily-loss-P0", name),
            **extra,
        }
    )


def sns_body(message: str, topic: str = "clever-better-prod-p0", message_id: str = "sns-1") -> str:
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": f"arn:aws:sns:us-east-1:123456789012:{topic}",
            "Message": message,
        }
    )


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {"Records": [{"messageId": f"sqs-{i}", "body": body} for i, body in enumerate(bodies)]}


# --- the stub providers ----------------------------------------------------------------------------


@dataclass
class Stub:
    url: str
    # path prefix -> statuses to answer in turn (the last repeats); "hang" sleeps past the time-out
    script: dict[str, list[Any]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)

    def answer(self, path: str) -> Any:
        for prefix, answers in self.script.items():
            if path.startswith(prefix):
                return answers.pop(0) if len(answers) > 1 else answers[0]
        return 202

    def posted(self, prefix: str) -> list[Any]:
        return [body for path, _, body in self.requests if path.startswith(prefix)]


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub(url="")

    def respond(path: str, headers: dict[str, str], body: Any) -> Any:
        state.requests.append((path, headers, body))
        return state.answer(path)

    with http_stub(respond, hang_status=202) as url:
        state.url = url
        yield state


@pytest.fixture
def wired(stub: Stub, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto with the alerting secret and the idempotency table; providers at the stub."""
    offline_aws(monkeypatch, "us-east-1")
    monkeypatch.setattr(router, "PAGERDUTY_URL", f"{stub.url}/pagerduty/v2/enqueue")
    monkeypatch.setattr(router, "OPSGENIE_URL", f"{stub.url}/opsgenie/v2/alerts")
    monkeypatch.setattr(router, "REQUEST_TIMEOUT", 0.3)
    monkeypatch.setattr(router, "BACKOFF_BASE", 0.001)
    monkeypatch.setattr(router, "_secret", None)
    keys = {
        "pagerduty_routing_key": ROUTING_KEY,
        "opsgenie_api_key": GENIE_KEY,
        "slack_webhooks": {s: f"{stub.url}/slack/{s}/T0SECRET/B0SECRET/X0SECRET" for s in router.SEVERITIES},
    }
    with mock_aws():
        boto3.client("secretsmanager").create_secret(
            Name="clever-better/prod/alerting", SecretString=json.dumps(keys)
        )
        boto3.client("dynamodb").create_table(
            TableName="clever-better-prod-alarm-deliveries",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        monkeypatch.setenv("SECRET_ID", "clever-better/prod/alerting")
        monkeypatch.setenv("IDEMPOTENCY_TABLE", "clever-better-prod-alarm-deliveries")
        monkeypatch.setenv("PAGER", "pagerduty")
        monkeypatch.setenv("PAGES", "true")
        yield keys


class Context:
    def __init__(self, seconds: float = 10.0) -> None:
        self.end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.end - time.monotonic()) * 1000)


def run(*bodies: str, seconds: float = 10.0) -> list[str]:
    """The handler on an SQS batch of `bodies`: the message ids it reports failed."""
    result = router.handler(sqs_event(*bodies), Context(seconds))
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


# --- what each provider receives ------------------------------------------------------------------


def test_a_p0_pages_pagerduty_and_posts_to_its_slack_channel(wired: dict[str, Any], stub: Stub) -> None:
    assert run(sns_body(alarm_message())) == []
    (event,) = stub.posted("/pagerduty/")
    assert event["routing_key"] == ROUTING_KEY
    assert (event["event_action"], event["dedup_key"]) == ("trigger", ARN)
    assert event["payload"]["severity"] == "critical"
    assert event["payload"]["summary"].startswith("P0 clever-better-prod-daily-loss-P0: Threshold Crossed")
    assert event["payload"]["timestamp"] == "2026-12-02T03:15:42.123+0000"
    assert [link["text"] for link in event["links"]] == ["Alarm", "Dashboard", "Runbook"]
    (message,) = stub.posted("/slack/P0/")
    text = message["text"]
    assert text.startswith("*P0 ALARM* `clever-better-prod-daily-loss-P0` (prod)")
    assert "Open #incident-20261202-0315 and post updates every 30 minutes." in text
    assert "on-call -> team lead after 30 minutes -> engineering manager after 1 hour" in text
    assert (
        "<https://github.com/clever-better/infrastructure/blob/main/docs/RUNBOOK.md#incident-response|Runbook>"
        in text
    )
    assert "#alarmsV2:alarm/clever-better-prod-daily-loss-P0|Alarm>" in text


def test_ok_resolves_the_same_incident(wired: dict[str, Any], stub: Stub) -> None:
    assert run(sns_body(alarm_message(state="OK"), message_id="sns-ok")) == []
    (event,) = stub.posted("/pagerduty/")
    assert event == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": ARN}
    (message,) = stub.posted("/slack/P0/")
    assert message["text"].startswith("*P0 OK*") and "Open #incident-" not in message["text"]


def test_p1_pages_as_error_and_p2_p3_only_post(wired: dict[str, Any], stub: Stub) -> None:
    bodies = [
        sns_body(alarm_message("clever-better-prod-error-rate-P1"), "clever-better-prod-p1", "a"),
        sns_body(alarm_message("clever-better-prod-error-rate-P2"), "clever-better-prod-p2", "b"),
        sns_body(alarm_message("clever-better-prod-error-rate-P3"), "clever-better-prod-p3", "c"),
    ]
    assert run(*bodies) == []
    assert [e["payload"]["severity"] for e in stub.posted("/pagerduty/")] == ["error"]
    assert [len(stub.posted(f"/slack/{s}/")) for s in ("P1", "P2", "P3")] == [1, 1, 1]
    assert "Open #incident-" not in stub.posted("/slack/P2/")[0]["text"]


def test_an_unknown_severity_is_routed_as_p1(wired: dict[str, Any], stub: Stub) -> None:
    assert run(sns_body(alarm_message("someone-elses-alarm"), topic="elsewhere")) == []
    assert [e["payload"]["severity"] for e in stub.posted("/pagerduty/")] == ["error"]
    assert len(stub.posted("/slack/P1/")) == 1


def test_dev_never_pages(wired: dict[str, Any], stub: Stub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGES", "false")
    assert run(sns_body(alarm_message("clever-better-dev-daily-loss-P0"))) == []
    assert stub.posted("/pagerduty/") == []
    assert len(stub.posted("/slack/P0/")) == 1


def test_opsgenie_creates_by_alias_and_closes_on_ok(
    wired: dict[str, Any], stub: Stub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGER", "opsgenie")
    assert (
        run(sns_body(alarm_message(), message_id="1"), sns_body(alarm_message(state="OK"), message_id="2"))
        == []
    )
    created, closed = [
        (path, headers, body) for path, headers, body in stub.requests if path.startswith("/opsgenie")
    ]
    assert created[0] == "/opsgenie/v2/alerts"
    assert created[1]["Authorization"] == f"GenieKey {GENIE_KEY}"
    assert (created[2]["alias"], created[2]["priority"]) == ("clever-better-prod-daily-loss-P0", "P1")
    assert closed[0] == "/opsgenie/v2/alerts/clever-better-prod-daily-loss-P0/close?identifierType=alias"


# --- never lose an alarm ---------------------------------------------------------------------------


def test_429_is_retried_after_what_it_asks(wired: dict[str, Any], stub: Stub) -> None:
    stub.script["/pagerduty/"] = [(429, {"Retry-After": "0"}), (500, {}), 202]
    assert run(sns_body(alarm_message())) == []
    assert len(stub.posted("/pagerduty/")) == 3


def test_slack_down_does_not_stop_the_page_and_the_retry_posts_once(
    wired: dict[str, Any], stub: Stub
) -> None:
    stub.script["/slack/"] = [500]
    body = sns_body(alarm_message())
    assert run(body, seconds=3.0) == ["sqs-0"]  # SQS delivers it again
    assert len(stub.posted("/pagerduty/")) == 1
    slack_attempts = len(stub.posted("/slack/"))
    assert slack_attempts >= 2
    stub.script["/slack/"] = [200]
    # The redelivery: PagerDuty already took it (recorded), Slack now does.
    assert run(body) == []
    assert len(stub.posted("/pagerduty/")) == 1
    assert len(stub.posted("/slack/")) == slack_attempts + 1
    # A duplicate after that (SNS and SQS are at-least-once) posts nothing.
    assert run(body) == []
    assert len(stub.posted("/slack/")) == slack_attempts + 1


def test_a_refusal_is_not_retried_and_is_reported(wired: dict[str, Any], stub: Stub) -> None:
    stub.script["/pagerduty/"] = [400]
    assert run(sns_body(alarm_message())) == ["sqs-0"]
    assert len(stub.posted("/pagerduty/")) == 1
    assert len(stub.posted("/slack/")) == 1


def test_a_provider_that_hangs_is_a_failure_within_the_time_budget(wired: dict[str, Any], stub: Stub) -> None:
    stub.script["/pagerduty/"] = ["hang"]
    started = time.monotonic()
    assert run(sns_body(alarm_message()), seconds=3.5) == ["sqs-0"]
    assert time.monotonic() - started < 3.5
    assert len(stub.posted("/slack/")) == 1


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[]",
        json.dumps({"Type": "Notification", "Message": "{truncated"}),
        json.dumps({"Type": "Notification", "Message": json.dumps({"AlarmName": "x"})}),
        alarm_message(state="EXPLODED"),
        json.dumps({"AlarmName": 42, "NewStateValue": "ALARM"}),
    ],
    ids=["empty", "text", "list", "truncated", "no-state", "bad-state", "name-not-text"],
)
def test_malformed_messages_are_reported_never_dropped(
    wired: dict[str, Any], stub: Stub, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        assert run(body) == ["sqs-0"]
    assert stub.requests == []
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if '"malformed"' in r.getMessage()]
    assert line["message_id"] == "sqs-0" and line["error"]


def test_a_batch_that_is_not_sqs_fails_the_invocation(wired: dict[str, Any]) -> None:
    with pytest.raises(router.Malformed, match="not an SQS event"):
        router.handler({"detail-type": "something"}, Context())


def test_no_secret_reaches_a_log_line(
    wired: dict[str, Any], stub: Stub, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub.script["/slack/"] = [500]
    stub.script["/pagerduty/"] = [400]
    # The function's level (botocore's DEBUG lines would echo API bodies; Lambda never runs there).
    assert logging.getLogger().level == logging.INFO
    with caplog.at_level(logging.INFO):
        run(sns_body(alarm_message()), seconds=2.5)
        monkeypatch.setenv("PAGER", "opsgenie")
        run(sns_body(alarm_message(), message_id="again"), seconds=2.5)
    logged = caplog.text
    assert '"undelivered"' in logged
    for secret in (ROUTING_KEY, GENIE_KEY, "T0SECRET", "X0SECRET"):
        assert secret not in logged


def test_through_sns_and_sqs_as_aws_delivers_it(wired: dict[str, Any], stub: Stub) -> None:
    """The envelope as SNS puts it on an SQS queue (moto), not one written by hand."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="clever-better-prod-p0")["TopicArn"]
    queue = sqs.create_queue(QueueName="clever-better-prod-alarms-p0")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=topic, Message=alarm_message())
    (received,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = {"Records": [{"messageId": received["MessageId"], "body": received["Body"]}]}
    assert router.handler(event, Context())["batchItemFailures"] == []
    assert stub.posted("/pagerduty/")[0]["dedup_key"] == ARN


# --- retries, without a network --------------------------------------------------------------------


def test_backoff_grows_is_jittered_and_stops_before_the_deadline() -> None:
    slept: list[float] = []
    now = [0.0]

    def fail() -> None:
        raise router.Transient("HTTP 503")

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with pytest.raises(router.Transient):
        router.with_retries(fail, deadline=30.0, sleep=sleep, jitter=lambda: 1.0, clock=lambda: now[0])
    assert slept[:4] == [0.4, 0.8, 1.6, 3.2]
    assert max(slept) <= router.BACKOFF_CAP
    assert now[0] + router.REQUEST_TIMEOUT <= 30.0


# --- whatever arrives ------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
ALARM_KEYS = (
    "AlarmName",
    "NewStateValue",
    "AlarmArn",
    "AlarmDescription",
    "NewStateReason",
    "StateChangeTime",
)
ALARMISH = st.fixed_dictionaries(
    {},
    optional={
        "AlarmName": st.text(max_size=300)
        | st.sampled_from(["clever-better-prod-x-P0", "a-P9", "-P3"])
        | JSON,
        "NewStateValue": st.sampled_from([*router.STATES, "", "alarm"]) | JSON,
        "AlarmArn": st.text(max_size=80) | JSON,
        "AlarmDescription": st.text(max_size=200) | JSON,
        "NewStateReason": st.text(max_size=200) | JSON,
        "StateChangeTime": st.text(max_size=40) | st.just("2026-13-45T99:99:99Z") | JSON,
    },
)
BODY = (
    st.text(max_size=200)
    | JSON.map(json.dumps)
    | ALARMISH.map(json.dumps)
    | ALARMISH.map(lambda a: sns_body(json.dumps(a), topic="t-p2"))
    | st.binary(max_size=50).map(lambda b: b.decode("latin-1"))
)
RECORD = st.fixed_dictionaries({"messageId": st.text(min_size=1, max_size=8), "body": BODY}) | JSON


class MemoryStore:
    def __init__(self) -> None:
        self.keys: set[str] = set()

    def done(self, key: str) -> bool:
        return key in self.keys

    def mark(self, key: str) -> None:
        self.keys.add(key)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(RECORD, max_size=5))
def test_any_batch_ends_delivered_or_reported(records: list[Any]) -> None:
    """No exception escapes for any SQS batch, and each record is either delivered to every one of
    its destinations or named in the failures (then SQS redelivers it, and after its receive limit
    the dead-letter queue takes it)."""
    sent: list[str] = []

    def post(url: str, payload: Any, headers: Any = None) -> int:
        sent.append(url)
        return 202

    keys = {
        "pagerduty_routing_key": "k",
        "slack_webhooks": {s: f"https://hooks/{s}" for s in router.SEVERITIES},
    }
    options = router.Settings(secret_id="s", pager="pagerduty", pages=True, table="t")
    original = router.post
    router.post = post  # type: ignore[assignment]
    try:
        result = router.handle(
            {"Records": records},
            settings=options,
            keys=keys,
            store=MemoryStore(),
            deadline=time.monotonic() + 5,
        )
    finally:
        router.post = original  # type: ignore[assignment]
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    readable: dict[str, str] = {}  # SQS id -> the alarm's message id
    malformed: set[str] = set()
    for index, record in enumerate(records):
        item = record.get("messageId") if isinstance(record, dict) else None
        item = item if isinstance(item, str) and item else f"record-{index}"
        try:
            alarm = router.parse(record.get("body") if isinstance(record, dict) else None, fallback_id=item)
        except router.Malformed:
            malformed.add(item)
            continue
        readable[item] = alarm.message_id
    assert malformed <= failed
    # Every provider answered 202: a readable record is delivered, never reported.
    assert failed == malformed
    # Slack has a channel for every severity: at least one post per distinct alarm message.
    assert len(sent) >= len(set(readable.values()))


# --- reminders while a P0/P1 stays in ALARM -------------------------------------------------------


def _alarm(cloudwatch: Any, name: str, state: str = "ALARM") -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="CleverBetter",
        MetricName="DailyPnL",
        Statistic="Minimum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=-1000,
        ComparisonOperator="LessThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def remind_at(minutes: float) -> dict[str, Any]:
    """The handler on the reminder schedule's event, `minutes` after the alarms changed state."""
    later = datetime.now(UTC) + timedelta(minutes=minutes)
    with patch.object(router, "now", return_value=later):
        result: dict[str, Any] = router.handler({"action": "remind"}, Context())
    return result


def test_a_p0_or_p1_still_in_alarm_is_reminded_every_30_minutes_until_it_resolves(
    wired: dict[str, Any], stub: Stub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALARM_PREFIX", "clever-better-prod-")
    cloudwatch = boto3.client("cloudwatch")
    for name in ("clever-better-prod-daily-loss-P0", "clever-better-prod-error-rate-P1"):
        _alarm(cloudwatch, name)
    _alarm(cloudwatch, "clever-better-prod-cache-hit-ratio-P2")  # not paging: no reminder
    _alarm(cloudwatch, "clever-better-prod-memory-P1", state="OK")  # resolved: none
    _alarm(cloudwatch, "clever-better-staging-daily-loss-P0")  # another environment's
    assert remind_at(29) == {"reminded": [], "failed": []}
    assert stub.requests == []
    first = remind_at(31)
    assert sorted(first["reminded"]) == [
        "clever-better-prod-daily-loss-P0",
        "clever-better-prod-error-rate-P1",
    ]
    (p0,) = stub.posted("/slack/P0/")
    (p1,) = stub.posted("/slack/P1/")
    assert p0["text"].startswith(
        "*Reminder: P0 still in ALARM* `clever-better-prod-daily-loss-P0` (prod) for 0 h 31 min, since "
    )
    assert "Post the 30-minute update in #incident-" in p0["text"]
    assert (
        "Escalation: on-call -> team lead after 30 minutes -> engineering manager after 1 hour." in p0["text"]
    )
    assert "Escalation: on-call -> team lead after 30 minutes." in p1["text"]
    # Five minutes later (the next run): nothing new; at an hour, the second reminder.
    assert remind_at(36) == {"reminded": [], "failed": []}
    assert len(stub.posted("/slack/")) == 2
    assert sorted(remind_at(61)["reminded"]) == sorted(first["reminded"])
    assert len(stub.posted("/slack/P0/")) == 2
    # Resolved: reminders stop.
    cloudwatch.set_alarm_state(
        AlarmName="clever-better-prod-daily-loss-P0", StateValue="OK", StateReason="ok"
    )
    assert remind_at(95)["reminded"] == ["clever-better-prod-error-rate-P1"]
    assert not stub.posted("/pagerduty/")  # reminders post; they never page again


def test_a_reminder_slack_refused_is_made_up_by_the_next_run(
    wired: dict[str, Any], stub: Stub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALARM_PREFIX", "clever-better-prod-")
    _alarm(boto3.client("cloudwatch"), "clever-better-prod-daily-loss-P0")
    stub.script["/slack/"] = [400, 200]  # refused once (not retried), then taken
    failed = remind_at(31)
    assert failed == {"reminded": [], "failed": ["clever-better-prod-daily-loss-P0"]}
    stub.script["/slack/"] = [200]
    assert remind_at(36)["reminded"] == ["clever-better-prod-daily-loss-P0"]
    assert remind_at(41)["reminded"] == []


# --- security events (the audit stack's EventBridge rules) ----------------------------------------

FINDING_ARN = "arn:aws:guardduty:us-east-1:123456789012:detector/d1/finding/f1"


def guardduty_event(severity: float = 8.0) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": "e-1",
            "detail-type": "GuardDuty Finding",
            "source": "aws.guardduty",
            "account": "123456789012",
            "time": "2026-12-02T03:20:00Z",
            "region": "us-east-1",
            "detail": {
                "id": "f1",
                "arn": FINDING_ARN,
                "type": "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
                "severity": severity,
                "title": "Credentials for the EC2 instance role used from an external IP address.",
                "description": "An API was called with task credentials from 198.51.100.7.",
                "updatedAt": "2026-12-02T03:19:00.000Z",
            },
        }
    )


def config_event(compliance: str = "NON_COMPLIANT") -> str:
    return json.dumps(
        {
            "detail-type": "Config Rules Compliance Change",
            "source": "aws.config",
            "account": "123456789012",
            "time": "2026-12-02T04:00:00Z",
            "region": "us-east-1",
            "detail": {
                "configRuleName": "clever-better-s3-buckets-encrypted",
                "configRuleARN": "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-abc",
                "resourceType": "AWS::S3::Bucket",
                "resourceId": "some-bucket",
                "newEvaluationResult": {"complianceType": compliance},
            },
        }
    )


def test_a_high_guardduty_finding_pages_as_p0_and_links_the_finding(
    wired: dict[str, Any], stub: Stub
) -> None:
    assert run(sns_body(guardduty_event(), "clever-better-prod-p0", "gd-1")) == []
    (event,) = stub.posted("/pagerduty/")
    # One incident per finding: GuardDuty's updates of the same finding never open a second.
    assert (event["event_action"], event["dedup_key"]) == ("trigger", FINDING_ARN)
    assert event["payload"]["severity"] == "critical"
    assert event["payload"]["summary"].startswith(
        "P0 guardduty UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS: Credentials for"
    )
    assert event["payload"]["component"] == "account 123456789012"
    assert event["links"] == [
        {
            "href": "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?fId=f1",
            "text": "Alarm",
        }
    ]
    (message,) = stub.posted("/slack/P0/")
    assert (
        "(GuardDuty severity 8.0). An API was called with task credentials from 198.51.100.7."
        in message["text"]
    )
    assert "Open #incident-20261202-0319" in message["text"]


def test_a_medium_finding_only_posts_as_p2(wired: dict[str, Any], stub: Stub) -> None:
    assert run(sns_body(guardduty_event(5.0), "clever-better-prod-p2", "gd-2")) == []
    assert stub.posted("/pagerduty/") == []
    (message,) = stub.posted("/slack/P2/")
    assert message["text"].startswith("*P2 ALARM* `guardduty UnauthorizedAccess:")


def test_a_config_rule_turning_noncompliant_posts_as_p3(wired: dict[str, Any], stub: Stub) -> None:
    assert run(sns_body(config_event(), "clever-better-prod-p3", "cfg-1")) == []
    (message,) = stub.posted("/slack/P3/")
    assert message["text"].startswith(
        "*P3 ALARM* `config clever-better-s3-buckets-encrypted` (account 123456789012)"
    )
    assert (
        "AWS::S3::Bucket some-bucket is NON_COMPLIANT with clever-better-s3-buckets-encrypted"
        in message["text"]
    )
    assert "#/rules/details?configRuleName=clever-better-s3-buckets-encrypted|Alarm>" in message["text"]


def test_an_event_of_another_kind_or_without_detail_goes_to_the_dead_letter_queue(
    wired: dict[str, Any], stub: Stub
) -> None:
    other = json.dumps({"detail-type": "EC2 Instance State-change Notification", "detail": {}})
    broken = json.dumps({"detail-type": "GuardDuty Finding", "detail": "no"})
    assert run(sns_body(other), sns_body(broken)) == ["sqs-0", "sqs-1"]
    assert stub.requests == []
