"""The blue/green lifecycle hook as ECS calls it: a local HTTP stub plays the green tasks behind the
test listener, moto plays SSM (the approval parameter), and botocore's Stubber plays ECS's
DescribeServiceDeployments (moto lacks it), checking requests and answers against ECS's API model."""

from __future__ import annotations

import copy
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from lambdas.deployment_hook import handler as hook
from lambdas.deployment_hook import smoke
from tests.support import offline_aws

PARAMETER = "/clever-better/prod/deploy/bot/approved-revision"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/clever-better-prod"
SERVICE = "arn:aws:ecs:us-east-1:123456789012:service/clever-better-prod/bot"
REVISION = "arn:aws:ecs:us-east-1:123456789012:service-revision/clever-better-prod/bot/1234567890"
OTHER_REVISION = "arn:aws:ecs:us-east-1:123456789012:service-revision/clever-better-prod/bot/9999999999"
DEPLOYMENT = (
    "arn:aws:ecs:us-east-1:123456789012:service-deployment/clever-better-prod/bot/EZe5RNVLH6PPzHXINuP28"
)
USER_AGENT = "clever-better-deployment-hook"
# The POST_TEST_TRAFFIC_SHIFT payload as the ECS Developer Guide documents it ("Lambda hooks
# for Amazon ECS service deployments", Lifecycle payloads).
EVENT: dict[str, Any] = {
    "executionId": "3a0345ba-b029-404b-890d-7da2a4b266aa",
    "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
    "resourceArn": DEPLOYMENT,
    "executionDetails": {
        "serviceArn": SERVICE,
        "targetServiceRevisionArn": REVISION,
        "testTrafficWeights": {},
        "productionTrafficWeights": {},
    },
}


def _event(**extra: Any) -> dict[str, Any]:
    """A fresh copy of ECS's event, with top-level additions (hookDetails on a re-invocation)."""
    return {**copy.deepcopy(EVENT), **extra}


def _details(**changes: Any) -> dict[str, Any]:
    """The event with executionDetails changed; a value of None removes the key."""
    event = _event()
    for name, value in changes.items():
        if value is None:
            del event["executionDetails"][name]
        else:
            event["executionDetails"][name] = value
    return event


# --- the green tasks: a configurable HTTP stub ------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = ""
    delay: float = 0.0  # seconds before answering


@dataclass(frozen=True)
class Request:
    path: str
    user_agent: str | None


@dataclass
class Stub:
    url: str
    routes: dict[str, Reply] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    # Set at teardown so a delayed answer stops waiting and the server shuts down at once.
    release: threading.Event = field(default_factory=threading.Event)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


class _StubServer(HTTPServer):
    stub: Stub

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The hook hangs up on a slow answer; writing to that socket afterwards is expected.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Green(BaseHTTPRequestHandler):
    """Answers each path as the test configured it (404 for any other path)."""

    server: _StubServer

    def do_GET(self) -> None:
        stub = self.server.stub
        stub.requests.append(Request(self.path, self.headers.get("User-Agent")))
        reply = stub.routes.get(self.path, Reply(404, "not found"))
        if reply.delay:
            stub.release.wait(reply.delay)
        body = reply.body.encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the hook gave up waiting and closed the connection

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = _StubServer(("127.0.0.1", 0), _Green)
    server.stub = Stub(url=f"http://127.0.0.1:{server.server_address[1]}")
    # A short poll interval: shutdown() waits for serve_forever's next poll.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server.stub
    server.stub.release.set()
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    """A local port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- environment --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test runs inside moto: nothing here can reach a real AWS account."""
    offline_aws(monkeypatch, "us-east-1")
    with mock_aws():
        yield


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, stub: Stub, caplog: pytest.LogCaptureFixture) -> None:
    """One passing check (/health answers 200 with "ok"), no approval gate."""
    caplog.set_level(logging.INFO)
    stub.routes["/health"] = Reply(200, '{"status": "ok"}')
    monkeypatch.setenv("TEST_URL", stub.url)
    monkeypatch.setenv("CHECKS", json.dumps([{"path": "/health", "status": 200, "body_contains": "ok"}]))
    monkeypatch.setenv("TIMEOUT_SECONDS", "2")
    monkeypatch.delenv("APPROVAL_PARAMETER", raising=False)
    monkeypatch.delenv("APPROVAL_TIMEOUT_SECONDS", raising=False)


