# Clever Better infrastructure. Targets mirror the runbook; `make help` lists them.
# Everything installs itself: a Python venv in .venv, the pinned CDK CLI and Node 22 in node_modules.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
# node_modules/.bin first: jsii and the CLI run on the pinned Node 22, not the machine's Node.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
# No notices or telemetry calls to the internet from the CLI.
export CDK_DISABLE_CLI_TELEMETRY := true
# The CLI is pinned in package.json; do not look for newer versions.
export CDK_DISABLE_VERSION_CHECK := true
CDK := $(CURDIR)/node_modules/.bin/cdk --no-notices

ENVIRONMENTS := dev staging production
LOCAL_PORT ?= 4599
ifndef LOCAL_STATE
LOCAL_STATE := $(CURDIR)/.local
endif
# What an operator sets reaches recipes only through the environment, as "$$VAR" in the shell
# or read by Python: never pasted into a command line, where `;`, `$(...)` or quotes would run.
# CDK_ARGS: extra CDK CLI arguments, e.g. CDK_ARGS="-c production_account=123456789012".
# IMAGE_TAG: the release the services run (-c image_tag). Stack selections and the deploy
# order (production's DR region first) live in tools/cdk_cli.py, which runs the CDK CLI.
OPERATOR_VARS := ENV IMAGE_TAG CDK_ARGS REQUIRE_APPROVAL DRY_RUN BASE DIFF_ALLOW DIFF_REPORT FILE SNAPSHOT SERVICE URL MODEL MLFLOW_PORT ALLOW_STALE_BACKUP BACKUPS_DIR CONFIRM PRIMARY_UP LOCAL LOCAL_PORT LOCAL_STATE
# Taken literally: a value such as $(shell ...) stays text and is never run as make code.
$(foreach v,$(OPERATOR_VARS),$(eval override $(v) := $$(value $(v))))
export $(OPERATOR_VARS)
CDK_CLI = $(PY) tools/cdk_cli.py
# First line of a target that changes local state and has nothing to print instead.
NO_DRY_RUN = @if [ -n "$$DRY_RUN" ]; then echo "error: make $@ has no dry run (it changes local state); run it without DRY_RUN" >&2; exit 2; fi

.PHONY: ops-env db-snapshot db-restore backup-config backup-models betfair-key-store predeploy-check \
	approve rollback deploy-status maintenance-on maintenance-off config-update restart \
	db-migrate db-migration-status dr-failover dr-failback dr-drill db-migrate-dev db-migrate-staging db-migrate-prod drift daily-report db-maintenance train mlflow-ui model-versions resume-trading \
	smoke-test-dev smoke-test-staging smoke-test-production smoke-test-prod \
	deploy-checks-dev deploy-checks-staging deploy-checks-production
.PHONY: help install test lint format typecheck unit integration synth diff snapshot-update bench cost diagram monitoring-docs \
	deploy-local diff-local destroy-local constraints clean cfn-lint lint-workflows audit pr-comment \
	$(addprefix deploy-,$(ENVIRONMENTS)) $(addprefix diff-,$(ENVIRONMENTS)) $(addprefix bootstrap-,$(ENVIRONMENTS))

help: ## List the targets
	@grep -hE '^[a-zA-Z%_ -]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	node --version | grep -q '^v22\.' || { echo "node_modules/.bin/node is not Node 22"; exit 1; }
	touch $@

install: $(VENV)/.installed node_modules/.installed ## Install Python packages, the CDK CLI and Node 22

test: install lint typecheck ## Lint, type-check and run every test (CI runs exactly this)
	$(PY) -m pytest

lint: install ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install ## Apply ruff fixes and formatting
	$(NO_DRY_RUN)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install ## mypy (strict) on app.py, components, config, emulator, lambdas, ops, stacks, tools
	$(VENV)/bin/mypy

unit: install ## Tests without the local-emulator deploy
	$(PY) -m pytest -m "not integration"

integration: install ## Deploy dev into a fresh emulator and check it through boto3
	$(PY) -m pytest -m integration

synth: install ## Synthesize every environment into cdk.out (cdk-nag runs; any finding fails)
	$(CDK_CLI) synth

cfn-lint: install ## cfn-lint every template `make synth` wrote to cdk.out, each in its region; any error or warning fails
	$(PY) tools/cfn_lint.py cdk.out

lint-workflows: install ## zizmor (offline) over .github/: the workflows and Dependabot settings; any finding fails
	$(VENV)/bin/zizmor --offline .github/

