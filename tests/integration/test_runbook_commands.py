"""Every operator command the README and docs/RUNBOOK.md name, run end to end as an operator
types it (`make TARGET ENV=dev LOCAL=1 ...`) against the session's emulator with dev deployed,
each checked by what it prints and what it changed; no output holds a secret value.

The documented targets are read from the docs, and each must be listed below, so a newly
documented command fails here until it is run here (or said why it cannot be).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator import local
from tests.integration.conftest import Deployed
from tests.support import ROOT, hostile

pytestmark = pytest.mark.integration
DOCS = (ROOT / "README.md", ROOT / "docs" / "RUNBOOK.md")
PREFIX = "clever-better-dev"
# Operator commands run against the emulator for real (LOCAL=1, dev), by the scenario below.
EMULATED = {
    "deploy-status", "db-snapshot", "predeploy-check", "db-restore", "backup-config",
    "backup-models", "betfair-key-store", "config-update", "restart", "maintenance-on",
    "maintenance-off", "smoke-test-dev", "db-migrate", "db-migrate-dev", "db-migration-status", "approve",
    "rollback", "deploy-local", "destroy-local", "drift", "resume-trading", "daily-report",
    "db-maintenance", "train", "mlflow-ui", "model-versions",
}  # fmt: skip
# The emulator holds dev only: with LOCAL=1 these refuse in one line.
OTHER_ENVIRONMENTS = {"smoke-test-staging", "smoke-test-production"}
# Production's DR region only: the emulator holds dev, which has none, so with LOCAL=1 they refuse
# in one line (test_dr_targets_refuse_without_a_dr_region); the procedure itself runs against moto
# in tests/ops/test_dr_failover.py (failback too).
DR_REGION = {"dr-failover", "dr-failback"}
# Every documented target now deploys locally; a new one that cannot goes here, with its reason.
NOT_DEPLOYED_LOCALLY: set[str] = set()
# Run against the emulator for real by their own test: make diff-local (test_emulator_diff.py),
# make dr-drill (tests/ops/test_dr_drill.py: it builds production's shape in its own process).
EMULATED_ELSEWHERE = {"diff-local", "dr-drill"}
# The CDK CLI against AWS accounts (their local counterparts are deploy-local and diff-local; their
# dry runs are tests/ops/test_makefile.py's): with LOCAL=1 they refuse in one line instead of reaching AWS.
CDK = {
    "deploy-dev", "deploy-staging", "deploy-production", "diff-dev", "diff-staging",
    "diff-production", "bootstrap-dev", "bootstrap-staging", "bootstrap-production",
}  # fmt: skip
# The developers' and the pipeline's tooling, not operator commands (CI runs `make test`; the
# workflows' targets are held to the Makefile by tests/unit/test_workflows.py; make diff and
# make cost synthesize offline and are run by tests/unit/test_synth_diff.py and test_cost.py).
TOOLING = {
    "install", "lint", "typecheck", "test", "synth", "bench", "diagram", "format", "snapshot-update",
    "constraints", "clean", "diff", "cost", "cfn-lint", "lint-workflows", "audit", "pr-comment",
    "monitoring-docs",
}  # fmt: skip
NOT_DEV = "error: the local emulator holds only dev (make deploy-local), not {env}; use ENV=dev"


def _documented(pattern: str) -> set[str]:
    return {match for doc in DOCS for match in re.findall(pattern, doc.read_text())}


def test_every_documented_target_is_run_or_accounted_for() -> None:
    documented = _documented(r"\bmake ([a-z][a-z0-9-]*)")
    assert len(documented) >= 30
    assert documented == (
        EMULATED | EMULATED_ELSEWHERE | OTHER_ENVIRONMENTS | DR_REGION | NOT_DEPLOYED_LOCALLY | CDK | TOOLING
    )


class Session:
    """Runs make as an operator would, against the emulator only, and keeps every output."""

    def __init__(self, deployed: Deployed) -> None:
        self.state, self.port, _ = deployed
        self.outputs: list[str] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        # A tripwire: anything that bypassed LOCAL=1 would call this closed port, never AWS.
        env |= {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1", "AWS_REGION": "us-east-1"}
        env |= {"AWS_ACCESS_KEY_ID": "tripwire", "AWS_SECRET_ACCESS_KEY": "tripwire"}
        self.env = env | {"LOCAL": "1", "LOCAL_PORT": str(self.port), "LOCAL_STATE": str(self.state)}

    def run(self, argv: list[str], ok: bool | None = True, **variables: str) -> str:
        """Runs `argv`; `ok`: it must succeed, must fail, or (None) either, the state deciding."""
        result = subprocess.run(
            argv, cwd=ROOT, env=self.env | variables, capture_output=True, text=True, timeout=600, check=False
        )
        self.outputs += [result.stdout, result.stderr]
        assert ok is None or (result.returncode == 0) == ok, (argv, variables, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        return result.stdout + result.stderr

    def make(self, target: str, ok: bool = True, **variables: str) -> str:
        return self.run(["make", "-s", target], ok, **{"ENV": "dev", **variables})

    def ops(self, *argv: str, ok: bool = True) -> str:
        return self.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "ops", *argv], ok)


@pytest.fixture(scope="module")
def session(deployed: Deployed) -> Session:
    return Session(deployed)


@pytest.fixture(scope="module")
def health() -> Iterator[str]:
    """The application's /health as the smoke check expects it (the emulator runs no image)."""

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"status": "ok"}'
            self.send_response(200 if self.path == "/health" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _today() -> str:
    return datetime.now(UTC).strftime("%Y%m%d")


def _moto_transition(port: int, body: dict[str, Any], action: str) -> None:
    request = urllib.request.Request(
        f"{local.endpoint(port)}/moto-api/state-manager/{action}",
        data=json.dumps(body).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201


def _revision(clients: dict[str, Any], service: str) -> int:
    (described,) = clients["ecs"].describe_services(cluster=PREFIX, services=[service])["services"]
    return int(described["taskDefinition"].rsplit(":", 1)[1])


def _put_model(clients: dict[str, Any]) -> None:
    """A model version in the registry's bucket, as MLflow writes it."""
    s3 = clients["s3"]
    bucket = next(
        b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(f"{PREFIX}-mlflow-")
    )
    s3.put_object(Bucket=bucket, Key="models/strategy/1/model.pkl", Body=b"weights")


def _fingerprint(clients: dict[str, Any]) -> dict[str, Any]:
    """What any operator command could change in the emulator."""
    ecs, rds, s3, secrets = clients["ecs"], clients["rds"], clients["s3"], clients["secretsmanager"]
    services = ecs.describe_services(cluster=PREFIX, services=["bot", "ml-service", "data-ingestion"])
    elbv2 = clients["elbv2"]
    listeners = [
        listener["ListenerArn"]
        for balancer in elbv2.describe_load_balancers()["LoadBalancers"]
        for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    ]
    return {
        "stacks": sorted(
            (s["StackName"], s["StackStatus"], str(s.get("LastUpdatedTime")))
            for s in clients["cloudformation"].describe_stacks()["Stacks"]
        ),
        "instances": sorted(i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]),
        "snapshots": sorted(s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots()["DBSnapshots"]),
        "secrets": {
            s["Name"]: sorted(
                (v["VersionId"], tuple(v.get("VersionStages", [])))
                for v in secrets.list_secret_version_ids(SecretId=s["Name"])["Versions"]
            )
            for s in secrets.list_secrets()["SecretList"]
        },
        "services": sorted(
            (
                s["serviceName"],
                s["taskDefinition"],
                s["desiredCount"],
                len(
                    ecs.list_service_deployments(cluster=PREFIX, service=s["serviceName"])[
                        "serviceDeployments"
                    ]
                ),
            )
            for s in services["services"]
        ),
        "tasks": sorted(ecs.list_tasks(cluster=PREFIX, desiredStatus="STOPPED")["taskArns"])
        + sorted(ecs.list_tasks(cluster=PREFIX)["taskArns"]),
        "rules": sorted(
            r["RuleArn"] for arn in listeners for r in elbv2.describe_rules(ListenerArn=arn)["Rules"]
        ),
        "parameters": sorted(
            (p["Name"], p["Version"]) for p in clients["ssm"].describe_parameters().get("Parameters", [])
        ),
        "objects": {
            name: sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", []))
            for name in _buckets_but_access_log_targets(s3)  # S3 logs these reads there too
        },
        "roles": sorted(r["RoleName"] for r in clients["iam"].list_roles()["Roles"]),
    }


def _buckets_but_access_log_targets(s3: Any) -> list[str]:
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    targets = {
        s3.get_bucket_logging(Bucket=name).get("LoggingEnabled", {}).get("TargetBucket") for name in names
    }
    assert names and targets - {None}, "expected the data and audit buckets' access logging"
    return [name for name in names if name not in targets]


# Flags whose value is free text: a hostile one is only text (a reason, a folder name).
FREE_TEXT = ("predeploy-check", "backup-config")
# The emulator runs no task: nothing to port-forward to, no MLflow to ask (test_mlflow_ui_and_model_versions).
NO_TASK = ("mlflow-ui", "model-versions")


def test_every_ops_command_dry_run_with_hostile_values_changes_nothing(
    session: Session, clients: dict[str, Any], tmp_path: Path
) -> None:
    """Each `python -m ops` command, under --dry-run, once with plausible values (so it gets as
    far as the calls it would make) and once with a hostile value in every flag: nothing runs,
    nothing in the emulator changes, a refusal is one line."""
    from ops.cli import COMMANDS

    canary = tmp_path / "canary"
    canary.mkdir()
    value = hostile(canary)
    key, config = tmp_path / "key.json", tmp_path / "config.json"
    key.write_text(json.dumps({"app_key": value, "username": value, "password": "PASSWD-dry-1e5f"}))
    config.write_text(json.dumps({"note": value}))
    clients["rds"].create_db_snapshot(DBInstanceIdentifier=PREFIX, DBSnapshotIdentifier=f"{PREFIX}-dry-run")
    _put_model(clients)
    plausible = {
        "db-restore": ["--snapshot", f"{PREFIX}-dry-run"],
        "backup-config": ["--backups-dir", str(tmp_path / "backups")],
        "betfair-key-store": ["--file", str(key)],
        "config-update": ["--file", str(config)],
        "predeploy-check": ["--allow-stale-backup", value],
        "approve": ["--service", "bot"],
        "rollback": ["--service", "bot"],
        "restart": ["--service", "bot"],
        "smoke-test": ["--url", "http://127.0.0.1:9"],
        "resume-trading": ["--confirm", "dev"],
        "dr-failover": ["--primary-up", "drill"],
        "model-versions": ["--model", "win-probability"],
    }
    flags = {name: [f for f in plausible.get(name, []) if f.startswith("--")] for name in COMMANDS}
    assert len(COMMANDS) == 27
    before = _fingerprint(clients)
    local_flags = ["--env", "dev", "--local", str(session.port), "--dry-run"]
    printed = 0
    for name in COMMANDS:
        session.run(
            [
                str(ROOT / ".venv" / "bin" / "python"),
                "-m",
                "ops",
                *local_flags,
                name,
                *plausible.get(name, []),
            ],
            # dev has no approval gate; nothing answers on :9; a rollback needs a second release.
            # dev has no DR region to fail over to.
            ok={
                "approve": False,
                "smoke-test": False,
                "rollback": None,
                "dr-failover": False,
                "dr-failback": False,
                # The emulator runs no task to forward a port to, and so no MLflow to ask.
                "mlflow-ui": False,
                "model-versions": False,
            }.get(name, True),
        )
        printed += session.outputs[-2].count("[dry-run] ") + session.outputs[-2].count("+ aws ")
        hostile_args = [part for flag in flags[name] for part in (flag, value)]
        output = session.run(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "ops", *local_flags, name, *hostile_args],
            # dev has no DR region: the DR commands refuse, hostile values or none; nor has the
            # emulator a task for MLflow's.
            ok=(not hostile_args or name in FREE_TEXT) and name not in (*DR_REGION, *NO_TASK),
        )
        if hostile_args and name not in FREE_TEXT:
            assert len(output.strip().splitlines()) == 1 and output.startswith("error: "), (name, output)
    assert sorted(os.listdir(canary)) == []
    assert not (tmp_path / "backups").exists()
    assert printed >= 10
    after = _fingerprint(clients)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if "objects" in changed:  # name the buckets
        changed["objects"] = {
            b: (keys, after["objects"].get(b))
            for b, keys in before["objects"].items()
            if keys != after["objects"].get(b)
        }
    assert changed == {}
    clients["rds"].delete_db_snapshot(DBSnapshotIdentifier=f"{PREFIX}-dry-run")


