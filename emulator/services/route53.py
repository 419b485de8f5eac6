"""Route 53 health checks (the public endpoint's, components/monitoring/health.py): moto creates
one from CloudFormation without checking its configuration and drops SNI, regions, latency
measurement, inversion and tags. This refuses what CreateHealthCheck refuses (Route 53 API
Reference, HealthCheckConfig) and keeps what moto drops, so `aws route53 get-health-check` and
`list-tags-for-resource` read back what the template says."""

from __future__ import annotations

from typing import Any

from moto.route53.exceptions import InvalidInput
from moto.route53.models import HealthCheck, route53_backends
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


def _check(name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
    config = props.get("HealthCheckConfig") or {}
    kind = str(config.get("Type", ""))
    if kind not in TYPES:
        raise InvalidInput(f"Invalid health check type {kind!r}: expected one of {', '.join(sorted(TYPES))}")
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
    if config.get("Port") is None and kind.startswith("HTTPS"):
        check.port = 443
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("HealthCheckTags", [])]
    if tags:
        # Route 53 is global (one backend per account and partition); the check knows neither.
        backend = next(b for b in _backends() if check.id in b.health_checks)
        backend.change_tags_for_resource("healthcheck", check.id, tags, [])


def _backends() -> list[Any]:
    return [regional[get_partition("us-east-1")] for _, regional in route53_backends.items()]


MODELS: Models = ()
FIXES: Fixes = {HealthCheck: Fix(after_create=_after_create, check=_check)}
