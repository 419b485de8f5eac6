"""Fine-grained assertions on the data and secrets stacks of every environment."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.support import PREFIXES as PRIMARY
from tests.support import resources

ENVS = sorted(PRIMARY)

# What README's configuration reference and the runbook promise per environment, literally:
# never read back from the configuration the stacks are built from.
EXPECTED: dict[str, dict[str, Any]] = {
    "dev": {
        "account": "111111111111",
        "instance_class": "db.t4g.micro",
        "max_allocated_storage": 50,
        "multi_az": False,
        "deletion_protection": False,
        "deletion_policy": "Delete",
        "backup_retention_days": 7,
        "log_retention_days": 14,
        "performance_insights_days": 7,
        "monitoring_interval": 60,
    },
    "staging": {
        "account": "222222222222",
        "instance_class": "db.t4g.medium",
        "max_allocated_storage": 200,
        "multi_az": False,
        "deletion_protection": True,
        "deletion_policy": "Snapshot",
        "backup_retention_days": 14,
        "log_retention_days": 30,
        "performance_insights_days": 7,
        "monitoring_interval": 60,
    },
    "production": {
        "account": "333333333333",
        "instance_class": "db.r7g.large",
        "max_allocated_storage": 1000,
        "multi_az": True,
        "deletion_protection": True,
        "deletion_policy": "Snapshot",
        "backup_retention_days": 30,
        "log_retention_days": 90,
        "performance_insights_days": 31,
        "monitoring_interval": 15,
    },
}


def _one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = resources(template, resource_type).items()
    return item


def _data(templates: dict[str, Any], env: str) -> dict[str, Any]:
    return templates[f"{PRIMARY[env]}-data"]


def _secrets(templates: dict[str, Any], env: str) -> dict[str, Any]:
    return templates[f"{PRIMARY[env]}-secrets"]


@pytest.mark.parametrize("env", ENVS)
def test_database_instance(templates: dict[str, Any], env: str) -> None:
    expected = EXPECTED[env]
    template = _data(templates, env)
    _, db = _one(template, "AWS::RDS::DBInstance")
    props = db["Properties"]
    assert props["DBInstanceIdentifier"] == PRIMARY[env]  # runbook: --db-instance-identifier
    assert props["Engine"] == "postgres" and props["EngineVersion"].startswith("17.")
    assert props["DBInstanceClass"] == expected["instance_class"]
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"]["Fn::GetAtt"][0].startswith("DataKey")
    assert props["BackupRetentionPeriod"] == expected["backup_retention_days"]
    assert props["PreferredBackupWindow"] == "02:00-03:00"  # runbook: 02:00 UTC
    assert props["PreferredMaintenanceWindow"] == "sun:04:00-sun:05:00"
    assert props["CopyTagsToSnapshot"] is True
    assert props["DeleteAutomatedBackups"] is False
    assert props["MaxAllocatedStorage"] == expected["max_allocated_storage"]
    assert props["MultiAZ"] is expected["multi_az"]
    assert props["DeletionProtection"] is expected["deletion_protection"]
    assert props["EnablePerformanceInsights"] is True and "PerformanceInsightsKMSKeyId" in props
    assert props["PerformanceInsightsRetentionPeriod"] == expected["performance_insights_days"]
    assert props["MonitoringInterval"] == expected["monitoring_interval"]
    assert props["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert props["PubliclyAccessible"] is False
    assert db["DeletionPolicy"] == expected["deletion_policy"]
    # Exports go to our encrypted, expiring groups, which exist first.
    groups = {
        k: g
        for k, g in resources(template, "AWS::Logs::LogGroup").items()
        if g["Properties"]["LogGroupName"].startswith("/aws/rds/")
    }
    assert sorted(g["Properties"]["LogGroupName"] for g in groups.values()) == [
        f"/aws/rds/instance/{PRIMARY[env]}/postgresql",
        f"/aws/rds/instance/{PRIMARY[env]}/upgrade",
    ]
    assert set(db["DependsOn"]) >= set(groups)
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {expected["log_retention_days"]}
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
        "Maintenance",  # the monthly VACUUM (ANALYZE); its id has no Database prefix
    ]
    assert not any("CidrIp" in r for r in ingress)
    assert "SecurityGroupIngress" not in groups[db_sg]["Properties"]


@pytest.mark.parametrize("env", ENVS)
def test_parameter_group_timeouts_and_tls(templates: dict[str, Any], env: str) -> None:
    _, group = _one(_data(templates, env), "AWS::RDS::DBParameterGroup")
    params = group["Properties"]["Parameters"]
    assert params["shared_preload_libraries"] == "pg_stat_statements"
    # Milliseconds: slow queries from 500 ms; 60 s statements and idle transactions, 1 h sessions.
    assert params["log_min_duration_statement"] == "500"
    assert params["statement_timeout"] == "60000"
    assert params["idle_in_transaction_session_timeout"] == "60000"
    assert params["idle_session_timeout"] == "3600000"
    assert params["rds.force_ssl"] == "1"


@pytest.mark.parametrize("env", ENVS)
def test_proxy(templates: dict[str, Any], env: str) -> None:
    template = _data(templates, env)
    _, proxy = _one(template, "AWS::RDS::DBProxy")
    props = proxy["Properties"]
    assert props["DBProxyName"] == PRIMARY[env]
    assert props["RequireTLS"] is True and props["EngineFamily"] == "POSTGRESQL"
    # End-to-end IAM authentication: no stored credentials (tests/unit/test_database_access.py).
    assert props["DefaultAuthScheme"] == "IAM_AUTH" and "Auth" not in props
    assert props["VpcSubnetIds"] and all(
        "PrivateSubnet" in s["Fn::ImportValue"] for s in props["VpcSubnetIds"]
    )
    _, target = _one(template, "AWS::RDS::DBProxyTargetGroup")
    assert target["Properties"]["ConnectionPoolConfigurationInfo"] == {
        "ConnectionBorrowTimeout": 30,
        "MaxConnectionsPercent": 90,
        "MaxIdleConnectionsPercent": 50,
    }
    assert "Tags" not in target["Properties"]


@pytest.mark.parametrize("env", ENVS)
def test_credentials_and_rotation(templates: dict[str, Any], env: str) -> None:
    template = _data(templates, env)
    secrets = {
        s["Properties"]["Name"]: (k, s) for k, s in resources(template, "AWS::SecretsManager::Secret").items()
    }
    token = PRIMARY[env].removeprefix("clever-better-")
    assert sorted(secrets) == [
        f"clever-better/{token}/database",
        f"clever-better/{token}/database-admin",
        f"clever-better/{token}/database-mlflow",
    ]
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
    mlflow = schedules[secrets[f"clever-better/{token}/database-mlflow"][0]]
    # Runbook: admin credentials every 30 days, application credentials every 90.
    assert admin["Properties"]["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}
    assert migrator["Properties"]["RotationRules"] == {"ScheduleExpression": "rate(90 days)"}
    assert mlflow["Properties"]["RotationRules"] == {"ScheduleExpression": "rate(90 days)"}
    # Both single-user: the migrator owns the schema, so no alternating clone (aws-cdk#25568).
    assert {s["Properties"]["HostedRotationLambda"]["RotationType"] for s in schedules.values()} == {
        "PostgreSQLSingleUser"
    }
    # Not before the bootstrap has made the role with the secret's password.
    (bootstrap,) = resources(template, "Custom::DatabaseBootstrap")
    for user in (migrator, mlflow):
        assert user["Properties"]["RotateImmediatelyOnUpdate"] is False
        assert bootstrap in user["DependsOn"]
    for schedule in schedules.values():
        hosted = schedule["Properties"]["HostedRotationLambda"]
        # In the VPC, beside the endpoints it needs (aws-cdk#17265 / #19233).
        imported = [
            p["Fn::ImportValue"] for p in hosted["VpcSubnetIds"]["Fn::Join"][1] if isinstance(p, dict)
        ]
        assert imported and all("PrivateSubnet" in name for name in imported)
        assert hosted["VpcSecurityGroupIds"]["Fn::GetAtt"][0].startswith("DatabaseClientSecurityGroup")


@pytest.mark.parametrize("env", ENVS)
def test_aws_backup(templates: dict[str, Any], env: str) -> None:
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
    assert sorted(rules) == ["Daily", "Hourly"]
    # Runbook: daily at 02:00 UTC, kept like RDS's automated backups; hourly points (RPO 1 h).
    assert rules["Daily"]["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert rules["Daily"]["Lifecycle"] == {"DeleteAfterDays": EXPECTED[env]["backup_retention_days"]}
    assert rules["Hourly"]["ScheduleExpression"] == "cron(30 * * * ? *)"
    assert rules["Hourly"]["Lifecycle"] == {"DeleteAfterDays": 2}
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
    assert sorted(secrets) == [
        f"clever-better/{token}/alerting",
        f"clever-better/{token}/betfair",
        f"clever-better/{token}/config",
    ]
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
    subnets = function["VpcConfig"]["SubnetIds"]
    assert subnets and all("PrivateSubnet" in s["Fn::ImportValue"] for s in subnets)
    (permission,) = resources(template, "AWS::Lambda::Permission").values()
    assert permission["Properties"]["Principal"] == "secretsmanager.amazonaws.com"


@pytest.mark.parametrize("env", ENVS)
def test_rotation_function_least_privilege(templates: dict[str, Any], env: str) -> None:
    template = _secrets(templates, env)
    assert not resources(template, "AWS::IAM::Policy"), "no inline policies"
    statements = [
        statement
        for policy in resources(template, "AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements, "the rotation function's managed policy"
    every_resource = 0
    for statement in statements:
        actions = _listed(statement["Action"])
        assert not any(a == "*" or a.endswith(":*") for a in actions), statement
        # Only EC2's list actions (no resource-level permissions) and the deny that keeps
        # the function's own code away from network interfaces name every resource.
        if "*" in _listed(statement["Resource"]):
            every_resource += 1
            assert statement["Effect"] == "Deny" or actions == [
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
            ], statement
    assert every_resource >= 1  # the EC2 list actions: the check above ran


def _listed(value: Any) -> list[Any]:
    """A policy's Action or Resource: one value or a list of them."""
    return value if isinstance(value, list) else [value]


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
    template = _data(templates, env)
    account = EXPECTED[env]["account"]
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
    assert len(resources(template, "AWS::S3::BucketPolicy")) == 3
    for policy in resources(template, "AWS::S3::BucketPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_dr_replica_buckets_exist_under_the_replicated_names(templates: dict[str, Any]) -> None:
    names = {
        b["Properties"]["BucketName"]
        for b in resources(templates["clever-better-prod-dr-data"], "AWS::S3::Bucket").values()
    }
    assert {
        "clever-better-prod-mlflow-333333333333-us-west-2",
        "clever-better-prod-backups-333333333333-us-west-2",
    } <= names


def test_a_weekly_restore_test_restores_the_latest_recovery_point_into_the_databases_own_network(
    templates: dict[str, Any],
) -> None:
    """Runbook: weekly backup review and validation, as AWS Backup restore testing."""
    template = templates["clever-better-prod-data"]
    ((plan_id, plan),) = resources(template, "AWS::Backup::RestoreTestingPlan").items()
    ((vault_id, _),) = resources(template, "AWS::Backup::BackupVault").items()
    assert plan["Properties"] == {
        "RestoreTestingPlanName": "clever_better_prod_database",
        # Saturday 06:00 UTC: after the day's 02:00 backup, clear of Sunday's maintenance.
        "ScheduleExpression": "cron(0 6 ? * SAT *)",
        "StartWindowHours": 4,
        "RecoveryPointSelection": {
            "Algorithm": "LATEST_WITHIN_WINDOW",
            "IncludeVaults": [{"Fn::GetAtt": [vault_id, "BackupVaultArn"]}],
            "RecoveryPointTypes": ["SNAPSHOT"],
            "SelectionWindowDays": 7,
        },
        "Tags": plan["Properties"]["Tags"],
    }
    ((_, selection),) = resources(template, "AWS::Backup::RestoreTestingSelection").items()
    props = selection["Properties"]
    assert props["RestoreTestingPlanName"] == {"Ref": plan_id}
    assert (
        props["RestoreTestingSelectionName"],
        props["ProtectedResourceType"],
        props["ValidationWindowHours"],
    ) == (
        "database",
        "RDS",
        1,
    )
    ((instance_id, _),) = resources(template, "AWS::RDS::DBInstance").items()
    ((subnet_group_id, _),) = resources(template, "AWS::RDS::DBSubnetGroup").items()
    # The instance's own security group: the restored copy sits where the instance does.
    ((_, instance),) = resources(template, "AWS::RDS::DBInstance").items()
    ((group_id, _),) = [ref["Fn::GetAtt"] for ref in instance["Properties"]["VPCSecurityGroups"]]
    assert len(props["ProtectedResourceArns"]) == 1
    assert instance_id in json.dumps(props["ProtectedResourceArns"])
    # Without its own subnet group AWS Backup would look for a default VPC.
    assert props["RestoreMetadataOverrides"] == {
        "dbInstanceClass": "db.t4g.micro",
        "dbSubnetGroupName": {"Ref": subnet_group_id},
        "vpcSecurityGroupIds": {"Fn::Join": ["", ['["', {"Fn::GetAtt": [group_id, "GroupId"]}, '"]']]},
        "multiAz": "false",
    }
    role = template["Resources"][props["IamRoleArn"]["Fn::GetAtt"][0]]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "333333333333"}},
            "Effect": "Allow",
            "Principal": {"Service": "backup.amazonaws.com"},
        }
    ]
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(templates["clever-better-prod-monitoring"], "AWS::CloudWatch::Alarm").values()
    }
    failed = alarms["clever-better-prod-restore-test-failed-P1"]
    assert (failed["Namespace"], failed["MetricName"], failed["Threshold"], failed["Period"]) == (
        "AWS/Backup",
        "NumberOfRestoreJobsFailed",
        1,
        3600,
    )
    assert failed["Dimensions"] == [{"Name": "BackupVaultName", "Value": "clever-better-prod"}]
