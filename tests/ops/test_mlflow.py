"""`make mlflow-ui` and `make model-versions` (ops/mlflow.py).

mlflow-ui: moto for the stack; botocore's Stubber for ECS (moto's tasks have no runtime id or
ECS Exec agent), so each request is checked against ECS's model; the AWS CLI session is
replaced and the exact argv it would get is asserted (no shell: a hostile value stays one
argument). model-versions: a local HTTP server answering as MLflow's REST API does (GET, JSON,
paginated), reached as the tunnel would be.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ops import mlflow
from ops.cli import main
from tests.support import offline_aws

CLUSTER = "clever-better-prod"
TASK = f"arn:aws:ecs:us-east-1:333333333333:task/{CLUSTER}/0123456789abcdef0123456789abcdef"
RUNTIME = "0123456789abcdef0123456789abcdef-1234567890"
TEMPLATE = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}'
SESSION = [
    "aws",
    "ssm",
    "start-session",
    "--region",
    "us-east-1",
    "--target",
    f"ecs:{CLUSTER}_0123456789abcdef0123456789abcdef_{RUNTIME}",
    "--document-name",
    "AWS-StartPortForwardingSession",
    "--parameters",
    '{"portNumber":["5000"],"localPortNumber":["5000"]}',
]


class EcsStub:
    def __init__(self) -> None:
        self.client = boto3.client("ecs", region_name="us-east-1")
        self.stubber = Stubber(self.client)

    def service(self, exists: bool = True) -> None:
        services = [{"serviceName": "mlflow", "status": "ACTIVE"}] if exists else []
        self.stubber.add_response(
            "describe_services",
            {"services": services, "failures": []},
            {"cluster": CLUSTER, "services": ["mlflow"]},
        )

    def tasks(self, *tasks: dict[str, Any]) -> None:
        arns = [t["taskArn"] for t in tasks]
        self.stubber.add_response(
            "list_tasks",
            {"taskArns": arns},
            {"cluster": CLUSTER, "serviceName": "mlflow", "desiredStatus": "RUNNING"},
        )
        if arns:
            self.stubber.add_response(
                "describe_tasks", {"tasks": list(tasks), "failures": []}, {"cluster": CLUSTER, "tasks": arns}
            )

    def clients(self, name: str, **options: Any) -> Any:
        return self.client if name == "ecs" else boto3.client(name)


def _task(*, agent: str = "RUNNING", exec_enabled: bool = True, status: str = "RUNNING") -> dict[str, Any]:
    return {
        "taskArn": TASK,
        "lastStatus": status,
        "enableExecuteCommand": exec_enabled,
        "containers": [
            {"name": "scratch-init", "runtimeId": "other"},
            {
                "name": "mlflow",
                "runtimeId": RUNTIME,
                "managedAgents": [{"name": "ExecuteCommandAgent", "lastStatus": agent}],
            },
        ],
    }


@pytest.fixture
def ecs(monkeypatch: pytest.MonkeyPatch) -> Iterator[EcsStub]:
    offline_aws(monkeypatch, "us-east-1")
    with mock_aws():
        boto3.client("cloudformation").create_stack(
            StackName="clever-better-prod-services", TemplateBody=TEMPLATE
        )
        stub = EcsStub()
        with stub.stubber:
            yield stub
            stub.stubber.assert_no_pending_responses()


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    started: list[list[str]] = []

    def run(argv: list[str], check: bool) -> SimpleNamespace:
        assert check is False
        started.append(argv)
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(mlflow, "start_session", run)
    return started


def _ui(stub: EcsStub, *flags: str) -> int:
    return main(["mlflow-ui", "--env", "production", *flags], clients=stub.clients)


def test_it_forwards_the_task_port_to_localhost(
    ecs: EcsStub, sessions: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs.service()
    ecs.tasks(_task())
    assert _ui(ecs) == 0
    assert sessions == [SESSION]
    assert capsys.readouterr().out.splitlines() == [
        "+ aws ssm start-session --region us-east-1 --target "
        f"ecs:{CLUSTER}_0123456789abcdef0123456789abcdef_{RUNTIME} --document-name "
        "AWS-StartPortForwardingSession --parameters "
        """'{"portNumber":["5000"],"localPortNumber":["5000"]}'""",
        "MLflow UI: http://localhost:5000 (Ctrl-C closes the tunnel)",
    ]


def test_a_dry_run_prints_the_session_and_opens_none(
    ecs: EcsStub, sessions: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs.service()
    ecs.tasks(_task())
    assert _ui(ecs, "--dry-run", "--port", "15000") == 0
    assert sessions == []
    (line,) = capsys.readouterr().out.splitlines()
    assert line == (
        "[dry-run] aws ssm start-session --region us-east-1 --target "
        f"ecs:{CLUSTER}_0123456789abcdef0123456789abcdef_{RUNTIME} --document-name "
        "AWS-StartPortForwardingSession --parameters "
        """'{"portNumber":["5000"],"localPortNumber":["15000"]}'"""
    )


@pytest.mark.parametrize(
    "task",
    [_task(agent="PENDING"), _task(exec_enabled=False), _task(status="PROVISIONING")],
    ids=["agent-not-running", "exec-off", "not-running"],
)
def test_no_task_to_reach_is_one_line(
    ecs: EcsStub, sessions: list[list[str]], capsys: pytest.CaptureFixture[str], task: dict[str, Any]
) -> None:
    ecs.service()
    ecs.tasks(task)
    assert _ui(ecs) == 1
    assert sessions == []
    assert capsys.readouterr().err.splitlines() == [
        f"error: no mlflow task in cluster {CLUSTER} has its ECS Exec agent running (1 running tasks); "
        f"check: aws ecs describe-services --cluster {CLUSTER} --services mlflow"
    ]


def test_a_missing_service_is_named(
    ecs: EcsStub, sessions: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs.service(exists=False)
    assert _ui(ecs) == 1
    assert capsys.readouterr().err.splitlines() == [f"error: service mlflow not found in cluster {CLUSTER}"]


def test_a_missing_stack_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    offline_aws(monkeypatch, "us-east-1")
    with mock_aws():
        assert main(["mlflow-ui", "--env", "production"], clients=boto3.client) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: stack clever-better-prod-services is not deployed in us-east-1; deploy it first: "
        "make deploy-production"
    ]


@pytest.mark.parametrize("port", ["80", "5000; rm -rf /", "65536", "$(id)"])
def test_a_hostile_or_privileged_port_is_refused(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["mlflow-ui", "--env", "production", "--port", port])
    assert exited.value.code == 2
    assert f"{port!r} is not a port from 1024 to 65535" in capsys.readouterr().err


def test_ctrl_c_closes_the_tunnel_without_a_traceback(
    ecs: EcsStub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ecs.service()
    ecs.tasks(_task())

    def interrupted(argv: list[str], check: bool) -> SimpleNamespace:
        raise KeyboardInterrupt

    monkeypatch.setattr(mlflow, "start_session", interrupted)
    assert _ui(ecs) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[-1] == "tunnel closed" and out.err == ""


def test_the_session_failing_is_one_line(
    ecs: EcsStub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ecs.service()
    ecs.tasks(_task())
    monkeypatch.setattr(mlflow, "start_session", lambda argv, check: SimpleNamespace(returncode=254))
    assert _ui(ecs) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: aws ssm start-session exited 254; it needs the Session Manager plugin and "
        "ssm:StartSession on the task (the AdminRole; ReadOnlyRole has none: MLflow takes writes)"
    ]


# --- model-versions ----------------------------------------------------------------------------


class MlflowApi(BaseHTTPRequestHandler):
    """MLflow's REST API as far as the command reads it: GET, JSON, next_page_token."""

    models: ClassVar[list[str]] = []
    versions: ClassVar[dict[str, list[dict[str, Any]]]] = {}
    seen: ClassVar[list[tuple[str, dict[str, list[str]]]]] = []
    # A page size of its own for versions (the command asks for 100), to show it follows pages.
    version_page: ClassVar[int] = 100
    broken: ClassVar[bool] = False

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        type(self).seen.append((url.path, query))
        if self.broken:
            self._answer(500, {"error_code": "INTERNAL_ERROR", "message": "database is down"})
            return
        if url.path == "/api/2.0/mlflow/registered-models/get":
            name = query["name"][0]
            if name not in self.models:
                message = f"Registered Model with name={name} not found"
                self._answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": message})
                return
            body: dict[str, Any] = {"registered_model": {"name": name}}
        elif url.path == "/api/2.0/mlflow/registered-models/search":
            # Two pages of one model each, as a small max_results would give.
            first = "page_token" not in query
            names = self.models[:1] if first else self.models[1:]
            body = {"registered_models": [{"name": n} for n in names]}
            if first and len(self.models) > 1:
                body["next_page_token"] = "page-2"
        elif url.path == "/api/2.0/mlflow/model-versions/search":
            name = query["filter"][0].removeprefix("name='").removesuffix("'")
            start = int(query.get("page_token", ["0"])[0])
            page = self.versions.get(name, [])[start : start + self.version_page]
            body = {"model_versions": page} if page else {}
            if start + self.version_page < len(self.versions.get(name, [])):
                body["next_page_token"] = str(start + self.version_page)
        else:
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"error_code": "ENDPOINT_NOT_FOUND"}')
            return
        self._answer(200, body)

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def api() -> Iterator[int]:
    MlflowApi.models = ["win-probability", "race-pace"]
    MlflowApi.versions = {
        "win-probability": [
            {
                "name": "win-probability",
                "version": "1",
                "current_stage": "Archived",
                "status": "READY",
                "creation_timestamp": 1764460800000,
                "run_id": "run-a",
            },
            {
                "name": "win-probability",
                "version": "2",
                "current_stage": "None",
                "status": "READY",
                "aliases": ["champion"],
                "creation_timestamp": 1764547200000,
                "run_id": "run-b",
            },
        ],
    }
    MlflowApi.seen = []
    MlflowApi.version_page = 100
    MlflowApi.broken = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), MlflowApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_model_versions_lists_every_model_newest_first(api: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model-versions", "--env", "production", "--port", str(api)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "MODEL                            VERSION  STAGE      STATUS               ALIASES          "
        "CREATED              RUN",
        "win-probability                        2  None       READY                champion         "
        "2025-12-01 00:00 UTC run-b",
        "win-probability                        1  Archived   READY                -                "
        "2025-11-30 00:00 UTC run-a",
        "race-pace                              -  (no versions)",
    ]
    paths = [path for path, _ in MlflowApi.seen]
    assert paths == [
        "/api/2.0/mlflow/registered-models/search",
        "/api/2.0/mlflow/registered-models/search",
        "/api/2.0/mlflow/model-versions/search",
        "/api/2.0/mlflow/model-versions/search",
    ]
    assert MlflowApi.seen[1][1]["page_token"] == ["page-2"]
    assert MlflowApi.seen[2][1] == {"filter": ["name='win-probability'"], "max_results": ["100"]}


