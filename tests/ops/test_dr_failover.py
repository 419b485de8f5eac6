"""`make dr-failover` against moto with the emulator's patches (replicated automated backups,
services reaching their counts): every step, its resumption, and every way it stops."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.rds.models import rds_backends

import ops.dr
from emulator import drill
from emulator.adapter import install
from ops.cli import main
from tests.support import offline_aws

PRIMARY, DR = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"
PASSWORD = drill.ADMIN_PASSWORD  # never printed
Clock = drill.Clock
# The pilot light's alarms whose silence is their failure: disarmed until a failover.
HEALTH_ALARMS = (
    "clever-better-prod-bot-unhealthy-P0",
    "clever-better-prod-ml-service-unhealthy-P0",
    "clever-better-prod-data-ingestion-unhealthy-P0",
)


def armed() -> dict[str, bool]:
    described = boto3.client("cloudwatch", region_name=DR).describe_alarms(AlarmNames=list(HEALTH_ALARMS))
    return {a["AlarmName"]: a["ActionsEnabled"] for a in described["MetricAlarms"]}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Production's primary database replicating its backups to us-west-2, the DR data
    stack's standby, the DR replica of the admin secret, and the DR services at zero."""
    offline_aws(monkeypatch)
    install()
    probes: dict[str, Any] = {
        "primary": "GET /health: ConnectionRefusedError",
        "primary_calls": [],
        "dr": None,
        "dr_calls": [],
    }

    def primary_health(url: str, check: Any, timeout: float) -> str | None:
        probes["primary_calls"].append((url, check.path, check.body_contains))
        return probes["primary"]  # type: ignore[no-any-return]

    monkeypatch.setattr(ops.dr, "primary_health", primary_health)

    def probe_via(address: str, domain: str, check: Any, timeout: float) -> str | None:
        probes["dr_calls"].append((address, domain, check.path))
        return probes["dr"]  # type: ignore[no-any-return]

    monkeypatch.setattr(ops.dr, "probe_via", probe_via)
    with mock_aws():
        world = drill.build(health_alarms=HEALTH_ALARMS)
        assert armed() == dict.fromkeys(HEALTH_ALARMS, False)
        yield {**world, "probes": probes}


replicate = drill.replicate


def failover(*args: str, clock: Clock | None = None) -> int:
    clock = clock or Clock()
    return main(["dr-failover", "--env", "production", *args], sleep=clock.sleep, now=clock.now)


def dr_instance(world: dict[str, Any]) -> dict[str, Any]:
    (found,) = world["rds"].describe_db_instances(DBInstanceIdentifier="clever-better-prod")["DBInstances"]
    return dict(found)


def desired_counts() -> dict[str, int]:
    ecs = boto3.client("ecs", region_name=DR)
    described = ecs.describe_services(
        cluster="clever-better-prod", services=["bot", "ml-service", "data-ingestion"]
    )["services"]
    return {s["serviceName"]: s["desiredCount"] for s in described}


