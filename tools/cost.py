"""`make cost`: each environment's estimated monthly baseline, read from the synthesized templates.

    python tools/cost.py                          # synthesize the app offline into a temp dir
    python tools/cost.py --assembly cdk.out       # an assembly already synthesized
    python tools/cost.py --assembly new --base old   # before/after per environment

Counts and sizes come from the templates (a service's DesiredCount and its task definition's
Cpu/Memory/architecture, an instance's class, Multi-AZ and storage, the subnets an endpoint or a
load balancer sits in), never from config, so the estimate is of what would be deployed. Prices,
usage assumptions and the types that cost nothing are in `tools/prices.json`, dated. A resource
type it has no price for, or a priced type using a feature it cannot price, is listed as
unpriced, never counted as zero. It reads and prints; it deploys and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.assembly import load, synthesize  # noqa: E402 - after the path, as a script

PRICES = Path(__file__).with_name("prices.json")


@dataclass(frozen=True)
class Line:
    stack: str
    logical_id: str
    resource_type: str
    description: str
    monthly_usd: float


@dataclass(frozen=True)
class Estimate:
    environment: str
    region: str | None
    lines: tuple[Line, ...]
    # (stack, logical_id, type); the type may name the feature that has no price:
    # "AWS::ECS::Cluster [Container Insights: enhanced]".
    unpriced: tuple[tuple[str, str, str], ...]

    @property
    def total(self) -> float:
        return sum(line.monthly_usd for line in self.lines)


class Unpriced(Exception):
    """This resource has no price in the table (the message says why)."""


@dataclass(frozen=True)
class _Stack:
    stage: str
    name: str
    region: str | None
    template: Mapping[str, Any]

    @property
    def resources(self) -> Mapping[str, Any]:
        resources: Mapping[str, Any] = self.template.get("Resources", {})
        return resources

    def of_type(self, resource_type: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == resource_type:
                yield logical_id, resource.get("Properties", {})


@dataclass(frozen=True)
class _Resource:
    stack: _Stack
    logical_id: str
    type: str
    props: Mapping[str, Any]
    table: Mapping[str, Any]  # the whole price table
    stacks: tuple[_Stack, ...]  # every stack of every stage, for references across them
    # Features of a priced resource the table has no price for: listed as unpriced beside its lines.
    missing: list[str] = field(default_factory=list)

    @property
    def hours(self) -> float:
        return float(self.table["hours_per_month"])

    @property
    def price(self) -> Mapping[str, Any]:
        prices: Mapping[str, Any] | None = self.table["regions"].get(self.stack.region or "")
        if prices is None:
            raise Unpriced(f"no prices for region {self.stack.region}")
        return prices

    @property
    def assume(self) -> Mapping[str, Any]:
        assumptions: Mapping[str, Any] = self.table["assumptions"]
        return assumptions

    def stage_stacks(self, stage: str | None = None) -> Iterator[_Stack]:
        return (s for s in self.stacks if s.stage == (stage or self.stack.stage))


# One priced part of a resource: (what, USD per month).
Part = tuple[str, float]
Pricer = Callable[[_Resource], list[Part]]


def _ref(value: Any) -> str | None:
    return value["Ref"] if isinstance(value, dict) and isinstance(value.get("Ref"), str) else None


def _names(value: Any, logical_id: str) -> bool:
    """Whether `value` is a Ref or GetAtt of this template's `logical_id`."""
    if not isinstance(value, dict):
        return False
    attribute = value.get("Fn::GetAtt")
    return _ref(value) == logical_id or (isinstance(attribute, list) and attribute[:1] == [logical_id])


