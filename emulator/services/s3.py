"""S3: bucket policies, what moto's bucket handler drops, policy evaluation without conditions,
and CloudFormation's refusal to delete a bucket that is not empty (moto deletes nothing, silently)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from moto.s3.exceptions import BucketNotEmpty
from moto.s3.models import FakeBucket, s3_backends
from moto.utilities.utils import get_partition

from emulator.services.base import AppliedModel, Fix, Fixes, Models
from emulator.services.refusals import request_context, resource_policy_allows


def _s3(account_id: str) -> Any:
    return s3_backends[account_id]["aws"]


class BucketPolicy(AppliedModel):
    """AWS::S3::BucketPolicy: stored on the bucket, readable with GetBucketPolicy."""

    def __init__(self, bucket_name: str, policy: dict[str, Any]) -> None:
        self.bucket_name = bucket_name
        self.policy = policy

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @property
    def physical_resource_id(self) -> str:
        return self.bucket_name

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> BucketPolicy:
        bucket, policy = props["Bucket"], props["PolicyDocument"]
        _s3(account_id).put_bucket_policy(bucket, json.dumps(policy).encode())
        return cls(bucket, policy)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        bucket = cloudformation_json["Properties"]["Bucket"]
        if not isinstance(bucket, str):
            # Deletion sees the template's unresolved `{"Ref": ...}`; the physical id is the bucket.
            bucket = resource_name
        backend = _s3(account_id)
        if bucket in backend.buckets:
            backend.delete_bucket_policy(bucket)


def delivery_refusal(
    bucket_name: str,
    *,
    principal: str,
    objects: str,
    source: dict[str, str],
    account_id: str,
    region_name: str,
) -> str | None:
    """Why `principal` (a service delivering logs: CloudTrail, AWS Config) could not deliver to
    the bucket: "missing", "policy" (it may not check the bucket's ACL or write `objects`, a key
    pattern, with `bucket-owner-full-control` and the `source` condition keys), or None."""
    partition = get_partition(region_name)
    bucket = s3_backends[account_id][partition].buckets.get(bucket_name)
    if bucket is None:
        return "missing"
    if bucket.policy is None:
        return "policy"
    document = json.loads(bucket.policy)
    context = request_context(
        {**source, "aws:SecureTransport": "true", "s3:x-amz-acl": "bucket-owner-full-control"}
    )
    for action, resource in (
        ("s3:GetBucketAcl", f"arn:{partition}:s3:::{bucket_name}"),
        ("s3:PutObject", f"arn:{partition}:s3:::{bucket_name}/{objects}"),
    ):
        if not resource_policy_allows(document, principal, action, resource, context):
            return "policy"
    return None


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape to the S3 API's (as moto parses it)."""
    api: dict[str, Any] = {
        "ID": rule.get("Id"),
        "Status": rule.get("Status", "Enabled"),
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": rule["ExpirationInDays"]}
    if "NoncurrentVersionExpiration" in rule:
        api["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
        }
    if "AbortIncompleteMultipartUpload" in rule:
        api["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        }
    return api


def _bucket_after(bucket: Any, props: dict[str, Any]) -> None:
    """Apply what moto's bucket handler drops (it models only encryption and tags)."""
    backend = _s3(bucket.account_id)
    name = bucket.name
    if "VersioningConfiguration" in props:
        backend.put_bucket_versioning(name, props["VersioningConfiguration"]["Status"])
    if "PublicAccessBlockConfiguration" in props:
        block = props["PublicAccessBlockConfiguration"]
        backend.put_public_access_block(name, {k: str(v).lower() for k, v in block.items()})
    if "LifecycleConfiguration" in props:
        backend.put_bucket_lifecycle(
            name, [_lifecycle_rule(r) for r in props["LifecycleConfiguration"]["Rules"]]
        )
    if "OwnershipControls" in props:
        (rule,) = props["OwnershipControls"]["Rules"]
        backend.put_bucket_ownership_controls(name, {"OwnershipControls": {"Rule": rule}})
    if "LoggingConfiguration" in props:
        logging_config = props["LoggingConfiguration"]
        # Recorded as configured: moto checks the target's log-delivery policy, which
        # CloudFormation may create after this bucket (S3 checks it at delivery time).
        bucket.logging = {
            "TargetBucket": logging_config["DestinationBucketName"],
            "TargetPrefix": logging_config.get("LogFilePrefix", ""),
        }
    if "ReplicationConfiguration" in props:
        raise ValueError(
            "bucket replication (production's DR copies) is not modelled by the local emulator; "
            "deploy it to AWS"
        )


def permission_without_conditions(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps FakeBucket.get_permission: moto ignores policy conditions, so the standard
    "deny unless TLS" statement would deny everything; conditional statements are left out."""

    @functools.wraps(original)
    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return original(self, action, resource)
        stored = self.policy
        document = json.loads(stored)
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        document["Statement"] = [s for s in statements if "Condition" not in s]
        try:
            self.policy = json.dumps(document).encode()
            return original(self, action, resource)
        finally:
            self.policy = stored

    return get_permission


MODELS: Models = (BucketPolicy,)
FIXES: Fixes = {FakeBucket: Fix(after_create=_bucket_after)}


def _delete_only_empty(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> None:
    backend = _s3(account_id)
    if resource_name in backend.buckets and backend.buckets[resource_name].keys:
        raise BucketNotEmpty(resource_name)
    backend.delete_bucket(resource_name)


def patch_api() -> None:
    """CloudFormation cannot delete a bucket with objects in it (a stack then fails to delete,
    or a rollback fails); moto's handler returned as if it had."""
    FakeBucket.delete_from_cloudformation_json = classmethod(_delete_only_empty)  # type: ignore[method-assign,assignment]
