"""The registry: every service module's new models and fixes to moto's models, collected.

One module per AWS service (see emulator/__init__.py for where a new resource type goes).
Each exports MODELS (CloudFormation models for types moto lacks) and FIXES (moto's own
model -> the Fix that corrects it); list a new service module in SERVICES.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from moto.core.common_models import CloudFormationModel

from emulator.services import (
    acm,
    applicationautoscaling,
    backup,
    cloudtrail,
    cloudwatch,
    configservice,
    ec2,
    ecr,
    ecs,
    elbv2,
    events,
    guardduty,
    iam,
    kms,
    lambda_,
    logs,
    rds,
    route53,
    s3,
    scheduler,
    secretsmanager,
    sns,
    sqs,
    ssm,
    wafv2,
)
from emulator.services.base import Fix, Fixes, Models

K = TypeVar("K")
V = TypeVar("V")


class Service(Protocol):
    """What each service module exports (mypy checks every module listed in SERVICES)."""

    MODELS: Models
    FIXES: Fixes


SERVICES: tuple[Service, ...] = (
    acm,
    applicationautoscaling,
    backup,
    cloudtrail,
    cloudwatch,
    configservice,
    ec2,
    ecr,
    ecs,
    elbv2,
    events,
    guardduty,
    iam,
    kms,
    lambda_,
    logs,
    rds,
    route53,
    s3,
    scheduler,
    secretsmanager,
    sns,
    sqs,
    ssm,
    wafv2,
)


def _unique(pairs: Iterable[tuple[K, V]]) -> dict[K, V]:
    """The pairs as a dict; two modules registering the same key is a mistake, not an override."""
    collected: dict[K, V] = {}
    for key, value in pairs:
        if key in collected:
            raise ValueError(f"{key} is registered twice: {collected[key]} and {value}")
        collected[key] = value
    return collected


# CloudFormation type -> our model, for the types moto lacks.
EXTRA_MODELS: dict[str, type[CloudFormationModel]] = _unique(
    (model.cloudformation_type(), model) for service in SERVICES for model in service.MODELS
)
# moto's model -> what the emulator corrects in it.
FIXES: dict[type, Fix] = _unique(item for service in SERVICES for item in service.FIXES.items())
# Template transforms whose effect the models reproduce; any other fails the deploy.
SUPPORTED_TRANSFORMS = secretsmanager.TRANSFORMS