def test_status_backups_and_restore(session: Session, clients: dict[str, Any], tmp_path: Path) -> None:
    status = session.make("deploy-status")
    for service in ("bot", "ml-service", "data-ingestion"):
        assert re.search(rf"^{service}: ACTIVE, desired (\d+), running \1, pending 0$", status, re.M), status
    assert status.count("  deployment: SUCCESSFUL, created ") == 2  # the blue/green services

    snapshot = f"{PREFIX}-manual-{_today()}"
    assert f"snapshot {snapshot} is available" in session.make("db-snapshot")
    assert "; ready to deploy" in session.make("predeploy-check")
    manual = clients["rds"].describe_db_snapshots(DBInstanceIdentifier=PREFIX, SnapshotType="manual")
    names = sorted(s["DBSnapshotIdentifier"] for s in manual["DBSnapshots"])
    assert names[0] == snapshot and re.fullmatch(rf"{PREFIX}-predeploy-\d{{8}}-\d{{6}}", names[1]), names

    restored = session.make("db-restore", SNAPSHOT=snapshot)
    assert f"{PREFIX}-restored is available" in restored
    (instance,) = clients["rds"].describe_db_instances(DBInstanceIdentifier=f"{PREFIX}-restored")[
        "DBInstances"
    ]
    assert instance["DBInstanceStatus"] == "available"

    written = session.make("backup-config", BACKUPS_DIR=str(tmp_path))
    path = tmp_path / f"config-{_today()}.json"
    assert f"wrote {path} (version " in written
    current = clients["secretsmanager"].get_secret_value(SecretId="clever-better/dev/config")
    assert json.loads(path.read_text())["SecretString"] == current["SecretString"]
    session.make("backup-config", ok=False, BACKUPS_DIR=str(tmp_path))  # never overwrites
    # LOCAL=1's default: the emulator's state folder, never the real backups/dev/ folder.
    assert f"wrote {session.state}/backups/config-{_today()}.json (version " in session.make("backup-config")

    s3 = clients["s3"]
    backups = next(
        b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(f"{PREFIX}-backups-")
    )
    _put_model(clients)
    copied = session.make("backup-models")
    assert f"copied 1 objects to s3://{backups}/models-{_today()}/" in copied
    assert (
        s3.get_object(Bucket=backups, Key=f"models-{_today()}/strategy/1/model.pkl")["Body"].read()
        == b"weights"
    )


