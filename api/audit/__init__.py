"""The audit trail over GraphQL."""
