"""`cdk deploy` of dev into a fresh local emulator with the real CDK CLI, checked through boto3.

The same code path as `make deploy-local` (emulator/local.py), on its own port and state folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from emulator import local
from tests.support import synth, template_files

pytestmark = pytest.mark.integration
STACK = "clever-better-dev-network"
DATA = "clever-better-dev-data"
SECRETS = "clever-better-dev-secrets"
REGISTRY = "clever-better-dev-registry"
SERVICES = "clever-better-dev-services"
ALERTING = "clever-better-dev-alerting"
AUDIT = "clever-better-dev-audit"
ACCESS = "clever-better-dev-access"
# Literal, as every expected value here: a drift in config must fail here, not match itself.
PREFIX = "clever-better-dev"


def test_stacks_complete_with_outputs(deployed: Any, clients: dict[str, Any]) -> None:
    _, _, outputs = deployed
    assert sorted(outputs) == [ACCESS, ALERTING, AUDIT, DATA, STACK, REGISTRY, SECRETS, SERVICES]
    for name in (STACK, DATA, SECRETS, REGISTRY, SERVICES, ALERTING, AUDIT, ACCESS):
        (stack,) = clients["cloudformation"].describe_stacks(StackName=name)["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == outputs[name]
    network = {
        "VpcId",
        "VpcCidr",
        "PublicSubnetIds",
        "PrivateSubnetIds",
        "IsolatedSubnetIds",
        "FlowLogGroupName",
    }
    data = {
        "DbInstanceIdentifier",
        "DbEndpoint",
        "ProxyEndpoint",
        "MigratorSecretName",
        "AdminSecretArn",
        "BackupVaultName",
    }
    assert network <= set(outputs[STACK]) and data <= set(outputs[DATA])


def test_vpc_and_subnets_as_configured(deployed: Any, clients: dict[str, Any]) -> None:
    outputs = deployed[2][STACK]
    ec2 = clients["ec2"]
    (vpc,) = ec2.describe_vpcs(VpcIds=[outputs["VpcId"]])["Vpcs"]
    assert vpc["CidrBlock"] == "10.0.0.0/16" == outputs["VpcCidr"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert len(subnets) == 3 * 2  # three tiers in two zones
    for tier in ("Public", "Private", "Isolated"):
        ids = set(outputs[f"{tier}SubnetIds"].split(","))
        tier_subnets = [s for s in subnets if s["SubnetId"] in ids]
        assert len(tier_subnets) == 2
        # The physical zones config names (whatever this account calls them).
        assert {s["AvailabilityZoneId"] for s in tier_subnets} == {"use1-az1", "use1-az2"}
        assert not any(s["MapPublicIpOnLaunch"] for s in tier_subnets)
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NatGateways"]
    assert len(nats) == 1


def test_endpoints(deployed: Any, clients: dict[str, Any]) -> None:
    vpc_id = deployed[2][STACK]["VpcId"]
    endpoints = clients["ec2"].describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "VpcEndpoints"
    ]
    by_type: dict[str, list[str]] = {}
    for endpoint in endpoints:
        by_type.setdefault(endpoint["VpcEndpointType"], []).append(endpoint["ServiceName"].rsplit(".", 1)[-1])
    assert by_type["Gateway"] == ["s3"]
    suffixes = sorted(
        e["ServiceName"].removeprefix("com.amazonaws.us-east-1.")
        for e in endpoints
        if e["VpcEndpointType"] == "Interface"
    )
    assert suffixes == sorted(
        ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "kms", "sts", "monitoring", "ecs"]
    )


def test_flow_logs_to_encrypted_group(deployed: Any, clients: dict[str, Any]) -> None:
    outputs = deployed[2][STACK]
    (flow_log,) = clients["ec2"].describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [outputs["VpcId"]]}]
    )["FlowLogs"]
    assert flow_log["LogGroupName"] == outputs["FlowLogGroupName"] == "/vpc/clever-better-dev/flow-logs"
    assert flow_log["TrafficType"] == "ALL"
    (group,) = clients["logs"].describe_log_groups(logGroupNamePrefix=outputs["FlowLogGroupName"])[
        "logGroups"
    ]
    assert group["retentionInDays"] == 14
    key = clients["kms"].describe_key(KeyId=group["kmsKeyId"])["KeyMetadata"]
    assert key["Enabled"]
    assert clients["kms"].get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]


def test_default_security_group_has_no_rules(deployed: Any, clients: dict[str, Any]) -> None:
    vpc_id = deployed[2][STACK]["VpcId"]
    (default,) = clients["ec2"].describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []


def test_database_as_configured(deployed: Any, clients: dict[str, Any]) -> None:
    outputs = deployed[2]
    (db,) = clients["rds"].describe_db_instances(DBInstanceIdentifier="clever-better-dev")["DBInstances"]
    assert outputs[DATA]["DbInstanceIdentifier"] == "clever-better-dev"
    assert db["Engine"] == "postgres" and db["EngineVersion"].startswith("17.")
    assert db["DBInstanceClass"] == "db.t4g.micro"
    assert db["StorageEncrypted"] and db["KmsKeyId"]
    assert db["BackupRetentionPeriod"] == 7
    assert db["PreferredBackupWindow"] == "02:00-03:00"
    assert db["MultiAZ"] is False
    assert db["DeletionProtection"] is False
    assert db["CopyTagsToSnapshot"] is True
    assert db["MaxAllocatedStorage"] == 50
    assert sorted(db["EnabledCloudwatchLogsExports"]) == ["postgresql", "upgrade"]
    assert not db["PubliclyAccessible"]
    isolated = set(outputs[STACK]["IsolatedSubnetIds"].split(","))
    assert {s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]} == isolated
    params = clients["rds"].describe_db_parameters(
        DBParameterGroupName=db["DBParameterGroups"][0]["DBParameterGroupName"]
    )
    values = {p["ParameterName"]: p.get("ParameterValue") for p in params["Parameters"]}
    assert values["shared_preload_libraries"] == "pg_stat_statements"
    assert values["rds.force_ssl"] == "1"
    (proxy,) = clients["rds"].describe_db_proxies(DBProxyName="clever-better-dev")["DBProxies"]
    assert proxy["RequireTLS"] is True and proxy["EngineFamily"] == "POSTGRESQL"
    assert proxy["Endpoint"] == outputs[DATA]["ProxyEndpoint"]
    # End-to-end IAM: no secret behind the proxy.
    assert proxy["DefaultAuthScheme"] == "IAM_AUTH" and proxy.get("Auth", []) == []
    # The roles' bootstrap ran (locally: its checks, emulator/services/rds.py).
    resources = clients["cloudformation"].describe_stack_resources(StackName=DATA)["StackResources"]
    (bootstrap,) = [r for r in resources if r["ResourceType"] == "Custom::DatabaseBootstrap"]
    assert bootstrap["ResourceStatus"] == "CREATE_COMPLETE"
    assert bootstrap["PhysicalResourceId"] == "clever-better-dev/clever_better"


def test_credentials_rotated_and_encrypted(deployed: Any, clients: dict[str, Any]) -> None:
    sm = clients["secretsmanager"]
    expected = {"clever-better/dev/database-admin": 30, "clever-better/dev/database": 90}
    for name, days in expected.items():
        secret = sm.describe_secret(SecretId=name)
        assert secret["RotationEnabled"] and secret["RotationRules"]["AutomaticallyAfterDays"] == days
        assert secret["KmsKeyId"].startswith("arn:aws:kms:us-east-1:")
    migrator = json.loads(sm.get_secret_value(SecretId="clever-better/dev/database")["SecretString"])
    assert migrator["username"] == "app_migrator" and migrator["dbname"] == "clever_better"
    assert migrator["host"].startswith("clever-better-dev.") and migrator["port"] == 5432


def test_application_secrets(deployed: Any, clients: dict[str, Any]) -> None:
    sm = clients["secretsmanager"]
    config_secret = sm.describe_secret(SecretId="clever-better/dev/config")
    assert not config_secret.get("RotationEnabled")
    assert json.loads(sm.get_secret_value(SecretId="clever-better/dev/config")["SecretString"]) == {
        "environment": "dev"
    }
    betfair = sm.describe_secret(SecretId="clever-better/dev/betfair")
    assert betfair["RotationEnabled"] and betfair["RotationRules"]["AutomaticallyAfterDays"] == 180
    function = clients["lambda"].get_function(FunctionName="clever-better-dev-betfair-rotation")[
        "Configuration"
    ]
    assert betfair["RotationLambdaARN"] == function["FunctionArn"]
    assert function["Runtime"] == "python3.14"
    private = set(deployed[2][STACK]["PrivateSubnetIds"].split(","))
    assert set(function["VpcConfig"]["SubnetIds"]) == private
    topic = deployed[2][SECRETS]["RotationReminderTopicArn"]
    policy = json.loads(clients["sns"].get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert any(s["Effect"] == "Deny" for s in policy["Statement"])


def test_buckets(deployed: Any, clients: dict[str, Any]) -> None:
    s3 = clients["s3"]
    outputs = deployed[2][DATA]
    assert outputs["ModelBucketName"] == f"clever-better-dev-mlflow-{local.ACCOUNT}-us-east-1"
    for name in (outputs["ModelBucketName"], outputs["BackupsBucketName"]):
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
        rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        assert all(block.values())
        policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        assert any(st["Effect"] == "Deny" for st in policy["Statement"])
        logging = s3.get_bucket_logging(Bucket=name)["LoggingEnabled"]
        assert logging["TargetBucket"] == f"clever-better-dev-access-logs-{local.ACCOUNT}-us-east-1"
        rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        assert {r["ID"] for r in rules} == {"expire-old-versions", "abort-incomplete-uploads"}


def test_image_repositories(deployed: Any, clients: dict[str, Any]) -> None:
    repositories = clients["ecr"].describe_repositories(
        repositoryNames=["bot", "ml-service", "data-ingestion"]
    )
    for repository in repositories["repositories"]:
        assert repository["imageTagMutability"] == "IMMUTABLE"
        assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repository["encryptionConfiguration"]["encryptionType"] == "KMS"
        assert (
            deployed[2][REGISTRY][
                "".join(p.capitalize() for p in repository["repositoryName"].split("-")) + "RepositoryUri"
            ]
            == repository["repositoryUri"]
        )
        policy = clients["ecr"].get_lifecycle_policy(repositoryName=repository["repositoryName"])
        assert len(json.loads(policy["lifecyclePolicyText"])["rules"]) == 2


def test_cluster_and_service_logs(deployed: Any, clients: dict[str, Any]) -> None:
    (cluster,) = clients["ecs"].describe_clusters(clusters=["clever-better-dev"], include=["SETTINGS"])[
        "clusters"
    ]
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    for service in ("bot", "ml-service", "data-ingestion"):
        (group,) = clients["logs"].describe_log_groups(
            logGroupNamePrefix=f"/ecs/clever-better-dev/{service}"
        )["logGroups"]
        assert group["retentionInDays"] == 14 and group["kmsKeyId"]


def _listeners_and_rules(elbv2: Any) -> str:
    found = {}
    for balancer in elbv2.describe_load_balancers()["LoadBalancers"]:
        for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
            rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
            found[listener["ListenerArn"]] = {"listener": listener, "rules": rules}
    return json.dumps(found, sort_keys=True, default=str)


def test_services_deploy_blue_green(deployed: Any, clients: dict[str, Any]) -> None:
    ecs, elbv2 = clients["ecs"], clients["elbv2"]
    services = {
        s["serviceName"]: s
        for s in ecs.describe_services(cluster=PREFIX, services=["bot", "ml-service", "data-ingestion"])[
            "services"
        ]
    }
    assert sorted(services) == ["bot", "data-ingestion", "ml-service"]
    for name in ("bot", "ml-service"):
        deployment = services[name]["deploymentConfiguration"]
        assert deployment["strategy"] == "BLUE_GREEN"
        assert deployment["bakeTimeInMinutes"] == 5
        assert deployment["lifecycleHooks"][0]["lifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
        assert deployment["alarms"]["rollback"] is True
        (target,) = services[name]["loadBalancers"]
        assert target["advancedConfiguration"]["alternateTargetGroupArn"] != target["targetGroupArn"]
    definition = ecs.describe_task_definition(taskDefinition=services["bot"]["taskDefinition"])[
        "taskDefinition"
    ]
    assert definition["containerDefinitions"][0]["image"].endswith("/bot:bootstrap")
    assert definition["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    # The app starts once scratch-init (passing the emulator's RegisterTaskDefinition checks)
    # has handed /tmp to uid 1000.
    app, init = definition["containerDefinitions"]
    assert (init["name"], init["essential"], init["command"]) == (
        "scratch-init",
        False,
        ["1000:1000", "/tmp"],
    )
    assert app["dependsOn"] == [{"containerName": "scratch-init", "condition": "SUCCESS"}]
    balancers = {b["LoadBalancerName"]: b for b in elbv2.describe_load_balancers()["LoadBalancers"]}
    assert balancers[PREFIX]["Scheme"] == "internet-facing"
    assert balancers[f"{PREFIX}-ml"]["Scheme"] == "internal"
    acl = clients["wafv2"].get_web_acl_for_resource(ResourceArn=balancers[PREFIX]["LoadBalancerArn"])
    assert acl["WebACL"]["Name"] == PREFIX
    alarms = {a["AlarmName"] for a in clients["cloudwatch"].describe_alarms()["MetricAlarms"]}
    assert {f"{PREFIX}-bot-deploy-{k}" for k in ("5xx", "latency", "unhealthy")} <= alarms


def test_the_mlflow_server_reads_back(deployed: Any, clients: dict[str, Any]) -> None:
    """Its service on its target group (the emulator refuses a service whose target group has no
    load balancer, or whose container lacks the port), behind the internal load balancer's port
    5000; its repository, log group, database secret with its rotation, and its P2."""
    ecs, elbv2 = clients["ecs"], clients["elbv2"]
    (service,) = ecs.describe_services(cluster=PREFIX, services=["mlflow"])["services"]
    (target,) = service["loadBalancers"]
    assert (target["containerName"], target["containerPort"]) == ("mlflow", 5000)
    (group,) = elbv2.describe_target_groups(TargetGroupArns=[target["targetGroupArn"]])["TargetGroups"]
    assert (group["Port"], group["HealthCheckPath"], group["TargetType"]) == (5000, "/health", "ip")
    balancers = {b["LoadBalancerName"]: b for b in elbv2.describe_load_balancers()["LoadBalancers"]}
    assert group["LoadBalancerArns"] == [balancers[f"{PREFIX}-ml"]["LoadBalancerArn"]]
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancers[f"{PREFIX}-ml"]["LoadBalancerArn"])
    (mlflow,) = [listener for listener in listeners["Listeners"] if listener["Port"] == 5000]
    assert mlflow["DefaultActions"][0]["TargetGroupArn"] == target["targetGroupArn"]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert definition["family"] == f"{PREFIX}-mlflow"
    assert definition["containerDefinitions"][0]["image"].endswith("/mlflow:bootstrap")
    assert "mlflow" in [r["repositoryName"] for r in clients["ecr"].describe_repositories()["repositories"]]
    (logs,) = clients["logs"].describe_log_groups(logGroupNamePrefix=f"/ecs/{PREFIX}/mlflow")["logGroups"]
    assert logs["kmsKeyId"].startswith("arn:aws:kms:us-east-1:")
    secret = clients["secretsmanager"].describe_secret(SecretId="clever-better/dev/database-mlflow")
    assert secret["RotationEnabled"] is True
    assert secret["RotationRules"]["AutomaticallyAfterDays"] == 90
    alarms = clients["cloudwatch"].describe_alarms(AlarmNames=[f"{PREFIX}-mlflow-unavailable-P2"])
    assert [a["MetricName"] for a in alarms["MetricAlarms"]] == ["RunningTaskCount"]


def test_backups_daily_and_hourly(deployed: Any, clients: dict[str, Any]) -> None:
    backup = clients["backup"]
    (plan,) = [
        p for p in backup.list_backup_plans()["BackupPlansList"] if p["BackupPlanName"] == "clever-better-dev"
    ]
    rules = backup.get_backup_plan(BackupPlanId=plan["BackupPlanId"])["BackupPlan"]["Rules"]
    by_name = {r["RuleName"]: r for r in rules}
    assert by_name["Daily"]["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert by_name["Daily"]["Lifecycle"]["DeleteAfterDays"] == 7
    assert by_name["Hourly"]["ScheduleExpression"] == "cron(30 * * * ? *)"
    assert all(r["TargetBackupVaultName"] == "clever-better-dev" for r in rules)
    vault = backup.describe_backup_vault(BackupVaultName="clever-better-dev")
    assert vault["EncryptionKeyArn"].startswith("arn:aws:kms:us-east-1:")


def test_monitoring_reads_back(deployed: Any, clients: dict[str, Any]) -> None:
    """The alarm catalogue, its topics, the dashboards, log metric filters and saved queries."""
    cloudwatch, logs, sns = clients["cloudwatch"], clients["logs"], clients["sns"]
    alarms = {
        a["AlarmName"]: a
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=PREFIX)
        for a in page["MetricAlarms"]
    }
    catalogue = {name for name in alarms if re.search(r"-P[0-3]$", name)}
    # 9 security alarms (issue 15), the restore test's, primary-unreachable, the monthly VACUUM's two,
    # the daily report's two, scheduled training's three, MLflow's
    assert len(catalogue) == 54
    topics = {
        t["TopicArn"].rsplit(":", 1)[1]: t["TopicArn"]
        for t in sns.list_topics()["Topics"]
        if ":clever-better-dev-p" in t["TopicArn"]
    }
    assert sorted(topics) == [
        "clever-better-dev-p0",
        "clever-better-dev-p1",
        "clever-better-dev-p2",
        "clever-better-dev-p3",
    ]
    loss = alarms["clever-better-dev-daily-loss-P0"]
    assert (loss["Threshold"], loss["ComparisonOperator"]) == (-1000.0, "LessThanThreshold")
    assert loss["OKActions"] == [topics["clever-better-dev-p0"]]
    # On ALARM it also halts trading (the alerting stack's function and its permission).
    halt = f"arn:aws:lambda:us-east-1:{local.ACCOUNT}:function:clever-better-dev-trading-halt"
    assert loss["AlarmActions"] == [topics["clever-better-dev-p0"], halt]
    assert alarms["clever-better-dev-bot-deploy-5xx"]["AlarmActions"] == [topics["clever-better-dev-p1"]]
    key = sns.get_topic_attributes(TopicArn=topics["clever-better-dev-p0"])["Attributes"]["KmsMasterKeyId"]
    assert key.startswith("arn:aws:kms:us-east-1:")
    dashboards = {
        d["DashboardName"] for d in cloudwatch.list_dashboards(DashboardNamePrefix=PREFIX)["DashboardEntries"]
    }
    assert dashboards == {f"{PREFIX}-{kind}" for kind in ("main", "ml-service", "infrastructure", "security")}
    body = json.loads(cloudwatch.get_dashboard(DashboardName=f"{PREFIX}-main")["DashboardBody"])
    assert body["widgets"][0]["type"] == "alarm"
    filters = {
        f["filterName"]: f["filterPattern"]
        for f in logs.describe_metric_filters(logGroupName=f"/ecs/{PREFIX}/bot")["metricFilters"]
    }
    assert filters == {
        f"{PREFIX}-bot-errors": "ERROR",
        f"{PREFIX}-bot-bet-placements": '"Bet placement recorded"',
        f"{PREFIX}-bot-circuit-breaker": '"circuit_breaker"',
    }
    queries = {
        q["name"]
        for q in logs.describe_query_definitions(queryDefinitionNamePrefix="clever-better/dev/")[
            "queryDefinitions"
        ]
    }
    assert queries == {
        "clever-better/dev/errors",
        "clever-better/dev/bet-placements",
        "clever-better/dev/circuit-breaker",
    }
    schedule = clients["scheduler"].get_schedule(Name=f"{PREFIX}-drift-check")
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
        "cron(0 6 * * ? *)",
        "UTC",
    )
    assert schedule["Target"]["Arn"].endswith(f":function:{PREFIX}-drift-check")
    # Its failures wait in the dead-letter queue the P1 alarm watches, encrypted with the
    # monitoring stack's key.
    dead_letters = f"arn:aws:sqs:us-east-1:{local.ACCOUNT}:{PREFIX}-drift-check-dlq"
    assert schedule["Target"]["DeadLetterConfig"] == {"Arn": dead_letters}
    sqs = clients["sqs"]
    queue = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName=f"{PREFIX}-drift-check-dlq")["QueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert (queue["QueueArn"], queue["MessageRetentionPeriod"]) == (dead_letters, "1209600")
    assert queue["KmsMasterKeyId"].startswith("arn:aws:kms:us-east-1:")
    watching = alarms[f"{PREFIX}-drift-check-dlq-P1"]
    assert watching["Dimensions"] == [{"Name": "QueueName", "Value": f"{PREFIX}-drift-check-dlq"}]
    # The monthly VACUUM (ANALYZE): scheduled inside the maintenance window, its function in the
    # data stack (the bootstrap's code, another entry point), its two P3s.
    vacuum = clients["scheduler"].get_schedule(Name=f"{PREFIX}-db-maintenance")
    assert vacuum["ScheduleExpression"] == "cron(15 4 ? * SUN#1 *)"
    function = clients["lambda"].get_function(FunctionName=f"{PREFIX}-db-maintenance")["Configuration"]
    assert vacuum["Target"]["Arn"] == function["FunctionArn"]
    assert (function["Handler"], function["Timeout"]) == ("maintenance.main", 900)
    assert vacuum["Target"]["DeadLetterConfig"] == {
        "Arn": f"arn:aws:sqs:us-east-1:{local.ACCOUNT}:{PREFIX}-db-maintenance-dlq"
    }
    assert {f"{PREFIX}-db-maintenance-failed-P3", f"{PREFIX}-db-maintenance-dlq-P3"} <= set(alarms)
    # The daily operations report: every morning from the alerting stack, its two P3s.
    report = clients["scheduler"].get_schedule(Name=f"{PREFIX}-daily-report")
    assert (report["ScheduleExpression"], report["ScheduleExpressionTimezone"]) == (
        "cron(0 7 * * ? *)",
        "UTC",
    )
    function = clients["lambda"].get_function(FunctionName=f"{PREFIX}-daily-report")["Configuration"]
    assert report["Target"]["Arn"] == function["FunctionArn"]
    assert (function["Handler"], function["Timeout"]) == ("handler.handler", 120)
    assert function["Environment"]["Variables"]["SECRET_ID"] == "clever-better/dev/alerting"
    assert report["Target"]["DeadLetterConfig"] == {
        "Arn": f"arn:aws:sqs:us-east-1:{local.ACCOUNT}:{PREFIX}-daily-report-dlq"
    }
    assert {f"{PREFIX}-daily-report-failed-P3", f"{PREFIX}-daily-report-dlq-P3"} <= set(alarms)
    # Scheduled training: its two schedules, the STOPPED rule (its dead-letter queue admitting
    # EventBridge, or the emulator refuses it), its P2s and P1.
    function = clients["lambda"].get_function(FunctionName=f"{PREFIX}-training")["Configuration"]
    expected = {f"{PREFIX}-training": "cron(15 5 * * ? *)", f"{PREFIX}-training-watch": "rate(15 minutes)"}
    for name, expression in expected.items():
        schedule = clients["scheduler"].get_schedule(Name=name)
        assert (schedule["ScheduleExpression"], schedule["Target"]["Arn"]) == (
            expression,
            function["FunctionArn"],
        )
    events = clients["events"]
    rule = events.describe_rule(Name=f"{PREFIX}-training-outcome")
    assert json.loads(rule["EventPattern"])["detail"]["startedBy"] == [f"{PREFIX}-training"]
    (target,) = events.list_targets_by_rule(Rule=f"{PREFIX}-training-outcome")["Targets"]
    assert (target["Arn"], target["DeadLetterConfig"]["Arn"]) == (
        function["FunctionArn"],
        f"arn:aws:sqs:us-east-1:{local.ACCOUNT}:{PREFIX}-training-dlq",
    )
    assert {
        f"{PREFIX}-training-failed-P2",
        f"{PREFIX}-training-failed-twice-P1",
        f"{PREFIX}-training-dlq-P2",
    } <= set(alarms)
    assert watching["AlarmActions"] == [topics["clever-better-dev-p1"]]
    rotation = alarms[f"{PREFIX}-secret-rotation-failed-P1"]
    assert sorted(
        d["Value"]
        for m in rotation["Metrics"]
        if "MetricStat" in m
        for d in m["MetricStat"]["Metric"]["Dimensions"]
    ) == [f"{PREFIX}-db-admin-rotation", f"{PREFIX}-db-migrator-rotation", f"{PREFIX}-db-mlflow-rotation"]


def test_the_public_endpoint_health_check_and_its_p0(deployed: Any, clients: dict[str, Any]) -> None:
    """The services stack's check on its public load balancer (by the balancer's DNS name), read
    back; the monitoring stack's P0 on it through the cross-stack export."""
    route53, cloudwatch = clients["route53"], clients["cloudwatch"]
    (check,) = route53.list_health_checks()["HealthChecks"]
    config = check["HealthCheckConfig"]
    (balancer,) = clients["elbv2"].describe_load_balancers(Names=[PREFIX])["LoadBalancers"]
    assert (config["Type"], config["FullyQualifiedDomainName"], config["ResourcePath"]) == (
        "HTTPS_STR_MATCH",
        balancer["DNSName"],
        "/health",
    )
    assert config["SearchString"] == "ok" and config["EnableSNI"] is False
    tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check["Id"])
    assert {"Key": "Name", "Value": "clever-better-dev-api-health"} in tags["ResourceTagSet"]["Tags"]
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[f"{PREFIX}-primary-unreachable-P0"])["MetricAlarms"]
    assert alarm["Namespace"] == "AWS/Route53" and alarm["MetricName"] == "HealthCheckStatus"
    assert alarm["Dimensions"] == [{"Name": "HealthCheckId", "Value": check["Id"]}]


