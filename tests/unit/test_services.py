"""The ECS cluster and the services' log groups in every environment."""

from __future__ import annotations

from typing import Any

import pytest

import config
from tests.support import PREFIXES, resources

CONFIGS = {c.name: c for c in config.load()}


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_cluster(templates: dict[str, Any], env: str) -> None:
    template = templates[f"{PREFIXES[env]}-services"]
    ((_, cluster),) = resources(template, "AWS::ECS::Cluster").items()
    assert cluster["Properties"]["ClusterName"] == PREFIXES[env]  # runbook: --cluster clever-better-prod
    assert cluster["Properties"]["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enhanced"}]


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_service_log_groups(templates: dict[str, Any], env: str) -> None:
    template = templates[f"{PREFIXES[env]}-services"]
    groups = {g["Properties"]["LogGroupName"]: g for g in resources(template, "AWS::Logs::LogGroup").values()}
    assert sorted(groups) == [f"/ecs/{PREFIXES[env]}/{s}" for s in ("bot", "data-ingestion", "ml-service")]
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == CONFIGS[env].log_retention_days
        assert group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0].startswith("LogsKey")
        assert group["DeletionPolicy"] == ("Retain" if env == "production" else "Delete")


def test_services_stack_is_stateless(assembly_dir: Any, templates: dict[str, Any]) -> None:
    import json

    manifest = json.loads((assembly_dir / "assembly-production" / "manifest.json").read_text())
    (artifact,) = [a for a in manifest["artifacts"].values() if a.get("displayName") == "production/services"]
    assert not artifact["properties"].get("terminationProtection", False)
