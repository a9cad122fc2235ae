"""Pay: commission plans, credits, the ledger of signals, statements and periods."""
