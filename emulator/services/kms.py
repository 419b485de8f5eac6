"""KMS: keys' tags and key policy in the shapes moto's API reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from moto.kms.models import Key, kms_backends

from emulator.services.base import Fix, Fixes, Models
from emulator.services.refusals import request_context, resource_policy_allows


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


def aws_managed(key_id: str) -> bool:
    """An AWS managed key (alias/aws/sns, alias/aws/sqs, ...): its policy never changes."""
    return key_id.startswith("alias/aws/") or ":alias/aws/" in key_id


def service_key_fault(
    key_id: str,
    service: str,
    *,
    holder: str,
    via: str,
    sources: Mapping[str, str],
    account_id: str,
    region_name: str,
    note: str = "",
) -> str | None:
    """Why the service principal `service` could not use the key `key_id` of an encrypted
    `holder` ("topic", "queue") that it sends to through `via` ("sns", "sqs"): an AWS managed
    key, whose policy admits no service; no such key; or a key policy that does not allow it
    kms:GenerateDataKey and kms:Decrypt with the request's `sources` (aws:SourceArn,
    aws:SourceAccount: what that service sends KMS; `note` says so after a refusal). None when it
    could."""
    if aws_managed(key_id):
        return (
            f"the {holder} is encrypted with the AWS managed key {key_id}, whose policy {service} "
            "cannot use; encrypt it with a customer managed key"
        )
    key = find_key(key_id, account_id, region_name)
    if key is None:
        return f"its KmsMasterKeyId {key_id} is not a KMS key"
    context = request_context(
        {**sources, "kms:CallerAccount": account_id, "kms:ViaService": f"{via}.{region_name}.amazonaws.com"}
    )
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        if not resource_policy_allows(json.loads(key.policy), service, action, key.arn, context):
            return f"the policy of the {holder}'s key {key.arn} does not allow {service} {action}{note}"
    return None


MODELS: Models = ()
FIXES: Fixes = {Key: Fix(properties=_key_properties)}
