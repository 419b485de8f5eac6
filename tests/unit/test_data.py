"""Fine-grained assertions on the data and secrets stacks of every environment."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

import config
from tests.support import PREFIXES as PRIMARY
from tests.support import resources

CONFIGS = {c.name: c for c in config.load()}
ENVS = sorted(PRIMARY)


def _one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = resources(template, resource_type).items()
    return item


def _data(templates: dict[str, Any], env: str) -> dict[str, Any]:
    return templates[f"{PRIMARY[env]}-data"]


def _secrets(templates: dict[str, Any], env: str) -> dict[str, Any]:
    return templates[f"{PRIMARY[env]}-secrets"]


@pytest.mark.parametrize("env", ENVS)
def test_database_instance(templates: dict[str, Any], env: str) -> None:
    cfg = CONFIGS[env]
    template = _data(templates, env)
    _, db = _one(template, "AWS::RDS::DBInstance")
    props = db["Properties"]
    assert props["DBInstanceIdentifier"] == PRIMARY[env]  # runbook: --db-instance-identifier
    assert props["Engine"] == "postgres" and props["EngineVersion"].startswith("17.")
    assert props["DBInstanceClass"] == f"db.{cfg.database.instance_class}"
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"]["Fn::GetAtt"][0].startswith("DataKey")
    assert props["BackupRetentionPeriod"] == cfg.backup.retention_days
    assert props["PreferredBackupWindow"] == "02:00-03:00"
    assert props["PreferredMaintenanceWindow"] == cfg.database.maintenance_window
    assert props["CopyTagsToSnapshot"] is True
    assert props["DeleteAutomatedBackups"] is False
    assert props["MaxAllocatedStorage"] == cfg.database.max_allocated_storage_gib
    assert props["MultiAZ"] is cfg.database.multi_az
    assert props["DeletionProtection"] is cfg.deletion_protection
    assert props["EnablePerformanceInsights"] is True and "PerformanceInsightsKMSKeyId" in props
    assert props["PerformanceInsightsRetentionPeriod"] == cfg.database.performance_insights_retention_days
    assert props["MonitoringInterval"] == cfg.database.monitoring_interval_seconds
    assert props["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert props["PubliclyAccessible"] is False
    assert db["DeletionPolicy"] == ("Delete" if env == "dev" else "Snapshot")
    # Exports go to our encrypted, expiring groups, which exist first.
    groups = {
        k: g
        for k, g in resources(template, "AWS::Logs::LogGroup").items()
        if g["Properties"]["LogGroupName"].startswith("/aws/rds/")
    }
    assert set(db["DependsOn"]) >= set(groups)
    assert sorted(g["Properties"]["LogGroupName"] for g in groups.values()) == [
        f"/aws/rds/instance/{PRIMARY[env]}/postgresql",
        f"/aws/rds/instance/{PRIMARY[env]}/upgrade",
    ]
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {cfg.log_retention_days}
    assert all("KmsKeyId" in g["Properties"] for g in groups.values())


@pytest.mark.parametrize("env", ENVS)
def test_native_backup_replication_only_in_production(templates: dict[str, Any], env: str) -> None:
    _, db = _one(_data(templates, env), "AWS::RDS::DBInstance")
    props = db["Properties"]
    if env == "production":
        # The DR key, by key ARN: tests/unit/test_dr.py.
        assert props["AutomaticBackupReplicationRegion"] == "us-west-2"
    else:
        assert "AutomaticBackupReplicationRegion" not in props


@pytest.mark.parametrize("env", ENVS)
def test_database_in_isolated_subnets_reachable_only_from_proxy_and_clients(
    templates: dict[str, Any], env: str
) -> None:
    template = _data(templates, env)
    _, subnet_group = _one(template, "AWS::RDS::DBSubnetGroup")
    outputs = [ref["Fn::ImportValue"] for ref in subnet_group["Properties"]["SubnetIds"]]
    assert outputs and all("IsolatedSubnet" in name for name in outputs)
    groups = resources(template, "AWS::EC2::SecurityGroup")
    db_sg = next(k for k in groups if k.startswith("DatabaseDatabaseSecurityGroup"))
    ingress = [
        r["Properties"]
        for r in resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [db_sg, "GroupId"]}
    ]
    sources = sorted(r["SourceSecurityGroupId"]["Fn::GetAtt"][0] for r in ingress)
    assert [s.removeprefix("Database").split("SecurityGroup")[0] for s in sources] == [
        "Client",
        "Proxy",
        "Roles",
    ]
    assert not any("CidrIp" in r for r in ingress)
    assert "SecurityGroupIngress" not in groups[db_sg]["Properties"]


@pytest.mark.parametrize("env", ENVS)
def test_parameter_group_timeouts_and_tls(templates: dict[str, Any], env: str) -> None:
    db_cfg = CONFIGS[env].database
    _, group = _one(_data(templates, env), "AWS::RDS::DBParameterGroup")
    params = group["Properties"]["Parameters"]
    assert params["shared_preload_libraries"] == "pg_stat_statements"
    assert params["log_min_duration_statement"] == str(db_cfg.slow_query_ms)
    assert params["statement_timeout"] == str(db_cfg.statement_timeout_seconds * 1000)
    assert params["idle_in_transaction_session_timeout"] == str(
        db_cfg.idle_in_transaction_timeout_seconds * 1000
    )
    assert params["idle_session_timeout"] == str(db_cfg.idle_session_timeout_seconds * 1000)
    assert params["rds.force_ssl"] == "1"


@pytest.mark.parametrize("env", ENVS)
def test_proxy(templates: dict[str, Any], env: str) -> None:
    db_cfg = CONFIGS[env].database
    template = _data(templates, env)
    _, proxy = _one(template, "AWS::RDS::DBProxy")
    props = proxy["Properties"]
    assert props["DBProxyName"] == PRIMARY[env]
    assert props["RequireTLS"] is True and props["EngineFamily"] == "POSTGRESQL"
    # End-to-end IAM authentication: no stored credentials (tests/unit/test_database_access.py).
    assert props["DefaultAuthScheme"] == "IAM_AUTH" and "Auth" not in props
    assert all("PrivateSubnet" in s["Fn::ImportValue"] for s in props["VpcSubnetIds"])
    _, target = _one(template, "AWS::RDS::DBProxyTargetGroup")
    assert target["Properties"]["ConnectionPoolConfigurationInfo"] == {
        "ConnectionBorrowTimeout": 30,
        "MaxConnectionsPercent": db_cfg.proxy_max_connections_percent,
        "MaxIdleConnectionsPercent": db_cfg.proxy_max_idle_connections_percent,
    }
    assert "Tags" not in target["Properties"]


@pytest.mark.parametrize("env", ENVS)
def test_credentials_and_rotation(templates: dict[str, Any], env: str) -> None:
    cfg = CONFIGS[env]
    template = _data(templates, env)
    secrets = {
        s["Properties"]["Name"]: (k, s) for k, s in resources(template, "AWS::SecretsManager::Secret").items()
    }
    token = PRIMARY[env].removeprefix("clever-better-")
    assert sorted(secrets) == [f"clever-better/{token}/database", f"clever-better/{token}/database-admin"]
    for _, secret in secrets.values():
        assert "KmsKeyId" in secret["Properties"]
        if env == "production":
            # Encrypted with the DR key, by key ARN: tests/unit/test_dr.py.
            (replica,) = secret["Properties"]["ReplicaRegions"]
            assert replica["Region"] == "us-west-2"
            assert secret["DeletionPolicy"] == "RetainExceptOnCreate"
        else:
            assert "ReplicaRegions" not in secret["Properties"]
    schedules = {
        template["Resources"][s["Properties"]["SecretId"]["Ref"]]["Properties"]["SecretId"]["Ref"]: s
        for s in resources(template, "AWS::SecretsManager::RotationSchedule").values()
    }
    admin = schedules[secrets[f"clever-better/{token}/database-admin"][0]]
    migrator = schedules[secrets[f"clever-better/{token}/database"][0]]
    assert admin["Properties"]["RotationRules"] == {
        "ScheduleExpression": f"rate({cfg.rotation.admin_days} days)"
    }
    assert migrator["Properties"]["RotationRules"] == {
        "ScheduleExpression": f"rate({cfg.rotation.application_days} days)"
    }
    # Both single-user: the migrator owns the schema, so no alternating clone (aws-cdk#25568).
    assert {s["Properties"]["HostedRotationLambda"]["RotationType"] for s in schedules.values()} == {
        "PostgreSQLSingleUser"
    }
    # Not before the bootstrap has made the role with the secret's password.
    assert migrator["Properties"]["RotateImmediatelyOnUpdate"] is False
    (bootstrap,) = resources(template, "Custom::DatabaseBootstrap")
    assert bootstrap in migrator["DependsOn"]
    for schedule in schedules.values():
        hosted = schedule["Properties"]["HostedRotationLambda"]
        # In the VPC, beside the endpoints it needs (aws-cdk#17265 / #19233).
        joined = hosted["VpcSubnetIds"]["Fn::Join"][1]
        assert all("PrivateSubnet" in p["Fn::ImportValue"] for p in joined if isinstance(p, dict))
        assert hosted["VpcSecurityGroupIds"]["Fn::GetAtt"][0].startswith("DatabaseClientSecurityGroup")
    assert cfg.rotation.admin_days == 30 and cfg.rotation.application_days == 90


@pytest.mark.parametrize("env", ENVS)
def test_aws_backup(templates: dict[str, Any], env: str) -> None:
    cfg = CONFIGS[env]
    template = _data(templates, env)
    _, vault = _one(template, "AWS::Backup::BackupVault")
    assert vault["Properties"]["BackupVaultName"] == PRIMARY[env]
    assert "EncryptionKeyArn" in vault["Properties"]
    if env == "production":
        assert_locked(vault)
    else:
        assert_deletable(vault)
    _, plan = _one(template, "AWS::Backup::BackupPlan")
    rules = {r["RuleName"]: r for r in plan["Properties"]["BackupPlan"]["BackupPlanRule"]}
    assert rules["Daily"]["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert rules["Daily"]["Lifecycle"] == {"DeleteAfterDays": cfg.backup.retention_days}
    assert rules["Hourly"]["ScheduleExpression"] == "cron(30 * * * ? *)"
    assert rules["Hourly"]["Lifecycle"] == {"DeleteAfterDays": cfg.backup.hourly_retention_days}
    for rule in rules.values():
        if env == "production":
            (copy,) = rule["CopyActions"]
            assert (
                copy["DestinationBackupVaultArn"]
                == "arn:aws:backup:us-west-2:333333333333:backup-vault:clever-better-prod-dr"
            )
            assert copy["Lifecycle"] == rule["Lifecycle"]
        else:
            assert "CopyActions" not in rule
    _, selection = _one(template, "AWS::Backup::BackupSelection")
    (arn,) = selection["Properties"]["BackupSelection"]["Resources"]
    assert "DatabaseInstanceAA8A5FDE" in str(arn)


def assert_locked(vault: dict[str, Any]) -> None:
    """Vault Lock in governance mode (no ChangeableForDays, which would make it compliance
    mode): no recovery point goes before it is 2 days old, the hourly rule's retention. The
    access policy adds a deny on AWS Backup's own delete API."""
    props = vault["Properties"]
    assert props["LockConfiguration"] == {"MinRetentionDays": 2}
    (deny,) = props["AccessPolicy"]["Statement"]
    assert deny["Effect"] == "Deny" and "backup:DeleteRecoveryPoint" in deny["Action"]
    assert vault["DeletionPolicy"] == "RetainExceptOnCreate"


