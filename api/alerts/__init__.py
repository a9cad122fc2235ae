"""Alerts and the rule catalogue over GraphQL."""