def _number(value: Any, what: str) -> float:
    """A literal number (templates often hold them as strings); an intrinsic cannot be priced."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Unpriced(f"{what} is not a literal")
    try:
        return float(value)
    except ValueError:
        raise Unpriced(f"{what} = {value!r}") from None


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _rate(amount: float) -> str:
    """A unit price as printed in descriptions: cents, or every digit it has ($0.00356)."""
    return f"${amount:.2f}" if round(amount, 2) == amount else f"${amount:g}"


def _by_prefix(table: Mapping[str, float], name: Any, *, contains: bool = False) -> float:
    if isinstance(name, str):
        for key, value in table.items():
            if not key.startswith("_") and (key in name if contains else name.startswith(key)):
                return float(value)
    return float(table["_default"])


# ---- pricers, one per resource type ------------------------------------------------------------


def _nat_gateway(r: _Resource) -> list[Part]:
    rate = r.price["nat_gateway_hour"]
    return [(f"NAT gateway: {r.hours:g} h x {_rate(rate)} (data processing not included)", r.hours * rate)]


def _eip(r: _Resource) -> list[Part]:
    rate = r.price["public_ipv4_hour"]
    return [(f"Elastic IP (public IPv4): {r.hours:g} h x {_rate(rate)}", r.hours * rate)]


def _vpc_endpoint(r: _Resource) -> list[Part]:
    kind = r.props.get("VpcEndpointType", "Gateway")
    if kind == "Gateway":
        return []  # S3 and DynamoDB gateway endpoints have no charge
    if kind != "Interface":
        raise Unpriced(f"{kind} endpoint")
    subnets = r.props.get("SubnetIds")
    if not isinstance(subnets, list) or not subnets:
        raise Unpriced("SubnetIds is not a literal list")
    service = _service_name(r.props.get("ServiceName"))
    rate = r.price["interface_endpoint_az_hour"]
    n = len(subnets)
    return [
        (
            f"interface endpoint {service} in {n} AZ{'s' if n > 1 else ''}: "
            f"{n} x {r.hours:g} h x {_rate(rate)} (data processing not included)",
            n * r.hours * rate,
        )
    ]


def _service_name(value: Any) -> str:
    """`com.amazonaws.us-east-1.ecr.api` -> `ecr.api`, also from the CDK's Fn::Join form."""
    if isinstance(value, dict) and "Fn::Join" in value:
        value = "".join(p if isinstance(p, str) else "" for p in value["Fn::Join"][1])
    if not isinstance(value, str):
        return "?"
    parts = value.split(".")
    return ".".join(parts[3:]) if value.startswith("com.amazonaws.") and len(parts) > 3 else value


def _load_balancer(r: _Resource) -> list[Part]:
    kind = r.props.get("Type", "application")
    if kind != "application":
        raise Unpriced(f"{kind} load balancer")
    lcu = float(r.assume["alb_lcu_per_hour"])
    parts = [
        (f"ALB: {r.hours:g} h x {_rate(r.price['alb_hour'])}", r.hours * r.price["alb_hour"]),
        (
            f"ALB capacity: {lcu:g} LCU (assumed) x {r.hours:g} h x {_rate(r.price['alb_lcu_hour'])}",
            lcu * r.hours * r.price["alb_lcu_hour"],
        ),
    ]
    if r.props.get("Scheme", "internet-facing") == "internet-facing":
        subnets = r.props.get("Subnets") or r.props.get("SubnetMappings")
        if not isinstance(subnets, list) or not subnets:
            raise Unpriced("Subnets is not a literal list")
        n, rate = len(subnets), r.price["public_ipv4_hour"]
        parts.append(
            (f"ALB public IPv4, one per AZ: {n} x {r.hours:g} h x {_rate(rate)}", n * r.hours * rate)
        )
    return parts