def test_model_versions_of_one_model(api: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model-versions", "--env", "production", "--port", str(api), "--model", "race-pace"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "race-pace                              -  (no versions)"
    ]
    assert [path for path, _ in MlflowApi.seen] == [
        "/api/2.0/mlflow/registered-models/get",
        "/api/2.0/mlflow/model-versions/search",
    ]


def test_a_model_mlflow_does_not_know_is_one_line(api: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model-versions", "--env", "production", "--port", str(api), "--model", "nope"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: MLflow at http://127.0.0.1:{api} answered 404 to registered-models/get: "
        '{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Registered Model with name=nope not found"}'
    ]


def test_mlflow_failing_is_one_line(api: int, capsys: pytest.CaptureFixture[str]) -> None:
    MlflowApi.broken = True
    assert main(["model-versions", "--env", "production", "--port", str(api)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: MLflow at http://127.0.0.1:{api} answered 500 to registered-models/search: "
        '{"error_code": "INTERNAL_ERROR", "message": "database is down"}'
    ]


def test_versions_across_pages_are_ordered_numerically_and_odd_ones_last(
    api: int, capsys: pytest.CaptureFixture[str]
) -> None:
    MlflowApi.models = ["race-pace"]
    MlflowApi.versions = {
        "race-pace": [{"name": "race-pace", "version": v} for v in ("9", "10", "draft", "2", "11")]
    }
    MlflowApi.version_page = 2
    assert main(["model-versions", "--env", "production", "--port", str(api), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[dry-run] it only reads MLflow's API; it is the same with or without DRY_RUN"
    assert [line.split()[1] for line in out[2:]] == ["11", "10", "9", "2", "draft"]
    tokens = [q.get("page_token") for path, q in MlflowApi.seen if path.endswith("model-versions/search")]
    assert tokens == [None, ["2"], ["4"]]


def test_no_registered_models_says_where_it_looked(api: int, capsys: pytest.CaptureFixture[str]) -> None:
    MlflowApi.models = []
    assert main(["model-versions", "--env", "production", "--port", str(api)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"no registered models in the MLflow at http://127.0.0.1:{api}"
    ]


@pytest.mark.parametrize("model", ["x' OR name LIKE '%", "a\\b", ""])
def test_a_model_name_that_would_change_the_filter_is_refused(
    api: int, model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["model-versions", "--env", "production", "--port", str(api), "--model", model]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: model name {model!r} is not allowed: give a registered model's name"
    ]
    assert MlflowApi.seen == []


def test_no_tunnel_is_one_line_saying_how_to_open_it(capsys: pytest.CaptureFixture[str]) -> None:
    # A port nothing listens on (the fixture's server is not started here).
    server = ThreadingHTTPServer(("127.0.0.1", 0), MlflowApi)
    port = server.server_address[1]
    server.server_close()
    assert main(["model-versions", "--env", "production", "--port", str(port)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: no MLflow at http://127.0.0.1:{port} (")
    assert line.endswith("); open the tunnel first, in another terminal: make mlflow-ui ENV=...")
