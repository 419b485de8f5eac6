"""ECR: repositories keep scan-on-push, encryption and their lifecycle policy."""

from __future__ import annotations

from typing import Any

from moto.ecr.models import Repository

from emulator.services.base import Fix, Fixes, Models


def _repository_properties(props: dict[str, Any]) -> dict[str, Any]:
    """moto keeps CloudFormation's {ScanOnPush}/{EncryptionType, KmsKey} where its API
    responses read {scanOnPush}/{encryptionType, kmsKey}: scanning looked switched off."""
    props = dict(props)
    for key in ("ImageScanningConfiguration", "EncryptionConfiguration"):
        if key in props:
            props[key] = {name[0].lower() + name[1:]: value for name, value in props[key].items()}
    return props


def _repository_after(repository: Any, props: dict[str, Any]) -> None:
    policy = props.get("LifecyclePolicy", {}).get("LifecyclePolicyText")
    if policy:
        repository.lifecycle_policy = policy


MODELS: Models = ()
FIXES: Fixes = {Repository: Fix(properties=_repository_properties, after_create=_repository_after)}
