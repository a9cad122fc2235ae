"""Organizations and people over GraphQL."""
