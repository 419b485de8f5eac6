"""CloudWatch Logs: log groups keep their KMS key."""

from __future__ import annotations

from typing import Any

from moto.logs.models import LogGroup

from emulator.services.base import Fix, Fixes, Models


def _log_group_properties(props: dict[str, Any]) -> dict[str, Any]:
    """moto's LogGroup reads the API's `kmsKeyId`, so CloudFormation's `KmsKeyId` was dropped
    and the group looked unencrypted."""
    props = dict(props)
    if "KmsKeyId" in props:
        props["kmsKeyId"] = props.pop("KmsKeyId")
    return props


MODELS: Models = ()
FIXES: Fixes = {LogGroup: Fix(properties=_log_group_properties)}