def test_dry_run_prints_every_step_and_changes_nothing(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replicate(world)
    assert failover("--dry-run") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == (
        "failover of production from us-east-1 to us-west-2 (dry run: nothing changes); "
        "the primary is never changed"
    )
    assert [line.split(":")[0] for line in lines if re.match(r"\[\d/6\] \w+:", line)] == [
        "[1/6] assess",
        "[2/6] restore",
        "[3/6] point",
        "[4/6] scale",
        "[5/6] verify",
        "[6/6] dns",
    ]
    restore = next(line for line in lines if "restore-db-instance-to-point-in-time" in line)
    assert restore.startswith(
        "[dry-run] aws rds restore-db-instance-to-point-in-time --source-db-instance-automated-backups-arn "
        f"arn:aws:rds:{DR}:{ACCOUNT}:auto-backup:ab-"
    )
    for part in (
        "--target-db-instance-identifier clever-better-prod",
        "--use-latest-restorable-time",
        "--db-instance-class db.r7g.large",
        "--db-subnet-group-name standby",
        f"--vpc-security-group-ids '[\"{world['group']}\"]'",
        "--db-parameter-group-name standby-pg17",
        "--multi-az",
        "--no-publicly-accessible",
        "--enable-iam-database-authentication",
        "--deletion-protection",
        "--storage-type gp3",
        "--region us-west-2",
    ):
        assert part in restore, part
    modify = next(line for line in lines if "modify-db-instance" in line)
    # Performance Insights as in the primary, under the DR data key (a restore cannot set it).
    assert modify == (
        "[dry-run] aws rds modify-db-instance --db-instance-identifier clever-better-prod "
        "--master-user-password '<redacted>' --backup-retention-period 30 "
        "--preferred-backup-window 02:00-03:00 --enable-performance-insights "
        f"--performance-insights-kms-key-id arn:aws:kms:us-west-2:{ACCOUNT}:key/dr "
        "--performance-insights-retention-period 31 --monitoring-interval 15 "
        f"--monitoring-role-arn arn:aws:iam::{ACCOUNT}:role/standby-monitoring --apply-immediately "
        "--region us-west-2"
    )
    assert (
        "[dry-run] aws rds register-db-proxy-targets --db-proxy-name clever-better-prod "
        """--db-instance-identifiers '["clever-better-prod"]' --region us-west-2"""
    ) in lines
    assert (
        "[dry-run] aws ecs update-service --cluster clever-better-prod --service bot --desired-count 2 "
        "--region us-west-2"
    ) in lines
    # Its auto scaling could otherwise scale ml-service back in to the pilot light's zero.
    assert (
        "[dry-run] aws application-autoscaling register-scalable-target --service-namespace ecs "
        "--resource-id service/clever-better-prod/ml-service --scalable-dimension ecs:service:DesiredCount "
        "--min-capacity 2 --region us-west-2"
    ) in lines
    # Once the services are stable, their health alarms page again: armed, and from OK, since
    # actions run on state changes only and the dark pilot light left them in ALARM.
    assert (
        "[dry-run] aws cloudwatch enable-alarm-actions --alarm-names "
        """'["clever-better-prod-bot-unhealthy-P0","clever-better-prod-ml-service-unhealthy-P0","""
        """"clever-better-prod-data-ingestion-unhealthy-P0"]' --region us-west-2"""
    ) in lines
    assert [line for line in lines if "set-alarm-state" in line] == [
        f"[dry-run] aws cloudwatch set-alarm-state --alarm-name {name} --state-value OK "
        "--state-reason 'armed by make dr-failover' --region us-west-2"
        for name in HEALTH_ALARMS
    ]
    # The bot image's data check, in the bot service's network, against the recovery point.
    (check,) = [line for line in lines if "aws ecs run-task" in line]
    network = {
        "awsvpcConfiguration": {
            "subnets": world["subnets"],
            "securityGroups": [world["tasks_group"]],
            "assignPublicIp": "DISABLED",
        }
    }
    assert re.fullmatch(
        re.escape(
            "[dry-run] aws ecs run-task --cluster clever-better-prod "
            "--task-definition clever-better-prod-bot "
            "--launch-type FARGATE --started-by dr-integrity --network-configuration "
            f"'{json.dumps(network, separators=(',', ':'))}' "
            """--overrides '{"containerOverrides":[{"name":"bot","command":["integrity-check"],"""
            """"environment":[{"name":"INTEGRITY_NOT_BEFORE","value":"TIME"}]}]}' --region us-west-2"""
        ).replace("TIME", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"),
        check,
    ), check
    # The instance is seconds old, so its replicated backups hold everything it has.
    assert "RPO of this failover: 0:00:0" in out and "(within the runbook's 1:00:00)" in out
    assert PASSWORD not in out
    assert not world["rds"].describe_db_instances()["DBInstances"]
    assert desired_counts() == {"bot": 0, "ml-service": 0, "data-ingestion": 0}


def test_failover_restores_points_scales_verifies_and_says_what_to_do_with_dns(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replicate(world)
    assert failover() == 0
    out = capsys.readouterr().out
    restored = dr_instance(world)
    assert restored["DBInstanceStatus"] == "available"
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == "standby"
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == [world["group"]]
    assert restored["MultiAZ"] is True and restored["KmsKeyId"] == f"arn:aws:kms:{DR}:{ACCOUNT}:key/dr"
    tags = {t["Key"]: t["Value"] for t in restored["TagList"]}
    assert tags["Purpose"] == "dr-failover" and tags["Environment"] == "production"
    assert tags["RestoredFrom"].startswith(f"arn:aws:rds:{DR}:{ACCOUNT}:auto-backup:ab-")
    assert restored["BackupRetentionPeriod"] == 30
    # Enhanced monitoring as in the primary, with the standby's role.
    assert (restored["MonitoringInterval"], restored["MonitoringRoleArn"]) == (
        15,
        f"arn:aws:iam::{ACCOUNT}:role/standby-monitoring",
    )
    (target,) = world["rds"].describe_db_proxy_targets(DBProxyName="clever-better-prod")["Targets"]
    assert target["RdsResourceId"] == "clever-better-prod"
    assert desired_counts() == {"bot": 2, "ml-service": 2, "data-ingestion": 1}
    (scaling,) = boto3.client("application-autoscaling", region_name=DR).describe_scalable_targets(
        ServiceNamespace="ecs"
    )["ScalableTargets"]
    assert (scaling["MinCapacity"], scaling["MaxCapacity"]) == (2, 6)
    assert armed() == dict.fromkeys(HEALTH_ALARMS, True)
    states = boto3.client("cloudwatch", region_name=DR).describe_alarms(AlarmNames=list(HEALTH_ALARMS))
    assert {a["StateValue"] for a in states["MetricAlarms"]} == {"OK"}
    assert world["probes"]["dr_calls"] == [
        (
            boto3.client("elbv2", region_name=DR).describe_load_balancers()["LoadBalancers"][0]["DNSName"],
            "api.clever-better.com",
            "/health",
        )
    ]
    assert world["probes"]["primary_calls"] == [("https://api.clever-better.com", "/health", "ok")]
    assert "point api.clever-better.com at" in out and "failover complete in" in out
    assert re.search(r"\[2/6\] restore done in 0:00:00 \(total 0:00:00; within the runbook's 0:30:00\)", out)
    assert "[6/6] dns done in" in out
    assert PASSWORD not in out
    # Every change was made in the DR region; the primary's instance is as it was.
    # The bot image's data check ran in the DR region against the recovery point.
    restored_to = {t["Key"]: t["Value"] for t in restored["TagList"]}["RestoredTo"]
    assert re.search(rf"data integrity check [\w-]+: the restored data reaches {re.escape(restored_to)}", out)
    changes = [line for line in out.splitlines() if line.startswith("+ aws")]
    assert len(changes) == 12
    assert all(line.endswith("--region us-west-2") for line in changes)
    (primary,) = world["primary"].describe_db_instances()["DBInstances"]
    assert primary["DBInstanceStatus"] == "available" and primary["DBInstanceClass"] == "db.r7g.large"


def test_rerun_continues_where_it_stopped(world: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    replicate(world)
    world["probes"]["dr"] = "GET /health via lb: status 503, expected 200"
    assert failover() == 1
    err = capsys.readouterr().err
    assert err.startswith("error: step 5 (verify) stopped: smoke check through the DR load balancer failed")
    assert err.rstrip().endswith("re-run make dr-failover CONFIRM=yes: it continues from this step")
    world["probes"]["dr"] = None
    assert failover() == 0
    out = capsys.readouterr().out
    assert "clever-better-prod in us-west-2 was restored by an earlier run, to" in out
    assert "restore-db-instance" not in out and "register-db-proxy-targets" not in out
    assert (
        "bot in us-west-2: desired count already 2" in out and "ml-service: scaling minimum already 2" in out
    )
    assert f"alarms already armed: {', '.join(HEALTH_ALARMS)}" in out
    assert len(world["rds"].describe_db_instances()["DBInstances"]) == 1


def test_an_rpo_beyond_the_target_is_said_and_the_newest_data_still_restored(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replicate(world)
    clock = Clock()
    clock.time += timedelta(hours=3)  # the region has been down, unreplicated, for three hours
    assert failover("--dry-run", clock=clock) == 0
    out = capsys.readouterr().out
    assert "RPO of this failover: 3:00:0" in out and "(BEYOND the runbook's 1:00:00)" in out
    assert "restore-db-instance-to-point-in-time" in out


def test_missing_backups_stop_at_the_assessment(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert failover() == 1
    assert capsys.readouterr().err.strip() == (
        "error: step 1 (assess) stopped: no replicated automated backup and no snapshot of "
        "clever-better-prod in us-west-2: nothing to restore there; check the replication "
        "(runbook: Backup and Recovery). The primary region was not changed; once fixed, re-run "
        "make dr-failover CONFIRM=yes: it continues from this step"
    )
    assert not world["rds"].describe_db_instances()["DBInstances"]


def test_a_copied_snapshot_is_restored_when_it_is_the_newest_data(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    world["primary"].create_db_snapshot(
        DBInstanceIdentifier="clever-better-prod", DBSnapshotIdentifier="clever-better-prod-manual-20261203"
    )
    source = world["primary"].describe_db_snapshots(DBSnapshotIdentifier="clever-better-prod-manual-20261203")
    world["rds"].copy_db_snapshot(
        SourceDBSnapshotIdentifier=source["DBSnapshots"][0]["DBSnapshotArn"],
        TargetDBSnapshotIdentifier="clever-better-prod-manual-20261203",
        SourceRegion=PRIMARY,
    )
    assert failover("--dry-run") == 0
    out = capsys.readouterr().out
    assert "newest data in us-west-2: snapshot" in out
    assert (
        "[dry-run] aws rds restore-db-instance-from-db-snapshot --db-instance-identifier clever-better-prod "
        f"--db-snapshot-identifier arn:aws:rds:{DR}:{ACCOUNT}:snapshot:clever-better-prod-manual-20261203"
    ) in out


def test_a_healthy_primary_is_not_failed_over_unless_the_operator_says_why(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replicate(world)
    world["probes"]["primary"] = None
    assert failover() == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "error: step 1 (assess) stopped: the primary still answers https://api.clever-better.com/health: "
        "a second bot in us-west-2 would trade beside it"
    )
    assert not world["rds"].describe_db_instances()["DBInstances"]
    assert failover("--dry-run") == 0  # a drill's dry run shows the rest of the plan
    assert "[dry-run] a real run would stop here" in capsys.readouterr().out
    assert failover("--primary-up", "monthly drill 2026-12") == 0
    tags = {t["Key"]: t["Value"] for t in dr_instance(world)["TagList"]}
    assert tags["PrimaryUp"] == "monthly drill 2026-12"


def test_a_failed_restore_stops_with_how_to_retry(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replicate(world)
    assert failover() == 0
    capsys.readouterr()
    rds_backends[ACCOUNT][DR].databases["clever-better-prod"].status = "incompatible-restore"
    assert failover() == 1
    assert capsys.readouterr().err.startswith(
        "error: step 2 (restore) stopped: clever-better-prod in us-west-2 is incompatible-restore, "
        "not restoring: delete it (aws rds delete-db-instance --db-instance-identifier "
        "clever-better-prod --skip-final-snapshot --region us-west-2) and re-run to restore again"
    )


def test_a_restore_refused_by_rds_stops_at_its_step(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replicate(world)
    world["rds"].delete_db_subnet_group(DBSubnetGroupName="standby")
    assert failover() == 1
    err = capsys.readouterr().err
    assert err.startswith("error: step 2 (restore) stopped: ")
    assert "DBSubnetGroupNotFoundFault" in err and "continues from this step" in err


def test_a_restore_that_never_completes_stops_after_its_wait(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    replicate(world)
    assert failover() == 0
    capsys.readouterr()
    rds_backends[ACCOUNT][DR].databases["clever-better-prod"].status = "creating"
    assert failover() == 1
    assert capsys.readouterr().err.startswith(
        "error: step 2 (restore) stopped: the restore of clever-better-prod in us-west-2 did not finish "
        "within 2:00:00; re-run make dr-failover CONFIRM=yes to keep waiting"
    )


def test_services_that_never_stabilise_stop_the_scale_step(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    replicate(world)
    # ECS never reaches the counts (tasks that keep failing to start).
    original = ops.dr._services

    def stuck(f: Any, *args: Any, **kwargs: Any) -> dict[str, dict[str, Any]]:
        return {name: {**s, "runningCount": 0} for name, s in original(f, *args, **kwargs).items()}

    monkeypatch.setattr(ops.dr, "_services", stuck)
    assert failover() == 1
    assert capsys.readouterr().err.startswith(
        "error: step 4 (scale) stopped: the services in us-west-2 did not finish within 0:30:00; look at "
        "their events: aws ecs describe-services --cluster clever-better-prod --services bot ml-service "
        "data-ingestion --region us-west-2 (running: bot 0/2, ml-service 0/2, data-ingestion 0/1)"
    )
    # Not stable, not armed: the operator is at the console already.
    assert armed() == dict.fromkeys(HEALTH_ALARMS, False)


def test_unhealthy_targets_stop_the_verification(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    replicate(world)
    elbv2 = boto3.client("elbv2", region_name=DR)
    (group,) = elbv2.describe_target_groups()["TargetGroups"]
    for target in elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])[
        "TargetHealthDescriptions"
    ]:
        elbv2.deregister_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[target["Target"]])
    assert failover() == 1
    assert capsys.readouterr().err.startswith(
        "error: step 5 (verify) stopped: load balancer clever-better-prod in us-west-2: "
        "0 of 0 targets healthy; see the bot's logs and re-run to verify again"
    )


def test_a_failed_data_integrity_check_stops_the_verification(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from emulator.services import ecs_api

    settle = ecs_api._settle

    def exit_3(task: Any) -> None:
        settle(task)
        for container in task.containers:
            container.exitCode = 3

    monkeypatch.setattr(ecs_api, "_settle", exit_3)
    replicate(world)
    assert failover() == 1
    err = capsys.readouterr().err
    match = re.match(
        r"error: step 5 \(verify\) stopped: data integrity check ([\w-]+) exited with 3: the restored data "
        r"may not reach (\S+); read its log: aws logs tail /ecs/clever-better-prod/bot "
        r"--log-stream-name-prefix bot/bot/\1 --region us-west-2\. ",
        err,
    )
    assert match, err
    assert match.group(2) == {t["Key"]: t["Value"] for t in dr_instance(world)["TagList"]}["RestoredTo"]
    assert "DNS" not in err and err.rstrip().endswith("it continues from this step")


def test_without_the_dr_proxy_the_point_step_names_its_stack(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replicate(world)
    world["rds"].delete_db_proxy(DBProxyName="clever-better-prod")
    assert failover() == 1
    assert capsys.readouterr().err.startswith(
        "error: step 3 (point) stopped: RDS Proxy clever-better-prod not found in us-west-2: stack "
        "clever-better-prod-dr-data is not deployed; deploy it (make deploy-production) and re-run"
    )


def test_without_the_dr_services_stack_the_scale_step_names_it(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replicate(world)
    ecs = boto3.client("ecs", region_name=DR)
    for service in ("bot", "ml-service", "data-ingestion"):
        ecs.delete_service(cluster="clever-better-prod", service=service, force=True)
    assert failover() == 1
    assert capsys.readouterr().err.startswith(
        "error: step 4 (scale) stopped: service bot, ml-service, data-ingestion not found in cluster "
        "clever-better-prod in us-west-2: stack clever-better-prod-dr-services is not deployed; deploy it "
        "(make deploy-production) and re-run"
    )


def test_without_the_dr_monitoring_stack_the_scale_step_names_it(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replicate(world)
    boto3.client("cloudformation", region_name=DR).delete_stack(StackName="dr-monitoring")
    assert failover() == 1
    assert capsys.readouterr().err.startswith(
        "error: step 4 (scale) stopped: alarm clever-better-prod-bot-unhealthy-P0, "
        "clever-better-prod-ml-service-unhealthy-P0, clever-better-prod-data-ingestion-unhealthy-P0 not "
        "found in us-west-2: stack clever-better-prod-dr-monitoring is not deployed; deploy it "
        "(make deploy-production) and re-run"
    )


def test_without_the_dr_data_stack_the_restore_names_it(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replicate(world)
    boto3.client("cloudformation", region_name=DR).delete_stack(StackName="clever-better-prod-dr-data")
    assert failover() == 1
    assert capsys.readouterr().err.startswith(
        "error: step 2 (restore) stopped: stack clever-better-prod-dr-data is not deployed in us-west-2; "
        "deploy it first: make deploy-production"
    )


def test_an_environment_without_a_dr_region_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dr-failover", "--env", "staging", "--dry-run"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: staging has no DR region (disaster_recovery in config/environments.py); "
        "nothing to fail over to"
    )


UP, DOWN = "Success: HTTP Status Code 200, OK.", "Failure: Connection timed out."


def _statuses(monkeypatch: pytest.MonkeyPatch, by_name: dict[str, str]) -> None:
    """What Route 53's checkers (four regions) report for each health check, by its Name tag
    (read at each call: a test may change it); any other check is up."""
    from moto.core.responses import ActionResult
    from moto.route53.responses import Route53

    def status(self: Any) -> ActionResult:
        check = self._get_param("HealthCheckId")
        report = by_name.get(self.backend.list_tags_for_resource(check).get("Name", ""), UP)
        observations = [
            {"Region": region, "IPAddress": "192.0.2.1", "StatusReport": {"Status": report}}
            for region in ("us-east-1", "us-west-1", "eu-west-1", "ap-southeast-1")
        ]
        return ActionResult({"HealthCheckObservations": observations})

    monkeypatch.setattr(Route53, "get_health_check_status", status)


@pytest.fixture
def zoned(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Production with a hosted zone: both services stacks' failover records and health checks
    (drill.hosted_zone); the primary down to Route 53's checkers, the DR region up."""
    import copy
    import dataclasses

    import ops.cli
    from config.environments import load

    zone = drill.hosted_zone(world)
    (production,) = load(("production",))
    deployment = dataclasses.replace(production.deployment)
    # moto's zone ids do not have Route 53's form (Z...), which the config validates.
    object.__setattr__(deployment, "hosted_zone_id", zone)
    configured = copy.copy(production)
    object.__setattr__(configured, "deployment", deployment)
    monkeypatch.setattr(ops.cli, "load", lambda names: (configured,))
    statuses = {"clever-better-prod-api-health": DOWN, "clever-better-prod-dr-api-health": UP}
    _statuses(monkeypatch, statuses)
    replicate(world)
    return {**world, "zone": zone, "statuses": statuses}


def _switch(name: str = "clever-better-prod-api-failover") -> tuple[str, int]:
    """A failover record's switch (the CALCULATED check tagged `name`): its id and HealthThreshold."""
    route53 = boto3.client("route53", region_name=PRIMARY)

    def tags(check: str) -> list[dict[str, str]]:
        found = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check)
        return list(found["ResourceTagSet"]["Tags"])

    checks = route53.list_health_checks()["HealthChecks"]
    (switch,) = [c for c in checks if {"Key": "Name", "Value": name} in tags(c["Id"])]
    assert switch["HealthCheckConfig"]["Type"] == "CALCULATED"
    return switch["Id"], switch["HealthCheckConfig"]["HealthThreshold"]


DR_SWITCH = "clever-better-prod-dr-api-failover"


def _aliases(zone: str) -> dict[str, str]:
    records = boto3.client("route53", region_name=PRIMARY).list_resource_record_sets(HostedZoneId=zone)
    return {
        r["Failover"]: r["AliasTarget"]["DNSName"].rstrip(".")
        for r in records["ResourceRecordSets"]
        if r["Name"].rstrip(".") == "api.clever-better.com" and r["Type"] == "A"
    }


def _balancer_dns(region: str) -> str:
    return str(
        boto3.client("elbv2", region_name=region).describe_load_balancers()["LoadBalancers"][0]["DNSName"]
    )


def test_with_a_hosted_zone_the_failover_record_is_pinned_to_the_dr_region(
    zoned: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """The records stay as their stacks made them; the PRIMARY record's switch is held
    unhealthy and the SECONDARY's healthy, so neither a primary that comes back nor a dip in the
    DR region's check takes the name to the stale database."""
    (switch, threshold), (dr_switch, dr_threshold) = _switch(), _switch(DR_SWITCH)
    assert (threshold, dr_threshold) == (1, 1)
    assert failover() == 0
    out = capsys.readouterr().out
    assert (_switch(), _switch(DR_SWITCH)) == ((switch, 2), (dr_switch, 0))
    # The DR region's first: with the primary's pinned first, a DR dip would answer the primary.
    assert (
        f"+ aws route53 update-health-check --health-check-id {dr_switch} --health-threshold 0\n"
        f"+ aws route53 update-health-check --health-check-id {switch} --health-threshold 2\n"
    ) in out
    dr = _balancer_dns(DR)
    assert f"Route 53's checkers (clever-better-prod-dr-api-health): 4 of 4 see {dr} healthy" in out
    assert _aliases(zoned["zone"]) == {"PRIMARY": _balancer_dns(PRIMARY), "SECONDARY": dr}
    assert "make dr-failback points it back once the primary region is healthy" in out
    assert "no hosted zone is configured" not in out


def test_with_a_hosted_zone_a_dry_run_leaves_the_switch(
    zoned: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    switch, _ = _switch()
    assert failover("--dry-run") == 0
    out = capsys.readouterr().out
    assert f"[dry-run] aws route53 update-health-check --health-check-id {switch} --health-threshold 2" in out
    assert "[dry-run] would wait until Route 53's checkers (clever-better-prod-dr-api-health) see" in out
    assert (_switch(), _switch(DR_SWITCH)[1]) == ((switch, 1), 1)


def test_a_dr_region_route53_never_sees_healthy_stops_the_dns_step(
    zoned: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    zoned["statuses"]["clever-better-prod-dr-api-health"] = DOWN
    assert failover() == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: step 6 (dns) stopped: Route 53 seeing {_balancer_dns(DR)} healthy did not finish within "
        "0:05:00; api.clever-better.com is pinned to the DR region, which Route 53's checkers cannot reach; "
        "why: aws route53 "
        "get-health-check-last-failure-reason (the check tagged clever-better-prod-dr-api-health); "
        "re-run to check again."
    ), err
    assert err.count("\n") == 1


def test_without_the_secondary_record_the_dns_step_names_its_stack(
    zoned: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("cloudformation", region_name=DR).delete_stack(
        StackName="clever-better-prod-dr-services-dns"
    )
    assert failover() == 1
    assert capsys.readouterr().err.startswith(
        f"error: step 6 (dns) stopped: hosted zone {zoned['zone']} has no SECONDARY failover record for "
        "api.clever-better.com: deploy clever-better-prod-services and clever-better-prod-dr-services with "
        "deployment.hosted_zone_id set (a simple record of that name must go first)."
    )
    assert _switch()[1] == 1


def test_with_a_hosted_zone_failback_releases_the_switch_before_the_pilot_light_goes_dark(
    zoned: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert failover() == 0
    drill.primary_returns(zoned)
    zoned["statuses"]["clever-better-prod-api-health"] = UP
    capsys.readouterr()
    assert failback() == 0
    out = capsys.readouterr().out
    (switch, threshold), (dr_switch, dr_threshold) = _switch(), _switch(DR_SWITCH)
    assert (threshold, dr_threshold) == (1, 1)
    assert f"+ aws route53 update-health-check --health-check-id {switch} --health-threshold 1\n" in out
    assert f"+ aws route53 update-health-check --health-check-id {dr_switch} --health-threshold 1\n" in out
    # The primary answers, then the DR switch, a TTL's wait, and only then the pilot light dark.
    assert (
        out.index("released: clever-better-prod-api-failover")
        < out.index("released: clever-better-prod-dr-api-failover")
        < out.index("waiting 60 s (the alias records' TTL)")
        < out.rindex("pilot light dark")
    )
    assert (
        f"Route 53's checkers (clever-better-prod-api-health): 4 of 4 see {_balancer_dns(PRIMARY)} healthy"
        in out
    )
    assert counts(DR) == {"bot": 0, "ml-service": 0, "data-ingestion": 0}


def _primary_health_check(status: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The primary services stack's health check, its checkers all reporting `status`."""
    route53 = boto3.client("route53", region_name=PRIMARY)
    check = route53.create_health_check(
        CallerReference="primary",
        HealthCheckConfig={
            "Type": "HTTPS_STR_MATCH",
            "FullyQualifiedDomainName": "clever-better-prod-1.us-east-1.elb.amazonaws.com",
            "ResourcePath": "/health",
            "SearchString": "ok",
        },
    )["HealthCheck"]["Id"]
    route53.change_tags_for_resource(
        ResourceType="healthcheck",
        ResourceId=check,
        AddTags=[{"Key": "Name", "Value": "clever-better-prod-api-health"}],
    )
    _statuses(monkeypatch, {"clever-better-prod-api-health": status})


def test_route53_seeing_the_primary_healthy_refuses_though_this_machine_cannot_reach_it(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    replicate(world)
    _primary_health_check(UP, monkeypatch)
    assert failover() == 1
    captured = capsys.readouterr()
    assert "Route 53's checkers (clever-better-prod-api-health): 4 of 4 see it healthy" in captured.out
    assert captured.err.startswith(
        "error: step 1 (assess) stopped: the primary still passes Route 53's health check of "
        "https://api.clever-better.com/health: a second bot in us-west-2 would trade beside it"
    )
    assert not world["rds"].describe_db_instances()["DBInstances"]


def test_route53_seeing_the_primary_down_lets_the_failover_go_on(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    replicate(world)
    _primary_health_check(DOWN, monkeypatch)
    assert failover("--dry-run") == 0
    out = capsys.readouterr().out
    assert "Route 53's checkers (clever-better-prod-api-health): 0 of 4 see it healthy" in out
    assert "a real run would stop here" not in out


def test_without_a_health_check_this_machines_view_alone_counts(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    replicate(world)
    assert failover("--dry-run") == 0
    assert (
        "no Route 53 health check tagged clever-better-prod-api-health: only this machine's view counts"
        in capsys.readouterr().out
    )


# --- make dr-failback --------------------------------------------------------------------------


@pytest.fixture
def failed_over(world: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """After a failover, us-east-1 back: production's services there at their counts on the
    stale instance behind its proxy, its load balancer, and its data key."""
    replicate(world)
    assert failover() == 0
    drill.primary_returns(world)
    capsys.readouterr()
    return world


def failback(*args: str) -> int:
    clock = Clock()
    return main(["dr-failback", "--env", "production", *args], sleep=clock.sleep, now=clock.now)


def counts(region: str) -> dict[str, int]:
    described = boto3.client("ecs", region_name=region).describe_services(
        cluster="clever-better-prod", services=["bot", "ml-service", "data-ingestion"]
    )["services"]
    return {s["serviceName"]: s["desiredCount"] for s in described}


def _snapshot_name(world: dict[str, Any]) -> str:
    created = dr_instance(world)["InstanceCreateTime"]
    return f"clever-better-prod-failback-{created:%Y%m%d-%H%M}"


def test_failback_dry_run_prints_every_step_and_changes_nothing(
    failed_over: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert failback("--dry-run") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "failback of production from us-west-2 to us-east-1 (dry run: nothing changes)"
    assert [line.split(":")[0] for line in lines if re.match(r"\[\d/6\] \w+:", line)] == [
        "[1/6] assess",
        "[2/6] stop",
        "[3/6] copy",
        "[4/6] restore",
        "[5/6] swap",
        "[6/6] resume",
    ]
    snapshot = _snapshot_name(failed_over)
    calls = [line for line in lines if line.startswith("[dry-run] aws")]
    assert calls[:6] == [
        # The primary's writers first: they came back with the region, on the stale instance.
        "[dry-run] aws ecs update-service --cluster clever-better-prod --service bot --desired-count 0",
        "[dry-run] aws ecs update-service --cluster clever-better-prod --service data-ingestion "
        "--desired-count 0",
        # Before the DR writers stop: at 0 tasks their health alarms would page for hours.
        "[dry-run] aws cloudwatch disable-alarm-actions --alarm-names "
        """'["clever-better-prod-bot-unhealthy-P0","clever-better-prod-ml-service-unhealthy-P0","""
        """"clever-better-prod-data-ingestion-unhealthy-P0"]' --region us-west-2""",
        "[dry-run] aws ecs update-service --cluster clever-better-prod --service bot --desired-count 0 "
        "--region us-west-2",
        "[dry-run] aws ecs update-service --cluster clever-better-prod --service data-ingestion "
        "--desired-count 0 --region us-west-2",
        "[dry-run] aws rds create-db-snapshot --db-instance-identifier clever-better-prod "
        f"--db-snapshot-identifier {snapshot} "
        """--tags '[{"Key":"Purpose","Value":"dr-failback"}]' --region us-west-2""",
    ]
    assert calls[6] == (
        "[dry-run] aws rds copy-db-snapshot --source-db-snapshot-identifier "
        f"arn:aws:rds:us-west-2:{ACCOUNT}:snapshot:{snapshot} --target-db-snapshot-identifier {snapshot} "
        "--kms-key-id alias/clever-better-prod/data --source-region us-west-2 --copy-tags"
    )
    assert calls[7].startswith(
        "[dry-run] aws rds restore-db-instance-from-db-snapshot "
        "--db-instance-identifier clever-better-prod-restored "
        f"--db-snapshot-identifier {snapshot} --db-instance-class db.r7g.large"
    )
    assert calls[8:10] == [
        "[dry-run] aws rds modify-db-instance --db-instance-identifier clever-better-prod "
        "--new-db-instance-identifier clever-better-prod-old --apply-immediately",
        "[dry-run] aws rds modify-db-instance --db-instance-identifier clever-better-prod-restored "
        "--new-db-instance-identifier clever-better-prod --apply-immediately",
    ]
    assert (
        "[dry-run] aws rds deregister-db-proxy-targets --db-proxy-name clever-better-prod "
        """--db-instance-identifiers '["clever-better-prod"]' --region us-west-2"""
    ) in calls
    assert armed() == dict.fromkeys(HEALTH_ALARMS, True)
    assert counts(PRIMARY) == {"bot": 2, "ml-service": 2, "data-ingestion": 1}
    assert counts(DR) == {"bot": 2, "ml-service": 2, "data-ingestion": 1}
    assert not [
        s
        for s in failed_over["rds"].describe_db_snapshots()["DBSnapshots"]
        if s["DBSnapshotIdentifier"] == snapshot
    ]
    assert len(failed_over["primary"].describe_db_instances()["DBInstances"]) == 1


def test_failback_brings_the_data_home_and_the_pilot_light_dark(
    failed_over: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert failback() == 0
    out = capsys.readouterr().out
    primary = failed_over["primary"]
    instances = {i["DBInstanceIdentifier"]: i for i in primary.describe_db_instances()["DBInstances"]}
    assert sorted(instances) == ["clever-better-prod", "clever-better-prod-old"]
    home = instances["clever-better-prod"]
    assert {t["Key"]: t["Value"] for t in home["TagList"]}["Purpose"] == "dr-failback"
    assert home["DeletionProtection"] is True and home["IAMDatabaseAuthenticationEnabled"] is True
    (copied,) = primary.describe_db_snapshots(DBSnapshotIdentifier=_snapshot_name(failed_over))["DBSnapshots"]
    assert copied["KmsKeyId"].startswith(f"arn:aws:kms:{PRIMARY}:")
    (target,) = primary.describe_db_proxy_targets(DBProxyName="clever-better-prod")["Targets"]
    assert target["RdsResourceId"] == "clever-better-prod"
    assert counts(PRIMARY) == {"bot": 2, "ml-service": 2, "data-ingestion": 1}
    assert counts(DR) == {"bot": 0, "ml-service": 0, "data-ingestion": 0}
    # ml-service's scaling minimum back to the pilot light's 0 (at 2 auto scaling would restart it).
    (scaling,) = boto3.client("application-autoscaling", region_name=DR).describe_scalable_targets(
        ServiceNamespace="ecs"
    )["ScalableTargets"]
    assert scaling["MinCapacity"] == 0
    # Disarmed before the counts: at 0 tasks they would page.
    assert armed() == dict.fromkeys(HEALTH_ALARMS, False)
    assert out.index("alarms disarmed") < out.index("writers stopped in us-west-2")
    assert failed_over["rds"].describe_db_proxy_targets(DBProxyName="clever-better-prod")["Targets"] == []
    # The DR copy stays until the data is verified.
    assert dr_instance(failed_over)["DBInstanceStatus"] == "available"
    assert "point api.clever-better.com at" in out and "failback complete in" in out
    assert "clever-better-prod-old in us-east-1 (the stale primary)" in out


def test_failback_without_a_failover_has_nothing_to_do(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert failback() == 1
    assert capsys.readouterr().err.startswith(
        "error: step 1 (assess) stopped: no instance clever-better-prod restored by make dr-failover in "
        "us-west-2: nothing to fail back. The DR region's instance is untouched and keeps the data; once "
        "fixed, re-run make dr-failback CONFIRM=yes: it continues from this step"
    )


def test_failback_continues_where_it_stopped(
    failed_over: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    elbv2 = boto3.client("elbv2", region_name=PRIMARY)
    (balancer,) = elbv2.describe_load_balancers(Names=["clever-better-prod"])["LoadBalancers"]
    elbv2.delete_load_balancer(LoadBalancerArn=balancer["LoadBalancerArn"])
    assert failback() == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "error: step 6 (resume) stopped: load balancer clever-better-prod not found in us-east-1: "
        "deploy production first."
    )
    assert err.rstrip().endswith("re-run make dr-failback CONFIRM=yes: it continues from this step")
    elbv2.create_load_balancer(Name="clever-better-prod", Subnets=failed_over["primary_subnets"])
    assert failback() == 0
    out = capsys.readouterr().out
    assert "the data is already back in the primary region" in out
    assert "already holds the DR region's data" in out
    assert (
        "clever-better-prod in us-east-1 is the DR region's data; clever-better-prod-old is the stale one"
        in out
    )
    # Trading in us-east-1 was resumed on the data brought home: it is not stopped again.
    assert "the data is home in us-east-1: its writers are left as they are" in out
    assert "bot in us-east-1: desired count already 2" in out
    assert "--desired-count 0\n" not in out.replace("--region us-west-2", "")
    for step in ("create-db-snapshot", "copy-db-snapshot", "restore-db-instance", "modify-db-instance"):
        assert step not in out, step
    primary = failed_over["primary"]
    assert sorted(i["DBInstanceIdentifier"] for i in primary.describe_db_instances()["DBInstances"]) == [
        "clever-better-prod",
        "clever-better-prod-old",
    ]
    assert counts(PRIMARY)["bot"] == 2 and counts(DR)["bot"] == 0
