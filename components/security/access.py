"""The runbook's three roles ("Access and Permissions"): `DeploymentRole` for CI/CD, `ReadOnlyRole`
for monitoring and troubleshooting, `AdminRole` for emergency access (break-glass).

* DeploymentRole: GitHub Actions of one repository, through the account's GitHub OIDC provider,
  from the configured protected environments or branches only (audience and subject tested
  exactly); it may assume the CDK bootstrap roles (`cdk deploy`) and make the few calls the
  pipeline's operator steps make on this environment (pre-deployment snapshot, approval, rollback,
  clearing a failed first create), nothing else.
* ReadOnlyRole: AWS's ReadOnlyAccess with MFA, minus every way to a secret value: an explicit
  deny of `secretsmanager:GetSecretValue`/`BatchGetSecretValue` and of `kms:Decrypt` (so no
  SecureString parameter, KMS-encrypted object or secret is readable through it either).
* AdminRole: AdministratorAccess, MFA at most an hour old, one-hour sessions; the audit trail's
  metric filter counts every assumption (a P1 alarm: someone is using emergency access).

Who may assume ReadOnlyRole and AdminRole comes from `security.*_principals` (config/model.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from components.nag import acknowledge
from config.model import SecurityConfig
from config.names import GITHUB_OIDC_HOST, Names

# The CDK bootstrap's roles (default qualifier) a `cdk deploy` assumes.
BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")
GITHUB_AUDIENCE = "sts.amazonaws.com"
# What the operator roles' sessions last (IAM's MaxSessionDuration, seconds): the break-glass
# role an hour; DeploymentRole three, as the deploy jobs ask (the CLI waits through the
# approval gate and the bake).
ADMIN_SESSION_SECONDS = 3600
DEPLOYMENT_SESSION_SECONDS = 3 * 3600
# Secret values, whatever else ReadOnlyAccess (or a future version of it) allows.
SECRET_READS = ("secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "kms:Decrypt")


def operator_trust(
    principals: Sequence[str], *, account: str, max_mfa_age_seconds: int | None = None
) -> list[iam.PolicyStatement]:
    """Trust statements for `principals` (SecurityConfig's grammar): IAM principals with MFA,
    Identity Center permission sets by their reserved role's ARN."""
    iam_principals = [
        f"arn:aws:iam::{account}:root" if p == "account" else p
        for p in principals
        if not p.startswith("sso:")
    ]
    sets = [p.removeprefix("sso:") for p in principals if p.startswith("sso:")]
    statements = []
    if iam_principals:
        mfa: dict[str, dict[str, str]] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        if max_mfa_age_seconds is not None:
            mfa["NumericLessThan"] = {"aws:MultiFactorAuthAge": str(max_mfa_age_seconds)}
        statements.append(
            iam.PolicyStatement(
                sid="PeopleWithMfa",
                actions=["sts:AssumeRole"],
                principals=[iam.ArnPrincipal(arn) for arn in sorted(set(iam_principals))],
                conditions=mfa,
            )
        )
    if sets:
        statements.append(
            iam.PolicyStatement(
                sid="IdentityCenterPermissionSets",
                actions=["sts:AssumeRole"],
                principals=[iam.ArnPrincipal(f"arn:aws:iam::{account}:root")],
                conditions={
                    "ArnLike": {
                        "aws:PrincipalArn": [
                            f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_{name}_*"
                            for name in sorted(set(sets))
                        ]
                    }
                },
            )
        )
    return statements


def policy(
    scope: Construct, construct_id: str, *, role: iam.IRole, statements: Sequence[iam.PolicyStatement]
) -> iam.ManagedPolicy:
    """A customer-managed policy attached to `role` alone: no inline policies (NIST IAMNoInlinePolicy)."""
    return iam.ManagedPolicy(scope, construct_id, statements=list(statements), roles=[role])


class OperatorRoles(Construct):
    """Attributes: ``deployment``, ``read_only``, ``admin`` (iam.Role each)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        security: SecurityConfig,
        regions: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        account = stack.account
        self.deployment = self._role(
            "DeploymentRole",
            names=names,
            description="CI/CD (runbook): GitHub Actions of this repository assume it to run cdk deploy",
            trust=[
                iam.PolicyStatement(
                    sid="GitHubActionsOfThisRepository",
                    actions=["sts:AssumeRoleWithWebIdentity"],
                    principals=[
                        iam.FederatedPrincipal(f"arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}")
                    ],
                    conditions={
                        "StringEquals": {
                            f"{GITHUB_OIDC_HOST}:aud": GITHUB_AUDIENCE,
                            f"{GITHUB_OIDC_HOST}:sub": [
                                f"repo:{security.github_repository}:{subject}"
                                for subject in security.deploy_subjects
                            ],
                        }
                    },
                )
            ],
            max_session=DEPLOYMENT_SESSION_SECONDS,
        )
        bootstrap = iam.PolicyStatement(
            sid="AssumeCdkBootstrapRoles",
            actions=["sts:AssumeRole", "sts:TagSession"],
            resources=[
                f"arn:aws:iam::{account}:role/cdk-{BOOTSTRAP_QUALIFIER}-{role}-role-{account}-{region}"
                for region in regions
                for role in BOOTSTRAP_ROLES
            ],
        )
        self._pipeline_operations(names, regions, bootstrap)
        self.read_only = self._role(
            "ReadOnlyRole",
            names=names,
            description="Monitoring and troubleshooting (runbook): read-only, MFA, no secret values",
            trust=operator_trust(security.readonly_principals, account=account),
            max_session=security.readonly_session_hours * 3600,
            managed=["ReadOnlyAccess"],
        )
        policy(
            self,
            "ReadOnlyPolicy",
            role=self.read_only,
            statements=[
                iam.PolicyStatement(
                    sid="NoSecretValues", effect=iam.Effect.DENY, actions=list(SECRET_READS), resources=["*"]
                )
            ],
        )
        self.admin = self._role(
            "AdminRole",
            names=names,
            description="Emergency access (runbook, break-glass): MFA, one-hour sessions, use alarmed (P1)",
            trust=operator_trust(
                security.admin_principals, account=account, max_mfa_age_seconds=ADMIN_SESSION_SECONDS
            ),
            max_session=ADMIN_SESSION_SECONDS,
            managed=["AdministratorAccess"],
        )
        acknowledge(
            self.admin,
            "The runbook's break-glass AdminRole exists to have administrator access in an "
            "emergency: MFA at most an hour old, one-hour sessions, and every assumption raises a P1.",
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AdministratorAccess]",
        )
        acknowledge(
            self.read_only,
            "AWS maintains ReadOnlyAccess as new services appear; this role denies every way to a "
            "secret value on top of it (secretsmanager:GetSecretValue, kms:Decrypt).",
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess]",
        )

    def _role(
        self,
        kind: str,
        *,
        names: Names,
        description: str,
        trust: list[iam.PolicyStatement],
        max_session: int,
        managed: Sequence[str] = (),
    ) -> iam.Role:
        assert trust, f"{kind} needs at least one principal"
        role = iam.Role(
            self,
            kind,
            role_name=names.operator_role(kind),
            description=description,
            # Replaced below by `trust`; iam.Role requires a principal to start from.
            assumed_by=iam.AccountRootPrincipal(),
            max_session_duration=cdk.Duration.seconds(max_session),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(m) for m in managed],
        )
        document = iam.PolicyDocument(statements=trust)
        cfn = role.node.default_child
        assert isinstance(cfn, iam.CfnRole)
        cfn.assume_role_policy_document = document
        return role

    def _pipeline_operations(
        self, names: Names, regions: Sequence[str], bootstrap: iam.PolicyStatement
    ) -> None:
        """The calls the pipeline's operator steps make on this environment (Makefile:
        predeploy-check, clear-failed-creates, approve, rollback, deploy-status, smoke-test; the
        boto3 calls of ops/), writes scoped to its resources by name, reads on `*`. Not granted:
        deleting what a failed first create left behind besides its stack (ops/retry.py): an
        operator clears that (docs/RUNBOOK.md "When a deploy fails")."""
        account = cdk.Stack.of(self).account
        role = self.deployment
        prefix = names.prefix

        def arns(service: str, resource: str) -> list[str]:
            return [f"arn:aws:{service}:{region}:{account}:{resource}" for region in regions]

        statements = [
            bootstrap,
            iam.PolicyStatement(
                sid="ReadDeploymentState",
                actions=[
                    "cloudformation:DescribeStacks",
                    "cloudformation:DescribeStackResources",
                    "rds:DescribeDBInstances",
                    "rds:DescribeDBSnapshots",
                    "ecs:DescribeServices",
                    "ecs:ListServiceDeployments",
                    "ecs:DescribeTaskDefinition",
                    "ecs:ListTaskDefinitions",
                    "ecs:ListTasks",
                    "elasticloadbalancing:DescribeLoadBalancers",
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeTargetHealth",
                    "backup:DescribeBackupVault",
                    "logs:DescribeLogGroups",
                    "ecr:DescribeRepositories",
                    "secretsmanager:DescribeSecret",
                    "s3:ListBucket",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="PreDeploymentSnapshot",
                actions=["rds:CreateDBSnapshot", "rds:AddTagsToResource"],
                resources=[
                    *arns("rds", f"db:{names.db_instance}"),
                    *arns("rds", f"snapshot:{prefix}-predeploy-*"),
                ],
            ),
            iam.PolicyStatement(
                sid="ApproveAndRollBack",
                actions=["ssm:GetParameter", "ssm:PutParameter"],
                resources=arns("ssm", f"parameter/clever-better/{names.token}/deploy/*"),
            ),
            iam.PolicyStatement(
                sid="StopOrRedeployServices",
                actions=["ecs:UpdateService", "ecs:StopServiceDeployment"],
                resources=[
                    *arns("ecs", f"service/{names.cluster}/*"),
                    *arns("ecs", f"service-deployment/{names.cluster}/*"),
                ],
            ),
            iam.PolicyStatement(
                sid="ClearFailedFirstCreates",
                actions=["cloudformation:DeleteStack"],
                resources=arns("cloudformation", f"stack/{prefix}-*/*"),
            ),
        ]
        managed = policy(self, "DeploymentPolicy", role=role, statements=statements)
        acknowledge(
            managed,
            "Describe and list calls of the pipeline's checks have no resource-level permissions; "
            "every write is scoped to this environment's instance, snapshots, parameters, services "
            "and stacks by name prefix, the bootstrap roles by their exact names.",
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            *(
                f"AwsSolutions::AwsSolutions-IAM5[Resource::{arn}]"
                for s in statements[2:]
                for arn in s.resources
                if "*" in arn
            ),
        )
