"""The machinery every use case shares: the unit of work, field rules, errors, the audit trail,
the outbox and its live feed, how objects are presented, and retention."""