def test_an_alarm_published_to_its_severity_topic_reaches_the_routers_queue(
    deployed: Any, clients: dict[str, Any]
) -> None:
    """The alerting stack's wiring, read back and exercised: topic -> queue (its policy and key let
    SNS deliver, or the deploy would have been refused) -> the router's event source mapping."""
    from lambdas.alarm_router import handler as router

    sns, sqs = clients["sns"], clients["sqs"]
    account = local.ACCOUNT
    topic = f"arn:aws:sns:us-east-1:{account}:{PREFIX}-p0"
    queue_arn = f"arn:aws:sqs:us-east-1:{account}:{PREFIX}-alarms-p0"
    endpoints = [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    assert endpoints == [queue_arn]
    url = sqs.get_queue_url(QueueName=f"{PREFIX}-alarms-p0")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{account}:{PREFIX}-alarm-router-dlq",
        "maxReceiveCount": 5,
    }
    assert attributes["VisibilityTimeout"] == "360"
    mappings = clients["lambda"].list_event_source_mappings(FunctionName=f"{PREFIX}-alarm-router")
    sources = sorted(m["EventSourceArn"].rsplit(":", 1)[1] for m in mappings["EventSourceMappings"])
    assert sources == [f"{PREFIX}-alarms-p{n}" for n in range(4)]
    # The 30-minute reminders: the router, every five minutes, with the event it tells apart.
    reminders = clients["scheduler"].get_schedule(Name=f"{PREFIX}-alarm-reminders")
    assert reminders["ScheduleExpression"] == "rate(5 minutes)"
    assert reminders["Target"]["Arn"] == f"arn:aws:lambda:us-east-1:{account}:function:{PREFIX}-alarm-router"
    assert json.loads(reminders["Target"]["Input"]) == {"action": "remind"}
    assert reminders["Target"]["DeadLetterConfig"] == {
        "Arn": f"arn:aws:sqs:us-east-1:{account}:{PREFIX}-alarm-router-dlq"
    }
    alarm = {
        "AlarmName": f"{PREFIX}-daily-loss-P0",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": "2026-12-02T03:15:42.123+0000",
        "AlarmArn": f"arn:aws:cloudwatch:us-east-1:{account}:alarm:{PREFIX}-daily-loss-P0",
    }
    sns.publish(TopicArn=topic, Message=json.dumps(alarm))
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    parsed = router.parse(message["Body"], fallback_id=message["MessageId"])
    assert (parsed.name, parsed.severity, parsed.state, parsed.environment) == (
        f"{PREFIX}-daily-loss-P0",
        "P0",
        "ALARM",
        "dev",
    )