# Needs the network (PyPI's vulnerability data, the npm registry's advisories): the pipeline
# runs it, `make test` does not. constraints.txt pins every transitive package, so pip-audit
# checks exactly those versions without resolving or installing anything.
audit: install ## Known vulnerabilities in every pinned Python package and the npm packages (needs the network)
	$(VENV)/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off -r constraints.txt
	npm audit --omit=dev

# In GitHub Actions only (the pull request comes from $GITHUB_EVENT_PATH, the token from GH_TOKEN);
# the runner's python3 and gh, no virtualenv. A fork's pull request: one line, exit 0.
pr-comment: ## Post FILE=report.md as the pull request's one comment (edited on each push) and the job summary
	$(PYTHON) tools/pr_comment.py

snapshot-update: install ## Refresh the template snapshots after an intended change
	$(NO_DRY_RUN)
	$(PY) -m pytest tests/unit/test_snapshots.py --snapshot-update

diff: install ## Offline synth-and-diff against the merge-base with main (BASE=...): adds, removals, replacements, IAM and security-group rules; refuses a stateful replacement in staging/production unless DIFF_ALLOW='STACK/ID' or an Allow-Replacement trailer
	$(PY) tools/synth_diff.py

diff-dev diff-staging diff-production: diff-%: install ## cdk diff for one environment (IMAGE_TAG=... to diff a release)
	$(CDK_CLI) diff $*

deploy-dev deploy-staging deploy-production: deploy-%: install deploy-checks-% ## Deploy one environment (IMAGE_TAG=...; production: checks, snapshot, DR region first)
	$(CDK_CLI) deploy $*

# Before anything is deployed: the environment and tag are valid; staging and production name
# their release; production takes the runbook's pre-deployment snapshot and refuses a stale backup.
# Every deploy also clears what a failed first creation of a stack left (ops/retry.py), so
# re-running the same command retries it.
deploy-checks-dev: install
	$(PY) -m config --env dev --image-tag "$$IMAGE_TAG"
	$(PY) -m ops --env dev $(if $(DRY_RUN),--dry-run) clear-failed-creates
deploy-checks-staging deploy-checks-production: deploy-checks-%: install
	@test -n "$$IMAGE_TAG" || { echo "error: IMAGE_TAG is required, e.g. make deploy-$* IMAGE_TAG=v1.4.2"; exit 2; }
	$(PY) -m config --env $* --image-tag "$$IMAGE_TAG"
	$(if $(filter production,$*),$(PY) -m ops --env production $(if $(DRY_RUN),--dry-run) predeploy-check $(if $(ALLOW_STALE_BACKUP),--allow-stale-backup "$$ALLOW_STALE_BACKUP"))
	$(PY) -m ops --env $* $(if $(DRY_RUN),--dry-run) clear-failed-creates

bootstrap-dev bootstrap-staging bootstrap-production: bootstrap-%: install ## cdk bootstrap ENV's accounts/regions, then create the service-linked roles the stacks need
	$(CDK_CLI) bootstrap $*
	$(PY) -m ops --env $* $(if $(DRY_RUN),--dry-run) service-linked-roles

deploy-local: install ## Start the local emulator and cdk deploy dev into it (no AWS account)
	$(NO_DRY_RUN)
	$(if $(IMAGE_TAG),$(PY) -m config --env dev --image-tag "$$IMAGE_TAG")
	$(PY) -m emulator deploy --port "$$LOCAL_PORT" --state "$$LOCAL_STATE" $(if $(IMAGE_TAG),--image-tag "$$IMAGE_TAG")

diff-local: install ## cdk diff dev against the local emulator's stacks: the change-set diff (IMAGE_TAG=... to diff a release)
	$(if $(IMAGE_TAG),$(PY) -m config --env dev --image-tag "$$IMAGE_TAG")
	$(PY) -m emulator diff --port "$$LOCAL_PORT" --state "$$LOCAL_STATE" $(if $(IMAGE_TAG),--image-tag "$$IMAGE_TAG") $(if $(DRY_RUN),--dry-run)

destroy-local: ## Stop the local emulator and remove its state
	$(NO_DRY_RUN)
	@if [ -x $(PY) ]; then $(PY) -m emulator destroy --state "$$LOCAL_STATE"; else rm -rf "$$LOCAL_STATE"; fi

