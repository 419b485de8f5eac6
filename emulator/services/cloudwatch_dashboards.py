"""What PutDashboard refuses in a dashboard body, with CloudWatch's messages.

CloudWatch validates DashboardBody against its widget schema and refuses the dashboard with
InvalidParameterInput: "The dashboard body is invalid, there are N validation errors: [...]",
each error a JSON-pointer `dataPath` and a message in the wording of its schema validator
("Should have required property 'metrics'", "Should NOT have less than 1 items", ...). The
rules are those of the Dashboard Body Structure and Syntax reference (CloudWatch API
Reference): the widget grid (x 0-23, y >= 0, width 1-24, height 1-1000, x and y together),
each widget type's required properties, the shape of a metric widget's `metrics` (arrays of
strings: namespace, metric name, dimension name/value pairs, then an optional rendering
object; or one expression object), a rendering object's six-digit hex colour, at most one
alarm annotation and never with `metrics`, 1-100 alarms in an alarm status widget. CloudWatch
does not check that the metrics, alarms or log groups a dashboard names exist, and neither
does this.
"""

from __future__ import annotations

import json
import re
from typing import Any

WIDGET_TYPES = ("metric", "text", "log", "alarm", "explorer")
_COLOUR = "^#([0-9a-fA-F]{6})$"
_METRICS_SHAPE = (
    'Field "metrics" has to be an array of array of strings, with an optional metricRenderer '
    "object as last element"
)
_NO_SOURCE = "The metric widget should have specified a region and a data source or an alarm annotation"


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Errors:
    def __init__(self) -> None:
        self.found: list[dict[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.found.append({"dataPath": path, "message": message})

    def bounded(self, value: Any, path: str, low: int, high: int | None) -> None:
        if not _integer(value):
            self.add(path, "Should be integer")
        elif value < low:
            self.add(path, f"Should be >= {low}")
        elif high is not None and value > high:
            self.add(path, f"Should be <= {high}")


def _metric_entry(entry: Any, path: str, errors: _Errors) -> None:
    if not isinstance(entry, list):
        errors.add(path, "Should be array")
        errors.add(path, _METRICS_SHAPE)
        return
    strings = entry[:-1] if entry and isinstance(entry[-1], dict) else entry
    renderer = entry[-1] if entry and isinstance(entry[-1], dict) else None
    if not all(isinstance(item, str) for item in strings):
        errors.add(path, _METRICS_SHAPE)
        return
    if not strings:
        if renderer is None or "expression" not in renderer:
            errors.add(path, _METRICS_SHAPE)
    elif len(strings) < 2 or len(strings) % 2:
        # namespace, metric name, then dimension name/value pairs
        errors.add(path, _METRICS_SHAPE)
    if renderer is not None:
        colour = renderer.get("color")
        if colour is not None and not (isinstance(colour, str) and re.match(_COLOUR, colour)):
            errors.add(f"{path}/{len(entry) - 1}/color", f'Should match pattern "{_COLOUR}"')
        if "yAxis" in renderer and renderer["yAxis"] not in ("left", "right"):
            errors.add(f"{path}/{len(entry) - 1}/yAxis", "Should be equal to one of the allowed values")
        if "period" in renderer:
            errors.bounded(renderer["period"], f"{path}/{len(entry) - 1}/period", 1, None)


def _metric_widget(properties: dict[str, Any], path: str, errors: _Errors) -> None:
    annotations = properties.get("annotations")
    alarms = annotations.get("alarms") if isinstance(annotations, dict) else None
    metrics = properties.get("metrics")
    if metrics is None and alarms is None:
        errors.add(path, "Should have required property 'metrics'")
        errors.add(path, _NO_SOURCE)
        errors.add(path, "Should have required property 'annotations'")
        return
    if "region" not in properties:
        errors.add(path, _NO_SOURCE)
    if alarms is not None:
        if not isinstance(alarms, list):
            errors.add(f"{path}/annotations/alarms", "Should be array")
        elif len(alarms) > 1:
            errors.add(f"{path}/annotations/alarms", "Should NOT have more than 1 items")
        if metrics is not None:
            errors.add(path, "A metric widget with an alarm annotation cannot also have a metrics array")
    if metrics is not None:
        if not isinstance(metrics, list):
            errors.add(f"{path}/metrics", "Should be array")
            return
        if len(metrics) > 500:
            errors.add(f"{path}/metrics", "Should NOT have more than 500 items")
        for index, entry in enumerate(metrics):
            _metric_entry(entry, f"{path}/metrics/{index}", errors)
    if "period" in properties:
        errors.bounded(properties["period"], f"{path}/period", 1, None)


def _widget(widget: Any, path: str, errors: _Errors) -> None:
    if not isinstance(widget, dict):
        errors.add(path, "Should be object")
        return
    for field in ("type", "properties"):
        if field not in widget:
            errors.add(path, f"Should have required property '{field}'")
    for first, second in (("x", "y"), ("y", "x")):
        if first in widget and second not in widget:
            errors.add(path, f"Should have property {second} when property {first} is present")
    if "x" in widget:
        errors.bounded(widget["x"], f"{path}/x", 0, 23)
    if "y" in widget:
        errors.bounded(widget["y"], f"{path}/y", 0, None)
    if "width" in widget:
        errors.bounded(widget["width"], f"{path}/width", 1, 24)
    if "height" in widget:
        errors.bounded(widget["height"], f"{path}/height", 1, 1000)
    kind = widget.get("type")
    if "type" in widget and kind not in WIDGET_TYPES:
        errors.add(f"{path}/type", "Should be equal to one of the allowed values")
    properties = widget.get("properties")
    if "properties" in widget and not isinstance(properties, dict):
        errors.add(f"{path}/properties", "Should be object")
        return
    if not isinstance(properties, dict):
        return
    at = f"{path}/properties"
    if kind == "metric":
        _metric_widget(properties, at, errors)
    elif kind == "text" and "markdown" not in properties:
        errors.add(at, "Should have required property 'markdown'")
    elif kind == "log":
        for field in ("query", "region"):
            if field not in properties:
                errors.add(at, f"Should have required property '{field}'")
    elif kind == "alarm":
        alarms = properties.get("alarms")
        if alarms is None:
            errors.add(at, "Should have required property 'alarms'")
        elif not isinstance(alarms, list):
            errors.add(f"{at}/alarms", "Should be array")
        elif not alarms:
            errors.add(f"{at}/alarms", "Should NOT have less than 1 items")
        elif len(alarms) > 100:
            errors.add(f"{at}/alarms", "Should NOT have more than 100 items")


def dashboard_body_errors(body: Any) -> list[dict[str, str]] | None:
    """The validation errors PutDashboard reports for `body`; None when it is not a JSON object."""
    try:
        document = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return None
    errors = _Errors()
    widgets = document.get("widgets")
    if widgets is None:
        errors.add("", "Should have required property 'widgets'")
    elif not isinstance(widgets, list):
        errors.add("/widgets", "Should be array")
    else:
        if len(widgets) > 500:
            errors.add("/widgets", "Should NOT have more than 500 items")
        for index, widget in enumerate(widgets):
            _widget(widget, f"/widgets/{index}", errors)
    if "periodOverride" in document and document["periodOverride"] not in ("auto", "inherit"):
        errors.add("/periodOverride", "Should be equal to one of the allowed values")
    variables = document.get("variables")
    if isinstance(variables, list) and len(variables) > 25:
        errors.add("/variables", "Should NOT have more than 25 items")
    return errors.found
