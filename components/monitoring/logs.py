"""The runbook's three log queries, kept: metric filters on the service log groups and saved
Logs Insights queries (runbook, "Log Aggregation and Analysis": `ERROR`,
`"Bet placement recorded"`, `"circuit_breaker"`).

A filter counts matching lines (1 each, 0 when none: a quiet minute is a 0, not missing data)
into `CleverBetter/Logs/{token}/{service}` (config/metrics.py: a filter's dimensions may only
be fields of the event, so the environment and the service are in the namespace). The saved
queries appear in the Logs Insights console under `clever-better/{token}/`.
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.naming import pascal
from config.metrics import LOG_FILTERS, logs_namespace
from config.model import EnvironmentConfig


class LogQueries(Construct):
    """Attributes: ``filters`` (filter name -> filter), ``queries`` (query name -> definition)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        names = config.names
        groups: dict[str, logs.ILogGroup] = {}
        self.filters: dict[str, logs.MetricFilter] = {}
        self.queries: dict[str, logs.QueryDefinition] = {}
        for log_filter in LOG_FILTERS:
            for service in log_filter.services:
                if service not in groups:
                    groups[service] = logs.LogGroup.from_log_group_name(
                        self, pascal(service) + "Logs", names.service_log_group(service)
                    )
                name = names.log_metric_filter(log_filter.id, service)
                self.filters[name] = logs.MetricFilter(
                    self,
                    pascal(f"{service}-{log_filter.id}"),
                    filter_name=name,
                    log_group=groups[service],
                    filter_pattern=logs.FilterPattern.literal(log_filter.pattern),
                    metric_namespace=logs_namespace(config.token, service),
                    metric_name=log_filter.metric.name,
                    metric_value="1",
                    default_value=0,
                    unit=cw.Unit.COUNT,
                )
            query_name = names.saved_query(log_filter.id)
            self.queries[query_name] = logs.QueryDefinition(
                self,
                pascal(log_filter.id) + "Query",
                query_definition_name=query_name,
                query_string=logs.QueryString(
                    fields=["@timestamp", "@logStream", "@message"],
                    filter_statements=[f"@message like /{log_filter.insights_regex}/"],
                    sort="@timestamp desc",
                    limit=200,
                ),
                log_groups=[groups[service] for service in log_filter.services],
            )
