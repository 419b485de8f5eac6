"""The monitoring unit: alarms, dashboards, log metrics, drift detection."""

from components.monitoring.alarms import AlarmCatalogue
from components.monitoring.dashboards import Dashboards
from components.monitoring.drift import DriftCheck
from components.monitoring.logs import LogQueries

__all__ = ["AlarmCatalogue", "Dashboards", "DriftCheck", "LogQueries"]
