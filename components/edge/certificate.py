"""The public endpoint's certificate (api.clever-better.com, dev-api..., ...)."""

from __future__ import annotations

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from constructs import Construct


def _zone(scope: Construct, domain_name: str, hosted_zone_id: str) -> route53.IHostedZone:
    # By attributes, not a lookup: synth stays offline. The zone is the domain's parent.
    return route53.HostedZone.from_hosted_zone_attributes(
        scope, "Zone", hosted_zone_id=hosted_zone_id, zone_name=domain_name.split(".", 1)[1]
    )


def domain_certificate(scope: Construct, *, domain_name: str, hosted_zone_id: str | None) -> acm.Certificate:
    """DNS-validated. With a zone CloudFormation adds the validation record itself; without one
    the stack waits until an operator adds the CNAME printed in its events (docs/RUNBOOK.md)."""
    zone = _zone(scope, domain_name, hosted_zone_id) if hosted_zone_id else None
    return acm.Certificate(
        scope,
        "Certificate",
        domain_name=domain_name,
        validation=acm.CertificateValidation.from_dns(zone),
    )