def test_secrets_and_configuration(session: Session, clients: dict[str, Any], tmp_path: Path) -> None:
    key = tmp_path / "new-key.json"
    key.write_text(
        json.dumps({"app_key": "APPKEY-4f1c9e", "username": "ops-user", "password": "PASSWD-77d2ab"})
    )
    stored = session.make("betfair-key-store", FILE=str(key))
    assert "--secret-string '<redacted>'" in stored and "aws secretsmanager rotate-secret" in stored

    config = tmp_path / "new-config.json"
    config.write_text(json.dumps({"max_stake": 5, "webhook": "CONFIG-9b31e0"}))
    before = clients["ecs"].list_service_deployments(cluster=PREFIX, service="bot")["serviceDeployments"]
    updated = session.make("config-update", FILE=str(config))
    assert updated.count("--force-new-deployment") == 3
    secret = clients["secretsmanager"].get_secret_value(SecretId="clever-better/dev/config")
    assert json.loads(secret["SecretString"]) == {"max_stake": 5, "webhook": "CONFIG-9b31e0"}
    after = clients["ecs"].list_service_deployments(cluster=PREFIX, service="bot")["serviceDeployments"]
    assert len(after) == len(before) + 1  # the restart is a new deployment


def test_maintenance_smoke_and_restart(session: Session, clients: dict[str, Any], health: str) -> None:
    assert "maintenance mode is on in dev" in session.make("maintenance-on")
    assert "maintenance mode is off in dev" in session.make("maintenance-off")
    smoke = session.make("smoke-test-dev", URL=health)
    assert f"ok   GET {health}/health: 200" in smoke and "all 1 smoke checks passed" in smoke
    for target, env in (("smoke-test-staging", "staging"), ("smoke-test-production", "production")):
        assert NOT_DEV.format(env=env) in session.make(target, ok=False, URL=health).splitlines()
    session.make("restart", ok=False)  # SERVICE is required
    restarted = session.make("restart", SERVICE="bot")
    assert (
        "aws ecs update-service --cluster clever-better-dev --service bot --force-new-deployment" in restarted
    )