def _web_acl(r: _Resource) -> list[Part]:
    rules = r.props.get("Rules", [])
    if not isinstance(rules, list):
        raise Unpriced("Rules is not a literal list")
    paid = set(r.table["waf_paid_managed_rule_groups"])
    for rule in rules:
        group = rule.get("Statement", {}).get("ManagedRuleGroupStatement", {}).get("Name")
        if group in paid:
            r.missing.append(f"managed rule group {group}")
    n, millions = len(rules), float(r.assume["waf_requests_millions_per_month"])
    return [
        (f"WAF web ACL: {_rate(r.price['waf_web_acl_month'])}/month", r.price["waf_web_acl_month"]),
        (f"WAF rules: {n} x {_rate(r.price['waf_rule_month'])}/month", n * r.price["waf_rule_month"]),
        (
            f"WAF requests: {millions:g} M (assumed) x {_rate(r.price['waf_million_requests'])}",
            millions * r.price["waf_million_requests"],
        ),
    ]


def _db_instance(r: _Resource) -> list[Part]:
    engine = r.props.get("Engine")
    if engine != "postgres":
        raise Unpriced(f"engine {engine}")
    klass = r.props.get("DBInstanceClass")
    hourly = r.price["rds_postgres_instance_hour"].get(klass)
    if hourly is None:
        raise Unpriced(f"class {klass}")
    multi_az = r.props.get("MultiAZ") in (True, "true")
    copies, deployment = (2, "Multi-AZ (primary + standby)") if multi_az else (1, "Single-AZ")
    storage_type = r.props.get("StorageType", "gp2")
    per_gb = r.price["rds_storage_gb_month"].get(storage_type)
    if per_gb is None or "Iops" in r.props or "StorageThroughput" in r.props:
        raise Unpriced(f"storage {storage_type} with provisioned IOPS/throughput")
    retention = int(_number(r.props.get("PerformanceInsightsRetentionPeriod", 7), "PI retention"))
    if r.props.get("EnablePerformanceInsights") in (True, "true") and (
        retention > int(r.table["rds_free_performance_insights_days"])
    ):
        r.missing.append(f"Performance Insights retention {retention} days")
    gib = _number(r.props.get("AllocatedStorage"), "AllocatedStorage")
    parts = [
        (
            f"RDS PostgreSQL {klass} {deployment}: {copies} x {r.hours:g} h x {_rate(hourly)}",
            copies * r.hours * hourly,
        ),
        (
            f"RDS storage {storage_type} {gib:g} GiB{' x 2 (standby)' if multi_az else ''} x "
            f"{_rate(per_gb)}/GB-month (autoscaling may grow it)",
            copies * gib * per_gb,
        ),
    ]
    interval = _number(r.props.get("MonitoringInterval", 0), "MonitoringInterval")
    if interval > 0:
        kb = float(r.assume["rds_enhanced_monitoring_kb_per_sample"])
        gb = r.hours * 3600 / interval * kb / 1_000_000
        parts.append(
            (
                f"Enhanced Monitoring every {interval:g} s → CloudWatch Logs: {gb:.2f} GB "
                f"({kb:g} KB/sample assumed) x {_rate(r.price['logs_ingest_gb'])}",
                gb * r.price["logs_ingest_gb"],
            )
        )
    replica = r.props.get("AutomaticBackupReplicationRegion")
    if isinstance(replica, str):
        prices = r.table["regions"].get(replica)
        if prices is None:
            r.missing.append(f"automated backups replicated to {replica}")
            return parts
        gb = gib * float(r.assume["rds_backup_replica_gb_per_database_gb"])
        parts.append(
            (
                f"automated backups replicated to {replica}: {gb:g} GB (assumed) x "
                f"{_rate(prices['rds_backup_gb_month'])} (transfer not included)",
                gb * prices["rds_backup_gb_month"],
            )
        )
    return parts


