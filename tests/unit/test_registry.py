"""The services' image repositories in every environment."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import PREFIXES, resources


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_repositories(templates: dict[str, Any], env: str) -> None:
    template = templates[f"{PREFIXES[env]}-registry"]
    repositories = {
        r["Properties"]["RepositoryName"]: r for r in resources(template, "AWS::ECR::Repository").values()
    }
    # Runbook names, exactly.
    assert sorted(repositories) == ["bot", "data-ingestion", "ml-service"]
    for repository in repositories.values():
        props = repository["Properties"]
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert props["ImageTagMutability"] == "IMMUTABLE"
        assert props["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        rules = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]
        assert rules[1]["selection"]["countNumber"] == 50
        assert repository["DeletionPolicy"] == ("RetainExceptOnCreate" if env == "production" else "Delete")


@pytest.mark.parametrize("env", sorted(PREFIXES))
def test_replication_to_dr_only_in_production(templates: dict[str, Any], env: str) -> None:
    configs = resources(templates[f"{PREFIXES[env]}-registry"], "AWS::ECR::ReplicationConfiguration")
    if env != "production":
        assert not configs
        return
    ((_, config),) = configs.items()
    (rule,) = config["Properties"]["ReplicationConfiguration"]["Rules"]
    assert rule["Destinations"] == [{"Region": "us-west-2", "RegistryId": "333333333333"}]
    assert sorted(f["Filter"] for f in rule["RepositoryFilters"]) == ["bot", "data-ingestion", "ml-service"]
