"""Operator commands behind the Makefile's runbook targets."""