def test_the_trading_halt_is_deployed_for_its_two_alarms(deployed: Any, clients: dict[str, Any]) -> None:
    """The halt function, the resource policy CloudWatch needs to invoke it, and its parameter."""
    account = local.ACCOUNT
    function = clients["lambda"].get_function(FunctionName=f"{PREFIX}-trading-halt")["Configuration"]
    assert function["Environment"]["Variables"]["HALT_PARAMETER"] == "/clever-better/dev/trading/halted"
    # Its dead-letter queue: moto does not return it; the emulator checked at create time that the
    # role may send to it and use its key (emulator/services/lambda_.py), the template test holds it.
    policy = json.loads(clients["lambda"].get_policy(FunctionName=f"{PREFIX}-trading-halt")["Policy"])
    statements = policy["Statement"]
    assert sorted(s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in statements) == [
        f"arn:aws:cloudwatch:us-east-1:{account}:alarm:{PREFIX}-daily-loss-P0",
        f"arn:aws:cloudwatch:us-east-1:{account}:alarm:{PREFIX}-emergency-shutdown-P0",
    ]
    for statement in statements:
        assert statement["Principal"] == {"Service": "lambda.alarms.cloudwatch.amazonaws.com"}
        assert statement["Action"] == "lambda:InvokeFunction"
        assert statement["Condition"]["StringEquals"]["AWS:SourceAccount"] == account
    parameter = clients["ssm"].get_parameter(Name="/clever-better/dev/trading/halted")["Parameter"]
    assert parameter["Type"] == "String"
    assert json.loads(parameter["Value"])["halted"] is False


