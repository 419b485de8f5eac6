"""The runbook's four dashboards (`clever-better-{token}-main`, `-ml-service`, `-infrastructure`,
`-security`), each opening with the status of its alarms, and the runbook's targets and normal
and race-day bands drawn on the graphs they belong to.

Every graphed metric is one the metrics contract (config/metrics.py), an alarm of the catalogue
or an AWS service publishes (tested); an alarm's description links to its dashboard.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

from components.monitoring.alarms import AlarmCatalogue
from config import metrics
from config.alarms import Stat
from config.model import SERVICES, EnvironmentConfig, Severity
from config.names import MLFLOW, SECURITY_NAMESPACE

DASHBOARDS = ("main", "ml-service", "infrastructure", "security")
WIDTH = 24
ENV = ((metrics.ENVIRONMENT, "{environment}"),)
NORMAL, RACE_DAY = "#2ca02c", "#ff7f0e"


def _app(name: str, statistic: str, period: int = 300, service: str | None = None) -> Stat:
    dims = ENV + (((metrics.SERVICE, service),) if service else ())
    return Stat(metrics.APPLICATION_NAMESPACE, name, dims, statistic, period)


def _band(label: str, band: tuple[float, float], colour: str) -> list[cw.HorizontalAnnotation]:
    low, high = band
    return [
        cw.HorizontalAnnotation(value=low, label=f"{label} {low:g}-{high:g}", color=colour),
        cw.HorizontalAnnotation(value=high, color=colour),
    ]


def _line(label: str, value: float, colour: str = "#d62728") -> cw.HorizontalAnnotation:
    return cw.HorizontalAnnotation(value=value, label=label, color=colour)


class Dashboards(Construct):
    """Attributes: ``dashboards`` (kind -> dashboard). `kinds`: which of DASHBOARDS to build;
    `dr`: production's DR region (its infrastructure dashboard only, under its own name, since
    dashboard names are global to the account)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        alarms: AlarmCatalogue,
        kinds: Sequence[str] = DASHBOARDS,
        dr: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self._alarms = alarms
        m = config.monitoring
        names = config.names
        admin_role = names.operator_role_arn("AdminRole", config.account)
        self.dashboards: dict[str, cw.Dashboard] = {}
        # Built only for the kinds asked for: each widget is a few jsii calls at synth.
        rows: dict[str, Callable[[], list[cw.IWidget]]] = {
            "main": lambda: [
                self._graph("Bankroll (USD)", [_app("Bankroll", "Minimum", 3600)]),
                self._graph(
                    "Daily P&L (USD)",
                    [_app("DailyPnL", "Minimum", 300)],
                    [_line(f"P0 daily loss -{m.daily_loss_usd:g}", -m.daily_loss_usd)],
                ),
                self._graph(
                    "Win rate (%)",
                    [_app("WinRate", "Average", 3600)],
                    [_line(f"target {m.win_rate_target_percent:g}%", m.win_rate_target_percent, NORMAL)],
                ),
                self._graph(
                    "ROI (%)",
                    [_app("ROI", "Average", 3600)],
                    [_line(f"target {m.roi_target_percent:g}%", m.roi_target_percent, NORMAL)],
                ),
                self._graph("Total exposure (USD)", [_app("TotalExposure", "Maximum", 300)]),
                self._graph(
                    "Bets per hour",
                    [_app("BetsPlaced", "Sum", 3600)],
                    [
                        *_band("normal", m.bets_per_hour_normal, NORMAL),
                        *_band("race day", m.bets_per_hour_race_day, RACE_DAY),
                    ],
                ),
                self._graph(
                    "Circuit breaker open (1) / closed (0)", [_app("CircuitBreakerOpen", "Maximum", 60)]
                ),
            ],
            "ml-service": lambda: [
                self._graph(
                    "Prediction latency p95 (ms)",
                    [_app("PredictionLatency", "p95", 300)],
                    [
                        *_band("normal", m.prediction_latency_normal_ms, NORMAL),
                        *(
                            _line(f"{s} {v:g} ms", v)
                            for s, v in m.prediction_latency_p95_ms.by_severity().items()
                        ),
                    ],
                ),
                self._graph("Model accuracy (%)", [_app("ModelAccuracy", "Average", 3600)]),
                self._graph(
                    "Cache hit ratio (%)",
                    [_app("CacheHitRatio", "Average", 300)],
                    [
                        _line(f"target {m.cache_hit_target_percent:g}%", m.cache_hit_target_percent, NORMAL),
                        *(_line(f"{s} {v:g}%", v) for s, v in m.cache_hit_percent.by_severity().items()),
                    ],
                ),
                self._training(),
            ],
            "infrastructure": lambda: [
                *self._per_service(
                    "CPU (%)",
                    "CPUUtilization",
                    m.cpu_normal_percent,
                    m.cpu_race_day_percent,
                    m.cpu_percent.by_severity(),
                ),
                *self._per_service(
                    "Memory (%)",
                    "MemoryUtilization",
                    m.memory_normal_percent,
                    m.memory_race_day_percent,
                    m.memory_percent.by_severity(),
                ),
                self._graph(
                    "Running tasks",
                    [
                        Stat(
                            "ECS/ContainerInsights",
                            "RunningTaskCount",
                            (("ClusterName", "{cluster}"), ("ServiceName", s)),
                            "Minimum",
                            60,
                        )
                        for s in SERVICES
                    ],
                ),
                self._graph(
                    "API latency p95 (s)",
                    [
                        Stat(
                            "AWS/ApplicationELB",
                            "TargetResponseTime",
                            (("LoadBalancer", "{public_lb}"),),
                            "p95",
                            300,
                        )
                    ],
                    [
                        _line(
                            f"target {m.api_latency_target_ms:g} ms", m.api_latency_target_ms / 1000, NORMAL
                        ),
                        *_band(
                            "normal (s)",
                            (m.api_latency_normal_ms[0] / 1000, m.api_latency_normal_ms[1] / 1000),
                            NORMAL,
                        ),
                        *_band(
                            "race day (s)",
                            (m.api_latency_race_day_ms[0] / 1000, m.api_latency_race_day_ms[1] / 1000),
                            RACE_DAY,
                        ),
                    ],
                ),
                self._alarm_graph(names.alarm("error-rate", "P1"), "API error rate (%)"),
                # Production's DR region runs no MLflow server (services_stack.py).
                *([] if dr else [self._mlflow()]),
                self._graph(
                    "Healthy targets (blue + green)",
                    [
                        Stat(
                            "AWS/ApplicationELB",
                            "HealthyHostCount",
                            (
                                ("TargetGroup", "{" + f"{edge}_{colour}" + "}"),
                                ("LoadBalancer", "{" + f"{edge}_lb" + "}"),
                            ),
                            "Minimum",
                            60,
                        )
                        for edge in ("public", "internal")
                        for colour in ("blue", "green")
                    ],
                ),
                self._graph(
                    "Database connections",
                    [
                        Stat(
                            "AWS/RDS",
                            "DatabaseConnections",
                            (("DBInstanceIdentifier", "{db_instance}"),),
                            "Maximum",
                            60,
                        )
                    ],
                    _band("normal", m.database_connections_normal, NORMAL),
                ),
                self._graph(
                    "Database CPU (%)",
                    [
                        Stat(
                            "AWS/RDS",
                            "CPUUtilization",
                            (("DBInstanceIdentifier", "{db_instance}"),),
                            "Average",
                            300,
                        )
                    ],
                ),
                self._graph(
                    "Database free storage (bytes)",
                    [
                        Stat(
                            "AWS/RDS",
                            "FreeStorageSpace",
                            (("DBInstanceIdentifier", "{db_instance}"),),
                            "Minimum",
                            300,
                        )
                    ],
                ),
                self._graph(
                    "RDS Proxy client connections",
                    [Stat("AWS/RDS", "ClientConnections", (("ProxyName", "{db_proxy}"),), "Sum", 60)],
                ),
            ],
            "security": lambda: [
                self._graph(
                    "WAF blocked requests",
                    [
                        Stat(
                            "AWS/WAFV2",
                            "BlockedRequests",
                            (("WebACL", "{web_acl}"), ("Rule", "ALL"), ("Region", "{region}")),
                            "Sum",
                            300,
                        )
                    ],
                ),
                self._graph("Betfair API authentication failures", [_app("BetfairAuthFailures", "Sum", 300)]),
                self._graph(
                    "Public load balancer 4xx",
                    [
                        Stat(
                            "AWS/ApplicationELB",
                            "HTTPCode_ELB_4XX_Count",
                            (("LoadBalancer", "{public_lb}"),),
                            "Sum",
                            300,
                        )
                    ],
                ),
                self._graph(
                    "Break-glass AdminRole assumed",
                    [Stat(SECURITY_NAMESPACE, "AdminRoleAssumed", (("RoleArn", admin_role),), "Sum", 300)],
                ),
                *(
                    [
                        self._graph(
                            "Failed sign-ins and unauthorized API calls (account)",
                            [
                                Stat(SECURITY_NAMESPACE, metric, (), "Sum", 300)
                                for metric in ("ConsoleSignInFailures", "UnauthorizedApiCalls")
                            ],
                        )
                    ]
                    if config.security.account_baseline
                    else []
                ),
                cw.TextWidget(
                    markdown="GuardDuty findings page (high, critical: P0) or post (medium P2, low P3) "
                    "through the alarm router; AWS Config non-compliance posts as P3. "
                    "docs/RUNBOOK.md, Security incidents.",
                    width=WIDTH,
                    height=2,
                ),
            ],
        }
        for kind in kinds:
            dashboard = cw.Dashboard(
                self,
                f"{kind.title().replace('-', '')}Dashboard",
                dashboard_name=names.dashboard(kind, dr=dr),
                default_interval=cdk.Duration.hours(24),
            )
            own = [a for name, a in alarms.alarms.items() if alarms.specs[name].dashboard == kind]
            if own:
                dashboard.add_widgets(
                    cw.AlarmStatusWidget(
                        title=f"{kind} alarms",
                        alarms=own,
                        width=WIDTH,
                        height=2 + len(own) // 6,
                        sort_by=cw.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
                    )
                )
            for widget in rows[kind]():
                dashboard.add_widgets(widget)
            self.dashboards[kind] = dashboard

    def _graph(
        self, title: str, stats: Sequence[Stat], annotations: Sequence[cw.HorizontalAnnotation] = ()
    ) -> cw.GraphWidget:
        return cw.GraphWidget(
            title=title,
            left=[self._alarms.metric_of(s, label=self._label(s)) for s in stats],
            left_annotations=list(annotations),
            width=WIDTH // 2,
            height=6,
        )

    def _training(self) -> cw.GraphWidget:
        """Scheduled training per day: its success rate (100 x (1 - mean of TrainingRunFailed,
        which is 1 or 0 per run)), its runs and its failures."""
        failed = metrics.TRAINING_FAILED

        def daily(statistic: str, label: str) -> cw.Metric:
            stat = Stat(failed.namespace, failed.name, ENV, statistic, 86400)
            return self._alarms.metric_of(stat, label=label)

        return cw.GraphWidget(
            title="Training job success rate (%) and runs per day",
            left=[
                cw.MathExpression(
                    expression="100 * (1 - failed)",
                    using_metrics={"failed": daily("Average", "failed share")},
                    label="success rate (%)",
                    period=cdk.Duration.days(1),
                )
            ],
            right=[daily("SampleCount", "runs"), daily("Sum", "failed runs")],
            left_y_axis=cw.YAxisProps(min=0, max=100),
            width=WIDTH // 2,
            height=6,
        )

    def _mlflow(self) -> cw.GraphWidget:
        """The MLflow tracking server: its running tasks (P2 below 1) and CPU and memory."""

        def ecs(namespace: str, metric: str, statistic: str) -> Stat:
            return Stat(
                namespace, metric, (("ClusterName", "{cluster}"), ("ServiceName", MLFLOW)), statistic, 60
            )

        return cw.GraphWidget(
            title="MLflow tracking server",
            left=[
                self._alarms.metric_of(ecs("AWS/ECS", "CPUUtilization", "Average"), label="CPU (%)"),
                self._alarms.metric_of(ecs("AWS/ECS", "MemoryUtilization", "Average"), label="memory (%)"),
            ],
            right=[
                self._alarms.metric_of(
                    ecs("ECS/ContainerInsights", "RunningTaskCount", "Minimum"), label="running tasks"
                )
            ],
            left_y_axis=cw.YAxisProps(min=0, max=100),
            width=WIDTH // 2,
            height=6,
        )

    @staticmethod
    def _label(stat: Stat) -> str:
        service = dict(stat.dimensions).get("ServiceName") or dict(stat.dimensions).get(metrics.SERVICE)
        return f"{stat.metric} {service}" if service else stat.metric

    def _alarm_graph(self, alarm_name: str, title: str) -> cw.AlarmWidget:
        return cw.AlarmWidget(alarm=self._alarms.alarms[alarm_name], title=title, width=WIDTH // 2, height=6)

    def _per_service(
        self,
        title: str,
        metric: str,
        normal: tuple[float, float],
        race_day: tuple[float, float],
        alarms: Mapping[Severity, float],
    ) -> list[cw.IWidget]:
        return [
            self._graph(
                f"{title} by service",
                [
                    Stat("AWS/ECS", metric, (("ClusterName", "{cluster}"), ("ServiceName", s)), "Average", 60)
                    for s in SERVICES
                ],
                [
                    *_band("normal", normal, NORMAL),
                    *_band("race day", race_day, RACE_DAY),
                    *(_line(f"{severity} {value:g}", value) for severity, value in alarms.items()),
                ],
            )
        ]