def assert_deletable(vault: dict[str, Any]) -> None:
    """dev and staging: no lock and no deny, so the vault can be emptied and its stack destroyed."""
    props = vault["Properties"]
    assert "LockConfiguration" not in props and "AccessPolicy" not in props
    assert vault["DeletionPolicy"] == "Delete"


def test_dr_region_holds_key_and_vault(templates: dict[str, Any]) -> None:
    template = templates["clever-better-prod-dr-data"]
    Template.from_json(template).has_resource_properties(
        "AWS::KMS::Alias", {"AliasName": "alias/clever-better-prod/data"}
    )
    Template.from_json(template).has_resource_properties(
        "AWS::Backup::BackupVault", {"BackupVaultName": "clever-better-prod-dr"}
    )
    _, key = _one(template, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True and key["DeletionPolicy"] == "RetainExceptOnCreate"
    assert_locked(_one(template, "AWS::Backup::BackupVault")[1])


@pytest.mark.parametrize("env", ENVS)
def test_application_secrets(templates: dict[str, Any], env: str) -> None:
    template = _secrets(templates, env)
    token = PRIMARY[env].removeprefix("clever-better-")
    secrets = {
        s["Properties"]["Name"]: k for k, s in resources(template, "AWS::SecretsManager::Secret").items()
    }
    assert sorted(secrets) == [f"clever-better/{token}/betfair", f"clever-better/{token}/config"]
    (schedule,) = resources(template, "AWS::SecretsManager::RotationSchedule").values()
    props = schedule["Properties"]
    # Only Betfair's key rotates (every 6 months, runbook); the config is versioned by hand.
    assert props["SecretId"] == {"Ref": secrets[f"clever-better/{token}/betfair"]}
    assert props["RotationRules"] == {"ScheduleExpression": "rate(180 days)"}
    assert props["RotateImmediatelyOnUpdate"] is False
    function_id = props["RotationLambdaARN"]["Fn::GetAtt"][0]
    function = template["Resources"][function_id]["Properties"]
    assert function["Runtime"] == "python3.14" and function["Handler"] == "handler.handler"
    assert "ReservedConcurrentExecutions" not in function
    assert function["Environment"]["Variables"]["BETFAIR_LOGIN_URL"].startswith(
        "https://identitysso.betfair.com/"
    )
    assert all("PrivateSubnet" in s["Fn::ImportValue"] for s in function["VpcConfig"]["SubnetIds"])
    (permission,) = resources(template, "AWS::Lambda::Permission").values()
    assert permission["Properties"]["Principal"] == "secretsmanager.amazonaws.com"


@pytest.mark.parametrize("env", ENVS)
def test_rotation_function_least_privilege(templates: dict[str, Any], env: str) -> None:
    template = _secrets(templates, env)
    assert not resources(template, "AWS::IAM::Policy"), "no inline policies"
    for policy in resources(template, "AWS::IAM::ManagedPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions)
            # Only EC2's list actions (no resource-level permissions) and the deny that keeps
            # the function's own code away from network interfaces name every resource.
            if statement["Resource"] == "*":
                assert statement["Effect"] == "Deny" or actions == [
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                ], statement


@pytest.mark.parametrize("env", ENVS)
def test_reminder_topic_encrypted_tls_only(templates: dict[str, Any], env: str) -> None:
    template = _secrets(templates, env)
    _, topic = _one(template, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic["Properties"]
    _, policy = _one(template, "AWS::SNS::TopicPolicy")
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }


@pytest.mark.parametrize("env", ENVS)
def test_buckets(templates: dict[str, Any], env: str) -> None:
    cfg = CONFIGS[env]
    template = _data(templates, env)
    account = cfg.account
    buckets = {b["Properties"]["BucketName"]: b for b in resources(template, "AWS::S3::Bucket").values()}
    names = {
        f"{PRIMARY[env]}-{purpose}-{account}-us-east-1" for purpose in ("mlflow", "backups", "access-logs")
    }
    assert set(buckets) == names
    logs_name = f"{PRIMARY[env]}-access-logs-{account}-us-east-1"
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["LifecycleConfiguration"]["Rules"]
        assert bucket["DeletionPolicy"] == ("RetainExceptOnCreate" if env == "production" else "Delete")
        if name == logs_name:
            continue
        (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert props["LoggingConfiguration"]["DestinationBucketName"]["Ref"].startswith("BucketsAccessLogs")
        replication = props.get("ReplicationConfiguration")
        if env == "production":
            (rule,) = replication["Rules"]
            assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{name.replace('us-east-1', 'us-west-2')}"
            # Encrypted with the DR key, by key ARN: tests/unit/test_dr.py.
            assert "ReplicaKmsKeyID" in rule["Destination"]["EncryptionConfiguration"]
        else:
            assert replication is None
    # TLS only, on every bucket.
    for policy in resources(template, "AWS::S3::BucketPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )
    assert len(resources(template, "AWS::S3::BucketPolicy")) == 3


def test_dr_replica_buckets_exist_under_the_replicated_names(templates: dict[str, Any]) -> None:
    names = {
        b["Properties"]["BucketName"]
        for b in resources(templates["clever-better-prod-dr-data"], "AWS::S3::Bucket").values()
    }
    assert {
        "clever-better-prod-mlflow-333333333333-us-west-2",
        "clever-better-prod-backups-333333333333-us-west-2",
    } <= names
