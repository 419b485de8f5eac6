"""Reusable constructs, one sub-package per unit (network, data, services, ...).

Not named `constructs`: that would shadow the `constructs` package aws-cdk-lib imports.
"""
