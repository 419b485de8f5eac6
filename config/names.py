"""Every physical name the stacks create and an operator (or the runbook) types, in one place.

Pure Python (no aws-cdk import), so `python -m ops` stays quick and both sides agree: the
stacks name resources with these and the operator commands look them up with the same calls.
Names that embed an account or region (buckets, ARNs) take them as arguments; everything else
follows from the environment's token (`prod` for production).
"""

from __future__ import annotations

from dataclasses import dataclass

PROJECT = "clever-better"
# Migrations ship in this service's image, run at its size and log into its group under
# the stream prefix below.
MIGRATION_SERVICE = "bot"
MIGRATION_STREAM_PREFIX = "migrate"
# Where the MLflow registry keeps model artefacts in its bucket (runbook: s3://.../models).
MODEL_PREFIX = "models/"
# An environment's stacks (`clever-better-{token}-{unit}`) in deploy order, and those in its
# DR region (`clever-better-{token}-dr-{unit}`).
UNITS = ("network", "data", "secrets", "registry", "services", "monitoring", "alerting", "audit", "access")
# The account baseline's stack: only in the environment that owns its account's baseline
# (security.account_baseline); one per account and region.
AUDIT_UNIT = "audit"
DR_UNITS = ("network", "data", "registry", "services", "monitoring", "alerting", "audit")
# The output of the DR data stack that names its key: production's stacks read it, and
# make dr-failover encrypts the restored instance's Performance Insights with it.
DR_DATA_KEY_OUTPUT = "DataKeyArn"
# The DR data stack's role for the restored instance's enhanced monitoring (make dr-failover).
DR_MONITORING_ROLE_OUTPUT = "MonitoringRoleArn"
# The HealthThreshold of the CALCULATED checks (switches) behind the API name's failover
# records: their one child (the region's endpoint check) healthy. make dr-failover pins the
# PRIMARY's above its number of children ("Route 53 always considers this health check to be
# unhealthy") and the SECONDARY's at 0 ("always ... healthy"; Route 53 API Reference,
# HealthCheckConfig, HealthThreshold); make dr-failback sets both back.
FAILOVER_SWITCH_THRESHOLD = 1
PRIMARY_PINNED_THRESHOLD = 2
SECONDARY_PINNED_THRESHOLD = 0
# WAF only delivers to log groups whose names start with this.
WAF_LOG_PREFIX = "aws-waf-logs-"
# The fields of `clever-better/{token}/betfair`; the bot gets each as BETFAIR_{FIELD}.
BETFAIR_FIELDS = ("app_key", "username", "password")
# Inside PostgreSQL (the same in every environment). The admin is the instance's master user
# (`.../database-admin`); the bootstrap creates the database and the two roles below.
DATABASE = "clever_better"
DB_ADMIN_USER = "clever_admin"
# The services: IAM authentication only, through RDS Proxy; no password exists.
DB_APP_USER = "app"
# The runbook's three operator roles ("Access and Permissions"): `clever-better-prod-AdminRole`.
OPERATOR_ROLES = ("DeploymentRole", "ReadOnlyRole", "AdminRole")
# Account-wide (one per account and region, whichever environment owns the baseline).
AUDIT_TRAIL = f"{PROJECT}-audit"
AUDIT_LOG_GROUP = f"/aws/cloudtrail/{AUDIT_TRAIL}"
CONFIG_RECORDER = PROJECT
# CloudTrail metric filters publish here (components/security/audit.py); the alarms read it.
SECURITY_NAMESPACE = "CleverBetter/Security"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
# Owns the database and runs migrations; its password is `.../database` (rotated).
DB_MIGRATOR_USER = "app_migrator"
# The MLflow tracking server (components/services/mlflow.py): its ECS service, container, image
# repository and log group's last segment, the port it listens on (behind the internal load
# balancer too), and its own database and role on the environment's instance (its password is
# `.../database-mlflow`, rotated).
MLFLOW = "mlflow"
MLFLOW_PORT = 5000
MLFLOW_DATABASE = "mlflow"
DB_MLFLOW_USER = "mlflow"
# The database secrets Secrets Manager rotates with a hosted function each (names.db_rotation_function).
DB_ROTATIONS = ("admin", "migrator", "mlflow")