def _db_proxy(r: _Resource) -> list[Part]:
    classes = []
    groups = [
        g
        for _, g in r.stack.of_type("AWS::RDS::DBProxyTargetGroup")
        if _ref(g.get("DBProxyName")) == r.logical_id
    ]
    for group in groups:
        for target in group.get("DBInstanceIdentifiers", []):
            instance = r.stack.resources.get(_ref(target) or "", {})
            classes.append(instance.get("Properties", {}).get("DBInstanceClass"))
    if groups and not classes and all("DBInstanceIdentifiers" not in g for g in groups):
        # Billed per vCPU of its targets: the DR region's proxy has none until a failover.
        return [
            ("RDS Proxy without a target (billed per vCPU of its targets): $0 until one is registered", 0.0)
        ]
    if not classes:
        raise Unpriced("no target instance in this template")
    vcpus = 0
    for klass in classes:
        if klass not in r.table["rds_vcpus"]:
            raise Unpriced(f"vCPUs of {klass}")
        vcpus += max(int(r.table["rds_vcpus"][klass]), int(r.table["rds_proxy_min_vcpus"]))
    rate = r.price["rds_proxy_vcpu_hour"]
    return [
        (
            f"RDS Proxy for {', '.join(classes)}: {vcpus} vCPU x {r.hours:g} h x {_rate(rate)}",
            vcpus * r.hours * rate,
        )
    ]


def _ecs_service(r: _Resource) -> list[Part]:
    launch = r.props.get("LaunchType")
    strategy = r.props.get("CapacityProviderStrategy")
    if strategy:
        providers = {s.get("CapacityProvider") for s in strategy}
        if providers != {"FARGATE"}:
            raise Unpriced(f"capacity providers {sorted(map(str, providers))}")
    elif launch != "FARGATE":
        raise Unpriced(f"launch type {launch}")
    count = int(_number(r.props.get("DesiredCount", 1), "DesiredCount"))
    task = r.stack.resources.get(_ref(r.props.get("TaskDefinition")) or "")
    if task is None or task.get("Type") != "AWS::ECS::TaskDefinition":
        raise Unpriced("task definition not in this template")
    definition = task.get("Properties", {})
    platform = definition.get("RuntimePlatform", {})
    if platform.get("OperatingSystemFamily", "LINUX") != "LINUX":
        raise Unpriced(f"Fargate {platform['OperatingSystemFamily']}")
    arch = platform.get("CpuArchitecture", "X86_64")
    fargate = r.price["fargate"]
    if arch not in fargate:
        raise Unpriced(f"Fargate {arch}")
    vcpu = _number(definition.get("Cpu"), "Cpu") / 1024
    gb = _number(definition.get("Memory"), "Memory") / 1024
    hourly = vcpu * fargate[arch]["vcpu_hour"] + gb * fargate[arch]["gb_hour"]
    ephemeral = _number(definition.get("EphemeralStorage", {}).get("SizeInGiB", 20), "EphemeralStorage")
    extra = max(0.0, ephemeral - 20) * fargate["ephemeral_gb_hour_above_20"]
    return [
        (
            f"Fargate {arch}: {count} task{'s' if count != 1 else ''} x {vcpu:g} vCPU / {gb:g} GB x "
            f"{r.hours:g} h ({_rate(fargate[arch]['vcpu_hour'])}/vCPU-h, "
            f"{_rate(fargate[arch]['gb_hour'])}/GB-h)",
            count * r.hours * (hourly + extra),
        )
    ]


def _ecs_cluster(r: _Resource) -> list[Part]:
    for setting in r.props.get("ClusterSettings", []):
        if setting.get("Name") == "containerInsights" and setting.get("Value") in ("enabled", "enhanced"):
            r.missing.append(f"Container Insights: {setting['Value']}")
    return []


def _kms_key(r: _Resource) -> list[Part]:
    rate = r.price["kms_key_month"]
    note = (
        "; each of the first two yearly rotations adds the same" if r.props.get("EnableKeyRotation") else ""
    )
    return [(f"KMS key: {_rate(rate)}/month{note}", rate)]


def _secret(r: _Resource) -> list[Part]:
    replicas = r.props.get("ReplicaRegions", [])
    n = 1 + (len(replicas) if isinstance(replicas, list) else 0)
    rate = r.price["secret_month"]
    where = f" (+{n - 1} replica{'s' if n > 2 else ''})" if n > 1 else ""
    return [(f"secret{where}: {n} x {_rate(rate)}/month", n * rate)]


