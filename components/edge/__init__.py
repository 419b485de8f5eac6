from components.edge.certificate import domain_certificate
from components.edge.firewall import WebFirewall
from components.edge.load_balancer import ServiceLoadBalancer, load_balancer_logs_bucket

__all__ = ["ServiceLoadBalancer", "WebFirewall", "domain_certificate", "load_balancer_logs_bucket"]
