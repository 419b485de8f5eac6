"""The trading halt (lambdas/trading_halt) on CloudWatch's Lambda alarm action events, with moto for
SSM and Secrets Manager and a local HTTP stub for Slack: ALARM halts with who, why and when, the
first halt's record is kept, OK changes nothing, Slack failing never undoes the halt but is
raised, and no secret reaches a log line."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.trading_halt import handler as halt
from tests.support import http_stub, offline_aws

PARAMETER = "/clever-better/prod/trading/halted"
SECRET = "clever-better/prod/alerting"
ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:clever-better-prod-daily-loss-P0"
REASON = (
    "Threshold Crossed: 1 out of the last 1 datapoints [-1200.0 (02/12/26 03:14:00)] "
    "was less than the threshold (-1000.0)."
)
# What the alerting stack creates the parameter with (the bot trades).
NOT_HALTED = '{"halted":false}'


def alarm_event(
    name: str = "clever-better-prod-daily-loss-P0",
    state: str = "ALARM",
    reason: str = REASON,
    timestamp: str | None = "2026-12-02T03:15:42.123+0000",
) -> dict[str, Any]:
    """CloudWatch's Lambda alarm action payload (User Guide, "Lambda alarm action event payload")."""
    current: dict[str, Any] = {"value": state, "reason": reason}
    if timestamp is not None:
        current["timestamp"] = timestamp
    return {
        "source": "aws.cloudwatch",
        "alarmArn": ARN.replace("clever-better-prod-daily-loss-P0", name),
        "accountId": "123456789012",
        "time": "2026-12-02T03:15:42.123+0000",
        "region": "us-east-1",
        "alarmData": {
            "alarmName": name,
            "state": current,
            "previousState": {
                "value": "OK",
                "reason": "Threshold Crossed: 1 datapoint [12.0] was not less than the threshold.",
                "timestamp": "2026-12-02T02:10:00.000+0000",
            },
            "configuration": {"description": "P0 Daily loss above $1000", "metrics": []},
        },
    }


@dataclass
class Slack:
    url: str
    # statuses to answer in turn (the last repeats); "hang" sleeps past the time-out
    script: list[Any] = field(default_factory=lambda: [200])
    posted: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def answer(self) -> Any:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@pytest.fixture
def slack() -> Iterator[Slack]:
    state = Slack(url="")

    def respond(path: str, headers: dict[str, str], body: Any) -> Any:
        state.posted.append(body)
        state.paths.append(path)
        return state.answer()

    with http_stub(respond) as url:
        state.url = url
        yield state