def _alarm(r: _Resource) -> list[Part]:
    if "ThresholdMetricId" in r.props:
        raise Unpriced("anomaly detection")
    metrics = r.props.get("Metrics")
    periods = (
        [m["MetricStat"].get("Period", 60) for m in metrics if "MetricStat" in m]
        if isinstance(metrics, list)
        else [r.props.get("Period", 60)]
    )
    if not periods:
        raise Unpriced("no metric")
    high = sum(1 for p in periods if _number(p, "Period") < 60)
    standard = len(periods) - high
    cost = standard * r.price["alarm_metric_month"] + high * r.price["alarm_high_resolution_metric_month"]
    what = f"{standard} standard" + (f" + {high} high-resolution" if high else "")
    return [(f"alarm on {what} metric{'s' if len(periods) > 1 else ''}", cost)]


def _scaling_policy(r: _Resource) -> list[Part]:
    kind = r.props.get("PolicyType")
    if kind == "StepScaling":
        return []  # its alarms are template resources, priced there
    if kind != "TargetTrackingScaling":
        raise Unpriced(f"{kind} policy")
    config = r.props.get("TargetTrackingScalingPolicyConfiguration", {})
    if "CustomizedMetricSpecification" in config:
        raise Unpriced("target tracking on a customized metric")
    rate = r.price["alarm_metric_month"]
    return [(f"target tracking: the 2 alarms it creates x {_rate(rate)}/month", 2 * rate)]


def _log_group(r: _Resource) -> list[Part]:
    name = r.props.get("LogGroupName")
    gb = _by_prefix(r.assume["log_gb_per_month"], name)
    retention = r.props.get("RetentionInDays")
    months = (
        _number(retention, "RetentionInDays") / 30
        if retention is not None
        else float(r.assume["log_months_without_retention"])
    )
    ingest, storage = r.price["logs_ingest_gb"], r.price["logs_storage_gb_month"]
    return [
        (
            f"log ingestion {gb:g} GB/month (assumed) x {_rate(ingest)} + stored {gb * months:.1f} GB x "
            f"{_rate(storage)}",
            gb * ingest + gb * months * storage,
        )
    ]


def _bucket(r: _Resource) -> list[Part]:
    gb = _by_prefix(r.assume["s3_gb_per_bucket"], r.props.get("BucketName"), contains=True)
    rate = r.price["s3_standard_gb_month"]
    return [(f"S3 Standard {gb:g} GB (assumed) x {_rate(rate)}/GB-month", gb * rate)]


def _repository(r: _Resource) -> list[Part]:
    gb, rate = float(r.assume["ecr_gb_per_repository"]), r.price["ecr_gb_month"]
    return [(f"ECR images {gb:g} GB (assumed) x {_rate(rate)}/GB-month", gb * rate)]


def _ecr_replication(r: _Resource) -> list[Part]:
    repositories = [
        str(props.get("RepositoryName"))
        for stack in r.stage_stacks()
        for _, props in stack.of_type("AWS::ECR::Repository")
    ]
    parts = []
    for rule in r.props.get("ReplicationConfiguration", {}).get("Rules", []):
        prefixes = [
            f["Filter"] for f in rule.get("RepositoryFilters", []) if f.get("FilterType") == "PREFIX_MATCH"
        ]
        matched = [n for n in repositories if not prefixes or n.startswith(tuple(prefixes))]
        for destination in rule.get("Destinations", []):
            region = destination.get("Region")
            prices = r.table["regions"].get(region)
            if prices is None:
                raise Unpriced(f"replicas in {region}")
            each = float(r.assume["ecr_gb_per_repository"])
            parts.append(
                (
                    f"ECR replicas in {region}: {len(matched)} repositories x {each:g} GB (assumed) x "
                    f"{_rate(prices['ecr_gb_month'])}",
                    len(matched) * each * prices["ecr_gb_month"],
                )
            )
    return parts