def test_migrations(session: Session) -> None:
    migrated = session.make("db-migrate")
    assert re.search(r"^migration task [0-9a-f-]{36} succeeded \(exit code 0\)$", migrated, re.M), migrated
    assert "| [local emulator] container bot (" in migrated  # its log, followed
    assert "succeeded (exit code 0)" in session.make("db-migrate-dev")
    for target, env in (("db-migrate-staging", "staging"), ("db-migrate-prod", "production")):
        assert NOT_DEV.format(env=env) in session.make(target, ok=False).splitlines()
    status = session.make("db-migration-status")
    assert len(re.findall(r"^[0-9a-f-]{36}  STOPPED  exit 0  ", status, re.M)) == 2, status


def test_approve_and_rollback(session: Session, clients: dict[str, Any]) -> None:
    """dev has no approval gate; a release, then a rollback to the revision before it, and a
    rollback of a deployment still in flight."""
    refused = session.make("approve", ok=False)
    gate = "/clever-better/dev/deploy/bot/approved-revision"
    assert f"error: the approval gate is off in dev: {gate} does not exist" in refused

    before = {s: _revision(clients, s) for s in ("bot", "ml-service", "data-ingestion")}
    session.make("deploy-local", IMAGE_TAG="v9.8.7")
    released = {s: _revision(clients, s) for s in before}
    assert released == {s: n + 1 for s, n in before.items()}
    rolled = session.make("rollback")
    for service in ("bot", "ml-service"):
        assert (
            f"{service}: requested: redeploy {PREFIX}-{service}:{before[service]} in place of "
            f"{PREFIX}-{service}:{released[service]}"
        ) in rolled
    session.make("rollback", SERVICE="data-ingestion")
    assert {s: _revision(clients, s) for s in before} == before  # the retained revisions ran again

    _moto_transition(
        session.port,
        {"model_name": "ecs::service-deployment", "transition": {"progression": "manual", "times": 1000}},
        "set-transition",
    )
    try:
        session.make("restart", SERVICE="bot")
        stopped = session.make("rollback", SERVICE="bot")
        assert re.search(r"^bot: requested: stop deployment \S+ with rollback$", stopped, re.M), stopped
        again = session.make("rollback", SERVICE="bot")  # no second rollback on top of the first
        assert re.search(r"^bot: deployment \S+ is already rolling back \(ROLLBACK_REQUESTED\)$", again, re.M)
    finally:
        _moto_transition(session.port, {"model_name": "ecs::service-deployment"}, "unset-transition")
    (latest,) = clients["ecs"].list_service_deployments(cluster=PREFIX, service="bot", maxResults=1)[
        "serviceDeployments"
    ]
    assert latest["status"] == "ROLLBACK_SUCCESSFUL"


