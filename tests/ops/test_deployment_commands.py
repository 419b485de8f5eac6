"""Deployment commands against moto, plus a fake for what moto lacks (ECS service deployments
and revisions, and a migration task that stops): dry-runs print the exact calls, real runs
make them, refusals are one line and exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.cli import main
from tests.support import offline_aws

REGION = "us-east-1"
PREFIX = "clever-better-prod"
ACCOUNT = "123456789012"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{PREFIX}"
LOG_GROUP = f"/ecs/{PREFIX}/bot"
MIGRATION_FAMILY = f"{PREFIX}-migrate"


def _td(family: str, revision: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{PREFIX}-{family}:{revision}"


class Clock:
    """ctx.now and ctx.sleep: sleeping advances the clock by `step` and runs `on_sleep`."""

    def __init__(self, start: datetime, step: timedelta = timedelta(seconds=6)) -> None:
        self.time, self.step = start, step
        self.sleeps = 0
        self.on_sleep: Callable[[int], None] = lambda n: None

    def now(self) -> datetime:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.time += self.step
        self.on_sleep(self.sleeps)


class Ecs:
    """moto's ECS client plus the service-deployment APIs moto lacks, and migration tasks that stop.

    `list_service_deployments` pages one deployment at a time and omits what only
    `describe_service_deployments` has, as ECS does."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.deployments: list[dict[str, Any]] = []
        self.revisions: dict[str, dict[str, Any]] = {}
        self.stopped: list[dict[str, Any]] = []
        self.started: list[str] = []
        self.stop_after = 3  # describe_tasks polls before a started task stops
        self.exit_code: int | None = 0
        self.stopped_reason = "Essential container in task exited"
        self._polls: dict[str, int] = {}
        self._finished: dict[str, int | None] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def deployment(
        self, service: str, status: str, source: str | None, target: str, *, minutes_ago: int, stage: str = ""
    ) -> str:
        number = len(self.deployments) + 1
        revisions = []
        for task_definition in (source, target):
            if task_definition is None:
                continue
            arn = (
                f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{PREFIX}/{service}/{number}{len(revisions)}"
            )
            self.revisions[arn] = {"serviceRevisionArn": arn, "taskDefinition": task_definition}
            revisions.append(arn)
        arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{PREFIX}/{service}/deployment-{number}"
        self.deployments.append(
            {
                "serviceDeploymentArn": arn,
                "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{PREFIX}/{service}",
                "clusterArn": CLUSTER_ARN,
                "status": status,
                "createdAt": datetime.now(UTC) - timedelta(minutes=minutes_ago),
                "sourceServiceRevisions": [{"arn": a} for a in revisions[:-1]],
                "targetServiceRevision": {"arn": revisions[-1]},
                **({"lifecycleStage": stage} if stage else {}),
            }
        )
        return arn

    def list_service_deployments(
        self, *, cluster: str, service: str, status: list[str] | None = None, nextToken: str = "0"
    ) -> dict[str, Any]:
        assert cluster == PREFIX
        matching = [
            d
            for d in self.deployments
            if d["serviceArn"].endswith(f"/{service}") and (not status or d["status"] in status)
        ]
        index = int(nextToken)
        page = [
            {
                "serviceDeploymentArn": d["serviceDeploymentArn"],
                "serviceArn": d["serviceArn"],
                "clusterArn": d["clusterArn"],
                "status": d["status"],
                "createdAt": d["createdAt"],
                "targetServiceRevisionArn": d["targetServiceRevision"]["arn"],
            }
            for d in matching[index : index + 1]
        ]
        more = {"nextToken": str(index + 1)} if index + 1 < len(matching) else {}
        return {"serviceDeployments": page, **more}

    def describe_service_deployments(self, *, serviceDeploymentArns: list[str]) -> dict[str, Any]:
        found = [d for d in self.deployments if d["serviceDeploymentArn"] in serviceDeploymentArns]
        return {"serviceDeployments": found, "failures": []}

    def describe_service_revisions(self, *, serviceRevisionArns: list[str]) -> dict[str, Any]:
        return {"serviceRevisions": [self.revisions[a] for a in serviceRevisionArns], "failures": []}

    def update_service(self, **params: Any) -> dict[str, Any]:
        """As in production: a task definition change or a forced deployment starts a deployment,
        which the approval gate holds IN_PROGRESS."""
        (before,) = self.real.describe_services(cluster=params["cluster"], services=[params["service"]])[
            "services"
        ]
        result: dict[str, Any] = self.real.update_service(**params)
        after = result["service"]["taskDefinition"]
        if params.get("forceNewDeployment") or after != before["taskDefinition"]:
            self.deployment(params["service"], "IN_PROGRESS", before["taskDefinition"], after, minutes_ago=0)
        return result

    def stop_service_deployment(self, *, serviceDeploymentArn: str, stopType: str) -> dict[str, Any]:
        self.stopped.append({"serviceDeploymentArn": serviceDeploymentArn, "stopType": stopType})
        return {"serviceDeploymentArn": serviceDeploymentArn}

    def run_task(self, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.real.run_task(**params)
        self.started += [t["taskArn"] for t in result["tasks"]]
        return result

    def describe_tasks(self, *, cluster: str, tasks: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = self.real.describe_tasks(cluster=cluster, tasks=tasks)
        for task in result["tasks"]:
            arn = task["taskArn"]
            if arn not in self._finished:
                self._polls[arn] = self._polls.get(arn, 0) + 1
                if self._polls[arn] >= self.stop_after:
                    self.real.stop_task(cluster=cluster, task=arn, reason=self.stopped_reason)
                    self._finished[arn] = self.exit_code
            # moto describes a task's first container only: describe each of its definition's.
            definition = self.real.describe_task_definition(taskDefinition=task["taskDefinitionArn"])
            task["containers"] = [
                {"name": c["name"]} for c in definition["taskDefinition"]["containerDefinitions"]
            ]
            for container in task["containers"]:
                if self._finished.get(arn) is not None:
                    # The container that prepares /tmp has exited 0 long before.
                    container["exitCode"] = 0 if container["name"] == "scratch-init" else self._finished[arn]
            if arn in self._finished:
                task.update(lastStatus="STOPPED", stoppedReason=self.stopped_reason)
            else:
                task["lastStatus"] = "RUNNING"
        return result


@pytest.fixture(scope="module")
def clients() -> dict[str, Any]:
    """Clients made once for the module (moto intercepts any client once `mock_aws` is active):
    making clients is most of a fixture's cost."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    names = ("ec2", "rds", "ssm", "elbv2", "logs", "secretsmanager", "sts", "cloudformation", "ecs")
    return {name: session.client(name) for name in names}


@pytest.fixture
def aws(clients: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    offline_aws(monkeypatch)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # the VPC is all EC2 is needed for: fast
    with mock_aws():
        c = dict(clients)
        vpc = c["ec2"].create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            c["ec2"].create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
                "Subnet"
            ]["SubnetId"]
            for i, z in enumerate("ab")
        ]
        c["rds"].create_db_instance(
            DBInstanceIdentifier=PREFIX,
            DBInstanceClass="db.r7g.large",
            Engine="postgres",
            MasterUsername="clever_admin",
            MasterUserPassword="not-a-real-password",
            AllocatedStorage=100,
        )
        ecs = Ecs(clients["ecs"])
        ecs.create_cluster(clusterName=PREFIX)
        for family, revisions in (("bot", 2), ("ml-service", 2), ("data-ingestion", 3), ("migrate", 1)):
            for revision in range(revisions):
                image = f"bot:{revision}"
                ecs.register_task_definition(
                    family=f"{PREFIX}-{family}",
                    # As the stacks define them: the init container that prepares /tmp comes first.
                    containerDefinitions=[
                        {"name": "scratch-init", "image": image, "memory": 512, "essential": False},
                        {"name": "bot", "image": image, "memory": 512},
                    ],
                )
        for service in ("bot", "ml-service", "data-ingestion"):
            latest = 3 if service == "data-ingestion" else 2
            ecs.create_service(
                cluster=PREFIX,
                serviceName=service,
                taskDefinition=f"{PREFIX}-{service}:{latest}",
                desiredCount=1,
                launchType="FARGATE",
            )
        for service in ("bot", "ml-service"):
            c["ssm"].put_parameter(
                Name=f"/clever-better/prod/deploy/{service}/approved-revision", Value="none", Type="String"
            )
        c["secretsmanager"].create_secret(Name="clever-better/prod/config", SecretString='{"max_stake": 10}')
        balancers: dict[str, Any] = {}
        for name in (PREFIX, f"{PREFIX}-ml"):
            arn = c["elbv2"].create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0][
                "LoadBalancerArn"
            ]
            groups = [
                c["elbv2"].create_target_group(
                    Name=f"{name}-{colour}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
                )["TargetGroups"][0]["TargetGroupArn"]
                for colour in ("blue", "green")
            ]
            listener = c["elbv2"].create_listener(
                LoadBalancerArn=arn,
                Protocol="HTTP",
                Port=80,
                DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
            )["Listeners"][0]["ListenerArn"]
            c["elbv2"].create_rule(
                ListenerArn=listener,
                Priority=100,
                Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
                Actions=[
                    {
                        "Type": "forward",
                        "ForwardConfig": {
                            "TargetGroups": [
                                {"TargetGroupArn": groups[0], "Weight": 100},
                                {"TargetGroupArn": groups[1], "Weight": 0},
                            ]
                        },
                    }
                ],
            )
            balancers[name] = {"listener": listener, "groups": groups}
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                key: {"Value": value}
                for key, value in {
                    "ClusterName": PREFIX,
                    "Endpoint": "https://api.clever-better.com",
                    "ProductionListenerArn": balancers[PREFIX]["listener"],
                    "MigrationTaskFamily": MIGRATION_FAMILY,
                    "MigrationTaskDefinition": _td("migrate", 1),
                    "MigrationContainer": "bot",
                    "MigrationSecurityGroups": "sg-0123456789abcdef0",
                }.items()
            },
        }
        c["cloudformation"].create_stack(StackName=f"{PREFIX}-services", TemplateBody=json.dumps(template))
        network = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"PrivateSubnetIds": {"Value": ",".join(subnets)}},
        }
        c["cloudformation"].create_stack(StackName=f"{PREFIX}-network", TemplateBody=json.dumps(network))
        c["logs"].create_log_group(logGroupName=LOG_GROUP)
        c.update(ecs=ecs, balancers=balancers, clock=Clock(datetime.now(UTC)))
        yield c


def run(aws: dict[str, Any], command: str, *options: str, env: str = "production") -> int:
    clock: Clock = aws["clock"]
    return main(
        [command, "--env", env, *options],
        clients=lambda name: aws[name],  # the commands' clients, moto's (and the ECS fake) in one place
        sleep=clock.sleep,
        now=clock.now,
    )


def _approved(aws: dict[str, Any], service: str) -> str:
    name = f"/clever-better/prod/deploy/{service}/approved-revision"
    return str(aws["ssm"].get_parameter(Name=name)["Parameter"]["Value"])


def _task_definition(aws: dict[str, Any], service: str) -> str:
    (described,) = aws["ecs"].describe_services(cluster=PREFIX, services=[service])["services"]
    return str(described["taskDefinition"]).rsplit("/", 1)[-1]


# --- predeploy-check ----------------------------------------------------------------------------


def _automated_snapshot_time(aws: dict[str, Any]) -> datetime:
    (snapshot,) = aws["rds"].describe_db_snapshots(DBInstanceIdentifier=PREFIX, SnapshotType="automated")[
        "DBSnapshots"
    ]
    created: datetime = snapshot["SnapshotCreateTime"]
    return created


def _manual_snapshots(aws: dict[str, Any]) -> list[dict[str, Any]]:
    snapshots: list[dict[str, Any]] = aws["rds"].describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    return snapshots


def test_predeploy_check_with_a_fresh_backup(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    aws["clock"].time = _automated_snapshot_time(aws) + timedelta(hours=2)
    name = f"{PREFIX}-predeploy-{aws['clock'].time:%Y%m%d-%H%M%S}"
    assert run(aws, "predeploy-check", "--dry-run") == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].endswith("is 2h00m old: ok")
    assert out[1] == (
        f"[dry-run] aws rds create-db-snapshot --db-instance-identifier {PREFIX} "
        f"--db-snapshot-identifier {name} "
        """--tags '[{"Key":"Purpose","Value":"predeploy"},{"Key":"Environment","Value":"production"}]'"""
    )
    assert not _manual_snapshots(aws)
    assert run(aws, "predeploy-check") == 0
    (snapshot,) = _manual_snapshots(aws)
    assert snapshot["DBSnapshotIdentifier"] == name and snapshot["Status"] == "available"
    tags = aws["rds"].list_tags_for_resource(ResourceName=snapshot["DBSnapshotArn"])["TagList"]
    assert {"Key": "Purpose", "Value": "predeploy"} in tags
    assert capsys.readouterr().out.strip().endswith(f"snapshot {name} is available; ready to deploy")
    # Twice in the same second (a retried deploy): a second name, not DBSnapshotAlreadyExists.
    assert run(aws, "predeploy-check") == 0
    assert sorted(s["DBSnapshotIdentifier"] for s in _manual_snapshots(aws)) == [name, f"{name}-2"]


def test_predeploy_check_refuses_a_stale_backup(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    aws["clock"].time = _automated_snapshot_time(aws) + timedelta(hours=30)
    assert run(aws, "predeploy-check") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: the latest automated snapshot of {PREFIX} (rds:")
    assert err.endswith(
        "is 30h00m old, over the 26h00m limit; fix the backups or pass --allow-stale-backup REASON"
    )
    assert "\n" not in err
    assert run(aws, "predeploy-check", "--allow-stale-backup", "") == 1  # the Makefile's unset variable
    assert not _manual_snapshots(aws)


def test_predeploy_check_stale_backup_override(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    aws["clock"].time = _automated_snapshot_time(aws) + timedelta(hours=27, minutes=5)
    assert run(aws, "predeploy-check", "--allow-stale-backup", "backup job paused for INC-42") == 0
    captured = capsys.readouterr()
    (override,) = [line for line in captured.err.splitlines() if line.startswith("OVERRIDE:")]
    assert "is 27h05m old" in override
    assert "reason: backup job paused for INC-42" in override
    assert f"arn:aws:sts::{ACCOUNT}:user/moto" in override
    (snapshot,) = _manual_snapshots(aws)
    assert snapshot["DBSnapshotIdentifier"].startswith(f"{PREFIX}-predeploy-")


def test_predeploy_check_without_any_automated_snapshot(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(aws, "predeploy-check", env="dev") == 1
    assert capsys.readouterr().err.strip() == (
        "error: stack clever-better-dev-data is not deployed in us-east-1 "
        "(database clever-better-dev not found); deploy it first: make deploy-dev"
    )
    aws["rds"].create_db_instance(
        DBInstanceIdentifier="clever-better-dev",
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        MasterUsername="clever_admin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        BackupRetentionPeriod=0,
    )
    for snapshot in aws["rds"].describe_db_snapshots(DBInstanceIdentifier="clever-better-dev")["DBSnapshots"]:
        if snapshot["SnapshotType"] == "automated":
            aws["rds"].delete_db_snapshot(DBSnapshotIdentifier=snapshot["DBSnapshotIdentifier"])
    assert run(aws, "predeploy-check", env="dev") == 1
    assert capsys.readouterr().err.strip() == (
        "error: clever-better-dev has no automated snapshot; "
        "fix the backups or pass --allow-stale-backup REASON"
    )


# --- approve -------------------------------------------------------------------------------------


def test_approve_writes_the_green_revision(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    ecs: Ecs = aws["ecs"]
    ecs.deployment("bot", "SUCCESSFUL", _td("bot", 1), _td("bot", 2), minutes_ago=600)
    ecs.deployment(
        "bot", "IN_PROGRESS", _td("bot", 2), _td("bot", 3), minutes_ago=5, stage="POST_TEST_TRAFFIC_SHIFT"
    )
    green = ecs.deployments[-1]["targetServiceRevision"]["arn"]
    assert run(aws, "approve", "--dry-run") == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        "ml-service: no deployment in flight",
        "[dry-run] aws ssm put-parameter --name /clever-better/prod/deploy/bot/approved-revision "
        f"--value {green} --type String --overwrite",
        f"bot: would approve {green}",
    ]
    assert _approved(aws, "bot") == "none"
    assert run(aws, "approve") == 0
    assert _approved(aws, "bot") == green and _approved(aws, "ml-service") == "none"
    assert f"bot: approved {green}" in capsys.readouterr().out
    assert run(aws, "approve", "--service", "bot") == 0  # idempotent
    assert capsys.readouterr().out.strip() == f"bot: {green} is already approved"
    assert _approved(aws, "bot") == green


def test_approve_refusals(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(aws, "approve", env="dev") == 1
    assert capsys.readouterr().err.strip() == (
        "error: stack clever-better-dev-services is not deployed in us-east-1; "
        "deploy it first: make deploy-dev"
    )
    deployed = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    aws["cloudformation"].create_stack(StackName="clever-better-dev-services", TemplateBody=deployed)
    assert run(aws, "approve", env="dev") == 1
    assert capsys.readouterr().err.strip() == (
        "error: the approval gate is off in dev: "
        "/clever-better/dev/deploy/bot/approved-revision does not exist"
    )
    aws["ecs"].deployment("bot", "SUCCESSFUL", _td("bot", 1), _td("bot", 2), minutes_ago=60)
    assert run(aws, "approve") == 1
    assert capsys.readouterr().err.strip() == (
        "error: no deployment of bot or ml-service is in flight in production; nothing to approve"
    )
    assert run(aws, "approve", "--service", "data-ingestion") == 1
    assert capsys.readouterr().err.strip() == (
        "error: unknown service 'data-ingestion'; expected one of bot, ml-service"
    )
    assert _approved(aws, "bot") == "none"


# --- rollback ------------------------------------------------------------------------------------


def test_rollback_stops_an_in_flight_deployment(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs: Ecs = aws["ecs"]
    ecs.deployment("bot", "SUCCESSFUL", _td("bot", 1), _td("bot", 2), minutes_ago=600)
    arn = ecs.deployment("bot", "IN_PROGRESS", _td("bot", 2), _td("bot", 3), minutes_ago=5)
    assert run(aws, "rollback", "--service", "bot", "--dry-run") == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == (
        f"[dry-run] aws ecs stop-service-deployment --service-deployment-arn {arn} --stop-type ROLLBACK"
    )
    assert out[-1] == "follow it with: make deploy-status ENV=production"
    assert not ecs.stopped
    assert run(aws, "rollback", "--service", "bot") == 0
    assert ecs.stopped == [{"serviceDeploymentArn": arn, "stopType": "ROLLBACK"}]
    assert _task_definition(aws, "bot") == f"{PREFIX}-bot:2"  # ECS rolls back; nothing else changed


def test_rollback_after_completion_redeploys_the_previous_revision(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs: Ecs = aws["ecs"]
    for service in ("bot", "ml-service"):
        ecs.deployment(service, "SUCCESSFUL", None, _td(service, 1), minutes_ago=900)
        ecs.deployment(service, "ROLLBACK_SUCCESSFUL", _td(service, 1), _td(service, 3), minutes_ago=800)
        ecs.deployment(service, "SUCCESSFUL", _td(service, 1), _td(service, 2), minutes_ago=30)
    assert run(aws, "rollback", "--dry-run") == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == (
        f"[dry-run] aws ecs update-service --cluster {PREFIX} --service bot --task-definition {_td('bot', 1)}"
    )
    assert out[1] == f"bot: would redeploy {PREFIX}-bot:1 in place of {PREFIX}-bot:2"
    assert _task_definition(aws, "bot") == f"{PREFIX}-bot:2"
    assert run(aws, "rollback") == 0
    assert _task_definition(aws, "bot") == f"{PREFIX}-bot:1"
    assert _task_definition(aws, "ml-service") == f"{PREFIX}-ml-service:1"
    assert _task_definition(aws, "data-ingestion") == f"{PREFIX}-data-ingestion:3"
    assert not ecs.stopped


def test_rollback_after_a_release_is_approved_by_the_command(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Production's approval gate holds every deployment but the first: the rollback's own
    redeploy is approved as ECS lists it, or the hook would roll the rollback back in an hour."""
    ecs: Ecs = aws["ecs"]
    ecs.deployment("bot", "SUCCESSFUL", _td("bot", 1), _td("bot", 2), minutes_ago=30)
    assert run(aws, "rollback", "--service", "bot") == 0
    (started,) = [d for d in ecs.deployments if d["status"] == "IN_PROGRESS"]
    revision = started["targetServiceRevision"]["arn"]
    assert ecs.revisions[revision]["taskDefinition"].endswith(f"{PREFIX}-bot:1")
    assert _approved(aws, "bot") == revision
    assert capsys.readouterr().out.splitlines()[-4:] == [
        f"bot: requested: redeploy {PREFIX}-bot:1 in place of {PREFIX}-bot:2",
        "+ aws ssm put-parameter --name /clever-better/prod/deploy/bot/approved-revision "
        f"--value {revision} --type String --overwrite",
        f"bot: approved {revision}, the deployment this command started "
        "(/clever-better/prod/deploy/bot/approved-revision)",
        "follow it with: make deploy-status ENV=production",
    ]


def test_rollback_skips_restarts_and_never_goes_forward_again(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs: Ecs = aws["ecs"]
    ecs.deployment("bot", "SUCCESSFUL", None, _td("bot", 1), minutes_ago=900)
    ecs.deployment("bot", "SUCCESSFUL", _td("bot", 1), _td("bot", 2), minutes_ago=60)
    ecs.deployment("bot", "SUCCESSFUL", _td("bot", 2), _td("bot", 2), minutes_ago=10)  # make restart
    assert run(aws, "rollback", "--service", "bot", "--dry-run") == 0
    assert f"bot: would redeploy {PREFIX}-bot:1 in place of {PREFIX}-bot:2" in capsys.readouterr().out
    assert run(aws, "rollback", "--service", "bot") == 0
    assert _task_definition(aws, "bot") == f"{PREFIX}-bot:1"
    for deployment in ecs.deployments:  # the rollback's deployment finished
        deployment["status"] = deployment["status"].replace("IN_PROGRESS", "SUCCESSFUL")
    capsys.readouterr()
    assert run(aws, "rollback", "--service", "bot") == 1  # not forward to :2 again
    assert capsys.readouterr().err.strip() == (
        "error: nothing to roll back to for bot: no successful deployment on record ran a revision "
        f"of {PREFIX}-bot older than 1"
    )
    assert _task_definition(aws, "bot") == f"{PREFIX}-bot:1"


def test_rollback_leaves_a_deployment_that_is_already_rolling_back(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs: Ecs = aws["ecs"]
    ecs.deployment("bot", "SUCCESSFUL", _td("bot", 1), _td("bot", 2), minutes_ago=600)
    ecs.deployment("bot", "ROLLBACK_IN_PROGRESS", _td("bot", 2), _td("bot", 3), minutes_ago=5)
    assert run(aws, "rollback", "--service", "bot") == 0
    assert (
        capsys.readouterr().out.splitlines()[0]
        == "bot: deployment deployment-2 is already rolling back (ROLLBACK_IN_PROGRESS)"
    )
    assert not ecs.stopped and _task_definition(aws, "bot") == f"{PREFIX}-bot:2"


def test_rollback_to_an_inactive_revision_is_refused(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs: Ecs = aws["ecs"]
    ecs.deployment("bot", "SUCCESSFUL", _td("bot", 1), _td("bot", 2), minutes_ago=30)
    ecs.deregister_task_definition(taskDefinition=f"{PREFIX}-bot:1")
    assert run(aws, "rollback", "--service", "bot") == 1
    assert capsys.readouterr().err.strip() == (
        f"error: cannot roll back bot to {PREFIX}-bot:1: it is INACTIVE; deploy the previous release "
        "instead: make deploy-production IMAGE_TAG=<the previous tag>"
    )
    assert _task_definition(aws, "bot") == f"{PREFIX}-bot:2"


def test_a_started_deployment_ecs_never_lists_is_one_line(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ecs: Ecs = aws["ecs"]
    monkeypatch.setattr(ecs, "update_service", ecs.real.update_service)  # no deployment appears
    assert run(aws, "restart", "--service", "bot") == 1
    assert capsys.readouterr().err.strip() == (
        "error: bot: ECS listed no new deployment within 120s; approve it once it does: "
        "make approve ENV=production SERVICE=bot"
    )


def test_rollback_with_nothing_to_roll_back_to(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs: Ecs = aws["ecs"]
    ecs.deployment("bot", "SUCCESSFUL", _td("bot", 1), _td("bot", 2), minutes_ago=30)
    ecs.deployment("ml-service", "SUCCESSFUL", None, _td("ml-service", 2), minutes_ago=30)
    assert run(aws, "rollback") == 1  # refused before anything changes, bot included
    assert capsys.readouterr().err.strip() == (
        "error: nothing to roll back to for ml-service: no successful deployment on record ran a "
        f"revision of {PREFIX}-ml-service older than 2"
    )
    assert _task_definition(aws, "bot") == f"{PREFIX}-bot:2"
    assert run(aws, "rollback", "--service", "bot") == 0
    assert _task_definition(aws, "bot") == f"{PREFIX}-bot:1"
    assert run(aws, "rollback", env="staging") == 1
    assert capsys.readouterr().err == (
        "error: stack clever-better-staging-services is not deployed in us-east-1 "
        "(cluster clever-better-staging not found); deploy it first: make deploy-staging\n"
    )


def test_rollback_data_ingestion_uses_the_previous_active_revision(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    aws["ecs"].deregister_task_definition(taskDefinition=f"{PREFIX}-data-ingestion:2")
    assert run(aws, "rollback", "--service", "data-ingestion") == 0
    assert (
        f"redeploy {PREFIX}-data-ingestion:1 in place of {PREFIX}-data-ingestion:3" in capsys.readouterr().out
    )
    assert _task_definition(aws, "data-ingestion") == f"{PREFIX}-data-ingestion:1"
    assert run(aws, "rollback", "--service", "data-ingestion") == 1
    assert capsys.readouterr().err.strip() == (
        f"error: nothing to roll back to for {PREFIX}-data-ingestion: no active revision older than 1"
    )


# --- deploy-status -------------------------------------------------------------------------------


def test_deploy_status(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    ecs: Ecs = aws["ecs"]
    ecs.deployment("bot", "SUCCESSFUL", _td("bot", 1), _td("bot", 2), minutes_ago=600)
    ecs.deployment("bot", "IN_PROGRESS", _td("bot", 2), _td("bot", 3), minutes_ago=5, stage="BAKE_TIME")
    assert run(aws, "deploy-status") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "bot: ACTIVE, desired 1, running 0, pending 1"
    assert out[1] == f"  task definition: {PREFIX}-bot:2"
    assert out[2].startswith("  deployment: IN_PROGRESS at BAKE_TIME, created 20")
    assert out[2].endswith("(deployment-2)")
    assert out[3] == "  approved revision: none"
    assert out[4:7] == [
        "ml-service: ACTIVE, desired 1, running 0, pending 1",
        f"  task definition: {PREFIX}-ml-service:2",
        "  deployment: none on record",
    ]
    assert out[8:] == [
        "data-ingestion: ACTIVE, desired 1, running 0, pending 1",
        f"  task definition: {PREFIX}-data-ingestion:3",
    ]


# --- maintenance ---------------------------------------------------------------------------------


def _rules(aws: dict[str, Any]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = aws["elbv2"].describe_rules(
        ListenerArn=aws["balancers"][PREFIX]["listener"]
    )["Rules"]
    return rules


def test_maintenance_on_and_off(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    before = _rules(aws)
    forward = next(r for r in before if r["Priority"] == "100")
    listener = aws["balancers"][PREFIX]["listener"]
    assert run(aws, "maintenance-on", "--dry-run") == 0
    assert capsys.readouterr().out.strip() == (
        f"[dry-run] aws elbv2 create-rule --listener-arn {listener} --priority 1 "
        """--conditions '[{"Field":"path-pattern","PathPatternConfig":{"Values":["/*"]}}]' """
        """--actions '[{"Type":"fixed-response","FixedResponseConfig":{"StatusCode":"503",\
"ContentType":"application/json","MessageBody":"{\\"status\\":\\"maintenance\\"}"}}]' """
        """--tags '[{"Key":"Purpose","Value":"maintenance"}]'"""
    )
    assert _rules(aws) == before
    assert run(aws, "maintenance-on") == 0
    (rule,) = [r for r in _rules(aws) if r["Priority"] == "1"]
    assert rule["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "503"
    assert json.loads(rule["Actions"][0]["FixedResponseConfig"]["MessageBody"]) == {"status": "maintenance"}
    capsys.readouterr()
    assert run(aws, "maintenance-on") == 0
    assert capsys.readouterr().out.strip() == "maintenance mode is already on in production"
    assert len(_rules(aws)) == len(before) + 1
    assert run(aws, "maintenance-off", "--dry-run") == 0
    assert capsys.readouterr().out.strip() == f"[dry-run] aws elbv2 delete-rule --rule-arn {rule['RuleArn']}"
    assert run(aws, "maintenance-off") == 0
    assert run(aws, "maintenance-off") == 0
    assert capsys.readouterr().out.strip().endswith("maintenance mode is already off in production")
    after = _rules(aws)
    assert after == before and next(r for r in after if r["Priority"] == "100") == forward


def test_maintenance_never_touches_a_forward_rule_at_priority_1(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    listener = aws["balancers"][PREFIX]["listener"]
    group = aws["balancers"][PREFIX]["groups"][0]
    aws["elbv2"].create_rule(
        ListenerArn=listener,
        Priority=1,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/special"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    before = _rules(aws)
    assert run(aws, "maintenance-off") == 0
    assert capsys.readouterr().out.strip() == "maintenance mode is already off in production"
    assert run(aws, "maintenance-on") == 1
    assert "is taken by a non-maintenance rule" in capsys.readouterr().err
    assert _rules(aws) == before


# --- config-update and restart -------------------------------------------------------------------


def _secret(aws: dict[str, Any]) -> Any:
    return json.loads(
        aws["secretsmanager"].get_secret_value(SecretId="clever-better/prod/config")["SecretString"]
    )


def test_config_update(aws: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.json"
    config.write_text('{\n  "max_stake": 25,\n  "markets": ["WIN"]\n}\n')
    assert run(aws, "config-update", "--file", str(config), "--dry-run") == 0
    out = capsys.readouterr().out.strip().splitlines()
    restarts = [
        line
        for s in ("bot", "ml-service", "data-ingestion")
        for line in (
            f"[dry-run] aws ecs update-service --cluster {PREFIX} --service {s} --force-new-deployment",
            f"{s}: would restart to read the new configuration",
        )
    ]
    assert out == [
        "[dry-run] aws secretsmanager update-secret --secret-id clever-better/prod/config "
        "--secret-string '<redacted>'",
        *restarts,
        # Production's approval gate would hold the restarts: the command approves them itself.
        "bot: would approve the deployment this starts (/clever-better/prod/deploy/bot/approved-revision) "
        "once ECS lists it",
        "ml-service: would approve the deployment this starts "
        "(/clever-better/prod/deploy/ml-service/approved-revision) once ECS lists it",
        "follow it with: make deploy-status ENV=production",
    ]
    assert _secret(aws) == {"max_stake": 10}
    assert run(aws, "config-update", "--file", str(config)) == 0
    assert _secret(aws) == {"max_stake": 25, "markets": ["WIN"]}
    printed = capsys.readouterr()
    # The configuration is a secret: no value of it on screen, in either mode.
    assert "max_stake" not in printed.out + printed.err and "WIN" not in printed.out + printed.err
    assert "--secret-string '<redacted>'" in printed.out
    assert sum(line.startswith("+ aws ecs update-service") for line in printed.out.splitlines()) == 3
    ecs: Ecs = aws["ecs"]
    for service in ("bot", "ml-service"):  # approved: the hook lets the restart through
        (started,) = [d for d in ecs.deployments if d["serviceArn"].endswith(f"/{service}")]
        assert _approved(aws, service) == started["targetServiceRevision"]["arn"]


def test_config_update_refuses_bad_files(
    aws: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"max_stake": 25,')
    assert run(aws, "config-update", "--file", str(bad)) == 1
    assert capsys.readouterr().err.startswith(f"error: cannot read {bad}: Expecting property name")
    bad.write_text("[1, 2]")
    assert run(aws, "config-update", "--file", str(bad)) == 1
    assert capsys.readouterr().err.strip() == f"error: {bad} holds a JSON list, not an object"
    assert run(aws, "config-update", "--file", str(tmp_path / "missing.json")) == 1
    assert f"error: cannot read {tmp_path / 'missing.json'}" in capsys.readouterr().err
    assert run(aws, "config-update", "--file", "") == 1
    assert capsys.readouterr().err.startswith("error: FILE is required")
    assert _secret(aws) == {"max_stake": 10}


def test_restart(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(aws, "restart", "--service", "ml-service", "--dry-run") == 0
    assert capsys.readouterr().out.strip().splitlines()[0] == (
        f"[dry-run] aws ecs update-service --cluster {PREFIX} --service ml-service --force-new-deployment"
    )
    assert run(aws, "restart", "--service", "ml-service") == 0
    assert capsys.readouterr().out.startswith(
        f"+ aws ecs update-service --cluster {PREFIX} --service ml-service"
    )
    assert run(aws, "restart", "--service", "trader") == 1
    assert capsys.readouterr().err.strip() == (
        "error: unknown service 'trader'; expected one of bot, ml-service, data-ingestion"
    )
    assert run(aws, "restart") == 1
    assert (
        capsys.readouterr().err.strip()
        == "error: SERVICE is required: one of bot, ml-service, data-ingestion"
    )


# --- smoke-test ----------------------------------------------------------------------------------


@pytest.fixture
def stub() -> Iterator[dict[str, Any]]:
    """A local HTTP server answering GET /health with `status` and `body`."""
    state: dict[str, Any] = {"status": 200, "body": b'{"status": "ok"}'}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = (state["status"], state["body"]) if self.path == "/health" else (404, b"")
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def test_smoke_test_against_a_url(
    aws: dict[str, Any], stub: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    url = stub["url"]
    assert run(aws, "smoke-test", "--url", url + "/") == 0
    assert capsys.readouterr().out.strip().splitlines() == [
        f"ok   GET {url}/health: 200",
        "all 1 smoke checks passed",
    ]
    stub["body"] = b'{"status": "degraded"}'
    assert run(aws, "smoke-test", "--url", url) == 1
    captured = capsys.readouterr()
    assert captured.out.strip() == "FAIL GET /health: body lacks 'ok'"
    assert captured.err.strip() == "error: 1 of 1 smoke checks failed: GET /health: body lacks 'ok'"
    stub["status"] = 503
    assert run(aws, "smoke-test", "--url", url) == 1
    assert "GET /health: status 503, expected 200" in capsys.readouterr().err
    assert run(aws, "smoke-test", "--url", "http://127.0.0.1:1") == 1
    assert "GET /health: ConnectionRefusedError" in capsys.readouterr().err
    assert run(aws, "smoke-test", "--url", "file:///etc/passwd") == 1
    assert capsys.readouterr().err.strip() == "error: --url 'file:///etc/passwd' is not an http(s) URL"


def test_smoke_test_checks_target_health(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("ops.smoke._smoke_check", lambda base, check, timeout: None)  # no real domain
    elbv2 = aws["elbv2"]
    elbv2.register_targets(
        TargetGroupArn=aws["balancers"][PREFIX]["groups"][0], Targets=[{"Id": "10.20.0.5"}]
    )
    assert run(aws, "smoke-test") == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "ok   GET https://api.clever-better.com/health: 200",
        f"ok   load balancer {PREFIX}: targets healthy",
        f"FAIL load balancer {PREFIX}-ml: 0 healthy, 0 unhealthy targets",
    ]
    assert captured.err.strip() == (
        f"error: 1 of 3 smoke checks failed: load balancer {PREFIX}-ml: 0 healthy, 0 unhealthy targets"
    )
    elbv2.register_targets(
        TargetGroupArn=aws["balancers"][f"{PREFIX}-ml"]["groups"][1], Targets=[{"Id": "10.20.1.7"}]
    )
    assert run(aws, "smoke-test") == 0
    assert capsys.readouterr().out.strip().endswith("all 3 smoke checks passed")


# --- db-migrate and db-migration-status ----------------------------------------------------------


def _log_lines(aws: dict[str, Any], lines_per_poll: dict[int, list[str]]) -> None:
    """From the second sleep on (the stream exists once the task runs), write that poll's lines."""
    ecs: Ecs = aws["ecs"]
    logs = aws["logs"]

    def on_sleep(poll: int) -> None:
        if poll < 2 or not ecs.started:
            return
        stream = f"migrate/bot/{ecs.started[-1].rsplit('/', 1)[-1]}"
        if poll == 2:
            logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        stamp = int(time.time() * 1000)
        events = [{"timestamp": stamp + i, "message": m} for i, m in enumerate(lines_per_poll.get(poll, []))]
        if events:
            logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)

    aws["clock"].on_sleep = on_sleep


def test_db_migrate_dry_run(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(aws, "db-migrate", "--dry-run") == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    subnets = aws["ec2"].describe_subnets()["Subnets"]
    assert line.startswith(
        f"[dry-run] aws ecs run-task --cluster {PREFIX} --task-definition {_td('migrate', 1)} "
        "--launch-type FARGATE --started-by make-db-migrate --network-configuration "
    )
    configuration = json.loads(line.split("--network-configuration ", 1)[1].strip("'"))
    assert configuration["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    assert configuration["awsvpcConfiguration"]["securityGroups"] == ["sg-0123456789abcdef0"]
    assert set(configuration["awsvpcConfiguration"]["subnets"]) <= {s["SubnetId"] for s in subnets}
    assert not aws["ecs"].started and aws["clock"].sleeps == 0


def test_db_migrate_succeeds_and_streams_the_log(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _log_lines(aws, {2: ["applying 0042_markets", "applying 0043_stakes"], 3: ["done: 2 migrations"]})
    # A newer ACTIVE revision than the deployed one (a retained revision, a failed deploy's):
    # the migration runs the revision the stack deployed, not the family's newest.
    aws["ecs"].register_task_definition(
        family=MIGRATION_FAMILY, containerDefinitions=[{"name": "bot", "image": "bot:next", "memory": 512}]
    )
    assert run(aws, "db-migrate") == 0
    out = capsys.readouterr().out.strip().splitlines()
    task_id = aws["ecs"].started[0].rsplit("/", 1)[-1]
    (task,) = aws["ecs"].real.describe_tasks(cluster=PREFIX, tasks=[aws["ecs"].started[0]])["tasks"]
    assert task["taskDefinitionArn"] == _td("migrate", 1)
    assert out[0].startswith("+ aws ecs run-task")
    assert out[1:] == [
        f"started migration task {task_id}; following {LOG_GROUP} migrate/bot/{task_id}",
        "| applying 0042_markets",
        "| applying 0043_stakes",
        "| done: 2 migrations",
        f"migration task {task_id} succeeded (exit code 0)",
    ]
    assert aws["clock"].sleeps == 3  # polled every ~6 s until STOPPED; no real sleeping

    assert run(aws, "db-migration-status") == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith(f"{task_id}  STOPPED  exit 0  started ")
    assert out[1:] == [
        f"last 3 log lines of {task_id} ({LOG_GROUP} migrate/bot/{task_id}):",
        "| applying 0042_markets",
        "| applying 0043_stakes",
        "| done: 2 migrations",
    ]


def test_db_migrate_failure_exits_1(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    aws["ecs"].exit_code, aws["ecs"].stop_after = 3, 2
    _log_lines(aws, {2: ['ERROR: relation "bets" already exists']})
    assert run(aws, "db-migrate") == 1
    captured = capsys.readouterr()
    task_id = aws["ecs"].started[0].rsplit("/", 1)[-1]
    assert '| ERROR: relation "bets" already exists' in captured.out.splitlines()
    assert captured.err.strip() == f"error: migration task {task_id} exited with code 3"
    # The status reports the migration's container, not the one that prepared /tmp.
    assert run(aws, "db-migration-status") == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith(f"{task_id}  STOPPED  exit 3  started ")
    assert out[1] == f"last 1 log lines of {task_id} ({LOG_GROUP} migrate/bot/{task_id}):"


def test_db_migrate_without_an_exit_code_or_stopping(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ecs: Ecs = aws["ecs"]
    ecs.exit_code, ecs.stopped_reason = None, "CannotPullContainerError: image not found"
    assert run(aws, "db-migrate") == 1
    task_id = ecs.started[0].rsplit("/", 1)[-1]
    assert capsys.readouterr().err.strip() == (
        f"error: migration task {task_id} stopped without an exit code: "
        "CannotPullContainerError: image not found"
    )
    ecs.stop_after, aws["clock"].step = 10**6, timedelta(minutes=15)
    assert run(aws, "db-migrate") == 1
    task_id = ecs.started[1].rsplit("/", 1)[-1]
    assert capsys.readouterr().err.strip() == (
        f"error: migration task {task_id} still RUNNING after 60 minutes; it keeps running: "
        "make db-migration-status ENV=production"
    )


def test_db_migration_status_when_none_ran(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(aws, "db-migration-status") == 0
    assert capsys.readouterr().out.strip() == (
        "no migration has run in production (ECS keeps stopped tasks for about an hour)"
    )


# --- wiring --------------------------------------------------------------------------------------


def test_every_runbook_command_is_dispatched() -> None:
    """Whichever section module is imported first, the CLI knows every command (a section
    module never registers itself, so there is no import order to get wrong)."""
    from tests.support import ROOT

    script = "import ops.release; from ops.cli import COMMANDS; print(sorted(COMMANDS))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "['approve',",
        "'backup-config',",
        "'backup-models',",
        "'betfair-key-store',",
        "'clear-failed-creates',",
        "'config-update',",
        "'daily-report',",
        "'db-maintenance',",
        "'db-migrate',",
        "'db-migration-status',",
        "'db-restore',",
        "'db-snapshot',",
        "'deploy-status',",
        "'dr-failback',",
        "'dr-failover',",
        "'drift',",
        "'maintenance-off',",
        "'maintenance-on',",
        "'mlflow-ui',",
        "'model-versions',",
        "'predeploy-check',",
        "'restart',",
        "'resume-trading',",
        "'rollback',",
        "'service-linked-roles',",
        "'smoke-test',",
        "'train']",
    ]


def test_predeploy_check_refuses_while_production_runs_in_its_dr_region(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """After make dr-failover the pilot light runs production; a deploy would put its template's
    0 tasks back (CloudFormation sends DesiredCount with any change to a service)."""
    aws["clock"].time = _automated_snapshot_time(aws) + timedelta(hours=2)
    dr_ecs = boto3.client("ecs", region_name="us-west-2")
    dr_ecs.create_cluster(clusterName=PREFIX)
    dr_ecs.register_task_definition(
        family=f"{PREFIX}-bot", containerDefinitions=[{"name": "bot", "image": "x", "memory": 512}]
    )
    dr_ecs.create_service(cluster=PREFIX, serviceName="bot", taskDefinition=f"{PREFIX}-bot", desiredCount=0)
    assert run(aws, "predeploy-check", "--dry-run") == 0  # the pilot light, dark: deploy as usual
    capsys.readouterr()
    dr_ecs.update_service(cluster=PREFIX, service="bot", desiredCount=2)
    for dry_run in (["--dry-run"], []):
        assert run(aws, "predeploy-check", *dry_run) == 1
        assert capsys.readouterr().err == (
            "error: production runs in us-west-2 since a failover (bot 2 in cluster clever-better-prod): "
            "this deploy would set clever-better-prod-dr-services back to 0 tasks; run make dr-failback "
            "first, then deploy\n"
        )
    assert not _manual_snapshots(aws)