@dataclass
class Ecs:
    """What DescribeServiceDeployments says of DEPLOYMENT: the revisions it replaces (`sources`;
    none for a service's first deployment, None leaves the field out) and the one it deploys."""

    sources: list[str] | None = field(default_factory=lambda: [OTHER_REVISION])
    target: str = REVISION
    error: str | None = None  # an error code ECS answers with instead
    missing: bool = False  # ECS lists the deployment under failures
    lookups: int = 0
    # The green revision's tasks: asked for, running (the DR pilot light: 0 and 0).
    requested: int = 2
    running: int = 2

    def client(self) -> Any:
        """A real ECS client whose one call is answered here, request and answer both checked
        against ECS's API model; any other call raises."""
        client = boto3.client("ecs")
        stubber = Stubber(client)
        expected = {"serviceDeploymentArns": [DEPLOYMENT]}
        if self.error:
            stubber.add_client_error("describe_service_deployments", self.error, expected_params=expected)
        else:
            stubber.add_response("describe_service_deployments", self._answer(), expected)
        stubber.activate()
        self.lookups += 1
        return client

    def _answer(self) -> dict[str, Any]:
        if self.missing:
            return {"serviceDeployments": [], "failures": [{"arn": DEPLOYMENT, "reason": "MISSING"}]}
        tasks = {"requestedTaskCount": 2, "runningTaskCount": 2, "pendingTaskCount": 0}
        green = {
            "requestedTaskCount": self.requested,
            "runningTaskCount": self.running,
            "pendingTaskCount": 0,
        }
        deployment: dict[str, Any] = {
            "serviceDeploymentArn": DEPLOYMENT,
            "serviceArn": SERVICE,
            "clusterArn": CLUSTER,
            "targetServiceRevision": {"arn": self.target, **green},
            "status": "IN_PROGRESS",
            "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
        }
        if self.sources is not None:
            deployment["sourceServiceRevisions"] = [{"arn": arn, **tasks} for arn in self.sources]
        return {"serviceDeployments": [deployment], "failures": []}


@pytest.fixture(autouse=True)
def ecs(monkeypatch: pytest.MonkeyPatch) -> Ecs:
    """ECS through the fake above (by default a later deployment: blue serves production)."""
    fake = Ecs()
    real_client = hook._client
    monkeypatch.setattr(
        hook, "_client", lambda service: fake.client() if service == "ecs" else real_client(service)
    )
    return fake


def _checks(monkeypatch: pytest.MonkeyPatch, *checks: dict[str, Any]) -> None:
    monkeypatch.setenv("CHECKS", json.dumps(list(checks)))


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Production's approval gate, as the stack creates it: nothing approved yet (an SSM client)."""
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name=PARAMETER, Value="none", Type="String")
    monkeypatch.setenv("APPROVAL_PARAMETER", PARAMETER)
    monkeypatch.setenv("APPROVAL_TIMEOUT_SECONDS", "3600")
    return ssm


def _approve(ssm: Any, revision: str) -> None:
    """What `make approve` does."""
    ssm.put_parameter(Name=PARAMETER, Value=revision, Type="String", Overwrite=True)