def _backup_vault(r: _Resource) -> list[Part]:
    """Recovery points of the databases whose backup plans write (or copy) into this vault."""
    name = r.props.get("BackupVaultName")
    sources: set[str] = set()
    for stack in r.stacks:
        for _, plan in stack.of_type("AWS::Backup::BackupPlan"):
            for rule in plan.get("BackupPlan", {}).get("BackupPlanRule", []):
                targets = stack is r.stack and _names(rule.get("TargetBackupVault"), r.logical_id)
                copies = isinstance(name, str) and any(
                    str(c.get("DestinationBackupVaultArn", "")).endswith(f":backup-vault:{name}")
                    for c in rule.get("CopyActions", [])
                )
                if targets or copies:
                    sources.add(stack.stage)
    databases = [
        _number(props.get("AllocatedStorage"), "AllocatedStorage")
        for stage in sorted(sources)
        for stack in r.stage_stacks(stage)
        for _, props in stack.of_type("AWS::RDS::DBInstance")
    ]
    if not databases:
        raise Unpriced("no backup plan in the assembly writes a database to it")
    gb = sum(databases) * float(r.assume["backup_gb_per_database_gb"])
    rate = r.price["backup_rds_gb_month"]
    origin = ", ".join(sorted(sources))
    return [(f"backups of {origin}'s database: {gb:g} GB (assumed) x {_rate(rate)}/GB-month", gb * rate)]


def _ssm_parameter(r: _Resource) -> list[Part]:
    tier = r.props.get("Tier", "Standard")
    if tier == "Standard":
        return []  # standard parameters have no charge
    if tier != "Advanced":
        raise Unpriced(f"tier {tier}")
    rate = r.price["ssm_advanced_parameter_month"]
    return [(f"advanced parameter: {_rate(rate)}/month", rate)]


def _certificate(r: _Resource) -> list[Part]:
    if "CertificateAuthorityArn" in r.props:
        raise Unpriced("private CA certificate")
    return []  # public ACM certificates have no charge


def _health_check(r: _Resource) -> list[Part]:
    """Route 53's rate for an endpoint it does not recognise as an AWS resource (one checked by
    domain name), plus each optional feature: HTTPS, string matching, the 10-second interval,
    latency measurement."""
    config = r.props.get("HealthCheckConfig", {})
    kind = str(config.get("Type", ""))
    if kind not in ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"):
        raise Unpriced(f"type {kind}")
    features = [
        name
        for name, used in (
            ("HTTPS", kind.startswith("HTTPS")),
            ("string matching", kind.endswith("_STR_MATCH")),
            ("10-second interval", int(config.get("RequestInterval", 30)) == 10),
            ("latency measurement", bool(config.get("MeasureLatency"))),
        )
        if used
    ]
    base, feature = r.price["route53_health_check_month"], r.price["route53_health_check_feature_month"]
    parts: list[Part] = [(f"health check: {_rate(base)}/month", float(base))]
    parts += [(f"{name}: {_rate(feature)}/month", float(feature)) for name in features]
    return parts


def _flat(key: str, what: str) -> Pricer:
    def price(r: _Resource) -> list[Part]:
        return [(f"{what}: {_rate(r.price[key])}/month", float(r.price[key]))]

    return price


