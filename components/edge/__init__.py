from components.edge.certificate import domain_certificate
from components.edge.dns import EndpointHealthCheck, Failover, FailoverRecords
from components.edge.firewall import WebFirewall
from components.edge.load_balancer import ServiceLoadBalancer, ip_target_group, load_balancer_logs_bucket

__all__ = [
    "EndpointHealthCheck",
    "Failover",
    "FailoverRecords",
    "ServiceLoadBalancer",
    "WebFirewall",
    "domain_certificate",
    "ip_target_group",
    "load_balancer_logs_bucket",
]
