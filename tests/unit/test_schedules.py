"""Scheduled work's times (config/schedules.py, `schedules.*` in the configuration): EventBridge
Scheduler's cron grammar, one firing minute a day, outside the backup window, and the README's
schedule table held to the configuration."""

from __future__ import annotations

import re
from dataclasses import fields, replace

import pytest

import config
from config import schedules
from config.model import ConfigError, SchedulesConfig
from tests.support import ROOT


@pytest.mark.parametrize(
    "expression, fires",
    [
        ("cron(0 6 * * ? *)", (6, 0, "*", "?")),
        ("cron(15 4 ? * SUN#1 *)", (4, 15, "?", "SUN#1")),  # the first Sunday of the month
        ("cron(30 7 L * ? *)", (7, 30, "L", "?")),
        ("cron(0 9 ? * MON-FRI *)", (9, 0, "?", "MON-FRI")),
        ("cron(0 9 1,15 * ? 2027)", (9, 0, "1,15", "?")),
        ("cron(0 9 15W JAN-MAR ? *)", (9, 0, "15W", "?")),
        ("cron(5 23 ? * 6L *)", (23, 5, "?", "6L")),
    ],
)
def test_scheduler_cron_expressions_are_parsed(expression: str, fires: tuple[int, int, str, str]) -> None:
    cron = schedules.parse(expression)
    assert cron is not None
    assert (cron.hour, cron.minute, cron.day_of_month, cron.day_of_week) == fires


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 day)",
        "0 6 * * ? *",
        "cron(0 6 * * ?)",  # five fields: EventBridge rules', not Scheduler's
        "cron(0 6 * * * *)",  # neither day field '?'
        "cron(0 6 ? * ? *)",  # both
        "cron(*/5 6 * * ? *)",  # more than one minute a day
        "cron(0 6-8 * * ? *)",
        "cron(60 6 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 6 32 * ? *)",
        "cron(0 6 * 13 ? *)",
        "cron(0 6 ? * SUN#6 *)",
        "cron(0 6 ? * FUNDAY *)",
        "cron(0 6 * * ? 1969)",
    ],
)
def test_what_scheduler_refuses_or_fires_more_than_once_a_day_is_refused(expression: str) -> None:
    assert schedules.parse(expression) is None


@pytest.mark.parametrize(
    "value, message",
    [
        (
            "rate(1 day)",
            "dev: schedules.drift_check = 'rate(1 day)' is not allowed; expected cron(M H day-of-month month "
            "day-of-week year) in UTC with one minute and one hour, one of the day fields '?', e.g. "
            "cron(0 6 * * ? *)",
        ),
        (
            "cron(30 2 * * ? *)",
            "dev: schedules.drift_check = 'cron(30 2 * * ? *)' is not allowed; expected a time outside the "
            "daily backup window 02:00-03:00 UTC (backup.daily_hour_utc)",
        ),
    ],
)
def test_a_bad_schedule_stops_the_configuration_with_one_line(value: str, message: str) -> None:
    (dev,) = config.load(("dev",))
    with pytest.raises(ConfigError) as raised:
        replace(dev, schedules=replace(dev.schedules, drift_check=value))
    assert str(raised.value) == message


def test_a_schedule_moves_with_the_backup_hour() -> None:
    """03:00 is free while the backups run at 02:00, not once they run at 03:00."""
    (dev,) = config.load(("dev",))
    moved = replace(dev, schedules=replace(dev.schedules, drift_check="cron(0 3 * * ? *)"))
    assert moved.schedules.drift_check == "cron(0 3 * * ? *)"
    with pytest.raises(ConfigError, match=r"backup window 03:00-04:00 UTC"):
        replace(moved, backup=replace(moved.backup, daily_hour_utc=3))


def test_every_environment_runs_the_drift_check_at_six() -> None:
    environments = config.load(("dev", "staging", "production"))
    assert {cfg.name: cfg.schedules.drift_check for cfg in environments} == {
        "dev": "cron(0 6 * * ? *)",
        "staging": "cron(0 6 * * ? *)",
        "production": "cron(0 6 * * ? *)",
    }


def test_the_readme_lists_every_schedule_of_the_configuration() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Schedules (UTC)", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| what")]
    assert len(rows) == 11
    listed = set(re.findall(r"`schedules\.(\w+)`", table))
    assert listed == {f.name for f in fields(SchedulesConfig)}
    assert listed == {"drift_check", "db_maintenance", "daily_report", "training"}
    assert "| configuration-drift check (P3 on drift) | daily 06:00, `cron(0 6 * * ? *)` |" in table
    report = "| daily operations report to Slack (P3 if not posted) | daily 07:00, `cron(0 7 * * ? *)` |"
    assert report in table
    # The fixed ones, as their constructs set them.
    from components.alerting.router import REMINDER_SCHEDULE

    assert REMINDER_SCHEDULE == "rate(5 minutes)" and "`rate(5 minutes)`" in table
    from components.services.training import WATCH

    assert WATCH == "rate(15 minutes)" and "every 15 minutes, `rate(15 minutes)`" in table
    assert (
        "daily 05:15, `cron(15 5 * * ? *)`, after the backup window and the RDS maintenance window's "
        "hours, stopped within 15 minutes of 120 minutes" in table
    )