# Runbook operator commands (real AWS, caller's credentials). ENV=dev|staging|production; DRY_RUN=1 prints the calls.
# LOCAL=1: against `make deploy-local`'s emulator instead (ENV=dev), never an AWS account.
LOCAL_FLAG = $(if $(LOCAL),--local "$$LOCAL_PORT")
OPS = $(PY) -m ops --env "$$ENV" $(if $(DRY_RUN),--dry-run) $(LOCAL_FLAG)
# The CDK targets' local counterparts are deploy-local and diff-local: LOCAL=1 must not reach an
# AWS account through the others.
ifneq ($(LOCAL),)
ifneq ($(filter-out diff-local,$(filter diff-% deploy-dev deploy-staging deploy-production deploy-checks-% bootstrap-%,$(MAKECMDGOALS))),)
$(error LOCAL=1 is for the runbook's operator commands; the CDK targets run against AWS, and the emulator's are make deploy-local and make diff-local)
endif
endif
ops-env:
	@test -n "$$ENV" || { echo "error: ENV is required (dev, staging or production)"; exit 2; }

db-snapshot: install ops-env ## Manual snapshot clever-better-{token}-manual-YYYYMMDD, wait until available
	$(OPS) db-snapshot

db-restore: install ops-env ## Restore SNAPSHOT=... to clever-better-{token}-restored
	$(OPS) db-restore --snapshot "$$SNAPSHOT"

backup-config: install ops-env ## Export the config secret to backups/TOKEN/config-YYYYMMDD.json (BACKUPS_DIR=... elsewhere; never overwrites)
	$(OPS) backup-config $(if $(BACKUPS_DIR),--backups-dir "$$BACKUPS_DIR",$(if $(LOCAL),--backups-dir "$$LOCAL_STATE/backups"))

backup-models: install ops-env ## Copy the model registry's models/ to models-YYYYMMDD/ in the backups bucket
	$(OPS) backup-models

betfair-key-store: install ops-env ## Store FILE=key.json as the next Betfair key and start its rotation
	$(OPS) betfair-key-store --file "$$FILE"

predeploy-check: install ops-env ## Latest automated backup < 26 h (ALLOW_STALE_BACKUP="reason" overrides, logged), then a snapshot
	$(OPS) predeploy-check $(if $(ALLOW_STALE_BACKUP),--allow-stale-backup "$$ALLOW_STALE_BACKUP")

approve: install ops-env ## Approve the in-flight blue/green deployment(s) (production's approval gate; SERVICE= optional)
	$(OPS) approve $(if $(SERVICE),--service "$$SERVICE")

rollback: install ops-env ## Roll back now: stop the in-flight deployment, or redeploy the previous revision (SERVICE= optional)
	$(OPS) rollback $(if $(SERVICE),--service "$$SERVICE")

deploy-status: install ops-env ## Services, counts, task definitions, latest deployment and approval state
	$(OPS) deploy-status

maintenance-on: install ops-env ## Public listener answers 503 (maintenance) to everything; target groups untouched
	$(OPS) maintenance-on

maintenance-off: install ops-env ## Remove the maintenance response
	$(OPS) maintenance-off

config-update: install ops-env ## Put FILE=config.json into clever-better/{token}/config and restart the services
	$(OPS) config-update --file "$$FILE"

restart: install ops-env ## Force a new deployment of SERVICE=bot|ml-service|data-ingestion
	$(OPS) restart --service "$$SERVICE"

smoke-test-dev smoke-test-staging smoke-test-production: smoke-test-%: install ## GET the live /health checks and target health (URL=... for another base URL); non-zero on failure
	$(PY) -m ops --env $* $(LOCAL_FLAG) smoke-test $(if $(URL),--url "$$URL")
smoke-test-prod: smoke-test-production

db-migrate: install ops-env ## Run the migration task (RunTask), stream its log, exit with its exit code
	$(OPS) db-migrate
db-migrate-dev db-migrate-staging: db-migrate-%: install
	$(PY) -m ops --env $* db-migrate $(if $(DRY_RUN),--dry-run) $(LOCAL_FLAG)
db-migrate-prod: install
	$(PY) -m ops --env production db-migrate $(if $(DRY_RUN),--dry-run) $(LOCAL_FLAG)

db-migration-status: install ops-env ## Recent migration tasks, their exit codes and the newest one's log
	$(OPS) db-migration-status

