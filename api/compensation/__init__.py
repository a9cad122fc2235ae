"""Commission plans, credits, the ledger and statements over GraphQL."""
