"""`make cost` (tools/cost.py): the monthly baseline, read from the synthesized templates.

Expected amounts are computed here by hand from the literal prices of tools/prices.json
(us-east-1: NAT gateway $0.045/h, interface endpoint $0.01/AZ-h, Fargate ARM64 $0.03238/vCPU-h
and $0.00356/GB-h, x86 $0.04048 and $0.004445, RDS PostgreSQL db.t4g.micro $0.016/h, gp3
$0.115/GB-month, RDS Proxy $0.015/vCPU-h) times 730 hours, never read back from the tool.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from tools.cost import PRICERS, Estimate, Line, estimate, load_prices, main, render

HOURS = 730


@pytest.fixture(scope="module")
def estimates(templates: dict[str, Any], assembly_dir: Path) -> dict[str, Estimate]:
    # `templates` first: the session's synth writes the whole app into `assembly_dir`.
    assert templates
    return estimate(assembly_dir)


def _assembly(tmp_path: Path, resources: dict[str, Any], *, region: str = "us-east-1") -> Path:
    """A cloud assembly as the CDK writes it: one stage `dev`, one stack `crafted`."""
    root, nested = tmp_path / "cdk.out", tmp_path / "cdk.out" / "assembly-dev"
    nested.mkdir(parents=True)
    stage = {
        "type": "cdk:cloud-assembly",
        "properties": {"directoryName": "assembly-dev", "displayName": "dev"},
    }
    (root / "manifest.json").write_text(
        json.dumps({"version": "48.0.0", "artifacts": {"assembly-dev": stage}})
    )
    stack = {
        "type": "aws:cloudformation:stack",
        "environment": f"aws://111111111111/{region}",
        "properties": {"templateFile": "crafted.template.json", "stackName": "crafted"},
    }
    (nested / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": {"crafted": stack}}))
    (nested / "crafted.template.json").write_text(json.dumps({"Resources": resources}))
    return root


def _lines(e: Estimate, resource_type: str) -> list[Line]:
    return [line for line in e.lines if line.resource_type == resource_type]


def test_every_stage_is_estimated_in_its_region(estimates: dict[str, Estimate]) -> None:
    assert {name: e.region for name, e in estimates.items()} == {
        "dev": "us-east-1",
        "staging": "us-east-1",
        "production": "us-east-1",
        "production-dr": "us-west-2",
    }
    assert all(e.environment == name for name, e in estimates.items())


def test_dev_has_one_nat_gateway_at_its_hourly_price(estimates: dict[str, Estimate]) -> None:
    (nat,) = _lines(estimates["dev"], "AWS::EC2::NatGateway")
    assert nat.stack == "clever-better-dev-network"
    assert nat.monthly_usd == pytest.approx(0.045 * HOURS) == 32.85
    # Production: one per AZ (3); the DR pilot light: one.
    assert len(_lines(estimates["production"], "AWS::EC2::NatGateway")) == 3
    assert len(_lines(estimates["production-dr"], "AWS::EC2::NatGateway")) == 1


# Interface endpoints per VPC and the AZs (subnets) each one sits in (network.interface_endpoints:
# dev and the DR pilot light one-az, staging and production every-az).
ENDPOINTS = {"dev": (9, 1), "staging": (9, 2), "production": (9, 3), "production-dr": (9, 1)}


@pytest.mark.parametrize("stage", sorted(ENDPOINTS))
def test_interface_endpoints_are_priced_per_subnet(estimates: dict[str, Estimate], stage: str) -> None:
    count, azs = ENDPOINTS[stage]
    lines = _lines(estimates[stage], "AWS::EC2::VPCEndpoint")
    # The S3 gateway endpoint has no charge and no line.
    assert len(lines) == count
    for line in lines:
        assert line.monthly_usd == pytest.approx(azs * 0.01 * HOURS)
        assert f" in {azs} AZ" in line.description
    # dev and the DR VPC: 9 x $7.30 instead of 9 x $14.60 in two zones (us-west-2 costs as us-east-1).
    assert sum(line.monthly_usd for line in lines) == pytest.approx(
        {"dev": 65.70, "staging": 131.40, "production": 197.10, "production-dr": 65.70}[stage]
    )


def test_render_states_the_endpoint_trade_off(estimates: dict[str, Estimate]) -> None:
    text = render(estimates)
    assert "`network.interface_endpoints`" in text
    assert "an outage of that one zone" in text


def test_real_assembly_lists_what_it_cannot_price(estimates: dict[str, Estimate]) -> None:
    assert estimates["production"].unpriced == (
        (
            "clever-better-prod-data",
            "DatabaseInstanceAA8A5FDE",
            "AWS::RDS::DBInstance [Performance Insights retention 31 days]",
        ),
        (
            "clever-better-prod-services",
            "ServicesClusterFAAA2B60",
            "AWS::ECS::Cluster [Container Insights: enhanced]",
        ),
        # Priced by events analysed and, for runtime monitoring, by the tasks' vCPU-hours.
        ("clever-better-prod-audit", "ThreatDetectionDetector0E1F32F0", "AWS::GuardDuty::Detector"),
    )
    assert estimates["production-dr"].unpriced == (
        (
            "clever-better-prod-dr-services",
            "ServicesClusterFAAA2B60",
            "AWS::ECS::Cluster [Container Insights: enhanced]",
        ),
        ("clever-better-prod-dr-audit", "ThreatDetectionDetector0E1F32F0", "AWS::GuardDuty::Detector"),
    )
    # The pilot light's proxy has no target until a failover: RDS Proxy bills its targets' vCPUs.
    (proxy,) = _lines(estimates["production-dr"], "AWS::RDS::DBProxy")
    assert proxy.monthly_usd == 0.0 and proxy.description.startswith("RDS Proxy without a target")
    # The instance itself is priced beside its unpriced feature: Multi-AZ db.r7g.large.
    (instance,) = [
        line
        for line in _lines(estimates["production"], "AWS::RDS::DBInstance")
        if "db.r7g.large" in line.description
    ]
    assert instance.monthly_usd == pytest.approx(2 * 0.239 * HOURS)


def test_every_resource_is_priced_free_or_listed(
    templates: dict[str, Any], estimates: dict[str, Estimate]
) -> None:
    free = set(load_prices()["free"])
    accounted = {(line.stack, line.logical_id) for e in estimates.values() for line in e.lines} | {
        (stack, logical_id) for e in estimates.values() for stack, logical_id, _ in e.unpriced
    }
    checked = 0
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            checked += 1
            kind = resource["Type"]
            # A priced type may cost nothing as configured (the S3 gateway endpoint, a public
            # certificate, step scaling whose alarms are their own resources).
            assert kind in free or kind in PRICERS or (stack, logical_id) in accounted, (stack, logical_id)
    assert checked > 500


def test_fargate_service_at_its_desired_count_and_size(tmp_path: Path) -> None:
    def service(task: str) -> dict[str, Any]:
        return {
            "Type": "AWS::ECS::Service",
            "Properties": {"LaunchType": "FARGATE", "DesiredCount": 2, "TaskDefinition": {"Ref": task}},
        }

    def task(platform: dict[str, str] | None) -> dict[str, Any]:
        props: dict[str, Any] = {"Cpu": "512", "Memory": "1024", "RequiresCompatibilities": ["FARGATE"]}
        if platform:
            props["RuntimePlatform"] = platform
        return {"Type": "AWS::ECS::TaskDefinition", "Properties": props}

    assembly = _assembly(
        tmp_path,
        {
            "Arm": service("ArmTask"),
            "ArmTask": task({"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}),
            "X86": service("X86Task"),
            "X86Task": task(None),  # no runtime platform: x86_64
        },
    )
    e = estimate(assembly)["dev"]
    by_id = {line.logical_id: line for line in _lines(e, "AWS::ECS::Service")}
    assert by_id["Arm"].monthly_usd == pytest.approx(2 * HOURS * (0.5 * 0.03238 + 1 * 0.00356)) == 28.835
    assert by_id["X86"].monthly_usd == pytest.approx(2 * HOURS * (0.5 * 0.04048 + 1 * 0.004445))
    assert "2 tasks x 0.5 vCPU / 1 GB" in by_id["Arm"].description
    # Task definitions are not baseline by themselves (the migration task runs only on demand).
    assert {line.logical_id for line in e.lines} == {"Arm", "X86"} and e.unpriced == ()


def _instance(multi_az: bool, klass: str = "db.t4g.micro") -> dict[str, Any]:
    return {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {
            "Engine": "postgres",
            "DBInstanceClass": klass,
            "MultiAZ": multi_az,
            "AllocatedStorage": "20",
            "StorageType": "gp3",
        },
    }


def test_multi_az_doubles_instance_and_storage(tmp_path: Path) -> None:
    e = estimate(_assembly(tmp_path, {"Single": _instance(False), "Multi": _instance(True)}))["dev"]
    lines = {(line.logical_id, line.description.split(" ")[1]): line.monthly_usd for line in e.lines}
    assert lines[("Single", "PostgreSQL")] == pytest.approx(0.016 * HOURS) == 11.68
    assert lines[("Multi", "PostgreSQL")] == pytest.approx(2 * 0.016 * HOURS) == 23.36
    assert lines[("Single", "storage")] == pytest.approx(20 * 0.115) == 2.30
    assert lines[("Multi", "storage")] == pytest.approx(2 * 20 * 0.115) == 4.60


def test_proxy_is_priced_per_vcpu_of_its_instance(tmp_path: Path) -> None:
    assembly = _assembly(
        tmp_path,
        {
            "Instance": _instance(True),
            "Proxy": {"Type": "AWS::RDS::DBProxy", "Properties": {"EngineFamily": "POSTGRESQL"}},
            "Targets": {
                "Type": "AWS::RDS::DBProxyTargetGroup",
                "Properties": {
                    "DBProxyName": {"Ref": "Proxy"},
                    "DBInstanceIdentifiers": [{"Ref": "Instance"}],
                },
            },
        },
    )
    (proxy,) = _lines(estimate(assembly)["dev"], "AWS::RDS::DBProxy")
    # db.t4g.micro has 2 vCPUs; the standby of a Multi-AZ instance is not a proxy target.
    assert proxy.monthly_usd == pytest.approx(2 * 0.015 * HOURS) == 21.90


def test_health_checks_are_priced_with_each_feature(tmp_path: Path, estimates: dict[str, Estimate]) -> None:
    def check(**config: Any) -> dict[str, Any]:
        return {"Type": "AWS::Route53::HealthCheck", "Properties": {"HealthCheckConfig": config}}

    assembly = _assembly(
        tmp_path,
        {
            "Plain": check(Type="HTTP", FullyQualifiedDomainName="a.example"),
            "Ours": check(Type="HTTPS_STR_MATCH", SearchString="ok", RequestInterval=30),
            "Fast": check(Type="HTTPS", RequestInterval=10, MeasureLatency=True),
        },
    )
    lines = _lines(estimate(assembly)["dev"], "AWS::Route53::HealthCheck")
    by_check: dict[str, float] = {}
    for line in lines:
        by_check[line.logical_id] = by_check.get(line.logical_id, 0) + line.monthly_usd
    # $0.75 a check (an endpoint Route 53 knows by name only), $2.00 for each optional feature.
    assert by_check == pytest.approx({"Plain": 0.75, "Ours": 4.75, "Fast": 6.75})
    (ours,) = [
        line.monthly_usd
        for line in _lines(estimates["production"], "AWS::Route53::HealthCheck")
        if line.description.startswith("health check")
    ]
    assert ours == 0.75
    assert len(_lines(estimates["production"], "AWS::Route53::HealthCheck")) == 3  # check, HTTPS, matching


def test_an_unknown_type_is_listed_as_unpriced_never_zero(tmp_path: Path) -> None:
    assembly = _assembly(
        tmp_path,
        {
            "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
            "Mystery": {"Type": "AWS::Foo::Bar", "Properties": {}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "BigInstance": _instance(False, klass="db.x2iedn.32xlarge"),
        },
    )
    e = estimate(assembly)["dev"]
    assert e.unpriced == (
        ("crafted", "Mystery", "AWS::Foo::Bar"),
        ("crafted", "BigInstance", "AWS::RDS::DBInstance [class db.x2iedn.32xlarge]"),
    )
    # Neither has a line (not even one of $0); the free IAM role has neither.
    assert [line.logical_id for line in e.lines] == ["Nat"]
    assert e.total == pytest.approx(0.045 * HOURS)
    text = render({"dev": e})
    assert "- crafted `Mystery`: AWS::Foo::Bar" in text
    assert "| dev | us-east-1 | $32.85 | 2 |" in text


def test_a_region_without_prices_prices_nothing(tmp_path: Path) -> None:
    e = estimate(_assembly(tmp_path, {"Nat": {"Type": "AWS::EC2::NatGateway"}}, region="ap-south-2"))["dev"]
    assert e.lines == () and e.unpriced == (
        ("crafted", "Nat", "AWS::EC2::NatGateway [no prices for region ap-south-2]"),
    )


def _estimate(name: str, *amounts: float) -> Estimate:
    lines = tuple(Line("s", f"R{i}", "AWS::EC2::NatGateway", "x", usd) for i, usd in enumerate(amounts))
    return Estimate(environment=name, region="us-east-1", lines=lines, unpriced=())


def test_render_with_base_shows_before_after_and_change() -> None:
    base = {
        "dev": _estimate("dev", 10.0),
        "staging": _estimate("staging", 200.0),
        "old": _estimate("old", 1.0),
    }
    new = {"dev": _estimate("dev", 10.0, 5.0), "staging": _estimate("staging", 150.0)}
    text = render(new, base=base)
    assert "| environment | before | after | change | unpriced |" in text
    assert "| dev | $10.00 | $15.00 | +$5.00 (+50.0%) | 0 |" in text
    assert "| staging | $200.00 | $150.00 | -$50.00 (-25.0%) | 0 |" in text
    assert "| old | $1.00 | — | removed | 0 |" in text
    assert "### dev (us-east-1): $15.00/month" in text


def test_price_table_is_dated_and_complete() -> None:
    table = load_prices()
    datetime.date.fromisoformat(table["as_of"])
    assert table["hours_per_month"] == HOURS
    assert sorted(table["regions"]) == ["us-east-1", "us-west-2"]
    assert set(table["regions"]["us-east-1"]) == set(table["regions"]["us-west-2"])
    # A type is either priced by the tool or free, never both.
    assert not set(table["free"]) & set(PRICERS)
    assert all(reason for reason in table["free"].values())


def test_cli_prints_markdown_for_an_assembly(
    estimates: dict[str, Estimate], assembly_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--assembly", str(assembly_dir), "--base", str(assembly_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Estimated monthly baseline (USD)\n")
    assert (
        f"| dev | {_usd(estimates['dev'].total)} | {_usd(estimates['dev'].total)} | +$0.00 (+0.0%) | 2 |"
        in out
    )


def test_cli_refuses_a_directory_that_is_no_assembly_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--assembly", str(tmp_path)])
    assert str(stop.value) == f"error: {tmp_path} is not a cloud assembly (no manifest.json)"


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"