def _outcomes(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The {"hookStatus", "reason"} lines the hook logged, oldest first."""
    found = []
    for record in caplog.records:
        try:
            line = json.loads(record.getMessage())
        except ValueError:
            continue
        if isinstance(line, dict) and "hookStatus" in line:
            found.append(line)
    return found


def _reason(caplog: pytest.LogCaptureFixture) -> str:
    outcomes = _outcomes(caplog)
    assert outcomes, "the hook logged no outcome"
    return str(outcomes[-1]["reason"])


# --- the smoke test -----------------------------------------------------------------------------


def test_all_checks_pass(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stub.routes["/ready"] = Reply(200, "ready")
    stub.routes["/version"] = Reply(200, "bot 1.2.3")
    _checks(
        monkeypatch,
        {"path": "/health", "status": 200, "body_contains": "ok"},
        {"path": "/ready"},
        {"path": "/version", "body_contains": "bot"},
    )
    assert hook.handler(_event()) == {"hookStatus": "SUCCEEDED"}
    assert sorted(stub.paths()) == ["/health", "/ready", "/version"]  # each exactly once
    assert {r.user_agent for r in stub.requests} == {USER_AGENT}
    assert _outcomes(caplog)[-1] == {
        "hookStatus": "SUCCEEDED",
        "reason": f"smoke test of {REVISION} passed (3 checks)",
    }


def test_trailing_slash_and_query_string(stub: Stub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_URL", stub.url + "/")
    stub.routes["/ready?deep=1"] = Reply(200, "ready")
    _checks(monkeypatch, {"path": "/ready?deep=1", "body_contains": "ready"})
    assert hook.handler(_event()) == {"hookStatus": "SUCCEEDED"}
    assert stub.paths() == ["/ready?deep=1"]


def test_server_error_fails(stub: Stub, caplog: pytest.LogCaptureFixture) -> None:
    stub.routes["/health"] = Reply(503, '{"status": "ok"}')
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    assert stub.paths() == ["/health"]
    reason = _reason(caplog)
    assert f"smoke test of {REVISION} failed" in reason
    assert "GET /health: status 503, expected 200" in reason
    assert caplog.records[-1].levelno == logging.ERROR


def test_wrong_body_fails(stub: Stub, caplog: pytest.LogCaptureFixture) -> None:
    stub.routes["/health"] = Reply(200, '{"status": "degraded"}')
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    assert "GET /health: body lacks 'ok'" in _reason(caplog)


def test_body_is_read_up_to_a_limit(stub: Stub, caplog: pytest.LogCaptureFixture) -> None:
    stub.routes["/health"] = Reply(200, "x" * smoke.MAX_BODY + "ok")
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    assert "body lacks 'ok'" in _reason(caplog)


def test_no_answer_in_time_fails(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TIMEOUT_SECONDS", "0.3")
    stub.routes["/health"] = Reply(200, "ok", delay=1.0)
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    assert "GET /health: no answer within 0.3s" in _reason(caplog)


def test_connection_refused_fails(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("TEST_URL", f"http://127.0.0.1:{_closed_port()}")
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    assert "GET /health: ConnectionRefusedError" in _reason(caplog)


def test_https_url_speaks_tls(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An https:// TEST_URL uses TLS: against the plain-HTTP stub the handshake fails."""
    monkeypatch.setenv("TEST_URL", stub.url.replace("http://", "https://"))
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    assert "GET /health: SSL" in _reason(caplog)


def test_second_check_failing_fails_and_all_checks_run(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stub.routes["/ready"] = Reply(500, "boom")
    stub.routes["/drain"] = Reply(204)
    _checks(
        monkeypatch,
        {"path": "/health", "body_contains": "ok"},
        {"path": "/ready"},
        {"path": "/drain", "status": 204},
    )
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    assert stub.paths() == ["/health", "/ready", "/drain"]
    reason = _reason(caplog)
    assert "GET /ready: status 500, expected 200" in reason
    assert "/health" not in reason and "/drain" not in reason


def test_every_failure_is_reported(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stub.routes["/health"] = Reply(502)
    _checks(monkeypatch, {"path": "/health"}, {"path": "/missing"})
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    reason = _reason(caplog)
    assert "GET /health: status 502, expected 200; GET /missing: status 404, expected 200" in reason


@pytest.mark.parametrize(
    "answer, expected",
    [(204, "SUCCEEDED"), (200, "FAILED")],
)
def test_expected_status_other_than_200(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, answer: int, expected: str
) -> None:
    stub.routes["/drain"] = Reply(answer)
    _checks(monkeypatch, {"path": "/health", "body_contains": "ok"}, {"path": "/drain", "status": 204})
    assert hook.handler(_event()) == {"hookStatus": expected}
    if expected == "FAILED":
        assert f"GET /drain: status {answer}, expected 204" in _reason(caplog)


# --- malformed events and surprises fail safe ---------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(None, id="none"),
        pytest.param([EVENT], id="list"),
        pytest.param("event", id="string"),
        pytest.param({}, id="empty"),
        pytest.param({"lifecycleStage": "POST_TEST_TRAFFIC_SHIFT"}, id="no-executionDetails"),
        pytest.param({"executionDetails": None}, id="executionDetails-null"),
        pytest.param({"executionDetails": [REVISION]}, id="executionDetails-list"),
        pytest.param(_details(targetServiceRevisionArn=None), id="no-targetServiceRevisionArn"),
        pytest.param(_details(targetServiceRevisionArn="bot/1234567890"), id="revision-not-an-arn"),
        pytest.param(_details(targetServiceRevisionArn=1234567890), id="revision-a-number"),
        pytest.param(_details(targetServiceRevisionArn=""), id="revision-empty"),
        pytest.param(_details(serviceArn=None), id="no-serviceArn"),
        pytest.param(_event(hookDetails="approvalWaitStartedAt"), id="hookDetails-string"),
        pytest.param(_event(hookDetails=[1]), id="hookDetails-list"),
        pytest.param(_event(hookDetails={hook.STARTED: "yesterday"}), id="startedAt-string"),
        pytest.param(_event(hookDetails={hook.STARTED: [1]}), id="startedAt-list"),
    ],
)
def test_malformed_events_fail_safe(stub: Stub, caplog: pytest.LogCaptureFixture, event: Any) -> None:
    assert hook.handler(event) == {"hookStatus": "FAILED"}
    assert "malformed" in _reason(caplog)
    assert stub.requests == [], "nothing is tested for an event that names no revision"


def test_malformed_wait_state_fails_even_with_the_gate(
    gate: Any, stub: Stub, caplog: pytest.LogCaptureFixture
) -> None:
    _approve(gate, REVISION)  # even an approval does not rescue a garbled state
    assert hook.handler(_event(hookDetails={hook.STARTED: "1700000000"})) == {"hookStatus": "FAILED"}
    assert (
        "malformed hook event, failing safe: hookDetails.approvalWaitStartedAt is not a past timestamp"
        in _reason(caplog)
    )
    assert stub.requests == []


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("CHECKS", None, "KeyError: 'CHECKS'"),
        ("CHECKS", "[{path: /health}", "JSONDecodeError"),
        ("CHECKS", "[]", "ValueError: CHECKS is empty"),
        ("CHECKS", '[{"path": "/health", "expect": 200}]', "TypeError"),
        ("CHECKS", '["/health"]', "TypeError"),
        ("CHECKS", '[{"path": "health"}]', "ValueError"),  # no leading slash: the port swallows it
        ("TEST_URL", None, "KeyError: 'TEST_URL'"),
        ("TIMEOUT_SECONDS", "soon", "ValueError"),
        ("APPROVAL_TIMEOUT_SECONDS", "an hour", "ValueError"),
    ],
)
def test_unexpected_errors_fail_safe(
    stub: Stub,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    variable: str,
    value: str | None,
    message: str,
) -> None:
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    reason = _reason(caplog)
    assert reason.startswith("hook error, failing safe: ")
    assert message in reason
    assert stub.requests == []