@pytest.fixture
def wired(slack: Slack, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto with the halt parameter (not halted) and the alerting secret; Slack at the stub."""
    offline_aws(monkeypatch, "us-east-1")
    monkeypatch.setattr(halt, "REQUEST_TIMEOUT", 0.3)
    monkeypatch.setattr(halt, "BACKOFF_BASE", 0.001)
    monkeypatch.setattr(halt, "RESERVE_SECONDS", 0.2)
    keys = {
        "pagerduty_routing_key": "R0UT1NGKEY0000000000000000000000",
        "slack_webhooks": {s: f"{slack.url}/slack/{s}/T0SECRET/B0SECRET/X0SECRET" for s in ("P0", "P1")},
    }
    with mock_aws():
        ssm = boto3.client("ssm")
        ssm.put_parameter(Name=PARAMETER, Value=NOT_HALTED, Type="String")
        boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=json.dumps(keys))
        monkeypatch.setenv("HALT_PARAMETER", PARAMETER)
        monkeypatch.setenv("SECRET_ID", SECRET)
        monkeypatch.setenv("ENVIRONMENT", "prod")
        yield {"ssm": ssm, "keys": keys}


class Context:
    def __init__(self, seconds: float = 10.0) -> None:
        self.end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.end - time.monotonic()) * 1000)


def parameter(wired: dict[str, Any]) -> str:
    return str(wired["ssm"].get_parameter(Name=PARAMETER)["Parameter"]["Value"])


def versions(wired: dict[str, Any]) -> int:
    return len(wired["ssm"].get_parameter_history(Name=PARAMETER)["Parameters"])


# --- halting -------------------------------------------------------------------------------------------


def test_alarm_halts_with_who_why_and_when(wired: dict[str, Any], slack: Slack) -> None:
    result = halt.handler(alarm_event(), Context())
    assert result == {"halted": True, "changed": True, "by": "clever-better-prod-daily-loss-P0",
                      "alarm": "clever-better-prod-daily-loss-P0"}  # fmt: skip
    assert parameter(wired) == (
        '{"halted":true,"by":"clever-better-prod-daily-loss-P0","reason":"Threshold Crossed: 1 out of the '
        'last 1 datapoints [-1200.0 (02/12/26 03:14:00)] was less than the threshold (-1000.0).",'
        '"at":"2026-12-02T03:15:42Z"}'
    )
    stored = wired["ssm"].get_parameter(Name=PARAMETER)["Parameter"]
    assert stored["Type"] == "String"
    assert slack.paths == ["/slack/P0/T0SECRET/B0SECRET/X0SECRET"]
    assert slack.posted == [
        {
            "text": ":octagonal_sign: Trading halted in production by clever-better-prod-daily-loss-P0: "
            "Threshold Crossed: 1 out of the last 1 datapoints [-1200.0 (02/12/26 03:14:00)] was less than "
            "the threshold (-1000.0). Resume with `make resume-trading ENV=production` after review."
        }
    ]


def test_a_second_alarm_keeps_the_first_halt(wired: dict[str, Any], slack: Slack) -> None:
    halt.handler(alarm_event(), Context())
    first = parameter(wired)
    result = halt.handler(
        alarm_event(
            "clever-better-prod-emergency-shutdown-P0",
            reason="Threshold Crossed: 1 datapoint [1.0] was greater than or equal to the threshold (1.0).",
            timestamp="2026-12-02T03:20:00.000+0000",
        ),
        Context(),
    )
    assert result == {"halted": True, "changed": False, "by": "clever-better-prod-daily-loss-P0",
                      "alarm": "clever-better-prod-emergency-shutdown-P0"}  # fmt: skip
    assert parameter(wired) == first
    assert versions(wired) == 2  # the stack's value, the first halt: nothing written after it
    assert len(slack.posted) == 2
    assert slack.posted[1]["text"] == (
        ":octagonal_sign: Trading halted in production by clever-better-prod-emergency-shutdown-P0: "
        "Threshold Crossed: 1 datapoint [1.0] was greater than or equal to the threshold (1.0). "
        "Already halted since 2026-12-02T03:15:42Z by clever-better-prod-daily-loss-P0; that record "
        "stands. Resume with `make resume-trading ENV=production` after review."
    )


def test_the_same_alarm_again_changes_nothing_and_posts_the_same_message(
    wired: dict[str, Any], slack: Slack
) -> None:
    """Lambda's asynchronous retry of an invocation that halted: same record, same message."""
    halt.handler(alarm_event(), Context())
    halt.handler(alarm_event(), Context())
    assert versions(wired) == 2
    assert slack.posted[0] == slack.posted[1]


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_ok_and_insufficient_data_change_nothing(wired: dict[str, Any], slack: Slack, state: str) -> None:
    assert halt.handler(alarm_event(state=state), Context()) == {
        "halted": None,
        "alarm": "clever-better-prod-daily-loss-P0",
        "state": state,
    }
    assert parameter(wired) == NOT_HALTED
    assert versions(wired) == 1
    assert slack.posted == []


def test_ok_after_a_halt_never_resumes(wired: dict[str, Any], slack: Slack) -> None:
    halt.handler(alarm_event(), Context())
    halted = parameter(wired)
    halt.handler(alarm_event(state="OK"), Context())
    assert parameter(wired) == halted
    assert len(slack.posted) == 1


def test_a_resumed_parameter_is_halted_again(wired: dict[str, Any], slack: Slack) -> None:
    """What `make resume-trading` writes is not halted: the next ALARM halts anew."""
    wired["ssm"].put_parameter(
        Name=PARAMETER,
        Value='{"halted":false,"by":"arn:aws:iam::123456789012:user/ops","reason":"resumed by operator",'
        '"at":"2026-12-02T05:00:00Z"}',
        Type="String",
        Overwrite=True,
    )
    halt.handler(alarm_event(timestamp="2026-12-02T06:00:00.000+0000"), Context())
    assert json.loads(parameter(wired))["at"] == "2026-12-02T06:00:00Z"
    assert json.loads(parameter(wired))["halted"] is True


def test_reason_is_cut_at_500_characters_and_slack_text_is_escaped(
    wired: dict[str, Any], slack: Slack
) -> None:
    halt.handler(alarm_event(reason="<b>&" + "x" * 600), Context())
    record = json.loads(parameter(wired))
    assert record["reason"] == "<b>&" + "x" * 496
    assert slack.posted[0]["text"].startswith(
        ":octagonal_sign: Trading halted in production by clever-better-prod-daily-loss-P0: &lt;b&gt;&amp;xxx"
    )


def test_no_timestamp_is_halted_now(wired: dict[str, Any], slack: Slack) -> None:
    before = time.time()
    halt.handler(alarm_event(timestamp=None) | {"time": None}, Context())
    at = json.loads(parameter(wired))["at"]
    assert at.endswith("Z")
    from datetime import datetime

    assert before - 1 <= datetime.fromisoformat(at).timestamp() <= time.time() + 1


def test_a_missing_parameter_is_created_halted(wired: dict[str, Any], slack: Slack) -> None:
    """The halt does not wait for the alerting stack: it creates the parameter (and logs that)."""
    wired["ssm"].delete_parameter(Name=PARAMETER)
    halt.handler(alarm_event(), Context())
    assert json.loads(parameter(wired))["by"] == "clever-better-prod-daily-loss-P0"


def test_an_unreadable_value_is_overwritten_with_the_halt(wired: dict[str, Any], slack: Slack) -> None:
    wired["ssm"].put_parameter(Name=PARAMETER, Value="not json", Type="String", Overwrite=True)
    halt.handler(alarm_event(), Context())
    assert json.loads(parameter(wired))["halted"] is True


@pytest.mark.parametrize(
    "event",
    [None, [], {"source": "aws.cloudwatch"}, {"alarmData": {"alarmName": "x", "state": {"value": "MAYBE"}}}],
)
def test_a_malformed_event_raises_and_changes_nothing(
    wired: dict[str, Any], slack: Slack, event: Any
) -> None:
    with pytest.raises(halt.Malformed):
        halt.handler(event, Context())
    assert parameter(wired) == NOT_HALTED and slack.posted == []


# --- Slack ---------------------------------------------------------------------------------------------


def test_429_and_5xx_are_retried(wired: dict[str, Any], slack: Slack) -> None:
    slack.script = [(429, {"Retry-After": "0"}), 503, 200]
    assert halt.handler(alarm_event(), Context())["halted"] is True
    assert len(slack.posted) == 3


def test_a_hanging_slack_is_retried_after_its_time_out(wired: dict[str, Any], slack: Slack) -> None:
    slack.script = ["hang", 200]
    assert halt.handler(alarm_event(), Context())["halted"] is True
    assert len(slack.posted) == 2


def test_slack_down_still_halts_then_raises_and_the_retry_only_posts(
    wired: dict[str, Any], slack: Slack
) -> None:
    slack.script = [500]
    started = time.monotonic()
    with pytest.raises(halt.NotNotified) as raised:
        halt.handler(alarm_event(), Context(seconds=2.0))
    assert time.monotonic() - started < 2.0  # within the invocation's time
    assert str(raised.value) == (
        "trading is halted (/clever-better/prod/trading/halted); Slack not notified: HTTP 500"
    )
    assert json.loads(parameter(wired))["halted"] is True
    attempts = len(slack.posted)
    assert attempts >= 2
    # Lambda's asynchronous retry: the halt is in place, only the message goes out.
    slack.script = [200]
    assert halt.handler(alarm_event(), Context())["changed"] is False
    assert len(slack.posted) == attempts + 1
    assert versions(wired) == 2


def test_a_refused_webhook_is_not_retried_but_raised(wired: dict[str, Any], slack: Slack) -> None:
    slack.script = [404]
    with pytest.raises(halt.NotNotified, match=r"Slack not notified: HTTP 404$"):
        halt.handler(alarm_event(), Context())
    assert len(slack.posted) == 1
    assert json.loads(parameter(wired))["halted"] is True


def test_slack_unreachable_is_raised(wired: dict[str, Any], slack: Slack) -> None:
    keys = {"slack_webhooks": {"P0": "http://127.0.0.1:9/T0SECRET/B0SECRET/X0SECRET"}}
    boto3.client("secretsmanager").put_secret_value(SecretId=SECRET, SecretString=json.dumps(keys))
    with pytest.raises(halt.NotNotified, match=r"Slack not notified: URLError$"):
        halt.handler(alarm_event(), Context(seconds=1.5))
    assert json.loads(parameter(wired))["halted"] is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"slack_webhooks": {"P1": "https://hooks.slack.com/x"}}, "the secret has no slack_webhooks.P0"),
        ("not json", "clever-better/prod/alerting unreadable (JSONDecodeError)"),
    ],
)
def test_no_webhook_still_halts_then_raises(
    wired: dict[str, Any], slack: Slack, value: Any, expected: str
) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=SECRET, SecretString=value if isinstance(value, str) else json.dumps(value)
    )
    with pytest.raises(halt.NotNotified) as raised:
        halt.handler(alarm_event(), Context())
    assert (
        str(raised.value)
        == f"trading is halted (/clever-better/prod/trading/halted); Slack not notified: {expected}"
    )
    assert json.loads(parameter(wired))["halted"] is True


# --- logs ----------------------------------------------------------------------------------------------


def test_logs_are_json_lines_without_a_secret(
    wired: dict[str, Any], slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    slack.script = [(429, {"Retry-After": "0"}), 200]
    halt.handler(alarm_event(), Context())
    halt.handler(alarm_event(state="OK"), Context())
    slack.script = [500]
    with pytest.raises(halt.NotNotified) as raised:
        halt.handler(alarm_event("clever-better-prod-emergency-shutdown-P0"), Context(seconds=1.0))
    lines = [r.getMessage() for r in caplog.records if r.name == "root"]
    events = [json.loads(line)["event"] for line in lines]
    assert events == ["halted", "slack-delivered", "no-halt", "already-halted", "slack-undelivered"]
    text = "\n".join([*lines, str(raised.value)])
    for secret in ("T0SECRET", "B0SECRET", "X0SECRET", "/slack/", slack.url, "R0UT1NGKEY"):
        assert secret not in text