@pytest.mark.parametrize(
    "value, allowed",
    [
        ("cron(15 4 ? * SUN *)", True),  # every Sunday, inside sun:04:00-sun:05:00
        ("cron(59 4 ? * SUN#2 *)", True),
        ("cron(0 5 ? * SUN#1 *)", False),  # the window's end
        ("cron(15 4 ? * SAT#1 *)", False),  # another day
        ("cron(15 4 1 * ? *)", False),  # a day of the month: not always the window's day
        ("cron(15 4 ? * 1#1 *)", False),  # by number: said as SUN
    ],
)
def test_the_database_maintenance_starts_inside_the_rds_maintenance_window(value: str, allowed: bool) -> None:
    (dev,) = config.load(("dev",))
    if allowed:
        assert (
            replace(dev, schedules=replace(dev.schedules, db_maintenance=value)).schedules.db_maintenance
            == value
        )
        return
    with pytest.raises(ConfigError) as raised:
        replace(dev, schedules=replace(dev.schedules, db_maintenance=value))
    assert str(raised.value) == (
        f"dev: schedules.db_maintenance = {value!r} is not allowed; expected a day of the week (as SUN or "
        "SUN#1) and a time inside database.maintenance_window sun:04:00-sun:05:00"
    )


def test_every_environment_vacuums_on_the_first_sunday_at_quarter_past_four() -> None:
    environments = config.load(("dev", "staging", "production"))
    assert {cfg.name: cfg.schedules.db_maintenance for cfg in environments} == dict.fromkeys(
        ("dev", "staging", "production"), "cron(15 4 ? * SUN#1 *)"
    )


@pytest.mark.parametrize(
    "start, timeout, allowed",
    [
        ("cron(15 5 * * ? *)", 120, True),  # 05:15-07:30 with the watchdog's 15 minutes
        ("cron(0 3 * * ? *)", 1380, False),  # over the limit of 720 anyway; checked below
        ("cron(0 5 * * ? *)", 720, True),  # 05:00-17:15
        ("cron(0 14 * * ? *)", 705, True),  # 14:00-02:00: ends as the next backup window starts
        ("cron(1 14 * * ? *)", 705, False),  # 14:01-02:01: into the next night's window
        ("cron(0 1 * * ? *)", 45, True),  # 01:00-02:00
        ("cron(59 1 * * ? *)", 30, False),  # 01:59-02:44: before the window, but runs into it
        ("cron(30 3 * * ? *)", 120, False),  # 03:30-05:45: the maintenance window's hours (04:00-05:00)
        ("cron(30 3 * * ? *)", 30, False),  # 03:30-04:15: into them
        ("cron(0 3 * * ? *)", 45, True),  # 03:00-04:00: ends as they start
    ],
)
def test_training_runs_between_backups_and_outside_maintenance(
    start: str, timeout: int, allowed: bool
) -> None:
    (dev,) = config.load(("dev",))
    if timeout > 720:
        with pytest.raises(
            ConfigError,
            match=r"deployment.training_timeout_minutes = 1380 is not allowed; expected 30 to 720",
        ):
            replace(dev, deployment=replace(dev.deployment, training_timeout_minutes=timeout))
        return

    def configured() -> object:
        return replace(
            dev,
            schedules=replace(dev.schedules, training=start),
            deployment=replace(dev.deployment, training_timeout_minutes=timeout),
        )

    if allowed:
        configured()
        return
    with pytest.raises(ConfigError) as raised:
        configured()
    assert str(raised.value) == (
        f"dev: schedules.training = {start!r} is not allowed; expected a start after the backup window "
        f"02:00-03:00 UTC with deployment.training_timeout_minutes ({timeout}) and 15 minutes for the "
        "watchdog ending before the next one, outside the hours of database.maintenance_window "
        "sun:04:00-sun:05:00"
    )


def test_every_environment_trains_at_quarter_past_five_for_at_most_two_hours() -> None:
    environments = config.load(("dev", "staging", "production"))
    assert {
        cfg.name: (cfg.schedules.training, cfg.deployment.training_timeout_minutes) for cfg in environments
    } == dict.fromkeys(("dev", "staging", "production"), ("cron(15 5 * * ? *)", 120))


@pytest.mark.parametrize(
    "cpu, memory, message",
    [
        (
            2048,
            None,
            "deployment.training_memory_mib = None is not allowed; expected a value exactly when "
            "training_cpu has one (2048)",
        ),
        (
            None,
            4096,
            "deployment.training_memory_mib = 4096 is not allowed; expected a value exactly when "
            "training_cpu has one (None)",
        ),
        (
            3000,
            8192,
            "deployment.training_cpu = 3000 is not allowed; expected one of 256, 512, 1024, 2048, 4096",
        ),
        (
            2048,
            2048,
            "deployment.training_memory_mib = 2048 is not allowed; expected a multiple of 512 from "
            "4096 to 16384 for cpu 2048",
        ),
    ],
)
def test_a_training_size_is_a_fargate_size_or_none(cpu: int | None, memory: int | None, message: str) -> None:
    (dev,) = config.load(("dev",))
    assert (dev.deployment.training_cpu, dev.deployment.training_memory_mib) == (None, None)
    assert replace(dev, deployment=replace(dev.deployment, training_cpu=4096, training_memory_mib=16384))
    with pytest.raises(ConfigError) as raised:
        replace(dev, deployment=replace(dev.deployment, training_cpu=cpu, training_memory_mib=memory))
    assert str(raised.value) == f"dev: {message}"
