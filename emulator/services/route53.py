"""Route 53 health checks and failover records (components/edge/dns.py).

moto creates a health check from CloudFormation without checking its configuration and drops
SNI, regions, latency measurement, inversion, a CALCULATED check's children and threshold, and
tags. This refuses what CreateHealthCheck refuses (Route 53 API Reference, HealthCheckConfig)
and keeps what moto drops, so `aws route53 get-health-check` and `list-tags-for-resource` read
back what the template says.

moto adds any record set CloudFormation hands it and deletes every record of the name when one
goes. This refuses what ChangeResourceRecordSets refuses for ours (Route 53 API Reference,
ResourceRecordSet): a failover record without a set identifier or beside a simple record of
the same name and type, a second PRIMARY, a health check that does not exist, an alias whose
target is not a load balancer in its canonical zone, a name outside the zone. A record set's
deletion removes that record only."""

from __future__ import annotations

from typing import Any

from moto.elbv2.models import elbv2_backends
from moto.route53.exceptions import DnsNameInvalidForZone, InvalidInput, NoSuchHealthCheck, Route53ClientError
from moto.route53.models import FakeZone, HealthCheck, RecordSet, route53_backends
from moto.utilities.utils import get_partition

from emulator.services.base import Fix, Fixes, Models

TYPES = frozenset(
    {
        "HTTP",
        "HTTPS",
        "HTTP_STR_MATCH",
        "HTTPS_STR_MATCH",
        "TCP",
        "CALCULATED",
        "CLOUDWATCH_METRIC",
        "RECOVERY_CONTROL",
    }
)
ENDPOINT_TYPES = frozenset({"HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"})
# Where Route 53's checkers run (HealthCheckConfig.Regions).
CHECKER_REGIONS = frozenset(
    {
        "us-east-1",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "sa-east-1",
    }
)


# Where a record's routing policy is set: a set identifier needs exactly one of them.
ROUTING = ("Failover", "Weight", "Region", "GeoLocation", "MultiValueAnswer", "CidrRoutingConfig")
FAILOVER = ("PRIMARY", "SECONDARY")
# Only a CALCULATED check's own fields (a child's endpoint settings are the child's).
ENDPOINT_FIELDS = (
    "IPAddress",
    "FullyQualifiedDomainName",
    "Port",
    "ResourcePath",
    "SearchString",
    "RequestInterval",
    "FailureThreshold",
    "MeasureLatency",
)


