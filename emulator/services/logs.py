"""CloudWatch Logs: log groups keep their KMS key, which must admit CloudWatch Logs for that group
(as CreateLogGroup checks it); metric filters and saved queries (Logs
Insights query definitions), with the checks CloudWatch Logs makes when they are created.

* AWS::Logs::MetricFilter, as PutMetricFilter checks it: the log group exists ("The specified
  log group does not exist."), the name and metric fields within their lengths and characters,
  exactly one metric transformation, the filter pattern parses (emulator.services.logs_patterns),
  and dimensions (at most three) only without a DefaultValue ("dimensions and default value are
  mutually exclusive properties"), only on a JSON or space-delimited pattern ("The specified
  filter pattern does not support dimensions") and only as selectors of the event's fields
  ("dimension value must be valid selector": a literal value is refused). A named filter that
  already exists in the log group fails as CloudFormation's handler fails it. Ref is the
  filter's name; describe-metric-filters lists it.
* AWS::Logs::QueryDefinition: saved through PutQueryDefinition, which moto lacks and this
  module adds to moto's Logs API with DescribeQueryDefinitions and DeleteQueryDefinition.
  Ref and GetAtt QueryDefinitionId are its id; an update keeps the id. A log group it names
  must exist: CloudWatch Logs does not check that when the query is saved, and the saved
  query finds nothing (LocallyRefused).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from moto.logs.exceptions import InvalidParameterException as ApiInvalidParameter
from moto.logs.exceptions import ResourceNotFoundException as ApiResourceNotFound
from moto.logs.models import LogGroup, logs_backends
from moto.logs.responses import LogsResponse

from emulator.services import logs_patterns
from emulator.services.base import AppliedModel, Fix, Fixes, Models
from emulator.services.cloudwatch import UNITS
from emulator.services.kms import find_key
from emulator.services.refusals import AwsError, LocallyRefused, request_context, resource_policy_allows


class InvalidParameterException(AwsError):
    """CloudWatch Logs' error code for a parameter it refuses."""


class ResourceNotFoundException(AwsError):
    """CloudWatch Logs' error code for a log group that does not exist."""


class AlreadyExists(AwsError):
    """CloudFormation's handler error for a named filter that already exists."""


class LimitExceededException(AwsError):
    """CloudWatch Logs' error code for the 101st metric filter of a log group."""


def _log_group_properties(props: dict[str, Any]) -> dict[str, Any]:
    """moto's LogGroup reads the API's `kmsKeyId`, so CloudFormation's `KmsKeyId` was dropped
    and the group looked unencrypted."""
    props = dict(props)
    if "KmsKeyId" in props:
        props["kmsKeyId"] = props.pop("KmsKeyId")
    return props


