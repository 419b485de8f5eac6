"""Teach moto's CloudFormation what our unmodified templates need, and fail loudly on the rest.

Stock moto (pinned in requirements-dev.txt: these patches touch its internals)
silently skips resource types it does not model, never completes Lambda-backed
custom resources (no Lambda runs without Docker) and answers a failing stack
with HTTP 500 and a stack stuck IN_PROGRESS. This module:

* rejects a template with a type neither moto nor this adapter models, the way
  CloudFormation rejects unknown types ("Template format error: Unrecognized
  resource types: [...]"), so nothing is ever dropped silently;
* adds models for the types we use that moto lacks (``EXTRA_MODELS``);
* updates, as CloudFormation does, resources whose unchanged text references a
  resource that got a new physical id (moto updates only resources whose text changed);
* turns an error while creating or updating resources into a failed stack with
  the reason in its events, so the CDK CLI reports it and exits non-zero;
* evaluates bucket policies without their conditional statements: moto ignores
  conditions, so the standard "deny unless TLS" statement would deny everything.

Call ``install()`` once in the process that serves moto.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.common_models import CloudFormationModel
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_ip_addresses import ElasticAddress
from moto.ecr.models import Repository as EcrRepository
from moto.ecs.models import Cluster as EcsCluster
from moto.ecs.models import Service as EcsService
from moto.ecs.models import TaskDefinition as EcsTaskDefinition
from moto.ecs.models import ecs_backends
from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup
from moto.kms.models import Key as KmsKey
from moto.logs.models import LogGroup
from moto.rds.models import DBInstance
from moto.s3.models import FakeBucket, s3_backends

from emulator.edge_models import EDGE_MODELS
from emulator.models import MODELS, SUPPORTED_TRANSFORMS, AppliedModel

logger = logging.getLogger("emulator")


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
        backend = _s3(account_id)
        if bucket in backend.buckets:
            backend.delete_bucket_policy(bucket)


class RestrictDefaultSecurityGroup(AppliedModel):
    """Custom::VpcRestrictDefaultSG: does what the CDK's handler Lambda does (revoke every
    rule of the VPC's default security group), since no Lambda runs locally."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id

    @staticmethod
    def cloudformation_type() -> str:
        return "Custom::VpcRestrictDefaultSG"

    @property
    def physical_resource_id(self) -> str:
        return self.group_id

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> RestrictDefaultSecurityGroup:
        group_id = props["DefaultSecurityGroupId"]
        group = ec2_backends[account_id][region_name].get_security_group_from_id(group_id)
        if group is None:
            raise ValueError(f"default security group {group_id} does not exist")
        group.ingress_rules = []
        group.egress_rules = []
        return cls(group_id)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        """Like the CDK handler on delete: nothing to restore for a VPC that is going away."""


_LOCAL_MODELS: tuple[Any, ...] = (BucketPolicy, RestrictDefaultSecurityGroup, *MODELS, *EDGE_MODELS)
EXTRA_MODELS: dict[str, type[CloudFormationModel]] = {
    model.cloudformation_type(): model for model in _LOCAL_MODELS
}


def _s3(account_id: str) -> Any:
    return s3_backends[account_id]["aws"]


def supported_types() -> frozenset[str]:
    """Every resource type a local deploy can create: moto's own plus ours."""
    return frozenset(parsing.get_model_map()) | frozenset(EXTRA_MODELS) | frozenset(parsing.NULL_MODELS)


def unsupported_types(template: dict[str, Any]) -> list[str]:
    """Resource types (and template transforms) a local deploy cannot reproduce."""
    types = {res.get("Type", "") for res in (template.get("Resources") or {}).values()}
    transforms = template.get("Transform") or []
    transforms = [transforms] if isinstance(transforms, str) else transforms
    return sorted(types - supported_types()) + sorted(
        f"Transform {t}" for t in set(transforms) - SUPPORTED_TRANSFORMS
    )