# --- the approval gate --------------------------------------------------------------------------


def test_approval_wait_then_approval(gate: Any, stub: Stub, caplog: pytest.LogCaptureFixture) -> None:
    before = time.time()
    first = hook.handler(_event())
    after = time.time()
    assert first["hookStatus"] == "IN_PROGRESS"
    assert first["callBackDelay"] == hook.CALLBACK_SECONDS
    started = first["hookDetails"][hook.STARTED]
    assert before <= started <= after
    assert set(first) == {"hookStatus", "callBackDelay", "hookDetails"}
    assert stub.paths() == ["/health"]
    assert f"waiting for approval of {REVISION}" in _reason(caplog)

    # ECS calls again with what we returned: the smoke test is not repeated, the clock not reset.
    second = hook.handler(_event(hookDetails=first["hookDetails"]))
    assert second == {
        "hookStatus": "IN_PROGRESS",
        "callBackDelay": hook.CALLBACK_SECONDS,
        "hookDetails": {hook.STARTED: started},
    }
    assert stub.paths() == ["/health"]

    _approve(gate, REVISION)
    assert hook.handler(_event(hookDetails=second["hookDetails"])) == {"hookStatus": "SUCCEEDED"}
    assert stub.paths() == ["/health"]
    assert _reason(caplog) == f"{REVISION} approved"


