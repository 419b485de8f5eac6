"""The security baseline (components/security): the audit trail, GuardDuty, AWS Config and the
runbook's three roles, as production's templates hold them. Literal expected values throughout."""

from __future__ import annotations

import json
from typing import Any

from tests.support import resources

AUDIT, ACCESS = "clever-better-prod-audit", "clever-better-prod-access"
ACCOUNT = "333333333333"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/clever-better-audit"
OIDC = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"


def _role(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    matches = [
        (lid, r["Properties"])
        for lid, r in resources(template, "AWS::IAM::Role").items()
        if r["Properties"].get("RoleName") == name
    ]
    assert len(matches) == 1, name
    return matches[0]


def _policies(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement of the customer-managed policies attached to the role."""
    found = [
        s
        for r in resources(template, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in r["Properties"].get("Roles", [])
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert found, role_id
    return found


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_deployment_role_trusts_only_this_repositorys_protected_environments(
    templates: dict[str, Any],
) -> None:
    _, role = _role(templates[ACCESS], "clever-better-prod-DeploymentRole")
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Sid": "GitHubActionsOfThisRepository",
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": OIDC},
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": [
                        "repo:clever-better/infrastructure:environment:production",
                        "repo:clever-better/infrastructure:environment:production-approval",
                    ],
                }
            },
        }
    ]
    # The deploy jobs ask for three hours (the CLI waits through approval and the bake).
    assert role["MaxSessionDuration"] == 10800


def test_deployment_role_may_assume_the_bootstrap_roles_and_act_only_on_this_environment(
    templates: dict[str, Any],
) -> None:
    role_id, _ = _role(templates[ACCESS], "clever-better-prod-DeploymentRole")
    statements = {s["Sid"]: s for s in _policies(templates[ACCESS], role_id)}
    assert sorted(statements["AssumeCdkBootstrapRoles"]["Resource"]) == sorted(
        f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-{role}-role-{ACCOUNT}-{region}"
        for region in ("us-east-1", "us-west-2")
        for role in ("deploy", "file-publishing", "image-publishing", "lookup")
    )
    assert _listed(statements["AssumeCdkBootstrapRoles"]["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    writes = {sid: s for sid, s in statements.items() if sid != "ReadDeploymentState"}
    for sid, statement in writes.items():
        for resource in _listed(statement["Resource"]):
            assert resource != "*", sid
            assert (
                "clever-better-prod" in resource
                or "/clever-better/prod/" in resource
                or "cdk-hnb659fds" in resource
            ), (sid, resource)
    assert statements["ClearFailedFirstCreates"]["Resource"] == [
        f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/clever-better-prod-*/*"
        for region in ("us-east-1", "us-west-2")
    ]
    reads = statements["ReadDeploymentState"]
    assert all(a.split(":")[1].startswith(("Describe", "List")) for a in reads["Action"])
    assert not any(
        a.startswith(("iam:", "sts:"))
        for s in statements.values()
        for a in _listed(s["Action"])
        if s["Sid"] != "AssumeCdkBootstrapRoles"
    )


def test_people_need_mfa_for_read_only_and_fresh_mfa_for_admin(templates: dict[str, Any]) -> None:
    _, read_only = _role(templates[ACCESS], "clever-better-prod-ReadOnlyRole")
    _, admin = _role(templates[ACCESS], "clever-better-prod-AdminRole")
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert read_only["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Sid": "PeopleWithMfa",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": root},
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    ]
    assert admin["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Sid": "PeopleWithMfa",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": root},
            "Condition": {
                "Bool": {"aws:MultiFactorAuthPresent": "true"},
                "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
            },
        }
    ]
    assert (read_only["MaxSessionDuration"], admin["MaxSessionDuration"]) == (14400, 3600)


def test_only_the_admin_role_has_administrator_access(templates: dict[str, Any]) -> None:
    admin_arn = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/AdministratorAccess"]]
    }
    holders = []
    for name, template in templates.items():
        for role in resources(template, "AWS::IAM::Role").values():
            if admin_arn in role["Properties"].get("ManagedPolicyArns", []):
                holders.append((name, role["Properties"].get("RoleName")))
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for policy in resources(template, kind).values():
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                    allow_all = statement["Effect"] == "Allow" and "*" in _listed(statement["Action"])
                    assert not allow_all, (name, statement)
    assert sorted(holders) == [
        ("clever-better-dev-access", "clever-better-dev-AdminRole"),
        ("clever-better-prod-access", "clever-better-prod-AdminRole"),
        ("clever-better-staging-access", "clever-better-staging-AdminRole"),
    ]


def test_read_only_role_cannot_read_a_secret_value(templates: dict[str, Any]) -> None:
    role_id, role = _role(templates[ACCESS], "clever-better-prod-ReadOnlyRole")
    assert role["ManagedPolicyArns"] == [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/ReadOnlyAccess"]]}
    ]
    assert _policies(templates[ACCESS], role_id) == [
        {
            "Sid": "NoSecretValues",
            "Effect": "Deny",
            "Action": ["kms:Decrypt", "secretsmanager:BatchGetSecretValue", "secretsmanager:GetSecretValue"],
            "Resource": "*",
        }
    ]


def test_the_trail_is_multi_region_validated_encrypted_and_delivered_to_logs(
    templates: dict[str, Any],
) -> None:
    template = templates[AUDIT]
    (trail,) = resources(template, "AWS::CloudTrail::Trail").values()
    props = trail["Properties"]
    assert (
        props["TrailName"],
        props["IsLogging"],
        props["IsMultiRegionTrail"],
        props["EnableLogFileValidation"],
    ) == ("clever-better-audit", True, True, True)
    ((key_id, key),) = resources(template, "AWS::KMS::Key").items()
    assert props["KMSKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert statements["CloudTrailEncryptsLogs"]["Condition"] == {
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"},
        "StringEquals": {"aws:SourceArn": TRAIL_ARN},
    }
    ((group_id, group),) = resources(template, "AWS::Logs::LogGroup").items()
    assert group["Properties"]["LogGroupName"] == "/aws/cloudtrail/clever-better-audit"
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert props["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": [group_id, "Arn"]}
    # CloudTrail tests the bucket policy when it creates the trail.
    assert any("BucketPolicy" in d or "Policy" in d for d in trail["DependsOn"])


def test_audit_records_survive_stack_deletion(templates: dict[str, Any]) -> None:
    """The trail's bucket and key in every environment (evidence outlives a sandbox; their names
    are CloudFormation's, so a re-create never collides); the named log group in production."""
    expected = {
        "clever-better-dev-audit": "Delete",
        "clever-better-staging-audit": "Delete",
        AUDIT: "RetainExceptOnCreate",
    }
    for name, log_group_policy in expected.items():
        kept = {
            kind: sorted(r.get("DeletionPolicy", "Delete") for r in resources(templates[name], kind).values())
            for kind in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup")
        }
        assert kept == {
            "AWS::S3::Bucket": ["RetainExceptOnCreate", "RetainExceptOnCreate"],
            "AWS::KMS::Key": ["RetainExceptOnCreate"],
            "AWS::Logs::LogGroup": [log_group_policy],
        }, name
        buckets = resources(templates[name], "AWS::S3::Bucket").values()
        assert all("BucketName" not in b["Properties"] for b in buckets), name


def test_the_audit_bucket_is_tls_only_versioned_logged_and_archived(templates: dict[str, Any]) -> None:
    template = templates[AUDIT]
    buckets = resources(template, "AWS::S3::Bucket")
    (audit_id,) = [lid for lid, b in buckets.items() if "LoggingConfiguration" in b["Properties"]]
    audit = buckets[audit_id]["Properties"]
    assert audit["VersioningConfiguration"] == {"Status": "Enabled"}
    assert (
        audit["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ]
        == "aws:kms"
    )
    (rule,) = audit["LifecycleConfiguration"]["Rules"]
    assert (rule["ExpirationInDays"], rule["Transitions"]) == (
        2557,
        [{"StorageClass": "GLACIER_IR", "TransitionInDays": 90}],
    )
    policies = [
        p["Properties"]
        for p in resources(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": audit_id}
    ]
    (policy,) = policies
    by_sid = {s.get("Sid"): s for s in policy["PolicyDocument"]["Statement"]}
    assert by_sid["CloudTrailWrite"]["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL_ARN, "s3:x-amz-acl": "bucket-owner-full-control"}
    }
    tls = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert tls and all(s["Effect"] == "Deny" for s in tls)


def test_cis_metric_filters_count_what_the_security_alarms_read(templates: dict[str, Any]) -> None:
    filters = {
        f["Properties"]["MetricTransformations"][0]["MetricName"]: f["Properties"]
        for f in resources(templates[AUDIT], "AWS::Logs::MetricFilter").values()
    }
    assert sorted(filters) == [
        "AdminRoleAssumed", "ConsoleSignInFailures", "IamPolicyChanges",
        "KmsKeyDisabledOrScheduledForDeletion", "NetworkAclChanges", "RootAccountUse",
        "SecurityGroupChanges", "TrailChanges", "UnauthorizedApiCalls",
    ]  # fmt: skip
    admin = filters["AdminRoleAssumed"]
    assert admin["FilterPattern"] == (
        '{ ($.eventSource = "sts.amazonaws.com") && ($.eventName = "AssumeRole") && '
        '($.requestParameters.roleArn = "*-AdminRole") }'
    )
    assert admin["MetricTransformations"][0]["Dimensions"] == [
        {"Key": "RoleArn", "Value": "$.requestParameters.roleArn"}
    ]
    assert all(
        f["MetricTransformations"][0]["MetricNamespace"] == "CleverBetter/Security" for f in filters.values()
    )
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(templates["clever-better-prod-monitoring"], "AWS::CloudWatch::Alarm").values()
    }
    admin_alarm = alarms["clever-better-prod-admin-role-assumed-P1"]
    assert (admin_alarm["Namespace"], admin_alarm["MetricName"], admin_alarm["Threshold"]) == (
        "CleverBetter/Security",
        "AdminRoleAssumed",
        1,
    )
    assert admin_alarm["Dimensions"] == [
        {"Name": "RoleArn", "Value": f"arn:aws:iam::{ACCOUNT}:role/clever-better-prod-AdminRole"}
    ]
    account_wide = (
        "root-account-used-P1", "kms-key-disabled-P1", "trail-changed-P1", "console-sign-in-failures-P2",
        "unauthorized-api-calls-P2", "iam-policy-changed-P3", "security-group-changed-P3",
        "network-acl-changed-P3",
    )  # fmt: skip
    for name in account_wide:
        assert alarms[f"clever-better-prod-{name}"]["MetricName"] in filters, name


def test_guardduty_findings_reach_the_router_by_severity_band(templates: dict[str, Any]) -> None:
    template = templates[AUDIT]
    ((_, detector),) = resources(template, "AWS::GuardDuty::Detector").items()
    assert detector["Properties"]["Enable"] is True
    assert "DataSources" not in detector["Properties"]
    assert detector["Properties"]["Features"] == [
        {"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
        {"Name": "RDS_LOGIN_EVENTS", "Status": "ENABLED"},
        {
            "Name": "RUNTIME_MONITORING",
            "Status": "ENABLED",
            "AdditionalConfiguration": [{"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"}],
        },
    ]
    rules = {
        r["Properties"]["Name"]: r["Properties"] for r in resources(template, "AWS::Events::Rule").values()
    }
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:clever-better-prod-"
    expected = {
        "clever-better-guardduty-p0": ([{"numeric": [">=", 7]}], "p0"),
        "clever-better-guardduty-p2": ([{"numeric": [">=", 4, "<", 7]}], "p2"),
        "clever-better-guardduty-p3": ([{"numeric": ["<", 4]}], "p3"),
    }
    for name, (band, severity) in expected.items():
        assert rules[name]["EventPattern"] == {
            "source": ["aws.guardduty"],
            "detail-type": ["GuardDuty Finding"],
            "detail": {"severity": band},
        }
        assert rules[name]["Targets"] == [{"Id": "AlarmTopic", "Arn": topic + severity}]
    noncompliant = rules["clever-better-config-noncompliant"]
    assert noncompliant["EventPattern"]["detail"]["newEvaluationResult"] == {
        "complianceType": ["NON_COMPLIANT"]
    }
    assert noncompliant["Targets"] == [{"Id": "AlarmTopic", "Arn": topic + "p3"}]


def test_the_severity_topics_admit_exactly_the_security_rules(templates: dict[str, Any]) -> None:
    template = templates["clever-better-prod-monitoring"]
    admitted = {}
    for policy in resources(template, "AWS::SNS::TopicPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "SecurityFindingsOfThisAccount":
                (topic,) = policy["Properties"]["Topics"]
                admitted[json.dumps(topic)] = _listed(statement["Condition"]["ArnEquals"]["aws:SourceArn"])
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/clever-better-"
    assert sorted(sorted(arns) for arns in admitted.values()) == [
        [rule + "config-noncompliant", rule + "guardduty-p3"],
        [rule + "guardduty-p0"],
        [rule + "guardduty-p2"],
    ]
    ((_, key),) = resources(template, "AWS::KMS::Key").items()
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "SecurityFindingsPublishToEncryptedTopics"
    ]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    # No source condition: not supported for EventBridge-to-encrypted topics (SNS developer guide);
    # with one, KMS refuses every finding's publish. The topic policies above name the rules.
    assert "Condition" not in statement


def test_config_rules_check_the_runbooks_promises(templates: dict[str, Any]) -> None:
    template = templates[AUDIT]
    rules = {
        r["Properties"]["ConfigRuleName"]: r for r in resources(template, "AWS::Config::ConfigRule").values()
    }
    assert {n: r["Properties"]["Source"]["SourceIdentifier"] for n, r in rules.items()} == {
        "clever-better-secrets-rotation-enabled": "SECRETSMANAGER_ROTATION_ENABLED_CHECK",
        "clever-better-secrets-rotation-succeeded": "SECRETSMANAGER_SCHEDULED_ROTATION_SUCCESS_CHECK",
        "clever-better-rds-backups-enabled": "DB_INSTANCE_BACKUP_ENABLED",
        "clever-better-rds-storage-encrypted": "RDS_STORAGE_ENCRYPTED",
        "clever-better-s3-buckets-encrypted": "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
        "clever-better-s3-buckets-not-public": "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
        "clever-better-stack-drift": "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK",
    }
    # The runbook's longest rotation (the Betfair key, 180 days) and production's 30 days of backups.
    assert rules["clever-better-secrets-rotation-enabled"]["Properties"]["InputParameters"] == {
        "maximumAllowedRotationFrequency": "180"
    }
    assert rules["clever-better-rds-backups-enabled"]["Properties"]["InputParameters"] == {
        "backupRetentionMinimum": "30"
    }
    ((recorder_id, recorder),) = resources(template, "AWS::Config::ConfigurationRecorder").items()
    assert (
        recorder["Properties"]["RoleARN"]
        == f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    )
    ((channel_id, channel),) = resources(template, "AWS::Config::DeliveryChannel").items()
    assert recorder_id in channel["DependsOn"]
    for rule in rules.values():
        assert channel_id in rule["DependsOn"]


def test_only_the_baseline_owner_has_an_audit_stack_and_the_account_wide_alarms(
    templates: dict[str, Any],
) -> None:
    import dataclasses

    import config
    from config.model import ConfigError, validate_all

    dev, staging, production = config.load()
    shared = dataclasses.replace(staging, account=dev.account)
    try:
        validate_all([dev, shared, production])
    except ConfigError as error:
        assert str(error) == (
            "staging: security.account_baseline = True is not allowed; dev already deploys account "
            "111111111111's baseline (one trail, detector and recorder per account): set one of them False"
        )
    else:
        raise AssertionError("two baselines in one account were accepted")
    off = dataclasses.replace(shared, security=dataclasses.replace(shared.security, account_baseline=False))
    validate_all([dev, off, production])
    assert "clever-better-staging-audit" not in off.names.stacks()
    assert off.names.stacks()[-1] == "clever-better-staging-access"


def test_every_log_and_bucket_of_the_audit_stack_is_encrypted(templates: dict[str, Any]) -> None:
    for name in ("clever-better-dev-audit", "clever-better-staging-audit", AUDIT):
        template = templates[name]
        buckets = resources(template, "AWS::S3::Bucket").values()
        groups = resources(template, "AWS::Logs::LogGroup").values()
        assert len(buckets) == 2 and len(groups) == 1, name
        algorithms = sorted(
            b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
                "ServerSideEncryptionByDefault"
            ]["SSEAlgorithm"]
            for b in buckets
        )
        # The trail's own bucket under its key; the service-log bucket SSE-S3, the only encryption
        # S3 server access logging can write.
        assert algorithms == ["AES256", "aws:kms"], name
        ((key_id, _),) = resources(template, "AWS::KMS::Key").items()
        assert [g["Properties"]["KmsKeyId"] for g in groups] == [{"Fn::GetAtt": [key_id, "Arn"]}], name
        for bucket in buckets:
            assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            }, name


def test_every_fargate_task_may_pull_the_guardduty_agent(templates: dict[str, Any]) -> None:
    """Runtime monitoring adds GuardDuty's agent to every Fargate task, services and the one-off
    migration alike, pulled with the task's execution role from GuardDuty's registry."""
    agent = "arn:aws:ecr:us-east-1:593207742271:repository/aws-guardduty-agent-fargate"
    for name in (
        "clever-better-dev-services",
        "clever-better-staging-services",
        "clever-better-prod-services",
    ):
        template = templates[name]
        definitions = resources(template, "AWS::ECS::TaskDefinition").values()
        assert len(definitions) == 5, name  # bot, ml-service, data-ingestion, the migration, mlflow
        for definition in definitions:
            role_id = definition["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
            statements = [
                s
                for p in resources(template, "AWS::IAM::Policy").values()
                if {"Ref": role_id} in p["Properties"]["Roles"]
                for s in p["Properties"]["PolicyDocument"]["Statement"]
            ]
            pulls = [s for s in statements if s["Effect"] == "Allow" and agent in _listed(s["Resource"])]
            # The CDK may merge it with the pull of the service's own repository.
            assert [sorted(_listed(s["Action"])) for s in pulls] == [
                ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
            ], (name, definition["Properties"]["Family"])


def test_the_dr_region_has_its_own_detector_and_recorder_forwarding_to_the_primary(
    templates: dict[str, Any],
) -> None:
    template = templates["clever-better-prod-dr-audit"]
    ((_, detector),) = resources(template, "AWS::GuardDuty::Detector").items()
    assert detector["Properties"]["Enable"] is True
    ((_, recorder),) = resources(template, "AWS::Config::ConfigurationRecorder").items()
    # IAM and other global resources are recorded once, by the primary region's recorder.
    assert recorder["Properties"]["RecordingGroup"] == {
        "AllSupported": True,
        "IncludeGlobalResourceTypes": False,
    }
    assert len(resources(template, "AWS::Config::ConfigRule")) == 7
    # No rule of its own to the alarm topics (there are none in us-west-2): one forward.
    ((_, rule),) = resources(template, "AWS::Events::Rule").items()
    bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.guardduty", "aws.config"],
        "detail-type": ["GuardDuty Finding", "Config Rules Compliance Change"],
    }
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == bus
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    assert _policies(template, role_id) == [
        {"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus}
    ]
    assert not resources(template, "AWS::CloudTrail::Trail")  # the primary's trail records every region