def _kms_key_properties(props: dict[str, Any]) -> dict[str, Any]:
    """moto hands CloudFormation's {Key, Value} tags to an API that wants {TagKey, TagValue},
    and keeps the key policy as a dict where GetKeyPolicy expects the JSON text."""
    props = dict(props)
    props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
    if isinstance(props.get("KeyPolicy"), dict):
        props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
    return props


def _log_group_properties(props: dict[str, Any]) -> dict[str, Any]:
    """moto's LogGroup reads the API's `kmsKeyId`, so CloudFormation's `KmsKeyId` was dropped
    and the group looked unencrypted."""
    props = dict(props)
    if "KmsKeyId" in props:
        props["kmsKeyId"] = props.pop("KmsKeyId")
    return props


def _db_instance_properties(props: dict[str, Any]) -> dict[str, Any]:
    """moto resolves Ref to a parameter group as the model object, then crashes on it; and
    CloudFormation accepts numbers as strings (the CDK writes "20"), moto compares them as ints."""
    props = dict(props)
    numeric = (
        "AllocatedStorage",
        "MaxAllocatedStorage",
        "Port",
        "BackupRetentionPeriod",
        "MonitoringInterval",
    )
    for key in numeric:
        if isinstance(props.get(key), str):
            props[key] = int(props[key])
    group = props.get("DBParameterGroupName")
    if group is not None and not isinstance(group, str):
        props["DBParameterGroupName"] = group.name
    return props


def _ecr_repository_properties(props: dict[str, Any]) -> dict[str, Any]:
    """moto keeps CloudFormation's {ScanOnPush}/{EncryptionType, KmsKey} where its API
    responses read {scanOnPush}/{encryptionType, kmsKey}: scanning looked switched off."""
    props = dict(props)
    for key in ("ImageScanningConfiguration", "EncryptionConfiguration"):
        if key in props:
            props[key] = {name[0].lower() + name[1:]: value for name, value in props[key].items()}
    return props


def _ecr_repository_after(repository: Any, props: dict[str, Any]) -> None:
    policy = props.get("LifecyclePolicy", {}).get("LifecyclePolicyText")
    if policy:
        repository.lifecycle_policy = policy


def _ecs_cluster_after(cluster: Any, props: dict[str, Any]) -> None:
    """moto's cluster handler reads only the name: keep Container Insights' setting."""
    if "ClusterSettings" in props:
        cluster.settings = [{"name": s["Name"], "value": s["Value"]} for s in props["ClusterSettings"]]


def _camel(value: Any) -> Any:
    return remap_nested_keys(value, pascal_to_camelcase)


# Task definition properties moto's handler drops -> the model attribute they set.
TASK_DEFINITION_ATTRIBUTES = {
    "Cpu": "cpu",
    "Memory": "memory",
    "NetworkMode": "network_mode",
    "RequiresCompatibilities": "requires_compatibilities",
    "RuntimePlatform": "runtime_platform",
    "TaskRoleArn": "task_role_arn",
    "ExecutionRoleArn": "execution_role_arn",
}


def _task_definition_after(definition: Any, props: dict[str, Any]) -> None:
    for prop, attribute in TASK_DEFINITION_ATTRIBUTES.items():
        if prop in props:
            setattr(definition, attribute, _camel(props[prop]))
    definition.cfn_properties = props  # what a later update compares against


def _task_definition_update(
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> Any:
    """CloudFormation replaces a task definition on any change: a new, complete revision.
    (moto's own update re-registers without the container definitions' new values.) The
    services running it follow through _update_dependents."""
    if getattr(original_resource, "cfn_properties", None) == cloudformation_json.get("Properties"):
        return original_resource
    ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
    return cls.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name
    )