def _check_log_group_key(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    """CreateLogGroup with a KMS key, as CloudWatch Logs checks it: the key exists and its policy
    lets `logs.REGION.amazonaws.com` use it with this log group's ARN as the encryption context
    (CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS")."""
    key_id = props.get("KmsKeyId")
    if not key_id:
        return
    group = str(props.get("LogGroupName", name))
    arn = f"arn:aws:logs:{region_name}:{account_id}:log-group:{group}"
    refused = InvalidParameterException(
        f"The specified KMS key does not exist or is not allowed to be used with Arn '{arn}'"
    )
    key = find_key(str(key_id), account_id, region_name)
    if key is None:
        raise refused
    context = request_context(
        {
            "kms:EncryptionContext:aws:logs:arn": arn,
            "aws:SourceAccount": account_id,
            "kms:CallerAccount": account_id,
        }
    )
    principal = f"logs.{region_name}.amazonaws.com"
    for action in ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"):
        if not resource_policy_allows(json.loads(key.policy), principal, action, key.arn, context):
            raise refused


def _backend(account_id: str, region_name: str) -> Any:
    return logs_backends[account_id][region_name]


def _constrained(value: Any, at: str, ok: bool, constraint: str) -> None:
    """CloudWatch Logs' wording for a value outside its API model's constraints."""
    if not ok:
        raise InvalidParameterException(
            f"1 validation error detected: Value '{value}' at '{at}' "
            f"failed to satisfy constraint: {constraint}"
        )


def _matches(pattern: str, value: Any, low: int, high: int) -> bool:
    return isinstance(value, str) and low <= len(value) <= high and re.fullmatch(pattern, value) is not None


# --- metric filters --------------------------------------------------------------------------

_LOG_GROUP = r"[\.\-_/#A-Za-z0-9]+"
_FILTER_NAME = r"[^:*]*"
_METRIC_FIELD = r"[^:*$]*"
MAX_FILTERS_PER_LOG_GROUP = 100


def _transformation(props: dict[str, Any], pattern: logs_patterns.FilterPattern) -> dict[str, Any]:
    """The one metric transformation, checked, in the API's shape (as describe-metric-filters shows it)."""
    transformations = props.get("MetricTransformations")
    _constrained(
        "[...]",
        "metricTransformations",
        isinstance(transformations, list) and len(transformations) == 1,
        "Member must have length less than or equal to 1 and greater than or equal to 1",
    )
    assert isinstance(transformations, list)
    given = transformations[0]
    name, namespace, value = given.get("MetricName"), given.get("MetricNamespace"), given.get("MetricValue")
    at = "metricTransformations.1.member"
    _constrained(
        name,
        f"{at}.metricName",
        _matches(_METRIC_FIELD, name, 1, 255),
        f"Member must satisfy regular expression pattern: {_METRIC_FIELD}",
    )
    _constrained(
        namespace,
        f"{at}.metricNamespace",
        _matches(_METRIC_FIELD, namespace, 1, 255),
        f"Member must satisfy regular expression pattern: {_METRIC_FIELD}",
    )
    _constrained(
        value,
        f"{at}.metricValue",
        isinstance(value, str) and 1 <= len(value) <= 100,
        "Member must have length less than or equal to 100",
    )
    unit = given.get("Unit")
    _constrained(
        unit,
        f"{at}.unit",
        unit is None or unit in UNITS,
        f"Member must satisfy enum value set: [{', '.join(UNITS)}]",
    )
    dimensions = {str(d["Key"]): str(d["Value"]) for d in given.get("Dimensions", [])}
    if dimensions:
        if "DefaultValue" in given:
            raise InvalidParameterException(
                "Invalid metric transformation: "
                "dimensions and default value are mutually exclusive properties"
            )
        if len(dimensions) > 3:
            raise InvalidParameterException(
                f"Invalid metric transformation: at most 3 dimensions, got {len(dimensions)}"
            )
        if not pattern.supports_dimensions:
            raise InvalidParameterException("The specified filter pattern does not support dimensions")
        for key, selector in dimensions.items():
            _constrained(
                key,
                f"{at}.dimensions",
                1 <= len(key) <= 255 and not key.startswith(":"),
                "Member must have length less than or equal to 255",
            )
            if not pattern.is_selector(selector):
                raise InvalidParameterException(
                    "Invalid metric transformation: dimension value must be valid selector "
                    f"({key}: {selector!r} is not a field of the log event such as $.field or $field)"
                )
    transformation: dict[str, Any] = {"metricName": name, "metricNamespace": namespace, "metricValue": value}
    if "DefaultValue" in given:
        transformation["defaultValue"] = float(given["DefaultValue"])
    if dimensions:
        transformation["dimensions"] = dimensions
    if unit is not None:
        transformation["unit"] = unit
    return transformation


def _existing_filter(backend: Any, log_group: str, name: str) -> dict[str, Any] | None:
    for found in backend.filters.metric_filters:
        if found["logGroupName"] == log_group and found["filterName"] == name:
            return dict(found)
    return None


class MetricFilter(AppliedModel):
    """AWS::Logs::MetricFilter: checked as PutMetricFilter checks it, then put (describe-metric-filters)."""

    def __init__(self, log_group: str, name: str) -> None:
        self.log_group = log_group
        self.name = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::MetricFilter"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "FilterName"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> MetricFilter:
        return cls._put(resource_name, props, account_id, region_name, replacing=None)

    @classmethod
    def _put(
        cls,
        resource_name: str,
        props: dict[str, Any],
        account_id: str,
        region_name: str,
        replacing: MetricFilter | None,
    ) -> MetricFilter:
        backend = _backend(account_id, region_name)
        log_group, name = props.get("LogGroupName"), str(props.get("FilterName", resource_name))
        _constrained(
            log_group,
            "logGroupName",
            _matches(_LOG_GROUP, log_group, 1, 512),
            f"Member must satisfy regular expression pattern: {_LOG_GROUP}",
        )
        _constrained(
            name,
            "filterName",
            _matches(_FILTER_NAME, name, 1, 512),
            f"Member must satisfy regular expression pattern: {_FILTER_NAME}",
        )
        pattern_text = props.get("FilterPattern")
        _constrained(
            pattern_text,
            "filterPattern",
            isinstance(pattern_text, str) and len(pattern_text) <= 1024,
            "Member must have length less than or equal to 1024",
        )
        try:
            pattern = logs_patterns.parse(str(pattern_text))
        except logs_patterns.InvalidPattern as error:
            raise InvalidParameterException(str(error)) from None
        transformation = _transformation(props, pattern)
        if log_group not in backend.groups:
            raise ResourceNotFoundException("The specified log group does not exist.")
        same = replacing is not None and (replacing.log_group, replacing.name) == (log_group, name)
        if not same and _existing_filter(backend, str(log_group), name) is not None:
            raise AlreadyExists(f"Metric Filter with name {name} already exists in log group {log_group}.")
        if not same:
            count = sum(1 for f in backend.filters.metric_filters if f["logGroupName"] == log_group)
            if count >= MAX_FILTERS_PER_LOG_GROUP:
                raise LimitExceededException("Resource limit exceeded.")
        backend.delete_metric_filter(name, log_group)
        backend.put_metric_filter(name, pattern_text, log_group, [transformation])
        return cls(str(log_group), name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: MetricFilter,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> MetricFilter:
        props = cloudformation_json["Properties"]
        if "FilterName" not in props:  # a generated name stays the filter's name
            props = {**props, "FilterName": original_resource.name}
        updated = cls._put(new_resource_name, props, account_id, region_name, replacing=original_resource)
        if (updated.log_group, updated.name) != (original_resource.log_group, original_resource.name):
            original_resource.delete(account_id, region_name)  # FilterName and LogGroupName replace
        return updated

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_metric_filter(self.name, self.log_group)


# --- query definitions -----------------------------------------------------------------------

_QUERY_NAME = r"([^:*\/]+\/?)*[^:*\/]+"
QUERY_LANGUAGES = ("CWLI", "SQL", "PPL")


def query_definitions(account_id: str, region_name: str) -> dict[str, dict[str, Any]]:
    """Saved queries by id. moto has no API for them, so they are kept on its Logs backend (a
    moto reset clears them)."""
    saved: dict[str, dict[str, Any]] = _backend(account_id, region_name).__dict__.setdefault(
        "query_definitions", {}
    )
    return saved


def put_query_definition(
    account_id: str,
    region_name: str,
    *,
    name: Any,
    query_string: Any,
    log_group_names: Any,
    query_language: Any,
    query_definition_id: str | None,
) -> str:
    """PutQueryDefinition: its checks, then the definition saved; returns its id."""
    _constrained(
        name,
        "name",
        isinstance(name, str) and 1 <= len(name) <= 255,
        "Member must have length less than or equal to 255",
    )
    _constrained(
        query_string,
        "queryString",
        isinstance(query_string, str) and 1 <= len(query_string) <= 10000,
        "Member must have length less than or equal to 10000",
    )
    groups = list(log_group_names or [])
    for group in groups:
        _constrained(
            group,
            "logGroupNames.member",
            _matches(_LOG_GROUP, group, 1, 512),
            f"Member must satisfy regular expression pattern: {_LOG_GROUP}",
        )
    language = query_language or "CWLI"
    _constrained(
        language,
        "queryLanguage",
        language in QUERY_LANGUAGES,
        f"Member must satisfy enum value set: [{', '.join(QUERY_LANGUAGES)}]",
    )
    saved = query_definitions(account_id, region_name)
    if query_definition_id is not None and query_definition_id not in saved:
        raise ApiResourceNotFound("The specified query definition does not exist.")
    query_id = query_definition_id or str(uuid.uuid4())
    saved[query_id] = {
        "queryDefinitionId": query_id,
        "queryLanguage": language,
        "name": name,
        "queryString": query_string,
        "lastModified": int(time.time() * 1000),
        "logGroupNames": groups,
    }
    return query_id


class QueryDefinition(AppliedModel):
    """AWS::Logs::QueryDefinition: saved (describe-query-definitions); Ref is its id."""

    def __init__(self, query_id: str) -> None:
        self.query_id = query_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::QueryDefinition"

    @property
    def physical_resource_id(self) -> str:
        return self.query_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "QueryDefinitionId"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.query_id

    @classmethod
    def create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> QueryDefinition:
        return cls(cls._save(props, account_id, region_name, None))

    @staticmethod
    def _save(props: dict[str, Any], account_id: str, region_name: str, query_id: str | None) -> str:
        name = props.get("Name")
        _constrained(
            name,
            "name",
            _matches(_QUERY_NAME, name, 1, 255),
            f"Member must satisfy regular expression pattern: ^{_QUERY_NAME}$",
        )
        groups = [str(group) for group in props.get("LogGroupNames", [])]
        known = _backend(account_id, region_name).groups
        for group in groups:
            if _matches(_LOG_GROUP, group, 1, 512) and group not in known:
                raise LocallyRefused(
                    f"query definition {name}: log group {group} does not exist",
                    "the saved query finds nothing in it",
                )
        return put_query_definition(
            account_id,
            region_name,
            name=name,
            query_string=props.get("QueryString"),
            log_group_names=groups,
            query_language=props.get("QueryLanguage"),
            query_definition_id=query_id,
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: QueryDefinition,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> QueryDefinition:
        props = cloudformation_json["Properties"]
        return cls(cls._save(props, account_id, region_name, original_resource.query_id))

    def delete(self, account_id: str, region_name: str) -> None:
        query_definitions(account_id, region_name).pop(self.query_id, None)


# --- the Logs API's query definition actions, which moto lacks ------------------------------


def _put_query_definition(self: LogsResponse) -> str:
    account, region = self.current_account, self.region
    try:
        query_id = put_query_definition(
            account,
            region,
            name=self._get_param("name"),
            query_string=self._get_param("queryString"),
            log_group_names=self._get_param("logGroupNames"),
            query_language=self._get_param("queryLanguage"),
            query_definition_id=self._get_param("queryDefinitionId"),
        )
    except InvalidParameterException as error:
        raise ApiInvalidParameter(str(error)) from None
    return json.dumps({"queryDefinitionId": query_id})


def _describe_query_definitions(self: LogsResponse) -> str:
    prefix = self._get_param("queryDefinitionNamePrefix") or ""
    language = self._get_param("queryLanguage")
    found = sorted(
        (
            d
            for d in query_definitions(self.current_account, self.region).values()
            if d["name"].startswith(prefix) and language in (None, d["queryLanguage"])
        ),
        key=lambda d: (d["name"], d["queryDefinitionId"]),
    )
    start = int(self._get_param("nextToken") or 0)
    size = int(self._get_param("maxResults") or 1000)
    page: dict[str, Any] = {"queryDefinitions": found[start : start + size]}
    if start + size < len(found):
        page["nextToken"] = str(start + size)
    return json.dumps(page)


def _delete_query_definition(self: LogsResponse) -> str:
    query_id = self._get_param("queryDefinitionId")
    if query_definitions(self.current_account, self.region).pop(query_id, None) is None:
        raise ApiResourceNotFound("The specified query definition does not exist.")
    return json.dumps({"success": True})


def patch_api() -> None:
    """PutQueryDefinition, DescribeQueryDefinitions and DeleteQueryDefinition (idempotent)."""
    actions = {
        "put_query_definition": _put_query_definition,
        "describe_query_definitions": _describe_query_definitions,
        "delete_query_definition": _delete_query_definition,
    }
    for name, action in actions.items():  # moto dispatches an action to the method of its name
        setattr(LogsResponse, name, action)


MODELS: Models = (MetricFilter, QueryDefinition)
FIXES: Fixes = {LogGroup: Fix(properties=_log_group_properties, check=_check_log_group_key)}
