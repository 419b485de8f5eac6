"""The alerting unit (issue 14): alarm routing to PagerDuty or Opsgenie and Slack; the trading halt;
the daily operations report (issue 17)."""

from components.alerting.halt import TradingHalt
from components.alerting.report import DailyReport
from components.alerting.router import AlarmRouter, alarm_topics

__all__ = ["AlarmRouter", "DailyReport", "TradingHalt", "alarm_topics"]
