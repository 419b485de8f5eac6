"""An application load balancer in front of one blue/green service.

Two target groups (blue and green), a production listener rule and a test listener whose
rule ECS points at the green tasks during a deployment. ECS owns the rules' weights once a
deployment has run, so nothing here may change a rule after its first deploy (aws-cdk#36649;
tests/unit/test_services.py keeps them byte-identical across image-tag changes).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from components.context import UnitContext
from components.log_bucket import log_bucket
from components.nag import acknowledge
from components.network import closed_security_group

HEALTH_PATH = "/health"
# The production and test rules: one catch-all rule each, below any operator rule
# (maintenance mode adds a priority-1 fixed-response rule in front of this one).
RULE_PRIORITY = 100
DEREGISTRATION_DELAY = cdk.Duration.seconds(30)


def ip_target_group(
    scope: Construct, construct_id: str, *, vpc: ec2.IVpc, port: int
) -> elbv2.ApplicationTargetGroup:
    """Fargate tasks (by IP) on HTTP `port`, healthy after 2 answers 200 to GET /health 15 s
    apart, out after 3 misses; a leaving task drains for 30 s."""
    return elbv2.ApplicationTargetGroup(
        scope,
        construct_id,
        vpc=vpc,
        port=port,
        protocol=elbv2.ApplicationProtocol.HTTP,
        target_type=elbv2.TargetType.IP,
        deregistration_delay=DEREGISTRATION_DELAY,
        health_check=elbv2.HealthCheck(
            path=HEALTH_PATH,
            healthy_http_codes="200",
            interval=cdk.Duration.seconds(15),
            timeout=cdk.Duration.seconds(5),
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
        ),
    )


def load_balancer_logs_bucket(scope: Construct, *, context: UnitContext) -> s3.Bucket:
    """ALB access logs: load balancers can only write to SSE-S3 buckets."""
    return log_bucket(
        scope,
        "LoadBalancerLogs",
        name=context.bucket_name(scope, "alb-logs"),
        retention_days=context.log_retention_days,
        removal_policy=context.removal_policy,
        reason="This bucket is itself a log destination (ALB access logs): ELB can only write to SSE-S3 "
        "buckets, logging its own reads would loop, and log copies in the DR region are not needed.",
    )


class ServiceLoadBalancer(Construct):
    """Internet-facing with HTTPS (and HTTP redirected) when given a certificate; internal
    HTTP otherwise. Attributes: ``load_balancer``, ``security_group``, ``listener``,
    ``test_listener``, ``blue``, ``green``, ``production_rule``, ``test_rule``, ``test_port``, ``test_url``,
    ``internet_facing``, ``vpc``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        vpc: ec2.IVpc,
        target_port: int,
        test_port: int,
        test_sources: Sequence[ec2.IPeer],
        logs_bucket: s3.IBucket,
        deletion_protection: bool,
        certificate: acm.ICertificate | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        public = self.internet_facing = certificate is not None
        self.vpc = vpc
        # Egress only to the tasks, added by the services' rules. Each rule its own resource,
        # so an acknowledgement covers one rule, never a rule added later.
        self.security_group = closed_security_group(
            self, "SecurityGroup", vpc=vpc, description=f"{name} load balancer", separate_rules=True
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            load_balancer_name=name,
            vpc=vpc,
            internet_facing=public,
            vpc_subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PUBLIC if public else ec2.SubnetType.PRIVATE_WITH_EGRESS
            ),
            security_group=self.security_group,
            drop_invalid_header_fields=True,
            deletion_protection=deletion_protection,
        )
        self.load_balancer.log_access_logs(logs_bucket, prefix=name)

        def target_group(construct_id: str) -> elbv2.ApplicationTargetGroup:
            return ip_target_group(self, construct_id, vpc=vpc, port=target_port)

        self.blue = target_group("Blue")
        self.green = target_group("Green")

        if certificate is not None:
            self.listener = self.load_balancer.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
                ssl_policy=elbv2.SslPolicy.TLS13_RES,  # TLS 1.3 and 1.2 with forward secrecy only
                open=True,
                default_action=elbv2.ListenerAction.fixed_response(404, content_type="text/plain"),
            )
            self.load_balancer.add_redirect(source_port=80, target_port=443)
        else:
            self.listener = self.load_balancer.add_listener(
                "Http",
                port=80,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=False,
                default_action=elbv2.ListenerAction.fixed_response(404, content_type="text/plain"),
            )
            # Clients are let in by `allow_client` (their security group, never a range).
        self.test_listener = self.load_balancer.add_listener(
            "Test",
            port=test_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_action=elbv2.ListenerAction.fixed_response(404, content_type="text/plain"),
        )
        for source in test_sources:
            self.security_group.add_ingress_rule(
                source, ec2.Port.tcp(test_port), "Smoke tests of green tasks"
            )

        def rule(construct_id: str, listener: elbv2.ApplicationListener) -> elbv2.ApplicationListenerRule:
            # Blue 100 / green 0 at creation; afterwards ECS moves the weights (and owns them).
            return elbv2.ApplicationListenerRule(
                self,
                construct_id,
                listener=listener,
                priority=RULE_PRIORITY,
                conditions=[elbv2.ListenerCondition.path_patterns(["/*"])],
                action=elbv2.ListenerAction.weighted_forward(
                    [
                        elbv2.WeightedTargetGroup(target_group=self.blue, weight=100),
                        elbv2.WeightedTargetGroup(target_group=self.green, weight=0),
                    ]
                ),
            )

        self.production_rule = rule("ProductionRule", self.listener)
        self.test_rule = rule("TestRule", self.test_listener)
        self.test_port = test_port
        self.test_url = f"http://{self.load_balancer.load_balancer_dns_name}:{test_port}"
        self._acknowledge(public, deletion_protection)

    def allow_client(self, client: ec2.IConnectable) -> None:
        """Let `client` reach the production listener (ingress here, egress on its group)."""
        self.load_balancer.connections.allow_from(client, ec2.Port.tcp(80), "Clients of the service")

    def _acknowledge(self, public: bool, deletion_protection: bool) -> None:
        plain_http = (
            "NIST.800.53.R5::NIST.800.53.R5-ALBHttpToHttpsRedirection",
            "NIST.800.53.R5::NIST.800.53.R5-ELBv2ACMCertificateRequired",
        )
        acknowledge(
            self.test_listener.node.default_child or self.test_listener,
            "Plain HTTP on the test port carries only smoke-test GETs (deployment.smoke_checks, e.g. "
            "/health; no credentials, no user data) from the deployment hook while a deployment "
            "verifies green, and operators' checks; no client or production traffic uses this port "
            + (
                "(the hook reaches it from our NAT addresses)."
                if public
                else "(the hook reaches it inside the VPC)."
            ),
            *plain_http,
        )
        if public:
            redirect = self.load_balancer.node.find_child("Redirect80To443")
            acknowledge(
                redirect.node.default_child or redirect,
                "Port 80 only answers with a permanent redirect to HTTPS on 443; it never forwards "
                "a request, so there is nothing for a certificate to protect.",
                "NIST.800.53.R5::NIST.800.53.R5-ELBv2ACMCertificateRequired",
            )
        for rule in self.security_group.node.children:
            if not isinstance(rule, ec2.CfnSecurityGroupIngress) or rule.cidr_ip is None:
                continue
            one_port = rule.to_port == rule.from_port
            if public and rule.cidr_ip == "0.0.0.0/0" and one_port and rule.from_port in (80, 443):
                # The internet-facing listeners (open=True); any other open rule fails synth.
                what = "HTTPS, behind the web ACL" if rule.from_port == 443 else "a redirect to HTTPS only"
                acknowledge(
                    rule,
                    f"Internet-facing by design: this rule opens port {rule.from_port} ({what}) to "
                    "everyone; cdk-nag judges each of this group's rules on its own, so it covers no "
                    "other rule (tested: tests/unit/test_properties.py::"
                    "test_only_the_public_load_balancer_admits_the_internet).",
                    "AwsSolutions::AwsSolutions-EC23",
                )
            elif cdk.Token.is_unresolved(rule.cidr_ip) and one_port and rule.from_port == self.test_port:
                # cdk-nag's checks throw on a CIDR they cannot read, which reports a finding.
                acknowledge(
                    rule,
                    "The test port from one of our NAT gateways' Elastic IPs as a /32: a deploy-time "
                    "value the checks cannot read, so they report it; never the whole internet (tested: "
                    "tests/unit/test_properties.py::test_test_listener_is_never_open_to_the_internet).",
                    "AwsSolutions::AwsSolutions-EC23",
                    "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedCommonPorts",
                    "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedSSH",
                )
        if not public:
            acknowledge(
                self.listener.node.default_child or self.listener,
                "Internal load balancer in private subnets, reachable only from the calling "
                "service's security group; there is no public name to hold a certificate for.",
                *plain_http,
            )
            acknowledge(
                self.load_balancer.node.default_child or self.load_balancer,
                "Internal load balancer in private subnets reachable only from its callers' security "
                "groups (allow_client); the internet-facing load balancer in front of the bot carries "
                "the web ACL.",
                "NIST.800.53.R5::NIST.800.53.R5-ALBWAFEnabled",
            )
        if not deletion_protection:
            acknowledge(
                self.load_balancer.node.default_child or self.load_balancer,
                "Deletion protection follows the deletion_protection setting: off in dev so the sandbox "
                "can be torn down; staging and production must keep it on (validated: "
                "config.model._validate).",
                "NIST.800.53.R5::NIST.800.53.R5-ELBDeletionProtectionEnabled",
            )