DEV_UNITS = (
    "network",
    "data",
    "secrets",
    "registry",
    "services",
    "monitoring",
    "alerting",
    "audit",
    "access",
)


def test_drift(session: Session) -> None:
    """Every dev stack in sync: the emulator's drift detection compares nothing (README), so this
    runs the command end to end, not a detection."""
    dry = session.make("drift", DRY_RUN="1")
    assert dry.splitlines() == [
        *(
            f"[dry-run] aws cloudformation detect-stack-drift --stack-name {PREFIX}-{unit}"
            for unit in DEV_UNITS
        ),
        "would wait for 9 detections and print each stack's drift",
    ]
    checked = session.make("drift")
    assert [line for line in checked.splitlines() if not line.startswith("+ ")] == [
        *(f"{PREFIX}-{unit}: IN_SYNC" for unit in DEV_UNITS),
        "no drift: all 9 stacks of dev match their templates",
    ]


def test_daily_report(session: Session) -> None:
    """The runbook's daily report, end to end against the emulator: no metric has data (no log event
    becomes a metric, no alarm is evaluated), services at their desired count, no backup job."""
    report = session.make("daily-report").splitlines()
    assert report[0].startswith("Daily operations report: dev, ")
    sections = [line for line in report[1:] if line and not line.startswith("  ")]
    assert sections[0].startswith("Trading on ") and sections[1:] == [
        "Alarms in ALARM now",
        f"ECS tasks in {PREFIX}, now",
        "ERROR log lines, last 24 h",
        f"Database {PREFIX}, last 24 h",
        "Backups",
    ]
    assert "  P&L: no data" in report and "  bot: no data" in report
    assert "  CPU: peak no data, mean no data" in report
    assert f"  Backup jobs in {PREFIX}, last 24 h: none  <- check" in report
    assert not [line for line in report if "unavailable" in line]
    dry = session.make("daily-report", DRY_RUN="1").splitlines()
    assert dry[0] == "[dry-run] the report only reads; it is the same with or without DRY_RUN"
    assert dry[-1].startswith(f"  Latest restorable time of {PREFIX}: ") and len(dry) == len(report) + 1