PRICERS: dict[str, Pricer] = {
    "AWS::EC2::NatGateway": _nat_gateway,
    "AWS::EC2::EIP": _eip,
    "AWS::EC2::VPCEndpoint": _vpc_endpoint,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::WAFv2::WebACL": _web_acl,
    "AWS::RDS::DBInstance": _db_instance,
    "AWS::RDS::DBProxy": _db_proxy,
    "AWS::ECS::Service": _ecs_service,
    "AWS::ECS::Cluster": _ecs_cluster,
    "AWS::KMS::Key": _kms_key,
    "AWS::KMS::ReplicaKey": _kms_key,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::CloudWatch::CompositeAlarm": _flat("composite_alarm_month", "composite alarm"),
    "AWS::CloudWatch::Dashboard": _flat("dashboard_month", "dashboard"),
    # A filter's metric is a custom metric (first 10,000 metrics' tier).
    "AWS::Logs::MetricFilter": _flat("custom_metric_month", "custom metric from a log filter"),
    "AWS::ApplicationAutoScaling::ScalingPolicy": _scaling_policy,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::S3::Bucket": _bucket,
    "AWS::ECR::Repository": _repository,
    "AWS::ECR::ReplicationConfiguration": _ecr_replication,
    "AWS::Backup::BackupVault": _backup_vault,
    "AWS::SSM::Parameter": _ssm_parameter,
    "AWS::CertificateManager::Certificate": _certificate,
    "AWS::Route53::HostedZone": _flat("route53_hosted_zone_month", "hosted zone"),
    "AWS::Route53::HealthCheck": _health_check,
}


# ---- the assembly ---------------------------------------------------------------------------------


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def _stacks(assembly: Path) -> list[_Stack]:
    """Every stack of every nested assembly (one per stage: dev, ..., production-dr)."""
    return [
        _Stack(s.stage, s.name, None if s.region.startswith("unknown") else s.region, s.template)
        for s in load(assembly).values()
    ]


def estimate(assembly: Path, *, prices: Mapping[str, Any] | None = None) -> dict[str, Estimate]:
    """Each stage's monthly baseline, keyed by stage name (dev, staging, production, production-dr)."""
    table = prices if prices is not None else load_prices()
    stacks = tuple(_stacks(assembly))
    free: Mapping[str, str] = table["free"]
    found: dict[str, tuple[list[Line], list[tuple[str, str, str]], set[str | None]]] = {}
    for stack in stacks:
        lines, unpriced, regions = found.setdefault(stack.stage, ([], [], set()))
        regions.add(stack.region)
        for logical_id, resource in stack.resources.items():
            kind = resource.get("Type", "?")
            pricer = PRICERS.get(kind)
            if pricer is None:
                if kind not in free:
                    unpriced.append((stack.name, logical_id, kind))
                continue
            item = _Resource(stack, logical_id, kind, resource.get("Properties", {}), table, stacks)
            try:
                parts = pricer(item)
            except Unpriced as why:
                unpriced.append((stack.name, logical_id, f"{kind} [{why}]"))
                continue
            lines.extend(Line(stack.name, logical_id, kind, what, usd) for what, usd in parts)
            unpriced.extend((stack.name, logical_id, f"{kind} [{feature}]") for feature in item.missing)
    return {
        stage: Estimate(
            environment=stage,
            region=next(iter(regions)) if len(regions) == 1 else None,
            lines=tuple(lines),
            unpriced=tuple(unpriced),
        )
        for stage, (lines, unpriced, regions) in found.items()
    }


# ---- markdown -------------------------------------------------------------------------------------


ENDPOINT_NOTE = (
    "Interface endpoints are billed per AZ (per subnet they sit in). `network.interface_endpoints` "
    "chooses every-az, one-az or none per VPC (README, configuration reference): one-az costs a "
    "half (two zones) or a third (three) of every-az, but an outage of that one zone also cuts the "
    "other zones' rotation functions, RDS Proxy and deployment hooks off Secrets Manager, KMS and "
    "the ECS API (their security groups send HTTPS only to the endpoints); none is accepted only "
    "for a VPC nothing is attached to (production's DR VPC until failover)."
)


