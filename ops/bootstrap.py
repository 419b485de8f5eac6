"""Account preparation before the first deploy ("Deployment Procedures": infrastructure first).

    python -m ops service-linked-roles --env production [--dry-run]

`make bootstrap-ENV` runs this after `cdk bootstrap`. Some AWS services create their
service-linked role on first use, but not early enough for CloudFormation: creating the ECS
cluster races ECS's own creation of AWSServiceRoleForECS ("Unable to assume the service
linked role", cloudformation-coverage-roadmap #818), and the services' scalable targets name
Application Auto Scaling's role for ECS by ARN, and the AWS Config recorder names Config's.
Creating them first, once per account, makes
the first deploy deterministic. Idempotent: a role that exists is left alone.
"""

from __future__ import annotations

import argparse

from botocore.exceptions import ClientError

from ops.core import Call, Command, Context, error_code

# Service principal -> the role AWS names for it (IAM is global: one per account).
SERVICE_LINKED_ROLES = {
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "ecs.application-autoscaling.amazonaws.com": "AWSServiceRoleForApplicationAutoScaling_ECSService",
    # The audit stack's AWS Config recorder names it by ARN (components/security/baseline.py).
    "config.amazonaws.com": "AWSServiceRoleForConfig",
}


def _exists(ctx: Context, role: str) -> bool:
    try:
        ctx.clients("iam").get_role(RoleName=role)
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return False
        raise
    return True


def service_linked_roles(ctx: Context, args: argparse.Namespace) -> None:
    """Create each service-linked role the stacks rely on, unless it exists."""
    for service, role in SERVICE_LINKED_ROLES.items():
        if _exists(ctx, role):
            ctx.out(f"{role}: exists")
            continue
        try:
            ctx.run(Call("iam", "CreateServiceLinkedRole", {"AWSServiceName": service}))
        except ClientError as error:
            # Created meanwhile (by the service itself or a parallel bootstrap): what we wanted.
            if error_code(error) != "InvalidInput" or "has been taken" not in str(error):
                raise
        if not ctx.dry_run:
            ctx.out(f"{role}: created")


COMMANDS = (
    Command(
        "service-linked-roles",
        "Create the service-linked roles the stacks rely on (ECS, its auto scaling, AWS Config); idempotent",
        service_linked_roles,
    ),
)