@dataclass(frozen=True)
class Names:
    """The physical names of one environment: ``Names("prod").cluster == "clever-better-prod"``."""

    token: str
    # Whether this environment owns its account's baseline (the `audit` stack).
    audit: bool = True

    @property
    def prefix(self) -> str:
        """`clever-better-{token}`: the runbook's cluster, database and stack prefix."""
        return f"{PROJECT}-{self.token}"

    # --- CloudFormation -------------------------------------------------------------------

    def stack(self, unit: str, *, dr: bool = False) -> str:
        """`clever-better-prod-data`; the DR region's twin is `clever-better-prod-dr-data`."""
        return f"{self.prefix}-dr-{unit}" if dr else f"{self.prefix}-{unit}"

    def stacks(self, *, dr: bool = False) -> tuple[str, ...]:
        """Every stack of the environment (or of its DR region), in deploy order."""
        units = tuple(u for u in (DR_UNITS if dr else UNITS) if self.audit or u != AUDIT_UNIT)
        return tuple(self.stack(unit, dr=dr) for unit in units)

    # --- compute ----------------------------------------------------------------------------

    @staticmethod
    def repository(service: str) -> str:
        """The ECR repository of a service's images: the service's own name (runbook)."""
        return service

    @property
    def cluster(self) -> str:
        """Runbook: `aws ecs list-tasks --cluster clever-better-prod`."""
        return self.prefix

    def task_family(self, service: str) -> str:
        return f"{self.prefix}-{service}"

    @property
    def migration_family(self) -> str:
        return f"{self.prefix}-migrate"

    def service_log_group(self, service: str) -> str:
        """Runbook: `/ecs/clever-better-prod/bot`."""
        return f"/ecs/{self.prefix}/{service}"

    @property
    def migration_log_group(self) -> str:
        """The migration task runs the bot's image and logs into the bot's group."""
        return self.service_log_group(MIGRATION_SERVICE)

    @staticmethod
    def migration_log_stream(container: str, task_id: str) -> str:
        """ECS's awslogs stream of one migration task: `migrate/bot/{task id}`."""
        return f"{MIGRATION_STREAM_PREFIX}/{container}/{task_id}"

    @staticmethod
    def lambda_log_group(function_name: str) -> str:
        """Where Lambda writes (wildcards allowed, for key policies)."""
        return f"/aws/lambda/{function_name}"

    @property
    def betfair_rotation_function(self) -> str:
        return f"{self.prefix}-betfair-rotation"

    def db_rotation_function(self, user: str) -> str:
        """Secrets Manager's hosted rotation of a database user's secret (`admin`, `migrator`, `mlflow`):
        named, so the P1 secret-rotation-failed alarm can read its Errors metric."""
        return f"{self.prefix}-db-{user}-rotation"

    @property
    def db_bootstrap_function(self) -> str:
        """Creates the database's roles and grants during deploys (`Custom::DatabaseBootstrap`)."""
        return f"{self.prefix}-db-bootstrap"

    def deployment_hook_function(self, service: str) -> str:
        """`*` as the service gives the pattern that matches every service's hook."""
        return f"{self.deployment_name(service)}-deployment-hook"

    def deployment_name(self, service: str) -> str:
        """What one service's deployment guard is called: `clever-better-prod-bot`."""
        return f"{self.prefix}-{service}"

    def deployment_alarm(self, service: str, kind: str) -> str:
        """`clever-better-prod-bot-deploy-5xx`: ECS rolls back while one is in ALARM."""
        return f"{self.deployment_name(service)}-deploy-{kind}"

    def approval_parameter(self, service: str) -> str:
        """Where `make approve` writes the green revision the deployment hook waits for."""
        return f"/{PROJECT}/{self.token}/deploy/{service}/approved-revision"

    # --- edge -------------------------------------------------------------------------------

    @property
    def public_load_balancer(self) -> str:
        """The internet-facing ALB in front of the bot."""
        return self.prefix

    @property
    def internal_load_balancer(self) -> str:
        """The internal ALB in front of ml-service."""
        return f"{self.prefix}-ml"

    @property
    def load_balancers(self) -> tuple[str, str]:
        return (self.public_load_balancer, self.internal_load_balancer)

    @property
    def web_acl(self) -> str:
        return self.prefix

    def waf_metric(self, rule: str | None = None) -> str:
        """The CloudWatch metric of the web ACL (None) or of one of its rules."""
        return f"{self.prefix}-{rule}" if rule else self.prefix

    @property
    def waf_log_group(self) -> str:
        return f"{WAF_LOG_PREFIX}{self.prefix}"

    # --- data -------------------------------------------------------------------------------

    @property
    def db_instance(self) -> str:
        """Runbook: `--db-instance-identifier clever-better-prod`."""
        return self.prefix

    @property
    def db_proxy(self) -> str:
        return self.prefix

    @property
    def restored_db_instance(self) -> str:
        """Where `make db-restore` restores a snapshot (runbook: `clever-better-prod-restored`)."""
        return f"{self.prefix}-restored"

    def manual_snapshot(self, date: str) -> str:
        """Runbook: `clever-better-prod-manual-$(date +%Y%m%d)`."""
        return f"{self.prefix}-manual-{date}"

    def failback_snapshot(self, stamp: str) -> str:
        """`make dr-failback`'s snapshot of the DR instance: `clever-better-prod-failback-YYYYMMDD-HHMM`,
        stamped with that instance's creation (one per failover, found again on a re-run)."""
        return f"{self.prefix}-failback-{stamp}"

    def predeploy_snapshot(self, stamp: str, attempt: int = 1) -> str:
        """The pre-deployment snapshot, `stamp` as YYYYMMDD-HHMMSS; `-2`, `-3`, ... when a
        snapshot of that second already exists (two deploys never collide)."""
        return f"{self.prefix}-predeploy-{stamp}" + (f"-{attempt}" if attempt > 1 else "")

    @staticmethod
    def model_backup_prefix(date: str) -> str:
        """Runbook: `s3://...-backups/models-$(date +%Y%m%d)/` in the backups bucket."""
        return f"models-{date}/"

    @staticmethod
    def config_backup_file(date: str) -> str:
        """Runbook: `backups/config-$(date +%Y%m%d).json` (the folder is the operator's)."""
        return f"config-{date}.json"

    def rds_log_group(self, kind: str) -> str:
        """RDS's export of `kind` (postgresql, upgrade); `*` for all of them."""
        return f"/aws/rds/instance/{self.prefix}/{kind}"

    @property
    def backup_vault(self) -> str:
        return self.prefix

    @property
    def backup_plan(self) -> str:
        return self.prefix

    @property
    def restore_testing_plan(self) -> str:
        """AWS Backup's weekly restore test: `clever_better_prod_database` (letters, digits and
        underscores only, as AWS Backup requires of restore-testing names)."""
        return f"{self.prefix}_database".replace("-", "_")

    @property
    def dr_backup_vault(self) -> str:
        """The DR region's vault that AWS Backup copies recovery points into."""
        return f"{self.prefix}-dr"

    def bucket(self, purpose: str, account: str, region: str) -> str:
        """Globally unique: `clever-better-prod-backups-123456789012-us-east-1`."""
        return f"{self.prefix}-{purpose}-{account}-{region}"

    @property
    def data_key_alias(self) -> str:
        """The data key's alias, the same in the primary and the DR region (for operators;
        stacks name keys by key ARN)."""
        return self.key_alias("data")

    def key_alias(self, purpose: str) -> str:
        """`alias/clever-better-prod/data`; the DR region's keys have the same aliases."""
        return f"alias/{self.prefix}/{purpose}"

    def secret(self, purpose: str) -> str:
        """`clever-better/prod/config` (runbook), `.../betfair`, `.../database`, `.../database-admin`."""
        return f"{PROJECT}/{self.token}/{purpose}"

    @property
    def rotation_reminder_topic(self) -> str:
        return f"{self.prefix}-secret-rotation-reminders"

    # --- monitoring -------------------------------------------------------------------------

    def alarm(self, alarm_id: str, severity: str) -> str:
        """`clever-better-prod-daily-loss-P0`: the catalogue's alarms (config/alarms.py)."""
        return f"{self.prefix}-{alarm_id}-{severity}"

    def dead_letter_queue(self, purpose: str) -> str:
        """`clever-better-prod-drift-check-dlq`: where `purpose`'s failed events wait; each has a P1
        alarm (config/alarms.py DEAD_LETTER_QUEUES)."""
        return f"{self.prefix}-{purpose}-dlq"

    def alarm_topic(self, severity: str) -> str:
        """`clever-better-prod-p0`: where a severity's alarms notify (the alerting unit routes it)."""
        return f"{self.prefix}-{severity.lower()}"

    def dashboard(self, kind: str, *, dr: bool = False) -> str:
        """Runbook: `aws cloudwatch get-dashboard --dashboard-name clever-better-prod-main`. A
        dashboard's name is global to the account, so the DR region's has its own:
        `clever-better-prod-dr-infrastructure`."""
        return f"{self.prefix}-dr-{kind}" if dr else f"{self.prefix}-{kind}"

    def log_metric_filter(self, filter_id: str, service: str) -> str:
        return f"{self.prefix}-{service}-{filter_id}"

    def saved_query(self, query_id: str) -> str:
        """`clever-better/prod/errors`: Logs Insights shows the slashes as folders."""
        return f"{PROJECT}/{self.token}/{query_id}"

    # --- alerting ---------------------------------------------------------------------------

    def alarm_queue(self, severity: str) -> str:
        """`clever-better-prod-alarms-p0`: the severity topic's messages, for the alarm router."""
        return f"{self.prefix}-alarms-{severity.lower()}"

    @property
    def alarm_router_function(self) -> str:
        return f"{self.prefix}-alarm-router"

    @property
    def alarm_reminder_schedule(self) -> str:
        """EventBridge Scheduler: every five minutes, the router reminds of P0/P1 alarms still open."""
        return f"{self.prefix}-alarm-reminders"

    @property
    def alarm_deliveries_table(self) -> str:
        """DynamoDB: which destination took which alarm message (a day, then expired)."""
        return f"{self.prefix}-alarm-deliveries"

    @property
    def oncall_topic(self) -> str:
        """Email to on-call, for what must reach people when the router itself fails."""
        return f"{self.prefix}-oncall"

    @property
    def trading_halt_parameter(self) -> str:
        """SSM: the bot stops placing bets while its value says halted (runbook: trading halt)."""
        return f"/{PROJECT}/{self.token}/trading/halted"

    @property
    def trading_halt_function(self) -> str:
        """Sets the halt parameter when the P0 daily-loss or emergency-shutdown alarm fires."""
        return f"{self.prefix}-trading-halt"

    # --- security ---------------------------------------------------------------------------

    def operator_role(self, kind: str) -> str:
        """Runbook "Access and Permissions": `clever-better-prod-AdminRole` (OPERATOR_ROLES)."""
        assert kind in OPERATOR_ROLES, kind
        return f"{self.prefix}-{kind}"

    def operator_role_arn(self, kind: str, account: str) -> str:
        return f"arn:aws:iam::{account}:role/{self.operator_role(kind)}"

    @staticmethod
    def config_rule(rule_id: str) -> str:
        """`clever-better-secrets-rotated`: account-wide AWS Config rules."""
        return f"{PROJECT}-{rule_id}"

    # --- network ----------------------------------------------------------------------------

    @property
    def flow_log_group(self) -> str:
        return f"/vpc/{self.prefix}/flow-logs"

    # --- monitoring: drift check ------------------------------------------------------------

    def api_health_check(self, *, dr: bool = False) -> str:
        """A region's Route 53 health check on its public load balancer's /health (its Name tag):
        `clever-better-prod-api-health`, the DR region's `clever-better-prod-dr-api-health`."""
        return f"{self.prefix}-dr-api-health" if dr else f"{self.prefix}-api-health"

    def api_failover_switch(self, *, dr: bool = False) -> str:
        """The CALCULATED health check behind a region's failover record for the API name (its
        Name tag): `clever-better-prod-api-failover` (PRIMARY), `clever-better-prod-dr-api-failover`
        (SECONDARY). `make dr-failover` pins them, `make dr-failback` releases them."""
        return f"{self.prefix}-dr-api-failover" if dr else f"{self.prefix}-api-failover"

    @property
    def db_maintenance_function(self) -> str:
        """The monthly VACUUM (ANALYZE) of the application's databases (make db-maintenance)."""
        return f"{self.prefix}-db-maintenance"

    @property
    def db_maintenance_schedule(self) -> str:
        """Its EventBridge Scheduler schedule (group `default`)."""
        return f"{self.prefix}-db-maintenance"

    @property
    def daily_report_function(self) -> str:
        """The daily operations report to Slack (make daily-report prints the same)."""
        return f"{self.prefix}-daily-report"

    @property
    def daily_report_schedule(self) -> str:
        """Its EventBridge Scheduler schedule (group `default`)."""
        return f"{self.prefix}-daily-report"

    @property
    def training_function(self) -> str:
        """Starts scheduled training, stops a run past its limit, and records each run's outcome."""
        return f"{self.prefix}-training"

    @property
    def training_schedule(self) -> str:
        """The EventBridge Scheduler schedule (group `default`) that starts a training run."""
        return f"{self.prefix}-training"

    @property
    def training_watch_schedule(self) -> str:
        """Every 15 minutes: stops a training run past deployment.training_timeout_minutes."""
        return f"{self.prefix}-training-watch"

    @property
    def training_outcome_rule(self) -> str:
        """EventBridge: a training task STOPPED, to the training function (its exit code)."""
        return f"{self.prefix}-training-outcome"

    @property
    def training_started_by(self) -> str:
        """RunTask's `startedBy` on every training task (ECS: up to 128 letters, digits, - and _):
        how the function finds a run still going and the rule matches one that stopped."""
        return f"{self.prefix}-training"

    @property
    def drift_check_function(self) -> str:
        """Runs CloudFormation drift detection on the environment's stacks in its region, daily."""
        return f"{self.prefix}-drift-check"

    @property
    def drift_check_schedule(self) -> str:
        """The EventBridge Scheduler schedule (group `default`) that invokes the drift check."""
        return f"{self.prefix}-drift-check"