def _ecs_service_after(service: Any, props: dict[str, Any]) -> None:
    """moto's service handler reads only cluster, task definition and count: keep what
    describe-services shows of the deployment strategy, load balancers and network."""
    service.load_balancers = _camel(props.get("LoadBalancers", []))
    for prop, attribute in (
        ("DeploymentConfiguration", "deployment_configuration"),
        ("NetworkConfiguration", "network_configuration"),
        ("HealthCheckGracePeriodSeconds", "health_check_grace_period_seconds"),
    ):
        if prop in props:
            setattr(service, attribute, _camel(props[prop]))


# CloudFormation properties moto's DBInstance handler drops -> the model attribute they set.
DB_INSTANCE_ATTRIBUTES = {
    "DeletionProtection": "deletion_protection",
    "EnableCloudwatchLogsExports": "enabled_cloudwatch_logs_exports",
    "MonitoringInterval": "monitoring_interval",
    "MonitoringRoleArn": "monitoring_role_arn",
    "MaxAllocatedStorage": "max_allocated_storage",
    "CACertificateIdentifier": "ca_certificate_identifier",
    "EnableIAMDatabaseAuthentication": "enable_iam_database_authentication",
}


def _db_instance_after(instance: Any, props: dict[str, Any]) -> None:
    for prop, attribute in DB_INSTANCE_ATTRIBUTES.items():
        if prop in props:
            setattr(instance, attribute, props[prop])


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
    backend = s3_backends[bucket.account_id]["aws"]
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


# CloudFormation type's model -> rewrite of its Properties before moto's own handler runs.
PROPERTY_FIXES: dict[Any, Callable[[dict[str, Any]], dict[str, Any]]] = {
    KmsKey: _kms_key_properties,
    LogGroup: _log_group_properties,
    DBInstance: _db_instance_properties,
    EcrRepository: _ecr_repository_properties,
}
# Model -> what to set on the created object from the (fixed) properties. Both tables
# apply on create; moto's update handlers stay as they are (local stacks are recreated).
AFTER_CREATE: dict[Any, Callable[[Any, dict[str, Any]], None]] = {
    DBInstance: _db_instance_after,
    FakeBucket: _bucket_after,
    EcrRepository: _ecr_repository_after,
    EcsCluster: _ecs_cluster_after,
    EcsTaskDefinition: _task_definition_after,
    EcsService: _ecs_service_after,
}


def _arn_tail(marker: str) -> Callable[[Any], str]:
    """CloudWatch's "full name" of a load balancer: the ARN after `marker`."""
    return lambda obj: str(obj.arn).split(marker, 1)[1]


# Model -> GetAtt attributes CloudFormation has and moto lacks (alarm dimensions, NAT IPs).
ATTRIBUTE_FIXES: dict[Any, dict[str, Callable[[Any], Any]]] = {
    ElasticAddress: {"PublicIp": lambda eip: eip.public_ip},
    FakeLoadBalancer: {
        "LoadBalancerFullName": _arn_tail(":loadbalancer/"),
        "LoadBalancerArn": lambda lb: lb.arn,
    },
    FakeTargetGroup: {
        "TargetGroupFullName": lambda group: str(group.arn).split(":", 5)[5],
        "TargetGroupName": lambda group: group.name,
        "TargetGroupArn": lambda group: group.arn,
        "LoadBalancerArns": lambda group: list(group.load_balancer_arns),
    },
}


def _with_attributes(model: Any, extra: dict[str, Callable[[Any], Any]]) -> None:
    original_get = getattr(model, "get_cfn_attribute", None)
    original_has = model.has_cfn_attr.__func__

    def has_cfn_attr(cls: Any, attr: str) -> bool:
        return attr in extra or bool(original_has(cls, attr))

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name in extra:
            return extra[attribute_name](self)
        if original_get is None:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()
        return original_get(self, attribute_name)

    model.has_cfn_attr = classmethod(has_cfn_attr)
    model.get_cfn_attribute = get_cfn_attribute