def test_approving_another_revision_does_not_count(gate: Any, stub: Stub) -> None:
    first = hook.handler(_event())
    assert first["hookStatus"] == "IN_PROGRESS"
    _approve(gate, OTHER_REVISION)
    again = hook.handler(_event(hookDetails=first["hookDetails"]))
    assert again["hookStatus"] == "IN_PROGRESS"
    _approve(gate, REVISION + "0")  # a prefix match is not an approval either
    assert hook.handler(_event(hookDetails=first["hookDetails"]))["hookStatus"] == "IN_PROGRESS"


def test_revision_approved_before_the_smoke_test_passes_at_once(gate: Any, stub: Stub) -> None:
    _approve(gate, REVISION)
    assert hook.handler(_event()) == {"hookStatus": "SUCCEEDED"}
    assert stub.paths() == ["/health"]


def test_approval_times_out(gate: Any, stub: Stub, caplog: pytest.LogCaptureFixture) -> None:
    state = {hook.STARTED: time.time() - 7200}
    assert hook.handler(_event(hookDetails=state)) == {"hookStatus": "FAILED"}
    assert f"{REVISION} not approved within 3600s; rolling back" in _reason(caplog)
    assert stub.requests == []


def test_approval_timeout_is_configurable(gate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVAL_TIMEOUT_SECONDS", "60")
    assert hook.handler(_event(hookDetails={hook.STARTED: time.time() - 30}))["hookStatus"] == "IN_PROGRESS"
    assert hook.handler(_event(hookDetails={hook.STARTED: time.time() - 90})) == {"hookStatus": "FAILED"}


def test_smoke_failure_fails_without_reading_the_approval(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The gate is configured but its parameter does not exist: the smoke test decides first.
    monkeypatch.setenv("APPROVAL_PARAMETER", PARAMETER)
    clients: list[str] = []
    real_client = hook._client

    def recording_client(service: str) -> Any:
        clients.append(service)
        return real_client(service)

    monkeypatch.setattr(hook, "_client", recording_client)
    stub.routes["/health"] = Reply(503)
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    # ECS only, to ask whether the green revision runs any task (it runs 2).
    assert clients == ["ecs"]
    assert "GET /health: status 503, expected 200" in _reason(caplog)


def test_missing_approval_parameter_fails_safe(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("APPROVAL_PARAMETER", PARAMETER)
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    assert "ParameterNotFound" in _reason(caplog)
    assert stub.paths() == ["/health"]


def test_empty_approval_parameter_means_no_gate(stub: Stub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVAL_PARAMETER", "")
    assert hook.handler(_event()) == {"hookStatus": "SUCCEEDED"}


def test_without_the_gate_a_passing_smoke_test_asks_ecs_nothing(stub: Stub, ecs: Ecs) -> None:
    """Dev and staging: ECS is asked only when the smoke test fails."""
    assert hook.handler(_event()) == {"hookStatus": "SUCCEEDED"}
    assert ecs.lookups == 0


# --- a service at desired count 0 (the DR region's pilot light) --------------------------------


def test_a_revision_running_no_task_has_nothing_to_smoke_test(
    stub: Stub, ecs: Ecs, caplog: pytest.LogCaptureFixture
) -> None:
    """The pilot light deploys each release at 0 tasks: its test listener has no target, so the
    smoke test cannot pass, and no task will serve what it could not test."""
    ecs.requested = ecs.running = 0
    stub.routes["/health"] = Reply(503)
    assert hook.handler(_event()) == {"hookStatus": "SUCCEEDED"}
    assert ecs.lookups == 1
    assert _reason(caplog) == f"{REVISION} runs no task (desired count 0): nothing to smoke-test"


@pytest.mark.parametrize(("requested", "running"), [(0, 1), (1, 0), (2, 2)])
def test_a_failed_smoke_test_with_any_task_fails(
    stub: Stub, ecs: Ecs, caplog: pytest.LogCaptureFixture, requested: int, running: int
) -> None:
    ecs.requested, ecs.running = requested, running
    stub.routes["/health"] = Reply(503)
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    assert "GET /health: status 503, expected 200" in _reason(caplog)


def test_a_revision_running_no_task_still_waits_for_the_gate(gate: Any, stub: Stub, ecs: Ecs) -> None:
    """Production scaled to 0: no smoke test, but a release it later scales up is still approved."""
    ecs.requested = ecs.running = 0
    stub.routes["/health"] = Reply(503)
    first = hook.handler(_event())
    assert first["hookStatus"] == "IN_PROGRESS"
    _approve(gate, REVISION)
    assert hook.handler(_event(hookDetails=first["hookDetails"])) == {"hookStatus": "SUCCEEDED"}


def test_ecs_failing_to_answer_after_a_failed_smoke_test_fails(
    stub: Stub, ecs: Ecs, caplog: pytest.LogCaptureFixture
) -> None:
    ecs.error = "AccessDeniedException"
    stub.routes["/health"] = Reply(503)
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}


# --- a service's first deployment (its creation) ----------------------------------------------


@pytest.mark.parametrize("sources", [[], None], ids=["empty", "absent"])
def test_first_deployment_passes_without_approval(
    gate: Any, stub: Stub, ecs: Ecs, caplog: pytest.LogCaptureFixture, sources: list[str] | None
) -> None:
    """Creating the service: nothing serves production and `make approve` has no deployment to
    approve, so waiting would only fail the stack. The smoke test still decides."""
    ecs.sources = sources
    assert hook.handler(_event()) == {"hookStatus": "SUCCEEDED"}
    assert stub.paths() == ["/health"]
    assert ecs.lookups == 1
    assert gate.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "none"
    assert _reason(caplog) == (
        f"smoke test of {REVISION} passed (1 checks); the service's first deployment needs no approval"
    )


def test_first_deployment_failing_the_smoke_test_fails(gate: Any, stub: Stub, ecs: Ecs) -> None:
    ecs.sources = []
    stub.routes["/health"] = Reply(503, "ok")
    assert hook.handler(_event()) == {"hookStatus": "FAILED"}
    # Asked only whether the green tasks run (they do): nothing unproven is let through.
    assert ecs.lookups == 1


def test_later_deployment_waits_until_approved(gate: Any, stub: Stub, ecs: Ecs) -> None:
    first = hook.handler(_event())
    assert first["hookStatus"] == "IN_PROGRESS"
    again = hook.handler(_event(hookDetails=first["hookDetails"]))
    assert again["hookStatus"] == "IN_PROGRESS"
    _approve(gate, REVISION)
    assert hook.handler(_event(hookDetails=again["hookDetails"])) == {"hookStatus": "SUCCEEDED"}
    assert ecs.lookups == 1, "asked once per deployment, on the first call"


@pytest.mark.parametrize(
    "change, event, message",
    [
        ({"error": "AccessDeniedException"}, _event(), "AccessDeniedException"),
        ({"error": "ServiceNotFoundException"}, _event(), "ServiceNotFoundException"),
        ({"missing": True}, _event(), f"LookupFailed: ECS did not describe {DEPLOYMENT}"),
        ({"sources": [], "target": OTHER_REVISION}, _event(), f"deploys '{OTHER_REVISION}', not {REVISION}"),
        ({"sources": []}, _event(resourceArn=None), "resourceArn is not a service deployment ARN: None"),
        ({"sources": []}, _event(resourceArn=SERVICE), "resourceArn is not a service deployment ARN"),
    ],
    ids=["access-denied", "service-not-found", "not-described", "other-revision", "no-arn", "service-arn"],
)
def test_failing_deployment_lookup_fails_safe(
    gate: Any,
    stub: Stub,
    ecs: Ecs,
    caplog: pytest.LogCaptureFixture,
    change: dict[str, Any],
    event: dict[str, Any],
    message: str,
) -> None:
    """When the hook cannot tell a first deployment, it neither waits nor lets it through."""
    for name, value in change.items():
        setattr(ecs, name, value)
    _approve(gate, REVISION)  # not even an approval rescues a deployment ECS does not vouch for
    assert hook.handler(event) == {"hookStatus": "FAILED"}
    assert message in _reason(caplog)


# --- the arithmetic, with a fixed clock ---------------------------------------------------------


def test_evaluate_with_a_fixed_clock(gate: Any, stub: Stub, caplog: pytest.LogCaptureFixture) -> None:
    settings = hook.Settings(
        test_url=stub.url,
        checks=(hook.Check("/health", body_contains="ok"),),
        timeout=1.0,
        approval_parameter=PARAMETER,
        approval_timeout=600.0,
    )
    # The first call starts the clock at `now`.
    assert hook.evaluate(_event(), settings, now=5000.0) == {
        "hookStatus": "IN_PROGRESS",
        "callBackDelay": hook.CALLBACK_SECONDS,
        "hookDetails": {hook.STARTED: 5000.0},
    }
    assert stub.paths() == ["/health"]
    state = {hook.STARTED: 1000}  # JSON may bring the time back as an integer
    waiting = hook.evaluate(_event(hookDetails=state), settings, now=1599.0)
    assert waiting == {
        "hookStatus": "IN_PROGRESS",
        "callBackDelay": hook.CALLBACK_SECONDS,
        "hookDetails": {hook.STARTED: 1000},
    }
    assert _reason(caplog).endswith("599s so far")
    # Exactly the time-out: rolled back.
    assert hook.evaluate(_event(hookDetails=state), settings, now=1600.0) == {"hookStatus": "FAILED"}
    assert _reason(caplog) == f"{REVISION} not approved within 600s; rolling back"
    assert stub.paths() == ["/health"]
    # evaluate itself raises on a malformed event; handler turns that into FAILED.
    with pytest.raises(
        hook.MalformedEvent, match=r"hookDetails\.approvalWaitStartedAt is not a past timestamp"
    ):
        hook.evaluate(_event(hookDetails={hook.STARTED: "1000"}), settings, now=1600.0)


def test_settings_defaults() -> None:
    settings = hook.Settings.from_environ(
        {"TEST_URL": "http://green.internal:8080/", "CHECKS": '[{"path": "/health", "body_contains": null}]'}
    )
    assert settings == hook.Settings(
        test_url="http://green.internal:8080",
        checks=(hook.Check("/health", 200, None),),
        timeout=5.0,
        approval_parameter=None,
        approval_timeout=3600.0,
    )


# --- packaging ----------------------------------------------------------------------------------


def test_runs_as_lambda_imports_it(stub: Stub) -> None:
    """Lambda puts the asset folder on sys.path and imports `handler` as a top-level module:
    the smoke check must come along as the top-level `smoke`, without this repository."""
    import subprocess

    from tests.support import ROOT

    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'lambdas' / 'deployment_hook')!r})\n"
        "import handler\n"
        f"result = handler.handler({EVENT!r})\n"
        "print(json.dumps([result, handler.smoke.__name__, sorted(m for m in sys.modules if m in "
        "('lambdas', 'config', 'ops'))]))\n"
    )
    # -I: no current directory or PYTHONPATH on sys.path, as in the Lambda runtime.
    done = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [{"hookStatus": "SUCCEEDED"}, "smoke", []]
    assert stub.requests == [Request("/health", USER_AGENT)]


def test_probe_via_an_address_connects_there_and_names_the_url_host(stub: Stub) -> None:
    """`make dr-failover` checks the DR load balancer before DNS points at it: the request goes
    to the address; over https the certificate is checked for the URL's host (here the stub
    speaks plain HTTP, so the TLS handshake fails, at that address)."""
    from config.model import SmokeCheck

    port = stub.url.rsplit(":", 1)[1]
    stub.routes["/health"] = Reply(200, "ok")
    check = SmokeCheck(path="/health", body_contains="ok")
    assert smoke.probe(f"http://api.clever-better.test:{port}", check, 5, address="127.0.0.1") is None
    assert stub.paths() == ["/health"]
    failure = smoke.probe(f"https://api.clever-better.test:{port}", check, 5, address="127.0.0.1")
    assert failure is not None and failure.startswith("GET /health via 127.0.0.1: SSL")
    stub.routes["/health"] = Reply(503, "down")
    assert smoke.probe(f"http://api.clever-better.test:{port}", check, 5, address="127.0.0.1") == (
        "GET /health via 127.0.0.1: status 503, expected 200"
    )
