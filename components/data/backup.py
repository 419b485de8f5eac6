"""AWS Backup: the second line behind RDS automated backups, copied to the DR region."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from components.context import Replica, UnitContext
from components.nag import acknowledge
from config.model import BackupConfig


def backup_vault(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    key: kms.IKey,
    removal_policy: cdk.RemovalPolicy,
    lock_days: int | None,
) -> backup.BackupVault:
    """An encrypted vault; with `lock_days` (production) a protected one.

    Protected: AWS Backup Vault Lock in governance mode (no ChangeableForDays, which would
    make it compliance mode, immutable) refuses deleting a recovery point younger than
    `lock_days` and any job that would keep one for less; the access policy also denies
    AWS Backup's own DeleteRecoveryPoint API. Unprotected (dev, staging): recovery points
    may be deleted, so the vault can be emptied and deleted with its stack."""
    return backup.BackupVault(
        scope,
        construct_id,
        backup_vault_name=name,
        encryption_key=key,
        block_recovery_point_deletion=lock_days is not None,
        lock_configuration=(
            None
            if lock_days is None
            else backup.LockConfiguration(min_retention=cdk.Duration.days(lock_days))
        ),
        removal_policy=removal_policy,
    )


class DatabaseBackups(Construct):
    """Daily at the backup hour (runbook: 02:00 UTC) and hourly, each copied to the DR vault
    when there is one.

    Attributes: ``vault``, ``plan``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        instance: rds.DatabaseInstance,
        config: BackupConfig,
        replica: Replica | None,
    ) -> None:
        super().__init__(scope, construct_id)
        names = context.names
        self.vault = backup_vault(
            self,
            "Vault",
            name=names.backup_vault,
            key=context.key,
            removal_policy=context.removal_policy,
            lock_days=config.vault_lock_min_retention_days,
        )
        dr_vault = None
        if replica is not None:
            # By ARN, not from_backup_vault_name: the name form silently resolves to this region.
            stack = cdk.Stack.of(self)
            dr_vault = backup.BackupVault.from_backup_vault_arn(
                self,
                "DrVault",
                f"arn:{stack.partition}:backup:{replica.region}:{stack.account}:backup-vault:{names.dr_backup_vault}",
            )

        def rule(
            rule_name: str, schedule: events.Schedule, days: int, start_hours: int
        ) -> backup.BackupPlanRule:
            keep = cdk.Duration.days(days)
            return backup.BackupPlanRule(
                rule_name=rule_name,
                schedule_expression=schedule,
                start_window=cdk.Duration.hours(start_hours),
                completion_window=cdk.Duration.hours(start_hours + 2),
                delete_after=keep,
                copy_actions=(
                    [backup.BackupPlanCopyActionProps(destination_backup_vault=dr_vault, delete_after=keep)]
                    if dr_vault
                    else None
                ),
            )

        self.plan = backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=names.backup_plan,
            backup_vault=self.vault,
            backup_plan_rules=[
                # The same hour as RDS's own backup window (config.window): a 2-hour start
                # window lets the job wait out the automated backup instead of expiring.
                rule(
                    "Daily",
                    events.Schedule.cron(minute="0", hour=str(config.daily_hour_utc)),
                    config.retention_days,
                    2,
                ),
                rule("Hourly", events.Schedule.cron(minute="30"), config.hourly_retention_days, 1),
            ],
        )
        selection = self.plan.add_selection(
            "Database", resources=[backup.BackupResource.from_rds_database_instance(instance)]
        )
        acknowledge(
            selection.node.find_child("Role"),
            "AWSBackupServiceRolePolicyForBackup is the AWS-maintained policy AWS Backup needs to "
            "snapshot and copy RDS; a hand-written copy would drift from the service's needs.",
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
        )


# The restored instance's name is AWS Backup's (`awsbackup-restore-test-...`); these are its
# documented RDS overrides ("Restore testing inferred metadata"), lists as JSON array strings.
RESTORE_SELECTION = "database"


class RestoreTest(Construct):
    """The runbook's weekly "backup review and validation": AWS Backup restores the vault's latest
    recovery point of the database (restore testing), into the database's own isolated subnets and
    security group (without the override it would look for a default VPC, which our accounts need
    not have), as a small instance, keeps it an hour, then deletes it. A failed restore raises the
    P1 `restore-test-failed` (config/alarms.py, AWS/Backup NumberOfRestoreJobsFailed).

    Attributes: ``plan``, ``selection``, ``role``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: UnitContext,
        instance: rds.DatabaseInstance,
        security_group: ec2.ISecurityGroup,
        vault: backup.IBackupVault,
        config: BackupConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        assert config.restore_test_day is not None, "no restore test configured"
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "backup.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"AWS Backup restores {context.names.db_instance}'s latest recovery point weekly",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSBackupServiceRolePolicyForRestores"
                )
            ],
        )
        acknowledge(
            self.role,
            "AWSBackupServiceRolePolicyForRestores is the AWS-maintained policy AWS Backup restores "
            "with; a hand-written copy would drift from what each resource type's restore needs.",
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForRestores]",
        )
        # The recovery points are encrypted with the data key: RDS restores them under a grant
        # the role makes (AWS Backup developer guide, restore testing troubleshooting: "Access
        # denied to KMS key").
        iam.ManagedPolicy(
            self,
            "KeyPolicy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:DescribeKey"],
                    resources=[context.key.key_arn],
                ),
                iam.PolicyStatement(
                    actions=["kms:CreateGrant"],
                    resources=[context.key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
            ],
        )
        names = context.names
        self.plan = backup.CfnRestoreTestingPlan(
            self,
            "Plan",
            restore_testing_plan_name=names.restore_testing_plan,
            schedule_expression=(
                f"cron(0 {config.restore_test_hour_utc} ? * {config.restore_test_day.upper()} *)"
            ),
            start_window_hours=4,
            recovery_point_selection=backup.CfnRestoreTestingPlan.RestoreTestingRecoveryPointSelectionProperty(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[vault.backup_vault_arn],
                recovery_point_types=["SNAPSHOT"],
                selection_window_days=7,
            ),
        )
        subnet_group = instance.node.find_child("SubnetGroup")
        assert isinstance(subnet_group, rds.SubnetGroup)
        self.selection = backup.CfnRestoreTestingSelection(
            self,
            "Selection",
            restore_testing_plan_name=self.plan.ref,
            restore_testing_selection_name=RESTORE_SELECTION,
            protected_resource_type="RDS",
            protected_resource_arns=[instance.instance_arn],
            iam_role_arn=self.role.role_arn,
            validation_window_hours=1,
            restore_metadata_overrides={
                "dbInstanceClass": f"db.{config.restore_test_instance_class}",
                "dbSubnetGroupName": subnet_group.subnet_group_name,
                "vpcSecurityGroupIds": cdk.Fn.join("", ['["', security_group.security_group_id, '"]']),
                "multiAz": "false",
            },
        )