def test_the_account_baseline_reads_back(deployed: Any, clients: dict[str, Any]) -> None:
    """The audit stack: each type created through its service's API after the create-time checks
    CloudTrail, GuardDuty, AWS Config and IAM make (emulator/services/cloudtrail.py, ...)."""
    account = local.ACCOUNT
    _, _, outputs = deployed
    (trail,) = clients["cloudtrail"].describe_trails(trailNameList=["clever-better-audit"])["trailList"]
    assert trail["S3BucketName"] == outputs[AUDIT]["AuditBucketName"]
    assert (trail["IsMultiRegionTrail"], trail["LogFileValidationEnabled"]) == (True, True)
    assert trail["CloudWatchLogsLogGroupArn"].startswith(
        f"arn:aws:logs:us-east-1:{account}:log-group:/aws/cloudtrail/clever-better-audit"
    )
    assert clients["cloudtrail"].get_trail_status(Name="clever-better-audit")["IsLogging"] is True
    filters = clients["logs"].describe_metric_filters(logGroupName="/aws/cloudtrail/clever-better-audit")
    assert len(filters["metricFilters"]) == 9
    (detector,) = clients["guardduty"].list_detectors()["DetectorIds"]
    assert detector == outputs[AUDIT]["DetectorId"]
    (recorder,) = clients["config"].describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["name"] == "clever-better"
    (status,) = clients["config"].describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["recording"] is True
    rules = clients["config"].describe_config_rules()["ConfigRules"]
    assert len([r for r in rules if r["ConfigRuleName"].startswith("clever-better-")]) == 7
    targets = clients["events"].list_targets_by_rule(Rule="clever-better-guardduty-p0")["Targets"]
    assert [t["Arn"] for t in targets] == [f"arn:aws:sns:us-east-1:{account}:{PREFIX}-p0"]
    providers = clients["iam"].list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"] for p in providers] == [
        f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
    ]


