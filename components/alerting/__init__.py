"""The alerting unit (issue 14): alarm routing to PagerDuty or Opsgenie and Slack."""

from components.alerting.halt import TradingHalt
from components.alerting.router import AlarmRouter, alarm_topics

__all__ = ["AlarmRouter", "TradingHalt", "alarm_topics"]