drift: install ops-env ## CloudFormation drift detection on every stack of ENV (production: its DR region's too); each stack's drifted resources; exit 1 on drift
	$(OPS) drift

db-maintenance: install ops-env ## Run the monthly VACUUM (ANALYZE) of ENV's database now (the scheduled function) and wait for it; each database's time
	$(OPS) db-maintenance

train: install ops-env ## Start the ml-service's training now through the scheduled function (never beside a run still going); prints the task it started
	$(OPS) train

mlflow-ui: install ops-env ## Open ENV's MLflow UI on http://localhost:5000 (MLFLOW_PORT= another) through a Session Manager port-forward to a running mlflow task; Ctrl-C closes it
	$(OPS) mlflow-ui $(if $(MLFLOW_PORT),--port "$$MLFLOW_PORT")

model-versions: install ops-env ## List the MLflow registry's model versions (MODEL= one model) through make mlflow-ui's tunnel, open in another terminal
	$(OPS) model-versions $(if $(MODEL),--model "$$MODEL") $(if $(MLFLOW_PORT),--port "$$MLFLOW_PORT")

daily-report: install ops-env ## The daily operations report of ENV, as the scheduled one posts it to Slack: trading, open alarms, tasks, errors, database, backups
	$(OPS) daily-report

# Asks the operator to type ENV's name; CONFIRM=production answers it where there is no terminal.
resume-trading: install ops-env ## Clear the trading halt (/clever-better/{token}/trading/halted) after a typed confirmation (CONFIRM=ENV to pre-answer); records who resumed
	$(OPS) resume-trading $(if $(CONFIRM),--confirm "$$CONFIRM")

# A dry run unless CONFIRM=yes (and no DRY_RUN): the one target whose default is to change nothing.
# ENV defaults to production, the one environment with a DR region.
dr-failover: install ## Fail production over to us-west-2: assess (RPO), restore, point, scale, verify, DNS; dry run unless CONFIRM=yes; re-run resumes (PRIMARY_UP="reason" if the primary still answers)
	$(PY) -m ops --env "$${ENV:-production}" $(if $(and $(filter yes,$(CONFIRM)),$(if $(DRY_RUN),,1)),,--dry-run) $(LOCAL_FLAG) dr-failover $(if $(PRIMARY_UP),--primary-up "$$PRIMARY_UP")

dr-failback: install ## After a failover, once us-east-1 is healthy: stop the writers, snapshot and copy the DR database home, restore and swap it in, resume; dry run unless CONFIRM=yes; re-run resumes
	$(PY) -m ops --env "$${ENV:-production}" $(if $(and $(filter yes,$(CONFIRM)),$(if $(DRY_RUN),,1)),,--dry-run) $(LOCAL_FLAG) dr-failback

dr-drill: install ## Rehearse production's failover and failback end to end in an in-process emulator, each phase printed (DRY_RUN=1: plan the failover only)
	$(PY) tools/dr_drill.py $(if $(DRY_RUN),--dry-run)

bench: install ## Medians of 3: app synth, empty-app synth (jsii floor), per-environment synth, make diff, test-suite wall time
	$(PY) tools/bench.py

# Reads templates and prints; it acts on nothing and takes no operator value, so DRY_RUN=1 runs it as is.
cost: install ## Estimated monthly baseline per environment, from the synthesized templates (tools/prices.json)
	$(PY) tools/cost.py

monitoring-docs: install ## Regenerate docs/METRICS.md and docs/ALARMS.md from config/metrics.py and config/alarms.py (DRY_RUN=1 prints the diff)
	$(PY) tools/monitoring_docs.py

diagram: install ## Regenerate docs/ARCHITECTURE.md from production's synthesized templates (DRY_RUN=1 prints the diff)
	$(PY) tools/diagram.py

constraints: ## Re-pin every transitive package after changing requirements*.txt
	$(NO_DRY_RUN)
	rm -rf /tmp/cb-constraints && $(PYTHON) -m venv /tmp/cb-constraints
	/tmp/cb-constraints/bin/pip install --quiet -r requirements-dev.txt
	{ echo "# Every transitive package pinned, generated with pip freeze from requirements-dev.txt."; \
	  echo "# Regenerate: make constraints"; /tmp/cb-constraints/bin/pip freeze; } > constraints.txt

clean: destroy-local ## Remove build output (keeps .venv and node_modules)
	rm -rf cdk.out cdk.out.* .cache .pytest_cache .ruff_cache .mypy_cache .bench