def test_db_maintenance(session: Session) -> None:
    """The deployed function found and its invocation printed; a real run refuses in one line, as
    the emulator runs no Lambda code and holds no PostgreSQL (tests/ops/test_db_maintenance.py
    runs the invocation against a stub, tests/lambdas/test_db_maintenance.py the VACUUM itself)."""
    dry = session.make("db-maintenance", DRY_RUN="1")
    assert dry.splitlines() == [
        f"[dry-run] aws lambda invoke --function-name {PREFIX}-db-maintenance --cli-read-timeout 910 out.json"
    ]
    refused = session.make("db-maintenance", ok=False)
    # The command's one line, then make's own "Error 1".
    assert refused.splitlines()[:1] == [
        f"error: the local emulator runs no Lambda code and holds no PostgreSQL: {PREFIX}-db-maintenance "
        "is deployed but cannot run here; run make db-maintenance against AWS (DRY_RUN=1 prints the call)"
    ]


def test_train(session: Session) -> None:
    """The deployed training function found and its start printed; a real run refuses in one line,
    as the emulator runs no Lambda code (tests/ops/test_training.py runs the invocation against a
    stub, tests/lambdas/test_training.py what the function does)."""
    dry = session.make("train", DRY_RUN="1")
    assert dry.splitlines() == [
        f"[dry-run] aws lambda invoke --function-name {PREFIX}-training --cli-binary-format "
        """raw-in-base64-out --payload '{"action": "start"}' --cli-read-timeout 70 out.json"""
    ]
    refused = session.make("train", ok=False)
    assert refused.splitlines()[:1] == [
        f"error: the local emulator runs no Lambda code and starts no task: {PREFIX}-training is deployed "
        "but cannot run here; run make train against AWS (DRY_RUN=1 prints the call)"
    ]


def test_mlflow_ui_and_model_versions(session: Session) -> None:
    """The deployed mlflow service found; with no task to forward a port to, both refuse in one
    line, dry run or not (tests/ops/test_mlflow.py runs them against a stubbed task and a local
    MLflow API)."""
    refusal = (
        f"error: the local emulator runs no tasks: service mlflow is deployed in cluster {PREFIX} but "
        "has nothing to forward a port to; run make mlflow-ui against AWS (DRY_RUN=1 prints the session)"
    )
    assert session.make("mlflow-ui", ok=False).splitlines()[:1] == [refusal]
    assert session.make("mlflow-ui", ok=False, DRY_RUN="1").splitlines()[:1] == [refusal]
    assert session.make("model-versions", ok=False, MODEL="win-probability").splitlines()[:1] == [
        "error: the local emulator runs no MLflow server: list model versions against AWS, through "
        "make mlflow-ui ENV=... in another terminal"
    ]