def _change(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "new" if before is None else "removed"
    delta = after - before
    sign = "+" if delta >= 0 else "-"
    percent = f" ({sign}{abs(delta) / before * 100:.1f}%)" if before else ""
    return f"{sign}{_usd(abs(delta))}{percent}"


def render(
    estimates: Mapping[str, Estimate],
    *,
    base: Mapping[str, Estimate] | None = None,
    prices: Mapping[str, Any] | None = None,
) -> str:
    """Markdown: a summary per environment (with `base`: before, after, change), then each
    environment's cost by resource type, its lines, and what is unpriced."""
    table = prices if prices is not None else load_prices()
    out = [
        "## Estimated monthly baseline (USD)",
        "",
        f"Prices: `tools/prices.json`, as of {table['as_of']}; on-demand, "
        f"{table['hours_per_month']} h/month, no free tier. Usage (log GB, S3 GB, image GB, LCUs, "
        "WAF requests, backup GB) is assumed as stated there; data transfer and request charges "
        "are not included. Unpriced resources are listed, never counted as zero.",
        "",
    ]
    names = list(estimates) + [n for n in (base or {}) if n not in estimates]
    if base is None:
        out += ["| environment | region | monthly | unpriced |", "|---|---|---:|---:|"]
        for name in names:
            e = estimates[name]
            out.append(f"| {name} | {e.region or 'several'} | {_usd(e.total)} | {len(e.unpriced)} |")
    else:
        out += ["| environment | before | after | change | unpriced |", "|---|---:|---:|---:|---:|"]
        for name in names:
            old, new = base.get(name), estimates.get(name)
            before = old.total if old else None
            after = new.total if new else None
            cells = [_usd(v) if v is not None else "—" for v in (before, after)]
            unpriced = len(new.unpriced) if new else 0
            out.append(f"| {name} | {cells[0]} | {cells[1]} | {_change(before, after)} | {unpriced} |")
    out += ["", ENDPOINT_NOTE, ""]
    for name in estimates:
        e = estimates[name]
        out += [f"### {name} ({e.region or 'several regions'}): {_usd(e.total)}/month", ""]
        by_type: dict[str, tuple[set[tuple[str, str]], float]] = {}
        for line in e.lines:
            ids, usd = by_type.get(line.resource_type, (set(), 0.0))
            by_type[line.resource_type] = (ids | {(line.stack, line.logical_id)}, usd + line.monthly_usd)
        out += ["| resource type | resources | monthly |", "|---|---:|---:|"]
        for kind, (ids, usd) in sorted(by_type.items(), key=lambda item: (-item[1][1], item[0])):
            out.append(f"| {kind} | {len(ids)} | {_usd(usd)} |")
        out += ["", "<details><summary>lines</summary>", ""]
        out += ["| stack | resource | what | monthly |", "|---|---|---|---:|"]
        for line in sorted(e.lines, key=lambda x: (x.stack, x.resource_type, x.logical_id)):
            out.append(
                f"| {line.stack} | {line.logical_id} | {line.description} | {_usd(line.monthly_usd)} |"
            )
        out += ["", "</details>", ""]
        if e.unpriced:
            out += ["Unpriced (no price in `tools/prices.json`; not counted):", ""]
            out += [f"- {stack} `{logical_id}`: {kind}" for stack, logical_id, kind in e.unpriced]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# ---- command line ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/cost.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--assembly", type=Path, help="a synthesized cloud assembly (default: synthesize now)"
    )
    parser.add_argument("--base", type=Path, help="an earlier assembly to compare with (before/after)")
    args = parser.parse_args(argv)
    for path in (args.assembly, args.base):
        if path is not None and not (path / "manifest.json").is_file():
            raise SystemExit(f"error: {path} is not a cloud assembly (no manifest.json)")
    base = estimate(args.base) if args.base else None
    if args.assembly is not None:
        print(render(estimate(args.assembly), base=base), end="")
        return 0
    with tempfile.TemporaryDirectory(prefix="cost-") as outdir:
        synthesize(Path(outdir))
        print(render(estimate(Path(outdir)), base=base), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
