"""make bootstrap-ENV's service-linked roles, against moto's IAM: created once, then left alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from emulator.services.iam import patch_api
from ops.cli import main
from tests.support import offline_aws


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    offline_aws(monkeypatch)
    patch_api()  # service-linked roles named as AWS names them (the emulator's fix)
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


def _roles(iam: Any) -> list[str]:
    return sorted(r["Arn"] for r in iam.list_roles(PathPrefix="/aws-service-role/")["Roles"])


ROLES = [
    "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
    "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
    "arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_ECSService",
]


def test_creates_the_roles_once(iam: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service-linked-roles", "--env", "production"]) == 0
    assert _roles(iam) == ROLES
    first = capsys.readouterr().out.splitlines()
    assert first == [
        "+ aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com",
        "AWSServiceRoleForECS: created",
        "+ aws iam create-service-linked-role --aws-service-name ecs.application-autoscaling.amazonaws.com",
        "AWSServiceRoleForApplicationAutoScaling_ECSService: created",
        "+ aws iam create-service-linked-role --aws-service-name config.amazonaws.com",
        "AWSServiceRoleForConfig: created",
    ]
    # Idempotent: a second run changes nothing.
    assert main(["service-linked-roles", "--env", "production"]) == 0
    assert _roles(iam) == ROLES
    assert capsys.readouterr().out.splitlines() == [
        "AWSServiceRoleForECS: exists",
        "AWSServiceRoleForApplicationAutoScaling_ECSService: exists",
        "AWSServiceRoleForConfig: exists",
    ]


def test_dry_run_creates_nothing(iam: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--env", "dev", "--dry-run", "service-linked-roles"]) == 0
    assert _roles(iam) == []
    assert capsys.readouterr().out.splitlines() == [
        "[dry-run] aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com",
        "[dry-run] aws iam create-service-linked-role --aws-service-name "
        "ecs.application-autoscaling.amazonaws.com",
        "[dry-run] aws iam create-service-linked-role --aws-service-name config.amazonaws.com",
    ]


def test_every_service_linked_role_the_templates_name_is_bootstrapped(templates: dict[str, Any]) -> None:
    """A template that names a service-linked role by ARN relies on it existing first."""
    import json
    import re

    from ops.bootstrap import SERVICE_LINKED_ROLES

    named = {
        match
        for template in templates.values()
        for match in re.findall(r"role/aws-service-role/([\w.-]+)/(\w+)", json.dumps(template))
    }
    assert named == {
        ("ecs.application-autoscaling.amazonaws.com", "AWSServiceRoleForApplicationAutoScaling_ECSService"),
        ("config.amazonaws.com", "AWSServiceRoleForConfig"),
    }
    assert named <= set(SERVICE_LINKED_ROLES.items())
