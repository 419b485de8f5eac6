from __future__ import annotations

from constructs import Construct

from components.monitoring import AlarmCatalogue, Dashboards, DriftCheck, LogQueries
from components.monitoring.dashboards import DASHBOARDS
from components.network import Network
from config.alarms import DR_DASHBOARD
from config.model import EnvironmentConfig
from stacks.base import CleverBetterStack
from stacks.services_stack import ServicesStack


class MonitoringStack(CleverBetterStack):
    """Stateless, deployed last: the alarm catalogue and its severity topics, the four
    dashboards, the log metric filters and saved queries, and the daily drift check. It reads
    the services stack's load balancers and target groups (their full names are
    CloudFormation's to choose); everything else by name.

    With `dr`, production's DR region (`clever-better-prod-dr-monitoring`): the P0/P1 alarms of
    `config.alarms.dr_catalogue` beside the pilot light, the infrastructure dashboard and the log
    queries, under the primary's names. No drift check (the primary's checks its own stacks).
    Route 53's health checks are the services stacks' (components/edge/dns.py)."""

    UNIT = "monitoring"
    STATEFUL = False
    SUMMARY = "P0-P3 alarms and topics, four dashboards, log metric filters and queries, the drift check"
    DR_SUMMARY = "P0/P1 alarms of the pilot light and their topics, the infrastructure dashboard, log queries"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        services: ServicesStack,
        network: Network,
        dr: bool = False,
    ) -> None:
        super().__init__(scope, construct_id, config=config, dr=dr)
        names = config.names
        # The log groups the filters read are created by the services stack.
        self.add_stack_dependency(services)
        key = self.unit_key(
            "TopicsKey",
            alias=names.key_alias("alarms"),
            description=f"Encrypts {names.prefix}'s alarm topics and the drift check's log",
            log_group_names=[] if dr else [names.lambda_log_group(names.drift_check_function)],
        )
        context = self.unit_context(key)
        edges = {"public": services.public, "internal": services.internal}
        # The primary's P0 primary-unreachable reads its services stack's Route 53 check.
        health = None if dr or services.health is None else services.health.health_check
        dimensions = {
            "cluster": names.cluster,
            "db_instance": names.db_instance,
            "backup_vault": names.backup_vault,
            "db_proxy": names.db_proxy,
            # WAF publishes under the web ACL's metric name (its VisibilityConfig).
            "web_acl": names.waf_metric(),
            "region": self.region,
            **({"health_check": health.health_check_id} if health else {}),
            **{f"{edge}_lb": lb.load_balancer.load_balancer_full_name for edge, lb in edges.items()},
            **{f"{edge}_blue": lb.blue.target_group_full_name for edge, lb in edges.items()},
            **{f"{edge}_green": lb.green.target_group_full_name for edge, lb in edges.items()},
        }
        self.alarms = AlarmCatalogue(
            self, "Alarms", context=context, config=config, dimensions=dimensions, dr=dr
        )
        self.logs = LogQueries(self, "Logs", config=config)
        self.dashboards = Dashboards(
            self,
            "Dashboards",
            config=config,
            alarms=self.alarms,
            kinds=(DR_DASHBOARD,) if dr else DASHBOARDS,
            dr=dr,
        )
        # Daily, every stack of the environment in this region: the P3 configuration-drift alarm.
        self.drift = (
            None
            if dr
            else DriftCheck(
                self,
                "DriftCheck",
                context=context,
                network=network,
                stack_names=names.stacks(),
                schedule=config.schedules.drift_check,
            )
        )