def test_the_runbooks_roles_read_back(deployed: Any, clients: dict[str, Any]) -> None:
    _, _, outputs = deployed
    iam = clients["iam"]
    for kind, session in (("DeploymentRole", 10800), ("ReadOnlyRole", 14400), ("AdminRole", 3600)):
        role = iam.get_role(RoleName=f"{PREFIX}-{kind}")["Role"]
        assert role["Arn"] == outputs[ACCESS][f"{kind}Arn"]
        assert role["MaxSessionDuration"] == session
    admin = iam.list_attached_role_policies(RoleName=f"{PREFIX}-AdminRole")["AttachedPolicies"]
    assert [p["PolicyName"] for p in admin] == ["AdministratorAccess"]


def test_the_weekly_restore_test_is_deployed(deployed: Any, clients: dict[str, Any]) -> None:
    """The emulator checked it as AWS Backup does, and that its restore would find the database's
    own subnet group and security group (emulator/services/backup.py); it records, runs nothing."""
    found = {
        r["ResourceType"]: r
        for r in clients["cloudformation"].describe_stack_resources(StackName=DATA)["StackResources"]
        if r["ResourceType"].startswith("AWS::Backup::RestoreTesting")
    }
    assert {kind: r["ResourceStatus"] for kind, r in found.items()} == {
        "AWS::Backup::RestoreTestingPlan": "CREATE_COMPLETE",
        "AWS::Backup::RestoreTestingSelection": "CREATE_COMPLETE",
    }
    assert found["AWS::Backup::RestoreTestingPlan"]["PhysicalResourceId"] == "clever_better_dev_database"
    assert (
        found["AWS::Backup::RestoreTestingSelection"]["PhysicalResourceId"]
        == "clever_better_dev_database|database"
    )


