"""EventBridge Scheduler cron expressions, as the configuration writes them (UTC).

`cron(minutes hours day-of-month month day-of-week year)`: six fields, exactly one of the two
day fields `?` (EventBridge Scheduler User Guide, "Schedule types", cron-based schedules). Our
schedules fire at one minute of one hour, so those two fields are single numbers: what lets
the configuration check them against the backup window. The day fields take what Scheduler
takes: `*`, `?`, numbers, names, ranges and lists, and `L`, `W`, `#` where Scheduler allows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
CRON = re.compile(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)")
ALLOWED = (
    "expected cron(M H day-of-month month day-of-week year) in UTC with one minute and one hour, "
    "one of the day fields '?', e.g. cron(0 6 * * ? *)"
)


def _number(value: str, low: int, high: int, names: tuple[str, ...] = ()) -> bool:
    if value.upper() in names:
        return True
    return value.isdigit() and low <= int(value) <= high


def _values(field: str, low: int, high: int, names: tuple[str, ...] = ()) -> bool:
    """`*`, or a list of numbers (or names) and ranges, each with an optional `/step`."""
    if field == "*":
        return True
    for part in field.split(","):
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and int(step) >= 1):
            return False
        ends = base.split("-")
        if base == "*" and step:
            continue
        if len(ends) > 2 or not all(_number(end, low, high, names) for end in ends):
            return False
    return True


def _day_of_month(field: str) -> bool:
    return (
        field in ("?", "L", "LW")
        or bool(re.fullmatch(r"([1-9]|[12]\d|3[01])W", field))
        or _values(field, 1, 31)
    )


def _day_of_week(field: str) -> bool:
    if field in ("?", "L"):
        return True
    if nth := re.fullmatch(r"(\w+)#([1-5])", field):
        return _number(nth[1], 1, 7, DAY_NAMES)
    if last := re.fullmatch(r"(\w+)L", field):
        return _number(last[1], 1, 7, DAY_NAMES)
    return _values(field, 1, 7, DAY_NAMES)


@dataclass(frozen=True)
class Cron:
    """A parsed expression: when in the day it fires, and the fields it fires on."""

    minute: int
    hour: int
    day_of_month: str
    month: str
    day_of_week: str
    year: str

    @property
    def minute_of_day(self) -> int:
        return self.hour * 60 + self.minute


def parse(expression: str) -> Cron | None:
    """The expression's fields, or None where Scheduler would refuse it or it fires at more
    than one minute of the day."""
    found = CRON.fullmatch(expression)
    if found is None:
        return None
    minute, hour, dom, month, dow, year = found.groups()
    if not (minute.isdigit() and int(minute) <= 59 and hour.isdigit() and int(hour) <= 23):
        return None
    if (dom == "?") == (dow == "?"):
        return None  # Scheduler: one of the two day fields, not both, is '?'
    fields_ok = (
        _day_of_month(dom)
        and _values(month, 1, 12, MONTH_NAMES)
        and _day_of_week(dow)
        and _values(year, 1970, 2199)
    )
    return Cron(int(minute), int(hour), dom, month, dow, year) if fields_ok else None