def test_resume_trading(session: Session, clients: dict[str, Any]) -> None:
    """The runbook's "Trading halt": the alerting stack's parameter, halted as the P0 alarm's
    function writes it (the emulator runs no Lambda code), then resumed by an operator."""
    ssm = clients["ssm"]
    name = "/clever-better/dev/trading/halted"
    created = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    assert created == {"halted": False, "by": "deploy", "reason": "created with the alerting stack", "at": ""}
    assert (
        session.make("resume-trading", CONFIRM="dev")
        .splitlines()[-1]
        .startswith("trading is not halted in dev (/clever-better/dev/trading/halted = ")
    )
    halted = (
        '{"halted":true,"by":"clever-better-dev-daily-loss-P0",'
        '"reason":"Threshold Crossed: 1 datapoint [-1200.0]","at":"2026-12-02T03:15:42Z"}'
    )
    ssm.put_parameter(Name=name, Value=halted, Type="String", Overwrite=True)
    record = (
        "trading is halted in dev since 2026-12-02T03:15:42Z by clever-better-dev-daily-loss-P0: "
        "Threshold Crossed: 1 datapoint [-1200.0]"
    )
    dry = session.make("resume-trading", DRY_RUN="1")
    assert record in dry.splitlines() and "ssm put-parameter" in dry, dry
    refused = session.make("resume-trading", ok=False, CONFIRM="production")
    assert (
        "error: confirmation 'production' is not 'dev'; /clever-better/dev/trading/halted left as it is"
    ) in refused.splitlines(), refused
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == halted
    resumed = session.make("resume-trading", CONFIRM="dev")
    value = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    # Who resumed: the caller's ARN as STS names it (moto's default user here).
    caller = f"arn:aws:sts::{local.ACCOUNT}:user/moto"
    assert value == {"halted": False, "by": caller, "reason": "resumed by operator", "at": value["at"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value["at"]), value
    assert f"trading resumed in dev by {caller} ({name})" in resumed.splitlines()
    again = session.make("resume-trading", CONFIRM="dev")
    assert "nothing to resume" in again.splitlines()[-1]


def test_documented_ops_commands(session: Session) -> None:
    commands = _documented(r"python -m ops(?: ([a-zA-Z-]+))?")
    assert commands == {"", "COMMAND", "clear-failed-creates", "service-linked-roles", "smoke-test"}
    port = str(session.port)
    assert "usage: python -m ops" in session.ops("--help")
    for command in ("clear-failed-creates", "service-linked-roles", "deploy-status", "db-migrate"):
        assert f"usage: python -m ops {command}" in session.ops(command, "--help")
    assert "no stack of dev is left from a failed creation" in session.ops(
        "--env", "dev", "--local", port, "clear-failed-creates"
    )
    roles = session.ops("--env", "dev", "--local", port, "service-linked-roles")
    assert "AWSServiceRoleForECS: " in roles
    refused = session.ops("--env", "dev", "--local", port, "smoke-test", ok=False)
    assert refused.startswith("error: the local emulator runs no application: pass URL=")  # not dev's domain


def test_dr_targets_refuse_without_a_dr_region(session: Session) -> None:
    for target in sorted(DR_REGION):
        for variables in ({}, {"CONFIRM": "yes"}):
            output = session.make(target, ok=False, **variables)
            # make adds its own "make: *** [...] Error 1" line after the command's one line.
            what = {"dr-failover": "fail over to", "dr-failback": "fail back from"}[target]
            assert output.startswith(
                "error: dev has no DR region (disaster_recovery in config/environments.py); "
                f"nothing to {what}\n"
            ), (target, output)
        output = session.make(target, ok=False, ENV="production")
        assert output.startswith(NOT_DEV.format(env="production") + "\n"), (target, output)


def test_cdk_targets_refuse_local(session: Session) -> None:
    for target in sorted(CDK):
        output = session.make(target, ok=False, IMAGE_TAG="v1.2.3", DRY_RUN="1")
        assert "LOCAL=1 is for the runbook's operator commands" in output, (target, output)


def test_no_output_holds_a_secret_value(session: Session, clients: dict[str, Any]) -> None:
    """Last: the operator's files' values, and every password, key, token or secret in every
    version of every secret in the emulator (user names and host names are not secret)."""
    secrets = clients["secretsmanager"]
    values: set[str] = {"APPKEY-4f1c9e", "PASSWD-77d2ab", "CONFIG-9b31e0"}
    names = [
        s["Name"] for page in secrets.get_paginator("list_secrets").paginate() for s in page["SecretList"]
    ]
    assert len(names) >= 4
    for name in names:
        for version in secrets.list_secret_version_ids(SecretId=name)["Versions"]:
            try:
                answer = secrets.get_secret_value(SecretId=name, VersionId=version["VersionId"])
            except ClientError:  # a version without a value
                continue
            text = answer.get("SecretString", "")
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = {"secret": text}
            if isinstance(parsed, dict):
                values |= {
                    str(v)
                    for k, v in parsed.items()
                    if re.search(r"pass|key|token|secret", k, re.I) and isinstance(v, str) and len(v) >= 8
                }
    assert len(values) >= 5
    assert len(session.outputs) >= 60
    printed = "\n".join(session.outputs)
    assert [v for v in values if v in printed] == []
