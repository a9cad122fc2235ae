"""Engagements and their sides, roles and deal approval over GraphQL."""
