"""The Betfair key rotation's four steps against moto, with a local HTTP stub for Betfair's login."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from moto import mock_aws

from lambdas.betfair_rotation import handler as rotation
from tests.support import offline_aws

NAME = "clever-better/prod/betfair"
OLD = {"app_key": "old-key", "username": "trader", "password": "pw"}
NEW = {"app_key": "new-key", "username": "trader", "password": "pw"}
# Secrets Manager client request tokens are UUIDs (32 to 64 characters).
T1, T2, T3 = (f"{n}" * 8 + "-1111-2222-3333-444444444444" for n in "123")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    offline_aws(monkeypatch, "us-east-1")
    monkeypatch.delenv("BETFAIR_LOGIN_URL", raising=False)
    with mock_aws():
        sm = boto3.client("secretsmanager")
        sns = boto3.client("sns")
        sqs = boto3.client("sqs")
        topic = sns.create_topic(Name="p2")["TopicArn"]
        queue = sqs.create_queue(QueueName="p2")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        monkeypatch.setenv("REMINDER_TOPIC_ARN", topic)
        arn = sm.create_secret(Name=NAME, SecretString=json.dumps(OLD))["ARN"]
        # As `aws secretsmanager rotate-secret` leaves it: rotation on, schedule recorded.
        from moto.secretsmanager.models import secretsmanager_backends

        secret = secretsmanager_backends["123456789012"]["us-east-1"].secrets[arn]
        secret.rotation_enabled = True
        secret.rotation_requested = True
        yield {"sm": sm, "sqs": sqs, "queue": queue, "arn": arn}


def _run(step: str, token: str) -> None:
    rotation.handler({"SecretId": NAME, "ClientRequestToken": token, "Step": step})


def _rotate(token: str) -> None:
    for step in rotation.STEPS:
        _run(step, token)


def _store_operator_key(sm: Any, value: dict[str, str]) -> None:
    """What `make betfair-key-store` does."""
    sm.put_secret_value(
        SecretId=NAME, SecretString=json.dumps(value), VersionStages=[rotation.OPERATOR_STAGE]
    )


def _current(sm: Any) -> dict[str, str]:
    # By stage, explicitly: moto 5.2.5's default lookup does not follow a moved AWSCURRENT.
    return json.loads(sm.get_secret_value(SecretId=NAME, VersionStage="AWSCURRENT")["SecretString"])


def test_without_new_key_current_is_untouched_and_p2_reminder_sent(aws: dict[str, Any]) -> None:
    sm = aws["sm"]
    with pytest.raises(rotation.RotationPending, match="no new Betfair key stored yet"):
        _run("createSecret", T1)
    assert _current(sm) == OLD
    stages = sm.describe_secret(SecretId=NAME)["VersionIdsToStages"]
    assert not any("AWSPENDING" in s for s in stages.values())
    tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=NAME)["Tags"]}
    assert tags[rotation.PENDING_TAG].startswith("awaiting-new-key-since-")
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"])["Messages"]
    body = json.loads(json.loads(messages[0]["Body"])["Message"])
    assert body["severity"] == "P2" and body["secret"] == NAME
    assert "make betfair-key-store" in body["action"]


def test_operator_key_completes_rotation_and_keeps_backup(aws: dict[str, Any]) -> None:
    sm = aws["sm"]
    with pytest.raises(rotation.RotationPending):
        _run("createSecret", T1)
    _store_operator_key(sm, NEW)
    assert _current(sm) == OLD, "storing a key alone changes nothing"
    _rotate(T2)
    assert _current(sm) == NEW
    previous = json.loads(sm.get_secret_value(SecretId=NAME, VersionStage="AWSPREVIOUS")["SecretString"])
    assert previous == OLD  # the runbook's backup key
    metadata = sm.describe_secret(SecretId=NAME)
    assert not any(rotation.OPERATOR_STAGE in s for s in metadata["VersionIdsToStages"].values())
    assert rotation.PENDING_TAG not in {t["Key"] for t in metadata.get("Tags", [])}


def test_steps_are_idempotent(aws: dict[str, Any]) -> None:
    sm = aws["sm"]
    _store_operator_key(sm, NEW)
    _run("createSecret", T1)
    _run("createSecret", T1)  # Secrets Manager retries a step after a time-out
    _run("setSecret", T1)
    _run("testSecret", T1)
    _run("finishSecret", T1)
    _run("finishSecret", T1)
    assert _current(sm) == NEW


def test_same_key_again_is_not_a_rotation(aws: dict[str, Any]) -> None:
    _store_operator_key(aws["sm"], OLD)
    with pytest.raises(rotation.RotationPending):
        _run("createSecret", T1)


def test_incomplete_pending_key_fails_test_step(aws: dict[str, Any]) -> None:
    sm = aws["sm"]
    _store_operator_key(sm, {"app_key": "new-key", "username": "", "password": "pw"})
    _run("createSecret", T1)
    with pytest.raises(rotation.RotationError, match="lack username"):
        _run("testSecret", T1)
    assert _current(sm) == OLD


@pytest.mark.parametrize(
    "event, message",
    [
        (
            {"SecretId": NAME, "Step": "createSecret"},
            "malformed rotation event, missing 'ClientRequestToken'",
        ),
        ({"SecretId": NAME, "ClientRequestToken": "t", "Step": "dance"}, "unknown rotation step 'dance'"),
        (None, "malformed rotation event"),
    ],
)
def test_malformed_events_fail_clearly(aws: dict[str, Any], event: Any, message: str) -> None:
    with pytest.raises(rotation.RotationError, match=message):
        rotation.handler(event)
    assert _current(aws["sm"]) == OLD


def test_later_steps_need_a_pending_version(aws: dict[str, Any]) -> None:
    with pytest.raises(rotation.RotationError, match="is not AWSPENDING"):
        _run("finishSecret", T3)
    assert _current(aws["sm"]) == OLD


def test_rotation_must_be_enabled(aws: dict[str, Any]) -> None:
    aws["sm"].create_secret(Name="other", SecretString=json.dumps(OLD))
    with pytest.raises(rotation.RotationError, match="rotation is not enabled"):
        rotation.handler({"SecretId": "other", "ClientRequestToken": "t", "Step": "createSecret"})


class _Betfair(BaseHTTPRequestHandler):
    """Betfair's login endpoint: SUCCESS for new-key, an error otherwise; /slow never answers in time."""

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = parse_qs(self.rfile.read(length).decode())
        if self.path == "/slow":
            threading.Event().wait(2)
        if self.path == "/broken":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>not json</html>")
            return
        ok = self.headers["X-Application"] == "new-key" and form.get("username") == ["trader"]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(
            json.dumps(
                {"status": "SUCCESS" if ok else "FAIL", "error": None if ok else "INVALID_APP_KEY"}
            ).encode()
        )

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def betfair() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Betfair)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_login_with_pending_key(aws: dict[str, Any], betfair: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BETFAIR_LOGIN_URL", f"{betfair}/api/login")
    _store_operator_key(aws["sm"], NEW)
    _rotate(T1)
    assert _current(aws["sm"]) == NEW


@pytest.mark.parametrize(
    "path, key, message",
    [
        ("/api/login", "wrong-key", "INVALID_APP_KEY"),
        ("/broken", "new-key", "login with the pending key failed"),
        ("/slow", "new-key", "login with the pending key failed"),
    ],
)
def test_login_failures_keep_current(
    aws: dict[str, Any], betfair: str, monkeypatch: pytest.MonkeyPatch, path: str, key: str, message: str
) -> None:
    monkeypatch.setenv("BETFAIR_LOGIN_URL", f"{betfair}{path}")
    monkeypatch.setattr(rotation, "LOGIN_TIMEOUT_SECONDS", 0.5)
    _store_operator_key(aws["sm"], {**NEW, "app_key": key})
    _run("createSecret", T1)
    with pytest.raises(rotation.RotationError, match=message):
        _run("testSecret", T1)
    assert _current(aws["sm"]) == OLD


# --- Secrets Manager's configuration test (the schedule's creation) ----------------------------

# What the secrets stack creates before any operator stores a key (components/security/secrets.py).
PLACEHOLDER = {"app_key": "", "username": "", "password": "GeneratedPassword123"}
T4 = "4" * 8 + "-1111-2222-3333-444444444444"


def _lambda_plays_rotation(
    monkeypatch: pytest.MonkeyPatch, *, run: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    """A rotation function in moto whose invocations run our handler (moto's own invoke needs
    Docker), or only record the event (`run=False`); returns its ARN and the events Secrets
    Manager sent it."""
    import io
    import zipfile

    from moto.awslambda.models import LambdaBackend

    events: list[dict[str, Any]] = []

    def invoke(
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
    ) -> str:
        events.append(json.loads(body))
        if run:
            rotation.handler(events[-1])
        return "null"

    monkeypatch.setattr(LambdaBackend, "invoke", invoke)
    role = boto3.client("iam").create_role(
        RoleName="rotation",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context): pass\n")
    function = boto3.client("lambda").create_function(
        FunctionName="clever-better-prod-betfair-rotation",
        Runtime="python3.14",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
    )
    return str(function["FunctionArn"]), events


def _nothing_happened(aws: dict[str, Any], name: str, value: dict[str, str]) -> None:
    """AWSCURRENT unchanged, no pending tag, no P2 reminder."""
    current = aws["sm"].get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"]
    assert json.loads(current) == value
    tags = aws["sm"].describe_secret(SecretId=name).get("Tags", [])
    assert rotation.PENDING_TAG not in {t["Key"] for t in tags}
    assert "Messages" not in aws["sqs"].receive_message(QueueUrl=aws["queue"], WaitTimeSeconds=0)


def test_schedule_creation_passes_on_the_placeholder(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CloudFormation creates the RotationSchedule with RotateImmediatelyOnUpdate: false, i.e.
    RotateSecret(RotateImmediately=false): Secrets Manager "tests the rotation configuration by
    running the testSecret step" on an AWSPENDING version it makes (moto copies the current
    value into it). With only the placeholder stored, that test must pass."""
    name = "clever-better/dev/betfair"
    aws["sm"].create_secret(Name=name, SecretString=json.dumps(PLACEHOLDER))
    function, events = _lambda_plays_rotation(monkeypatch)
    aws["sm"].rotate_secret(
        SecretId=name,
        RotationLambdaARN=function,
        RotationRules={"AutomaticallyAfterDays": 180},
        RotateImmediately=False,
    )
    (event,) = events
    assert event == {
        "Step": "testSecret",
        "SecretId": name,
        "ClientRequestToken": event["ClientRequestToken"],
    }
    _nothing_happened(aws, name, PLACEHOLDER)


@pytest.mark.parametrize("current", [PLACEHOLDER, OLD], ids=["placeholder", "operator-key"])
def test_configuration_test_event_passes_without_checking_a_key(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, current: dict[str, str]
) -> None:
    """The event exactly as the Secrets Manager User Guide documents it (Step, SecretId as the
    ARN, ClientRequestToken, RotationToken), for the configuration test: AWSPENDING holds the
    current value. Nothing is checked, not even Betfair's login (it would be refused here)."""
    monkeypatch.setenv("BETFAIR_LOGIN_URL", "http://127.0.0.1:9/api/login")  # nothing listens
    sm = aws["sm"]
    sm.put_secret_value(SecretId=NAME, SecretString=json.dumps(current), VersionStages=["AWSCURRENT"])
    sm.put_secret_value(
        SecretId=NAME, ClientRequestToken=T4, SecretString=json.dumps(current), VersionStages=["AWSPENDING"]
    )
    rotation.handler(
        {
            "Step": "testSecret",
            "SecretId": aws["arn"],
            "ClientRequestToken": T4,
            "RotationToken": "0b2dc7c3-0f5b-4c1e-9c1b-2a0b6c8e1d11",
        }
    )
    _nothing_happened(aws, NAME, current)
    # And the configuration test's version is never promoted, were finishSecret ever called.
    if current == PLACEHOLDER:
        with pytest.raises(rotation.RotationError, match="lack app_key, username"):
            _run("finishSecret", T4)
        _nothing_happened(aws, NAME, current)


def test_pending_version_without_a_value_is_a_test_and_never_promoted(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should Secrets Manager's test version hold no value (as a rotation's does before
    createSecret), the test still passes, and finishSecret refuses to promote it."""
    sm = aws["sm"]
    function, events = _lambda_plays_rotation(monkeypatch, run=False)  # AWSPENDING stays empty
    sm.rotate_secret(SecretId=NAME, RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 180})
    token = events[0]["ClientRequestToken"]
    _run("testSecret", token)
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        _run("finishSecret", token)
    assert _current(sm) == OLD