def _with_fixes(model: Any) -> None:
    """Wrap `model`'s create handler with its PROPERTY_FIXES rewrite and AFTER_CREATE step."""
    original = model.create_from_cloudformation_json.__func__
    fix = PROPERTY_FIXES.get(model, dict)
    after = AFTER_CREATE.get(model)

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        fixed = {**cloudformation_json, "Properties": fix(cloudformation_json.get("Properties", {}))}
        created = original(cls, resource_name, fixed, account_id, region_name, **kwargs)
        if after is not None:
            after(created, fixed["Properties"])
        return created

    create.__doc__ = original.__doc__
    model.create_from_cloudformation_json = classmethod(create)


def _clean_json(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Resolve Fn::GetStackOutput, the intrinsic behind the CDK's weak cross-stack references
    (@aws-cdk/core:defaultCrossStackReferences=weak): the named stack's output, read live."""

    @functools.wraps(original)
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetStackOutput" in resource_json:
            spec = original(resource_json["Fn::GetStackOutput"], resources_map)
            region = spec.get("Region", resources_map._region_name)
            backend = cfn_models.cloudformation_backends[resources_map._account_id][region]
            for stack in backend.stacks.values():
                if stack.name == spec["StackName"] and stack.status.endswith("_COMPLETE"):
                    for output in stack.outputs or []:
                        if output["OutputKey"] == spec["OutputName"]:
                            return output["OutputValue"]
            raise ValidationError(
                message=(
                    f"Fn::GetStackOutput: stack {spec['StackName']} in {region} "
                    f"has no output {spec['OutputName']}"
                )
            )
        return original(resource_json, resources_map)

    return clean_json


def _resource_class_from_type(original: Callable[[str], Any]) -> Callable[[str], Any]:
    @functools.wraps(original)
    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type in EXTRA_MODELS:
            return EXTRA_MODELS[resource_type]
        if resource_type.startswith("Custom::") or resource_type not in supported_types():
            # Checked when the template arrives; reaching here means a nested path missed it.
            raise ValidationError(
                message=f"Template format error: Unrecognized resource types: [{resource_type}]"
            )
        return original(resource_type)

    return resource_class_from_type


def _references(resource_json: dict[str, Any]) -> set[str]:
    """Logical ids a resource's properties name through Ref or Fn::GetAtt."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref" and isinstance(value, str):
                    found.add(value)
                elif key == "Fn::GetAtt":
                    found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(resource_json.get("Properties", {}))
    return found


def _physical_id(resource: Any) -> Any:
    return getattr(resource, "physical_resource_id", resource)


def _update_dependents(original: Callable[..., Any]) -> Callable[..., Any]:
    """CloudFormation updates a resource whenever a value it references changes; moto updates
    only resources whose own template text changed. After moto's pass, re-apply each resource
    whose unchanged text names (Ref, GetAtt) one that got a new physical id, transitively: an
    ECS service whose task definition became a new revision moves to it, as in AWS."""

    @functools.wraps(original)
    def update(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
        before = {name: _physical_id(r) for name, r in self._parsed_resources.items()}
        old_json = dict(self._resource_json_map)
        original(self, template, parameters)
        resources = self._parsed_resources
        changed = {n for n, pid in before.items() if n in resources and _physical_id(resources[n]) != pid}
        done: set[str] = set()
        while changed:
            following: set[str] = set()
            for name, resource_json in self._resource_json_map.items():
                if name in done or name not in resources or old_json.get(name) != resource_json:
                    continue
                if not _references(resource_json) & changed:
                    continue
                done.add(name)
                previous = _physical_id(resources[name])
                updated = parsing.parse_and_update_resource(
                    name, resource_json, self, account_id=self._account_id, region_name=self._region_name
                )
                if updated is not None:
                    resources[name] = updated
                    if _physical_id(updated) != previous:
                        following.add(name)
            changed = following

    return update


def _reject_unsupported(method: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        template = signature.bind(self, *args, **kwargs).arguments.get("template")
        if template:
            missing = unsupported_types(cfn_models.Stack.parse_template(template))
            if missing:
                logger.error("rejecting template with unmodelled types %s", missing)
                raise ValidationError(
                    message=(
                        "Template format error: Unrecognized resource types: "
                        f"[{', '.join(missing)}] (the local emulator does not model them; "
                        "teach emulator/adapter.py before deploying locally)"
                    )
                )
        return method(self, *args, **kwargs)

    return wrapper


def _fail_stack_instead_of_500(method: Callable[..., Any], failed: str, final: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            logger.exception("stack %s failed: %s", self.name, reason)
            self._add_stack_event(failed, resource_status_reason=reason)
            self._add_stack_event(final, resource_status_reason=reason)
            self.status = final
            return None

    return wrapper


def _validate_different_update(
    self: CloudFormationResponse,
    incoming_params: list[dict[str, Any]] | None,
    stack_body: str,
    old_stack: cfn_models.Stack,
) -> None:
    """CloudFormation refuses an update that changes nothing ("No updates are to be
    performed."), which is how the CDK CLI reports "(no changes)". moto checks this
    only when parameters are passed; the CLI passes none when defaults apply."""
    if not stack_body:
        return
    old_params = dict(old_stack.parameters or {})
    new_params = {
        p["ParameterKey"]: old_params.get(p["ParameterKey"])
        if p.get("UsePreviousValue")
        else p.get("ParameterValue")
        for p in incoming_params or []
    }
    tags = {t["Key"]: t["Value"] for t in self._get_param("Tags", [])}
    if (
        old_stack.template_dict == cfn_models.Stack.parse_template(stack_body)
        and new_params == old_params
        and (not tags or tags == old_stack.tags)
    ):
        raise ValidationError(old_stack.name, message="No updates are to be performed.")


def _permission_without_conditions(original: Callable[..., Any]) -> Callable[..., Any]:
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


_FAILED = frozenset({"ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"})
_installed = False


def install() -> None:
    """Patch moto in this process (idempotent)."""
    global _installed
    if _installed:
        return
    parsing.resource_class_from_type = _resource_class_from_type(  # type: ignore[assignment]
        parsing.resource_class_from_type
    )
    parsing.clean_json = _clean_json(parsing.clean_json)  # type: ignore[assignment]
    for model in {**PROPERTY_FIXES, **AFTER_CREATE}:
        _with_fixes(model)
    for model, attributes in ATTRIBUTE_FIXES.items():
        _with_attributes(model, attributes)
    EcsTaskDefinition.update_from_cloudformation_json = classmethod(_task_definition_update)  # type: ignore[method-assign,assignment]
    backend = cfn_models.CloudFormationBackend
    for name in ("create_stack", "update_stack", "create_change_set"):
        setattr(backend, name, _reject_unsupported(getattr(backend, name)))
    CloudFormationResponse._validate_different_update = _validate_different_update  # type: ignore[method-assign]
    parsing.ResourceMap.update = _update_dependents(parsing.ResourceMap.update)  # type: ignore[method-assign]
    stack = cfn_models.Stack
    stack.create_resources = _fail_stack_instead_of_500(  # type: ignore[method-assign]
        stack.create_resources, "CREATE_FAILED", "ROLLBACK_COMPLETE"
    )
    stack.update = _fail_stack_instead_of_500(  # type: ignore[method-assign]
        stack.update, "UPDATE_FAILED", "UPDATE_ROLLBACK_COMPLETE"
    )
    # A failed stack has no outputs (moto would try to build the missing resources).
    outputs = stack.outputs
    stack.outputs = property(  # type: ignore[method-assign,assignment]
        lambda self: None if self.status in _FAILED else outputs.fget(self)  # type: ignore[attr-defined]
    )
    FakeBucket.get_permission = _permission_without_conditions(  # type: ignore[method-assign]
        FakeBucket.get_permission
    )
    _installed = True