def test_second_deploy_changes_nothing(deployed: Any, clients: dict[str, Any]) -> None:
    state, port, outputs = deployed
    cfn = clients["cloudformation"]
    before = {name: len(cfn.describe_stack_events(StackName=name)["StackEvents"]) for name in outputs}
    assert local.deploy(state, port) == outputs
    after = {name: len(cfn.describe_stack_events(StackName=name)["StackEvents"]) for name in outputs}
    assert after == before, "a no-change deploy must not update a stack"


def test_cli_deploys_exactly_what_the_tests_synthesize(deployed: Any, tmp_path: Path) -> None:
    """One way of synthesizing: the CLI's templates equal the in-process ones, byte for byte."""
    state = deployed[0]
    synth(tmp_path, {"environments": "dev", "dev_account": local.ACCOUNT})
    assert template_files(tmp_path) == template_files(state / "cdk.out")


def test_new_image_tag_changes_task_definitions_not_listener_rules(
    deployed: Any, clients: dict[str, Any]
) -> None:
    """Last (it changes what is deployed): aws-cdk#36649, checked against the emulator."""
    state, port, _ = deployed
    ecs, elbv2 = clients["ecs"], clients["elbv2"]
    before = _listeners_and_rules(elbv2)
    local.deploy(state, port, image_tag="v2.0.0")
    assert _listeners_and_rules(elbv2) == before
    for name in ("bot", "ml-service", "data-ingestion"):
        (service,) = ecs.describe_services(cluster=PREFIX, services=[name])["services"]
        assert service["taskDefinition"].endswith(f"{PREFIX}-{name}:2")
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        assert definition["containerDefinitions"][0]["image"].endswith(f"/{name}:v2.0.0")