class InvalidChangeBatch(Route53ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidChangeBatch", message)


def _calculated(config: dict[str, Any], account_id: str) -> None:
    children = list(config.get("ChildHealthChecks") or [])
    if len(children) > 256:
        raise InvalidInput(
            f"A CALCULATED health check takes at most 256 ChildHealthChecks, not {len(children)}"
        )
    threshold = config.get("HealthThreshold")
    if threshold is None or not 0 <= int(threshold) <= 256:
        raise InvalidInput(f"HealthThreshold {threshold} is invalid: expected 0 to 256")
    present = [field for field in ENDPOINT_FIELDS if config.get(field) is not None]
    if present:
        raise InvalidInput(f"{', '.join(present)} do not apply to CALCULATED health checks")
    backend = _backend(account_id)
    for child in children:
        if child not in backend.health_checks:
            raise NoSuchHealthCheck(child)


def _check(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    config = props.get("HealthCheckConfig") or {}
    kind = str(config.get("Type", ""))
    if kind not in TYPES:
        raise InvalidInput(f"Invalid health check type {kind!r}: expected one of {', '.join(sorted(TYPES))}")
    if kind == "CALCULATED":
        _calculated(config, account_id)
    if kind not in ENDPOINT_TYPES:
        return
    if not config.get("IPAddress") and not config.get("FullyQualifiedDomainName"):
        raise InvalidInput("A health check of an endpoint needs IPAddress or FullyQualifiedDomainName")
    search = config.get("SearchString")
    if kind.endswith("_STR_MATCH") and not search:
        raise InvalidInput(f"SearchString is required for {kind} health checks")
    if search is not None and not kind.endswith("_STR_MATCH"):
        raise InvalidInput(f"SearchString applies only to HTTP_STR_MATCH and HTTPS_STR_MATCH, not {kind}")
    for field in ("SearchString", "ResourcePath", "FullyQualifiedDomainName"):
        if len(str(config.get(field) or "")) > 255:
            raise InvalidInput(f"{field} is longer than 255 characters")
    if config.get("ResourcePath") and kind == "TCP":
        raise InvalidInput("ResourcePath does not apply to TCP health checks")
    interval = int(config.get("RequestInterval", 30))
    if interval not in (10, 30):
        raise InvalidInput(f"RequestInterval {interval} is invalid: expected 10 or 30")
    threshold = int(config.get("FailureThreshold", 3))
    if not 1 <= threshold <= 10:
        raise InvalidInput(f"FailureThreshold {threshold} is invalid: expected 1 to 10")
    port = int(config.get("Port", 443 if kind.startswith("HTTPS") else 80))
    if not 1 <= port <= 65535:
        raise InvalidInput(f"Port {port} is invalid")
    regions = config.get("Regions")
    if regions is not None:
        unknown = sorted(set(regions) - CHECKER_REGIONS)
        if unknown or len(set(regions)) < 3:
            raise InvalidInput(
                f"Regions {regions}: at least three of {', '.join(sorted(CHECKER_REGIONS))} are required"
            )


def _after_create(check: Any, props: dict[str, Any]) -> None:
    config = props.get("HealthCheckConfig") or {}
    kind = str(config.get("Type", ""))
    check.enable_sni = bool(config.get("EnableSNI", kind.startswith("HTTPS")))
    check.measure_latency = bool(config.get("MeasureLatency", False))
    check.inverted = bool(config.get("Inverted", False))
    check.set_regions(list(config.get("Regions") or []))
    if kind == "CALCULATED":
        check.set_children(list(config.get("ChildHealthChecks") or []))
        check.health_threshold = int(config.get("HealthThreshold", 0))
    if config.get("Port") is None and kind.startswith("HTTPS"):
        check.port = 443
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("HealthCheckTags", [])]
    if tags:
        # Route 53 is global (one backend per account and partition); the check knows neither.
        backend = next(b for b in _backends() if check.id in b.health_checks)
        backend.change_tags_for_resource("healthcheck", check.id, tags, [])


def _backends() -> list[Any]:
    return [regional[get_partition("us-east-1")] for _, regional in route53_backends.items()]


def _backend(account_id: str) -> Any:
    # Route 53 is global: one backend per account and partition.
    return route53_backends[account_id][get_partition("us-east-1")]


def _dns(name: str) -> str:
    return name.rstrip(".").lower()


def _zone(props: dict[str, Any], account_id: str) -> FakeZone:
    backend = _backend(account_id)
    zone_name = props.get("HostedZoneName")
    found: FakeZone | None = backend.get_hosted_zone_by_name(zone_name) if zone_name else None
    if found is None:
        found = backend.get_hosted_zone(str(props.get("HostedZoneId", "")))
    assert found is not None  # get_hosted_zone raises NoSuchHostedZone
    return found


def _alias(target: dict[str, Any], record: str, zone: FakeZone, account_id: str) -> None:
    """An alias to a load balancer names it by its DNS name in its canonical hosted zone."""
    dns, target_zone = _dns(str(target.get("DNSName", ""))), str(target.get("HostedZoneId", ""))
    if not dns.endswith(".elb.amazonaws.com"):
        return  # other alias targets (CloudFront, S3, records of the zone) are not ours
    balancers = [
        balancer
        for regional in elbv2_backends[account_id].values()
        for balancer in regional.load_balancers.values()
        if _dns(balancer.dns_name) == dns
    ]
    if not balancers or balancers[0].canonical_hosted_zone_id != target_zone:
        raise InvalidChangeBatch(
            f"Tried to create an alias that targets {dns}., type A in zone {target_zone}, but the alias "
            f"target name does not lie within the target zone (record {record} in zone {zone.name})"
        )


def _record_check(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    zone = _zone(props, account_id)
    record, kind = _dns(str(props.get("Name", ""))), str(props.get("Type", ""))
    if not (record == _dns(zone.name) or record.endswith("." + _dns(zone.name))):
        raise DnsNameInvalidForZone(name=record, zone_name=zone.name)
    alias = props.get("AliasTarget")
    ttl, values = props.get("TTL") is not None, bool(props.get("ResourceRecords"))
    if (alias is not None and (ttl or values)) or (alias is None and not (ttl and values)):
        raise InvalidInput(
            f"Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]] "
            f"in [Name={record}, Type={kind}]"
        )
    policies = [field for field in ROUTING if props.get(field) is not None]
    identifier = props.get("SetIdentifier")
    if len(policies) > 1 or bool(policies) != (identifier is not None):
        raise InvalidInput(
            f"Invalid request: a record with a routing policy ({', '.join(ROUTING)}) needs a "
            f"SetIdentifier and one policy; [Name={record}, Type={kind}, SetIdentifier={identifier}] "
            f"has {policies or 'none'}"
        )
    failover = props.get("Failover")
    if failover is not None and failover not in FAILOVER:
        raise InvalidInput(f"Invalid Failover {failover!r}: expected PRIMARY or SECONDARY")
    health_check = props.get("HealthCheckId")
    if health_check is not None and health_check not in _backend(account_id).health_checks:
        raise NoSuchHealthCheck(str(health_check))
    if alias is not None:
        _alias(alias, record, zone, account_id)
    for other in zone.rrsets:
        if _dns(other.name) != record or other.type != kind:
            continue
        if other.set_identifier == identifier:
            raise InvalidChangeBatch(
                f"Tried to create resource record set [name='{record}.', type='{kind}', "
                f"set-identifier='{identifier}'] but it already exists"
            )
        if (other.set_identifier is None) != (identifier is None):
            raise InvalidChangeBatch(
                f"RRSet with DNS name {record}., type {kind}, SetIdentifier {identifier} cannot be created "
                "because a record of another routing policy exists with the same name and type"
            )
        if failover is not None and other.failover == failover:
            raise InvalidChangeBatch(
                f"RRSet with DNS name {record}., type {kind}: a {failover} failover record already exists "
                f"(SetIdentifier {other.set_identifier})"
            )


def _same(record: RecordSet, other: RecordSet) -> bool:
    return (_dns(record.name), record.type, record.set_identifier) == (
        _dns(other.name),
        other.type,
        other.set_identifier,
    )


def _record_delete(self: RecordSet, account_id: str, region_name: str) -> None:
    """This record only: moto's removes every record of the name and type (both failover
    records when one region's stack goes)."""
    zone = _zone({"HostedZoneName": self.hosted_zone_name, "HostedZoneId": self.hosted_zone_id}, account_id)
    zone.rrsets = [r for r in zone.rrsets if not _same(r, self)]


def _record_update(
    cls: Any,
    original_resource: RecordSet,
    new_resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> RecordSet:
    _record_delete(original_resource, account_id, region_name)
    created: RecordSet = cls.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name
    )
    return created


MODELS: Models = ()
FIXES: Fixes = {
    HealthCheck: Fix(after_create=_after_create, check=_check),
    # An update removes the old record, then creates the new one through the checked create.
    RecordSet: Fix(check=_record_check, update=_record_update, delete=_record_delete, check_update=False),
}
