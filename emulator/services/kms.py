"""KMS: keys' tags and key policy in the shapes moto's API reads."""

from __future__ import annotations

import json
from typing import Any

from moto.kms.models import Key, kms_backends

from emulator.services.base import Fix, Fixes, Models


def _key_properties(props: dict[str, Any]) -> dict[str, Any]:
    """moto hands CloudFormation's {Key, Value} tags to an API that wants {TagKey, TagValue},
    and keeps the key policy as a dict where GetKeyPolicy expects the JSON text."""
    props = dict(props)
    props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
    if isinstance(props.get("KeyPolicy"), dict):
        props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
    return props


def find_key(key_id: str, account_id: str, region_name: str) -> Any:
    """The KMS key that `key_id` (id, ARN, alias name or alias ARN) names, or None."""
    try:
        return kms_backends[account_id][region_name].describe_key(key_id)
    except (KeyError, TypeError, AttributeError):  # moto: an unknown id, or an alias pointing at nothing
        return None


MODELS: Models = ()
FIXES: Fixes = {Key: Fix(properties=_key_properties)}
